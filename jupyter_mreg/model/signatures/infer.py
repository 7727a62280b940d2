"""Feature specs and signatures inferred from sample data: types from dtypes, object columns from their values."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from jupyter_mreg.errors import InvalidArgumentError, SignatureError
from jupyter_mreg.model.signatures.frames import is_tensor, to_frame
from jupyter_mreg.model.signatures.messages import warn
from jupyter_mreg.model.signatures.specs import (
    BaseFeatureSpec,
    BaseParamSpec,
    FeatureGroupSpec,
    FeatureSpec,
    ModelSignature,
    ParamSpec,
    as_name,
    check_unique,
)
from jupyter_mreg.model.signatures.types import (
    DataType,
    datatype_of_dtype,
    datatype_of_kinds,
    dtype_family,
    is_null_scalar,
    value_kind,
)


def _null_fill_type(dtype: Any) -> DataType:
    """The type of a column with no values: its dtype's, or STRING when the dtype says nothing (object)."""
    found = datatype_of_dtype(dtype)
    return DataType.STRING if found in (None, DataType.OBJECT) else found


def _infer_column(name: str, col: pd.Series, limit: int | None) -> BaseFeatureSpec:
    """Spec of one column: from its dtype, or from its first `limit` non-null values for object columns."""
    dtype = col.dtype
    fam = dtype_family(dtype)
    head = col.iloc[:limit] if limit else col
    head_mask = head.notna().to_numpy()
    if head_mask.any():
        sample = head[head_mask] if fam == "object" else head
    else:
        full_mask = col.notna().to_numpy()
        if not full_mask.any():
            chosen = _null_fill_type(dtype)
            warn(
                f"Column {name!r} holds only nulls, so its type cannot be inferred from values; using "
                f"{chosen.name} from its pandas dtype {dtype}. If that is wrong, pass `signatures=` with a "
                f"FeatureSpec({name!r}, DataType.<TYPE>) for it."
            )
            return FeatureSpec(name, chosen)
        # snowflake-ml-python #159: a column may be null in every sampled row yet filled later on;
        # type it from its first non-null values instead of failing.
        sample = col[full_mask].iloc[: limit or None]
    if fam != "object":
        found = datatype_of_dtype(dtype)
        if found is None:
            raise SignatureError(
                f"Column {name!r} has dtype {dtype}, which no signature DataType represents. Convert it "
                "(e.g. timedelta to seconds with `.dt.total_seconds()`, complex to two float columns) or "
                "declare the feature with `signatures=`."
            )
        return FeatureSpec(name, found)
    return _infer_values(name, list(sample))


def _infer_values(name: str, values: list) -> BaseFeatureSpec:
    """Spec of a column from its non-null Python values."""
    kinds = {value_kind(v) for v in values}
    scalar = datatype_of_kinds(kinds)
    if scalar is not None:
        return FeatureSpec(name, scalar)
    if kinds == {"dict"}:
        return _infer_group(name, values, shape=None)
    if kinds == {"array"}:
        return _infer_array(name, values)
    raise SignatureError(
        f"Column {name!r} mixes values of types {sorted(kinds)}; a column must hold one type. Convert it "
        f"(e.g. df[{name!r}].astype(str) or pd.to_numeric(df[{name!r}])) or declare the feature with "
        "`signatures=`."
    )


def _infer_group(name: str, dicts: list[dict], shape: tuple[int, ...] | None) -> FeatureGroupSpec:
    """Spec of a struct column from its dicts: one child per key seen in any of them."""
    keys: dict[Any, None] = {}
    for d in dicts:
        keys.update(dict.fromkeys(d))
    bad = [k for k in keys if not isinstance(k, str)]
    if bad:
        raise SignatureError(
            f"Column {name!r} holds dicts with non-string keys (e.g. {bad[0]!r}); a struct feature needs "
            "string field names. Convert the keys with str()."
        )
    children: list[BaseFeatureSpec] = []
    for k in keys:
        vals = [d.get(k) for d in dicts]
        present = [v for v in vals if not is_null_scalar(v)]
        if not present:
            warn(
                f"Field {k!r} of column {name!r} is null in every sampled row; typing it as STRING. Pass "
                "`signatures=` if that is wrong."
            )
            children.append(FeatureSpec(k, DataType.STRING))
        else:
            children.append(_infer_values(k, present))
    return FeatureGroupSpec(name, children, shape=shape)


