"""A method's raw result (numpy, lists, Series, DataFrame...) as a DataFrame named by the signature's outputs."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

from jupyter_mreg.errors import SignatureError
from jupyter_mreg.model.signatures.frames import is_tensor, tensor_to_numpy, to_frame
from jupyter_mreg.model.signatures.messages import listing
from jupyter_mreg.model.signatures.specs import ModelSignature


def format_output(
    result: Any,
    signature: ModelSignature,
    n_rows: int | None = None,
    *,
    function_name: str = "",
) -> pd.DataFrame:
    """A method's raw result as a DataFrame named by the signature's outputs (zero-copy where possible).

    numpy (or a tensor) 1-D → one column, 2-D → one per output; a single output with a shape takes one array per
    row; a list of arrays (a multi-output model) → one output per array.
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
        raise SignatureError(f"{where} returned None, but its signature declares the outputs {listing(names)}. {fix}")

    if is_tensor(result):  # a custom model may return a torch / TensorFlow tensor: read it as its array
        result = tensor_to_numpy(result)
    single_tensor = len(outputs) == 1 and outputs[0].shape is not None
    if isinstance(result, np.ndarray) and result.ndim == 1 and len(names) == 1 and result.dtype.kind in "biuf":
        # One output, one number per row (`predict` of most models): the frame the general path below builds
        # (`to_frame`, numbered, then renamed by position), made in one step on the array itself (no copy).
        df = pd.DataFrame(result.reshape(-1, 1), columns=_labels(tuple(names)).view(), copy=False)
    elif isinstance(result, np.ndarray) and result.ndim >= 2 and single_tensor:
        df = pd.DataFrame({names[0]: list(result)})
    elif isinstance(result, pd.DataFrame):
        df = result
    elif isinstance(result, pd.Series):
        df = result.to_frame(name=names[0] if len(names) == 1 else result.name)
    else:
        try:
            df, named = to_frame(result, "output_feature", SignatureError)
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


@functools.lru_cache(maxsize=256)
def _labels(names: tuple[str, ...]) -> pd.Index:
    """The column labels `names`, built once: a str Index costs pandas about 0.1 ms (it is stored in Arrow),
    which a `run()` would pay on every call. Callers take a `.view()`, so a frame renaming its own
    `columns.name` leaves this one alone."""
    return pd.Index(list(names))


def _name_outputs(df: pd.DataFrame, names: list[str], where: str, fix: str) -> pd.DataFrame:
    """The frame's columns named `names`: picked by name (exactly, then ignoring case), else by position."""
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
        f"{where} returned {len(labels)} columns {listing(labels)}, but its signature declares "
        f"{len(names)} outputs {listing(names)}. {fix}"
    )
