"""The content-addressed artifact store: every file is kept once, under its SHA-256, through fsspec.

Layout under the store's root: `objects/<sha[:2]>/<sha>` for content and `tmp/<name>` for writes in
progress. An object only ever appears under its final name complete (written to `tmp/`, then renamed),
so a reader never sees half a file, and every read verifies the hash, so a changed file is refused.
Objects are only removed by garbage collection (`jupyter_mreg.store.check`), never rewritten.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import PurePosixPath
from typing import Any

from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from jupyter_mreg.errors import IntegrityError, StorageError

DEDUP_FIRST_MAX_BYTES = 16 << 20  # files up to this size are hashed before copying
CHUNK_SIZE = 1 << 20
AUTO_PROGRESS_BYTES = 50 * 1000 * 1000
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")

FileEntry = tuple[str, int] | str


def _fsync_dir(path: str) -> None:
    # Makes a rename durable across a power loss; not possible (nor needed) on Windows.
    if os.name != "posix":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _as_timestamp(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.timestamp()
    return None


class ArtifactStore:
    """A content-addressed store at a local path or any fsspec URL (`file://`, `memory://`, `s3://…`).

    Safe for many processes at once: writers never touch an existing object except to refresh its
    modification time, which garbage collection reads as "in use right now".
    """

    def __init__(self, url: str) -> None:
        self.url = str(url)
        try:
            fs, root = url_to_fs(self.url)
        except (ImportError, ValueError) as exc:
            raise StorageError(
                f"Cannot open the artifact store at {self.url!r}: {exc}. Fix: use a local folder or an "
                f"fsspec URL such as file:///path, memory://name or s3://bucket/prefix, and install the "
                f"fsspec backend it needs (for s3://, pip install s3fs)."
            ) from exc
        self.fs = fs
        self._local = isinstance(fs, LocalFileSystem)
        root = str(root)
        self.root = root.rstrip("/") if root not in ("/", "") else root
        self._objects_dir = self._join("objects")
        self._tmp_dir = self._join("tmp")
        self._made_dirs: set[str] = set()

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

    def _makedirs(self, path: str) -> None:
        if self._local:
            os.makedirs(path, exist_ok=True)  # not cached: someone may have removed it meanwhile
            return
        if path in self._made_dirs:
            return
        try:
            self.fs.makedirs(path, exist_ok=True)
        except (NotImplementedError, FileExistsError):
            pass  # object stores have no folders
        self._made_dirs.add(path)

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
    ) -> tuple[str, int]:
        """Store a local file; return `(sha256, size)`. Storing the same content again stores nothing new.

        Call it inside `pending_upload(...)` and pass its id as `upload_id` (it names the temporary file,
        so `check` knows whose it is): the upload record keeps garbage collection away from objects the
        version will reference before it is published. `callback(n)` is told about every chunk written.
        """
        if self._local and callback is None:
            known = self._known_object(local_path)
            if known is not None:
                return known
        name = f"{upload_id}.{uuid.uuid4().hex}" if upload_id else uuid.uuid4().hex
        tmp = self._tmp_path(name)
        digest = hashlib.sha256()
        size = 0
        try:
            with open(local_path, "rb") as src:
                self._makedirs(self._tmp_dir)
                dst = open(tmp, "wb") if self._local else self.fs.open(tmp, "wb")
                with dst:
                    while chunk := src.read(CHUNK_SIZE):
                        digest.update(chunk)
                        dst.write(chunk)
                        size += len(chunk)
                        if callback is not None:
                            callback(len(chunk))
                    if self._local:
                        dst.flush()
                        os.fsync(dst.fileno())
            sha = digest.hexdigest()
            self._install(tmp, sha)
        except BaseException as exc:
            self._discard_tmp(tmp)
            if isinstance(exc, OSError):
                raise self._storage_error(f"store the file {os.fspath(local_path)!r}", exc) from exc
            raise
        return sha, size

    def _known_object(self, local_path: str | os.PathLike[str]) -> tuple[str, int] | None:
        """`(sha256, size)` when a small file's content is stored already (marked in use, as `_install`
        does), else None. Hashing first spares a duplicate its copy, fsync and delete (about 1 ms a file
        here, most of logging a model whose files are all stored, e.g. the same model under a new name)."""
        try:
            size = os.path.getsize(local_path)
            if size > DEDUP_FIRST_MAX_BYTES:
                return None
            with open(local_path, "rb") as src:
                sha = hashlib.sha256(src.read()).hexdigest()
            os.utime(self.object_path(sha))
        except OSError:  # not stored yet (or unreadable: put_file reports it)
            return None
        return sha, size

    def _install(self, tmp: str, sha: str) -> None:
        obj = self.object_path(sha)
        parent = obj.rsplit("/", 1)[0]
        if self._local:
            if os.path.exists(obj):
                try:
                    os.utime(obj)  # "in use now": keeps a concurrent garbage collection off it
                except OSError:
                    pass  # gone meanwhile, or not ours to touch: installing our identical copy is as good
                else:
                    os.remove(tmp)
                    return
            self._makedirs(parent)
            os.replace(tmp, obj)  # atomic: readers see no object or a complete one
            _fsync_dir(parent)
            return
        if self.fs.exists(obj):
            try:
                self.fs.touch(obj, truncate=False)
            except (NotImplementedError, ValueError, OSError):
                pass  # this backend cannot refresh a timestamp: replace the object by its identical copy
            else:
                self.fs.rm_file(tmp)
                return
        self._makedirs(parent)
        self.fs.mv(tmp, obj)

    def _discard_tmp(self, tmp: str) -> None:
        try:
            if self._local:
                os.remove(tmp)
            else:
                self.fs.rm_file(tmp)
        except (OSError, NotImplementedError):
            pass

    def put_tree(
        self,
        folder: str | os.PathLike[str],
        *,
        progress: bool | None = None,
        upload_id: str | None = None,
    ) -> dict[str, tuple[str, int]]:
        """Store every file under a local folder; return `{posix relative path: (sha256, size)}`.

        `progress`: True shows a byte progress bar, False never does, None (default) shows one when the
        files total more than 50 MB. Empty folders are not recorded. Symbolic links are followed.
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
                result[rel] = self.put_file(full, upload_id=upload_id, callback=bar.update if bar else None)
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

    def _open_read(self, sha: str, label: str | None):  # noqa: ANN202
        path = self.object_path(sha)
        try:
            return open(path, "rb") if self._local else self.fs.open(path, "rb")
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
        path = self.object_path(sha)
        return os.path.isfile(path) if self._local else bool(self.fs.isfile(path))

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
        path = self.object_path(sha)
        if self._local:
            try:
                st = os.stat(path)
            except FileNotFoundError:
                return None
            return st.st_size, st.st_mtime
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        return int(info.get("size") or 0), self._mtime(path, info)

    def _mtime(self, path: str, info: Mapping[str, Any]) -> float:
        for key in ("mtime", "LastModified", "last_modified", "modified", "updated", "created"):
            stamp = _as_timestamp(info.get(key))
            if stamp is not None:
                return stamp
        try:
            stamp = _as_timestamp(self.fs.modified(path))
        except Exception:  # noqa: BLE001 - any backend failure means "unknown"
            stamp = None
        # An object of unknown age counts as brand new, so garbage collection never takes it early.
        return stamp if stamp is not None else datetime.now(timezone.utc).timestamp()

    def _list(self, folder: str) -> Iterator[tuple[str, int, float]]:
        """(path relative to folder, size, mtime) of every file under folder."""
        if self._local:
            for dirpath, _, filenames in os.walk(folder):
                for filename in filenames:
                    full = os.path.join(dirpath, filename)
                    try:
                        st = os.stat(full)
                    except FileNotFoundError:
                        continue  # removed while we listed
                    yield os.path.relpath(full, folder).replace(os.sep, "/"), st.st_size, st.st_mtime
            return
        try:
            found = self.fs.find(folder, detail=True)
        except FileNotFoundError:
            return
        prefix = folder.rstrip("/") + "/"
        for path, info in sorted(found.items()):
            if info.get("type", "file") != "file":
                continue
            path = self.fs._strip_protocol(path) if "://" in path else path
            rel = path[len(prefix):] if path.startswith(prefix) else path.rsplit("/", 1)[-1]
            yield rel, int(info.get("size") or 0), self._mtime(path, info)

    def iter_objects(self) -> Iterator[tuple[str, int, float]]:
        """`(sha256, size, mtime)` of every object in the store (mtime in seconds since the epoch)."""
        for rel, size, mtime in self._list(self._objects_dir):
            prefix, _, name = rel.rpartition("/")
            if _SHA_RE.match(name) and prefix == name[:2]:
                yield name, size, mtime

    def delete(self, sha: str) -> bool:
        """Remove object `sha`; return whether it was there. Only garbage collection should call this."""
        return self._remove(self.object_path(sha))

    def iter_tmp(self) -> Iterator[tuple[str, float]]:
        """`(name, mtime)` of every temporary file (a write in progress, or left by a crash)."""
        for rel, _, mtime in self._list(self._tmp_dir):
            yield rel, mtime

    def delete_tmp(self, name: str) -> bool:
        """Remove temporary file `name`; return whether it was there."""
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise StorageError(f"{name!r} is not the name of a temporary file of the artifact store.")
        return self._remove(self._tmp_path(name))

    def _remove(self, path: str) -> bool:
        try:
            if self._local:
                os.remove(path)
            else:
                self.fs.rm_file(path)
        except FileNotFoundError:
            return False
        return True


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
