"""Consistency check and garbage collection of a registry's catalog and artifact store.

What `check` finds, in two kinds:
- garbage, reported as reclaimable (the registry is fine; `repair` frees the space): an object no version
  references (a version was deleted, or an upload crashed after writing files), an upload record whose
  process is gone, a temporary file or staging folder it left (a staging folder also goes at the next
  log_model, see `remove_abandoned_staging`);
- damage, reported as problems: the catalog file itself (SQLite's own integrity check: then nothing else is
  checked or removed; only a backup, or salvaging with sqlite3's `.recover`, fixes it); an object a version
  references that is absent or whose content changed (missing / corrupt: versions are immutable, so only a
  backup, or deleting the version, can fix it); a store shared with a catalog that cannot be read (see
  `sharing.py`); and an empty catalog beside a non-empty store, almost always a mistyped catalog location:
  nothing is collected then, unless `allow_empty_catalog=True` says the store's objects really are garbage.

A delete frees objects that are usually too young to collect at once (the grace period below); it records
them in `freed_objects`, and `collect_freed` removes them at the next delete or publish that finds them old
enough, without listing the store.

Objects written by uploads still in progress are not yet referenced; an upload record that is alive
protects them (see `_protected`), and every removal runs inside a catalog write transaction that
`finish_upload` also takes, so a version is never published with a file collected under it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import Connection, select

from jupyter_mreg._process import pid_alive
from jupyter_mreg.errors import IntegrityError

from . import sharing, tables
from .artifacts import STAGING_SUFFIX, ArtifactStore
from .backends.local import newest_mtime, remove_tree
from .catalog import UPLOADED, Catalog, lock_against_collection, utcnow

STALE_UPLOAD_SECONDS = 24 * 3600
STAGING_GRACE_SECONDS = 60.0
_BATCH = 200  # objects removed per write transaction: keeps the catalog's write lock short


@dataclass(frozen=True)
class FileUse:
    """One place a version uses an object."""

    database: str
    schema: str
    model: str
    version: str
    path: str

    def __str__(self) -> str:
        return f"model {self.database}.{self.schema}.{self.model} version {self.version} (file {self.path!r})"


@dataclass(frozen=True)
class UploadInfo:
    """An `uploads` row, with why it is considered stale."""

    id: str
    started_on: datetime
    host: str
    pid: int
    description: str | None
    reason: str = ""


@dataclass
class CheckReport:
    """What `check` found, and what it removed.

    The lists hold everything found (object SHA-256s, tmp file names, upload records). `reclaimable` sums
    up the garbage still there, `problems` lists the damage, one line each; `ok` is True when there is no
    damage (garbage is not damage). `repaired` says what was removed. `catalog_problems` is the database's
    own integrity check of the catalog (see `Catalog.integrity_problems`); when it finds damage, nothing
    else is checked or removed.
    """

    catalog_problems: list[str] = field(default_factory=list)
    orphaned_objects: list[str] = field(default_factory=list)
    orphaned_bytes: int = 0
    missing_objects: list[str] = field(default_factory=list)
    corrupt_objects: list[str] = field(default_factory=list)
    stale_uploads: list[UploadInfo] = field(default_factory=list)
    stale_tmp: list[str] = field(default_factory=list)
    used_by: dict[str, list[FileUse]] = field(default_factory=dict)
    store_problems: list[str] = field(default_factory=list)  # why objects cannot be told apart from garbage
    repaired: list[str] = field(default_factory=list)
    _fixed: set[tuple[str, str]] = field(default_factory=set, repr=False)

    @property
    def ok(self) -> bool:
        """True when nothing is damaged (garbage may remain: see `reclaimable`)."""
        return not self.problems

    @property
    def problems(self) -> list[str]:
        """One human-readable line per problem present: damage that repair cannot fix."""
        lines: list[str] = list(self.catalog_problems)
        for sha in self.missing_objects:
            lines.append(
                f"missing object {sha}, used by {self._uses(sha)}: it was removed from the artifact store "
                f"outside jupyter_mreg. Repair cannot fix this: restore it from a backup of the artifact "
                f"store, or delete the affected version(s)."
            )
        for sha in self.corrupt_objects:
            lines.append(
                f"corrupt object {sha}, used by {self._uses(sha)}: its content no longer matches its SHA-256; "
                f"versions are immutable, so it was changed or corrupted outside jupyter_mreg. Repair cannot "
                f"fix this: restore it from a backup of the artifact store, or delete the affected version(s)."
            )
        lines.extend(self.store_problems)
        return lines

    @property
    def reclaimable(self) -> str:
        """What garbage remains ("" when none): unreferenced objects with their size, stale records and files."""
        objects = [sha for sha in self.orphaned_objects if ("object", sha) not in self._fixed]
        uploads = [up for up in self.stale_uploads if ("upload", up.id) not in self._fixed]
        tmp = [name for name in self.stale_tmp if ("tmp", name) not in self._fixed]
        parts = []
        if objects:  # all of them or, after a repair, none
            parts.append(f"{len(objects)} object(s) no version uses ({_size(self.orphaned_bytes)})")
        if uploads:
            parts.append(f"{len(uploads)} record(s) of interrupted uploads")
        if tmp:
            parts.append(f"{len(tmp)} temporary file(s) or staging folder(s) left by interrupted uploads")
        return ", ".join(parts)

    def _uses(self, sha: str) -> str:
        uses = self.used_by.get(sha) or []
        return "; ".join(str(u) for u in uses) if uses else "no version any more"


def _size(n: float) -> str:
    if n < 1024:
        return f"{int(n)} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}"
    raise AssertionError("unreachable")


def _tmp_label(name: str) -> str:
    if name.endswith(STAGING_SUFFIX):
        return f"staging folder tmp/{name}/"
    return f"temporary file tmp/{name}"


# -- liveness of uploads --------------------------------------------------------------------------


def _timestamp(value: datetime) -> float:
    return value.replace(tzinfo=timezone.utc).timestamp() if value.tzinfo is None else value.timestamp()


def _stale_reason(row: UploadInfo, now: float, host: str) -> str:
    """Why an upload record is stale, or "" when its upload may still be running."""
    if now - _timestamp(row.started_on) > STALE_UPLOAD_SECONDS:
        return "started more than 24 h ago"
    if row.host == host and not pid_alive(row.pid):
        return f"its process {row.pid} on this host has ended"
    return ""


def _uploads(conn: Connection, now: float) -> tuple[list[UploadInfo], list[UploadInfo]]:
    """(live, stale) upload records."""
    host = socket.gethostname()[:255]
    live: list[UploadInfo] = []
    stale: list[UploadInfo] = []
    u = tables.uploads
    for r in conn.execute(select(u.c.id, u.c.started_on, u.c.host, u.c.pid, u.c.description).order_by(u.c.id)):
        info = UploadInfo(r.id, r.started_on, r.host, int(r.pid), r.description)
        reason = _stale_reason(info, now, host)
        if reason:
            stale.append(UploadInfo(info.id, info.started_on, info.host, info.pid, info.description, reason))
        else:
            live.append(info)
    return live, stale


def _protected(mtime: float, live: Sequence[UploadInfo], grace_seconds: float) -> bool:
    # A live upload that started before mtime + grace may have written this object (or refreshed its
    # mtime by reusing it) and not published its version yet.
    return any(_timestamp(up.started_on) < mtime + grace_seconds for up in live)


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _referenced(conn: Connection, shas: Sequence[str]) -> set[str]:
    vf = tables.version_files
    found: set[str] = set()
    for chunk in _chunks(shas):
        found.update(conn.execute(select(vf.c.sha256).where(vf.c.sha256.in_(chunk)).distinct()).scalars())
    return found


def _file_uses(conn: Connection, shas: Sequence[str]) -> dict[str, list[FileUse]]:
    m, v, vf = tables.models, tables.versions, tables.version_files
    uses: dict[str, list[FileUse]] = {}
    for chunk in _chunks(shas):
        query = (
            select(m.c.database_name, m.c.schema_name, m.c.name.label("model"), v.c.name.label("version"),
                   vf.c.path, vf.c.sha256)
            .select_from(vf.join(v, vf.c.version_id == v.c.id).join(m, v.c.model_id == m.c.id))
            .where(vf.c.sha256.in_(chunk))
            .order_by(m.c.database_name, m.c.schema_name, m.c.name, v.c.name, vf.c.path)
        )
        for r in conn.execute(query):
            uses.setdefault(r.sha256, []).append(
                FileUse(r.database_name, r.schema_name, r.model, r.version, r.path)
            )
    return uses


def _safe_stat(artifacts: ArtifactStore, sha: str) -> tuple[int, float] | None:
    try:
        return artifacts.stat(sha)
    except IntegrityError:  # not a SHA-256 at all: no such object can exist
        return None


def _referenced_elsewhere(others: sharing.OtherCatalogs, shas: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for other in others.readable:
        with other.read() as conn:
            found |= _referenced(conn, shas)
    return found


def _live_uploads_elsewhere(others: sharing.OtherCatalogs, now: float) -> list[UploadInfo]:
    live: list[UploadInfo] = []
    for other in others.readable:
        with other.read() as conn:
            live += _uploads(conn, now)[0]
    return live


def _never_held_a_version(conn: Connection) -> bool:
    """True for a catalog that has no version, never had one and never began an upload (a new catalog, or one
    at a mistyped URL)."""
    v, h, f, i = tables.versions, tables.history, tables.freed_objects, tables.catalog_info
    return (conn.execute(select(v.c.id).limit(1)).first() is None
            and conn.execute(select(h.c.id).where(h.c.version_name.is_not(None)).limit(1)).first() is None
            and conn.execute(select(f.c.sha256).limit(1)).first() is None
            and conn.execute(select(i.c.name).where(i.c.name == UPLOADED)).first() is None)


def _empty_catalog_problem(catalog: Catalog, artifacts: ArtifactStore, count: int) -> str:
    return (
        f"the catalog at {catalog.display_url} has never held a version, but the artifact store at "
        f"{artifacts.url!r} holds {count} object(s) that no catalog recorded there references. That is almost "
        f"always a mistyped catalog location beside another registry's store, so nothing was collected. Fix: "
        f"point at that registry's catalog (--catalog-url / Session config `catalog_url`); if the objects "
        f"really are garbage, run `python -m jupyter_mreg check --repair --allow-empty-catalog`."
    )


def _collect(
    catalog: Catalog,
    artifacts: ArtifactStore,
    candidates: Sequence[str],
    *,
    grace_seconds: float,
    only_without_live_uploads: bool,
    min_age: float | None,
) -> list[str]:
    """Remove those candidates that are still unreferenced and unprotected; return the removed ones.

    Decided again inside a write transaction that `finish_upload` also takes, with fresh mtimes, so a
    version being published concurrently either sees its objects gone (and fails) or keeps them. Objects
    another catalog using the store references or may reference are kept; when one of those catalogs
    cannot be read, nothing is removed. Candidates removed, gone or referenced again leave `freed_objects`.
    """
    others = sharing.other_catalogs(catalog, artifacts)
    if others.unreadable:
        return []
    removed: list[str] = []
    for batch in _chunks(list(candidates), _BATCH):
        with catalog.write() as conn:
            lock_against_collection(conn)
            now = time.time()
            live = _uploads(conn, now)[0] + _live_uploads_elsewhere(others, now)
            if only_without_live_uploads and live:
                break
            referenced = _referenced(conn, batch) | _referenced_elsewhere(others, batch)
            settled = []
            for sha in batch:
                stat = None if sha in referenced else artifacts.stat(sha)
                if stat is None:
                    settled.append(sha)
                    continue
                mtime = stat[1]
                if min_age is not None and now - mtime < min_age:
                    continue
                if _protected(mtime, live, grace_seconds):
                    continue
                if artifacts.delete(sha):
                    removed.append(sha)
                settled.append(sha)
            conn.execute(tables.freed_objects.delete().where(tables.freed_objects.c.sha256.in_(settled)))
    return removed


# -- public -----------------------------------------------------------------------------------------


def check(
    catalog: Catalog,
    artifacts: ArtifactStore,
    *,
    repair: bool = False,
    grace_seconds: float = 60,
    verify: bool = False,
    allow_empty_catalog: bool = False,
) -> CheckReport:
    """Compare the catalog with the artifact store; with `repair=True`, remove the garbage found.

    `verify=True` also reads every referenced object to check its hash (slow on a large store); without
    it, only a size that differs from the recorded one reveals a corrupt object. Objects that a live
    upload (here or in another catalog using the store) may still reference are not garbage. An empty
    catalog beside a non-empty store is reported, and collects nothing, unless `allow_empty_catalog`.

    The catalog's own integrity check runs first (SQLite `PRAGMA quick_check`, or the slower
    `integrity_check` with `verify=True`; nothing on PostgreSQL). When it finds damage, the report holds
    only that: a damaged catalog may have lost the rows that keep objects in use, so nothing is removed.
    """
    report = CheckReport(catalog_problems=catalog.integrity_problems(full=verify))
    if report.catalog_problems:
        return report
    others = sharing.other_catalogs(catalog, artifacts)
    # List the store before reading the catalogs: an object published in between is then seen as
    # referenced, never as orphaned.
    objects = {sha: (size, mtime) for sha, size, mtime in artifacts.iter_objects()}
    tmp_files = list(artifacts.iter_tmp())
    now = time.time()
    vf = tables.version_files
    with catalog.read() as conn:
        recorded: dict[str, set[int]] = {}
        for sha, size in conn.execute(select(vf.c.sha256, vf.c.size).distinct()):
            recorded.setdefault(sha, set()).add(int(size))
        live, stale = _uploads(conn, now)
        never_held = _never_held_a_version(conn)
    live += _live_uploads_elsewhere(others, now)
    report.store_problems.extend(others.unreadable)

    unreferenced = sorted(set(objects) - set(recorded))
    unreferenced = sorted(set(unreferenced) - _referenced_elsewhere(others, unreferenced))
    orphans = [sha for sha in unreferenced if not _protected(objects[sha][1], live, grace_seconds)]
    if never_held and orphans and not allow_empty_catalog:
        report.store_problems.append(_empty_catalog_problem(catalog, artifacts, len(orphans)))
    elif not others.unreadable:
        report.orphaned_objects = orphans
        report.orphaned_bytes = sum(objects[sha][0] for sha in orphans)

    for sha in sorted(recorded):
        if sha in objects:
            size = objects[sha][0]
        else:
            stat = _safe_stat(artifacts, sha)  # published after the listing?
            if stat is None:
                report.missing_objects.append(sha)
                continue
            size = stat[0]
        if any(expected != size for expected in recorded[sha]) or (verify and not artifacts.verify(sha)):
            report.corrupt_objects.append(sha)

    report.stale_uploads.extend(stale)
    if not report.store_problems:  # temporary files of another catalog's uploads are not ours to judge
        report.stale_tmp.extend(_stale_tmp(tmp_files, live, now, grace_seconds))

    if report.missing_objects or report.corrupt_objects:
        with catalog.read() as conn:
            report.used_by = _file_uses(conn, report.missing_objects + report.corrupt_objects)

    if repair:
        _repair(catalog, artifacts, report, grace_seconds)
    return report


def _stale_tmp(tmp_files: Sequence[tuple[str, float]], live: Sequence[UploadInfo], now: float,
               grace_seconds: float) -> list[str]:
    live_ids = {up.id for up in live}
    stale = []
    for name, mtime in sorted(tmp_files):
        if now - mtime < grace_seconds:
            continue
        owner = name.split(".", 1)[0] if "." in name else None
        if owner is not None and owner in live_ids:
            continue
        if owner is None and _protected(mtime, live, grace_seconds):
            continue
        stale.append(name)
    return stale


def _repair(catalog: Catalog, artifacts: ArtifactStore, report: CheckReport, grace_seconds: float) -> None:
    for name in report.stale_tmp:
        artifacts.delete_tmp(name)
        report._fixed.add(("tmp", name))
        report.repaired.append(f"removed stale {_tmp_label(name)}")
    if report.stale_uploads:
        ids = [up.id for up in report.stale_uploads]
        with catalog.write() as conn:
            for chunk in _chunks(ids):
                conn.execute(tables.uploads.delete().where(tables.uploads.c.id.in_(chunk)))
        for up in report.stale_uploads:
            report._fixed.add(("upload", up.id))
            report.repaired.append(f"removed stale upload record {up.id} ({up.reason})")
    if report.orphaned_objects:
        removed = set(
            _collect(catalog, artifacts, report.orphaned_objects, grace_seconds=grace_seconds,
                     only_without_live_uploads=False, min_age=None)
        )
        # What was kept after all became referenced or protected in the meantime: not an orphan.
        report.orphaned_objects = [sha for sha in report.orphaned_objects if sha in removed]
        for sha in report.orphaned_objects:
            report._fixed.add(("object", sha))
            report.repaired.append(f"removed orphaned object {sha}")


def collect_garbage(catalog: Catalog, artifacts: ArtifactStore, grace_seconds: float = 60) -> int:
    """Remove objects no version references that are older than `grace_seconds`; return how many.

    Lists the whole store. Does nothing while any live upload exists (one may be about to reference an
    old object), nor from a catalog that never held a version (see `check`).
    """
    objects = list(artifacts.iter_objects())
    now = time.time()
    with catalog.read() as conn:
        live, _ = _uploads(conn, now)
        if live or _never_held_a_version(conn):
            return 0
        old = sorted(sha for sha, _, mtime in objects if now - mtime >= grace_seconds)
        unreferenced = sorted(set(old) - _referenced(conn, old))
    if not unreferenced:
        return 0
    removed = _collect(catalog, artifacts, unreferenced, grace_seconds=grace_seconds,
                       only_without_live_uploads=True, min_age=grace_seconds)
    return len(removed)


def collect_freed(catalog: Catalog, artifacts: ArtifactStore, grace_seconds: float = 60) -> int:
    """Remove the objects deletes freed (`freed_objects`) once they are older than `grace_seconds`; return
    how many. Cheap when there are none: one indexed read, no listing of the store."""
    with catalog.read() as conn:
        freed = list(conn.execute(select(tables.freed_objects.c.sha256)).scalars())
    if not freed:
        return 0
    return len(_collect(catalog, artifacts, freed, grace_seconds=grace_seconds, only_without_live_uploads=True,
                        min_age=grace_seconds))


def files_of_versions(conn: Connection, version_ids: Sequence[int]) -> set[str]:
    """The objects versions `version_ids` use: call before deleting them, then `remember_freed`."""
    vf = tables.version_files
    found: set[str] = set()
    for chunk in _chunks(list(version_ids)):
        found.update(conn.execute(select(vf.c.sha256).where(vf.c.version_id.in_(chunk)).distinct()).scalars())
    return found


def remember_freed(conn: Connection, shas: Iterable[str]) -> None:
    """Inside the deleting write transaction: record those of `shas` no version uses any more."""
    shas = sorted(shas)
    freed = set(shas) - _referenced(conn, shas)
    known = set()
    for chunk in _chunks(sorted(freed)):
        f = tables.freed_objects
        known.update(conn.execute(select(f.c.sha256).where(f.c.sha256.in_(chunk))).scalars())
    now = utcnow()
    rows = [{"sha256": sha, "freed_on": now} for sha in sorted(freed - known)]
    if rows:
        conn.execute(tables.freed_objects.insert(), rows)


def remove_abandoned_staging(
    catalog: Catalog,
    folder: str | os.PathLike[str],
    *,
    artifacts: ArtifactStore | None = None,
    grace_seconds: float = STAGING_GRACE_SECONDS,
    dry_run: bool = False,
) -> list[str]:
    """Remove the staging folders (`staging_name(upload_id)`) in the local `folder` that no live upload owns
    and that nothing wrote to for `grace_seconds`; return the names of those removed, sorted (`dry_run`:
    of those it would remove). One this process may not remove (another user's) is left for `check`.

    A log_model killed while it saved or stored its package leaves its staging folder; `Registry.log_model`
    calls this for the folder it stages in, and `check` finds those in the store's `tmp/` as stale tmp
    entries. The staging of a live upload always stays: its record is written before the folder is made,
    and removed only after it (or once the upload has published its version, when the grace period covers
    the moment until the folder goes). Reads the catalog only when some folder is old enough. When `folder`
    is the `tmp/` of store `artifacts`, the live uploads of every catalog sharing that store count too (and
    nothing is removed while one of them cannot be read).
    """
    folder = os.fspath(folder)
    now = time.time()
    try:
        names = sorted(name for name in os.listdir(folder) if name.endswith(STAGING_SUFFIX))
    except (FileNotFoundError, NotADirectoryError):
        return []
    old = []
    for name in names:
        mtime = newest_mtime(os.path.join(folder, name))
        if mtime is not None and now - mtime >= grace_seconds:
            old.append(name)
    if not old:
        return []
    with catalog.read() as conn:
        live, _ = _uploads(conn, now)
    if artifacts is not None:
        others = sharing.other_catalogs(catalog, artifacts)
        if others.unreadable:
            return []
        live += _live_uploads_elsewhere(others, now)
    owners = {up.id for up in live}
    abandoned = [name for name in old if name.split(".", 1)[0] not in owners]
    if dry_run:
        return abandoned
    removed = []
    for name in abandoned:
        try:
            remove_tree(os.path.join(folder, name))
        except OSError:
            continue
        removed.append(name)
    return removed
