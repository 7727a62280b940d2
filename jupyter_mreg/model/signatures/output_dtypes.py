"""A method's named outputs with the dtypes Snowflake's `run` returns, on a fresh RangeIndex.

Snowflake's `run` reads the results back from the warehouse (`to_pandas`, so the index is 0..n-1) and casts
each output to its FeatureSpec's `as_dtype()`: pandas' nullable dtypes (Float64, Int64, boolean, string)
for nullable features, numpy's otherwise; list / tensor features stay object columns. A NaN in a nullable
float output becomes <NA>, as it does there (the warehouse hands NaN back and the cast makes it NA).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.core.dtypes.dtypes import BaseMaskedDtype

from jupyter_mreg.errors import SignatureError
from jupyter_mreg.model.signatures.specs import BaseFeatureSpec, FeatureSpec


def typed_output(frame: pd.DataFrame, outputs: list[BaseFeatureSpec], *, where: str = "The method") -> pd.DataFrame:
    """`frame` (columns named by `outputs`, maybe more, e.g. a partition column kept as is) with each
    output column cast to its spec's dtype and a RangeIndex. Numeric results are wrapped without copying
    where the dtype already fits. Raises SignatureError for values that do not fit the declared type."""
    specs = {s.name: s for s in outputs}
    index = pd.RangeIndex(len(frame))
    if frame.index.equals(index) and all(
            name not in specs or dtype == specs[name].as_dtype() for name, dtype in frame.dtypes.items()):
        return frame  # already what run() returns (e.g. a numpy result of a non-nullable output)
    columns = {}
    for i, name in enumerate(frame.columns):
        values = frame.iloc[:, i]
        spec = specs.get(name)
        columns[name] = (pd.Series(values.array, index=index, copy=False) if spec is None
                         else cast_column(values, spec, where))
    return pd.DataFrame(columns, index=index, copy=False)


def cast_column(values: pd.Series, spec: BaseFeatureSpec, where: str = "The method") -> pd.Series:
    """`values` (a column of output `spec`) as a Series of `spec.as_dtype()` on a RangeIndex."""
    index = pd.RangeIndex(len(values))
    target = spec.as_dtype()
    if not isinstance(spec, FeatureSpec) or spec.shape is not None or (
            isinstance(target, np.dtype) and target.kind in "OUS"):
        # Lists, tensors, dicts, and non-nullable strings / bytes: object columns of what the model returned
        # (dtype=object explicitly: pandas would otherwise make strings its `str` dtype).
        return pd.Series(values.to_numpy(dtype=object), index=index, dtype=object, copy=False)
    if values.dtype == target:
        return pd.Series(values.array, index=index, copy=False)
    return pd.Series(_converted(values, target, spec, where), index=index, copy=False)


def _converted(values: pd.Series, target: Any, spec: FeatureSpec, where: str) -> Any:
    """`values` as an array of `target`, a dtype they do not have yet."""
    if isinstance(target, BaseMaskedDtype) and isinstance(values.dtype, np.dtype) and (
            values.dtype == target.numpy_dtype or (values.dtype.kind in "biuf" and target.kind == "f")):
        return _masked(values.to_numpy(), target)
    if isinstance(target, pd.StringDtype) and values.dtype == object and pd.api.types.infer_dtype(
            values, skipna=True) == "mixed":
        # pandas would store str() of any object; only scalars become text, as numbers do in Snowflake.
        odd = next(v for v in values.dropna() if not isinstance(v, str))
        raise _misfit(spec, where, f"found {type(odd).__module__}.{type(odd).__qualname__} objects")
    try:
        return values.astype(target).array
    except (TypeError, ValueError) as exc:
        raise _misfit(spec, where, f"found dtype {values.dtype}: {exc}") from None


def _misfit(spec: FeatureSpec, where: str, found: str) -> SignatureError:
    return SignatureError(
        f"{where} returned values for output {spec.name!r} that are not {spec.dtype.name} as its signature "
        f"declares ({found}). Make the method return {spec.dtype.name} values, or log the model with "
        "`signatures=` that declare the type it returns.")


def _masked(array: np.ndarray, target: BaseMaskedDtype) -> Any:
    """A numpy result as pandas' masked array: the values are taken as they are (no copy when the width
    fits); only the mask is new (NaN → <NA> for floats, nothing missing otherwise)."""
    array = array.astype(target.numpy_dtype, copy=False)
    mask = np.isnan(array) if target.kind == "f" else np.zeros(len(array), dtype=bool)
    return target.construct_array_type()(array, mask)
