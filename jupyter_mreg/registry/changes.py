"""The one path by which a registry's catalog changes.

Every change a user can make (log or copy a version, set a comment, tag, metric, alias or the default
version, rename, delete...) is one function here. Each runs in one catalog write transaction, checks its
preconditions inside it (so two kernels cannot both pass a check and then collide), appends its row to the
audit trail, and returns the `Change` it made. After the commit, and only then, every subscriber of this
process is told (`subscribe`): the sidebar's refresh, monitoring and alias-following services listen here,
and access control will check privileges here. Nothing else in the package opens `Catalog.write()` (the
store's own bookkeeping aside: uploads in progress, garbage collection).

Operations take the session (who changes what, and where the catalog is) and names in identifier form.
A read-only session (`Session.read_only`) is refused here, by `require_writable`, before anything is done;
writes that do expensive work before their change (log_model packages and uploads) call it first.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from jupyter_mreg.errors import (AlreadyExistsError, InvalidArgumentError, MetricNotFoundError, MregError,
                                 NotFoundError, ReadOnlyError)
from jupyter_mreg.model.packaging.manifest import Manifest
from jupyter_mreg.registry import metadata as md
from jupyter_mreg.registry import queries as q
from jupyter_mreg.registry.identifiers import QualifiedName, parse_identifier
from jupyter_mreg.registry.names import random_version_name
from jupyter_mreg.store import collect_freed, files_of_versions, finish_upload, remember_freed
from jupyter_mreg.store import tables as t

_NAME_ATTEMPTS = 1000


@dataclass(frozen=True)
class Change:
    """One committed change, as the audit trail records it: what was done, to which object, by whom."""

    action: str  # CREATE_MODEL, LOG_MODEL, SET_ALIAS, ... (the history's `action`)
    database: str | None
    schema: str | None
    model: str | None
    version: str | None
    details: dict = field(default_factory=dict)
    user: str | None = None
    role: str | None = None
    event_time: datetime | None = None
    catalog: str = ""  # the catalog's URL (password hidden): which registry changed


# --- subscribers ------------------------------------------------------------------------------------------
_subscribers: list[Callable[[Change], None]] = []
_subscribers_lock = threading.Lock()


def subscribe(callback: Callable[[Change], None]) -> Callable[[], None]:
    """Call `callback(change)` after each change this process commits, in order; returns `unsubscribe()`.

    Callbacks run in the writer's thread after the commit: keep them quick. One that raises gets a
    warning; the change stays made and the other subscribers are still told.
    """
    with _subscribers_lock:
        _subscribers.append(callback)

    def unsubscribe() -> None:
        with _subscribers_lock:
            if callback in _subscribers:
                _subscribers.remove(callback)

    return unsubscribe


def _notify(changes: list[Change]) -> None:
    with _subscribers_lock:
        callbacks = list(_subscribers)
    for change in changes:
        for callback in callbacks:
            try:
                callback(change)
            except Exception as exc:  # noqa: BLE001 - a listener's bug must not undo or hide a committed change
                warnings.warn(f"A change subscriber ({callback!r}) failed on {change.action}: {exc!r}. The change "
                              "was made.", RuntimeWarning, stacklevel=4)


# --- the transaction --------------------------------------------------------------------------------------
class _Transaction:
    """One open write transaction and the changes recorded in it."""

    def __init__(self, session: Any, conn: Any) -> None:
        self.session, self.conn = session, conn
        self.changes: list[Change] = []

    def record(self, action: str, *, database: str | None = None, schema: str | None = None,
               model: str | None = None, version: str | None = None, **details: Any) -> Change:
        """Append `action` to the audit trail (in this transaction) and remember it for the subscribers."""
        session = self.session
        text = json.dumps(details, default=str, sort_keys=True)
        change = Change(action, database, schema, model, version, json.loads(text), session.get_current_user(),
                        session.get_current_role(), q.now(), session.catalog.display_url)
        self.conn.execute(t.history.insert().values(
            event_time=change.event_time, user=change.user, role=change.role, action=action,
            database_name=database, schema_name=schema, model_name=model, version_name=version, details=text))
        self.changes.append(change)
        return change

    def record_model(self, action: str, qn: QualifiedName, version: str | None = None, **details: Any) -> Change:
        return self.record(action, database=qn.database, schema=qn.schema, model=qn.name, version=version,
                           **details)

    def model(self, qn: QualifiedName):
        return q.require_model(self.conn, qn)

    def version(self, qn: QualifiedName, version: str):
        return q.require_version(self.conn, qn, version)

    def ensure_schema(self, database: str, schema: str) -> None:
        """Create the database and schema if missing (a local registry creates them on first use)."""
        conn = self.conn
        if q.schema_exists(conn, database, schema):
            return
        owner = self.session.get_current_role()
        if conn.execute(select(t.databases.c.name).where(t.databases.c.name == database)).first() is None:
            conn.execute(t.databases.insert().values(name=database, created_on=q.now(), owner=owner))
            self.record("CREATE_DATABASE", database=database)
        conn.execute(t.schemas.insert().values(database_name=database, name=schema, created_on=q.now(), owner=owner))
        self.record("CREATE_SCHEMA", database=database, schema=schema)


def require_writable(session: Any) -> None:
    """Raise `ReadOnlyError` when `session` may not change its registry: say where, why and the fix."""
    if session.read_only:
        raise ReadOnlyError(f"The registry at {session.home} is read-only, so nothing was changed: "
                            f"{session.read_only_reason}.")


@contextmanager
def _change(session: Any) -> Iterator[_Transaction]:
    """One write transaction; its changes reach the subscribers after the commit, never after a rollback."""
    require_writable(session)
    with session.catalog.write() as conn:
        tx = _Transaction(session, conn)
        yield tx
    _notify(tx.changes)


# --- schemas and models -----------------------------------------------------------------------------------
def create_schema(session: Any, database: str, schema: str) -> list[Change]:
    """Create `database.schema` (and the database) if missing; the changes made (none if both existed)."""
    with _change(session) as tx:
        tx.ensure_schema(database, schema)
        return tx.changes


def set_model_comment(session: Any, qn: QualifiedName, comment: str | None) -> Change:
    check_comment(comment, f"model {qn}")
    with _change(session) as tx:
        row = tx.model(qn)
        tx.conn.execute(t.models.update().where(t.models.c.id == row.id).values(comment=comment))
        return tx.record_model("SET_COMMENT", qn, comment=comment)


def set_default_version(session: Any, qn: QualifiedName, version: str) -> Change:
    with _change(session) as tx:
        model = tx.model(qn)
        row = q.version_row(tx.conn, model.id, version)
        if row is None:
            raise NotFoundError(
                f"You cannot set version {version} as default version as it does not exist in model {qn}.")
        tx.conn.execute(t.models.update().where(t.models.c.id == model.id).values(default_version_id=row.id))
        return tx.record_model("SET_DEFAULT_VERSION", qn, version)


def set_tag(session: Any, qn: QualifiedName, tag: str, value: str) -> Change:
    """Set tag `tag` (fully qualified `DB.SCHEMA.TAG`) of a model to `value`."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"Tag {tag} value must be a string, found {type(value).__name__}.")
    with _change(session) as tx:
        model_id = tx.model(qn).id
        key = (t.tags.c.model_id == model_id) & (t.tags.c.tag_name == tag)
        if tx.conn.execute(t.tags.update().where(key).values(value=value)).rowcount == 0:
            tx.conn.execute(t.tags.insert().values(model_id=model_id, tag_name=tag, value=value))
        return tx.record_model("SET_TAG", qn, tag=tag, value=value)