def _flatten(v: Any, out: list) -> int:
    """Collect the scalars (and non-object arrays) of a nested list into `out`; returns the nesting depth."""
    if isinstance(v, np.ndarray) and v.dtype != object:
        out.append(v)
        return v.ndim
    if isinstance(v, (list, tuple, np.ndarray)):
        return 1 + max((_flatten(x, out) for x in v), default=0)
    out.append(v)
    return 0


def _infer_array(name: str, values: list) -> BaseFeatureSpec:
    """Spec of a list / tensor column: the element type, and each axis's size where all rows agree (else -1)."""
    shapes: list[tuple[int, ...]] = []
    np_dtypes: list[np.dtype] = []
    scalars: list[Any] = []
    for v in values:
        try:
            arr = v if isinstance(v, np.ndarray) else np.asarray(v)
        except ValueError:  # ragged nesting inside one cell
            arr = None
        if arr is not None and arr.dtype != object:
            shapes.append(arr.shape)
            if arr.size:
                np_dtypes.append(arr.dtype)
            continue
        flat: list[Any] = []
        depth = _flatten(v, flat)
        shapes.append(tuple([-1] * max(depth, 1)) if arr is None else arr.shape)
        for x in flat:
            if isinstance(x, np.ndarray):
                if x.size:
                    np_dtypes.append(x.dtype)
            elif not is_null_scalar(x):
                scalars.append(x)
    ndims = {len(s) for s in shapes}
    if len(ndims) == 1:
        nd = ndims.pop()
        shape = tuple(d if all(s[i] == d for s in shapes) else -1 for i, d in enumerate(shapes[0]))
        shape = shape if nd else (-1,)
    else:
        shape = (-1,)
    if scalars and all(isinstance(x, dict) for x in scalars) and not np_dtypes:
        return _infer_group(name, scalars, shape=(-1,))
    kinds = {value_kind(x) for x in scalars}
    for d in np_dtypes:
        found = datatype_of_dtype(d)
        kinds.add({DataType.STRING: "str", DataType.BYTES: "bytes", DataType.BOOL: "bool",
                   DataType.TIMESTAMP_NTZ: "datetime"}.get(found, "num"))  # type: ignore[arg-type]
    if kinds <= {"num", "int", "float"} and kinds:
        numeric = list(np_dtypes)
        if scalars:
            numeric.append(np.asarray(scalars).dtype)
        elem = datatype_of_dtype(np.result_type(*numeric)) or DataType.DOUBLE
        if not (elem.is_integer or elem.is_float):  # e.g. Decimal elements
            elem = DataType.DOUBLE
    elif not kinds:
        elem = DataType.DOUBLE  # only empty lists were seen
    else:
        elem = datatype_of_kinds(kinds)  # type: ignore[assignment]
        if elem is None:
            raise SignatureError(
                f"Column {name!r} holds lists whose elements mix types {sorted(kinds)}; the elements of a "
                "list feature must share one type. Convert them or declare the feature with `signatures=`."
            )
    return FeatureSpec(name, elem, shape=shape)


