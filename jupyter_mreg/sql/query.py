"""`run(statement, ctx)`: one `%%mreg` query (SELECT / WITH ... SELECT) → a pandas DataFrame.

    SELECT id, MYDB.ML.CUSTOMER_CHURN!PREDICT(*):output_feature_0 AS churn
    FROM new_customers WHERE region = 'EU' ORDER BY churn DESC

Steps: parse with the Snowflake-based dialect (`dialect.py`); take the `WITH a AS MODEL m` CTEs out and bind
every model call to a version and method (`binder.py`); register the namespace's DataFrames with DuckDB
(`tables.py`); then, SELECT by SELECT (each after the ones it reads), run table functions and scalar model
calls (`planner.py` chooses two-phase or the UDF fallback, `engine.py` runs them); finally DuckDB runs the
rewritten query, transpiled from Snowflake SQL by sqlglot, and the Arrow result becomes the DataFrame
(`results.py`). Result columns are named as the query wrote them; a column that is a model's output as such
(`m!f(...):name`, or `*` over `TABLE(m!f(...))`) has the dtype `run()` gives that output.
"""

from __future__ import annotations

import pandas as pd
from sqlglot import exp

from jupyter_mreg.sql import binder, planner, results, tables
from jupyter_mreg.sql.context import SqlContext
from jupyter_mreg.sql.dialect import parse, position, span
from jupyter_mreg.sql.engine import Engine, internal_name
from jupyter_mreg.sql.errors import SqlError


def run(statement: str, ctx: SqlContext) -> pd.DataFrame:
    """Run one query over `ctx.namespace`'s DataFrames with `ctx.session`'s registry; raise `SqlError` for
    a mistake in it (with its position in `statement`)."""
    tree = parse(statement)
    if not isinstance(tree, exp.Query):
        raise SqlError(
            f"{statement.split(None, 1)[0].upper()} statements do not run here: %%mreg runs queries (SELECT, "
            "WITH ... SELECT) over the notebook's DataFrames, and model commands (SHOW MODELS, ALTER MODEL, ...).",
            sql=statement, position=0)
    model_ctes = binder.take_model_ctes(tree)
    names = _name_columns(tree, statement)
    params = _check_params(tree, ctx.params, statement)

    resolver = binder.Resolver(ctx, statement, model_ctes)
    scopes: dict[int, list[tuple[binder.ModelCall, bool]]] = {}
    found = []
    for node in list(tree.find_all(exp.ModelAttribute)):
        in_table = isinstance(node.parent, exp.TableFromRows)
        call = resolver.call(node, in_table=in_table)
        select = planner.enclosing_select(node)
        if select is None:
            raise SqlError("A model call must be part of a SELECT.", sql=statement, position=position(node))
        scopes.setdefault(id(select), []).append((call, in_table))
        found.append((call, in_table))
    typed = _typed_items(tree, found)
    ordered = [s for s in planner.selects_in_order(tree) if id(s) in scopes]
    single_thread = any(planner.fallback_reason(s, [c for c, t in scopes[id(s)] if not t],
                                                sum(1 for _, t in scopes[id(s)] if t))
                        for s in ordered if any(not t for _, t in scopes[id(s)]))

    with Engine(statement, params, single_thread=single_thread, file_access=ctx.allow_file_access) as engine:
        tables.bind_tables(tree, ctx.namespace, statement, engine.register)
        engine.set_ctes(tree)
        slots = iter(lambda: internal_name("m"), None)
        for select in ordered:
            calls = scopes[id(select)]
            for call, in_table in calls:
                if in_table:
                    engine.table_function(select, call, params)
            scalars = [c for c, in_table in calls if not in_table]
            if not scalars:
                continue
            if planner.fallback_reason(select, scalars) is None:
                from_ = select.args.get("from_")
                source = engine.source(from_.this if from_ is not None else None)
                for call in scalars:
                    binder.bind_args(call, source.columns if from_ is not None else [], source.shown, statement,
                                     params)
                distinct = binder.dedupe(scalars, slots)
                engine.two_phase(planner.plan_two_phase(select, scalars, distinct, source))
            else:
                for call in scalars:
                    binder.bind_args(call, None, "the query's tables", statement, params)
                engine.udf(select, scalars, binder.dedupe(scalars, slots))
        table = engine.arrow(tree)
    frame = results.to_pandas(_rename(table, names))
    return results.with_output_dtypes(frame, _column_specs(frame, typed))


_STAR = object()


def _name_columns(tree: exp.Expression, statement: str) -> list | None:
    """Name the result's columns as the query wrote them. An unaliased expression gets an alias: its text
    (DuckDB would name it after the SQL it runs, e.g. the rewritten model call); in nested SELECTs only
    model calls get one, so `SELECT * FROM (SELECT m!predict(*) FROM t)` shows `m!predict(*)` too. A plain
    column of the result is renamed after the run instead (an alias equal to a column's name would change
    DuckDB's errors about it): the names to apply, one per SELECT item (`_STAR` for `*`, None to keep
    DuckDB's), are returned."""
    root = _root_select(tree)
    for select in list(tree.find_all(exp.Select)):
        if select is not root:
            for projection in list(select.expressions):
                if not isinstance(projection, (exp.Alias, exp.Column, exp.Star)) and projection.find(
                        exp.ModelAttribute):
                    _alias_with_text(projection, statement)
    if root is None:
        return None
    names: list = []
    for projection in list(root.expressions):
        if isinstance(projection, exp.Star) or (
                isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star)):
            names.append(_STAR)
        elif isinstance(projection, exp.Column) and isinstance(projection.this, exp.Identifier):
            names.append(projection.this.this)  # `t.ID` is named ID, as written
        else:
            if not isinstance(projection, exp.Alias):
                _alias_with_text(projection, statement)
            names.append(None)
    return names


