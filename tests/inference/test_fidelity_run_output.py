"""Issue 11 items 1 and 2: `run()` returns what Snowflake's warehouse `run` returns: a fresh RangeIndex, and
each output with its FeatureSpec's `as_dtype()` (pandas' nullable dtypes for nullable features)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mreg.errors import SignatureError
from jupyter_mreg.model import custom_model
from jupyter_mreg.model.model_signature import DataType, FeatureSpec, ModelSignature


class Mixed(custom_model.CustomModel):
    """Returns a float (NaN where x is negative), an int, a string, a bool and a list per row."""

    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        x = df["x"].to_numpy()
        return pd.DataFrame({
            "score": np.where(x < 0, np.nan, x * 1.5),
            "count": (x * 2).astype("int64"),
            "label": np.where(x > 2, "high", "low").astype(object),
            "flag": x > 1,
            "pair": [[v, v + 1.0] for v in x],
        })


def _signature(nullable: bool) -> ModelSignature:
    return ModelSignature(
        inputs=[FeatureSpec("x", DataType.DOUBLE)],
        outputs=[FeatureSpec("score", DataType.DOUBLE, nullable=nullable),
                 FeatureSpec("count", DataType.INT64, nullable=nullable),
                 FeatureSpec("label", DataType.STRING, nullable=nullable),
                 FeatureSpec("flag", DataType.BOOL, nullable=nullable),
                 FeatureSpec("pair", DataType.DOUBLE, shape=(2,), nullable=nullable)])


@pytest.fixture
def mixed(reg):
    return reg.log_model(Mixed(custom_model.ModelContext()), model_name="mixed", version_name="v1",
                         signatures={"predict": _signature(nullable=True)})


@pytest.fixture
def data():
    return pd.DataFrame({"x": np.arange(-2.0, 18.0)})


def test_fidelity_run_returns_range_index(mixed, data):
    part = data.iloc[10:20]
    out = mixed.run(part)
    assert isinstance(out.index, pd.RangeIndex) and list(out.index) == list(range(10))
    # Code written for Snowflake joins results back by position.
    joined = pd.concat([part.reset_index(drop=True), out], axis=1)
    assert len(joined) == 10 and not joined["score"].isna().any()
    assert joined["x"].tolist() == part["x"].tolist()


def test_fidelity_run_returns_range_index_for_a_sklearn_model(reg):
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30.0) % 3}, index=np.arange(100, 130))
    mv = reg.log_model(LinearRegression().fit(X, X["a"] * 2), model_name="lin", version_name="v1",
                       sample_input_data=X)
    out = mv.run(X.iloc[5:9], function_name="predict")
    assert out.index.equals(pd.RangeIndex(4))
    np.testing.assert_allclose(out["output_feature_0"].to_numpy(dtype=float), [10.0, 12.0, 14.0, 16.0])


def test_fidelity_run_output_dtypes_are_pandas_nullable_dtypes(mixed, data):
    out = mixed.run(data)
    assert out.dtypes.to_dict() == {"score": pd.Float64Dtype(), "count": pd.Int64Dtype(),
                                    "label": pd.StringDtype(), "flag": pd.BooleanDtype(),
                                    "pair": np.dtype(object)}
    assert out["label"].tolist()[-1] == "high" and out["count"].tolist()[:3] == [-4, -2, 0]
    # A list feature stays an object column with one list per row, as Snowflake returns it.
    assert list(out["pair"].iloc[3]) == [1.0, 2.0]


def test_fidelity_nan_in_a_nullable_float_output_is_na(mixed, data):
    out = mixed.run(data)
    # Snowflake casts the warehouse's NaN to Float64, which makes it <NA>.
    assert out["score"].isna().tolist()[:3] == [True, True, False]
    assert out["score"].iloc[0] is pd.NA


def test_fidelity_not_nullable_outputs_keep_numpy_dtypes(reg, data):
    mv = reg.log_model(Mixed(custom_model.ModelContext()), model_name="mixed_numpy", version_name="v1",
                       signatures={"predict": _signature(nullable=False)})
    out = mv.run(data)
    assert out.dtypes.to_dict() == {"score": np.dtype("float64"), "count": np.dtype("int64"),
                                    "label": np.dtype(object), "flag": np.dtype(bool), "pair": np.dtype(object)}
    assert np.isnan(out["score"].iloc[0])


def test_fidelity_narrow_types_keep_their_width(reg, data):
    class Narrow(custom_model.CustomModel):
        @custom_model.inference_api
        def predict(self, df: pd.DataFrame) -> pd.DataFrame:
            x = df["x"].to_numpy()
            return pd.DataFrame({"f": x, "i": x.astype(int), "u": np.abs(x).astype(int)})

    sig = ModelSignature(inputs=[FeatureSpec("x", DataType.DOUBLE)],
                         outputs=[FeatureSpec("f", DataType.FLOAT), FeatureSpec("i", DataType.INT8),
                                  FeatureSpec("u", DataType.UINT8)])
    mv = reg.log_model(Narrow(custom_model.ModelContext()), model_name="narrow", version_name="v1",
                       signatures={"predict": sig})
    out = mv.run(data)
    assert out.dtypes.tolist() == [pd.Float32Dtype(), pd.Int8Dtype(), pd.UInt8Dtype()]
    assert out["u"].tolist()[:3] == [2, 1, 0]


def test_fidelity_empty_input_gives_the_same_dtypes(mixed, data):
    empty = mixed.run(data.iloc[:0])
    assert len(empty) == 0 and isinstance(empty.index, pd.RangeIndex)
    assert empty.dtypes.equals(mixed.run(data).dtypes)


def test_fidelity_partitioned_run_has_range_index_and_nullable_dtypes(reg):
    class PerStore(custom_model.CustomModel):
        @custom_model.partitioned_api
        def predict(self, df: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame({"total": [df["sales"].sum()], "rows": [len(df)]})

    sales = pd.DataFrame({"store": ["a", "b", "a", "c"], "sales": [1.0, 2.0, 3.0, 4.0]}, index=[7, 8, 9, 10])
    mv = reg.log_model(PerStore(), model_name="per_store", version_name="v1", sample_input_data=sales,
                       options={"function_type": "TABLE_FUNCTION"})
    out = mv.run(sales, partition_column="store")
    assert out.index.equals(pd.RangeIndex(3))
    assert out[["total", "rows"]].dtypes.tolist() == [pd.Float64Dtype(), pd.Int64Dtype()]
    assert out.set_index("store")["total"].to_dict() == {"a": 4.0, "b": 2.0, "c": 4.0}


def test_fidelity_values_that_do_not_fit_the_declared_type_are_a_signature_error(reg, data):
    class Words(custom_model.CustomModel):
        @custom_model.inference_api
        def predict(self, df: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame({"n": ["one"] * len(df)})

    sig = ModelSignature(inputs=[FeatureSpec("x", DataType.DOUBLE)], outputs=[FeatureSpec("n", DataType.INT64)])
    mv = reg.log_model(Words(custom_model.ModelContext()), model_name="words", version_name="v1",
                       signatures={"predict": sig})
    with pytest.raises(SignatureError, match=r"output 'n' that are not INT64 as its signature declares"):
        mv.run(data)
