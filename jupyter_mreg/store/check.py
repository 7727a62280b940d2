"""Consistency check and garbage collection of a registry's catalog and artifact store.

What can go wrong and who fixes it:
- the catalog file itself is damaged (SQLite): reported, and then nothing else is checked or removed; only
  a backup (or salvaging with sqlite3's `.recover`) fixes it;
- an object no version references (a version was deleted, or an upload crashed after writing files):
  orphaned, removed by `repair` / `collect_garbage`;
- an upload record whose process is gone, a temporary file or staging folder it left: stale, removed by
  `repair` (a staging folder also by the next log_model, see `remove_abandoned_staging`);
- an object a version references that is absent or whose content changed: missing / corrupt. Versions are
  immutable, so only a backup (or deleting the version) can fix it; `repair` reports it and goes on.

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

from jupyter_mreg.errors import IntegrityError

from . import tables
from .artifacts import STAGING_SUFFIX, ArtifactStore
from .backends.local import newest_mtime, remove_tree
from .catalog import Catalog, lock_against_collection

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

    The lists hold everything found (object SHA-256s, tmp file names, upload records). `repaired` says
    what was removed; `problems` lists, one line each, what is still wrong; `ok` is True when nothing is.
    `catalog_problems` is the database's own integrity check of the catalog (see
    `Catalog.integrity_problems`); when it finds damage, nothing else is checked or removed.
    """

    catalog_problems: list[str] = field(default_factory=list)
    orphaned_objects: list[str] = field(default_factory=list)
    missing_objects: list[str] = field(default_factory=list)
    corrupt_objects: list[str] = field(default_factory=list)
    stale_uploads: list[UploadInfo] = field(default_factory=list)
    stale_tmp: list[str] = field(default_factory=list)
    used_by: dict[str, list[FileUse]] = field(default_factory=dict)
    repaired: list[str] = field(default_factory=list)
    _fixed: set[tuple[str, str]] = field(default_factory=set, repr=False)

    @property
    def ok(self) -> bool:
        """True when nothing is wrong (anything found was repaired)."""
        return not self.problems

    @property
    def problems(self) -> list[str]:
        """One human-readable line per problem still present."""
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
        for sha in self.orphaned_objects:
            if ("object", sha) not in self._fixed:
                lines.append(
                    f"orphaned object {sha}: no version references it (a deleted version, or an interrupted "
                    f"upload). Fix: check(..., repair=True) removes it."
                )
        for up in self.stale_uploads:
            if ("upload", up.id) not in self._fixed:
                lines.append(
                    f"stale upload record {up.id} (host {up.host}, pid {up.pid}, started "
                    f"{up.started_on:%Y-%m-%d %H:%M:%S} UTC): {up.reason}. Fix: check(..., repair=True) "
                    f"removes it."
                )
        for name in self.stale_tmp:
            if ("tmp", name) not in self._fixed:
                lines.append(
                    f"stale {_tmp_label(name)}: left by an interrupted upload. Fix: "
                    f"check(..., repair=True) removes it."
                )
        return lines

    def _uses(self, sha: str) -> str:
        uses = self.used_by.get(sha) or []
        return "; ".join(str(u) for u in uses) if uses else "no version any more"


def _tmp_label(name: str) -> str:
    if name.endswith(STAGING_SUFFIX):
        return f"staging folder tmp/{name}/"
    return f"temporary file tmp/{name}"


# -- liveness of uploads --------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to another user
    except OSError:
        return True
    return True


def _timestamp(value: datetime) -> float:
    return value.replace(tzinfo=timezone.utc).timestamp() if value.tzinfo is None else value.timestamp()


def _stale_reason(row: UploadInfo, now: float, host: str) -> str:
    """Why an upload record is stale, or "" when its upload may still be running."""
    if now - _timestamp(row.started_on) > STALE_UPLOAD_SECONDS:
        return "started more than 24 h ago"
    if row.host == host and not _pid_alive(row.pid):
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
    version being published concurrently either sees its objects gone (and fails) or keeps them.
    """
    removed: list[str] = []
    for batch in _chunks(list(candidates), _BATCH):
        with catalog.write() as conn:
            lock_against_collection(conn)
            now = time.time()
            live, _ = _uploads(conn, now)
            if only_without_live_uploads and live:
                break
            referenced = _referenced(conn, batch)
            for sha in batch:
                if sha in referenced:
                    continue
                stat = artifacts.stat(sha)
                if stat is None:
                    continue
                mtime = stat[1]
                if min_age is not None and now - mtime < min_age:
                    continue
                if _protected(mtime, live, grace_seconds):
                    continue
                if artifacts.delete(sha):
                    removed.append(sha)
    return removed


# -- public -----------------------------------------------------------------------------------------


def check(
    catalog: Catalog,
    artifacts: ArtifactStore,
    *,
    repair: bool = False,
    grace_seconds: float = 60,
    verify: bool = False,
) -> CheckReport:
    """Compare the catalog with the artifact store; with `repair=True`, remove what is safe to remove.

    `verify=True` also reads every referenced object to check its hash (slow on a large store); without
    it, only a size that differs from the recorded one reveals a corrupt object. Orphaned objects that
    a live upload may still reference are not reported: see the module docstring.

    The catalog's own integrity check runs first (SQLite `PRAGMA quick_check`, or the slower
    `integrity_check` with `verify=True`; nothing on PostgreSQL). When it finds damage, the report holds
    only that: a damaged catalog may have lost the rows that keep objects in use, so nothing is removed.
    """
    report = CheckReport(catalog_problems=catalog.integrity_problems(full=verify))
    if report.catalog_problems:
        return report
    # List the store before reading the catalog: an object published in between is then seen as
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

    for sha in sorted(set(objects) - set(recorded)):
        if not _protected(objects[sha][1], live, grace_seconds):
            report.orphaned_objects.append(sha)

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
    live_ids = {up.id for up in live}
    for name, mtime in sorted(tmp_files):
        if now - mtime < grace_seconds:
            continue
        owner = name.split(".", 1)[0] if "." in name else None
        if owner is not None and owner in live_ids:
            continue
        if owner is None and _protected(mtime, live, grace_seconds):
            continue
        report.stale_tmp.append(name)

    if report.missing_objects or report.corrupt_objects:
        with catalog.read() as conn:
            report.used_by = _file_uses(conn, report.missing_objects + report.corrupt_objects)

    if repair:
        _repair(catalog, artifacts, report, grace_seconds)
    return report


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

    Does nothing while any live upload exists (one may be about to reference an old object). Call it
    after deleting versions.
    """
    objects = list(artifacts.iter_objects())
    now = time.time()
    with catalog.read() as conn:
        live, _ = _uploads(conn, now)
        if live:
            return 0
        old = sorted(sha for sha, _, mtime in objects if now - mtime >= grace_seconds)
        unreferenced = sorted(set(old) - _referenced(conn, old))
    if not unreferenced:
        return 0
    removed = _collect(catalog, artifacts, unreferenced, grace_seconds=grace_seconds,
                       only_without_live_uploads=True, min_age=grace_seconds)
    return len(removed)


def remove_abandoned_staging(
    catalog: Catalog,
    folder: str | os.PathLike[str],
    *,
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
    the moment until the folder goes). Reads the catalog only when some folder is old enough.
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
