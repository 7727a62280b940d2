"""Executes a query's plan on DuckDB: registers the tables, runs phase 1, the model, phase 2, table
functions and the UDF fallback, and maps DuckDB's errors back to the statement.

One in-memory DuckDB database per process and kind: single-threaded for queries that use the UDF fallback
(sklearn/OpenMP thread limits do not reach DuckDB's worker threads), and with or without file and network
access. Without it (the default) DuckDB's `enable_external_access` is off, so `read_csv('/etc/passwd')`,
`FROM 'x.parquet'`, URLs and extension downloads fail; the configuration is locked, so no statement
can turn it back on (DuckDB cannot turn it on again in a running database anyway, hence the separate
database for the cells that opt in). Each query works in its own cursor, whose registered DataFrames
(views, no copies) disappear when it closes.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from jupyter_mreg.model.model_signature import FeatureSpec
from jupyter_mreg.sql import diagnose, scoring
from jupyter_mreg.sql.binder import ModelCall, Target, bind_args
from jupyter_mreg.sql.dialect import position
from jupyter_mreg.sql.errors import SqlError
from jupyter_mreg.sql.planner import ScopePlan, Source

_DATABASES: dict[tuple[bool, bool], Any] = {}
_LOCK = threading.Lock()
_NAMES = itertools.count()  # internal names are unique in the process: UDFs live in the shared catalog
_POSITION = "__mreg_position"


def _database(single_thread: bool, file_access: bool) -> Any:
    key = (single_thread, file_access)
    with _LOCK:
        db = _DATABASES.get(key)
        if db is None:
            config = {"enable_external_access": file_access, "lock_configuration": True}
            if single_thread:
                config["threads"] = 1
            db = duckdb.connect(":memory:", config=config)
            _DATABASES[key] = db
        return db


def internal_name(prefix: str) -> str:
    return f"__mreg_{prefix}{next(_NAMES)}"


class Engine:
    """One query's DuckDB cursor, registered tables and UDFs. Use as a context manager."""

    def __init__(self, statement: str, params: dict, *, single_thread: bool = False,
                 file_access: bool = False) -> None:
        self.statement = statement
        self.params = params
        self.cursor = _database(single_thread, file_access).cursor()
        self.shown: dict[str, str] = {}  # internal name → what messages call it
        self.frames: dict[str, pd.DataFrame] = {}  # internal name → registered pandas DataFrame
        self.ctes: dict[str, exp.CTE] = {}  # upper-cased CTE name → its node
        self.functions: list[str] = []
        self.udf_error: BaseException | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.functions:
            try:
                self.cursor.remove_function(name)
            except duckdb.Error:
                pass
        self.cursor.close()

    # --- tables ------------------------------------------------------------------------------------------
    def register(self, value: Any, shown: str, prefix: str = "t") -> str:
        name = internal_name(prefix)
        try:
            self.cursor.register(name, value)
        except duckdb.Error as exc:
            raise SqlError(f"{shown} cannot be read as a table ({str(exc).splitlines()[0]}).", sql=self.statement,
                           position=diagnose.locate(self.statement, shown)) from None
        self.shown[name] = shown
        if isinstance(value, pd.DataFrame):
            self.frames[name] = value
        return name

    def set_ctes(self, tree: exp.Expression) -> None:
        self.ctes = {cte.alias_or_name.upper(): cte for cte in tree.find_all(exp.CTE)}

    def _dependencies(self, node: exp.Expression) -> list[exp.CTE]:
        """The CTEs `node` reads, directly or through other CTEs, in definition order."""
        order = list(self.ctes.values())
        found: dict[int, exp.CTE] = {}
        todo = [node]
        while todo:
            current = todo.pop()
            for table in current.find_all(exp.Table):
                cte = self.ctes.get(table.name.upper()) if table.args.get("db") is None else None
                if cte is not None and id(cte) not in found and not _inside(table, cte):
                    found[id(cte)] = cte
                    todo.append(cte.this)
        return sorted(found.values(), key=order.index)

    def standalone(self, select: exp.Select, reads: exp.Expression) -> exp.Select:
        """`select` with the CTEs that `reads` depends on attached, so DuckDB can run it alone."""
        deps = self._dependencies(reads)
        if deps:
            select.set("with_", exp.With(expressions=[d.copy() for d in deps]))
        return select

    # --- running SQL ---------------------------------------------------------------------------------------
    def generate(self, tree: exp.Expression) -> str:
        try:
            return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
        except UnsupportedError as exc:
            raise SqlError(f"This SQL cannot be run by DuckDB: {exc}", sql=self.statement) from None

    def relation(self, tree: exp.Expression) -> Any:
        sql = self.generate(tree)
        params = {p.this: _bindable(self.params[p.this]) for p in tree.find_all(exp.Placeholder) if p.this}
        try:
            return self.cursor.sql(sql, params=params or None), sql
        except duckdb.Error as exc:
            raise self._translate(exc, sql) from None

    def arrow(self, tree: exp.Expression) -> pa.Table:
        rel, sql = self.relation(tree)
        if rel is None:
            return pa.table({})
        try:
            return rel.to_arrow_table()
        except duckdb.Error as exc:
            raise self._translate(exc, sql) from None

    def columns(self, tree: exp.Expression) -> list[str]:
        rel, _ = self.relation(tree)
        return list(rel.columns) if rel is not None else []

    def _translate(self, exc: Exception, sql: str) -> BaseException:
        if self.udf_error is not None:
            error, self.udf_error = self.udf_error, None
            return error
        return diagnose.translate(exc, self.statement, self.shown, sql)

    # --- sources -------------------------------------------------------------------------------------------
    def source(self, item: exp.Expression | None) -> Source:
        """What `item` (a FROM item) is: its qualifier, its columns, and its DataFrame when it is one."""
        if item is None:
            return Source(node=None, alias=None, columns=[])
        alias = item.alias_or_name
        if not alias:
            alias = internal_name("q")
            item.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
        frame = self.frames.get(item.name) if isinstance(item, exp.Table) else None
        labels = list(frame.columns) if frame is not None else []
        if labels and all(isinstance(c, str) for c in labels) and len({c.upper() for c in labels}) == len(labels):
            columns = labels  # DuckDB names a DataFrame's columns as pandas does when they are distinct
        else:
            probe = exp.Select(expressions=[exp.Star()], from_=exp.From(this=item.copy()),
                               limit=exp.Limit(expression=exp.Literal.number(0)))
            columns = self.columns(self.standalone(probe, item))
        shown = self.shown.get(item.name, alias) if isinstance(item, exp.Table) else alias
        return Source(node=item, alias=alias, columns=columns, frame=frame, shown=shown)

    # --- two-phase ---------------------------------------------------------------------------------------------
    def two_phase(self, plan: ScopePlan) -> None:
        """Score the rows `plan.select` needs once per distinct call, then point the SELECT at the results."""
        if plan.direct:
            node, internal = self._direct(plan), []
        elif plan.gather:
            node, internal = self._gather(plan), []
        else:
            node, internal = self._batch(plan)
        select, source = plan.select, plan.source
        alias = source.alias or internal_name("q")
        node.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
        if source.node is not None:
            source.node.replace(node)
        else:
            select.set("from_", exp.From(this=node))
        if not plan.direct:
            select.set("where", exp.Where(this=exp.and_(*plan.kept, copy=False)) if plan.kept else None)
        for call in plan.calls:
            replace_call(call, exp.column(call.slot, table=alias, quoted=True), self.statement)
        _exclude_from_stars(select, [c.slot for c in plan.distinct] + internal)

    def _inputs(self, plan: ScopePlan, call: ModelCall, rows: Any = None) -> pd.DataFrame:
        """The DataFrame's argument columns (of `rows`, a position array, or all), named as the signature's
        inputs: a lazy selection when all rows are taken (no copy)."""
        at = {c: i for i, c in enumerate(plan.source.columns)}
        columns = [at[plan.source.column(a.name)] for a in call.args]
        frame = plan.source.frame
        picked = frame.iloc[:, columns] if rows is None else frame.iloc[rows, columns]
        return picked.set_axis([f.name for f in call.target.inputs], axis=1)

    def _direct(self, plan: ScopePlan) -> exp.Expression:
        """No filter: the model reads the whole DataFrame; its results are joined back by position."""
        scores = {call.slot: scoring.scores(call, self._inputs(plan, call), self.statement) for call in plan.distinct}
        scored = self.register(pa.table(scores), plan.source.shown, "s")
        joined = exp.Select(expressions=[exp.Star()], from_=exp.From(this=exp.to_table(plan.source.node.name)),
                            joins=[exp.Join(this=exp.to_table(scored), method="POSITIONAL")])
        return exp.Subquery(this=joined)

    def _gather(self, plan: ScopePlan) -> exp.Expression:
        """Phase 1 returns the positions of the qualifying rows; the model reads those rows of the DataFrame,
        and phase 2 reads a batch of them holding only the columns it needs, plus the results."""
        source = plan.source
        frame = source.frame
        numbers = self.register(pa.table({_POSITION: np.arange(len(frame), dtype=np.int64)}), source.shown, "p")
        numbered = exp.Subquery(
            this=exp.Select(expressions=[exp.Star()], from_=exp.From(this=exp.to_table(source.node.name)),
                            joins=[exp.Join(this=exp.to_table(numbers), method="POSITIONAL")]),
            alias=exp.TableAlias(this=exp.to_identifier(source.alias)))
        phase1 = exp.Select(expressions=[exp.column(_POSITION, quoted=True)], from_=exp.From(this=numbered))
        self._restrict(phase1, plan)
        rel, sql = self.relation(self.standalone(phase1, phase1))
        try:
            rows = rel.fetchnumpy()[_POSITION]
        except duckdb.Error as exc:
            raise self._translate(exc, sql) from None
        at = {c: i for i, c in enumerate(source.columns)}
        kept = frame.iloc[rows, [at[c] for c in plan.needed]]
        batch = scoring.arrow_table(kept, f"Column {{}} of {source.shown}", self.statement,
                                    position(source.node)) if plan.needed else None
        for call in plan.distinct:
            struct = scoring.scores(call, self._inputs(plan, call, rows), self.statement)
            batch = pa.table({call.slot: struct}) if batch is None else batch.append_column(call.slot, struct)
        return exp.to_table(self.register(batch, source.shown, "b"))

    def _batch(self, plan: ScopePlan) -> tuple[exp.Expression, list[str]]:
        """Phase 1 copies the qualifying rows (needed columns and computed arguments) out of DuckDB; the model
        reads its arguments from that batch, and phase 2 reads the batch with the results attached."""
        source = plan.source
        computed: dict[int, str] = {}
        names = list(plan.needed)
        projections = [exp.column(c, quoted=True) for c in plan.needed]
        for call in plan.distinct:
            for arg in call.args:
                if isinstance(arg, exp.Column) and source.owns(arg):
                    name = source.column(arg.name)
                    if name not in names:
                        names.append(name)
                        projections.append(exp.column(name, quoted=True))
                elif id(arg) not in computed:
                    computed[id(arg)] = internal_name("a")
                    projections.append(exp.alias_(arg.copy(), computed[id(arg)], quoted=True))
        if not projections:
            projections = [exp.alias_(exp.Literal.number(1), internal_name("a"), quoted=True)]
        phase1 = exp.Select(expressions=projections)
        if source.node is not None:
            phase1.set("from_", exp.From(this=source.node.copy()))
            self._restrict(phase1, plan)
        batch = self.arrow(self.standalone(phase1, phase1))
        for call in plan.distinct:
            columns = [computed.get(id(a)) or source.column(a.name) for a in call.args]
            inputs = pa.Table.from_arrays([batch.column(n) for n in columns],
                                          names=[f.name for f in call.target.inputs]).to_pandas()
            batch = batch.append_column(call.slot, scoring.scores(call, inputs, self.statement))
        extra = [n for n in names if n not in plan.needed] + list(computed.values())
        return exp.to_table(self.register(batch, source.shown, "b")), extra

    @staticmethod
    def _restrict(phase1: exp.Select, plan: ScopePlan) -> None:
        if plan.pushed:
            phase1.set("where", exp.Where(this=exp.and_(*[c.copy() for c in plan.pushed])))
        if plan.limit is not None:
            phase1.set("limit", exp.Limit(expression=exp.Literal.number(plan.limit)))

    # --- UDF fallback ------------------------------------------------------------------------------------------
    def udf(self, select: exp.Select, calls: list[ModelCall], distinct: list[ModelCall]) -> None:
        """Model calls as DuckDB Arrow UDFs (the model runs on each DuckDB chunk, on this thread)."""
        functions = {}
        for call in distinct:
            name = internal_name("f")
            parameters = self._argument_types(select, call)
            returns = struct_type(call.target)
            self.cursor.create_function(name, self._udf(call, returns), parameters, _duck(returns),
                                        type="arrow", null_handling="special", side_effects=False)
            self.functions.append(name)
            functions[call.slot] = name
        for call in calls:
            replace_call(call, exp.Anonymous(this=functions[call.slot], expressions=[a.copy() for a in call.args]),
                         self.statement)

    def _argument_types(self, select: exp.Select, call: ModelCall) -> list:
        probe = select.copy()
        for key in ("order", "limit", "offset", "having", "qualify", "distinct"):
            probe.set(key, None)
        probe.set("expressions", [exp.alias_(a.copy(), f"a{i}", quoted=True) for i, a in enumerate(call.args)])
        for node in list(probe.find_all(exp.ModelAttribute)):
            node.replace(exp.Null())  # other model calls of this SELECT (in WHERE) do not decide types
        probe.set("limit", exp.Limit(expression=exp.Literal.number(0)))
        rel, _ = self.relation(self.standalone(probe, probe) if not probe.args.get("with_") else probe)
        return list(rel.types)

    def _udf(self, call: ModelCall, returns: pa.DataType):
        names = [f.name for f in call.target.inputs]

        def model_udf(*columns):
            try:
                arrays = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
                inputs = pa.Table.from_arrays(arrays, names=names).to_pandas()
                return scoring.scores(call, inputs, self.statement).cast(returns)
            except BaseException as exc:  # DuckDB would wrap it in its own error: keep ours
                self.udf_error = exc
                raise

        model_udf.__signature__ = _signature(len(names))
        return model_udf

    # --- table functions ------------------------------------------------------------------------------------
    def table_function(self, select: exp.Select, call: ModelCall, params: dict) -> None:
        """Run `TABLE(m!f(args) [OVER (PARTITION BY k)])` of `select` over its input FROM item, and put the
        result in place of that item (the method's output columns, plus the partition column)."""
        tf = call.node.parent  # exp.TableFromRows
        from_ = select.args["from_"]
        joins = select.args.get("joins") or []
        items = [from_.this] + [j.this for j in joins]
        others = [i for i in items if i is not tf]
        window = call.window
        partition = list(window.args.get("partition_by") or []) if window is not None else []
        refs = [c for node in [*call.func.expressions, *partition] for c in node.find_all(exp.Column)]
        qualifiers = {c.table.upper() for c in refs if c.table}
        candidates = [i for i in others if i.alias_or_name.upper() in qualifiers] if qualifiers else others
        if len(candidates) != 1:
            raise SqlError(f"TABLE({call.target.label}(...)) reads its rows from the table before it in FROM: "
                           "write FROM t, TABLE(m!method(t.a, t.b) ...), with the arguments qualified by that "
                           "table's name or alias.", sql=self.statement, position=position(tf))
        item = candidates[0]
        source = self.source(item)
        bind_args(call, source.columns, source.shown, self.statement, params)
        if len(partition) > 1:
            raise SqlError("PARTITION BY of a model table function takes one column.", sql=self.statement,
                           position=position(partition[1]))
        part_name = None
        projections = [exp.alias_(a.copy(), f.name, quoted=True) for a, f in zip(call.args, call.target.inputs)]
        if partition and not isinstance(partition[0], exp.Literal):  # PARTITION BY 1: all rows, one partition
            key = partition[0]
            part_name = source.column(key.name) if isinstance(key, exp.Column) and source.owns(key) else None
            if part_name is None:
                raise SqlError(f"PARTITION BY {key.sql()} must name a column of {source.shown} (columns: "
                               f"{', '.join(source.columns)}).", sql=self.statement, position=position(key))
            if part_name not in {f.name for f in call.target.inputs}:
                projections.append(exp.alias_(exp.column(part_name, quoted=True), part_name, quoted=True))
        phase1 = exp.Select(expressions=projections, from_=exp.From(this=item.copy()))
        if window is not None and window.args.get("order"):
            phase1.set("order", window.args["order"].copy())
        frame = self.arrow(self.standalone(phase1, phase1)).to_pandas()
        out = scoring.run_table_function(call, frame, self.statement, part_name)
        name = self.register(scoring.to_table(out, call, self.statement), call.target.label, "tf")
        new_alias = tf.alias or source.alias
        table = exp.Table(this=exp.to_identifier(name), alias=exp.TableAlias(this=exp.to_identifier(new_alias)))
        for join in list(joins):
            if join.this is tf:
                join.pop()
            elif join.this is item:
                if from_.this is tf:
                    join.pop()
                else:
                    join.set("this", table)
        if from_.this is tf or from_.this is item:
            from_.set("this", table)
        if new_alias.upper() != (source.alias or "").upper():
            for column in select.find_all(exp.Column):
                if column.table and column.table.upper() == source.alias.upper():
                    column.set("table", exp.to_identifier(new_alias))


