"""Model signatures: what a model method takes and returns, as in `snowflake.ml.model.model_signature`.

Public: `DataType`, `FeatureSpec`, `FeatureGroupSpec`, `ParamSpec`, `ModelSignature`, `infer_signature`.
Internal helpers the rest of the package calls: `to_pandas`, `infer_features`, `validate_input`,
`validate_params`, `format_output`.

`validate_input` runs on every `run()`, so it only looks at dtypes for numeric and bool columns (never at
single values) and returns the caller's DataFrame unchanged when it already fits.
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import html
import sys
import textwrap
import warnings
from enum import Enum
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from jupyter_mreg.errors import DataValidationError, InvalidArgumentError, SignatureError

__all__ = [
    "DataType",
    "BaseFeatureSpec",
    "FeatureSpec",
    "FeatureGroupSpec",
    "BaseParamSpec",
    "ParamSpec",
    "ModelSignature",
    "infer_signature",
]

# How many values / columns an error message shows before it says "... and N more".
_MAX_LISTED = 30


def _warn(message: str) -> None:
    """UserWarning pointing at the first caller outside this module (the user's or the registry's line)."""
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)


# --------------------------------------------------------------------------------------------------------
# DataType
# --------------------------------------------------------------------------------------------------------


class DataType(Enum):
    """The type of a feature's elements; each maps to one numpy dtype and one SQL type."""

    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    UINT8 = "uint8"
    UINT16 = "uint16"
    UINT32 = "uint32"
    UINT64 = "uint64"
    FLOAT = "float"
    DOUBLE = "double"
    BOOL = "bool"
    STRING = "string"
    BYTES = "bytes"
    TIMESTAMP_NTZ = "datetime64[ns]"
    OBJECT = "object"

    def __repr__(self) -> str:
        return f"DataType.{self.name}"

    def as_numpy(self) -> np.dtype:
        """The numpy dtype of this type (STRING → `<U`, OBJECT → object, TIMESTAMP_NTZ → datetime64[ns])."""
        return _NUMPY_OF[self]

    @property
    def sql_type(self) -> str:
        """The Snowflake SQL type name a scalar of this type has (NUMBER, FLOAT, VARCHAR, ...)."""
        return _SQL_OF[self]

    @property
    def is_integer(self) -> bool:
        return self in _INT_TYPES

    @property
    def is_float(self) -> bool:
        return self in (DataType.FLOAT, DataType.DOUBLE)

    @classmethod
    def from_numpy_type(cls, dtype: Any) -> DataType:
        """The DataType of a numpy or pandas dtype (also a dtype name, a Python type, or an array/Series).

        Pandas extension dtypes map to their base type: Int64 → INT64, Float64 → DOUBLE, boolean → BOOL,
        string / str → STRING, datetime64[any unit] → TIMESTAMP_NTZ. A bare object dtype is OBJECT; pass
        the array or Series itself to have an object column of str typed as STRING.
        """
        values = None
        if isinstance(dtype, (pd.Series, pd.Index, np.ndarray)):
            values, dtype = np.asarray(dtype).ravel(), dtype.dtype
        try:
            if isinstance(dtype, str):
                dtype = pdt.pandas_dtype(dtype)
            elif isinstance(dtype, type) and not isinstance(dtype, np.dtype):
                py = _PYTHON_TYPES.get(dtype)
                if py is not None:
                    return py
                dtype = np.dtype(dtype)
        except TypeError:
            dtype = None
        if values is not None and _family(dtype) == "object":
            sample = [v for v in values[:1000] if not _is_null_scalar(v)]
            kinds = {_classify(v) for v in sample}
            found = _scalar_type_of_kinds(kinds)
            if found is not None:
                return found
            return cls.OBJECT
        found = _datatype_of_dtype(dtype) if dtype is not None else None
        if found is None:
            raise SignatureError(
                f"dtype {dtype} has no signature DataType. Supported: integers, floats, bool, str, bytes, "
                "datetime64 and object columns. Convert the data (e.g. timedelta to seconds with "
                "`.dt.total_seconds()`) or declare the feature with `signatures=`."
            )
        return found

    @classmethod
    def from_python_type(cls, python_type: type) -> DataType:
        """The DataType of a Python scalar type: int → INT64, float → DOUBLE, str, bool, bytes, datetime."""
        found = _PYTHON_TYPES.get(python_type)
        if found is None:
            raise SignatureError(
                f"Python type {python_type.__name__} has no signature DataType; expected one of "
                f"{', '.join(t.__name__ for t in _PYTHON_TYPES)}."
            )
        return found


_INT_TYPES = frozenset(
    {
        DataType.INT8,
        DataType.INT16,
        DataType.INT32,
        DataType.INT64,
        DataType.UINT8,
        DataType.UINT16,
        DataType.UINT32,
        DataType.UINT64,
    }
)

_NUMPY_OF: dict[DataType, np.dtype] = {
    DataType.INT8: np.dtype(np.int8),
    DataType.INT16: np.dtype(np.int16),
    DataType.INT32: np.dtype(np.int32),
    DataType.INT64: np.dtype(np.int64),
    DataType.UINT8: np.dtype(np.uint8),
    DataType.UINT16: np.dtype(np.uint16),
    DataType.UINT32: np.dtype(np.uint32),
    DataType.UINT64: np.dtype(np.uint64),
    DataType.FLOAT: np.dtype(np.float32),
    DataType.DOUBLE: np.dtype(np.float64),
    DataType.BOOL: np.dtype(np.bool_),
    DataType.STRING: np.dtype(np.str_),
    DataType.BYTES: np.dtype(np.bytes_),
    DataType.TIMESTAMP_NTZ: np.dtype("datetime64[ns]"),
    DataType.OBJECT: np.dtype(object),
}

_SQL_OF: dict[DataType, str] = {
    **{t: "NUMBER" for t in _INT_TYPES},
    DataType.FLOAT: "FLOAT",
    DataType.DOUBLE: "FLOAT",
    DataType.BOOL: "BOOLEAN",
    DataType.STRING: "VARCHAR",
    DataType.BYTES: "BINARY",
    DataType.TIMESTAMP_NTZ: "TIMESTAMP_NTZ",
    DataType.OBJECT: "OBJECT",
}

_PYTHON_TYPES: dict[type, DataType] = {
    bool: DataType.BOOL,
    int: DataType.INT64,
    float: DataType.DOUBLE,
    str: DataType.STRING,
    bytes: DataType.BYTES,
    _dt.datetime: DataType.TIMESTAMP_NTZ,
}

