"""DataFrame columns to the arrays a tensor model takes, shared by the pytorch, tensorflow and keras handlers.

A tensor sample is read as Snowflake's `infer_signature` reads it (see `signatures.frames.to_pandas`): one
tensor `[N, k]` → k scalar columns (`input_feature_0..k-1`), `[N, k, *d]` → k columns of `d`-shaped arrays;
a list of tensors → one column per tensor, each row of a tensor with more than one axis an array. A plain
table is one scalar column per feature. Going back, `model_inputs` decides between "one input" and "one
input per column" with this rule:

1. One column: one input, that column (a scalar column as `[N, 1]`, as Snowflake feeds it).
2. The model says how many positional inputs it takes (`forward` / `__call__` parameters, a tf.function's
   `input_signature`, `len(keras_model.inputs)`): exactly one → the columns are stacked into one input
   (`[rows, columns]` for scalar columns, one block without a copy when they share a dtype; an N-D sample,
   split into array columns, comes back whole); two or more required → one input per column (the count
   must fit).
3. Otherwise (optional or `*args` parameters, a subclassed Keras model) the user's declaration decides:
   the `multiple_inputs` log option, remembered per model object when it is logged and when it is loaded.
   True → one input per column; False → stacked.
4. Nothing declared (no `multiple_inputs` option, or a model object never logged): one input per column if
   any column holds arrays (a list of tensors), else stacked (a table).

The structure wins over the declaration where it is certain; a declaration that contradicts it (two inputs
declared for a model taking one) is an error, raised when the model is logged. Versions logged before
`COLUMN_FEATURES` (a 2-D tensor was then one feature of shape (k,)) keep their signatures and conversions:
one scalar column is `[rows]`, a one-tensor output list is that tensor. One shape cannot come back: an N-D
sample whose axis 1 has size 1 (`[rows, 1, 28, 28]`) is one column of `[28, 28]` cells, read back as
`[rows, 28, 28]`; give N-D inputs as a list of one tensor (one column of `[1, 28, 28]` cells) instead.
"""

from __future__ import annotations

import inspect
import weakref
from typing import Any, Callable

import numpy as np
import pandas as pd

from jupyter_mreg.errors import DataValidationError, InvalidArgumentError
from jupyter_mreg.model.handlers.base import ModelHandler

# (required positional inputs, most positional inputs or None for `*args`)
Arity = tuple[int, "int | None"]

# Handler metadata key saying the version was logged by a release that reads a 2-D tensor as one scalar feature
# per column (as Snowflake does); versions without it were logged when a tensor was one array feature.
COLUMN_FEATURES = "column_features"

# model → (multiple_inputs option, logged before COLUMN_FEATURES)
_declared: "weakref.WeakKeyDictionary[Any, tuple[bool | None, bool]]" = weakref.WeakKeyDictionary()
_declared_by_id: dict[int, tuple[bool | None, bool]] = {}  # objects that refuse weak references (rare)


def declare_multiple_inputs(model: Any, options: dict, meta: dict | None = None) -> bool | None:
    """Remember the `multiple_inputs` log option for `model` (None when not given) and return it.

    Called where a handler first sees the log options (`target_methods`) and again at load with the recorded
    value and the handler metadata `meta` (a version without `COLUMN_FEATURES` keeps its earlier conversions),
    so `invoke`, which never receives options, reads the same declaration in both places."""
    value = options.get("multiple_inputs")
    if value is not None and not isinstance(value, bool):
        raise InvalidArgumentError(
            f"Option multiple_inputs must be True or False, got {value!r}: True passes one tensor per input "
            "column to the model, False stacks the columns into one tensor."
        )
    declaration = (value, meta is not None and not meta.get(COLUMN_FEATURES))
    try:
        _declared[model] = declaration
    except TypeError:
        _declared_by_id[id(model)] = declaration
    return value


def _declaration(model: Any) -> tuple[bool | None, bool]:
    try:
        found = _declared.get(model)
    except TypeError:
        found = _declared_by_id.get(id(model))
    return found or (None, False)


