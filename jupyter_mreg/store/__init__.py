"""Where things are kept: the catalog (SQLAlchemy Core, SQLite or PostgreSQL) and the content-addressed
artifact store (a local folder or any fsspec URL, see `backends/`), with atomic publish, integrity hashes
and garbage collection.

Knows nothing about frameworks, SQL magics or UI. Its names load on first use (SQLAlchemy and fsspec cost
more to import than a notebook's `from jupyter_mreg import Session` should).
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "ArtifactStore": "artifacts",
    "Catalog": "catalog", "finish_upload": "catalog", "pending_upload": "catalog",
    "CheckReport": "check", "check": "check", "collect_garbage": "check",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    home = importlib.import_module(f"{__name__}.{_HOMES[name]}")
    # Bind every name of that module now: importing `check.py` made `check` the module, not the function.
    globals().update({n: getattr(home, n) for n, h in _HOMES.items() if h == _HOMES[name]})
    return globals()[name]
