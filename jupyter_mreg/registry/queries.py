"""Catalog reads shared inside `registry/` (SQLAlchemy Core); private to it.

Every function takes an open connection, so callers decide the transaction: the change path
(`changes.py`) reads its preconditions inside its write transaction. Other packages read through the
registry objects and `registry.catalog_reads`.
"""

from __future__ import annotations

import difflib
import json
from datetime import datetime, timezone

from sqlalchemy import Connection, Row, String, bindparam, select, type_coerce

from jupyter_mreg._version import __version__
from jupyter_mreg.errors import NotFoundError
from jupyter_mreg.model.packaging.manifest import Manifest
from jupyter_mreg.registry.identifiers import QualifiedName
from jupyter_mreg.store import tables as t

SYSTEM_ALIASES = ("DEFAULT", "FIRST", "LAST")


def now() -> datetime:
    """Naive UTC, as the catalog stores times."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def schema_exists(conn: Connection, database: str, schema: str) -> bool:
    found = conn.execute(select(t.schemas.c.name).where(
        t.schemas.c.database_name == database, t.schemas.c.name == schema)).first()
    return found is not None


def schema_names(conn: Connection, database: str | None = None) -> list[tuple[str, str]]:
    """`(database, schema)` of every schema (of `database` only, when given), sorted."""
    query = select(t.schemas.c.database_name, t.schemas.c.name).order_by(t.schemas.c.database_name, t.schemas.c.name)
    if database is not None:
        query = query.where(t.schemas.c.database_name == database)
    return [tuple(row) for row in conn.execute(query)]


def database_names(conn: Connection) -> list[str]:
    return list(conn.execute(select(t.databases.c.name).order_by(t.databases.c.name)).scalars())


def model_row(conn: Connection, qn: QualifiedName) -> Row | None:
    return conn.execute(select(t.models).where(
        t.models.c.database_name == qn.database, t.models.c.schema_name == qn.schema,
        t.models.c.name == qn.name)).first()


def require_model(conn: Connection, qn: QualifiedName) -> Row:
    """The model's row, or `NotFoundError("Unable to find model ...")` with close names as hints."""
    row = model_row(conn, qn)
    if row is not None:
        return row
    names = conn.execute(select(t.models.c.name).where(
        t.models.c.database_name == qn.database, t.models.c.schema_name == qn.schema)).scalars().all()
    raise NotFoundError(f"Unable to find model {qn}.{_hint(qn.name, names)}")


def version_rows(conn: Connection, model_id: int) -> list[Row]:
    """Versions of a model, oldest first: id and name only (manifests can be large)."""
    v = t.versions.c
    return list(conn.execute(select(v.id, v.name).where(v.model_id == model_id).order_by(v.created_on, v.id)))


# Built once: every run() looks its version up, and building the statement cost more than running it.
_VERSION = (select(t.versions).join(t.models, t.versions.c.model_id == t.models.c.id)
            .where(t.models.c.database_name == bindparam("database"), t.models.c.schema_name == bindparam("schema"),
                   t.models.c.name == bindparam("model"), t.versions.c.name == bindparam("version")))
_VERSION_WITH_MANIFEST = _VERSION.add_columns(t.version_manifests.c.manifest).join(
    t.version_manifests, t.version_manifests.c.version_id == t.versions.c.id)


def require_version(conn: Connection, qn: QualifiedName, version: str, *, with_manifest: bool = False) -> Row:
    """A version's row by model and version name in one query (with its `manifest` JSON text when asked);
    `NotFoundError` naming what is missing."""
    row = conn.execute(_VERSION_WITH_MANIFEST if with_manifest else _VERSION,
                       {"database": qn.database, "schema": qn.schema, "model": qn.name, "version": version}).first()
    if row is None:
        require_model(conn, qn)
        raise NotFoundError(f"Unable to find version {version} in model {qn}.")
    return row


def version_files(conn: Connection, version_id: int) -> dict[str, tuple[str, int]]:
    """A version's files: path → (sha256, size)."""
    f = t.version_files.c
    return {path: (sha, size) for path, sha, size in conn.execute(
        select(f.path, f.sha256, f.size).where(f.version_id == version_id))}


def version_row(conn: Connection, model_id: int, name: str) -> Row | None:
    return conn.execute(select(t.versions).where(
        t.versions.c.model_id == model_id, t.versions.c.name == name)).first()


