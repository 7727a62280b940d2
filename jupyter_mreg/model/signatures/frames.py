"""Any supported data (DataFrame, Series, numpy, lists, dicts, objects with `to_pandas`) as a pandas DataFrame."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from jupyter_mreg.errors import InvalidArgumentError


def to_pandas(data: Any, *, prefix: str = "input_feature") -> pd.DataFrame:
    """A DataFrame for any supported data; a DataFrame is returned as is (same object, no copy).

    Series → one column (its str name, else `<prefix>_0`); numpy 1-D → one column, 2-D → one per column,
    N-D → one per axis-1 index holding arrays; a tensor (torch, TensorFlow, ...) → as its numpy array; a list
    of tensors or numpy arrays → one column per array, each row of an array with more than one axis an array
    (the inputs of a multi-input model, the outputs of a multi-output one), as Snowflake's sequence handlers
    read them; list of scalars / list of rows / list of dicts; dict of columns. Columns without a str name
    become `<prefix>_<position>`.
    """
    return to_frame(data, prefix, InvalidArgumentError)[0]


def _name_columns(df: pd.DataFrame, prefix: str) -> tuple[pd.DataFrame, bool]:
    labels = list(df.columns)
    if all(isinstance(c, str) for c in labels):
        return df, True
    return df.set_axis([c if isinstance(c, str) else f"{prefix}_{i}" for i, c in enumerate(labels)], axis=1), False


def to_frame(data: Any, prefix: str, err: type[Exception]) -> tuple[pd.DataFrame, bool]:
    """(frame, named): `named` is False when the columns were numbered by us, so matching is positional.

    Unsupported or empty data raises `err` (the caller's error class) with the fix.
    """
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
    if is_tensor(data):  # read as its numpy array is, as Snowflake's infer_signature does: [N, k] → k columns
        return _numpy_to_pandas(tensor_to_numpy(data), prefix, err), False
    if isinstance(data, (list, tuple)) and data and all(
        is_tensor(v) or (isinstance(v, np.ndarray) and v.ndim) for v in data
    ):  # a sequence of arrays (a multi-input sample, a multi-output result): one column per array
        return _tensors_to_pandas(list(data), prefix, err), False
    if isinstance(data, (list, tuple)):
        return _list_to_pandas(list(data), prefix, err)
    to_pd = getattr(data, "to_pandas", None)  # pyarrow, polars and friends
    if callable(to_pd):
        out = to_pd()
        if isinstance(out, (pd.DataFrame, pd.Series)):
            return to_frame(out, prefix, err)
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



def is_tensor(data: Any) -> bool:
    """True for a framework tensor (torch, TensorFlow, JAX...): array-like with a shape, not numpy or pandas."""
    if isinstance(data, (np.ndarray, pd.DataFrame, pd.Series, list, tuple, dict, str, bytes)):
        return False
    return hasattr(data, "shape") and (hasattr(data, "__array__") or callable(getattr(data, "numpy", None)))


def tensor_to_numpy(tensor: Any) -> np.ndarray:
    """A tensor's values as numpy, copied off the device and out of autograd where the framework needs it."""
    # torch: a tensor that requires grad or lives on a GPU refuses numpy(). Only torch tensors (they have
    # `requires_grad`): TensorFlow's EagerTensor.cpu() is deprecated and warns.
    for step in (("detach", "cpu") if hasattr(tensor, "requires_grad") else ()):
        method = getattr(tensor, step, None)
        if callable(method):
            tensor = method()
    to_numpy = getattr(tensor, "numpy", None)
    return np.asarray(to_numpy() if callable(to_numpy) else tensor)


def _tensors_to_pandas(tensors: list, prefix: str, err: type[Exception]) -> pd.DataFrame:
    arrays = [tensor_to_numpy(t) for t in tensors]
    if any(a.ndim == 0 for a in arrays) or len({len(a) for a in arrays}) > 1:
        raise err(
            f"A list of tensors or arrays is read as one column per array (the inputs of a multi-input model), so "
            f"each needs a first (batch) axis of the same length; got shapes {[tuple(a.shape) for a in arrays]}. "
            "To pass rows, give a 2-D array or a list of lists instead."
        )
    return pd.DataFrame({f"{prefix}_{i}": (a if a.ndim == 1 else list(a)) for i, a in enumerate(arrays)})