def callable_arity(fn: Any) -> Arity | None:
    """Positional parameters of a Python callable (a bound method: without `self`); None if unknowable."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    positional = [p for p in sig.parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if positional and positional[0].name == "self" and not inspect.ismethod(fn):
        positional = positional[1:]  # an unbound function taken from a class
    required = sum(1 for p in positional if p.default is p.empty)
    variadic = any(p.kind == p.VAR_POSITIONAL for p in sig.parameters.values())
    return required, (None if variadic else len(positional))


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


def frame_to_arrays(frame: pd.DataFrame, multiple_inputs: bool, legacy: bool = False) -> list[np.ndarray]:
    """The input arrays for a validated frame: each column one input (`multiple_inputs`), else one input:
    scalar columns → `[rows, columns]` (one column too, as Snowflake feeds a `[N, 1]` sample; `legacy`
    versions got `[rows]`), one array column → `[rows, *cell shape]`, array columns of one shape (as an N-D
    sample is split) → `[rows, columns, *cell shape]`."""
    if multiple_inputs:
        return [column_array(frame[c]) for c in frame.columns]
    dtypes = set(frame.dtypes.tolist())
    if len(dtypes) == 1 and isinstance(dtype := dtypes.pop(), np.dtype) and dtype != object:
        # One numpy dtype: the frame's own block, without a copy when pandas holds it as one.
        return [frame.iloc[:, 0].to_numpy() if legacy and frame.shape[1] == 1 else frame.to_numpy()]
    if frame.shape[1] == 1:
        array = column_array(frame.iloc[:, 0])
        return [array.reshape(-1, 1) if array.ndim == 1 and not legacy else array]
    arrays = [column_array(frame[c]) for c in frame.columns]
    shapes = {a.shape[1:] for a in arrays}
    if len(shapes) != 1:
        raise DataValidationError(
            f"The input has {frame.shape[1]} columns holding values of different shapes "
            f"({', '.join(str(s) for s in sorted(shapes, key=len))}): a single-input tensor model takes the columns "
            "stacked into one tensor, so every column needs the same shape. Log the model with "
            "options={'multiple_inputs': True} to pass one tensor per column."
        )
    return [np.stack(arrays, axis=1)]


def model_inputs(frame: pd.DataFrame, arity: Arity | None, declared: bool | None, what: str,
                 legacy: bool = False) -> list[np.ndarray]:
    """The arrays to call a model with, by the rule in the module docstring. `what` names the model's call
    in messages (e.g. "MyNet.forward"); `legacy`: the model's version was logged before `COLUMN_FEATURES`."""
    k = frame.shape[1]
    if k == 0:
        raise DataValidationError(f"{what} needs at least one input column; the input has none.")
    low, high = arity if arity is not None else (None, None)
    if k == 1:
        if low is not None and low > 1:
            raise DataValidationError(
                f"{what} takes {low} inputs, but the input has one column {frame.columns[0]!r}: pass one column "
                "(one tensor) per input, e.g. sample_input_data=[tensor_a, tensor_b] with "
                "options={'multiple_inputs': True}."
            )
        return frame_to_arrays(frame, bool(declared) and high != 1, legacy)
    if high == 1:
        if declared:
            raise DataValidationError(
                f"{what} takes one input, but the model was declared with options={{'multiple_inputs': True}} "
                f"and the input has {k} columns {list(frame.columns)}: log it without multiple_inputs (the "
                "columns are then stacked into one tensor), or give the model one parameter per input."
            )
        return frame_to_arrays(frame, False, legacy)
    if low is not None and low >= 2:
        if k < low or (high is not None and k > high):
            expected = str(low) if high == low else (f"{low} to {high}" if high is not None else f"at least {low}")
            raise DataValidationError(
                f"{what} takes {expected} inputs, but the input has {k} columns {list(frame.columns)}: pass one "
                "column (one tensor) per input."
            )
        return frame_to_arrays(frame, True)
    if declared is not None:
        return frame_to_arrays(frame, declared, legacy)
    arrays = [column_array(frame[c]) for c in frame.columns]
    if any(a.ndim != 1 for a in arrays):
        return arrays
    return frame_to_arrays(frame, False, legacy)


