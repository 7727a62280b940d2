"""Model DDL and DCL in a `%%mreg` cell, run on the same registry objects as the Python API.

    SHOW MODELS [LIKE '...'] [IN ACCOUNT | DATABASE [db] | SCHEMA [db.]s]
    SHOW VERSIONS [LIKE '...'] IN MODEL m           SHOW FUNCTIONS [LIKE '...'] IN MODEL m [VERSION v]
    DESCRIBE MODEL m
    ALTER MODEL [IF EXISTS] m SET COMMENT = '...' | DEFAULT_VERSION = v | TAG t = '...' [, ...]
    ALTER MODEL m UNSET COMMENT | TAG t [, ...]
    ALTER MODEL m VERSION v SET ALIAS = a           ALTER MODEL m VERSION a UNSET ALIAS
    ALTER MODEL m MODIFY VERSION v SET COMMENT = '...' | METADATA = '{json}'   (UNSET COMMENT | METADATA)
    ALTER MODEL m RENAME TO n                       ALTER MODEL m DROP VERSION v
    ALTER MODEL m ADD VERSION v FROM MODEL src [VERSION sv]
    CREATE [OR REPLACE] MODEL [IF NOT EXISTS] n [WITH VERSION v] FROM MODEL m [VERSION sv]
    DROP MODEL [IF EXISTS] m
    USE DATABASE d | USE SCHEMA [d.]s | USE ROLE r | USE WAREHOUSE w | USE [d.]s
    GRANT/REVOKE <privileges> ON MODEL m | SCHEMA s | ALL/FUTURE MODELS IN SCHEMA s TO/FROM ROLE r

`run(statement, ctx)` returns what Snowflake returns: the SHOW table (the columns of `show_models()` /
`show_versions()`, and Snowflake's for SHOW FUNCTIONS) or a one-row `status` DataFrame. Names follow
Snowflake's identifier rules and resolve in the session's current database and schema. A mistake is a
`SqlError` pointing at the name or token at fault. On a read-only registry only SHOW, DESCRIBE and USE
run; every other statement raises `ReadOnlyError` before it looks anything up.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

from jupyter_mreg.errors import MregError, NotFoundError
from jupyter_mreg.registry import catalog_reads, changes
from jupyter_mreg.registry.catalog_reads import SHOW_MODELS_COLUMNS, SYSTEM_ALIASES
from jupyter_mreg.registry.identifiers import QualifiedName, resolved, to_identifier
from jupyter_mreg.registry.metadata import checked_metadata
from jupyter_mreg.sql import ddl_parse as p
from jupyter_mreg.sql.context import SqlContext
from jupyter_mreg.sql.errors import SqlError, unqualified_model_message

OK = "Statement executed successfully."
SHOW_FUNCTIONS_COLUMNS = ["created_on", "name", "version_name", "min_num_arguments", "max_num_arguments",
                          "arguments", "return_type", "description", "language", "is_table_function"]


class GrantNotEnforcedWarning(UserWarning):
    """A GRANT/REVOKE was accepted, but roles and privileges are not enforced yet."""


def run(statement: str, ctx: SqlContext) -> pd.DataFrame | None:
    """Run one DDL/DCL statement; see the module docstring for the forms."""
    node = p.parse(statement, ctx.params)
    if type(node) not in READS:
        changes.require_writable(ctx.session)
    return HANDLERS[type(node)](node, _Exec(statement, ctx))


def _status(message: str = OK) -> pd.DataFrame:
    return pd.DataFrame({"status": [message]})


class _Exec:
    """One statement's execution: the context, and errors placed at a position of the statement."""

    def __init__(self, sql: str, ctx: SqlContext) -> None:
        self.sql, self.ctx, self.session = sql, ctx, ctx.session

    def error(self, message: str, position: int | None) -> SqlError:
        return SqlError(message, sql=self.sql, position=position)

    @contextlib.contextmanager
    def at(self, position: int):
        """Turn a registry error (NotFoundError, AlreadyExistsError, ...) into a SqlError at `position`."""
        try:
            yield
        except SqlError:
            raise
        except MregError as exc:
            raise self.error(str(exc), position) from None

    # --- names --------------------------------------------------------------------------------------
    def qualify(self, name: p.Name) -> QualifiedName:
        parts = name.parts
        if len(parts) == 1:
            return QualifiedName(self.ctx.database, self.ctx.schema, parts[0])
        if len(parts) == 2:
            return QualifiedName(self.ctx.database, parts[0], parts[1])
        return QualifiedName(*parts)

    def schema_of(self, name: p.Name) -> tuple[str, str]:
        """`[db.]schema` → (database, schema)."""
        return (name.parts[0], name.parts[1]) if len(name.parts) == 2 else (self.ctx.database, name.parts[0])

    def require_database(self, database: str, position: int) -> None:
        names = catalog_reads.database_names(self.session)
        if database not in names:
            raise self.error(f"Database {database} does not exist.{_hint(database, names, 'Databases')}", position)

    def require_schema(self, database: str, schema: str, position: int, prefix: str = "") -> None:
        if catalog_reads.schema_exists(self.session, database, schema):
            return
        databases = catalog_reads.database_names(self.session)
        schemas = [s for _, s in catalog_reads.schema_names(self.session, database)]
        if database not in databases:
            message = f"database {database} does not exist.{_hint(database, databases, 'Databases')}"
        else:
            message = f"schema {database}.{schema} does not exist.{_hint(schema, schemas, f'Schemas of {database}')}"
        raise self.error(prefix + message if prefix else message[0].upper() + message[1:], position)

    def registry(self, qn: QualifiedName, position: int, prefix: str = ""):
        self.require_schema(qn.database, qn.schema, position, prefix)
        return self.ctx.registry(qn.database, qn.schema)

    # --- models and versions ------------------------------------------------------------------------
    def model(self, name: p.Name, *, if_exists: bool = False):
        """The model `name` names; None if it does not exist and `if_exists`."""
        qn = self.qualify(name)
        schema_exists = catalog_reads.schema_exists(self.session, qn.database, qn.schema)
        if not schema_exists and if_exists:
            return None
        if len(name.parts) == 1:  # looked for in the current schema: say so, and where the name does exist
            try:
                return self.ctx.registry(qn.database, qn.schema).get_model(str(qn))
            except NotFoundError as exc:
                if if_exists:
                    return None
                raise self.error(unqualified_model_message(
                    str(exc), qn.name, qn.database, qn.schema, schema_exists=schema_exists,
                    elsewhere=catalog_reads.model_schemas(self.session, qn.name)), name.start) from None
        if not schema_exists:
            self.require_schema(qn.database, qn.schema, name.start, f"Unable to find model {qn}: ")
        registry = self.ctx.registry(qn.database, qn.schema)
        try:
            return registry.get_model(str(qn))
        except NotFoundError as exc:
            if if_exists:
                return None
            raise self.error(str(exc), name.start) from None

    def version(self, model, name: p.Name | None):
        """The version `name` names (a version name or an alias); the default version when None."""
        if name is None:
            with self.at(0):
                return model.default
        try:
            return model.version(name.last)
        except NotFoundError:
            raise self.error(_missing_version(model, name.last, aliases=True), name.start) from None

    def version_name(self, model, name: p.Name) -> str:
        """`name` as the name of an existing version (not an alias), for DROP VERSION / DEFAULT_VERSION."""
        versions, aliases = _versions_and_aliases(model)
        if name.last in versions:
            return name.last
        if name.last in aliases:
            raise self.error(f"{name.last} is an alias of version {aliases[name.last]} of model "
                             f"{model.fully_qualified_name}, not a version name: name the version, "
                             f"{aliases[name.last]}.", name.start)
        raise self.error(_missing_version(model, name.last, aliases=False), name.start)