def unset_tag(session: Any, qn: QualifiedName, tag: str) -> Change:
    with _change(session) as tx:
        model_id = tx.model(qn).id
        deleted = tx.conn.execute(t.tags.delete().where(
            (t.tags.c.model_id == model_id) & (t.tags.c.tag_name == tag))).rowcount
        if not deleted:
            raise NotFoundError(f"Tag {tag} is not set on model {qn}.")
        return tx.record_model("UNSET_TAG", qn, tag=tag)


def rename_model(session: Any, qn: QualifiedName, target: QualifiedName) -> Change:
    """Rename model `qn` to `target`; another database/schema in `target` moves it there."""
    with _change(session) as tx:
        model = tx.model(qn)
        if q.model_row(tx.conn, target) is not None:
            raise AlreadyExistsError(f"Cannot rename model {qn} to {target}: a model with that name exists.")
        tx.ensure_schema(target.database, target.schema)
        tx.conn.execute(t.models.update().where(t.models.c.id == model.id).values(
            database_name=target.database, schema_name=target.schema, name=target.name))
        return tx.record_model("RENAME_MODEL", target, previous_name=str(qn))


def delete_model(session: Any, qn: QualifiedName) -> Change:
    """Delete a model with its versions, aliases and tags; then collect the files nothing uses any more."""
    with _change(session) as tx:
        row = tx.model(qn)
        version_ids = tx.conn.execute(select(t.versions.c.id).where(t.versions.c.model_id == row.id)).scalars().all()
        files = files_of_versions(tx.conn, version_ids)
        tx.conn.execute(t.models.delete().where(t.models.c.id == row.id))
        remember_freed(tx.conn, files)
        change = tx.record_model("DROP_MODEL", qn)
    collect_freed(session.catalog, session.artifacts)
    return change


