"""A call checked against its signature: the input data (`validate_input`) and the params (`validate_params`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from jupyter_mreg.errors import DataValidationError, InvalidArgumentError
from jupyter_mreg.model.signatures.coerce import coerce_param
from jupyter_mreg.model.signatures.column_checks import ValidationContext, check_array, check_scalar
from jupyter_mreg.model.signatures.frames import is_tensor, to_frame
from jupyter_mreg.model.signatures.messages import listing
from jupyter_mreg.model.signatures.specs import (FeatureGroupSpec, FeatureSpec, ModelSignature, ParamGroupSpec,
                                                 ParamSpec)
from jupyter_mreg.model.signatures.types import INT_TYPES, DataType


def validate_params(params: dict[str, Any] | None, signature: ModelSignature) -> dict[str, Any]:
    """Every param of the signature → the value to pass: the given one coerced to its type, else the default.

    Names match exactly, then case-insensitively (SQL arguments); `None` means "use the default". As in
    Snowflake, a given scalar arrives as a numpy scalar of its type (`np.int64`, `np.float64`, `np.bool_`;
    a STRING as str), a default as stored in the signature, and a dict given for a group param is merged
    into the group's default, key by key.
    """
    specs = [p for p in signature.params if isinstance(p, (ParamSpec, ParamGroupSpec))]
    out = {p.name: p.default_value for p in specs}
    if not params:
        return out
    exact = {p.name: p for p in specs}
    folded = {p.name.upper(): p for p in specs}
    for key, value in params.items():
        spec = exact.get(key) or (folded.get(key.upper()) if isinstance(key, str) else None)
        if spec is None:
            known = ", ".join(repr(p.name) for p in specs) or "none"
            raise InvalidArgumentError(
                f"Unknown param {key!r}: this method's signature declares the params [{known}]. Remove it, "
                "or log the model with a signature that declares it."
            )
        if value is not None:
            out[spec.name] = _as_passed(spec, coerce_param(value, spec), out[spec.name])
    return out


# Types Snowflake's method templates convert a given scalar param to with the type's numpy scalar class.
_NUMPY_SCALARS = frozenset(INT_TYPES | {DataType.FLOAT, DataType.DOUBLE, DataType.BOOL, DataType.BYTES})


def _as_passed(spec: ParamSpec | ParamGroupSpec, value: Any, default: Any) -> Any:
    """A coerced given value as the method receives it (see `validate_params`)."""
    if isinstance(spec, ParamGroupSpec):
        return _merged(spec, default, value) if spec.shape is None else value
    if spec.shape is None and spec.dtype in _NUMPY_SCALARS:
        return spec.dtype.as_numpy().type(value)
    return value


def _merged(spec: ParamGroupSpec, default: Any, given: dict[str, Any]) -> dict[str, Any]:
    """`given` (a group's dict, keys as the spec names them) over `default`, nested groups key by key."""
    if not isinstance(default, dict):
        return given
    out = {c.name: default.get(c.name) for c in spec.specs}
    for child in spec.specs:
        if child.name not in given:
            continue
        value = given[child.name]
        nested = isinstance(child, ParamGroupSpec) and child.shape is None and isinstance(value, dict)
        out[child.name] = _merged(child, out[child.name], value) if nested else value
    return out


# numpy dtype kinds a feature of each type takes without conversion or a look at the values.
_FAST_KINDS: dict[DataType, str] = {
    **{t: "iu" for t in INT_TYPES},
    DataType.FLOAT: "iuf",
    DataType.DOUBLE: "iuf",
    DataType.BOOL: "b",
    DataType.STRING: "U",
    DataType.BYTES: "S",
    DataType.TIMESTAMP_NTZ: "M",
    DataType.OBJECT: "biufcmMOSUV",
}


def _is_positional(columns: pd.Index) -> bool:
    """Whether a frame's labels are positions (a RangeIndex or integers), so features match by position."""
    if isinstance(columns, pd.RangeIndex):
        return True
    return len(columns) > 0 and all(
        isinstance(c, (int, np.integer)) and not isinstance(c, (bool, np.bool_)) for c in columns
    )


def _match_columns(df: pd.DataFrame, names: list[str], ctx: ValidationContext) -> list[int]:
    """Position in `df` of each signature feature: exact label first, then case-insensitive."""
    labels = list(df.columns)
    exact: dict[Any, list[int]] = {}
    folded: dict[str, list[int]] = {}
    for i, c in enumerate(labels):
        exact.setdefault(c, []).append(i)
        if isinstance(c, str):
            folded.setdefault(c.upper(), []).append(i)
    positions: list[int] = []
    missing: list[str] = []
    for n in names:
        hits = exact.get(n) or folded.get(n.upper(), [])
        if len(hits) == 1:
            positions.append(hits[0])
        elif not hits:
            missing.append(n)
        else:
            found = [labels[i] for i in hits]
            raise ctx.feature_error(
                n, f"matches more than one column {found} (column names match case-insensitively). Keep only "
                "one of them."
            )
    if missing:
        feats = ", ".join(repr(m) for m in missing)
        noun = "feature" if len(missing) == 1 else "features"
        hint = ""
        if all(n.startswith("input_feature_") for n in names):
            hint = (" The signature uses positional names (the model was logged with unnamed sample data): "
                    "pass the columns in signature order with integer labels, e.g. df.to_numpy() or "
                    "df.set_axis(range(df.shape[1]), axis=1).")
        raise DataValidationError(
            f"Data Validation Error: {noun} {feats}{ctx.where} does not exist in the input data. Available "
            f"columns are {listing(labels)}. Add or rename the column (names match case-insensitively).{hint}"
        )
    return positions


def validate_input(
    data: Any,
    signature: ModelSignature,
    *,
    strict: bool = False,
    function_name: str = "",
) -> pd.DataFrame:
    """The input as a DataFrame with the signature's columns, in its order, with acceptable dtypes.

    A DataFrame that already fits is returned as is (same object). Integer-labelled frames and non-pandas
    data (numpy, lists) are matched by position; named frames by name, exactly then case-insensitively,
    extra columns dropped. Nullable numeric columns are handed on as numpy (float64 + NaN when they hold
    nulls). `strict=True` adds range checks (integer widths, float32). Raises DataValidationError.
    """
    df, named = to_frame(_as_recorded(data, signature.inputs), "input_feature", DataValidationError)
    if named and not strict and _fits_as_is(df, signature.inputs):
        return df
    return _validate_frame(df, named, signature, strict, function_name)


def _as_recorded(data: Any, features: list) -> Any:
    """A lone tensor or array as the one shaped feature a signature records for it: signatures inferred before
    a tensor `[N, k]` became k scalar features (and `signatures=` written that way) take it as one column."""
    if (len(features) == 1 and isinstance(features[0], FeatureSpec) and features[0].shape is not None
            and (is_tensor(data) or (isinstance(data, np.ndarray) and not data.dtype.names))
            and len(data.shape) == len(features[0].shape) + 1):
        return [data]
    return data


def _fits_as_is(df: pd.DataFrame, features: list) -> bool:
    """Whether `_validate_frame` would hand `df` back untouched without looking at any values: its labels
    are the features' names in order, and every column has a plain numpy dtype of its scalar feature's
    family (`_FAST_KINDS`). Those are the general path's own tests, done once for the whole frame (one
    `df.dtypes`, no per-column Series), so a frame that passes gets the same answer; any other frame, or
    any error, is left to the general path and its messages. Not for strict validation (it reads values).
    """
    columns = df.columns
    # Feature names are str, so labels equal to them are never the integer labels of positional matching.
    if not features or len(columns) != len(features) or columns.tolist() != [f.name for f in features]:
        return False
    for feature, dtype in zip(features, df.dtypes.tolist()):
        if not isinstance(feature, FeatureSpec) or feature.shape is not None:
            return False
        if not isinstance(dtype, np.dtype) or dtype.kind not in _FAST_KINDS[feature.dtype]:
            return False
    return True


def _validate_frame(
    df: pd.DataFrame, named: bool, signature: ModelSignature, strict: bool, function_name: str
) -> pd.DataFrame:
    """`validate_input`'s general path: match columns to features, check each, convert where needed."""
    ctx = ValidationContext(function_name, strict)
    features = signature.inputs
    names = [f.name for f in features]
    columns = df.columns

    if not named or _is_positional(columns):
        if len(columns) != len(names):
            raise DataValidationError(
                "Data does not have the same number of features as signature. Signature requires "
                f"{len(names)} features, but have {len(columns)} in input data. The input has no column "
                f"names, so columns are matched by position to {listing(names)}{ctx.where}; pass exactly "
                "these columns in this order, or a DataFrame with these column names."
            )
        positions = list(range(len(names)))
    elif len(columns) == len(names) and all(a == b for a, b in zip(columns, names)):
        positions = list(range(len(names)))  # fast path: nothing to match
    else:
        positions = _match_columns(df, names, ctx)

    dtypes = df.dtypes.tolist()  # one list, not a Series lookup per column
    conversions: dict[int, Any] = {}
    for out_pos, (feature, pos) in enumerate(zip(features, positions)):
        col = columns[pos]
        if isinstance(feature, FeatureGroupSpec) or feature.shape is not None:
            check_array(feature, col, df.iloc[:, pos], ctx)
            continue
        assert isinstance(feature, FeatureSpec)
        dtype = dtypes[pos]
        # Plain numpy columns of the right family need no look at the data unless strict.
        if isinstance(dtype, np.dtype) and not strict and dtype.kind in _FAST_KINDS[feature.dtype]:
            continue
        converted = check_scalar(feature, col, df.iloc[:, pos], ctx)
        if converted is not None:
            conversions[out_pos] = converted

    out = df
    if positions != list(range(len(columns))):
        out = out.iloc[:, positions]  # lazy (copy-on-write): no data is copied here
    if list(out.columns) != names:
        out = out.set_axis(names, axis=1)
    if conversions:
        if out is df:
            out = df.copy(deep=False)  # never write into the caller's frame
        for i, values in conversions.items():
            out.isetitem(i, values)
    return out

