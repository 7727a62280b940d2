"""Run one method of a loaded model on a DataFrame: validate against the signature, call, name outputs.

Generic: the framework is reached only through its handler's `invoke`, so this module never branches on
framework. A FUNCTION returns one output row per input row, in input order. A partitioned TABLE_FUNCTION
is called once per partition and returns its outputs plus the partition column. As Snowflake's `run`
(which reads its results back from the warehouse), the result has a fresh RangeIndex (0..n-1), not the
caller's index, and each output the dtype of its FeatureSpec's `as_dtype()` (pandas' nullable dtypes for
nullable features).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import pandas as pd

from jupyter_mreg.errors import InferenceError, InvalidArgumentError, MregError, NotFoundError
from jupyter_mreg.model import explain
from jupyter_mreg.model import model_signature as ms
from jupyter_mreg.model.handlers import get_handler
from jupyter_mreg.model.signatures.output_dtypes import typed_output

if TYPE_CHECKING:
    from jupyter_mreg.model.packaging.manifest import MethodInfo


def select_method(methods: Sequence[MethodInfo], function_name: str | None, where: str) -> MethodInfo:
    """The method record a `function_name` names (case-insensitive unless quoted), with Snowflake's messages.

    `None` or `""` means the only method (as in Snowflake, whose `run` tests the name for truth). `methods`
    are the manifest's methods; `where` names the version, e.g. `MYDB.ML.M version V1`.
    """
    if function_name is not None and not isinstance(function_name, str):
        raise InvalidArgumentError(
            f"function_name must be a method name (str), found {type(function_name).__name__} {function_name!r}. "
            f"Available: {[m.name for m in methods]}.")
    if not function_name:
        if len(methods) != 1:
            raise InvalidArgumentError(
                f"There are more than 1 target methods available in the model {where}. Please specify a "
                f"`function_name` when calling the `run` method. Available: {[m.name for m in methods]}."
            )
        return methods[0]
    wanted = function_name if function_name.startswith('"') else function_name.upper()
    for method in methods:
        if method.name == wanted or (not function_name.startswith('"') and method.name == f'"{function_name}"'):
            return method
    raise NotFoundError(
        f"There is no method with name {wanted} available in the model {where}. "
        f"Available methods: {[m.name for m in methods]}."
    )


def run_method(model: Any, model_type: str, method: MethodInfo, data: Any, *, partition_column: str | None = None,
               strict_input_validation: bool = False, params: dict | None = None, where: str = "",
               package: Path | None = None) -> pd.DataFrame:
    """Call `method` (one of the manifest's methods) of the loaded `model` on `data`; a pandas DataFrame out.

    `where` names the version in error messages, e.g. `MYDB.ML.M version V1`. `package` is the version's
    unpacked folder, for the files a generated method reads (explain's background data).
    """
    handler = get_handler(model_type)
    signature = ms.ModelSignature.from_dict(method.signature)
    call_params = ms.validate_params(params, signature)
    target = method.target_method
    if partition_column is not None or method.is_partitioned:
        return _run_partitioned(handler, model, method, signature, data, partition_column,
                                strict_input_validation, call_params, where)
    frame = ms.validate_input(data, signature, strict=strict_input_validation, function_name=target)
    is_function = method.function_type == "FUNCTION"
    if is_function and len(frame) == 0:  # many models refuse 0 rows; the answer is known
        empty = pd.DataFrame({f.name: pd.Series([], dtype=object) for f in signature.outputs})
        return typed_output(empty, signature.outputs)
    raw = _invoke(handler, model, method, frame, call_params, where, package)
    out = ms.format_output(raw, signature, n_rows=len(frame) if is_function else None)
    return typed_output(out, signature.outputs, where=f"Method {method.name} of model {where}")


def _run_partitioned(handler, model, method, signature, data, partition_column, strict, params, where) -> pd.DataFrame:
    """One call per partition; without `partition_column` the whole input is one partition and, as in
    Snowflake (`OVER (PARTITION BY 1)`), the result has the output columns only."""
    if not method.is_partitioned:
        raise InvalidArgumentError(
            f"Method {method.name} is not partitioned, so `partition_column` cannot be used with it: "
            "log a CustomModel method decorated with @custom_model.partitioned_api and "
            'options={"function_type": "TABLE_FUNCTION"}, or call run() without partition_column.'
        )
    frame = ms.to_pandas(data)
    column = None if partition_column is None else _find_column(frame, partition_column)
    groups = [(None, frame)] if column is None else frame.groupby(column, sort=False, dropna=False)
    pieces = []
    for key, part in groups:
        checked = ms.validate_input(part, signature, strict=strict, function_name=method.target_method)
        if len(checked) == 0:  # no rows are no partition: Snowflake's table function is never called
            continue
        if column is not None and column not in checked.columns:
            checked = checked.assign(**{column: part[column]})  # partitioned code often reads its key
        out = ms.format_output(_invoke(handler, model, method, checked, params, where), signature)
        out = typed_output(out, signature.outputs, where=f"Method {method.name} of model {where}")
        if column is not None and column not in out.columns:
            out = out.assign(**{column: key})
        pieces.append(out)
    if not pieces:
        empty = pd.DataFrame(columns=[f.name for f in signature.outputs] + ([column] if column else []))
        return typed_output(empty, signature.outputs)
    return pd.concat(pieces, ignore_index=True)


def _invoke(handler: Any, model: Any, method: MethodInfo, frame: pd.DataFrame, params: dict, where: str,
            package: Path | None = None) -> Any:
    """The handler's call (or the generated explain's), with a failure of the model's own code reported as an
    `InferenceError`."""
    try:
        if method.explain is not None:
            return explain.run(handler, model, frame, method.explain, package)
        return handler.invoke(model, method.target_method, frame, params)
    except MregError:
        raise
    except Exception as exc:
        raise InferenceError(
            f"Method {method.name} of model {where} failed on {len(frame)} input row(s): "
            f"{type(exc).__name__}: {exc} "
            "The error comes from the model's own code: check the input values (for example missing values "
            "the model cannot take) or the model.") from exc


def _find_column(frame: pd.DataFrame, name: str) -> str:
    if name in frame.columns:
        return name
    matches = [c for c in frame.columns if str(c).upper() == name.strip('"').upper()]
    if not matches:
        raise NotFoundError(
            f"Partition column {name!r} does not exist in the input data. Available columns are "
            f"{list(frame.columns)}."
        )
    return matches[0]
