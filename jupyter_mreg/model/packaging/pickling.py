"""cloudpickle's pickle-by-value registration, scoped to one block of code.

A module registered by value has its code written into the pickle instead of a reference to it, so the
pickle loads where the module cannot be imported (a user's local .py, `ext_modules`).
"""

from __future__ import annotations

import sys
import types
from contextlib import contextmanager
from typing import Iterable, Iterator

from jupyter_mreg.errors import InvalidArgumentError


@contextmanager
def pickled_by_value(modules: Iterable[types.ModuleType | str]) -> Iterator[None]:
    """Register `modules` (module objects, or names of imported modules) with cloudpickle's pickle-by-value
    list while the block runs. Only the ones this call registered are unregistered afterwards (also on
    error), so nesting is safe. A module that cannot be registered raises `InvalidArgumentError`."""
    modules = list(modules)
    if not modules:
        yield
        return
    import cloudpickle

    registered = set(cloudpickle.list_registry_pickle_by_value())
    added: list[types.ModuleType] = []
    try:
        for entry in modules:
            name = entry if isinstance(entry, str) else entry.__name__
            if name in registered:
                continue
            try:
                module = sys.modules[name] if isinstance(entry, str) else entry
                cloudpickle.register_pickle_by_value(module)
            except (KeyError, ValueError) as exc:
                raise InvalidArgumentError(f"Module {name!r} cannot be pickled by value: {exc}") from exc
            registered.add(name)
            added.append(module)
        yield
    finally:
        for module in added:
            try:
                cloudpickle.unregister_pickle_by_value(module)
            except ValueError:
                pass
