"""The content-addressed artifact store: every file is kept once, under its SHA-256.

Layout under the store's root: `objects/<sha[:2]>/<sha>` for content; `tmp/<name>` for writes in
progress: `<upload_id>.<uuid>` files, and in a local store `<upload_id>.staging/` folders, where log_model
saves a package whose files are then renamed into `objects/`; `catalogs/<catalog id>.json` for the catalogs
that use the store (`sharing.py`). An object only ever appears under its final name complete (written to
`tmp/` and flushed, then renamed), so a reader never sees half a file, and every read verifies the hash, so
a changed file is refused.
Objects are only removed by garbage collection (`jupyter_mreg.store.check`), never rewritten.

`ArtifactStore` owns all of that; the bytes themselves go through a backend chosen once, by URL
(`jupyter_mreg.store.backends`): a local folder, or any fsspec URL.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import uuid
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import PurePosixPath
from typing import BinaryIO

from fsspec import AbstractFileSystem

from jupyter_mreg.errors import IntegrityError, StorageError

from .backends import Backend, open_backend

CHUNK_SIZE = 1 << 20
AUTO_PROGRESS_BYTES = 50 * 1000 * 1000
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_CATALOG_ID_RE = re.compile(r"^[0-9a-f]{32}$")

FileEntry = tuple[str, int] | str
STAGING_SUFFIX = ".staging"


def staging_name(upload_id: str) -> str:
    """The name of the folder upload `upload_id` stages its package in (inside `tmp/`, or any local folder):
    like a temporary file's, it starts with the upload's id and a dot, which is how `check` tells whose it is."""
    return f"{upload_id}{STAGING_SUFFIX}"


class ArtifactStore:
    """A content-addressed store at a local path or any fsspec URL (`file://`, `memory://`, `s3://…`).

    Safe for many processes at once: writers never touch an existing object except to refresh its
    modification time, which garbage collection reads as "in use right now".
    """

    def __init__(self, url: str, *, backend: Backend | None = None) -> None:
        """Open the store at `url`. `backend`: normally None (chosen by `url`, see
        `jupyter_mreg.store.backends`); pass one to reach the storage another way, e.g. an fsspec
        filesystem built with credentials. `url` then only names the store in messages."""
        self.url = str(url)
        if backend is None:
            try:
                backend = open_backend(self.url)
            except (ImportError, ValueError) as exc:
                raise StorageError(
                    f"Cannot open the artifact store at {self.url!r}: {exc}. Fix: use a local folder or an "
                    f"fsspec URL such as file:///path, memory://name or s3://bucket/prefix, and install the "
                    f"fsspec backend it needs (for s3://, pip install s3fs)."
                ) from exc
            except OSError as exc:  # some filesystems connect when they are made (ftp://, sftp://, …)
                raise StorageError(
                    f"Cannot open the artifact store at {self.url!r}: {exc}. Fix: check that the storage is "
                    f"reachable from this machine and that the URL's host, port and credentials are right."
                ) from exc
        self.backend = backend
        self._objects_dir = self._join("objects")
        self._tmp_dir = self._join("tmp")
        self._catalogs_dir = self._join("catalogs")
        self._file_mode: int | None = None  # see _new_file_mode

    @property
    def fs(self) -> AbstractFileSystem:
        """The fsspec filesystem the store lives on (a `LocalFileSystem` for a local folder)."""
        return self.backend.fs

    @property
    def root(self) -> str:
        """The store's folder inside `fs`."""
        return self.backend.root

    @property
    def local_tmp_dir(self) -> str | None:
        """The store's `tmp/` folder as a path on this machine's disk when the store is a local folder, else
        None. A package saved into a folder there, named `staging_name(upload_id)` so that `check` knows
        whose it is, goes into the store by renames: `put_tree(..., move=True)`."""
        return self.backend.local_path(self._tmp_dir)

    def __repr__(self) -> str:
        return f"ArtifactStore({self.url!r})"

    # -- paths ---------------------------------------------------------------------------------

    def _join(self, *parts: str) -> str:
        base = self.root.rstrip("/")
        return "/".join((base, *parts)) if base else "/".join(parts)

    def object_path(self, sha: str) -> str:
        """Where object `sha` lives inside the store's filesystem (`fs`)."""
        if not isinstance(sha, str) or not _SHA_RE.match(sha):
            raise IntegrityError(
                f"{sha!r} is not a SHA-256 object name: expected 64 lowercase hexadecimal characters. The "
                f"catalog record that holds it was changed outside jupyter_mreg. Fix: restore the catalog "
                f"from a backup, or delete the version that uses it."
            )
        return self._join("objects", sha[:2], sha)

    def _tmp_path(self, name: str) -> str:
        return self._join("tmp", name)

    def _storage_error(self, action: str, exc: BaseException) -> StorageError:
        return StorageError(
            f"Cannot {action} in the artifact store at {self.url!r}: {exc}. Fix: check that the store is "
            f"reachable, that you may write to it and that it has free space, then retry."
        )

    # -- writing -------------------------------------------------------------------------------

    def put_file(
        self,
        local_path: str | os.PathLike[str],
        *,
        upload_id: str | None = None,
        callback: Callable[[int], None] | None = None,
        move: bool = False,
    ) -> tuple[str, int]:
        """Store a local file; return `(sha256, size)`. Storing the same content again stores nothing new.

        Call it inside `pending_upload(...)` and pass its id as `upload_id` (it names the temporary file,
        so `check` knows whose it is): the upload record keeps garbage collection away from objects the
        version will reference before it is published. `callback(n)` is told about every chunk written.

        `move=True` hands the file over: it is gone afterwards, also when its content was stored already,
        and nothing may write to it meanwhile. A file staged inside `local_tmp_dir` is renamed into place
        once it is hashed and flushed to disk, so it is never copied; any other file is copied, then removed.
        """
        if move and self._renamable(local_path):
            return self._move_in(os.fspath(local_path), callback)
        stored = self._copy_in(local_path, upload_id, callback)
        if move:
            _remove_quietly(os.fspath(local_path))
        return stored

    def _copy_in(
        self,
        local_path: str | os.PathLike[str],
        upload_id: str | None,
        callback: Callable[[int], None] | None,
    ) -> tuple[str, int]:
        # With a progress bar, every byte is counted through the copy below.
        if callback is None and self.backend.hash_first_max_bytes:
            known = self._known_object(local_path)
            if known is not None:
                return known
        name = f"{upload_id}.{uuid.uuid4().hex}" if upload_id else uuid.uuid4().hex
        tmp = self._tmp_path(name)
        digest = hashlib.sha256()
        size = 0
        try:
            with open(local_path, "rb") as src:
                self.backend.makedirs(self._tmp_dir)
                with self.backend.open_write(tmp) as dst:
                    while chunk := src.read(CHUNK_SIZE):
                        digest.update(chunk)
                        dst.write(chunk)
                        size += len(chunk)
                        if callback is not None:
                            callback(len(chunk))
            sha = digest.hexdigest()
            self._install(tmp, sha)
        except BaseException as exc:
            self._discard_tmp(tmp)
            if isinstance(exc, OSError):
                raise self._storage_error(f"store the file {os.fspath(local_path)!r}", exc) from exc
            raise
        return sha, size

    def _renamable(self, local_path: str | os.PathLike[str]) -> bool:
        """Whether the file can become an object by a rename: inside `local_tmp_dir` (so on the store's
        filesystem) and a regular file of its own, neither a symbolic link nor hard-linked to a file that
        a later write could change the object through."""
        tmp = self.local_tmp_dir
        if tmp is None:
            return False
        try:
            st = os.lstat(local_path)
        except OSError:
            return False
        inside = os.path.realpath(local_path).startswith(os.path.join(os.path.realpath(tmp), ""))
        return inside and stat.S_ISREG(st.st_mode) and st.st_nlink == 1

    def _move_in(self, path: str, callback: Callable[[int], None] | None) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        try:
            with open(path, "rb") as src:
                while chunk := src.read(CHUNK_SIZE):
                    digest.update(chunk)
                    size += len(chunk)
                    if callback is not None:
                        callback(len(chunk))
            sha = digest.hexdigest()
            self._install(path, sha, before_move=partial(self._make_object_of, path))
        except OSError as exc:
            raise self._storage_error(f"store the file {path!r}", exc) from exc
        return sha, size

    def _make_object_of(self, path: str) -> None:
        """Make a staged file what a copy written by `put_file` would be, before it is renamed into place."""
        os.chmod(path, self._new_file_mode())  # readable by whoever may read the store, whatever it was
        os.utime(path)  # "in use now": a concurrent garbage collection keeps it
        # Written by someone else, maybe not yet on disk: a power loss after the rename must not leave an
        # object whose name promises bytes it does not hold.
        fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)  # Windows flushes only writable handles
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _new_file_mode(self) -> int:
        """The permission bits a file written into `tmp/` gets (umask, default ACLs), learnt once."""
        if self._file_mode is None:
            probe = self._tmp_path(uuid.uuid4().hex)  # an anonymous tmp name: check removes it if we die here
            with open(probe, "wb"):
                pass
            try:
                self._file_mode = stat.S_IMODE(os.stat(probe).st_mode)
            finally:
                os.remove(probe)
        return self._file_mode

    def _known_object(self, local_path: str | os.PathLike[str]) -> tuple[str, int] | None:
        """`(sha256, size)` when a small file's content is stored already (marked in use, as `_install`
        does), else None. Small means up to the backend's `hash_first_max_bytes`: hashing first spares a
        duplicate its copy, where the backend can mark an object in use cheaply."""
        try:
            size = os.path.getsize(local_path)
            if size > self.backend.hash_first_max_bytes:
                return None
            with open(local_path, "rb") as src:
                sha = hashlib.sha256(src.read()).hexdigest()
        except OSError:  # unreadable: put_file reports it
            return None
        return (sha, size) if self.backend.refresh(self.object_path(sha)) else None

    def _install(self, tmp: str, sha: str, *, before_move: Callable[[], None] | None = None) -> None:
        obj = self.object_path(sha)
        # "In use now" keeps a concurrent garbage collection off it. When the object is absent, or its
        # time cannot be refreshed (not ours to touch, or the storage has no such call), installing our
        # identical copy over it is as good.
        if self.backend.refresh(obj):
            self.backend.remove(tmp)
            return
        if before_move is not None:
            before_move()
        self.backend.move_into_place(tmp, obj)  # readers see no object or a complete one

    def _discard_tmp(self, tmp: str) -> None:
        try:
            self.backend.remove(tmp)
        except (OSError, NotImplementedError):
            pass

    def put_tree(
        self,
        folder: str | os.PathLike[str],
        *,
        progress: bool | None = None,
        upload_id: str | None = None,
        move: bool = False,
    ) -> dict[str, tuple[str, int]]:
        """Store every file under a local folder; return `{posix relative path: (sha256, size)}`.

        `progress`: True shows a byte progress bar, False never does, None (default) shows one when the
        files total more than 50 MB. Empty folders are not recorded. Symbolic links are followed.
        `move=True` hands every file over (see `put_file`): a folder staged in `local_tmp_dir` is emptied
        into the store by renames, without a copy.
        """
        folder = os.fspath(folder)
        if not os.path.isdir(folder):
            raise StorageError(
                f"Cannot store the folder {folder!r}: it does not exist or is not a folder. Fix: pass the "
                f"folder the model package was saved to."
            )
        entries: list[tuple[str, str, int]] = []
        seen_dirs: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
            real = os.path.realpath(dirpath)
            if real in seen_dirs:  # a symbolic link loop
                dirnames[:] = []
                continue
            seen_dirs.add(real)
            dirnames.sort()
            for filename in sorted(filenames):
                full = os.path.join(dirpath, filename)
                rel = PurePosixPath(*os.path.relpath(full, folder).split(os.sep)).as_posix()
                entries.append((rel, full, os.path.getsize(full)))
        total = sum(size for _, _, size in entries)
        show = progress if progress is not None else total > AUTO_PROGRESS_BYTES
        bar = None
        if show:
            from tqdm.auto import tqdm  # imported only when a bar is shown: keeps opening a registry light

            bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc="Uploading files")
        result: dict[str, tuple[str, int]] = {}
        try:
            for rel, full, _ in entries:
                result[rel] = self.put_file(full, upload_id=upload_id, callback=bar.update if bar else None,
                                            move=move)
        finally:
            if bar is not None:
                bar.close()
        return result

    # -- reading -------------------------------------------------------------------------------

    def _missing_error(self, sha: str, label: str | None) -> IntegrityError:
        what = f" (file {label!r})" if label else ""
        return IntegrityError(
            f"Artifact object {sha}{what} is missing from the artifact store at {self.url!r}: expected it "
            f"at {self.object_path(sha)!r}. Versions are immutable and their files are never deleted while "
            f"the version exists, so it was removed outside jupyter_mreg. Fix: restore it from a backup of "
            f"the artifact store, or delete the version that uses it."
        )

    def _open_read(self, sha: str, label: str | None) -> BinaryIO:
        path = self.object_path(sha)
        try:
            return self.backend.open_read(path)
        except FileNotFoundError as exc:
            raise self._missing_error(sha, label) from exc

    def get_file(
        self,
        sha: str,
        dest_path: str | os.PathLike[str],
        *,
        size: int | None = None,
        label: str | None = None,
    ) -> None:
        """Copy object `sha` to a local file, verifying its hash (and size, when given).

        A mismatch or a missing object raises `IntegrityError` and leaves no file at `dest_path`.
        `label` (the file's path in its version) makes error messages say which file it is.
        """
        dest_path = os.fspath(dest_path)
        src = self._open_read(sha, label)
        digest = hashlib.sha256()
        found_size = 0
        try:
            parent = os.path.dirname(dest_path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            with src, open(dest_path, "wb") as dst:
                while chunk := src.read(CHUNK_SIZE):
                    digest.update(chunk)
                    dst.write(chunk)
                    found_size += len(chunk)
        except BaseException as exc:
            _remove_quietly(dest_path)
            if isinstance(exc, OSError):
                raise StorageError(
                    f"Cannot copy artifact object {sha} from the artifact store at {self.url!r} to "
                    f"{dest_path!r}: {exc}. Fix: check that the store is reachable and that the destination "
                    f"folder is writable and has free space, then retry."
                ) from exc
            raise
        found = digest.hexdigest()
        if found != sha or (size is not None and found_size != size):
            _remove_quietly(dest_path)
            what = f" (file {label!r})" if label else ""
            expected_size = f" and {size} bytes" if size is not None else ""
            raise IntegrityError(
                f"Artifact object {sha}{what} in the artifact store at {self.url!r} does not match its "
                f"record: expected sha256 {sha}{expected_size}, found sha256 {found} and {found_size} bytes. "
                f"Versions are immutable, so the artifact was changed or corrupted outside jupyter_mreg; it "
                f"was not loaded. Fix: restore it from a backup of the artifact store, or delete the version "
                f"that uses it."
            )

    def materialize(self, files: Mapping[str, FileEntry], dest_dir: str | os.PathLike[str]) -> str:
        """Write a version's files (`{posix path: (sha256, size)}` or `{posix path: sha256}`) under
        `dest_dir`, verifying each; return `dest_dir`.

        On any failure the files this call wrote are removed again, so a half-written folder is never
        mistaken for a whole version.
        """
        dest_dir = os.fspath(dest_dir)
        plan: list[tuple[str, str, str, int | None]] = []
        for rel, entry in files.items():
            if isinstance(entry, str):
                sha, size = entry, None
            else:
                sha, size = entry[0], int(entry[1])
            plan.append((rel, os.path.join(dest_dir, *_safe_parts(rel)), sha, size))
        written: list[str] = []
        try:
            for rel, dest, sha, size in plan:
                self.get_file(sha, dest, size=size, label=rel)
                written.append(dest)
        except BaseException:
            for dest in written:
                _remove_quietly(dest)
            raise
        return dest_dir

    def exists(self, sha: str) -> bool:
        """Whether object `sha` is in the store."""
        return self.backend.isfile(self.object_path(sha))

    def verify(self, sha: str) -> bool:
        """Whether object `sha` is present and its content still hashes to `sha` (reads the whole object)."""
        try:
            src = self._open_read(sha, None)
        except IntegrityError:
            return False
        digest = hashlib.sha256()
        with src:
            while chunk := src.read(CHUNK_SIZE):
                digest.update(chunk)
        return digest.hexdigest() == sha

    # -- listing and removal (for check / garbage collection) -----------------------------------

    def stat(self, sha: str) -> tuple[int, float] | None:
        """`(size, mtime)` of object `sha`, or None when it is absent."""
        return self.backend.stat(self.object_path(sha))

    def iter_objects(self) -> Iterator[tuple[str, int, float]]:
        """`(sha256, size, mtime)` of every object in the store (mtime in seconds since the epoch)."""
        for rel, size, mtime in self.backend.iter_files(self._objects_dir):
            prefix, _, name = rel.rpartition("/")
            if _SHA_RE.match(name) and prefix == name[:2]:
                yield name, size, mtime

    def delete(self, sha: str) -> bool:
        """Remove object `sha`; return whether it was there. Only garbage collection should call this."""
        return self.backend.remove(self.object_path(sha))

    def iter_tmp(self) -> Iterator[tuple[str, float]]:
        """`(name, mtime)` of every entry of `tmp/` (a write in progress, or left by a crash): a temporary
        file, or a staging folder as one entry whose mtime is the newest of anything in it."""
        yield from self.backend.iter_entries(self._tmp_dir)

    def delete_tmp(self, name: str) -> bool:
        """Remove temporary file or staging folder `name` (as a whole); return whether it was there."""
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise StorageError(f"{name!r} is not the name of a temporary file of the artifact store.")
        return self.backend.remove_tree(self._tmp_path(name))

    # -- the catalogs that use this store (see `sharing.py`) -----------------------------------

    def catalog_records(self) -> dict[str, dict]:
        """`{catalog id: record}` of every catalog recorded as using this store."""
        records: dict[str, dict] = {}
        for rel, _, _ in self.backend.iter_files(self._catalogs_dir):
            catalog_id, _, ext = rel.rpartition(".")
            if ext != "json" or not _CATALOG_ID_RE.match(catalog_id):
                continue
            try:
                with self.backend.open_read(self._join("catalogs", rel)) as src:
                    records[catalog_id] = json.loads(src.read())
            except FileNotFoundError:  # forgotten while we listed
                continue
            except ValueError as exc:
                raise StorageError(
                    f"The record catalogs/{rel} of the artifact store at {self.url!r} is not JSON ({exc}). "
                    f"Fix: restore it from a backup, or remove it if that catalog no longer uses this store."
                ) from exc
        return records

    def write_catalog_record(self, catalog_id: str, record: dict) -> None:
        """Record that catalog `catalog_id` uses this store (written whole, then renamed into place)."""
        tmp = self._tmp_path(f"catalog-{catalog_id}.{uuid.uuid4().hex}")
        try:
            self.backend.makedirs(self._tmp_dir)
            with self.backend.open_write(tmp) as dst:
                dst.write(json.dumps(record, indent=1, sort_keys=True).encode())
            self.backend.move_into_place(tmp, self._catalog_record_path(catalog_id))
        except OSError as exc:
            self._discard_tmp(tmp)
            raise self._storage_error(f"record catalog {catalog_id}", exc) from exc

    def delete_catalog_record(self, catalog_id: str) -> bool:
        """Forget that catalog `catalog_id` uses this store; return whether it was recorded."""
        return self.backend.remove(self._catalog_record_path(catalog_id))

    def _catalog_record_path(self, catalog_id: str) -> str:
        if not isinstance(catalog_id, str) or not _CATALOG_ID_RE.match(catalog_id):
            raise StorageError(f"{catalog_id!r} is not a catalog id: expected 32 lowercase hexadecimal characters. "
                               f"Fix: pass the id that `python -m jupyter_mreg check` reported.")
        return self._join("catalogs", f"{catalog_id}.json")


def _safe_parts(rel: str) -> tuple[str, ...]:
    parts = PurePosixPath(rel).parts
    windows_trouble = os.name == "nt" and ("\\" in rel or ":" in rel)
    if not rel or rel.startswith("/") or windows_trouble or any(p in ("..", ".") for p in parts):
        raise IntegrityError(
            f"The file path {rel!r} recorded in the catalog is not a relative path inside the version "
            f"folder. Versions record only such paths, so the catalog was changed outside jupyter_mreg. "
            f"Fix: restore the catalog from a backup, or delete the version."
        )
    return parts


def _remove_quietly(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
