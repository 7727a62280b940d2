"""Issue 11 item 2: `FeatureSpec.as_dtype()` and output nullability as in snowflake-ml-python."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jupyter_mreg.model.model_signature import DataType, FeatureGroupSpec, FeatureSpec, infer_signature


def test_fidelity_as_dtype_gives_pandas_nullable_dtypes_for_nullable_features():
    expected = {
        DataType.INT8: pd.Int8Dtype(), DataType.INT16: pd.Int16Dtype(), DataType.INT32: pd.Int32Dtype(),
        DataType.INT64: pd.Int64Dtype(), DataType.UINT8: pd.UInt8Dtype(), DataType.UINT16: pd.UInt16Dtype(),
        DataType.UINT32: pd.UInt32Dtype(), DataType.UINT64: pd.UInt64Dtype(), DataType.FLOAT: pd.Float32Dtype(),
        DataType.DOUBLE: pd.Float64Dtype(), DataType.BOOL: pd.BooleanDtype(), DataType.STRING: pd.StringDtype(),
    }
    for dtype, nullable in expected.items():
        spec = FeatureSpec("f", dtype)
        assert spec.as_dtype() == nullable, dtype
        assert spec.as_dtype(force_numpy_dtype=True) == dtype.as_numpy(), dtype
        assert FeatureSpec("f", dtype, nullable=False).as_dtype() == dtype.as_numpy(), dtype
    # Types pandas has no masked dtype for keep numpy's; lists and groups are object columns.
    assert FeatureSpec("t", DataType.TIMESTAMP_NTZ).as_dtype() == np.dtype("datetime64[ns]")
    assert FeatureSpec("v", DataType.DOUBLE, shape=(3,)).as_dtype() == np.dtype(object)
    assert FeatureGroupSpec("g", [FeatureSpec("a", DataType.DOUBLE)]).as_dtype() == np.dtype(object)


def test_fidelity_outputs_inferred_from_a_numpy_array_are_not_nullable():
    X = pd.DataFrame({"a": [1.0, 2.0]})
    from_numpy = infer_signature(X, np.array([0.5, 1.5]))
    assert from_numpy.outputs == [FeatureSpec("output_feature_0", DataType.DOUBLE, nullable=False)]
    two = infer_signature(X, np.array([[1, 2], [3, 4]]))
    assert [(o.dtype, o.nullable) for o in two.outputs] == [(DataType.INT64, False)] * 2
    # A DataFrame output is nullable, as Snowflake's pandas handler infers it.
    from_frame = infer_signature(X, pd.DataFrame({"y": [0.5, 1.5]}))
    assert from_frame.outputs == [FeatureSpec("y", DataType.DOUBLE, nullable=True)]
