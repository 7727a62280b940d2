"""Running a bound model call on a batch through `ModelVersion.run`, and the result as Arrow.

A scalar method's result becomes one STRUCT column (Snowflake's OBJECT, keyed by output name); a table
function's result is a table of its output columns. Mistakes the data causes (a column whose type does not
fit the signature) and failures of the model's own code become `SqlError`s pointing at the call.
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa

from jupyter_mreg.errors import DataValidationError, MregError
from jupyter_mreg.sql.binder import ModelCall
from jupyter_mreg.sql.dialect import position
from jupyter_mreg.sql.errors import SqlError


def run(call: ModelCall, frame: pd.DataFrame, statement: str, *, partition_column: str | None = None) -> pd.DataFrame:
    """`call`'s method on `frame` (columns named by the signature's inputs), as `ModelVersion.run` runs it:
    the registry's per-process cached load, validation against the signature, outputs named."""
    target = call.target
    try:
        return target.version.run(frame, function_name=target.method.name, partition_column=partition_column,
                                  params=call.params or None)
    except DataValidationError as exc:
        raise SqlError(f"{target.label}: an argument does not fit the signature ({target.describe_inputs()}). "
                       f"{exc}", sql=statement, position=_argument_position(call, str(exc))) from exc
    except MregError as exc:
        raise SqlError(f"{target.label}: {exc}", sql=statement, position=call.position) from exc


def _argument_position(call: ModelCall, message: str) -> int | None:
    for spec, arg in zip(call.target.inputs, call.args):
        if repr(spec.name) in message or f" {spec.name} " in message:
            found = position(arg)
            if found is not None:
                return found
    return call.position


def run_table_function(call: ModelCall, frame: pd.DataFrame, statement: str, partition: str | None) -> pd.DataFrame:
    """A TABLE_FUNCTION on `frame`: per partition when `partition` names a column of it."""
    if partition is None or call.target.is_partitioned:
        return run(call, frame, statement, partition_column=partition)
    pieces = []
    for key, part in frame.groupby(partition, sort=False, dropna=False):
        out = run(call, part.drop(columns=[partition]) if partition not in _input_names(call) else part, statement)
        if partition not in out.columns:
            out = out.assign(**{partition: key})
        pieces.append(out)
    if not pieces:
        return pd.DataFrame(columns=call.target.output_names + [partition])
    return pd.concat(pieces, ignore_index=True)


def _input_names(call: ModelCall) -> set[str]:
    return {f.name for f in call.target.inputs}


def scores(call: ModelCall, frame: pd.DataFrame, statement: str) -> pa.StructArray:
    """`run`, and the method's output frame as one STRUCT array, a field per output (NaN becomes NULL, as
    in Snowflake)."""
    table = arrow_table(run(call, frame, statement), f"Output {{}} of {call.target.label}", statement, call.position)
    return pa.StructArray.from_arrays([c.combine_chunks() for c in table.columns],
                                      names=[str(n) for n in table.column_names])


def to_table(out: pd.DataFrame, call: ModelCall, statement: str) -> pa.Table:
    """A table function's output frame as Arrow."""
    return arrow_table(out.rename(columns=str), f"Output {{}} of {call.target.label}", statement, call.position)


_CONVERSION = re.compile(r"Conversion failed for column (.*) with type")


def arrow_table(frame: pd.DataFrame, what: str, statement: str, position: int | None) -> pa.Table:
    """`frame` as an Arrow table (how DuckDB is handed model inputs and results). A column Arrow cannot hold
    (Python objects, mixed types) is a `SqlError` naming it: `what` with `{}` for the column's name."""
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        found = _CONVERSION.search(str(exc.args[-1]))
        raise SqlError(f"{what.format(found.group(1) if found else '?')} holds values that cannot be passed on as "
                       f"Arrow data ({exc.args[0]}). Convert it in pandas first, e.g. with .astype(str) or "
                       ".astype(float).", sql=statement, position=position) from None

