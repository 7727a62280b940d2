"""How each SELECT that calls a model is run.

Two-phase (the default): DuckDB first computes the rows the model needs (phase 1: the source with the
WHERE conjuncts that do not depend on a model, and a LIMIT when nothing after it reorders or groups), the
model then runs once on that whole batch, and DuckDB finishes the query over the batch with the model's
results attached as STRUCT columns (phase 2). When the source is a DataFrame and the arguments are its
columns, no data goes through DuckDB for the model: with nothing to filter, phase 1 is skipped (the model
reads the DataFrame's columns, DuckDB joins the results back by position); otherwise phase 1 returns only
the positions of the rows that qualify, and the model reads those rows of the DataFrame. A SELECT over several sources (a join), or whose model arguments need aggregates or window
functions, falls back to a DuckDB Arrow UDF (the model runs per DuckDB chunk, on one thread).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from jupyter_mreg.sql.binder import ModelCall


@dataclass
class Source:
    """What a SELECT reads: its FROM item (None for a SELECT without FROM), the name columns are
    qualified with, its columns (as DuckDB names them) and, when it is a registered pandas DataFrame
    itself, that DataFrame."""

    node: exp.Expression | None
    alias: str | None
    columns: list[str]
    frame: Any = None
    shown: str = "the query"

    def column(self, name: str) -> str | None:
        """The source column `name` refers to (exactly, else case-insensitively), or None."""
        if name in self.columns:
            return name
        folded = [c for c in self.columns if c.upper() == name.upper()]
        return folded[0] if len(folded) == 1 else None

    def owns(self, column: exp.Column) -> bool:
        """Whether a column reference reads this source."""
        table = column.table
        if table and (self.alias is None or table.upper() != self.alias.upper()):
            return False
        return self.column(column.name) is not None


@dataclass
class ScopePlan:
    select: exp.Select
    calls: list[ModelCall]  # every call of the scope (identical ones share a slot)
    distinct: list[ModelCall]  # one per slot
    source: Source
    pushed: list[exp.Expression] = field(default_factory=list)  # WHERE conjuncts phase 1 applies
    kept: list[exp.Expression] = field(default_factory=list)  # WHERE conjuncts phase 2 applies
    limit: int | None = None  # rows phase 1 may stop at
    needed: list[str] = field(default_factory=list)  # source columns phase 2 reads (besides the results)
    direct: bool = False  # the model reads the DataFrame itself; no phase 1
    gather: bool = False  # phase 1 finds row positions; the model reads those rows of the DataFrame


def selects_in_order(tree: exp.Expression) -> Iterator[exp.Select]:
    """Every SELECT, each after the SELECTs it reads: a query's CTEs first, then its subqueries, then itself."""
    with_ = tree.args.get("with_")
    if with_ is not None:
        for cte in with_.expressions:
            yield from selects_in_order(cte.this)
    for child in tree.iter_expressions():
        if child is not with_:
            yield from selects_in_order(child)
    if isinstance(tree, exp.Select):
        yield tree


def enclosing_select(node: exp.Expression) -> exp.Select | None:
    parent = node.parent
    while parent is not None and not isinstance(parent, exp.Select):
        parent = parent.parent
    return parent


def fallback_reason(select: exp.Select, calls: list[ModelCall], table_functions: int = 0) -> str | None:
    """Why this SELECT cannot run two-phase (then it runs with the UDF fallback), or None.

    `table_functions` is how many `TABLE(m!f(...))` items of its FROM the engine replaces by their result
    first (each takes the place of its input table, so it is not a join by then).
    """
    if len(select.args.get("joins") or []) > table_functions:
        return "joins"
    if select.args.get("laterals"):
        return "laterals"
    from_ = select.args.get("from_")
    item = from_.this if from_ is not None else None
    if item is not None and not isinstance(item, (exp.Table, exp.Subquery, exp.TableFromRows)):
        return f"FROM {type(item).__name__}"
    if isinstance(item, exp.Table) and not isinstance(item.this, exp.Identifier):
        return "table expression"
    for call in calls:
        for arg in call.func.expressions:
            if arg.find(exp.AggFunc) or arg.find(exp.Window):
                return "aggregate or window function in a model argument"
    return None


def conjuncts(where: exp.Where | None) -> list[exp.Expression]:
    if where is None:
        return []
    return list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]


def _outside_subqueries(node: exp.Expression, cls: type) -> Iterator[exp.Expression]:
    """Nodes of type `cls` under `node`, not counting those inside nested SELECTs."""
    for sub in node.find_all(cls):
        parent = sub.parent
        inside = False
        while parent is not None and parent is not node:
            if isinstance(parent, (exp.Subquery, exp.Select)):
                inside = True
                break
            parent = parent.parent
        if not inside:
            yield sub


def _pushable(conjunct: exp.Expression, source: Source) -> bool:
    if conjunct.find(exp.ModelAttribute) or conjunct.find(exp.AggFunc) or conjunct.find(exp.Window):
        return False
    return all(source.owns(col) for col in _outside_subqueries(conjunct, exp.Column)
               if not isinstance(col.this, exp.Star))


def _selects_star(select: exp.Select) -> bool:
    return any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
               for p in select.expressions)


def _int_literal(node: exp.Expression | None) -> int | None:
    if node is None:
        return 0
    value = node.expression if isinstance(node, (exp.Limit, exp.Offset)) else node
    if isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit():
        return int(value.this)
    return None


def _reorders(select: exp.Select) -> bool:
    """Whether rows after the WHERE can change before LIMIT (so phase 1 must not stop early)."""
    if any(select.args.get(k) for k in ("order", "group", "having", "qualify", "distinct")):
        return True
    return any(p.find(exp.AggFunc) or p.find(exp.Window) for p in select.expressions)


def plan_two_phase(select: exp.Select, calls: list[ModelCall], distinct: list[ModelCall], source: Source) -> ScopePlan:
    plan = ScopePlan(select=select, calls=calls, distinct=distinct, source=source)
    for conjunct in conjuncts(select.args.get("where")):
        (plan.pushed if source.node is not None and _pushable(conjunct, source) else plan.kept).append(conjunct)
    limit = select.args.get("limit")
    if limit is not None and not plan.kept and not _reorders(select):
        count, offset = _int_literal(limit), _int_literal(select.args.get("offset"))
        if count is not None and offset is not None:
            plan.limit = count + offset
    if _selects_star(select):
        plan.needed = list(source.columns)
    else:
        # Columns only the pushed-down conjuncts or the model's arguments read are not needed in phase 2.
        skip = {id(c) for conjunct in plan.pushed for c in conjunct.find_all(exp.Column)}
        skip |= {id(c) for call in calls for c in call.func.find_all(exp.Column)}
        wanted = {source.column(col.name) for col in select.find_all(exp.Column)
                  if id(col) not in skip and not isinstance(col.this, exp.Star) and source.owns(col)}
        plan.needed = [c for c in source.columns if c in wanted]
    plain = source.frame is not None and all(
        isinstance(a, exp.Column) and source.owns(a) for call in distinct for a in call.args)
    plan.direct = plain and not plan.pushed and plan.limit is None
    plan.gather = plain and not plan.direct
    return plan
