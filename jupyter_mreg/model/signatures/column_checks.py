"""Whether one column fits one feature, and the conversion it needs; errors say what to change.

Scalar features are checked by dtype (object columns by pandas' vectorised guess of their values), never
value by value; strict validation adds range checks. List, tensor and struct features are checked per row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from jupyter_mreg.errors import DataValidationError
from jupyter_mreg.model.signatures.specs import BaseFeatureSpec, FeatureGroupSpec, FeatureSpec
from jupyter_mreg.model.signatures.types import DataType, dtype_family, is_null_scalar

# How pandas' infer_dtype kinds are named in error messages.
_INFER_WORDS = {
    "string": "str",
    "integer": "int",
    "floating": "float",
    "mixed-integer-float": "int and float",
    "boolean": "bool",
    "bytes": "bytes",
    "datetime": "datetime",
    "date": "date",
    "decimal": "Decimal",
    "empty": "all null",
    "mixed": "mixed values",
    "mixed-integer": "int mixed with other values",
}


def _object_kind(series: pd.Series) -> str:
    """pandas' vectorised guess of what an object column holds, ignoring nulls."""
    return pdt.infer_dtype(series, skipna=True)


def _first_value(series: pd.Series) -> Any:
    """The first non-null value of a column, or None when it has none."""
    first = series.dropna().iloc[:1]
    return first.iloc[0] if len(first) else None


def _describe(dtype: Any, series: pd.Series | None) -> str:
    """How an error message names a column's dtype; object columns say what they hold, e.g. `object (str)`."""
    if dtype_family(dtype) == "object" and series is not None:
        kind = _object_kind(series)
        if kind == "mixed":
            first = _first_value(series)
            if isinstance(first, (list, tuple, np.ndarray)):
                return "object (lists)"
            if isinstance(first, dict):
                return "object (dicts)"
        return f"object ({_INFER_WORDS.get(kind, kind)})"
    return str(dtype)


def _fix_hint(feature: FeatureSpec, col: Any, found_family: str) -> str:
    """The sentence telling the user how to convert a column of `found_family` to the feature's type."""
    c = f"df[{col!r}]"
    dt = feature.dtype
    if dt.is_integer:
        if found_family == "float":
            how = f"{c} = {c}.round().astype('int64') (or 'Int64' when it has missing values)"
        elif found_family == "bool":
            how = f"{c} = {c}.astype('int64')"
        else:
            how = f"{c} = pd.to_numeric({c}).astype('int64')"
    elif dt.is_float:
        how = f"{c} = {c}.astype('float64')" if found_family == "bool" else f"{c} = pd.to_numeric({c}, errors='coerce')"
    elif dt is DataType.BOOL:
        how = f"{c} = {c}.astype(bool)"
    elif dt is DataType.STRING:
        how = f"{c} = {c}.astype(str)"
    elif dt is DataType.BYTES:
        how = f"{c} = {c}.str.encode('utf-8')"
    elif dt is DataType.TIMESTAMP_NTZ:
        how = f"{c} = pd.to_datetime({c})"
    else:
        how = f"convert {c}"
    return f"Convert it with {how}, or log the model with a signature that declares this type."


class ValidationContext:
    """What the checks need to know about the call being validated: where it is, and whether it is strict."""

    def __init__(self, function_name: str, strict: bool) -> None:
        self.where = f" of method {function_name}" if function_name else ""
        self.strict = strict

    def feature_error(self, name: str, problem: str) -> DataValidationError:
        """`Data Validation Error: feature 'x' of method M <problem>`."""
        return DataValidationError(f"Data Validation Error: feature {name!r}{self.where} {problem}")


def _mismatch(
    feature: BaseFeatureSpec, col: Any, dtype: Any, series: pd.Series, ctx: ValidationContext, fix: str
) -> DataValidationError:
    """The error for a column whose dtype does not fit the feature, with the `fix` to apply."""
    want = feature.dtype.name if isinstance(feature, FeatureSpec) else feature.sql_type
    if feature.shape is not None:
        want += f" with shape {feature.shape}"
    found = _describe(dtype, series)
    return ctx.feature_error(feature.name, f"expects {want} but the column {col!r} has dtype {found}. {fix}")


def _to_float64(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype="float64", na_value=np.nan)


