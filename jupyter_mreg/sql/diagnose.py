"""DuckDB's errors in the user's terms: internal names replaced by the user's, and the position of the name
the error is about found in the statement the user wrote (DuckDB only saw the SQL we generated)."""

from __future__ import annotations

import re

from jupyter_mreg.sql.errors import FileAccessError, SqlError

_NAME_PATTERNS = [
    (re.compile(r'Referenced column "([^"]+)" not found'), "column"),
    (re.compile(r'does not have a column named "([^"]+)"'), "column"),
    (re.compile(r'Values list "[^"]+" does not have a column named "([^"]+)"'), "column"),
    (re.compile(r'Referenced table "([^"]+)" not found'), "table"),
    (re.compile(r"Function with name \"?([^\s\"!(]+)\"? does not exist"), "function"),
    (re.compile(r'Column "([^"]+)" referenced that exists in the SELECT clause'), "column"),
    (re.compile(r'column "?([^"\s]+)"? must appear in the GROUP BY'), "name"),
    (re.compile(r'Ambiguous reference to column name "([^"]+)"'), "name"),
]


_REFUSED = re.compile(r'Cannot access (?:file|directory) "([^"]*)" - file system operations are disabled')
_EXTENSION = re.compile(r"install the required extension '(\w+)")


def translate(exc: Exception, statement: str, shown: dict[str, str], generated: str | None = None) -> SqlError:
    """A `SqlError` for a DuckDB exception raised while running SQL generated from `statement`."""
    text = str(exc)
    if "disabled by configuration" in text:
        return _refused(text, statement)
    body, caret_word = _split_line_info(text, generated)
    body = _clean(body, shown)
    name, kind = None, None
    for pattern, what in _NAME_PATTERNS:
        match = pattern.search(body)
        if match:
            name, kind = match.group(1), what
            break
    if kind == "column":
        candidates = re.search(r"Candidate bindings:\s*(.*)", body, re.DOTALL)
        hint = ""
        if candidates:
            names = [c for c in re.findall(r'"([^"]+)"', candidates.group(1)) if "__mreg" not in c]
            if names:
                hint = f" Did you mean {' or '.join(names[:3])}?"
        message = f"Column {name} does not exist.{hint}"
    elif kind == "table":
        message = f"{body.splitlines()[0]} (a table name or alias used to qualify a column is not in FROM)."
    else:
        body = re.split(r"\s*Candidate functions:", body)[0]
        message = " ".join(line.strip() for line in body.splitlines() if line.strip())
    where = locate(statement, name.split(".")[-1]) if name else None
    if where is None and caret_word:
        where = locate(statement, caret_word)
    return SqlError(message, sql=statement, position=where)


def _refused(text: str, statement: str) -> FileAccessError:
    path, extension = _REFUSED.search(text), _EXTENSION.search(text)
    if extension:
        what, where = f"install DuckDB's {extension.group(1)} extension", None
    else:
        name = path.group(1) if path else None
        what = f'read "{name}"' if name else "use files or the network"
        where = statement.find(name) if name and name in statement else None
    return FileAccessError(
        f"%%mreg did not let this query {what}: DuckDB's file and network access is off, so queries read "
        "only the notebook's DataFrames. To read files or URLs in this cell, start it with "
        "`%%mreg --allow-file-access`; for every cell, `%config MregMagic.allow_file_access = True` (without "
        "IPython: `execute(..., allow_file_access=True)`).", sql=statement,
        position=where - 1 if where else None)


def _split_line_info(text: str, generated: str | None) -> tuple[str, str | None]:
    """DuckDB's message without its `LINE n: ...` excerpt, and the word its caret points at."""
    # Anchored on "LINE ", not on the blank lines before it: the message can quote a name made of
    # thousands of newlines, which `\n\s*LINE` would scan again from each of them.
    match = re.search(r"LINE \d+:(.*)\n( *)\^", text)
    if not match or not text[: match.start()].endswith("\n"):
        return text, None
    excerpt, pad = match.group(1), match.group(2)
    column = len(pad) - len("LINE 1:") if pad else 0
    word = re.match(r"\s*\"?([A-Za-z_][A-Za-z0-9_$]*)", excerpt[max(column - 1, 0):])
    return text[: match.start()].rstrip(), word.group(1) if word else None


def _clean(text: str, shown: dict[str, str]) -> str:
    for internal, name in sorted(shown.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(internal, name)
    return text.strip()


def locate(statement: str, name: str) -> int | None:
    """The offset of the first token of `statement` that spells `name` (case-insensitively)."""
    from sqlglot.dialects.snowflake import Snowflake
    from sqlglot.errors import TokenError

    try:
        tokens = Snowflake().tokenize(statement)
    except TokenError:
        return None
    wanted = name.strip('"').upper()
    for token in tokens:
        if token.text.strip('"').upper() == wanted:
            return token.start
    return None