def _root_select(tree: exp.Expression) -> exp.Select | None:
    """The SELECT whose items are the result's columns (the first branch of a UNION)."""
    node = tree
    while isinstance(node, (exp.SetOperation, exp.Subquery)):
        node = node.this
    return node if isinstance(node, exp.Select) else None


def _typed_items(tree: exp.Expression, calls: list[tuple[binder.ModelCall, bool]]) -> list | None:
    """Per item of the result's SELECT, the output specs that type its column(s) as `run()` types them:
    `m!f(...):name` gives that output's spec; `*` over `TABLE(m!f(...))` maps the outputs' names to their
    specs, and a column read from that table function its output's spec; anything else (an expression, a
    cast, a column of a table) None: its SQL type decides. A UNION's columns mix its branches: None."""
    root = _root_select(tree)
    if root is None or isinstance(tree, exp.SetOperation):
        return None
    table_calls = [call for call, in_table in calls if in_table and planner.enclosing_select(call.node) is root]
    tables = {o.name: o for call in table_calls for o in call.target.signature.outputs}
    by_node = {id(call.node): call for call, _ in calls}
    items: list = []
    for projection in root.expressions:
        node = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star)):
            items.append(tables)
        elif isinstance(node, exp.Column) and tables:
            # A column read from the table function's result (which took its input table's place).
            named = [o for o in (call.target.output(node.name) for call in table_calls) if o is not None]
            items.append(named[0] if len(named) == 1 else None)
        elif isinstance(node, exp.JSONExtract) and id(node.this) in by_node and isinstance(
                node.expression, exp.JSONPath) and [type(k) for k in node.expression.expressions] == [
                exp.JSONPathRoot, exp.JSONPathKey]:
            items.append(by_node[id(node.this)].target.output(str(node.expression.expressions[1].this)))
        else:
            items.append(None)
    return items


def _alias_with_text(projection: exp.Expression, statement: str) -> None:
    where = span(projection)
    if where is None:
        return
    text = " ".join(statement[where[0]:where[1]].split())
    alias = exp.Alias(alias=exp.to_identifier(text, quoted=True))
    projection.replace(alias)
    alias.set("this", projection)


def _spans(stars: list[bool], columns: int) -> list[range] | None:
    """The result columns each SELECT item gives (`stars[i]`: item i is a `*`), or None when they cannot
    be matched (more than one `*`, or a count that does not add up)."""
    width = columns - (len(stars) - sum(stars))
    if sum(stars) > 1 or width < 0 or (not any(stars) and width != 0):
        return None
    spans, i = [], 0
    for star in stars:
        spans.append(range(i, i + (width if star else 1)))
        i = spans[-1].stop
    return spans


def _rename(table, names: list | None):
    """`table` with the names `_name_columns` chose (when its columns can be matched to the SELECT items)."""
    spans = _spans([n is _STAR for n in names], table.num_columns) if names else None
    if spans is None:
        return table
    current, out = table.column_names, []
    for name, span_ in zip(names, spans):
        out += [current[i] for i in span_] if name is _STAR or name is None else [name]
    return table.rename_columns(out) if out != current else table


def _column_specs(frame: pd.DataFrame, items: list | None) -> list:
    """Per result column, the output spec `_typed_items` found for it, or None."""
    if not items or not any(items):
        return []
    spans = _spans([isinstance(t, dict) for t in items], frame.shape[1])
    if spans is None:
        return []
    specs: list = [None] * frame.shape[1]
    for item, span_ in zip(items, spans):
        for i in span_:
            specs[i] = item.get(frame.columns[i]) if isinstance(item, dict) else item
    return specs


def _check_params(tree: exp.Expression, values: dict, statement: str) -> dict:
    """The `:name` bind values the query uses; an undefined one is a `SqlError` at its position."""
    for parameter in tree.find_all(exp.Parameter):
        name = parameter.name
        raise SqlError(f"${name} is not expanded in %%mreg SQL (IPython's $ substitution does not apply here): "
                       f"write :{name} to bind the Python value {name}, or {{{{{name}}}}} to insert it as a SQL "
                       "literal.",
                       sql=statement, position=position(parameter) if position(parameter) is not None
                       else _find_text(statement, "$" + name))
    used = {}
    for placeholder in tree.find_all(exp.Placeholder):
        name = placeholder.this
        if not name or str(name).isdigit():
            raise SqlError("Use named bind variables (:name, with name a Python variable or a params= key); "
                           "positional ones (? or :1) have no values here.", sql=statement,
                           position=position(placeholder))
        if name not in values:
            close = [k for k in values if isinstance(k, str) and k.upper() == str(name).upper()]
            hint = f" Did you mean :{close[0]}?" if close else ""
            raise SqlError(f"Bind variable :{name} is not defined.{hint} Define {name} in the notebook, or pass "
                           f"params={{'{name}': ...}}.", sql=statement, position=position(placeholder)
                           if position(placeholder) is not None else _find_text(statement, ":" + str(name)))
        used[name] = values[name]
    return used


def _find_text(statement: str, text: str) -> int | None:
    index = statement.find(text)
    return index if index >= 0 else None