# --- versions ---------------------------------------------------------------------------------------------
def publish_version(session: Any, qn: QualifiedName, version: str | None, manifest: Manifest,
                    files: dict[str, tuple[str, int]], *, comment: str | None, metadata: str,
                    upload_id: str) -> Change:
    """Make a version whose files are stored (by upload `upload_id`) visible; its model is created if new.

    A missing `version` gets a free random name. The change's `version` is the name given.
    """
    with _change(session) as tx:
        # First: re-checks the files still exist, and keeps garbage collection out until the commit.
        finish_upload(tx.conn, upload_id, artifacts=session.artifacts, shas=[sha for sha, _ in files.values()])
        change = _insert_version(tx, qn, version, manifest, files, comment=comment, metadata=metadata,
                                 action="LOG_MODEL")
    collect_freed(session.catalog, session.artifacts)  # the next safe moment for what earlier deletes freed
    return change


def copy_version(session: Any, source: QualifiedName, source_version: str, qn: QualifiedName,
                 version: str | None) -> Change:
    """Add version `version` to model `qn` (created if new) with the files and metadata of `source`'s
    `source_version`: nothing is uploaded, the files are shared."""
    with _change(session) as tx:
        row = q.require_version(tx.conn, source, source_version, with_manifest=True)
        files = q.version_files(tx.conn, row.id)
        manifest = Manifest.from_dict(json.loads(row.manifest), f"The catalog's manifest of {source} version "
                                      f"{source_version}")
        return _insert_version(tx, qn, version, manifest, files, comment=row.comment,
                               metadata=row.metadata, action="COPY_VERSION",
                               source=f"{source} VERSION {source_version}")


def _insert_version(tx: _Transaction, qn: QualifiedName, version: str | None, manifest: Manifest,
                    files: dict[str, tuple[str, int]], *, comment: str | None, metadata: str, action: str,
                    **details: Any) -> Change:
    conn = tx.conn
    tx.ensure_schema(qn.database, qn.schema)
    model = q.model_row(conn, qn)
    if model is None:
        model_id = conn.execute(t.models.insert().values(
            database_name=qn.database, schema_name=qn.schema, name=qn.name,
            owner=tx.session.get_current_role(), created_on=q.now())).inserted_primary_key[0]
        tx.record_model("CREATE_MODEL", qn)
    else:
        model_id = model.id
    if version is None:
        version = _free_version_name(conn, model_id)
    elif q.version_row(conn, model_id, version) is not None:
        raise duplicate_version(qn, version)
    try:
        version_id = conn.execute(t.versions.insert().values(
            model_id=model_id, name=version, created_on=q.now(), comment=comment,
            owner=tx.session.get_current_role(), metadata=metadata, model_type=manifest.model_type,
            task=manifest.task, size=sum(size for _, size in files.values()),
            **q.show_versions_fields(manifest),
        )).inserted_primary_key[0]
    except SqlIntegrityError as exc:  # a writer on another machine won the race (PostgreSQL)
        raise duplicate_version(qn, version) from exc
    conn.execute(t.version_manifests.insert().values(version_id=version_id,
                                                     manifest=json.dumps(manifest.to_dict())))
    if files:
        conn.execute(t.version_files.insert(), [
            {"version_id": version_id, "path": path, "sha256": sha, "size": size}
            for path, (sha, size) in files.items()])
    if model is None or model.default_version_id is None:
        conn.execute(t.models.update().where(t.models.c.id == model_id).values(default_version_id=version_id))
    return tx.record_model(action, qn, version, model_type=manifest.model_type, comment=comment, **details)


def duplicate_version(model: object, version: str) -> AlreadyExistsError:
    """The error for a version name the model already has, in Snowflake's words: `model` and `version` as
    the caller wrote them (`log_model`'s arguments), else the qualified name and the version's name."""
    return AlreadyExistsError(
        f"Model {model} version {version} already existed. To auto-generate `version_name`, skip that argument.")


def _free_version_name(conn: Any, model_id: int) -> str:
    for _ in range(_NAME_ATTEMPTS):
        name = random_version_name()
        if q.version_row(conn, model_id, name) is None:
            return name
    raise MregError("Random version name generation failed: give a `version_name`.")


def delete_version(session: Any, qn: QualifiedName, version: str) -> Change:
    """Delete a version (never the default one); then collect the files nothing uses any more."""
    with _change(session) as tx:
        model = tx.model(qn)
        row = q.version_row(tx.conn, model.id, version)
        if row is None:
            raise NotFoundError(f"Unable to find version {version} in model {qn}.")
        if row.id == model.default_version_id:
            raise InvalidArgumentError(
                f"Version {version} is the default version of model {qn} and cannot be deleted. Set "
                "another version as default first (`model.default = '<version>'`), or delete the whole "
                "model with `registry.delete_model(...)`.")
        files = files_of_versions(tx.conn, [row.id])
        tx.conn.execute(t.versions.delete().where(t.versions.c.id == row.id))
        remember_freed(tx.conn, files)
        change = tx.record_model("DROP_VERSION", qn, version)
    collect_freed(session.catalog, session.artifacts)
    return change