# --- rewriting model calls -----------------------------------------------------------------------------------
def replace_call(call: ModelCall, value: exp.Expression, statement: str) -> None:
    """Put `value` (the call's STRUCT) where the call was; `:name` / `['name']` become field accesses."""
    node = call.node
    parent = node.parent
    if isinstance(parent, exp.JSONExtract) and parent.this is node:
        path = parent.expression
        keys = path.expressions if isinstance(path, exp.JSONPath) else []
        parent.replace(_field_access(value, keys, call.target, statement, parent))
    elif isinstance(parent, exp.Bracket) and parent.this is node and len(parent.expressions) == 1 \
            and isinstance(parent.expressions[0], exp.Literal) and parent.expressions[0].is_string:
        key = exp.JSONPathKey(this=parent.expressions[0].this)
        parent.replace(_field_access(value, [key], call.target, statement, parent))
    else:
        node.replace(value)


def _field_access(value: exp.Expression, keys: list, target: Target, statement: str,
                  where: exp.Expression) -> exp.Expression:
    result = value
    first = True
    for key in keys:
        if isinstance(key, exp.JSONPathRoot):
            continue
        if isinstance(key, exp.JSONPathKey):
            name = str(key.this)
            if first:
                output = target.output(name)
                if output is None:
                    raise SqlError(f"{target.label} has no output {name}; its OBJECT has the keys "
                                   f"{', '.join(target.output_names)}.", sql=statement, position=position(where))
                name = output.name
            result = exp.Anonymous(this="struct_extract", expressions=[result, exp.Literal.string(name)])
        elif isinstance(key, exp.JSONPathSubscript) and isinstance(key.this, int):
            result = exp.Anonymous(this="list_extract", expressions=[result, exp.Literal.number(key.this + 1)])
        else:
            raise SqlError(f"This path into the OBJECT of {target.label} is not supported: use :name, "
                           ":name.sub or :name[0].", sql=statement, position=position(where))
        first = False
    return result


