"""The contract between `ArtifactStore` and the storage under it: bytes and listings, nothing more.

A backend knows paths (`"/"`-joined strings under its `root`), not objects: the layout, hashing,
deduplication, verification and every user-facing error message live in `ArtifactStore`, so each backend
stays small and a new one (say, S3 with credentials) only fills in these methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import BinaryIO

from fsspec import AbstractFileSystem


class Backend(ABC):
    """Byte-level storage under one root folder, as `ArtifactStore` needs it.

    Methods raise `OSError` (or a subclass) for storage failures; `FileNotFoundError` means "absent"
    wherever a method does not say it returns False or None instead.
    """

    #: Files up to this size are hashed before they are copied, so content already stored costs one
    #: read and one `refresh` instead of a copy. 0 turns it off (worth it only where `refresh` is cheap).
    hash_first_max_bytes: int = 0

    def __init__(self, fs: AbstractFileSystem, root: str) -> None:
        self.fs = fs  # for callers who want to look inside; the store itself goes through the methods
        root = str(root)
        self.root = root.rstrip("/") if root not in ("/", "") else root

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root!r})"

    @abstractmethod
    def makedirs(self, path: str) -> None:
        """Make sure folder `path` exists (a no-op where there are no folders)."""

    @abstractmethod
    def open_write(self, path: str) -> AbstractContextManager[BinaryIO]:
        """A new file at `path` to write; its content is durable once the block exits without error."""

    @abstractmethod
    def open_read(self, path: str) -> BinaryIO:
        """The file at `path`, open for reading; `FileNotFoundError` when it is absent."""

    @abstractmethod
    def move_into_place(self, src: str, dst: str) -> None:
        """Rename `src` to `dst` (creating `dst`'s folder), replacing `dst`: readers see no `dst` or the
        whole of it, never a part."""

    @abstractmethod
    def refresh(self, path: str) -> bool:
        """Set the modification time of the file at `path` to now; False when it is absent or this
        storage cannot change a timestamp (the caller then writes an identical copy over it)."""

    @abstractmethod
    def isfile(self, path: str) -> bool:
        """Whether a file exists at `path`."""

    @abstractmethod
    def stat(self, path: str) -> tuple[int, float] | None:
        """`(size, mtime in seconds since the epoch)` of the file at `path`, or None when it is absent."""

    @abstractmethod
    def iter_files(self, folder: str) -> Iterator[tuple[str, int, float]]:
        """`(path relative to folder, size, mtime)` of every file under `folder` (none when it is absent)."""

    @abstractmethod
    def remove(self, path: str) -> bool:
        """Remove the file at `path`; return whether it was there."""

    @abstractmethod
    def remove_tree(self, path: str) -> bool:
        """Remove the file, or the folder with everything under it, at `path`; return whether it was there."""

    def iter_entries(self, folder: str) -> Iterator[tuple[str, float]]:
        """`(name, mtime)` of each file or folder directly in `folder` (none when it is absent), by name.
        A folder's mtime is the newest under it: when something last wrote there."""
        newest: dict[str, float] = {}
        for rel, _, mtime in self.iter_files(folder):  # storage without folders has no empty ones either
            name = rel.split("/", 1)[0]
            newest[name] = max(mtime, newest.get(name, mtime))
        yield from sorted(newest.items())

    def local_path(self, path: str) -> str | None:
        """`path` as a path on this machine's disk, where a file can be renamed into the store without a copy;
        None when the storage is elsewhere. A backend that returns one takes that same path everywhere."""
        return None
