"""`{{...}}` in a cell: Jinja, run in Jinja's sandbox, whose values enter the SQL as values.

    SELECT * FROM {{ table | ident }} WHERE region = {{ region }} AND id IN {{ ids }} LIMIT {{ n }}

- `{{ x }}` is a SQL literal of x's Python type: a str is quoted (`'it''s'`), int / float / Decimal are
  numbers (negative ones in parentheses), bool is TRUE / FALSE, None is NULL, date / datetime / time are
  typed literals, and a list, tuple or set is a parenthesised list of literals for `IN`. Other types are
  refused. A value can never end its string early, so it cannot add SQL of its own.
- `{{ x | ident }}` (or `| identifier`) is a name (a DataFrame, model, version, alias, tag or column):
  checked against Snowflake's identifier rules (`jupyter_mreg.registry.identifiers`; `DB.SCHEMA.NAME`
  allowed) and written in identifier form: `churn` becomes CHURN, `"My Model"` stays quoted.
- `{{ x | sqlsafe }}` is x's text inserted as SQL, unchecked: the escape hatch for SQL fragments the
  notebook itself builds. Never use it for values that come from outside.

A value or name stands where a SQL token can; written inside quotes or a comment (`'{{ x }}'`) it is refused,
as it already brings its own quotes. The sandbox refuses private attributes (`''.__class__`) and unsafe
calls, and a template may not render more than the cell size limit (`limits.MAX_CELL_CHARS`). Values are
also safe as `:name` binds, which the query engine passes to DuckDB as parameters.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import math
import re
import secrets
from typing import Any

from jupyter_mreg.errors import InvalidIdentifierError
from jupyter_mreg.registry.identifiers import split_parts
from jupyter_mreg.sql.errors import SqlError, unreadable
from jupyter_mreg.sql.limits import MAX_CELL_CHARS

# The hint where a string literal stands for a name: a `{{ x }}` value is one; names come from `| ident`.
STRING_FOR_NAME = " That is a string, not a name: to insert a name from a template variable, write {{ name | ident }}."


class _Raw(str):
    """Text a template inserts as SQL as it is (`| sqlsafe`)."""


class _Name(str):
    """A name in identifier form (`| ident`)."""


def render(sql: str, values: dict, *, max_chars: int = MAX_CELL_CHARS) -> str:
    """`sql` with its Jinja expressions filled in from `values`; unchanged when it has none."""
    if "{{" not in sql and "{%" not in sql:
        return sql
    import jinja2

    # Each value is rendered first as a marker, a plain word no cell contains; where every marker stands
    # as a token of its own (not in a string, a quoted name or a comment), it is replaced by its SQL.
    marker = f"__mreg_value_{secrets.token_hex(6)}_"
    inserted: list[str] = []

    def finalize(value: Any) -> str:
        if isinstance(value, jinja2.Undefined):
            value._fail_with_undefined_error()  # a missing name, or one the sandbox refused
        if isinstance(value, _Raw):
            return value
        inserted.append(value if isinstance(value, _Name) else literal(value))
        return f"{marker}{len(inserted) - 1}__"

    env = _sandbox()(max_chars, undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True,
                   finalize=finalize)
    env.filters.update(ident=_ident, identifier=_ident, sqlsafe=_Raw)
    try:
        marked = _bounded(env.from_string(sql).generate(values), max_chars)
    except jinja2.exceptions.SecurityError as exc:
        raise SqlError(f"Jinja's sandbox refused a {{{{...}}}} expression of the cell: {exc}. Templates may use "
                       "variables, their items and public attributes and safe methods; compute anything else in "
                       "Python first.", sql=sql) from None
    except jinja2.UndefinedError as exc:
        name = re.match(r"'([^']+)' is undefined", str(exc))
        position = _block_using(sql, name.group(1)) if name else None
        raise SqlError(f"The cell uses a template variable that is not defined: {exc}. Define it in the notebook "
                       "first, or remove the {{...}}.", sql=sql, position=position) from None
    except jinja2.TemplateSyntaxError as exc:
        message = (exc.message or "").rstrip(".")
        raise SqlError(f"The cell's {{{{...}}}} template is not valid Jinja: {message}.", sql=sql,
                       position=_offset(sql, exc.lineno)) from None
    except SqlError as exc:  # a value without a literal, a bad name, a value too long
        exc.sql = sql
        raise
    except Exception as exc:  # the user's own expression inside {{...}} failed
        raise SqlError(f"A {{{{...}}}} expression of the cell failed: {type(exc).__name__}: {exc}.", sql=sql) from exc
    return _fill(sql, marked, marker, inserted)


# --- values ------------------------------------------------------------------------------------------------
def literal(value: Any) -> str:
    """The SQL literal of a Python value (see the module docstring); a `SqlError` for a type without one."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        value = item()  # numpy scalars
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return _signed(str(int(value)))
    if isinstance(value, (float, decimal.Decimal)):
        if not math.isfinite(value):
            return f"'{value}'::FLOAT"
        return _signed(repr(float(value)) if isinstance(value, float) else str(value))
    if isinstance(value, str):
        # Snowflake strings escape with backslashes as well as doubled quotes.
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"
    if isinstance(value, datetime.datetime):
        kind = "TIMESTAMP_TZ" if value.tzinfo is not None else "TIMESTAMP_NTZ"
        return f"'{value.isoformat(sep=' ')}'::{kind}"
    if isinstance(value, datetime.date):
        return f"'{value.isoformat()}'::DATE"
    if isinstance(value, datetime.time):
        return f"'{value.isoformat()}'::TIME"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        if any(isinstance(v, (list, tuple, set, frozenset)) for v in items):
            raise SqlError("A {{...}} list may not hold lists: it becomes (a, b, ...) for IN.")
        return "(" + (", ".join(literal(v) for v in items) or "NULL") + ")"
    raise SqlError(f"A {{{{...}}}} value of type {type(value).__name__} has no SQL literal: pass a str, number, "
                   "bool, None, date/datetime or a list of these; a name with {{ x | ident }}; SQL text you "
                   "built yourself with {{ x | sqlsafe }}.")