def set_version_comment(session: Any, qn: QualifiedName, version: str, comment: str | None) -> Change:
    check_comment(comment, f"model {qn} version {version}")
    with _change(session) as tx:
        row = tx.version(qn, version)
        tx.conn.execute(t.versions.update().where(t.versions.c.id == row.id).values(comment=comment))
        return tx.record_model("SET_VERSION_COMMENT", qn, version, comment=comment)


def set_metric(session: Any, qn: QualifiedName, version: str, name: str, value: Any) -> Change:
    return _change_metadata(session, qn, version, "SET_METRIC", lambda meta: md.set_metric(meta, name, value),
                            metric=name)


def delete_metric(session: Any, qn: QualifiedName, version: str, name: str) -> Change:
    def delete(meta: dict) -> None:
        if name not in meta.get("metrics", {}):
            raise MetricNotFoundError(f"Cannot find metric with name {name} in model {qn} version {version}.")
        md.delete_metric(meta, name)

    return _change_metadata(session, qn, version, "DELETE_METRIC", delete, metric=name)


def set_metadata(session: Any, qn: QualifiedName, version: str, metadata: dict) -> Change:
    """Replace a version's whole metadata JSON (`ALTER MODEL ... MODIFY VERSION ... SET METADATA`), checked
    so that `show_metrics()` reads it back; `{}` clears it."""
    new = md.checked_metadata(metadata)

    def replace(meta: dict) -> None:
        meta.clear()
        meta.update(new)

    return _change_metadata(session, qn, version, "SET_METADATA", replace)


def _change_metadata(session: Any, qn: QualifiedName, version: str, action: str, change: Callable[[dict], None],
                     **details: Any) -> Change:
    # Read-modify-write inside one write transaction: concurrent writers cannot lose each other's metric.
    with _change(session) as tx:
        row = tx.version(qn, version)
        meta = md.load_metadata(row.metadata)
        change(meta)
        meta.setdefault("snowpark_ml_schema_version", md.SCHEMA_VERSION)
        tx.conn.execute(t.versions.update().where(t.versions.c.id == row.id).values(metadata=md.dump_metadata(meta)))
        return tx.record_model(action, qn, version, **details)


# --- aliases ----------------------------------------------------------------------------------------------
def set_alias(session: Any, qn: QualifiedName, version: str, alias_name: str) -> Change:
    """Point `alias_name` at `version`; an alias that named another version moves here in one step."""
    alias = parse_identifier(alias_name, "Alias")
    if alias.startswith('"'):
        raise InvalidArgumentError(f"Alias {alias_name!r} must be a valid unquoted identifier, e.g. PRODUCTION.")
    if alias in q.SYSTEM_ALIASES:
        raise InvalidArgumentError(f"Alias {alias} is a system alias ({', '.join(q.SYSTEM_ALIASES)}) and cannot be "
                                   "set.")
    with _change(session) as tx:
        row = tx.version(qn, version)
        if q.version_row(tx.conn, row.model_id, alias) is not None:
            raise AlreadyExistsError(f"Alias {alias} cannot be used in model {qn}: a version has that name.")
        key = (t.aliases.c.model_id == row.model_id) & (t.aliases.c.alias == alias)
        if tx.conn.execute(t.aliases.update().where(key).values(version_id=row.id)).rowcount == 0:
            tx.conn.execute(t.aliases.insert().values(model_id=row.model_id, alias=alias, version_id=row.id))
        return tx.record_model("SET_ALIAS", qn, version, alias=alias)


def unset_alias(session: Any, qn: QualifiedName, version: str, alias_name: str) -> Change:
    """Remove alias `alias_name` from `version`."""
    alias = parse_identifier(alias_name, "Alias")
    with _change(session) as tx:
        row = tx.version(qn, version)
        deleted = tx.conn.execute(t.aliases.delete().where(
            (t.aliases.c.model_id == row.model_id) & (t.aliases.c.alias == alias)
            & (t.aliases.c.version_id == row.id))).rowcount
        if not deleted:
            raise NotFoundError(f"Version {version} of model {qn} has no alias {alias}.")
        return tx.record_model("UNSET_ALIAS", qn, version, alias=alias)


def check_comment(comment: Any, what: str) -> None:
    if comment is not None and not isinstance(comment, str):
        raise InvalidArgumentError(f"The comment of {what} must be a string, found {type(comment).__name__}.")
