"""An artifact store on each backend, and ways to reach its storage from outside the store.

Every artifact-store behaviour is tested on each kind in `KINDS`: the local-file backend, the fsspec
backend on `memory://` (what an object store looks like: no folders, no touch) and the fsspec backend
on a real folder (real mtimes, real files). The helpers below change the storage behind the store's
back, as a user, a crash or a broken disk would; they go through the store's fsspec filesystem, so one
helper serves every backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem

from jupyter_mreg.store import ArtifactStore
from jupyter_mreg.store.backends import FsspecBackend

KINDS = ["local", "fsspec-memory", "fsspec-folder"]


@contextmanager
def open_store(kind: str, folder: Path) -> Iterator[ArtifactStore]:
    """A fresh, empty store of `kind`; on disk kinds live in `folder / "artifacts"`."""
    path = str(folder / "artifacts")
    if kind == "local":
        yield ArtifactStore(path)
    elif kind == "fsspec-folder":  # a folder that file:// would give the local backend: force fsspec
        yield ArtifactStore(path, backend=FsspecBackend(LocalFileSystem(), path))
    elif kind == "fsspec-memory":
        store = ArtifactStore(f"memory://mreg-test-{uuid.uuid4().hex}")
        try:
            yield store
        finally:
            if store.fs.exists(store.root):
                store.fs.rm(store.root, recursive=True)
    else:
        raise ValueError(kind)


def raw_path(store: ArtifactStore, rel: str) -> str:
    return f"{store.root}/{rel}"


def files_in(store: ArtifactStore) -> list[str]:
    """Every file under the store's root, relative to it."""
    if not store.fs.exists(store.root):
        return []
    found = store.fs.find(store.root)
    prefix = store.root.rstrip("/") + "/"
    return sorted(p[len(prefix):] for p in found)


def read_raw(store: ArtifactStore, rel: str) -> bytes:
    return store.fs.cat_file(raw_path(store, rel))


def write_raw(store: ArtifactStore, rel: str, data: bytes) -> str:
    """Write a file into the store's storage directly; return its path in `store.fs`."""
    path = raw_path(store, rel)
    store.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    store.fs.pipe_file(path, data)
    return path


def tamper(store: ArtifactStore, sha: str, change) -> None:  # noqa: ANN001
    """Rewrite object `sha` in place with `change(old bytes) -> new bytes`."""
    path = store.object_path(sha)
    store.fs.pipe_file(path, change(store.fs.cat_file(path)))


def set_mtime(store: ArtifactStore, path: str, when: float) -> None:
    """Give the file at `path` (in `store.fs`) the modification time `when`, as its age would."""
    if isinstance(store.fs, LocalFileSystem):
        os.utime(path, (when, when))
    elif isinstance(store.fs, MemoryFileSystem):  # has no call for it: its files carry their own times
        stamp = datetime.fromtimestamp(when, timezone.utc)
        entry = store.fs.store[store.fs._strip_protocol(path)]
        entry.created = entry.modified = stamp
    else:
        raise NotImplementedError(type(store.fs).__name__)