def _versions_and_aliases(model) -> tuple[list[str], dict[str, str]]:
    """Version names, oldest first, and alias → version name (system aliases first)."""
    frame = model.show_versions()
    aliases: dict[str, str] = {}
    for version, names in zip(frame["name"], frame["aliases"]):
        for alias in json.loads(names):
            aliases[alias] = version
    order = {a: i for i, a in enumerate(SYSTEM_ALIASES)}
    return list(frame["name"]), dict(sorted(aliases.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))


def _missing_version(model, name: str, *, aliases: bool) -> str:
    versions, alias_map = _versions_and_aliases(model)
    candidates = versions + (list(alias_map) if aliases else [])
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6)
    message = f"Model {model.fully_qualified_name} has no version{' or alias' if aliases else ''} {name}."
    if close:
        message += f" Did you mean {' or '.join(close)}?"
    message += f" Versions: {', '.join(versions) or '(none)'}."
    if aliases:
        message += f" Aliases: {', '.join(f'{a} ({v})' for a, v in alias_map.items()) or '(none)'}."
    return message


def _hint(name: str, candidates: list[str], label: str) -> str:
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6) or difflib.get_close_matches(
        resolved(name).upper(), candidates, n=3, cutoff=0.6)
    if close:
        return f" Did you mean {' or '.join(close)}?"
    if candidates:
        return f" {label}: {', '.join(candidates[:20])}{', ...' if len(candidates) > 20 else ''}."
    return ""