def infer_features(
    data: Any,
    *,
    prefix: str = "input_feature",
    names: Sequence[str] | None = None,
    limit: int | None = 100,
) -> list[BaseFeatureSpec]:
    """Feature specs of sample data: str column labels are kept verbatim, others become `<prefix>_<i>`.

    Types come from dtypes; object columns are typed from their values in the first `limit` rows (a
    column null in all of them is typed from its first non-null values further down; a column null
    everywhere gets its dtype's type and a UserWarning). Raises SignatureError for empty data,
    duplicate labels and mixed-type columns.
    """
    df = to_frame(data, prefix, SignatureError)[0]
    n_rows, n_cols = df.shape
    if n_rows == 0 or n_cols == 0:
        raise SignatureError(
            f"Cannot infer a signature from empty data ({n_rows} rows x {n_cols} columns). Pass sample data "
            "with at least one row, or pass `signatures=`."
        )
    if not df.columns.is_unique:
        dups = df.columns[df.columns.duplicated()].unique().tolist()
        raise SignatureError(
            f"The data has duplicate column labels {dups}; every feature needs its own column. Rename or "
            "drop the duplicates (e.g. df.loc[:, ~df.columns.duplicated()])."
        )
    labels = list(df.columns)
    if names is not None:
        names = list(names)
        if len(names) != n_cols:
            raise SignatureError(
                f"{len(names)} feature names were given ({names}) for data with {n_cols} columns; give one "
                "name per column."
            )
        for n in names:
            as_name(n, "feature")
    else:
        names = [c if isinstance(c, str) else f"{prefix}_{i}" for i, c in enumerate(labels)]
    try:
        check_unique(list(names), "The data", "feature")
    except InvalidArgumentError as e:
        raise SignatureError(f"{e} Pass feature names explicitly or rename the columns.") from None
    if limit and n_rows > limit:
        warn(
            f"The sample data has {n_rows} rows; only the first {limit} are used to infer the signature's "
            "types. Pass `signatures=` if the inferred types are wrong."
        )
    return [_infer_column(names[i], df.iloc[:, i], limit) for i in range(n_cols)]


def _infer_param(name: str, value: Any) -> BaseParamSpec:
    """ParamSpec of a param from its default value (a ParamSpec is kept as is)."""
    if isinstance(value, BaseParamSpec):
        return value
    kind = value_kind(value) if not is_null_scalar(value) else "null"
    if kind == "array":
        flat: list[Any] = []
        depth = _flatten(value, flat)
        elem_kinds: set[str] = set()
        for x in flat:
            if isinstance(x, np.ndarray):
                elem_kinds.add("float" if x.dtype.kind == "f" else value_kind(x.flat[0]) if x.size else "float")
            else:
                elem_kinds.add(value_kind(x))
        dtype = datatype_of_kinds(elem_kinds) or (DataType.DOUBLE if not elem_kinds else None)
        if dtype is None:
            raise InvalidArgumentError(
                f"Param {name!r}: the default {value!r} mixes element types {sorted(elem_kinds)}; pass "
                f"ParamSpec({name!r}, DataType.<TYPE>, default_value, shape=(-1,))."
            )
        return ParamSpec(name, dtype, value, shape=tuple([-1] * max(depth, 1)))
    if isinstance(value, np.generic):
        found = datatype_of_dtype(value.dtype)
        if found is not None:
            return ParamSpec(name, found, value)
    if kind == "dict":
        return ParamSpec(name, DataType.OBJECT, value)
    dtype = datatype_of_kinds({kind})
    if dtype is None:
        raise InvalidArgumentError(
            f"Param {name!r}: cannot infer a type from the default {value!r}; pass "
            f"ParamSpec({name!r}, DataType.<TYPE>, default_value) instead."
        )
    return ParamSpec(name, dtype, value)


def infer_signature(
    input_data: Any,
    output_data: Any,
    input_feature_names: Sequence[str] | None = None,
    output_feature_names: Sequence[str] | None = None,
    input_data_limit: int | None = 100,
    output_data_limit: int | None = 100,
    params: dict[str, Any] | Sequence[ParamSpec] | None = None,
) -> ModelSignature:
    """Signature from sample inputs and outputs; `params` is a dict of name → default, or ParamSpecs."""
    inputs = infer_features(input_data, prefix="input_feature", names=input_feature_names, limit=input_data_limit)
    outputs = infer_features(output_data, prefix="output_feature", names=output_feature_names,
                             limit=output_data_limit)
    if (isinstance(output_data, np.ndarray) and output_data.dtype != object) or is_tensor(output_data):
        # As Snowflake's numpy handler: a typed array holds no nulls, so its outputs are not nullable, and
        # run() returns them with numpy dtypes (float64, int64), not pandas' nullable ones.
        outputs = [FeatureSpec(s.name, s.dtype, s.shape, nullable=False) if isinstance(s, FeatureSpec) else s
                   for s in outputs]
    if params is None:
        param_specs: list[BaseParamSpec] = []
    elif isinstance(params, dict):
        param_specs = [_infer_param(k, v) for k, v in params.items()]
    else:
        param_specs = list(params)
    return ModelSignature(inputs=inputs, outputs=outputs, params=param_specs)