def system_alias_ids(conn: Connection, model: Row) -> dict[str, int]:
    """`{"DEFAULT": id, "FIRST": id, "LAST": id}` for a model with versions."""
    order = (t.versions.c.created_on, t.versions.c.id)
    base = select(t.versions.c.id).where(t.versions.c.model_id == model.id)
    first = conn.execute(base.order_by(*order).limit(1)).scalar()
    last = conn.execute(base.order_by(*(c.desc() for c in order)).limit(1)).scalar()
    found = {"FIRST": first, "LAST": last, "DEFAULT": model.default_version_id}
    return {k: v for k, v in found.items() if v is not None}


def user_aliases(conn: Connection, model_id: int) -> dict[str, int]:
    """User aliases of a model: alias → version id."""
    rows = conn.execute(select(t.aliases.c.alias, t.aliases.c.version_id).where(t.aliases.c.model_id == model_id))
    return {alias: vid for alias, vid in rows}


def resolve_version(conn: Connection, model: Row, qn: QualifiedName, name_or_alias: str) -> Row:
    """A version by alias (user or DEFAULT/FIRST/LAST) first, then by name; `NotFoundError` otherwise."""
    if name_or_alias in SYSTEM_ALIASES:
        target = system_alias_ids(conn, model).get(name_or_alias)
    else:  # one lookup of this alias, not all of them: resolving is on the path of every cold load()
        target = conn.execute(select(t.aliases.c.version_id).where(
            t.aliases.c.model_id == model.id, t.aliases.c.alias == name_or_alias)).scalar()
    if target is not None:
        return conn.execute(select(t.versions).where(t.versions.c.id == target)).first()
    row = version_row(conn, model.id, name_or_alias)
    if row is not None:
        return row
    aliases = {**system_alias_ids(conn, model), **user_aliases(conn, model.id)}
    names = [r.name for r in version_rows(conn, model.id)] + sorted(aliases)
    raise NotFoundError(f"Unable to find version or alias with name {name_or_alias} in model {qn}."
                        f"{_hint(name_or_alias, names)}")


def aliases_by_version(conn: Connection, model: Row) -> dict[int, list[str]]:
    """version id → its aliases, system aliases included (as SHOW VERSIONS lists them)."""
    return group_aliases(system_alias_ids(conn, model), user_aliases(conn, model.id))


def group_aliases(system: dict[str, int], user: dict[str, int]) -> dict[int, list[str]]:
    """version id → aliases: system aliases first (DEFAULT, FIRST, LAST), then user aliases by name."""
    result: dict[int, list[str]] = {}
    for alias in SYSTEM_ALIASES:
        if system.get(alias) is not None:
            result.setdefault(system[alias], []).append(alias)
    for alias, vid in sorted(user.items()):
        result.setdefault(vid, []).append(alias)
    return result


def _hint(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.6) or difflib.get_close_matches(
        name.upper(), [c.upper() for c in candidates], n=3, cutoff=0.6)
    if close:
        return f" Did you mean {' or '.join(close)}?"
    if candidates:
        shown = ", ".join(candidates[:10]) + (", ..." if len(candidates) > 10 else "")
        return f" Existing names: {shown}."
    return ""


def show_versions_fields(manifest: Manifest) -> dict[str, str]:
    """The SHOW VERSIONS columns a version's manifest determines, as stored JSON text."""
    return {
        "functions": json.dumps([m.name for m in manifest.methods]),
        "user_data": json.dumps(manifest.user_data or {}),
        "model_attributes": json.dumps({"framework": manifest.model_type, "task": manifest.task,
                                        "client": f"jupyter_mreg {__version__}"}),
        "runnable_in": json.dumps(manifest.runnable_in),
    }


def model_names(conn: Connection, database: str, schema: str) -> list[str]:
    m = t.models.c
    return list(conn.execute(select(m.name).where(m.database_name == database, m.schema_name == schema)
                             .order_by(m.name)).scalars())


def show_versions_rows(conn: Connection, model_id: int) -> list[tuple]:
    """`(id, created_on text, name, metadata, user_data, comment, model_attributes, size, functions,
    runnable_in)` of a model's versions, oldest first, as plain driver tuples (created_on as stored: pandas
    parses a column faster than SQLAlchemy row by row, and thousands of Row objects cost more than the query)."""
    v = t.versions.c
    return conn.execute(select(
        v.id, type_coerce(v.created_on, String), v.name, v.metadata, v.user_data, v.comment,
        v.model_attributes, v.size, v.functions, v.runnable_in,
    ).where(v.model_id == model_id).order_by(v.created_on, v.id)).cursor.fetchall()


def tags(conn: Connection, model_id: int) -> dict[str, str]:
    """A model's tags: fully qualified tag name → value, by name."""
    rows = conn.execute(select(t.tags.c.tag_name, t.tags.c.value).where(t.tags.c.model_id == model_id)
                        .order_by(t.tags.c.tag_name))
    return dict(rows.all())
