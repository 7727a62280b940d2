"""A query's Arrow result as the pandas DataFrame the user gets.

Nested values (a model's OBJECT as a STRUCT, lists, maps) stay Arrow-backed (`pd.ArrowDtype`) instead of
becoming a column of Python dicts, which costs far more to build and to hold; flat columns get pandas'
usual dtypes. DuckDB's DECIMAL results (numeric literals, SUM of integers) become int64 when they are whole
numbers that fit, else float64, as DuckDB's own `.df()` does, rather than columns of `decimal.Decimal`.
Columns that are a model's outputs as such take the dtype `run()` gives them (`with_output_dtypes`), so a
query and `mv.run` return the same frame.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from jupyter_mreg.model.signatures.output_dtypes import cast_column


def _nested(t: pa.DataType) -> bool:
    return pa.types.is_struct(t) or pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_map(t) \
        or pa.types.is_fixed_size_list(t)


def _numeric(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if column.type.scale == 0:
        try:
            return column.cast(pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return column.cast(pa.float64(), safe=False)


def to_pandas(table: pa.Table) -> pd.DataFrame:
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            table = table.set_column(i, field.name, _numeric(table.column(i)))
    return table.to_pandas(types_mapper=lambda t: pd.ArrowDtype(t) if _nested(t) else None)


def with_output_dtypes(frame: pd.DataFrame, specs: list) -> pd.DataFrame:
    """`frame` with column i cast to `specs[i]`'s dtype (an output spec; None leaves the column as is)."""
    for i, spec in enumerate(specs):
        if spec is not None:
            frame.isetitem(i, cast_column(frame.iloc[:, i], spec))
    return frame