def check_scalar(feature: FeatureSpec, col: Any, series: pd.Series, ctx: ValidationContext) -> Any:
    """None when the column fits as is, else the converted values; raises DataValidationError."""
    dtype = series.dtype
    fam = dtype_family(dtype)
    dt = feature.dtype
    if dt is DataType.OBJECT:
        return None
    if fam == "category":
        cat_fam = dtype_family(dtype.categories.dtype)
        if cat_fam == "object":
            cat_fam = {"string": "string", "integer": "int", "floating": "float", "boolean": "bool"}.get(
                _object_kind(pd.Series(dtype.categories)), "object")
        ok = (
            (dt.is_integer and cat_fam == "int")
            or (dt.is_float and cat_fam in ("int", "float"))
            or (dt is DataType.BOOL and cat_fam == "bool")
            or (dt is DataType.STRING and cat_fam == "string")
            or (dt is DataType.TIMESTAMP_NTZ and cat_fam == "datetime")
        )
        if not ok:
            raise _mismatch(feature, col, dtype, series, ctx, _fix_hint(feature, col, cat_fam))
        return None

    is_ext = not isinstance(dtype, np.dtype)
    converted: Any = None
    if fam == "object":
        kind = _object_kind(series)
        if kind == "mixed" and feature.shape is None:
            if isinstance(_first_value(series), (list, tuple, np.ndarray)):
                raise ctx.feature_error(
                    feature.name,
                    f"is a scalar feature ({dt.name}) but the column {col!r} holds lists. Pass one {dt.name} value "
                    f"per row, or log the model with FeatureSpec({feature.name!r}, DataType.{dt.name}, "
                    "shape=(-1,))."
                )
        has_null = kind == "empty" or (kind in ("integer", "boolean") and bool(series.isna().any()))
        if dt.is_integer and kind in ("integer", "empty"):
            try:
                converted = _to_float64(series) if has_null else series.to_numpy(dtype="int64")
            except OverflowError:
                raise ctx.feature_error(
                    feature.name,
                    f"expects {dt.name} but the column {col!r} holds integers beyond the 64-bit range. Fix the "
                    "values, or log the model with DataType.DOUBLE or DataType.STRING for this feature."
                ) from None
        elif dt.is_float and kind in ("integer", "floating", "mixed-integer-float", "decimal", "empty"):
            converted = _to_float64(series)
        elif dt is DataType.BOOL and kind in ("boolean", "empty"):
            converted = None if has_null else series.to_numpy(dtype=bool)
        elif dt is DataType.STRING and kind in ("string", "empty"):
            converted = None
        elif dt is DataType.BYTES and kind in ("bytes", "empty"):
            converted = None
        elif dt is DataType.TIMESTAMP_NTZ and kind in ("datetime", "datetime64", "date", "empty"):
            converted = pd.to_datetime(series).to_numpy()
        else:
            found = {"integer": "int", "floating": "float", "mixed-integer-float": "float", "boolean": "bool",
                     "string": "string"}.get(kind, "object")
            raise _mismatch(feature, col, dtype, series, ctx, _fix_hint(feature, col, found))
        if ctx.strict:
            checked = pd.Series(converted, copy=False) if isinstance(converted, np.ndarray) else series
            _strict_checks(feature, col, checked, ctx)
        return converted

    if dt.is_integer:
        ok = fam == "int"
    elif dt.is_float:
        ok = fam in ("int", "float")
    elif dt is DataType.BOOL:
        ok = fam == "bool"
    elif dt is DataType.STRING:
        ok = fam == "string"
    elif dt is DataType.BYTES:
        ok = fam == "bytes"
    elif dt is DataType.TIMESTAMP_NTZ:
        ok = fam == "datetime"
    else:  # pragma: no cover - every DataType is handled above
        ok = False
    if not ok:
        raise _mismatch(feature, col, dtype, series, ctx, _fix_hint(feature, col, fam))
    if ctx.strict:
        _strict_checks(feature, col, series, ctx)
    if is_ext and fam in ("int", "float"):
        # Nullable / arrow numeric columns hold pd.NA, which most frameworks (sklearn, xgboost) refuse:
        # hand them numpy values, float64 with NaN when there are nulls.
        if fam == "int" and dt.is_integer and not series.hasnans:
            return series.to_numpy(dtype=dtype.numpy_dtype)
        return _to_float64(series)
    if is_ext and fam == "bool" and not series.hasnans:
        return series.to_numpy(dtype=bool)
    return None


