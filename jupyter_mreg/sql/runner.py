"""A cell, statement by statement: render `{{...}}`, split at top-level semicolons, send each statement to
the query engine or to the DDL, and place any error in the whole cell."""

from __future__ import annotations

from typing import Any, NamedTuple

from jupyter_mreg._lazy import lazy_module
from jupyter_mreg.registry.session import Session
from jupyter_mreg.sql.context import SqlContext
from jupyter_mreg.sql.errors import SqlError, unreadable
from jupyter_mreg.sql.limits import (MAX_CELL_CHARS, MAX_NESTING_DEPTH, check_size, recursion_budget, too_complex,
                                     too_deep)
from jupyter_mreg.sql.templating import render

# Loaded by the first statement of their kind: the query engine brings DuckDB, the DDL the registry's catalog.
ddl = lazy_module("jupyter_mreg.sql.ddl")
query = lazy_module("jupyter_mreg.sql.query")

# First keyword of a statement the registry answers (everything else is a query for DuckDB).
DDL_KEYWORDS = frozenset({"SHOW", "ALTER", "DROP", "CREATE", "USE", "GRANT", "REVOKE", "DESCRIBE", "DESC", "COMMENT"})


# Statements that return rows, and the clauses that already bound how many (at the outermost level).
QUERY_KEYWORDS = frozenset({"SELECT", "WITH", "(", "VALUES"})
_ROW_BOUNDS = frozenset({"LIMIT", "FETCH", "TOP", "OFFSET"})


class Statement(NamedTuple):
    """One statement of a cell: its text (from its first token to its last, no semicolon), where that text
    starts in the cell, its first keyword in upper case (comments before it are skipped), whether it
    already bounds its rows (LIMIT, FETCH, TOP or OFFSET outside parentheses), and how deep its
    parentheses, brackets and braces nest."""

    offset: int
    text: str
    keyword: str
    bounded: bool = False
    depth: int = 0

    def limited(self, limit: int | None) -> Statement:
        """This statement with `LIMIT limit` appended when it is a query that sets no bound of its own:
        the clause goes through the query engine like one the user wrote, so the model scores no more rows
        than needed where the plan allows."""
        if not limit or self.bounded or self.keyword not in QUERY_KEYWORDS:
            return self
        return self._replace(text=f"{self.text}\nLIMIT {int(limit)}", bounded=True)


def run_cell(sql: str, namespace: dict | None, *, session: Any = None, params: dict | None = None,
             limit: int | None = None, allow_file_access: bool = False, max_cell_chars: int = MAX_CELL_CHARS,
             max_nesting_depth: int = MAX_NESTING_DEPTH) -> Any:
    """See `jupyter_mreg.sql.execute`."""
    values = {**(namespace or {}), **(params or {})}
    check_size(sql, max_cell_chars)
    text = render(sql, values, max_chars=max_cell_chars)
    if text is not sql:
        check_size(text, max_cell_chars, "The cell with its {{...}} values filled in")
    statements = split_statements(text, max_depth=max_nesting_depth)
    if not statements:
        raise SqlError("The cell holds no SQL statement: write a query (SELECT ...) or a command (SHOW MODELS).")
    if session is None:
        session = Session.builder.getOrCreate()
    ctx = SqlContext(session=session, namespace=namespace if namespace is not None else {}, params=values,
                     allow_file_access=allow_file_access)
    result = None
    for statement in statements:
        try:
            with recursion_budget(statement.depth):
                result = run_statement(statement.limited(limit), ctx)
        except SqlError as exc:
            exc.locate(text, statement.offset)
            raise
        except RecursionError:  # sqlglot recursing through a deep tree that has few parentheses
            raise too_complex(text, statement.offset) from None
    return result


def run_statement(statement: Statement | str, ctx: SqlContext) -> Any:
    """One statement (no trailing semicolon): DDL/DCL to `ddl.run`, queries to `query.run`."""
    if isinstance(statement, str):
        found = split_statements(statement)
        if len(found) != 1:
            raise SqlError(f"Expected one SQL statement, found {len(found)}.", sql=statement)
        statement = found[0]
    if statement.keyword in DDL_KEYWORDS:
        return ddl.run(statement.text, ctx)
    return query.run(statement.text, ctx)


def split_statements(text: str, max_depth: int = MAX_NESTING_DEPTH) -> list[Statement]:
    """The statements of `text`, split at semicolons outside strings, quoted names and comments (sqlglot's
    Snowflake tokenizer decides what those are). Empty statements, and comments alone, are dropped. A
    statement nesting deeper than `max_depth` is a `SqlError` at the bracket too many, before any parsing."""
    from sqlglot.dialects.snowflake import Snowflake
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    try:
        tokens = Snowflake().tokenize(text)
    except TokenError as exc:
        raise unreadable(text, exc) from None
    opening = (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE)
    closing = (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE)
    statements = []
    group: list = []
    depth = deepest = 0
    bounded = False
    for token in [*tokens, None]:
        if token is None or token.token_type == TokenType.SEMICOLON:
            if group:
                start, end = group[0].start, group[-1].end + 1
                statements.append(Statement(start, text[start:end], group[0].text.upper(), bounded, deepest))
            group, depth, deepest, bounded = [], 0, 0, False
            continue
        group.append(token)
        if token.token_type in opening:
            depth += 1
            if depth > max_depth:
                raise too_deep(text, token.start, max_depth)
            deepest = max(deepest, depth)
        elif token.token_type in closing:
            depth -= 1
        elif depth == 0 and token.token_type not in (TokenType.STRING, TokenType.IDENTIFIER):
            bounded = bounded or token.text.upper() in _ROW_BOUNDS
    return statements