_SIGNED_BY_SIZE = {1: DataType.INT8, 2: DataType.INT16, 4: DataType.INT32, 8: DataType.INT64}
_UNSIGNED_BY_SIZE = {1: DataType.UINT8, 2: DataType.UINT16, 4: DataType.UINT32, 8: DataType.UINT64}


def _family(dtype: Any) -> str:
    """Coarse kind of a numpy / pandas dtype: int, float, bool, string, bytes, datetime, object, category..."""
    if isinstance(dtype, np.dtype):
        return _NUMPY_KIND_FAMILY.get(dtype.kind, "other")
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    if isinstance(dtype, pd.StringDtype):
        return "string"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime"
    if dtype is None:
        return "other"
    # Other extension dtypes (Int64, Float64, boolean, pyarrow-backed): ask pandas.
    if pdt.is_bool_dtype(dtype):
        return "bool"
    if pdt.is_integer_dtype(dtype):
        return "int"
    if pdt.is_float_dtype(dtype):
        return "float"
    if pdt.is_datetime64_any_dtype(dtype):
        return "datetime"
    if pdt.is_string_dtype(dtype):
        return "string"
    return "other"


_NUMPY_KIND_FAMILY = {
    "b": "bool",
    "i": "int",
    "u": "int",
    "f": "float",
    "U": "string",
    "S": "bytes",
    "M": "datetime",
    "m": "timedelta",
    "c": "complex",
    "O": "object",
}


def _datatype_of_dtype(dtype: Any) -> DataType | None:
    """DataType of a dtype, or None when there is none (timedelta, complex, void...)."""
    fam = _family(dtype)
    if fam == "category":
        return _datatype_of_dtype(dtype.categories.dtype)
    if fam in ("int", "float"):
        np_dtype = dtype if isinstance(dtype, np.dtype) else getattr(dtype, "numpy_dtype", None)
        if np_dtype is None:
            return None
        if fam == "float":
            # float16 widens to FLOAT: there is no half-precision DataType.
            return DataType.DOUBLE if np_dtype.itemsize >= 8 else DataType.FLOAT
        table = _UNSIGNED_BY_SIZE if np_dtype.kind == "u" else _SIGNED_BY_SIZE
        return table.get(np_dtype.itemsize)
    return {
        "bool": DataType.BOOL,
        "string": DataType.STRING,
        "bytes": DataType.BYTES,
        "datetime": DataType.TIMESTAMP_NTZ,
        "object": DataType.OBJECT,
    }.get(fam)


# --------------------------------------------------------------------------------------------------------
# Spec classes
# --------------------------------------------------------------------------------------------------------


def _as_datatype(dtype: Any, owner: str) -> DataType:
    if isinstance(dtype, DataType):
        return dtype
    if isinstance(dtype, str) and dtype.upper() in DataType.__members__:
        return DataType[dtype.upper()]
    raise InvalidArgumentError(
        f"{owner}: dtype must be a DataType (e.g. DataType.DOUBLE) or its name, but got {dtype!r}. "
        f"Known types: {', '.join(DataType.__members__)}."
    )


def _as_shape(shape: Any, owner: str) -> tuple[int, ...] | None:
    if shape is None:
        return None
    if isinstance(shape, (list, tuple)) and all(
        isinstance(d, (int, np.integer)) and not isinstance(d, bool) and (d > 0 or d == -1) for d in shape
    ):
        return tuple(int(d) for d in shape) if shape else None
    raise InvalidArgumentError(
        f"{owner}: shape must be None (a scalar) or a tuple of positive sizes, -1 for a variable size, "
        f"e.g. (3,) or (-1,); got {shape!r}."
    )


def _as_name(name: Any, kind: str) -> str:
    if isinstance(name, str) and name:
        return str(name)
    raise InvalidArgumentError(f"A {kind} name must be a non-empty string, but got {name!r}.")


def _shape_sql(inner: str, shape: tuple[int, ...] | None) -> str:
    for _ in shape or ():
        inner = f"ARRAY({inner})"
    return inner