def _string(ex: _Exec, value: p.Value, what: str) -> str:
    if not isinstance(value.value, str):
        raise ex.error(f"{what} must be a string, found {type(value.value).__name__}.", value.start)
    return value.value


class LikePattern:
    """Snowflake's LIKE in SHOW: case-insensitive, `%` any run, `_` one character, `\\` escapes the next
    character (a trailing one escapes nothing).

    The pattern is cut at its `%`s into segments of fixed length; the first must start the name, the last
    end it, and each one between is taken at its leftmost place after the one before (the leftmost place
    never loses a match). No backtracking across `%`s, so a name is matched in time linear in its length
    for a given pattern, whatever the pattern (a regex `.*a.*a...` backtracks exponentially).
    """

    def __init__(self, pattern: str) -> None:
        segments: list[list[str]] = [[]]
        escaped = False
        for ch in pattern:
            if escaped or ch not in "\\%_":
                segments[-1].append(re.escape(ch))
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == "%":
                segments.append([])
            else:
                segments[-1].append(".")
        # Each regex matches exactly len(segment) characters: literals and `.` only.
        self._segments = [(re.compile("".join(s), re.IGNORECASE | re.DOTALL), len(s)) for s in segments]

    def fullmatch(self, text: str) -> bool:
        if len(self._segments) == 1:
            return self._segments[0][0].fullmatch(text) is not None
        (first, at), *middle, (last, last_length) = self._segments
        if first.match(text) is None:
            return False
        for segment, length in middle:
            if length:
                found = segment.search(text, at)
                if found is None:
                    return False
                at = found.end()
        end = len(text) - last_length
        return end >= at and last.match(text, end) is not None


def like_pattern(pattern: str) -> LikePattern:
    """The matcher of a SHOW ... LIKE pattern (see `LikePattern`)."""
    return LikePattern(pattern)


def _filter_like(ex: _Exec, frame: pd.DataFrame, like: p.Value | None) -> pd.DataFrame:
    if like is None:
        return frame.reset_index(drop=True)
    matcher = like_pattern(_string(ex, like, "A LIKE pattern"))
    keep = [matcher.fullmatch(resolved(name)) for name in frame["name"]]
    return frame[keep].reset_index(drop=True)


# --- SHOW / DESCRIBE ------------------------------------------------------------------------------------
def show_models(st: p.ShowModels, ex: _Exec) -> pd.DataFrame:
    session = ex.session
    if st.scope == "SCHEMA":
        database, schema = ex.schema_of(st.scope_name) if st.scope_name else (ex.ctx.database, ex.ctx.schema)
        ex.require_schema(database, schema, st.scope_name.start if st.scope_name else st.scope_start)
        schemas = [(database, schema)]
    else:
        if st.scope == "ACCOUNT":
            schemas = catalog_reads.schema_names(session)
        else:  # IN DATABASE [db], or no IN: the current database, as Snowflake does
            database = st.scope_name.last if st.scope_name else ex.ctx.database
            if st.scope == "DATABASE":
                ex.require_database(database, st.scope_name.start if st.scope_name else st.scope_start)
            schemas = catalog_reads.schema_names(session, database)
    frames = [f for f in (catalog_reads.show_models(session, d, s) for d, s in schemas) if len(f)]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=SHOW_MODELS_COLUMNS)
    return _filter_like(ex, frame, st.like)


def show_versions(st: p.ShowVersions, ex: _Exec) -> pd.DataFrame:
    return _filter_like(ex, ex.model(st.model).show_versions(), st.like)