def _exclude_from_stars(select: exp.Select, internal: list[str]) -> None:
    """`SELECT *` must not show the columns the engine added."""
    if not internal:
        return
    for projection in select.expressions:
        star = projection if isinstance(projection, exp.Star) else (
            projection.this if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star) else None)
        if star is not None:
            excluded = list(star.args.get("except_") or [])
            star.set("except_", excluded + [exp.column(n, quoted=True) for n in internal])


def _inside(node: exp.Expression, ancestor: exp.Expression) -> bool:
    parent = node.parent
    while parent is not None:
        if parent is ancestor:
            return True
        parent = parent.parent
    return False


def _bindable(value: Any) -> Any:
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        return item()  # numpy scalars
    return value


def _signature(n: int):
    import inspect

    return inspect.Signature([inspect.Parameter(f"a{i}", inspect.Parameter.POSITIONAL_ONLY) for i in range(n)])


# --- types of a method's OBJECT --------------------------------------------------------------------------------
def struct_type(target: Target) -> pa.DataType:
    """The Arrow STRUCT a scalar method returns, from its signature's outputs."""
    fields = []
    for spec in target.signature.outputs:
        base = _ARROW.get(spec.dtype.name, pa.string()) if isinstance(spec, FeatureSpec) else pa.string()
        for _ in spec.shape or ():
            base = pa.list_(base)
        fields.append(pa.field(spec.name, base))
    return pa.struct(fields)