class BaseFeatureSpec:
    """A named input or output of a model method."""

    _name: str
    _shape: tuple[int, ...] | None

    @property
    def name(self) -> str:
        return self._name

    @property
    def shape(self) -> tuple[int, ...] | None:
        """None for a scalar; a tuple of sizes (-1 = variable) for a list / tensor per row."""
        return self._shape

    def to_dict(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def sql_type(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def from_dict(cls, input_dict: dict[str, Any]) -> BaseFeatureSpec:
        """Either kind of spec, chosen by the dict's keys (a group has "specs")."""
        if "specs" in input_dict or "feature_group" in input_dict:
            return FeatureGroupSpec.from_dict(input_dict)
        return FeatureSpec.from_dict(input_dict)


class FeatureSpec(BaseFeatureSpec):
    """One column: a name, an element DataType, an optional per-row shape, and whether nulls may appear."""

    def __init__(
        self,
        name: str,
        dtype: DataType,
        shape: tuple[int, ...] | None = None,
        nullable: bool = True,
    ) -> None:
        self._name = _as_name(name, "feature")
        self._dtype = _as_datatype(dtype, f"FeatureSpec {name!r}")
        self._shape = _as_shape(shape, f"FeatureSpec {name!r}")
        self._nullable = bool(nullable)

    @property
    def dtype(self) -> DataType:
        return self._dtype

    @property
    def nullable(self) -> bool:
        return self._nullable

    @property
    def sql_type(self) -> str:
        return _shape_sql(self._dtype.sql_type, self._shape)

    def as_dtype(self) -> np.dtype:
        """The numpy dtype of a column holding this feature (object for list / tensor features)."""
        return self._dtype.as_numpy() if self._shape is None else np.dtype(object)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FeatureSpec):
            return NotImplemented
        return (self._name, self._dtype, self._shape, self._nullable) == (
            other._name,
            other._dtype,
            other._shape,
            other._nullable,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shape = f", shape={self._shape!r}" if self._shape is not None else ""
        return f"FeatureSpec(dtype={self._dtype!r}, name={self._name!r}{shape}, nullable={self._nullable!r})"

    def to_dict(self) -> dict[str, Any]:
        """`{"type": "DOUBLE", "name": ..., "nullable": true[, "shape": [...]]}`, JSON-able."""
        out: dict[str, Any] = {"type": self._dtype.name, "name": self._name, "nullable": self._nullable}
        if self._shape is not None:
            out["shape"] = list(self._shape)
        return out

    @classmethod
    def from_dict(cls, input_dict: dict[str, Any]) -> FeatureSpec:
        try:
            dtype = DataType[input_dict["type"]]
            name = input_dict["name"]
        except KeyError as e:
            raise SignatureError(
                f"Feature spec {input_dict!r} is missing or has an unknown {e}; expected "
                '{"type": <DataType name>, "name": <str>, "nullable": <bool>, "shape": [..] (optional)}.'
            ) from None
        shape = input_dict.get("shape")
        return cls(name=name, dtype=dtype, shape=tuple(shape) if shape else None,
                   nullable=input_dict.get("nullable", True))


class FeatureGroupSpec(BaseFeatureSpec):
    """A dict / struct-valued column: named child specs (an ARRAY of them when `shape` is set)."""

    def __init__(self, name: str, specs: Sequence[BaseFeatureSpec], shape: tuple[int, ...] | None = None) -> None:
        self._name = _as_name(name, "feature group")
        self._specs = list(specs)
        self._shape = _as_shape(shape, f"FeatureGroupSpec {name!r}")
        if not self._specs:
            raise InvalidArgumentError(
                f"FeatureGroupSpec {name!r} has no child specs; give at least one FeatureSpec."
            )
        bad = [s for s in self._specs if not isinstance(s, BaseFeatureSpec)]
        if bad:
            raise InvalidArgumentError(
                f"FeatureGroupSpec {name!r}: children must be FeatureSpec or FeatureGroupSpec, got {bad[0]!r}."
            )
        _check_unique([s.name for s in self._specs], f"FeatureGroupSpec {name!r}", "child feature")

    @property
    def specs(self) -> list[BaseFeatureSpec]:
        return self._specs

    @property
    def nullable(self) -> bool:
        return True

    @property
    def sql_type(self) -> str:
        return _shape_sql("OBJECT", self._shape)

    def as_dtype(self) -> np.dtype:
        return np.dtype(object)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FeatureGroupSpec):
            return NotImplemented
        return (self._name, self._specs, self._shape) == (other._name, other._specs, other._shape)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shape = f", shape={self._shape!r}" if self._shape is not None else ""
        children = ",\n".join(textwrap.indent(repr(s), "    ") for s in self._specs)
        return f"FeatureGroupSpec(name={self._name!r}, specs=[\n{children}\n]{shape})"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self._name, "specs": [s.to_dict() for s in self._specs]}
        if self._shape is not None:
            out["shape"] = list(self._shape)
        return out

    @classmethod
    def from_dict(cls, input_dict: dict[str, Any]) -> FeatureGroupSpec:
        # Older Snowflake files wrap the group as {"feature_group": {...}}.
        d = input_dict.get("feature_group", input_dict)
        shape = d.get("shape")
        return cls(
            name=d["name"],
            specs=[BaseFeatureSpec.from_dict(s) for s in d["specs"]],
            shape=tuple(shape) if shape else None,
        )


class BaseParamSpec:
    """An inference-time keyword argument of a method (constant for a whole call)."""

    _name: str
    _shape: tuple[int, ...] | None

    @property
    def name(self) -> str:
        return self._name

    @property
    def shape(self) -> tuple[int, ...] | None:
        return self._shape


