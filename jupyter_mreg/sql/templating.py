"""`{{name}}` in a cell: Jinja text substitution from the namespace, as jupysql does (for identifiers and
fragments; values are safer as `:name` binds, which the query engine passes to DuckDB as parameters)."""

from __future__ import annotations

import re

from jupyter_mreg.sql.errors import SqlError


def render(sql: str, values: dict) -> str:
    """`sql` with its Jinja expressions filled in from `values`; unchanged when it has none."""
    if "{{" not in sql and "{%" not in sql:
        return sql
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
    try:
        return env.from_string(sql).render(values)
    except jinja2.UndefinedError as exc:
        name = re.match(r"'([^']+)' is undefined", str(exc))
        position = None
        if name:
            found = re.search(r"\{[{%][^}]*?\b" + re.escape(name.group(1)) + r"\b", sql)
            position = found.start() if found else None
        raise SqlError(f"The cell uses a template variable that is not defined: {exc}. Define it in the notebook "
                       "first, or remove the {{...}}.", sql=sql, position=position) from None
    except jinja2.TemplateSyntaxError as exc:
        message = (exc.message or "").rstrip(".")
        raise SqlError(f"The cell's {{{{...}}}} template is not valid Jinja: {message}.", sql=sql,
                       position=_offset(sql, exc.lineno)) from None
    except Exception as exc:  # the user's own expression inside {{...}} failed
        raise SqlError(f"A {{{{...}}}} expression of the cell failed: {type(exc).__name__}: {exc}.", sql=sql) from exc


def _offset(sql: str, line: int | None) -> int | None:
    if not line:
        return None
    lines = sql.splitlines(keepends=True)
    return sum(len(x) for x in lines[: line - 1])