def show_functions(st: p.ShowFunctions, ex: _Exec) -> pd.DataFrame:
    model = ex.model(st.model)
    mv = ex.version(model, st.version)
    versions = model.show_versions()
    created_on = versions.loc[versions["name"] == mv.version_name, "created_on"].iloc[0]
    rows = [_function_row(created_on, mv.version_name, f) for f in mv.show_functions()]
    frame = pd.DataFrame(rows, columns=SHOW_FUNCTIONS_COLUMNS)
    return _filter_like(ex, frame, st.like)


def _function_row(created_on: Any, version: str, function: dict) -> dict:
    signature = function["signature"]
    arguments = [{"name": s.name, "type": s.sql_type} for s in signature.inputs]
    params = [{"name": s.name, "type": getattr(s, "sql_type", "OBJECT"), "default": getattr(s, "default_value", None)}
              for s in signature.params]
    table = function["target_method_function_type"] == "TABLE_FUNCTION"
    if table:
        columns = ", ".join(f"{_column_name(s.name)} {s.sql_type}" for s in signature.outputs)
        return_type = f"TABLE ({columns})"
    else:
        return_type = "OBJECT"
    return {
        "created_on": created_on, "name": function["name"], "version_name": version,
        "min_num_arguments": len(arguments), "max_num_arguments": len(arguments) + len(params),
        "arguments": json.dumps(arguments + params, default=str), "return_type": return_type,
        "description": function["target_method"], "language": "PYTHON", "is_table_function": table,
    }


def _column_name(name: str) -> str:
    """A table function's output column as SQL names it: an unquoted identifier resolves to upper case."""
    return name.upper() if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", name) else to_identifier(name)


def describe_model(st: p.DescribeModel, ex: _Exec) -> pd.DataFrame:
    model = ex.model(st.model)
    qn = ex.qualify(st.model)
    frame = catalog_reads.show_models(ex.session, qn.database, qn.schema)
    return frame[frame["name"] == model.name].reset_index(drop=True)


# --- ALTER MODEL ----------------------------------------------------------------------------------------
def _altered(handler: Callable) -> Callable:
    """ALTER MODEL [IF EXISTS]: find the model (nothing to do when it is missing and IF EXISTS), then act."""

    def run_alter(st: p.AlterModel, ex: _Exec) -> pd.DataFrame:
        model = ex.model(st.model, if_exists=st.if_exists)
        if model is None:
            return _status()
        return handler(st, ex, model) or _status()

    run_alter.__name__ = handler.__name__
    return run_alter


@_altered
def set_model_properties(st: p.SetModelProperties, ex: _Exec, model) -> None:
    comment = _string(ex, st.comment, "COMMENT") if st.comment is not None else None
    default = ex.version_name(model, st.default_version) if st.default_version is not None else None
    if st.comment is not None:
        with ex.at(st.comment.start):
            model.comment = comment
    if default is not None:
        with ex.at(st.default_version.start):
            model.default = default


@_altered
def unset_model_comment(st: p.UnsetModelComment, ex: _Exec, model) -> None:
    with ex.at(st.model.start):
        model.comment = None


@_altered
def set_tags(st: p.SetTags, ex: _Exec, model) -> None:
    values = [(tag, _string(ex, value, f"The value of tag {tag}")) for tag, value in st.tags]
    for tag, value in values:
        with ex.at(tag.start):
            model.set_tag(str(tag), value)


@_altered
def unset_tags(st: p.UnsetTags, ex: _Exec, model) -> None:
    for tag in st.tags:
        try:
            model.unset_tag(str(tag))
        except NotFoundError as exc:
            tags = list(model.show_tags())
            raise ex.error(f"{exc}{_hint(str(tag), tags, 'Tags set on it')}" if tags else
                           f"{exc} It has no tags.", tag.start) from None
        except MregError as exc:
            raise ex.error(str(exc), tag.start) from None


@_altered
def set_alias(st: p.SetAlias, ex: _Exec, model) -> None:
    mv = ex.version(model, st.version)
    with ex.at(st.alias.start):
        mv.set_alias(st.alias.last)


