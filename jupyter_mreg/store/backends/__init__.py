"""Where an artifact store's bytes live: one backend per kind of storage, chosen once, by URL.

- `local.LocalBackend`: a plain path, `file://…` or `local://…` — plain `os` calls, fsync'd renames.
- `fsspec_backend.FsspecBackend`: every other fsspec URL (`memory://`, `s3://…`, …).

`file://` goes to the local backend on purpose: it is the same folder as the plain path, and only the
local backend makes writes durable across a power loss and has the small-file dedup fast path.
"""

from __future__ import annotations

from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from .base import Backend
from .fsspec_backend import FsspecBackend
from .local import LocalBackend

__all__ = ["Backend", "FsspecBackend", "LocalBackend", "open_backend"]


def open_backend(url: str) -> Backend:
    """The backend for `url`: local when fsspec resolves it to this machine's disk, fsspec otherwise.

    Raises `ImportError` when the URL's fsspec implementation is not installed and `ValueError` when its
    protocol is unknown.
    """
    fs, root = url_to_fs(url)  # fsspec's own parsing: Windows drive letters, chained URLs, options
    backend = LocalBackend if isinstance(fs, LocalFileSystem) else FsspecBackend
    return backend(fs, root)