_ARROW = {
    "INT8": pa.int8(), "INT16": pa.int16(), "INT32": pa.int32(), "INT64": pa.int64(),
    "UINT8": pa.uint8(), "UINT16": pa.uint16(), "UINT32": pa.uint32(), "UINT64": pa.uint64(),
    "FLOAT": pa.float64(), "DOUBLE": pa.float64(), "BOOL": pa.bool_(), "STRING": pa.string(),
    "BYTES": pa.binary(), "TIMESTAMP_NTZ": pa.timestamp("us"), "OBJECT": pa.string(),
}

_DUCK = {
    pa.int8(): "TINYINT", pa.int16(): "SMALLINT", pa.int32(): "INTEGER", pa.int64(): "BIGINT",
    pa.uint8(): "UTINYINT", pa.uint16(): "USMALLINT", pa.uint32(): "UINTEGER", pa.uint64(): "UBIGINT",
    pa.float64(): "DOUBLE", pa.bool_(): "BOOLEAN", pa.string(): "VARCHAR", pa.binary(): "BLOB",
    pa.timestamp("us"): "TIMESTAMP",
}


def _duck(t: pa.DataType) -> duckdb.DuckDBPyType:
    """DuckDB's type for an Arrow type, built from parts: output names are data, never parsed as SQL."""
    if pa.types.is_struct(t):
        return duckdb.struct_type({f.name: _duck(f.type) for f in t})
    if pa.types.is_list(t):
        return duckdb.list_type(_duck(t.value_type))
    return duckdb.sqltype(_DUCK[t])
