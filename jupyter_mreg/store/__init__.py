"""Where things are kept: the catalog (SQLAlchemy Core, SQLite or PostgreSQL) and the content-addressed
artifact store (a local folder or any fsspec URL, see `backends/`), with atomic publish, integrity hashes
and garbage collection.

Knows nothing about frameworks, SQL magics or UI. The names load on first use (module `__getattr__`):
importing one submodule (e.g. `store.tables`) does not import fsspec, sqlite3 or the checker with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .artifacts import ArtifactStore, staging_name
    from .catalog import Catalog, finish_upload, pending_upload, sqlite_path
    from .check import (CheckReport, check, collect_freed, collect_garbage, files_of_versions, remember_freed,
                        remove_abandoned_staging)

_LAZY = {
    "ArtifactStore": ".artifacts",
    "staging_name": ".artifacts",
    "Catalog": ".catalog",
    "finish_upload": ".catalog",
    "pending_upload": ".catalog",
    "sqlite_path": ".catalog",
    "CheckReport": ".check",
    "check": ".check",
    "collect_garbage": ".check",
    "collect_freed": ".check",
    "files_of_versions": ".check",
    "remember_freed": ".check",
    "remove_abandoned_staging": ".check",
}

__all__ = ["ArtifactStore", "Catalog", "CheckReport", "check", "collect_freed", "collect_garbage", "files_of_versions",
           "finish_upload", "pending_upload", "remember_freed", "remove_abandoned_staging", "sqlite_path",
           "staging_name"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name], __name__)
        # Bind every name of that submodule: importing `.check` sets this package's `check` to the submodule,
        # and the function of that name must win, as it did when this file imported it eagerly.
        for exported, where in _LAZY.items():
            if where == _LAZY[name]:
                globals()[exported] = getattr(module, exported)
        return globals()[name]
    raise AttributeError(f"module 'jupyter_mreg.store' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
