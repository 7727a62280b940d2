"""Issue 11: a `%%mreg` query that selects a model's outputs returns the frame `mv.run` returns: same values,
same dtypes (pandas' nullable dtypes from the output signature), same RangeIndex."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mreg.model import custom_model
from jupyter_mreg.sql import execute


class Three(custom_model.CustomModel):
    """A float (null for negative x), an int and a string per row."""

    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        x = df["x"].to_numpy()
        return pd.DataFrame({"A": np.where(x < 0, np.nan, x * 1.5), "B": (x * 2).astype("int64"),
                             "C": np.where(x > 3, "high", "low").astype(object)})


@pytest.fixture
def three(reg):
    sample = pd.DataFrame({"x": [-1.0, 2.0, 5.0]})
    fn = reg.log_model(Three(custom_model.ModelContext()), model_name="three", version_name="v1",
                       sample_input_data=sample)
    tf = reg.log_model(Three(custom_model.ModelContext()), model_name="three_table", version_name="v1",
                       sample_input_data=sample, options={"function_type": "TABLE_FUNCTION"})
    return fn, tf


@pytest.fixture
def df():
    return pd.DataFrame({"x": np.arange(-2.0, 8.0), "id": np.arange(10)}, index=np.arange(50, 60))


def test_fidelity_sql_outputs_match_run(three, df, session):
    fn, _ = three
    expected = fn.run(df[["x"]])
    assert expected.dtypes.tolist() == [pd.Float64Dtype(), pd.Int64Dtype(), pd.StringDtype()]
    out = execute("SELECT MYDB.ML.THREE!PREDICT(x):A AS A, MYDB.ML.THREE!PREDICT(x):B AS B, "
                  "MYDB.ML.THREE!PREDICT(x):C AS C FROM df", {"df": df}, session=session)
    pd.testing.assert_frame_equal(out, expected)
    assert out["A"].isna().tolist()[:3] == [True, True, False]


def test_fidelity_sql_outputs_match_run_on_filtered_rows(three, df, session):
    fn, _ = three
    expected = fn.run(df.loc[df["id"] % 2 == 0, ["x"]])
    out = execute("SELECT MYDB.ML.THREE!PREDICT(x):A AS A, MYDB.ML.THREE!PREDICT(x):B AS B, "
                  "MYDB.ML.THREE!PREDICT(x):C AS C FROM df WHERE id % 2 = 0", {"df": df}, session=session)
    pd.testing.assert_frame_equal(out, expected)


def test_fidelity_sql_table_function_matches_run(three, df, session):
    _, tf = three
    expected = tf.run(df[["x"]])
    assert expected.dtypes.tolist() == [pd.Float64Dtype(), pd.Int64Dtype(), pd.StringDtype()]
    out = execute("SELECT * FROM df, TABLE(MYDB.ML.THREE_TABLE!PREDICT(df.x))", {"df": df}, session=session)
    pd.testing.assert_frame_equal(out, expected)
    picked = execute("SELECT C, A FROM df, TABLE(MYDB.ML.THREE_TABLE!PREDICT(df.x))", {"df": df},
                     session=session)
    pd.testing.assert_frame_equal(picked, expected[["C", "A"]])


def test_sql_plain_columns_and_expressions_keep_their_sql_types(three, df, session):
    out = execute("SELECT id, MYDB.ML.THREE!PREDICT(x):B * 2 AS b2 FROM df", {"df": df}, session=session)
    # Not a model output as such: typed by its SQL type as before (BIGINT → int64).
    assert out.dtypes.tolist() == [np.dtype("int64"), np.dtype("int64")]
    assert out["b2"].tolist() == [v * 4 for v in range(-2, 8)]