def declared_inputs(model: Any, frame: pd.DataFrame, arity: Arity | None, what: str) -> list[np.ndarray]:
    """`model_inputs` with what was declared for `model` when it was logged or loaded."""
    multiple_inputs, legacy = _declaration(model)
    return model_inputs(frame, arity, multiple_inputs, what, legacy)


def fit_rank(array: np.ndarray, shape: Any) -> np.ndarray:
    """`array` without its last axis when it is `[rows, 1]` and the model's input `shape` (a TensorSpec's or a
    Keras input's) has one axis: a one-column frame is `[rows, 1]` by default, a `[None]` input takes `[rows]`."""
    rank = getattr(shape, "rank", None) if not isinstance(shape, (tuple, list)) else len(shape)
    if rank == 1 and array.ndim == 2 and array.shape[1] == 1:
        return array[:, 0]
    return array


def cast_array(array: np.ndarray, dtype: Any, *, floating_only: bool = True) -> np.ndarray:
    """`array` as numpy `dtype` (a model's parameter or input dtype) when that is a float type: floating
    arrays always (a float64 frame into a float32 net), other numbers too unless `floating_only` (an
    integer column into an input declared float). Anything else is returned unchanged."""
    if dtype is None:
        return array
    try:
        target = np.dtype(dtype)
    except TypeError:
        return array
    if target.kind != "f" or array.dtype == target:
        return array
    if array.dtype.kind == "f" or (not floating_only and array.dtype.kind in "iub"):
        return array.astype(target)
    return array


def outputs_to_numpy(result: Any, to_numpy: Callable[[Any], np.ndarray], model: Any,
                     sequence_if_multiple_inputs: bool = True) -> Any:
    """A model's output as numpy, via `to_numpy(tensor)`: one tensor → its array (a 2-D one gives one output
    column per axis-1 index); a tuple/list or dict of tensors → a DataFrame, one column per tensor, each
    row of a tensor with more than one axis an array (`[N, 1]` → arrays of shape (1,)). As in Snowflake's
    pytorch and tensorflow handlers, a model declared with `multiple_inputs` returns a sequence even when it
    returns one tensor (`sequence_if_multiple_inputs`). Versions logged earlier keep their output form."""
    multiple_inputs, legacy = _declaration(model)
    if legacy and isinstance(result, (list, tuple)) and len(result) == 1:
        result = result[0]  # they read a one-tensor list as that tensor
    if isinstance(result, dict):  # named outputs keep their names
        return pd.DataFrame({str(k): _cells(to_numpy(v)) for k, v in result.items()})
    if not isinstance(result, (list, tuple)) and sequence_if_multiple_inputs and multiple_inputs and not legacy:
        result = [result]
    if isinstance(result, (list, tuple)):  # several outputs: `output_feature_i`, as Snowflake names them
        return pd.DataFrame({f"output_feature_{i}": _cells(to_numpy(r)) for i, r in enumerate(result)})
    return to_numpy(result)


def _cells(array: np.ndarray) -> Any:
    if array.ndim == 0:
        raise DataValidationError(
            f"The model returned a scalar ({array!r}) among its outputs; every output needs one value per input row."
        )
    return array if array.ndim == 1 else list(array)


class TensorHandler(ModelHandler):
    """Base of the handlers of tensor frameworks (pytorch, keras, tensorflow): `invoke` never receives the
    log options, so the `multiple_inputs` declaration is remembered where the options are first seen."""

    @classmethod
    def target_methods(cls, model: Any, options: dict) -> list[str]:
        declare_multiple_inputs(model, options)
        return super().target_methods(model, options)
