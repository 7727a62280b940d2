"""Where things are kept: the catalog (SQLAlchemy Core, SQLite or PostgreSQL) and the content-addressed
artifact store (a local folder or any fsspec URL, see `backends/`), with atomic publish, integrity hashes
and garbage collection.

Knows nothing about frameworks, SQL magics or UI; imported whenever a registry opens, so it stays light.
"""

from __future__ import annotations

from .artifacts import ArtifactStore
from .catalog import Catalog, finish_upload, pending_upload
from .check import CheckReport, check, collect_garbage

__all__ = ["ArtifactStore", "Catalog", "CheckReport", "check", "collect_garbage", "finish_upload", "pending_upload"]
