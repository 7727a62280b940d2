"""The fsspec backend: a store behind any fsspec URL (`memory://`, `s3://…`, `gcs://…`, …).

This is the seam for remote storage: credentials and options travel in the filesystem object, so a
caller may also build one (`FsspecBackend(s3fs.S3FileSystem(...), "bucket/prefix")`) and hand it to
`ArtifactStore(url, backend=...)`. Object stores have no folders and often no way to touch a timestamp:
`makedirs` then does nothing and `refresh` says False, so the store writes an identical copy instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timezone
from typing import Any, BinaryIO

from fsspec import AbstractFileSystem

from .base import Backend


class FsspecBackend(Backend):
    """Files through an fsspec filesystem. Folders it made are remembered: each check is a round trip."""

    def __init__(self, fs: AbstractFileSystem, root: str) -> None:
        super().__init__(fs, root)
        self._made_dirs: set[str] = set()

    def makedirs(self, path: str) -> None:
        if path in self._made_dirs:
            return
        try:
            self.fs.makedirs(path, exist_ok=True)
        except (NotImplementedError, FileExistsError):
            pass  # object stores have no folders
        self._made_dirs.add(path)

    def open_write(self, path: str) -> AbstractContextManager[BinaryIO]:
        return self.fs.open(path, "wb")  # the upload completes, whole, on close

    def open_read(self, path: str) -> BinaryIO:
        return self.fs.open(path, "rb")

    def move_into_place(self, src: str, dst: str) -> None:
        self.makedirs(dst.rsplit("/", 1)[0])
        self.fs.mv(src, dst)

    def refresh(self, path: str) -> bool:
        # touch() of an absent file would create an empty one, so look first.
        if not self.fs.exists(path):
            return False
        try:
            self.fs.touch(path, truncate=False)
        except (NotImplementedError, ValueError, OSError):
            return False  # this backend cannot refresh a timestamp
        return True

    def isfile(self, path: str) -> bool:
        return bool(self.fs.isfile(path))

    def stat(self, path: str) -> tuple[int, float] | None:
        try:
            info = self.fs.info(path)
        except FileNotFoundError:
            return None
        return int(info.get("size") or 0), self._mtime(path, info)

    def iter_files(self, folder: str) -> Iterator[tuple[str, int, float]]:
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

    def remove(self, path: str) -> bool:
        try:
            self.fs.rm_file(path)
        except FileNotFoundError:
            return False
        return True

    def remove_tree(self, path: str) -> bool:
        try:
            self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            return False
        return True

    def _mtime(self, path: str, info: Mapping[str, Any]) -> float:
        # Each fsspec implementation names the modification time its own way.
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
