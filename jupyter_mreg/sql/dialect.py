"""The `%%mreg` SQL dialect: Snowflake's, plus `WITH mv AS MODEL m [VERSION v]` as a `ModelRef` node.

sqlglot's Snowflake dialect already parses `m!method(...)` into `exp.ModelAttribute` and keeps `:field`
(`exp.JSONExtract`); what it lacks is the model CTE, which lands here as a proper expression node. The
parser also records where each SELECT item starts and ends (`meta["span"]`), so a result column without
an alias can be named by the text the user wrote.

`parse(statement)` turns sqlglot's syntax errors into `SqlError`s that point at the offending character.
"""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.snowflake import Snowflake
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from jupyter_mreg.sql.errors import SqlError


class ModelRef(exp.Expression):
    """`MODEL name [VERSION v]` as the body of a CTE: `this` is a `Table` (name parts), `version` an
    `Identifier` or None (the default version)."""

    arg_types = {"this": True, "version": False}  # noqa: RUF012 - sqlglot's node convention

    def sql(self, dialect=None, **opts) -> str:  # sqlglot logs nodes with str(): only our dialect knows this one
        return super().sql(dialect=dialect or MReg, **opts)


def _model_ref_sql(self, node: ModelRef) -> str:
    version = node.args.get("version")
    return f"MODEL {self.sql(node, 'this')}" + (f" VERSION {self.sql(version)}" if version else "")


class MReg(Snowflake):
    """Snowflake SQL with model CTEs."""

    class Parser(Snowflake.Parser):
        def _parse_cte(self):
            index = self._index
            alias = self._parse_table_alias(self.ID_VAR_TOKENS)
            if alias and alias.this and self._match(TokenType.ALIAS) and self._match_text_seq("MODEL"):
                name = self._parse_table_parts()
                version = None
                if self._match_text_seq("VERSION"):
                    version = self._parse_id_var(any_token=True) or self._parse_string()
                    if version is None:
                        self.raise_error("Expected a version name after VERSION")
                return self.expression(exp.CTE(this=ModelRef(this=name, version=version), alias=alias))
            self._retreat(index)
            return super()._parse_cte()

        def _parse_projections(self):
            def item():
                first = self._curr
                node = self._parse_expression()
                if node is not None and first is not None and self._prev is not None:
                    node.meta["span"] = (first.start, self._prev.end + 1)
                return node

            return self._parse_csv(item), None

        # After a JOIN without ON, sqlglot first tries the joins that follow as a nested join
        # (`a JOIN b JOIN c ON x ON y`) and, when no ON comes, goes back and parses them again: each such
        # JOIN doubles the time (25 of them: hours). The joins from one place parse the same way every
        # time, so the first parse is kept and replayed: the same nodes when the first attempt dropped them,
        # copies of those it kept in a tree.
        def reset(self) -> None:
            super().reset()
            self._joins_parsed: dict[tuple, tuple[list, int]] = {}

        def _parse_joins(self, alias_tokens=None):
            key = (id(self._tokens), self._index, id(alias_tokens))
            done = self._joins_parsed.get(key)
            if done is None:
                joins = list(super()._parse_joins(alias_tokens=alias_tokens))
                self._joins_parsed[key] = (joins, self._index)
                return iter(joins)
            joins, end = done
            self._retreat(end)
            return iter([join.copy() if join.parent is not None else join for join in joins])

    class Generator(Snowflake.Generator):
        # Custom nodes are generated through TRANSFORMS (sqlglot dispatches `<key>_sql` only for its own).
        TRANSFORMS = {**Snowflake.Generator.TRANSFORMS, ModelRef: _model_ref_sql}  # noqa: RUF012

        def cte_sql(self, expression: exp.CTE) -> str:
            if isinstance(expression.this, ModelRef):
                return f"{self.sql(expression, 'alias')} AS {self.sql(expression, 'this')}"
            return super().cte_sql(expression)


DIALECT = MReg()


def parse(statement: str) -> exp.Expression:
    """One statement as a sqlglot tree; a syntax error is a `SqlError` at the character it concerns."""
    try:
        trees = DIALECT.parse(statement)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        position = _offset(statement, first.get("line"), first.get("col"), first.get("highlight") or "")
        description = re.sub(r"<Token token_type: [^,]*, text: ([^,]*), [^>]*>", r"'\1'",
                             first.get("description") or str(exc))
        near = (first.get("highlight") or "").strip()
        raise SqlError(f"SQL syntax error: {description}" + (f" (near {near!r})." if near else "."),
                       sql=statement, position=position) from None
    except TokenError as exc:
        raise SqlError(f"SQL syntax error: {exc}. Check for an unclosed quote or comment.", sql=statement,
                       position=_unclosed_quote(statement)) from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise SqlError("Expected one SQL statement here.", sql=statement, position=0)
    return trees[0]


def _offset(text: str, line: int | None, col: int | None, highlight: str) -> int | None:
    """The character offset of a sqlglot (line, col) pair, where `col` is the 1-based end of `highlight`."""
    if not line or col is None:
        return None
    lines = text.splitlines(keepends=True)
    start = sum(len(x) for x in lines[: line - 1])
    return max(0, min(len(text), start + col - max(len(highlight), 1)))


def _unclosed_quote(text: str) -> int | None:
    """Where a string or quoted name that never closes starts (what sqlglot's TokenError is about)."""
    quote, start = None, None
    for i, ch in enumerate(text):
        if quote is None and ch in "'\"":
            quote, start = ch, i
        elif ch == quote:
            quote = None
    return start if quote is not None else None


def position(node: exp.Expression | None) -> int | None:
    """The offset of the leftmost token under `node` that sqlglot recorded a position for."""
    if node is None:
        return None
    best = None
    for sub in node.walk():
        meta = getattr(sub, "_meta", None)
        if meta and "start" in meta and (best is None or meta["start"] < best):
            best = meta["start"]
        where = meta.get("span") if meta else None
        if where and (best is None or where[0] < best):
            best = where[0]
    return best


def span(node: exp.Expression) -> tuple[int, int] | None:
    """(start, end) of a SELECT item in the statement, as the parser recorded it."""
    meta = getattr(node, "_meta", None)
    return meta.get("span") if meta else None