def _signed(number: str) -> str:
    return f"({number})" if number.startswith("-") else number  # `a -{{ n }}` must not become `a --5`, a comment


def _ident(value: Any) -> _Name:
    """The `ident` filter: a checked name, `a.b.c` allowed, in identifier form."""
    try:
        return _Name(".".join(split_parts(value, "A {{...}} name")))
    except InvalidIdentifierError as exc:
        raise SqlError(f"| ident: {exc}") from None


# --- the sandbox and its bounds ------------------------------------------------------------------------------
@functools.cache
def _sandbox() -> type:
    """Jinja's sandbox, with `*` and `**` unable to build values bigger than a cell may be (built on first
    use: jinja2 is imported only by cells that have a template)."""
    from jinja2.sandbox import SandboxedEnvironment

    class Sandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})

        def __init__(self, max_chars: int, **options: Any) -> None:
            super().__init__(**options)
            self.max_chars = max_chars

        def call_binop(self, context, operator, left, right):
            if operator == "*":
                for seq, count in ((left, right), (right, left)):
                    if isinstance(seq, (str, list, tuple)) and isinstance(count, int) \
                            and len(seq) * count > self.max_chars:
                        raise _too_long(self.max_chars)
            elif isinstance(left, int) and isinstance(right, int) and right > 0 \
                    and abs(left) > 1 and left.bit_length() * right > self.max_chars * 4:
                raise _too_long(self.max_chars)
            return super().call_binop(context, operator, left, right)

    return Sandbox


def _too_long(max_chars: int) -> SqlError:
    return SqlError(f"A {{{{...}}}} expression would be longer than the cell limit of {max_chars:,} characters.")


def _bounded(chunks, max_chars: int) -> str:
    out, total = [], 0
    for chunk in chunks:
        total += len(chunk)
        if total > max_chars:
            raise _too_long(max_chars)
        out.append(chunk)
    return "".join(out)


# --- putting the values in -----------------------------------------------------------------------------------
def _fill(template: str, marked: str, marker: str, inserted: list[str]) -> str:
    """`marked` with every marker replaced by its SQL, once each stands as a token of its own."""
    if not inserted:
        return marked
    from sqlglot.dialects.snowflake import Snowflake
    from sqlglot.errors import TokenError

    pattern = re.compile(re.escape(marker) + r"(\d+)__")
    try:
        tokens = Snowflake().tokenize(marked)
    except TokenError as exc:
        error = unreadable(marked, exc)
        error.sql = template  # the cell as written: the marked text is no one's
        error.position = None
        raise error from None
    alone = {t.start for t in tokens if pattern.fullmatch(t.text) and marked[t.start:t.end + 1] == t.text}
    for found in pattern.finditer(marked):
        if found.start() not in alone:
            raise _misplaced(template, marked, tokens, pattern, found.start())
    return pattern.sub(lambda m: inserted[int(m.group(1))], marked)


def _misplaced(template: str, marked: str, tokens: list, pattern: re.Pattern, at: int) -> SqlError:
    """The error for a value written inside a string, a quoted name or a comment (or glued to a word)."""
    inside = next((t for t in tokens if t.start <= at <= t.end), None)
    expression = _expression_at(template, marked, pattern, at)
    if inside is None:
        where = "inside a comment"
        fix = "move it out of the comment"
    elif marked[inside.start] in "'\"$":
        where = "inside quotes"
        fix = (f"write {expression} without them (it brings its own); to build a pattern, write e.g. "
               f"'%' || {expression} || '%'")
    else:
        where = "joined to other text"
        fix = "put spaces around it, or build the text in Python first"
    return SqlError(f"{expression} is {where}: template values are inserted as SQL values, quoted by their "
                    f"type; {fix}.", sql=template, position=template.find(expression) if expression[:2] == "{{"
                    else None)


def _expression_at(template: str, marked: str, pattern: re.Pattern, at: int) -> str:
    """The `{{ ... }}` of the template that put the marker at `at`: the n-th when there are no `{% %}`
    blocks or `{# #}` comments (so every `{{` opens an expression) and every `{{ }}` but the `| sqlsafe`
    ones made one marker; else a generic name."""
    if "{%" not in template and "{#" not in template:
        expressions = [e for e in re.findall(r"\{\{.*?\}\}", template, re.DOTALL) if "sqlsafe" not in e]
        starts = [m.start() for m in pattern.finditer(marked)]
        if len(expressions) == len(starts):
            return expressions[starts.index(at)]
    return "A {{...}} value"


def _block_using(sql: str, name: str) -> int | None:
    """Where the first `{{ }}` or `{% %}` that uses `name` opens: one scan over the openers, closers and
    mentions of `name` (a regex from an opener lazily to the name went back over the cell from every
    opener, for minutes on a cell of many `{{`)."""
    opened = None
    for found in re.finditer(r"\{[{%]|[}%]\}|\b" + re.escape(name) + r"\b", sql):
        text = found.group()
        if text in ("{{", "{%"):
            opened = found.start()
        elif text in ("}}", "%}"):
            opened = None
        elif opened is not None:
            return opened
    return None


def _offset(sql: str, line: int | None) -> int | None:
    if not line:
        return None
    lines = sql.splitlines(keepends=True)
    return sum(len(x) for x in lines[: line - 1])