@_altered
def unset_alias(st: p.UnsetAlias, ex: _Exec, model) -> None:
    """`VERSION a UNSET ALIAS` removes alias `a` (Snowflake names the alias); given a version name, it
    removes that version's user aliases."""
    name = st.version_or_alias.last
    if name in SYSTEM_ALIASES:
        raise ex.error(f"{name} is a system alias ({', '.join(SYSTEM_ALIASES)}): it cannot be unset. "
                       "Name a user alias, e.g. ALTER MODEL m VERSION production UNSET ALIAS.",
                       st.version_or_alias.start)
    mv = ex.version(model, st.version_or_alias)
    user = [a for a in mv.aliases if a not in SYSTEM_ALIASES]
    if name != mv.version_name:  # an alias
        user = [name]
    elif not user:
        raise ex.error(f"Version {name} of model {model.fully_qualified_name} has no alias to unset.",
                       st.version_or_alias.start)
    with ex.at(st.version_or_alias.start):
        for alias in user:
            mv.unset_alias(alias)


@_altered
def modify_version(st: p.ModifyVersion, ex: _Exec, model) -> None:
    mv = ex.version(model, st.version)
    comment = _string(ex, st.comment, "COMMENT") if st.comment is not None else None
    metadata = metadata_object(ex, st.metadata) if st.metadata is not None else None
    if "METADATA" in st.unset:
        metadata = {}
    if metadata is not None:  # SET METADATA replaces the whole JSON, as in Snowflake
        with ex.at(st.version.start):
            changes.set_metadata(ex.session, ex.qualify(st.model), mv.version_name, metadata)
    if st.comment is not None or "COMMENT" in st.unset:
        with ex.at(st.version.start):
            mv.comment = comment


def metadata_object(ex: _Exec, value: p.Value) -> dict:
    """The JSON object of `SET METADATA = '...'` (or a dict bound with `:name`), checked so that
    `show_metrics()` can read it back."""
    raw = value.value
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ex.error(f"METADATA is not valid JSON: {exc.msg} (character {exc.pos + 1} of the string).",
                           value.start) from None
    elif not isinstance(raw, dict):
        raise ex.error(f"METADATA must be a JSON object string, found {type(raw).__name__}.", value.start)
    with ex.at(value.start):
        return checked_metadata(raw)


@_altered
def rename_model(st: p.RenameModel, ex: _Exec, model) -> None:
    target = st.new_name
    if len(target.parts) > 1:  # a move: the target schema must exist, as in Snowflake
        database = target.parts[0] if len(target.parts) == 3 else ex.qualify(st.model).database
        ex.require_schema(database, target.parts[-2], target.start)
    with ex.at(target.start):
        model.rename(str(target))


@_altered
def drop_version(st: p.DropVersion, ex: _Exec, model) -> None:
    name = ex.version_name(model, st.version)
    default = model.default.version_name
    if name == default:
        others = [v for v in _versions_and_aliases(model)[0] if v != name]
        fix = (f"make another version the default first (ALTER MODEL {model.name} SET DEFAULT_VERSION = "
               f"{others[-1]}), or drop" if others else "drop")
        raise ex.error(f"Version {name} is the default version of model {model.fully_qualified_name} and "
                       f"cannot be dropped: {fix} the whole model (DROP MODEL {model.name}).", st.version.start)
    with ex.at(st.version.start):
        model.delete_version(name)


@_altered
def add_version(st: p.AddVersion, ex: _Exec, model) -> None:
    source = ex.version(ex.model(st.source), st.source_version)
    versions, aliases = _versions_and_aliases(model)
    if st.version.last in versions or st.version.last in aliases:
        what = "a version" if st.version.last in versions else f"an alias (of {aliases[st.version.last]})"
        raise ex.error(f"Model {model.fully_qualified_name} already has {what} named {st.version.last}. "
                       f"Versions: {', '.join(versions)}.", st.version.start)
    qn = ex.qualify(st.model)
    with ex.at(st.version.start):
        ex.ctx.registry(qn.database, qn.schema).log_model(source, model_name=str(qn), version_name=st.version.last)


