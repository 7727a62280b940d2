"""`SqlError`: a user's mistake in a `%%mreg` cell, shown as a short message pointing at line and column."""

from __future__ import annotations

import re

from jupyter_mreg.errors import MregError


class SqlError(MregError, ValueError):
    """A mistake in SQL text: what was wrong, where (a character offset into the cell), and the fix.

    `str(error)` is the message alone; `render()` adds the offending line with a caret under the column,
    as the magic shows it.
    """

    def __init__(self, message: str, *, sql: str | None = None, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.sql = sql
        self.position = position

    def locate(self, sql: str, offset: int = 0) -> SqlError:
        """Place the error in the whole cell: `position` was counted from the statement's start, which is
        `offset` characters into `sql`."""
        if self.position is not None:
            self.position += offset
        self.sql = sql
        return self

    @property
    def line_column(self) -> tuple[int, int] | None:
        """1-based (line, column) of `position` in `sql`."""
        if self.sql is None or self.position is None:
            return None
        before = self.sql[: self.position]
        line = before.count("\n") + 1
        column = self.position - (before.rfind("\n") + 1) + 1
        return line, column

    def render(self) -> str:
        """The message, then the line the mistake is on with a caret under its column."""
        where = self.line_column
        if where is None:
            return self.message
        line, column = where
        lines = self.sql.split("\n")
        text = lines[line - 1].rstrip("\r") if line <= len(lines) else ""
        # Tabs stay tabs in the caret's indent so the caret lands under the right character.
        pad = "".join("\t" if ch == "\t" else " " for ch in text[: column - 1])
        return f"{self.message}\n  line {line}, column {column}:\n    {text}\n    {pad}^"


class FileAccessError(SqlError):
    """A query tried to read a file or reach the network while `%%mreg`'s file access is off (the default).

    Opt in for one cell with `%%mreg --allow-file-access`, for the notebook with
    `%config MregMagic.allow_file_access = True`, or per call with `execute(..., allow_file_access=True)`.
    """


def unreadable(text: str, exc: Exception) -> SqlError:
    """A tokenizer failure as a `SqlError`: sqlglot says where an unclosed string or quoted name opened
    ("Missing ' from 2:11", the last number being the character offset)."""
    cause = str(exc.__cause__ or "")
    missing = re.fullmatch(r"Missing (.+) from \d+:(\d+)", cause)
    if missing:
        quote, position = missing.group(1), int(missing.group(2))
        what = "quoted name" if quote == '"' else "string"
        return SqlError(f"This {what} is not closed: add the missing {quote}.", sql=text, position=position)
    comment = text.rfind("/*")
    if comment >= 0 and "*/" not in text[comment:]:
        return SqlError("This comment is not closed: add the missing */.", sql=text, position=comment)
    return SqlError(f"The SQL cannot be read (an unclosed string, quoted name or comment?): {exc}", sql=text)


def unqualified_model_message(message: str, name: str, database: str, schema: str, *, schema_exists: bool,
                              elsewhere: list[tuple[str, str]]) -> str:
    """"Model `name` not found" for a name written without a schema: `message` (the registry's) plus where
    it was looked for (`database.schema`, the current schema), the schemas `elsewhere` that hold a model of
    that name, and how to qualify it. A plain typo (the schema exists, no model of that name anywhere) keeps
    `message`: its qualified name says where, its "Did you mean" what."""
    where = f"the current schema {database}.{schema}"
    if schema_exists and not elsewhere:
        return message
    if schema_exists:
        head = f"{message} {name} is not qualified, so it was looked for in {where}."
    else:
        head = f"Unable to find model {name}: it is not qualified, so it was looked for in {where}, which does not exist."
    found = "".join(f" A model {name} exists in {d}.{s}: write {d}.{s}.{name}." for d, s in elsewhere[:3])
    return f"{head}{found} Fix: write DATABASE.SCHEMA.{name}, or run USE SCHEMA DATABASE.SCHEMA first."
