"""The local-file backend: a store in a folder on this machine, through plain `os` calls.

Chosen for a plain path and for `file://` / `local://` URLs (see `open_backend`). Plain `os` calls rather
than fsspec's local filesystem, because only they let us fsync a file and its folder (a rename that
survives a power loss) and refresh an mtime without a second lookup.

No hard links. They would save a copy in only two places, and neither is safe: linking a stored object
out to a version's folder (`get_file`, `materialize`, a load cache) would let a write there change the
stored, immutable object for every version that shares it; linking the caller's file in (`put_file`)
would let a later write to that file change the object under its hash. Inside the store nothing is
copied to begin with: a new object is written once to `tmp/` and renamed into place, and a package that
log_model saved in `tmp/<upload_id>.staging/` is renamed file by file (`ArtifactStore.put_file(move=True)`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from .base import Backend

DEDUP_FIRST_MAX_BYTES = 16 << 20


class LocalBackend(Backend):
    """Files in a local folder: written durably (fsync of the file, then of its folder after a rename)."""

    # Hashing a stored small file first spares its copy, fsync and delete (about 1 ms a file, most of
    # logging a model whose files are all stored already, e.g. the same model under a new name).
    hash_first_max_bytes = DEDUP_FIRST_MAX_BYTES

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)  # not cached: someone may have removed it meanwhile

    @contextmanager
    def open_write(self, path: str) -> Iterator[BinaryIO]:
        with open(path, "wb") as dst:
            yield dst
            dst.flush()
            os.fsync(dst.fileno())

    def open_read(self, path: str) -> BinaryIO:
        return open(path, "rb")

    def move_into_place(self, src: str, dst: str) -> None:
        parent = os.path.dirname(dst)
        self.makedirs(parent)
        os.replace(src, dst)  # atomic on one filesystem
        _fsync_dir(parent)

    def refresh(self, path: str) -> bool:
        try:
            os.utime(path)
        except OSError:  # absent, or not ours to touch
            return False
        return True

    def isfile(self, path: str) -> bool:
        return os.path.isfile(path)

    def stat(self, path: str) -> tuple[int, float] | None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return st.st_size, st.st_mtime

    def iter_files(self, folder: str) -> Iterator[tuple[str, int, float]]:
        for dirpath, _, filenames in os.walk(folder):
            for filename in filenames:
                full = os.path.join(dirpath, filename)
                try:
                    st = os.stat(full)
                except FileNotFoundError:
                    continue  # removed while we listed
                yield os.path.relpath(full, folder).replace(os.sep, "/"), st.st_size, st.st_mtime

    def remove(self, path: str) -> bool:
        try:
            os.remove(path)
        except FileNotFoundError:
            return False
        return True

    def remove_tree(self, path: str) -> bool:
        return remove_tree(path)

    def iter_entries(self, folder: str) -> Iterator[tuple[str, float]]:
        # Unlike the default (grouping iter_files), this also lists a folder that holds no file (yet, or
        # any more): a staging folder left by a log_model killed before it wrote one.
        try:
            names = sorted(os.listdir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for name in names:
            mtime = newest_mtime(os.path.join(folder, name))
            if mtime is not None:
                yield name, mtime

    def local_path(self, path: str) -> str:
        return path


def newest_mtime(path: str) -> float | None:
    """The newest mtime of the file or folder at `path` and of everything under it; None when it is absent."""
    try:
        newest = os.lstat(path).st_mtime
    except FileNotFoundError:
        return None
    for dirpath, dirnames, filenames in os.walk(path):
        for name in (*dirnames, *filenames):
            try:
                newest = max(newest, os.lstat(os.path.join(dirpath, name)).st_mtime)
            except FileNotFoundError:
                continue  # removed while we looked
    return newest


def remove_tree(path: str) -> bool:
    """Remove the file, or the folder with everything under it, at `path`; return whether it was there."""
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    except FileNotFoundError:
        return False
    return True


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
