"""A param value turned into its ParamSpec's type and shape: plain Python values, or an error naming the param."""

from __future__ import annotations

import datetime as _dt
import decimal
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd

from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.model.signatures.types import DataType

if TYPE_CHECKING:
    from jupyter_mreg.model.signatures.specs import BaseParamSpec


def coerce_param(value: Any, spec: BaseParamSpec, *, what: str = "value", path: str | None = None) -> Any:
    """The value (nested lists for a shaped param) with every element converted to the param's DataType.

    A group's value is a dict whose keys match its children case-insensitively; the result has their own
    names and only the keys given. Raises InvalidArgumentError naming the param (`path` for a child of a
    group, e.g. "config.top_k"), the `what` ("value", "default value") and the fix.
    """
    shape = spec.shape
    name = path or spec.name
    children = getattr(spec, "specs", None)  # a ParamGroupSpec

    def fail(detail: str) -> InvalidArgumentError:
        want = ("a dict of " + ", ".join(c.name for c in children) if children else spec.dtype.name) + (
            f" with shape {shape}" if shape else "")
        return InvalidArgumentError(
            f"Param {name!r} expects {want}, but the {what} {value!r} ({type(value).__name__}) "
            f"{detail}. Pass a {want} value."
        )

    def walk(v: Any, dims: tuple[int, ...]) -> Any:
        if not dims:
            if children is not None:
                return _coerce_group(v, children, name, what, fail)
            return _coerce_scalar(v, spec.dtype, fail)
        if not isinstance(v, (list, tuple, np.ndarray)):
            raise fail(f"has a scalar {v!r} where a list is expected")
        if dims[0] != -1 and len(v) != dims[0]:
            raise fail(f"has {len(v)} elements where {dims[0]} are expected")
        return [walk(x, dims[1:]) for x in v]

    return walk(value, shape or ())


def _coerce_group(v: Any, children: list, name: str, what: str, fail: Callable[[str], Exception]) -> dict:
    if not isinstance(v, dict):
        raise fail("is not a dict")
    by_key = {c.name.upper(): c for c in children}
    out: dict[str, Any] = {}
    for key, x in v.items():
        child = by_key.get(key.upper()) if isinstance(key, str) else None
        if child is None:
            raise fail(f"has the unknown key {key!r} (keys match case-insensitively)")
        if child.name in out:
            raise fail(f"has the key {child.name!r} twice (keys match case-insensitively)")
        out[child.name] = None if x is None else coerce_param(x, child, what=what, path=f"{name}.{child.name}")
    return out


def _coerce_scalar(v: Any, dtype: DataType, fail: Callable[[str], Exception]) -> Any:
    if isinstance(v, (list, tuple, np.ndarray, dict)) and dtype is not DataType.OBJECT:
        raise fail("is a collection where a scalar is expected")
    if dtype.is_integer:
        if isinstance(v, (bool, np.bool_)):
            raise fail("is a bool")
        if isinstance(v, (int, np.integer)):
            out = int(v)
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            out = int(v)
        elif isinstance(v, str):
            try:
                out = int(v.strip())
            except ValueError:
                raise fail("is not an integer") from None
        else:
            raise fail("is not an integer")
        info = np.iinfo(dtype.as_numpy())
        if not info.min <= out <= info.max:
            raise fail(f"is outside the {dtype.name} range {info.min}..{info.max}")
        return out
    if dtype.is_float:
        if isinstance(v, (bool, np.bool_)):
            raise fail("is a bool")
        if isinstance(v, (int, float, np.integer, np.floating, decimal.Decimal)):
            out_f = float(v)
        elif isinstance(v, str):
            try:
                out_f = float(v.strip())
            except ValueError:
                raise fail("is not a number") from None
        else:
            raise fail("is not a number")
        if dtype is DataType.FLOAT and np.isfinite(out_f) and abs(out_f) > np.finfo(np.float32).max:
            raise fail("is outside the FLOAT (float32) range")
        return out_f
    if dtype is DataType.BOOL:
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        if isinstance(v, (int, np.integer)) and v in (0, 1):
            return bool(v)
        if isinstance(v, str) and v.strip().lower() in ("true", "false", "1", "0"):
            return v.strip().lower() in ("true", "1")
        raise fail("is not a bool (True/False)")
    if dtype is DataType.STRING:
        if isinstance(v, str):
            return str(v)
        raise fail("is not a str")
    if dtype is DataType.BYTES:
        if isinstance(v, (bytes, bytearray, np.bytes_)):
            return bytes(v)
        raise fail("is not bytes")
    if dtype is DataType.TIMESTAMP_NTZ:
        if isinstance(v, (_dt.datetime, _dt.date, np.datetime64, str)):
            try:
                return pd.Timestamp(v)
            except (ValueError, TypeError):
                raise fail("is not a timestamp") from None
        raise fail("is not a timestamp")
    return v  # OBJECT: anything goes