def _strict_checks(feature: FeatureSpec, col: Any, series: pd.Series, ctx: ValidationContext) -> None:
    """Range checks for `strict_input_validation`: values must fit the declared width."""
    dt = feature.dtype
    if not feature.nullable and series.hasnans:
        raise ctx.feature_error(
            feature.name,
            f"is declared not nullable but the column {col!r} has {int(series.isna().sum())} null values (strict "
            "input validation). Fill or drop them, e.g. df.dropna(subset=[...])."
        )
    if len(series) == 0:
        return
    fam = dtype_family(series.dtype)
    if dt.is_integer and fam == "int":
        target = dt.as_numpy()
        src = series.dtype if isinstance(series.dtype, np.dtype) else series.dtype.numpy_dtype
        if np.can_cast(src, target, casting="safe"):
            return
        mn, mx = series.min(skipna=True), series.max(skipna=True)
        if pd.isna(mn):
            return
        info = np.iinfo(target)
        if int(mn) < info.min or int(mx) > info.max:
            raise ctx.feature_error(
                feature.name,
                f"expects {dt.name} (range {info.min}..{info.max}) but the column {col!r} has values from {int(mn)} "
                f"to {int(mx)} (strict input validation). Fix the values, or log the model with a wider integer "
                "type."
            )
    elif dt is DataType.FLOAT and fam == "float":
        values = _to_float64(series)
        with np.errstate(invalid="ignore"):
            finite = values if np.isfinite(values).all() else values[np.isfinite(values)]
        if finite.size == 0:
            return
        mn, mx = float(finite.min()), float(finite.max())
        fmax = float(np.finfo(np.float32).max)
        if mn < -fmax or mx > fmax:
            raise ctx.feature_error(
                feature.name,
                f"expects FLOAT (float32, range ±{fmax:.4g}) but the column {col!r} has values from {mn:.6g} to "
                f"{mx:.6g} (strict input validation). Scale the values, or log the model with DataType.DOUBLE."
            )


def check_array(feature: BaseFeatureSpec, col: Any, series: pd.Series, ctx: ValidationContext) -> None:
    """List / tensor / struct features: per-row checks (these columns are object columns anyway)."""
    is_group = isinstance(feature, FeatureGroupSpec)
    shape = feature.shape
    if dtype_family(series.dtype) != "object":
        kind = "a struct (dict) feature" if is_group else f"an array feature with shape {shape}"
        raise ctx.feature_error(
            feature.name,
            f"is {kind} but the column {col!r} holds scalar values of dtype {series.dtype}. Put one "
            f"{'dict' if is_group else 'list'} per row, e.g. df[{col!r}] = list(values)."
        )
    values = series.to_numpy()
    for i, v in enumerate(values):
        if is_null_scalar(v):
            continue
        if is_group and shape is None:
            if not isinstance(v, dict):
                raise ctx.feature_error(
                    feature.name,
                    f"is a struct (dict) feature but row {i} of column {col!r} holds {type(v).__name__} {v!r:.80}. "
                    "Put one dict per row."
                )
            continue
        if not isinstance(v, (list, tuple, np.ndarray)):
            raise ctx.feature_error(
                feature.name,
                f"is an array feature (shape {shape}) but row {i} of column {col!r} holds the scalar {v!r:.80}. Put "
                "one list per row, or log the model with a scalar FeatureSpec (shape=None)."
            )
        if is_group:
            if not all(isinstance(x, dict) or is_null_scalar(x) for x in v):
                raise ctx.feature_error(
                    feature.name,
                    f"is a list of dicts but row {i} of column {col!r} holds other elements. Put a list of dicts in "
                    "every row."
                )
            continue
        assert shape is not None
        if all(d != -1 for d in shape):
            try:
                got = np.shape(v)
            except ValueError:
                got = ("ragged",)
            if got != shape:
                raise ctx.feature_error(
                    feature.name,
                    f"expects shape {shape} in every row but row {i} of column {col!r} has shape {got}. Reshape the "
                    "data, or log the model with shape=(-1,) for a variable length."
                )
        elif len(shape) == 1 and isinstance(v, np.ndarray) and v.ndim != 1:
            raise ctx.feature_error(
                feature.name,
                f"expects a 1-D list per row but row {i} of column {col!r} has shape {v.shape}."
            )