class ParamSpec(BaseParamSpec):
    """A named parameter with a DataType and a default used when a call does not pass it."""

    def __init__(self, name: str, dtype: DataType, default_value: Any, shape: tuple[int, ...] | None = None) -> None:
        self._name = _as_name(name, "param")
        self._dtype = _as_datatype(dtype, f"ParamSpec {name!r}")
        self._shape = _as_shape(shape, f"ParamSpec {name!r}")
        # Stored as plain Python values so to_dict is JSON-able and equality is exact.
        self._default_value = (
            None if default_value is None else _coerce_param(default_value, self, what="default value")
        )

    @property
    def dtype(self) -> DataType:
        return self._dtype

    @property
    def default_value(self) -> Any:
        return self._default_value

    @property
    def sql_type(self) -> str:
        return _shape_sql(self._dtype.sql_type, self._shape)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParamSpec):
            return NotImplemented
        return (self._name, self._dtype, self._shape, self._default_value) == (
            other._name,
            other._dtype,
            other._shape,
            other._default_value,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shape = f", shape={self._shape!r}" if self._shape is not None else ""
        return (
            f"ParamSpec(name={self._name!r}, dtype={self._dtype!r}, "
            f"default_value={self._default_value!r}{shape})"
        )

    def to_dict(self) -> dict[str, Any]:
        """`{"name", "dtype", "default_value"[, "shape"]}`; timestamps as ISO text, bytes as base64."""
        out: dict[str, Any] = {
            "name": self._name,
            "dtype": self._dtype.name,
            "default_value": _map_nested(self._default_value, self._shape, self._jsonable),
        }
        if self._shape is not None:
            out["shape"] = list(self._shape)
        return out

    def _jsonable(self, v: Any) -> Any:
        if v is None:
            return None
        if self._dtype is DataType.TIMESTAMP_NTZ:
            return v.isoformat()
        if self._dtype is DataType.BYTES:
            return base64.b64encode(v).decode("ascii")
        return v

    @classmethod
    def from_dict(cls, input_dict: dict[str, Any]) -> ParamSpec:
        dtype = DataType[input_dict["dtype"]]
        shape = input_dict.get("shape")
        shape = tuple(shape) if shape else None
        default = input_dict.get("default_value")
        if dtype is DataType.BYTES:
            default = _map_nested(default, shape, lambda v: None if v is None else base64.b64decode(v))
        return cls(name=input_dict["name"], dtype=dtype, default_value=default, shape=shape)


def _map_nested(value: Any, shape: tuple[int, ...] | None, fn: Callable[[Any], Any]) -> Any:
    if value is None or not shape:
        return fn(value)
    return [_map_nested(v, shape[1:] or None, fn) for v in value]


def _check_unique(names: list[str], owner: str, kind: str) -> None:
    seen: set[str] = set()
    dups = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if dups:
        raise InvalidArgumentError(
            f"{owner} has duplicate {kind} names {sorted(set(dups))}; every {kind} needs its own name."
        )


class ModelSignature:
    """Inputs, outputs and params of one model method."""

    def __init__(
        self,
        inputs: Sequence[BaseFeatureSpec],
        outputs: Sequence[BaseFeatureSpec],
        params: Sequence[BaseParamSpec] | None = None,
    ) -> None:
        self._inputs = list(inputs)
        self._outputs = list(outputs)
        self._params = list(params or [])
        for label, specs, cls in (
            ("inputs", self._inputs, BaseFeatureSpec),
            ("outputs", self._outputs, BaseFeatureSpec),
            ("params", self._params, BaseParamSpec),
        ):
            for s in specs:
                if not isinstance(s, cls):
                    raise InvalidArgumentError(
                        f"ModelSignature {label} must be {cls.__name__.replace('Base', '')} objects, "
                        f"but got {s!r} ({type(s).__name__})."
                    )
        _check_unique([s.name for s in self._inputs], "ModelSignature inputs", "feature")
        _check_unique([s.name for s in self._outputs], "ModelSignature outputs", "feature")
        self._check_param_names()

    def _check_param_names(self) -> None:
        # Params become trailing SQL arguments, and SQL identifiers fold case: names must differ
        # case-insensitively from each other and from the inputs.
        inputs = {s.name.upper(): s.name for s in self._inputs}
        seen: dict[str, str] = {}
        for p in self._params:
            key = p.name.upper()
            if key in seen:
                raise InvalidArgumentError(
                    f"Params {seen[key]!r} and {p.name!r} have the same name ignoring case; params are SQL "
                    "arguments, whose names are case-insensitive. Rename one of them."
                )
            if key in inputs:
                raise InvalidArgumentError(
                    f"Param {p.name!r} has the same name as input feature {inputs[key]!r} (names are "
                    "compared case-insensitively, like SQL identifiers). Rename the param or the feature."
                )
            seen[key] = p.name

    @property
    def inputs(self) -> list[BaseFeatureSpec]:
        return self._inputs

    @property
    def outputs(self) -> list[BaseFeatureSpec]:
        return self._outputs

    @property
    def params(self) -> list[BaseParamSpec]:
        return self._params

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ModelSignature):
            return NotImplemented
        return (self._inputs, self._outputs, self._params) == (other._inputs, other._outputs, other._params)

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """`{"inputs": [...], "outputs": [...], "params": [...]}`: JSON-able; `from_dict` inverts it exactly."""
        return {
            "inputs": [s.to_dict() for s in self._inputs],
            "outputs": [s.to_dict() for s in self._outputs],
            "params": [p.to_dict() for p in self._params],  # type: ignore[attr-defined]
        }

    @classmethod
    def from_dict(cls, loaded: dict[str, Any]) -> ModelSignature:
        try:
            return cls(
                inputs=[BaseFeatureSpec.from_dict(s) for s in loaded["inputs"]],
                outputs=[BaseFeatureSpec.from_dict(s) for s in loaded["outputs"]],
                params=[ParamSpec.from_dict(p) for p in loaded.get("params") or []],
            )
        except KeyError as e:
            raise SignatureError(
                f"Signature dict is missing key {e}; expected {{'inputs': [...], 'outputs': [...], "
                "'params': [...]}} as written by ModelSignature.to_dict()."
            ) from None

    def __repr__(self) -> str:
        def block(label: str, specs: Sequence[Any]) -> str:
            if not specs:
                return f"    {label}=[],"
            body = ",\n".join(textwrap.indent(repr(s), " " * 8) for s in specs)
            return f"    {label}=[\n{body}\n    ],"

        return "\n".join(
            ["ModelSignature(", block("inputs", self._inputs), block("outputs", self._outputs),
             block("params", self._params), ")"]
        )

    def _repr_html_(self) -> str:
        rows: list[str] = []

        def add(section: str, name: str, typ: str, extra: str) -> None:
            rows.append(
                "<tr>"
                f"<td>{html.escape(section)}</td><td><code>{html.escape(name)}</code></td>"
                f"<td>{html.escape(typ)}</td><td>{html.escape(extra)}</td>"
                "</tr>"
            )

        def add_features(section: str, specs: Sequence[BaseFeatureSpec], prefix: str = "") -> None:
            for s in specs:
                if isinstance(s, FeatureGroupSpec):
                    add(section, prefix + s.name, s.sql_type, "group")
                    add_features(section, s.specs, prefix + s.name + ".")
                else:
                    assert isinstance(s, FeatureSpec)
                    shape = f"shape {s.shape}" if s.shape is not None else ""
                    nul = "nullable" if s.nullable else "not null"
                    add(section, prefix + s.name, s.dtype.name, ", ".join(x for x in (shape, nul) if x))

        add_features("input", self._inputs)
        add_features("output", self._outputs)
        for p in self._params:
            assert isinstance(p, ParamSpec)
            shape = f", shape {p.shape}" if p.shape is not None else ""
            add("param", p.name, p.dtype.name, f"default {p.default_value!r}{shape}")
        return (
            '<table class="mreg-signature">'
            "<thead><tr><th>kind</th><th>name</th><th>type</th><th>details</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )


# --------------------------------------------------------------------------------------------------------
# Converting data to pandas
# --------------------------------------------------------------------------------------------------------


def to_pandas(data: Any, *, prefix: str = "input_feature") -> pd.DataFrame:
    """A DataFrame for any supported data; a DataFrame is returned as is (same object, no copy).

    Series → one column (its str name, else `<prefix>_0`); numpy 1-D → one column, 2-D → one per column,
    N-D → one per axis-1 index holding arrays; list of scalars / list of rows / list of dicts; dict of
    columns. Columns without a str name become `<prefix>_<position>`.
    """
    return _to_pandas(data, prefix, InvalidArgumentError)[0]


def _is_null_scalar(v: Any) -> bool:
    # pd.isna on a list returns an array; only scalars can be "null" cells.
    if v is None:
        return True
    if isinstance(v, (list, tuple, dict, np.ndarray)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _name_columns(df: pd.DataFrame, prefix: str) -> tuple[pd.DataFrame, bool]:
    labels = list(df.columns)
    if all(isinstance(c, str) for c in labels):
        return df, True
    return df.set_axis([c if isinstance(c, str) else f"{prefix}_{i}" for i, c in enumerate(labels)], axis=1), False


def _to_pandas(data: Any, prefix: str, err: type[Exception]) -> tuple[pd.DataFrame, bool]:
    """(frame, named): `named` is False when the columns were numbered by us, so matching is positional."""
    if isinstance(data, pd.DataFrame):
        return data, True
    if isinstance(data, pd.Series):
        named = isinstance(data.name, str)
        return data.to_frame(name=data.name if named else f"{prefix}_0"), named
    if isinstance(data, np.ndarray):
        return _numpy_to_pandas(data, prefix, err), bool(data.dtype.names)
    if isinstance(data, dict):
        if not data:
            raise err("The data is an empty dict; pass at least one column, e.g. {'x': [1.0, 2.0]}.")
        try:
            df = pd.DataFrame({k: (list(v) if isinstance(v, np.ndarray) and v.ndim > 1 else v)
                               for k, v in data.items()})
        except ValueError as e:
            raise err(
                f"A dict of columns could not become a DataFrame ({e}). Give every key a list or 1-D array "
                "of the same length, e.g. {'x': [1.0, 2.0], 'y': [3.0, 4.0]}."
            ) from None
        return _name_columns(df, prefix)
    if isinstance(data, (list, tuple)):
        return _list_to_pandas(list(data), prefix, err)
    to_pd = getattr(data, "to_pandas", None)  # pyarrow, polars and friends
    if callable(to_pd):
        out = to_pd()
        if isinstance(out, (pd.DataFrame, pd.Series)):
            return _to_pandas(out, prefix, err)
    raise err(
        f"Data of type {type(data).__module__}.{type(data).__qualname__} is not supported. Pass a pandas "
        "DataFrame or Series, a numpy array, a list (of scalars, rows or dicts) or a dict of columns."
    )


def _numpy_to_pandas(arr: np.ndarray, prefix: str, err: type[Exception]) -> pd.DataFrame:
    if arr.dtype.names:  # structured array: fields are named columns
        return pd.DataFrame(arr)
    if arr.ndim == 0:
        raise err(f"The data is a 0-dimensional array ({arr!r}); pass at least one row, e.g. np.array([x]).")
    if arr.ndim == 1:
        return pd.DataFrame({f"{prefix}_0": arr}, copy=False)
    if arr.ndim == 2:
        return pd.DataFrame(arr, columns=[f"{prefix}_{i}" for i in range(arr.shape[1])], copy=False)
    # N-D: one column per axis-1 index, each cell an array of shape arr.shape[2:].
    return pd.DataFrame({f"{prefix}_{i}": list(arr[:, i]) for i in range(arr.shape[1])})


def _list_to_pandas(data: list, prefix: str, err: type[Exception]) -> tuple[pd.DataFrame, bool]:
    if not data:
        raise err("The data is an empty list; pass at least one row.")
    present = [v for v in data if v is not None]
    if present and all(isinstance(v, dict) for v in present):
        return _name_columns(pd.DataFrame.from_records([{} if v is None else v for v in data]), prefix)
    if present and all(isinstance(v, np.ndarray) and v.ndim >= 2 for v in present) and len(present) == len(data):
        try:
            return _numpy_to_pandas(np.stack(data), prefix, err), False
        except ValueError:
            pass
    row_like = [isinstance(v, (list, tuple, np.ndarray)) for v in data]
    if all(row_like):
        lengths = {len(v) for v in data}
        if len(lengths) > 1:
            raise err(
                f"The rows of the list have different lengths ({sorted(lengths)[:5]}); every row must hold one "
                "value per feature. For a list-valued feature use a DataFrame with one list per cell."
            )
        df = pd.DataFrame([list(v) for v in data])
        return df.set_axis([f"{prefix}_{i}" for i in range(df.shape[1])], axis=1), False
    if any(row_like):
        raise err(
            "The list mixes rows (lists) and scalars; pass either a list of scalars (one feature) or a list of "
            "rows of equal length."
        )
    return pd.DataFrame({f"{prefix}_0": data}), False


# --------------------------------------------------------------------------------------------------------
# Inference
# --------------------------------------------------------------------------------------------------------


def _classify(v: Any) -> str:
    """Kind of one non-null Python value, for typing object columns."""
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, (int, np.integer)):
        return "int"
    if isinstance(v, (float, np.floating, decimal.Decimal)):
        return "float"
    if isinstance(v, str):
        return "str"
    if isinstance(v, (bytes, bytearray, np.bytes_)):
        return "bytes"
    if isinstance(v, (_dt.datetime, _dt.date, np.datetime64)):
        return "datetime"
    if isinstance(v, dict):
        return "dict"
    if isinstance(v, (list, tuple, np.ndarray)):
        return "array"
    return type(v).__name__


def _scalar_type_of_kinds(kinds: set[str]) -> DataType | None:
    if not kinds:
        return None
    if kinds == {"int"}:
        return DataType.INT64
    if kinds <= {"int", "float"}:
        return DataType.DOUBLE
    if len(kinds) == 1:
        return {
            "bool": DataType.BOOL,
            "str": DataType.STRING,
            "bytes": DataType.BYTES,
            "datetime": DataType.TIMESTAMP_NTZ,
        }.get(next(iter(kinds)))
    return None


def _null_fill_type(dtype: Any) -> DataType:
    found = _datatype_of_dtype(dtype)
    return DataType.STRING if found in (None, DataType.OBJECT) else found


def _infer_column(name: str, col: pd.Series, limit: int | None) -> BaseFeatureSpec:
    dtype = col.dtype
    fam = _family(dtype)
    head = col.iloc[:limit] if limit else col
    head_mask = head.notna().to_numpy()
    if head_mask.any():
        sample = head[head_mask] if fam == "object" else head
    else:
        full_mask = col.notna().to_numpy()
        if not full_mask.any():
            chosen = _null_fill_type(dtype)
            _warn(
                f"Column {name!r} holds only nulls, so its type cannot be inferred from values; using "
                f"{chosen.name} from its pandas dtype {dtype}. If that is wrong, pass `signatures=` with a "
                f"FeatureSpec({name!r}, DataType.<TYPE>) for it."
            )
            return FeatureSpec(name, chosen)
        # snowflake-ml-python #159: a column may be null in every sampled row yet filled later on;
        # type it from its first non-null values instead of failing.
        sample = col[full_mask].iloc[: limit or None]
    if fam != "object":
        found = _datatype_of_dtype(dtype)
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
    kinds = {_classify(v) for v in values}
    scalar = _scalar_type_of_kinds(kinds)
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
        present = [v for v in vals if not _is_null_scalar(v)]
        if not present:
            _warn(
                f"Field {k!r} of column {name!r} is null in every sampled row; typing it as STRING. Pass "
                "`signatures=` if that is wrong."
            )
            children.append(FeatureSpec(k, DataType.STRING))
        else:
            children.append(_infer_values(k, present))
    return FeatureGroupSpec(name, children, shape=shape)


def _flatten(v: Any, depth: int, out: list, shapes: list) -> int:
    """Collect the scalars of a nested list into `out`; returns the nesting depth."""
    if isinstance(v, np.ndarray) and v.dtype != object:
        shapes.append(v.shape)
        out.append(v)
        return v.ndim
    if isinstance(v, (list, tuple, np.ndarray)):
        depths = {_flatten(x, depth + 1, out, shapes) for x in v} or {0}
        return 1 + max(depths)
    out.append(v)
    return 0


def _infer_array(name: str, values: list) -> BaseFeatureSpec:
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
        depth = _flatten(v, 0, flat, [])
        shapes.append(tuple([-1] * max(depth, 1)) if arr is None else arr.shape)
        for x in flat:
            if isinstance(x, np.ndarray):
                if x.size:
                    np_dtypes.append(x.dtype)
            elif not _is_null_scalar(x):
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
    kinds = {_classify(x) for x in scalars}
    for d in np_dtypes:
        found = _datatype_of_dtype(d)
        kinds.add({DataType.STRING: "str", DataType.BYTES: "bytes", DataType.BOOL: "bool",
                   DataType.TIMESTAMP_NTZ: "datetime"}.get(found, "num"))  # type: ignore[arg-type]
    if kinds <= {"num", "int", "float"} and kinds:
        numeric = [d for d in np_dtypes]
        if scalars:
            numeric.append(np.asarray(scalars).dtype)
        elem = _datatype_of_dtype(np.result_type(*numeric)) or DataType.DOUBLE
        if not (elem.is_integer or elem.is_float):  # e.g. Decimal elements
            elem = DataType.DOUBLE
    elif not kinds:
        elem = DataType.DOUBLE  # only empty lists were seen
    else:
        elem = _scalar_type_of_kinds(kinds)  # type: ignore[assignment]
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
    df = _to_pandas(data, prefix, SignatureError)[0]
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
            _as_name(n, "feature")
    else:
        names = [c if isinstance(c, str) else f"{prefix}_{i}" for i, c in enumerate(labels)]
    try:
        _check_unique(list(names), "The data", "feature")
    except InvalidArgumentError as e:
        raise SignatureError(f"{e} Pass feature names explicitly or rename the columns.") from None
    if limit and n_rows > limit:
        _warn(
            f"The sample data has {n_rows} rows; only the first {limit} are used to infer the signature's "
            "types. Pass `signatures=` if the inferred types are wrong."
        )
    return [_infer_column(names[i], df.iloc[:, i], limit) for i in range(n_cols)]


def _infer_param(name: str, value: Any) -> ParamSpec:
    if isinstance(value, ParamSpec):
        return value
    kind = _classify(value) if not _is_null_scalar(value) else "null"
    if kind == "array":
        flat: list[Any] = []
        depth = _flatten(value, 0, flat, [])
        elem_kinds: set[str] = set()
        for x in flat:
            if isinstance(x, np.ndarray):
                elem_kinds.add("float" if x.dtype.kind == "f" else _classify(x.flat[0]) if x.size else "float")
            else:
                elem_kinds.add(_classify(x))
        dtype = _scalar_type_of_kinds(elem_kinds) or (DataType.DOUBLE if not elem_kinds else None)
        if dtype is None:
            raise InvalidArgumentError(
                f"Param {name!r}: the default {value!r} mixes element types {sorted(elem_kinds)}; pass "
                f"ParamSpec({name!r}, DataType.<TYPE>, default_value, shape=(-1,))."
            )
        return ParamSpec(name, dtype, value, shape=tuple([-1] * max(depth, 1)))
    if isinstance(value, np.generic):
        found = _datatype_of_dtype(value.dtype)
        if found is not None:
            return ParamSpec(name, found, value)
    if kind == "dict":
        return ParamSpec(name, DataType.OBJECT, value)
    dtype = _scalar_type_of_kinds({kind})
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
    if params is None:
        param_specs: list[BaseParamSpec] = []
    elif isinstance(params, dict):
        param_specs = [_infer_param(k, v) for k, v in params.items()]
    else:
        param_specs = list(params)
    return ModelSignature(inputs=inputs, outputs=outputs, params=param_specs)


# --------------------------------------------------------------------------------------------------------
# Params
# --------------------------------------------------------------------------------------------------------


def _coerce_param(value: Any, spec: ParamSpec, *, what: str = "value") -> Any:
    shape = spec.shape

    def fail(detail: str) -> InvalidArgumentError:
        want = spec.dtype.name + (f" with shape {shape}" if shape else "")
        return InvalidArgumentError(
            f"Param {spec.name!r} expects {want}, but the {what} {value!r} ({type(value).__name__}) "
            f"{detail}. Pass a {want} value."
        )

    def walk(v: Any, dims: tuple[int, ...]) -> Any:
        if not dims:
            return _coerce_scalar(v, spec.dtype, fail)
        if not isinstance(v, (list, tuple, np.ndarray)):
            raise fail(f"has a scalar {v!r} where a list is expected")
        if dims[0] != -1 and len(v) != dims[0]:
            raise fail(f"has {len(v)} elements where {dims[0]} are expected")
        return [walk(x, dims[1:]) for x in v]

    return walk(value, shape or ())


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


def validate_params(params: dict[str, Any] | None, signature: ModelSignature) -> dict[str, Any]:
    """Every param of the signature → the value to pass: the given one coerced to its type, else the default.

    Names match exactly, then case-insensitively (SQL arguments); `None` means "use the default".
    """
    specs = [p for p in signature.params if isinstance(p, ParamSpec)]
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
        out[spec.name] = spec.default_value if value is None else _coerce_param(value, spec)
    return out


# --------------------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------------------


def _where(function_name: str) -> str:
    return f" of method {function_name}" if function_name else ""


def _listing(items: Iterable[Any]) -> str:
    items = list(items)
    shown = ", ".join(repr(x) for x in items[:_MAX_LISTED])
    more = f", ... and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return f"[{shown}{more}]"


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


def _describe(dtype: Any, series: pd.Series | None) -> str:
    if _family(dtype) == "object" and series is not None:
        kind = _object_kind(series)
        if kind == "mixed":
            first = series.dropna().iloc[:1]
            if len(first) and isinstance(first.iloc[0], (list, tuple, np.ndarray)):
                return "object (lists)"
            if len(first) and isinstance(first.iloc[0], dict):
                return "object (dicts)"
        return f"object ({_INFER_WORDS.get(kind, kind)})"
    return str(dtype)


def _fix_hint(feature: FeatureSpec, col: Any, found_family: str) -> str:
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


class _Ctx:
    """What an error message needs to know about the call being validated."""

    def __init__(self, function_name: str, strict: bool) -> None:
        self.where = _where(function_name)
        self.strict = strict


def _mismatch(
    feature: BaseFeatureSpec, col: Any, dtype: Any, series: pd.Series, ctx: _Ctx, fix: str
) -> DataValidationError:
    want = feature.dtype.name if isinstance(feature, FeatureSpec) else feature.sql_type
    if feature.shape is not None:
        want += f" with shape {feature.shape}"
    return DataValidationError(
        f"Data Validation Error: feature {feature.name!r}{ctx.where} expects {want} but the column {col!r} "
        f"has dtype {_describe(dtype, series)}. {fix}"
    )


def _to_float64(series: pd.Series) -> np.ndarray:
    return series.to_numpy(dtype="float64", na_value=np.nan)


def _check_scalar(feature: FeatureSpec, col: Any, series: pd.Series, ctx: _Ctx) -> Any:
    """None when the column fits as is, else the converted values; raises DataValidationError."""
    dtype = series.dtype
    fam = _family(dtype)
    dt = feature.dtype
    if dt is DataType.OBJECT:
        return None
    if fam == "category":
        cat_fam = _family(dtype.categories.dtype)
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
            first = series.dropna().iloc[:1]
            if len(first) and isinstance(first.iloc[0], (list, tuple, np.ndarray)):
                raise DataValidationError(
                    f"Data Validation Error: feature {feature.name!r}{ctx.where} is a scalar feature "
                    f"({dt.name}) but the column {col!r} holds lists. Pass one {dt.name} value per row, or log "
                    f"the model with FeatureSpec({feature.name!r}, DataType.{dt.name}, shape=(-1,))."
                )
        has_null = kind == "empty" or (kind in ("integer", "boolean") and bool(series.isna().any()))
        if dt.is_integer and kind in ("integer", "empty"):
            try:
                converted = _to_float64(series) if has_null else series.to_numpy(dtype="int64")
            except OverflowError:
                raise DataValidationError(
                    f"Data Validation Error: feature {feature.name!r}{ctx.where} expects {dt.name} but the column "
                    f"{col!r} holds integers beyond the 64-bit range. Fix the values, or log the model with "
                    "DataType.DOUBLE or DataType.STRING for this feature."
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
        if ctx.strict and converted is not None and isinstance(converted, np.ndarray):
            _strict_checks(feature, col, pd.Series(converted, copy=False), ctx)
        elif ctx.strict:
            _strict_checks(feature, col, series, ctx)
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


def _strict_checks(feature: FeatureSpec, col: Any, series: pd.Series, ctx: _Ctx) -> None:
    """Range checks for `strict_input_validation`: values must fit the declared width."""
    dt = feature.dtype
    if not feature.nullable and series.hasnans:
        raise DataValidationError(
            f"Data Validation Error: feature {feature.name!r}{ctx.where} is declared not nullable but the column "
            f"{col!r} has {int(series.isna().sum())} null values (strict input validation). Fill or drop them, "
            "e.g. df.dropna(subset=[...])."
        )
    if len(series) == 0:
        return
    fam = _family(series.dtype)
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
            raise DataValidationError(
                f"Data Validation Error: feature {feature.name!r}{ctx.where} expects {dt.name} (range "
                f"{info.min}..{info.max}) but the column {col!r} has values from {int(mn)} to {int(mx)} "
                "(strict input validation). Fix the values, or log the model with a wider integer type."
            )
    elif dt is DataType.FLOAT and fam == "float":
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        with np.errstate(invalid="ignore"):
            finite = values if np.isfinite(values).all() else values[np.isfinite(values)]
        if finite.size == 0:
            return
        mn, mx = float(finite.min()), float(finite.max())
        fmax = float(np.finfo(np.float32).max)
        if mn < -fmax or mx > fmax:
            raise DataValidationError(
                f"Data Validation Error: feature {feature.name!r}{ctx.where} expects FLOAT (float32, range "
                f"±{fmax:.4g}) but the column {col!r} has values from {mn:.6g} to {mx:.6g} (strict input "
                "validation). Scale the values, or log the model with DataType.DOUBLE."
            )


def _check_array(feature: BaseFeatureSpec, col: Any, series: pd.Series, ctx: _Ctx) -> None:
    """List / tensor / struct features: per-row checks (these columns are object columns anyway)."""
    is_group = isinstance(feature, FeatureGroupSpec)
    shape = feature.shape
    if _family(series.dtype) != "object":
        kind = "a struct (dict) feature" if is_group else f"an array feature with shape {shape}"
        raise DataValidationError(
            f"Data Validation Error: feature {feature.name!r}{ctx.where} is {kind} but the column {col!r} holds "
            f"scalar values of dtype {series.dtype}. Put one {'dict' if is_group else 'list'} per row, e.g. "
            f"df[{col!r}] = list(values)."
        )
    values = series.to_numpy()
    for i, v in enumerate(values):
        if _is_null_scalar(v):
            continue
        if is_group and shape is None:
            if not isinstance(v, dict):
                raise DataValidationError(
                    f"Data Validation Error: feature {feature.name!r}{ctx.where} is a struct (dict) feature but "
                    f"row {i} of column {col!r} holds {type(v).__name__} {v!r:.80}. Put one dict per row."
                )
            continue
        if not isinstance(v, (list, tuple, np.ndarray)):
            raise DataValidationError(
                f"Data Validation Error: feature {feature.name!r}{ctx.where} is an array feature (shape {shape}) "
                f"but row {i} of column {col!r} holds the scalar {v!r:.80}. Put one list per row, or log the "
                "model with a scalar FeatureSpec (shape=None)."
            )
        if is_group:
            if not all(isinstance(x, dict) or _is_null_scalar(x) for x in v):
                raise DataValidationError(
                    f"Data Validation Error: feature {feature.name!r}{ctx.where} is a list of dicts but row {i} "
                    f"of column {col!r} holds other elements. Put a list of dicts in every row."
                )
            continue
        assert shape is not None
        if all(d != -1 for d in shape):
            try:
                got = np.shape(v)
            except ValueError:
                got = ("ragged",)
            if got != shape:
                raise DataValidationError(
                    f"Data Validation Error: feature {feature.name!r}{ctx.where} expects shape {shape} in every "
                    f"row but row {i} of column {col!r} has shape {got}. Reshape the data, or log the model "
                    "with shape=(-1,) for a variable length."
                )
        elif len(shape) == 1 and isinstance(v, np.ndarray) and v.ndim != 1:
            raise DataValidationError(
                f"Data Validation Error: feature {feature.name!r}{ctx.where} expects a 1-D list per row but row "
                f"{i} of column {col!r} has shape {v.shape}."
            )


# numpy dtype kinds a feature of each type takes without conversion or a look at the values.
_FAST_KINDS: dict[DataType, str] = {
    **{t: "iu" for t in _INT_TYPES},
    DataType.FLOAT: "iuf",
    DataType.DOUBLE: "iuf",
    DataType.BOOL: "b",
    DataType.STRING: "U",
    DataType.BYTES: "S",
    DataType.TIMESTAMP_NTZ: "M",
    DataType.OBJECT: "biufcmMOSUV",
}


def _is_positional(columns: pd.Index) -> bool:
    if isinstance(columns, pd.RangeIndex):
        return True
    return len(columns) > 0 and all(
        isinstance(c, (int, np.integer)) and not isinstance(c, (bool, np.bool_)) for c in columns
    )


def _match_columns(df: pd.DataFrame, names: list[str], ctx: _Ctx) -> list[int]:
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
            raise DataValidationError(
                f"Data Validation Error: feature {n!r}{ctx.where} matches more than one column {found} (column "
                "names match case-insensitively). Keep only one of them."
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
            f"columns are {_listing(labels)}. Add or rename the column (names match case-insensitively).{hint}"
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
    ctx = _Ctx(function_name, strict)
    if isinstance(data, pd.DataFrame):
        df, named = data, True
    else:
        df, named = _to_pandas(data, "input_feature", DataValidationError)
    features = signature.inputs
    names = [f.name for f in features]
    columns = df.columns

    if not named or _is_positional(columns):
        if len(columns) != len(names):
            raise DataValidationError(
                "Data does not have the same number of features as signature. Signature requires "
                f"{len(names)} features, but have {len(columns)} in input data. The input has no column "
                f"names, so columns are matched by position to {_listing(names)}{ctx.where}; pass exactly "
                "these columns in this order, or a DataFrame with these column names."
            )
        positions = list(range(len(names)))
    elif len(columns) == len(names) and all(a == b for a, b in zip(columns, names)):
        positions = list(range(len(names)))  # fast path: nothing to match
    else:
        positions = _match_columns(df, names, ctx)

    dtypes = df.dtypes
    conversions: dict[int, Any] = {}
    for out_pos, (feature, pos) in enumerate(zip(features, positions)):
        col = columns[pos]
        if isinstance(feature, FeatureGroupSpec) or feature.shape is not None:
            _check_array(feature, col, df.iloc[:, pos], ctx)
            continue
        assert isinstance(feature, FeatureSpec)
        dtype = dtypes.iloc[pos]
        # Plain numpy columns of the right family need no look at the data unless strict.
        if isinstance(dtype, np.dtype) and not strict and dtype.kind in _FAST_KINDS[feature.dtype]:
            continue
        converted = _check_scalar(feature, col, df.iloc[:, pos], ctx)
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


# --------------------------------------------------------------------------------------------------------
# Output formatting
# --------------------------------------------------------------------------------------------------------


def format_output(
    result: Any,
    signature: ModelSignature,
    n_rows: int | None = None,
    *,
    function_name: str = "",
) -> pd.DataFrame:
    """A method's raw result as a DataFrame named by the signature's outputs (zero-copy where possible).

    numpy 1-D → one column, 2-D → one per output; a single output with a shape takes one array per row.
    A DataFrame with the output names (any case, any order) is selected by name; otherwise a frame of the
    right width is renamed by position. Raises SignatureError for a width mismatch or, when `n_rows` is
    given (FUNCTION methods), a different row count.
    """
    outputs = signature.outputs
    names = [o.name for o in outputs]
    where = f"Method {function_name}" if function_name else "The method"
    fix = ("Make the method return one column per output, or log the model with `signatures=` that match what it "
           "returns.")
    if result is None:
        raise SignatureError(f"{where} returned None, but its signature declares the outputs {_listing(names)}. {fix}")

    single_tensor = len(outputs) == 1 and outputs[0].shape is not None
    if isinstance(result, np.ndarray) and result.ndim >= 2 and single_tensor:
        df = pd.DataFrame({names[0]: list(result)})
    elif isinstance(result, (list, tuple)) and n_rows is not None and len(result) == len(names) != n_rows and all(
        isinstance(a, np.ndarray) and a.ndim >= 1 and len(a) == n_rows for a in result
    ):
        # Multi-output frameworks return one array per output.
        df = pd.DataFrame({n: (a if a.ndim == 1 else list(a)) for n, a in zip(names, result)}, copy=False)
    elif isinstance(result, pd.DataFrame):
        df = result
    elif isinstance(result, pd.Series):
        df = result.to_frame(name=names[0] if len(names) == 1 else result.name)
    else:
        try:
            df, named = _to_pandas(result, "output_feature", SignatureError)
        except SignatureError as e:
            raise SignatureError(f"{where} returned data that is not a table: {e} {fix}") from None
        if not named:
            df = df.set_axis(list(range(df.shape[1])), axis=1)

    out = _name_outputs(df, names, where, fix)
    if n_rows is not None and len(out) != n_rows:
        raise SignatureError(
            f"{where} returned {len(out)} rows for {n_rows} input rows; a FUNCTION method must return one row "
            "per input row. Fix the method, or log it with options={'function_type': 'TABLE_FUNCTION'} if its "
            "row count may differ."
        )
    return out


def _name_outputs(df: pd.DataFrame, names: list[str], where: str, fix: str) -> pd.DataFrame:
    labels = list(df.columns)
    if labels == names:
        return df
    if all(isinstance(c, str) for c in labels) and df.columns.is_unique:
        exact = {c: i for i, c in enumerate(labels)}
        folded: dict[str, list[int]] = {}
        for i, c in enumerate(labels):
            folded.setdefault(c.upper(), []).append(i)
        positions = []
        for n in names:
            if n in exact:
                positions.append(exact[n])
            elif len(folded.get(n.upper(), [])) == 1:
                positions.append(folded[n.upper()][0])
            else:
                break
        else:
            out = df.iloc[:, positions] if positions != list(range(len(labels))) else df
            return out.set_axis(names, axis=1) if list(out.columns) != names else out
    if len(labels) == len(names):
        return df.set_axis(names, axis=1)
    raise SignatureError(
        f"{where} returned {len(labels)} columns {_listing(labels)}, but its signature declares "
        f"{len(names)} outputs {_listing(names)}. {fix}"
    )
