"""Model calls in a query, bound to the registry: which version, which method, which arguments.

`M!METHOD(args)` names its model as `M`, `SCHEMA.M`, `DB.SCHEMA.M`, `MODEL(m[, version])` or the alias of a
`WITH a AS MODEL m [VERSION v]` CTE. Unquoted names fold to upper case, `"quoted"` ones keep their case (the
registry's identifier rules). Arguments: `*` is the method's signature inputs, found by name
(case-insensitively) among the source's columns; positional arguments follow the signature's order;
`name => value` sets a param. Identical calls share one result slot.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from jupyter_mreg.errors import MregError
from jupyter_mreg.inference.runner import select_method
from jupyter_mreg.model.model_signature import ModelSignature
from jupyter_mreg.registry import catalog_reads
from jupyter_mreg.registry.identifiers import parse_identifier, to_identifier
from jupyter_mreg.sql.dialect import ModelRef, position
from jupyter_mreg.sql.errors import SqlError, unqualified_model_message

if TYPE_CHECKING:
    from jupyter_mreg.model.packaging.manifest import MethodInfo


@dataclass
class Target:
    """One method of one model version."""

    version: Any  # jupyter_mreg.registry.ModelVersion
    method: MethodInfo

    @property
    def label(self) -> str:
        return f"{self.version.fully_qualified_model_name}!{self.method.name}"

    @property
    def key(self) -> tuple:
        return (self.version.fully_qualified_model_name, self.version.version_name, self.method.name)

    @cached_property
    def signature(self) -> ModelSignature:
        return ModelSignature.from_dict(self.method.signature)

    @property
    def inputs(self) -> list:
        return list(self.signature.inputs)

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.signature.outputs]

    @property
    def is_table_function(self) -> bool:
        return self.method.function_type == "TABLE_FUNCTION"

    @property
    def is_partitioned(self) -> bool:
        return self.method.is_partitioned

    def output(self, name: str) -> Any:
        """The output spec `:name` reaches (exactly, else ignoring case, as an unquoted key), or None."""
        outputs = self.signature.outputs
        exact = [o for o in outputs if o.name == name] or [o for o in outputs if o.name.upper() == name.upper()]
        return exact[0] if exact else None

    def describe_inputs(self) -> str:
        return ", ".join(f"{f.name} {getattr(f, 'sql_type', 'OBJECT')}" for f in self.inputs)


@dataclass
class ModelCall:
    """One `M!METHOD(...)` in the tree. `args` holds one expression per signature input once bound."""

    node: exp.ModelAttribute
    target: Target
    func: exp.Expression  # the method call (exp.Anonymous)
    window: exp.Window | None = None
    args: list[exp.Expression] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    slot: str | None = None

    @property
    def position(self) -> int | None:
        return position(self.node)


def take_model_ctes(tree: exp.Expression) -> dict[str, ModelRef]:
    """Remove every `WITH a AS MODEL m [VERSION v]` from the tree; `{identifier form of a: ModelRef}`."""
    found: dict[str, ModelRef] = {}
    for cte in list(tree.find_all(exp.CTE)):
        if isinstance(cte.this, ModelRef):
            found[_ident(cte.args["alias"].this)] = cte.this
            with_ = cte.parent
            cte.pop()
            if isinstance(with_, exp.With) and not with_.expressions:
                with_.pop()
    return found


def _ident(node: exp.Expression) -> str:
    """The identifier form of one name node (`abc` → ABC, `"abc"` → "abc")."""
    if isinstance(node, exp.Identifier):
        return to_identifier(node.this) if node.quoted else parse_identifier(node.this)
    if isinstance(node, exp.Literal) and node.is_string:
        return parse_identifier(node.this)
    if isinstance(node, (exp.Column, exp.Var)) and not isinstance(node.this, exp.Star):
        inner = node.this
        return _ident(inner) if isinstance(inner, exp.Expression) else parse_identifier(str(inner))
    raise ValueError(f"not a name: {node.sql()}")


def _parts(node: exp.Expression) -> list[exp.Expression]:
    """The name parts of `a`, `a.b`, `a.b.c` (Identifier, Dot chain, Column or Table)."""
    if isinstance(node, exp.Dot):
        return _parts(node.this) + _parts(node.expression)
    if isinstance(node, (exp.Column, exp.Table)):
        return [p for p in node.parts]
    return [node]


class Resolver:
    """Finds the `Target` of each model call; one registry lookup per distinct (model, version, method)."""

    def __init__(self, ctx: Any, statement: str, model_ctes: dict[str, ModelRef]) -> None:
        self.ctx = ctx
        self.statement = statement
        self.model_ctes = model_ctes
        self._versions: dict[tuple, Any] = {}

    def error(self, message: str, node: exp.Expression | None) -> SqlError:
        return SqlError(message, sql=self.statement, position=position(node))

    def call(self, node: exp.ModelAttribute, *, in_table: bool) -> ModelCall:
        func, window = node.expression, None
        if isinstance(func, exp.Window):
            func, window = func.this, func
        if not isinstance(func, exp.Anonymous):
            raise self.error(f"Expected a method call after '!', e.g. M!PREDICT(*); found {func.sql()}.", func)
        version = self._version(node.this)
        target = self._method(version, func)
        if window is not None and not in_table:
            raise self.error(f"{target.label} with OVER (...) is a table function call: write it in FROM as "
                             f"TABLE({node.this.sql()}!{_method_text(func)}(...) OVER (PARTITION BY ...)).", window)
        if in_table and not target.is_table_function:
            raise self.error(
                f"{target.label} is a FUNCTION, which returns one OBJECT per row: call it in the SELECT list "
                f"(SELECT {node.this.sql()}!{_method_text(func)}(...) FROM t), not in TABLE(...).", func)
        if not in_table and target.is_table_function:
            raise self.error(
                f"{target.label} is a TABLE_FUNCTION: call it in FROM, e.g. SELECT * FROM t, "
                f"TABLE({node.this.sql()}!{_method_text(func)}(t.a, ...)"
                + (" OVER (PARTITION BY t.key))." if target.is_partitioned else ")."), func)
        if in_table and target.is_partitioned and (window is None or not window.args.get("partition_by")):
            raise self.error(f"{target.label} is partitioned: add OVER (PARTITION BY <column>) inside TABLE(...) to "
                             "say which column splits the rows into partitions, or OVER (PARTITION BY 1) to run "
                             "all rows as one partition.", func)
        return ModelCall(node=node, target=target, func=func, window=window)

    # --- model and version -------------------------------------------------------------------------------
    def _version(self, ref: exp.Expression) -> Any:
        name_node, version_node = ref, None
        if isinstance(ref, exp.Anonymous) and str(ref.this).upper() == "MODEL":
            if not 1 <= len(ref.expressions) <= 2:
                raise self.error("MODEL(...) takes the model name and optionally a version or alias: "
                                 "MODEL(m) or MODEL(m, v1).", ref)
            name_node = ref.expressions[0]
            version_node = ref.expressions[1] if len(ref.expressions) == 2 else None
        parts = _parts(name_node)
        if len(parts) == 1 and version_node is None and not isinstance(ref, exp.Anonymous):
            alias = self._try_ident(parts[0])
            if alias in self.model_ctes:
                model_ref = self.model_ctes[alias]
                parts = _parts(model_ref.this)
                version_node = model_ref.args.get("version")
                name_node = model_ref.this
        try:
            idents = [_ident(p) for p in parts]
        except (ValueError, MregError):
            raise self.error(f"{name_node.sql()} is not a model name: write M, SCHEMA.M or DATABASE.SCHEMA.M, "
                             "or MODEL(m, version).", name_node) from None
        if not 1 <= len(idents) <= 3:
            raise self.error(f"{name_node.sql()} has too many parts for a model name (DATABASE.SCHEMA.M).", name_node)
        database = idents[-3] if len(idents) == 3 else self.ctx.database
        schema = idents[-2] if len(idents) >= 2 else self.ctx.schema
        name = idents[-1]
        version = self._ident_or_error(version_node) if version_node is not None else None
        key = (database, schema, name, version)
        if key in self._versions:
            return self._versions[key]
        try:
            registry = self.ctx.registry(database, schema)
            model = registry.get_model(name)
        except MregError as exc:
            message = str(exc)
            if name.startswith('"') and "Did you mean" in message:
                message += f" Quoted names are case-sensitive: {name} is not {name.strip(chr(34)).upper()}."
            if len(idents) == 1:
                session = self.ctx.session
                message = unqualified_model_message(
                    message, name, database, schema, elsewhere=catalog_reads.model_schemas(session, name),
                    schema_exists=catalog_reads.schema_exists(session, database, schema))
            raise self.error(message, name_node) from None
        try:
            mv = model.version(version) if version is not None else model.default
        except MregError as exc:
            raise self.error(str(exc), version_node if version_node is not None else name_node) from None
        self._versions[key] = mv
        return mv

    def _try_ident(self, node: exp.Expression) -> str | None:
        try:
            return _ident(node)
        except (ValueError, MregError):
            return None

    def _ident_or_error(self, node: exp.Expression) -> str:
        try:
            return _ident(node)
        except (ValueError, MregError):
            raise self.error(f"{node.sql()} is not a version name or alias (e.g. V1, LAST, PRODUCTION).",
                             node) from None

    def _method(self, mv: Any, func: exp.Anonymous) -> Target:
        raw = func.this
        if isinstance(raw, exp.Identifier):
            name = to_identifier(raw.this) if raw.quoted else raw.this.upper()
        else:
            name = str(raw).upper()  # unquoted names fold to upper case, as in Snowflake
        where = f"{mv.fully_qualified_model_name} version {mv.version_name}"
        try:
            manifest = mv.manifest
        except MregError as exc:
            raise self.error(str(exc), func) from None
        try:
            method = select_method(manifest.methods, name, where)
        except MregError as exc:
            message = str(exc)
            spelled = raw.this if isinstance(raw, exp.Identifier) else str(raw)
            quoted = [m.name for m in manifest.methods if m.name.startswith('"')
                      and m.name.strip('"').upper() == spelled.upper()]
            if quoted:
                message += f" Method names in double quotes are case-sensitive: write {quoted[0]}."
            raise self.error(message, func) from None
        return Target(version=mv, method=method)


def _method_text(func: exp.Anonymous) -> str:
    raw = func.this
    return raw.sql() if isinstance(raw, exp.Identifier) else str(raw)


# --- arguments ---------------------------------------------------------------------------------------------
def bind_args(call: ModelCall, columns: list[str] | None, source: str, statement: str, params: dict) -> None:
    """Fill `call.args` (one expression per signature input) and `call.params`.

    `columns` are the source's column names (None when unknown, e.g. over a join: then `*` names the
    signature's inputs and DuckDB finds them); `source` names the source in messages.
    """
    target = call.target
    inputs = target.inputs
    positional: list[exp.Expression] = []
    for arg in call.func.expressions:
        if isinstance(arg, (exp.Kwarg, exp.PropertyEQ)) and not isinstance(arg, exp.Star):
            key = arg.this.name if isinstance(arg.this, exp.Expression) else str(arg.this)
            call.params[key] = _constant(arg.expression, statement, params, target)
        else:
            positional.append(arg)
    for arg in positional:
        if arg.find(exp.ModelAttribute):
            raise SqlError(f"An argument of {target.label} calls another model: compute that call in a CTE or "
                           "subquery first and pass its column.", sql=statement, position=position(arg))
    stars = [a for a in positional if _is_star(a)]
    if stars:
        if len(positional) != 1:
            raise SqlError(f"{target.label}(*) takes * alone: write either * or the {len(inputs)} columns "
                           f"({target.describe_inputs()}).", sql=statement, position=position(stars[0]))
        call.args = _expand_star(positional[0], target, columns, source, statement)
        return
    if len(positional) != len(inputs):
        where = positional[len(inputs)] if len(positional) > len(inputs) else call.func
        raise SqlError(
            f"{target.label} takes {len(inputs)} argument{'s' if len(inputs) != 1 else ''} "
            f"({target.describe_inputs()}), but {len(positional)} {'were' if len(positional) != 1 else 'was'} "
            f"given. Pass them in this order, or use * to pass the columns with these names.",
            sql=statement, position=position(where))
    call.args = positional


def _is_star(arg: exp.Expression) -> bool:
    return isinstance(arg, exp.Star) or (isinstance(arg, exp.Column) and isinstance(arg.this, exp.Star))


def _expand_star(star: exp.Expression, target: Target, columns: list[str] | None, source: str,
                 statement: str) -> list[exp.Expression]:
    table = star.args.get("table") if isinstance(star, exp.Column) else None
    node = star.this if isinstance(star, exp.Column) else star
    names = [f.name for f in target.inputs]
    if columns is None:
        return [exp.column(n, table=table.copy() if table else None, quoted=True) for n in names]
    excluded = {e.name.upper() for e in node.args.get("except_") or []}
    available = [c for c in columns if c.upper() not in excluded]
    out = []
    for name in names:
        exact = [c for c in available if c == name]
        folded = [c for c in available if c.upper() == name.upper()]
        hits = exact or folded
        if len(hits) != 1:
            if hits:
                problem = f"matches more than one column ({', '.join(hits)}): column names match case-insensitively"
            else:
                close = difflib.get_close_matches(name.upper(), [c.upper() for c in available], n=1, cutoff=0.7)
                hint = f" Did you mean {next(c for c in available if c.upper() == close[0])}?" if close else ""
                problem = (f"does not exist in {source}. Columns: {_listing(available)}.{hint}")
            raise SqlError(f"{target.label}(*) needs the input column {name}, which {problem} Rename the column, "
                           f"or pass the columns in signature order ({target.describe_inputs()}).",
                           sql=statement, position=position(star))
        out.append(exp.column(hits[0], table=table.copy() if table else None, quoted=True))
    return out


def _listing(names: list[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "") if names else "(none)"


def _constant(node: exp.Expression, statement: str, params: dict, target: Target) -> Any:
    """The Python value of a param argument (`name => 0.5`): a literal, TRUE/FALSE/NULL or a `:bind`."""
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        text = node.this
        return float(text) if any(c in text for c in ".eE") else int(text)
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return -_constant(node.this, statement, params, target)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Placeholder) and node.this in params:
        return params[node.this]
    raise SqlError(f"A param of {target.label} must be a constant (a number, string, TRUE/FALSE or :name); found "
                   f"{node.sql()}.", sql=statement, position=position(node))


def dedupe(calls: list[ModelCall], slot_names) -> list[ModelCall]:
    """Give identical calls one shared slot (from `slot_names`, an iterator); the distinct calls, in order."""
    distinct: dict[tuple, ModelCall] = {}
    for call in calls:
        key = (call.target.key, tuple(_normal(a) for a in call.args), tuple(sorted(call.params.items(), key=str)),
               call.window.sql() if call.window is not None else None)
        if key in distinct:
            call.slot = distinct[key].slot
        else:
            call.slot = next(slot_names)
            distinct[key] = call
    return list(distinct.values())


def _normal(arg: exp.Expression) -> Any:
    """An argument's SQL with names case-folded and unquoted (DuckDB matches names case-insensitively), so
    `*`'s `"age"` and a written `AGE` are the same argument."""
    if isinstance(arg, exp.Column) and isinstance(arg.this, exp.Identifier):
        return ("column", arg.table.upper(), arg.name.upper())

    def fold(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Identifier):
            return exp.Identifier(this=node.this.upper(), quoted=False)
        return node

    return arg.copy().transform(fold).sql()
