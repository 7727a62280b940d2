"""Snowflake model SQL over a notebook's DataFrames: `execute(sql, namespace)`, and the `%%mreg` magic on top.

    from jupyter_mreg.sql import execute
    execute("SELECT id, CHURN!PREDICT(*):output_feature_0 AS p FROM new_customers", {"new_customers": df})

Queries (`SELECT ...`, `WITH ...`) are parsed with a Snowflake dialect that knows model calls and run by
DuckDB over the DataFrames (`query.py`); model DDL/DCL (`SHOW MODELS`, `ALTER MODEL ...`, `USE ...`) act on
the registry (`ddl.py`). Works without IPython; `magic.py` is a thin layer over `execute`.
"""

from __future__ import annotations

from typing import Any

from jupyter_mreg.sql.limits import MAX_CELL_CHARS, MAX_NESTING_DEPTH
from jupyter_mreg.sql.runner import run_cell

__all__ = ["execute"]


def execute(sql: str, namespace: dict | None = None, *, session: Any = None, params: dict | None = None,
            limit: int | None = None, allow_file_access: bool = False, max_cell_chars: int = MAX_CELL_CHARS,
            max_nesting_depth: int = MAX_NESTING_DEPTH) -> Any:
    """Run every statement of `sql`; return the last one's result (a pandas DataFrame, or None).

    `namespace` holds the DataFrames queries read (a notebook's user namespace) and the values `{{name}}`
    (Jinja, sandboxed: a SQL literal of the value; `{{name | ident}}` a name, `{{name | sqlsafe}}` raw SQL
    text; see `templating`) and `:name` (bind values) refer to; `params` add to or override those values.
    `session` is a `jupyter_mreg.Session` (default `Session.builder.getOrCreate()`). A mistake raises
    `SqlError` (or another `MregError`), whose `render()` points at the line and column. `limit` caps the
    rows of every query that has no LIMIT of its own (the magic's `autolimit`).

    Queries read only the namespace's tables: DuckDB's file and network access (`read_csv('...')`,
    `FROM 'x.parquet'`, URLs) is off, and a query that tries raises `FileAccessError`. `allow_file_access=True`
    turns it on for this call only (the magic's `--allow-file-access` / `allow_file_access`).

    A cell longer than `max_cell_chars` characters (before and after its `{{...}}` are filled in), or a
    statement whose parentheses nest deeper than `max_nesting_depth`, is refused before it is parsed
    (`jupyter_mreg.sql.limits`; the magic's `max_cell_chars` / `max_nesting_depth`).
    """
    return run_cell(sql, namespace, session=session, params=params, limit=limit,
                    allow_file_access=allow_file_access, max_cell_chars=max_cell_chars,
                    max_nesting_depth=max_nesting_depth)
