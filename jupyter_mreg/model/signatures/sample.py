"""Signatures inferred from a sample: each method is called on the first rows of `sample_input_data`,
and its input and output give the signature."""

from __future__ import annotations

from typing import Any

from jupyter_mreg.errors import MregError, SignatureError, UnsupportedModelError
from jupyter_mreg.model.custom_model import get_method_params
from jupyter_mreg.model.signatures.frames import to_pandas
from jupyter_mreg.model.signatures.infer import infer_signature

SAMPLE_ROWS = 100


def infer_signatures(model: Any, handler: type, methods: list[str], sample_input_data: Any) -> dict:
    """`{method: ModelSignature}` from calling each method on `_inference_sample(sample_input_data)`."""
    try:
        sample = _inference_sample(sample_input_data)
    except MregError:
        raise
    except Exception as exc:
        raise SignatureError(
            f"sample_input_data of type {type(sample_input_data).__name__} cannot be read as a table: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if len(sample) == 0:
        raise SignatureError("sample_input_data is empty: give at least one row to infer signatures from.")
    kind = type(model).__qualname__
    sigs = {}
    for method in methods:
        try:
            output = handler.invoke(model, method, sample, {})
        except UnsupportedModelError:
            raise  # the handler refused the model itself (a TypeError in Snowflake too): its message has the fix
        except Exception as exc:
            raise SignatureError(
                f"Cannot infer the signature of method {method!r}: {kind}.{method}(sample_input_data) failed with "
                f"{type(exc).__name__}: {exc}. Pass sample_input_data with the columns and types the model was "
                "fitted on, or give `signatures`."
            ) from exc
        params = None
        if handler.name == "custom":
            params = get_method_params(model, method) or None
        rows = max(len(sample), 1)
        try:
            sigs[method] = infer_signature(sample, output, input_data_limit=rows, output_data_limit=rows,
                                           params=params)
        except MregError:
            raise
        except Exception as exc:
            raise SignatureError(
                f"Cannot infer the signature of method {method!r} from sample_input_data and its output: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return sigs


def _inference_sample(sample_input_data: Any) -> Any:
    """First 100 rows, plus for each column null in all of them the first later row where it is not
    (snowflake-ml-python #159: a null prefix must not make a column's type unknowable)."""
    import numpy as np
    import pandas as pd

    df = to_pandas(sample_input_data)
    head = df.iloc[:SAMPLE_ROWS]
    if len(df) <= SAMPLE_ROWS or head.shape[1] == 0:
        return head
    rest = df.iloc[SAMPLE_ROWS:]
    extra: set[int] = set()
    for i in range(head.shape[1]):
        if head.iloc[:, i].isna().all():
            notna = np.flatnonzero(rest.iloc[:, i].notna().to_numpy())
            if len(notna):
                extra.add(int(notna[0]))
    if not extra:
        return head
    return pd.concat([head, rest.iloc[sorted(extra)]])
