"""Which imported modules are the user's own code: files no installed distribution provides.

Such modules cannot be rebuilt from the environment record, so a saved model must carry their code
(cloudpickle by value); and environment capture need not look for a distribution providing a module that
lives outside site-packages.
"""

from __future__ import annotations

import functools
import inspect
import json
import os
import site
import sys
import sysconfig
import types
from typing import Any

_OWN_PACKAGE = __name__.split(".")[0]


def is_local_module(name: str) -> bool:
    """True if `name`'s top-level package is a user's own code: a .py (or folder) outside the standard
    library and site-packages, not an installed distribution, and not jupyter_mreg itself."""
    top = name.split(".")[0]
    if top == _OWN_PACKAGE:
        return False
    loc = _location_outside_libraries(top)
    return loc is not None and not _editable_install(top, loc)


def lives_outside_libraries(name: str) -> bool:
    """True if `name`'s top-level module was imported from a file or folder outside the standard library
    and site-packages (a user's file, or an editable install). Cheap: no installed distribution is read."""
    return _location_outside_libraries(name.split(".")[0]) is not None


@functools.lru_cache(maxsize=1)
def distributions_by_top_level() -> dict[str, list[str]]:
    """`importlib.metadata.packages_distributions()`, read once per process (a scan of every installed
    distribution: slow); `{}` when the metadata cannot be read. `cache_clear()` forgets it."""
    import importlib.metadata

    try:
        return dict(importlib.metadata.packages_distributions())
    except Exception:
        return {}


@functools.lru_cache(maxsize=1)
def _library_dirs() -> tuple[str, ...]:
    dirs: set[str] = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        p = sysconfig.get_paths().get(key)
        if p:
            dirs.add(p)
    try:
        dirs.update(site.getsitepackages())
    except AttributeError:  # some embedded interpreters lack it
        pass
    user = getattr(site, "getusersitepackages", lambda: None)()
    if user:
        dirs.add(user)
    dirs.update(p for p in sys.path if p.endswith(("site-packages", "dist-packages")))
    return tuple(sorted({os.path.realpath(d) for d in dirs}))


def _editable_install(top: str, loc: str) -> bool:
    """True if `loc` belongs to a distribution installed in editable mode (`pip install -e`): installed code
    the environment capture records, not a loose local file. A mere name clash (a local `utils.py` while some
    distribution ships a top-level `utils`) does not count."""
    import importlib.metadata
    from urllib.parse import unquote, urlparse

    for dist_name in distributions_by_top_level().get(top, []):
        try:
            direct = importlib.metadata.distribution(dist_name).read_text("direct_url.json")
            url = json.loads(direct).get("url", "") if direct else ""
        except Exception:
            continue
        if url.startswith("file://") and _is_inside(loc, os.path.realpath(unquote(urlparse(url).path))):
            return True
    return False


def _location_outside_libraries(top: str) -> str | None:
    """Where the imported module `top` lives, if that is outside the standard library and site-packages."""
    if top in ("__main__", "builtins") or top in sys.builtin_module_names:
        return None
    if top in getattr(sys, "stdlib_module_names", ()):
        return None
    mod = sys.modules.get(top)
    if mod is None:
        return None
    loc = _module_location(mod)
    if loc is None or any(_is_inside(loc, d) for d in _library_dirs()):
        return None
    return loc


def _module_location(mod: types.ModuleType) -> str | None:
    file = getattr(mod, "__file__", None)
    if file:
        return os.path.realpath(file)
    paths = list(getattr(mod, "__path__", []) or [])
    return os.path.realpath(paths[0]) if paths else None


def _is_inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + os.sep)


# --- the code a class uses ----------------------------------------------------------------------------


def class_code_modules(klass: type) -> list[str]:
    """Full names of the modules a class's code comes from: its own and its bases' modules, then the
    modules of the objects its methods reach through their globals."""
    names = [base.__module__ for base in klass.__mro__ if base is not object]
    for obj in _referenced_globals(klass):
        mod = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)
        if isinstance(mod, str):
            names.append(mod)
    return names


def _referenced_globals(klass: type) -> list[Any]:
    """Objects the class's own functions reach through their module globals (one level deep)."""
    found: list[Any] = []
    for attr in vars(klass).values():
        for func in _functions_of(attr):
            glb = getattr(func, "__globals__", {})
            for name in _code_names(func.__code__):
                if name in glb:
                    found.append(glb[name])
    return found


def _functions_of(attr: Any) -> list[Any]:
    if isinstance(attr, (staticmethod, classmethod)):
        attr = attr.__func__
    if isinstance(attr, property):
        return [f for f in (attr.fget, attr.fset, attr.fdel) if inspect.isfunction(f)]
    attr = inspect.unwrap(attr) if inspect.isfunction(attr) else attr
    return [attr] if inspect.isfunction(attr) else []


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


def local_code_modules(classes: list[type]) -> list[str]:
    """Top-level names of the user's local modules that the code of `classes` comes from: what a saved
    model must carry by value (see `class_code_modules`)."""
    names = [n.split(".")[0] for klass in classes for n in class_code_modules(klass) if is_local_module(n)]
    return list(dict.fromkeys(names))
