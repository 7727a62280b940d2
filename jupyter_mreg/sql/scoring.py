"""Running a bound model call on a batch through `ModelVersion.run`, and the result as Arrow.

A scalar method's result becomes one STRUCT column (Snowflake's OBJECT, keyed by output name); a table
function's result is a table of its output columns. Mistakes the data causes (a column whose type does not
fit the signature) and failures of the model's own code become `SqlError`s pointing at the call.
"""

from __future__ import annotations

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


def to_struct(out: pd.DataFrame) -> pa.StructArray:
    """A method's output frame as one STRUCT array, a field per output (NaN becomes NULL, as in Snowflake)."""
    table = pa.Table.from_pandas(out, preserve_index=False)
    return pa.StructArray.from_arrays([c.combine_chunks() for c in table.columns],
                                      names=[str(n) for n in table.column_names])


def to_table(out: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(out.rename(columns=str), preserve_index=False)

