"""DataType, and how numpy / pandas dtypes and single Python values map to it."""

from __future__ import annotations

import datetime as _dt
import decimal
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from jupyter_mreg.errors import SignatureError


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
        return self in INT_TYPES

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
        if values is not None and dtype_family(dtype) == "object":
            sample = [v for v in values[:1000] if not is_null_scalar(v)]
            kinds = {value_kind(v) for v in sample}
            found = datatype_of_kinds(kinds)
            if found is not None:
                return found
            return cls.OBJECT
        found = datatype_of_dtype(dtype) if dtype is not None else None
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


INT_TYPES = frozenset(
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
    **{t: "NUMBER" for t in INT_TYPES},
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


def dtype_family(dtype: Any) -> str:
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


def datatype_of_dtype(dtype: Any) -> DataType | None:
    """DataType of a dtype, or None when there is none (timedelta, complex, void...)."""
    fam = dtype_family(dtype)
    if fam == "category":
        return datatype_of_dtype(dtype.categories.dtype)
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



def is_null_scalar(v: Any) -> bool:
    """Whether one cell is a null (None, NaN, NaT, pd.NA); a list or dict cell never is."""
    # pd.isna on a list returns an array; only scalars can be "null" cells.
    if v is None:
        return True
    if isinstance(v, (list, tuple, dict, np.ndarray)):
        return False
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False



def value_kind(v: Any) -> str:
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


def datatype_of_kinds(kinds: set[str]) -> DataType | None:
    """The scalar DataType of values of these `value_kind`s (int and float → DOUBLE), or None when none fits."""
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

