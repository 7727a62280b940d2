"""Python values as the plain YAML/JSON types a manifest holds."""

from __future__ import annotations

import math
from enum import Enum
from pathlib import PurePath
from typing import Any


def plain(obj: Any) -> Any:
    """Plain YAML/JSON types: tuples become lists, numpy scalars Python numbers, enums their value."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [plain(v) for v in obj]
    if isinstance(obj, Enum):
        return plain(obj.value)
    if isinstance(obj, PurePath):
        return str(obj)
    if type(obj).__module__ == "numpy" and hasattr(obj, "tolist"):
        return plain(obj.tolist())
    return obj


_DROP = object()


def jsonable(obj: Any) -> Any:
    """`obj` as JSON types: in dicts and lists, what cannot be written (a callable, a module, ...) is left
    out; a non-finite float becomes a string. `obj` itself unwritable gives the `_DROP` marker."""
    obj = plain(obj)
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            v = jsonable(v)
            if v is not _DROP:
                out[k] = v
        return out
    if isinstance(obj, list):
        return [v for v in (jsonable(x) for x in obj) if v is not _DROP]
    return _DROP
