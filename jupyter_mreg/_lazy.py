"""`lazy_module(name)`: a module imported on first use, for modules whose import costs what a notebook's
`from jupyter_mreg import Session` should not pay (the catalog's SQLAlchemy, fsspec)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _Deferred:
    """Stands in for a module until one of its attributes is read; then imports it (the import system's own
    lock makes that safe from many threads) and hands out its attributes."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<module {self._name!r}, imported on first use>"


def lazy_module(name: str) -> Any:
    """The module `name`, imported when one of its attributes is first read. Use it at module level, in place
    of an import, where the module is needed only inside functions."""
    return _Deferred(name)
