"""DataFrame columns to the arrays a tensor model takes, shared by the pytorch, tensorflow and keras handlers.

A tensor sample becomes one column per tensor (`input_feature_i`), each row of a tensor with more than one
axis an array (see `signatures.frames.to_pandas`). Going back: with `multiple_inputs`, each column is one
input; otherwise one column is the input, and several scalar columns (a table the user logged with) are
stacked into one `[rows, columns]` array.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from jupyter_mreg.errors import DataValidationError


def column_array(column: pd.Series) -> np.ndarray:
    """One column as an array: scalars → `[rows]`, array cells → `[rows, *cell shape]`."""
    values = column.to_numpy()
    if values.dtype != object:
        return values
    if len(values) and isinstance(values[0], (np.ndarray, list, tuple)):
        try:
            return np.stack([np.asarray(v) for v in values])
        except ValueError as exc:
            raise DataValidationError(
                f"Column {column.name!r} holds arrays of different shapes ({exc}); a tensor input needs every row "
                "to have the same shape."
            ) from None
    return np.asarray(values.tolist())


def frame_to_arrays(frame: pd.DataFrame, multiple_inputs: bool) -> list[np.ndarray]:
    """The model's input arrays for a validated frame (see the module docstring)."""
    if multiple_inputs or frame.shape[1] == 1:
        return [column_array(frame[c]) for c in frame.columns] if multiple_inputs else [column_array(frame.iloc[:, 0])]
    arrays = [column_array(frame[c]) for c in frame.columns]
    if any(a.ndim != 1 for a in arrays):
        raise DataValidationError(
            f"The input has {frame.shape[1]} columns and some hold arrays: a single-input tensor model takes one "
            "array column or several scalar columns. Log the model with options={'multiple_inputs': True} to pass "
            "one tensor per column."
        )
    return [np.column_stack(arrays)]


def outputs_to_numpy(result: Any, to_numpy: Any) -> Any:
    """A model's output as numpy, via `to_numpy(tensor)`: one tensor → its array (a 2-D one gives one output
    column per axis-1 index); a tuple/list or dict of tensors → a DataFrame, one column per tensor."""
    if isinstance(result, dict):  # named outputs keep their names
        return pd.DataFrame({str(k): _cells(to_numpy(v)) for k, v in result.items()})
    if isinstance(result, (list, tuple)):  # several outputs: `output_feature_i`, as Snowflake names them
        return pd.DataFrame({f"output_feature_{i}": _cells(to_numpy(r)) for i, r in enumerate(result)})
    return to_numpy(result)


def _cells(array: np.ndarray) -> Any:
    return array if array.ndim == 1 else list(array)