# --- CREATE / DROP MODEL --------------------------------------------------------------------------------
def create_model(st: p.CreateModel, ex: _Exec) -> pd.DataFrame:
    qn = ex.qualify(st.model)
    registry = ex.registry(qn, st.model.start, f"Cannot create model {qn}: ")
    existing = ex.model(st.model, if_exists=True)
    if existing is not None and st.if_not_exists:
        return _status(f"{qn.name} already exists, statement succeeded.")
    if existing is not None and not st.or_replace:
        raise ex.error(f"Model {qn} already exists. Use CREATE OR REPLACE MODEL to replace it, or ALTER MODEL "
                       f"{qn.name} ADD VERSION <v> FROM MODEL ... to add a version to it.", st.model.start)
    source_model = ex.model(st.source)
    source = ex.version(source_model, st.source_version)
    if existing is not None and source_model == existing:
        raise ex.error(f"CREATE OR REPLACE MODEL {qn.name} cannot copy from the model it replaces: copy it "
                       "under another name first, or use ALTER MODEL ... ADD VERSION.", st.source.start)
    version = st.version.last if st.version is not None else source.version_name
    if existing is not None:
        with ex.at(st.model.start):
            registry.delete_model(str(qn))
    with ex.at(st.version.start if st.version is not None else st.model.start):
        registry.log_model(source, model_name=str(qn), version_name=version)
    return _status(f"Model {qn.name} successfully created.")


def drop_model(st: p.DropModel, ex: _Exec) -> pd.DataFrame:
    model = ex.model(st.model, if_exists=st.if_exists)
    qn = ex.qualify(st.model)
    if model is None:
        return _status(f"Drop statement executed successfully ({qn.name} already dropped).")
    with ex.at(st.model.start):
        ex.ctx.registry(qn.database, qn.schema).delete_model(str(qn))
    return _status(f"{qn.name} successfully dropped.")


# --- USE ------------------------------------------------------------------------------------------------
def use(st: p.Use, ex: _Exec) -> pd.DataFrame:
    session, name = ex.session, st.name
    if st.kind == "DATABASE":
        ex.require_database(name.last, name.start)
        session.use_database(name.last)
        session.use_schema("PUBLIC")  # as Snowflake: a new current database starts in its PUBLIC schema
    elif st.kind == "SCHEMA":
        database, schema = ex.schema_of(name)
        ex.require_schema(database, schema, name.start)
        session.use_database(database)
        session.use_schema(schema)
    elif st.kind == "ROLE":
        session.use_role(name.last)
    # WAREHOUSE: models run in this kernel; accepted so Snowflake scripts run unchanged
    return _status()


# --- GRANT / REVOKE -------------------------------------------------------------------------------------
def grant(st: p.Grant, ex: _Exec) -> pd.DataFrame:
    if st.on == "MODEL":
        target = f"MODEL {ex.model(st.target).fully_qualified_name}"
    elif st.on == "SCHEMA":
        database, schema = ex.schema_of(st.target)
        ex.require_schema(database, schema, st.target.start)
        target = f"SCHEMA {database}.{schema}"
    else:
        ex.require_database(st.target.last, st.target.start)
        target = f"DATABASE {st.target.last}"
    if st.models:
        target = f"{st.models} MODELS IN {target}"
    verb, direction = ("REVOKE", "FROM") if st.revoke else ("GRANT", "TO")
    warnings.warn(
        f"{verb} {', '.join(st.privileges)} ON {target} {direction} ROLE {st.role.last} was accepted but has no "
        "effect yet: jupyter_mreg does not enforce roles and privileges until access control is implemented, "
        "so every role can still use and change every model.", GrantNotEnforcedWarning, stacklevel=2)
    return _status()


# Statement forms → handlers (the grammar of each form is in ddl_parse).
HANDLERS: dict[type, Callable[[Any, _Exec], pd.DataFrame]] = {
    p.ShowModels: show_models,
    p.ShowVersions: show_versions,
    p.ShowFunctions: show_functions,
    p.DescribeModel: describe_model,
    p.SetModelProperties: set_model_properties,
    p.UnsetModelComment: unset_model_comment,
    p.SetTags: set_tags,
    p.UnsetTags: unset_tags,
    p.SetAlias: set_alias,
    p.UnsetAlias: unset_alias,
    p.ModifyVersion: modify_version,
    p.RenameModel: rename_model,
    p.DropVersion: drop_version,
    p.AddVersion: add_version,
    p.CreateModel: create_model,
    p.DropModel: drop_model,
    p.Use: use,
    p.Grant: grant,
}
# The forms that change nothing in the registry (USE changes only the session); the others are refused on a
# read-only one.
READS = frozenset({p.ShowModels, p.ShowVersions, p.ShowFunctions, p.DescribeModel, p.Use})
