"""run_method / select_method on a package saved to disk, without a registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mreg.errors import DataValidationError, InvalidArgumentError, NotFoundError
from jupyter_mreg.inference.runner import run_method, select_method
from jupyter_mreg.model.packaging.package import load_package, save_package


@pytest.fixture
def saved(tmp_path, churn, pipe):
    manifest = save_package(pipe, tmp_path / "pkg", sample_input_data=churn[0].head())
    return load_package(tmp_path / "pkg"), manifest


def test_select_method_by_name_case_insensitively(saved):
    _, manifest = saved
    assert select_method(manifest.methods, "predict_proba", "M version V").target_method == "predict_proba"
    assert select_method(manifest.methods, "PREDICT", "M version V").target_method == "predict"
    with pytest.raises(NotFoundError, match="There is no method with name SCORE available in the model M version V"):
        select_method(manifest.methods, "score", "M version V")
    with pytest.raises(InvalidArgumentError, match="Please specify a `function_name`"):
        select_method(manifest.methods, None, "M version V")


def test_run_method_keeps_the_input_order_on_a_fresh_range_index(saved, churn, pipe):
    model, manifest = saved
    X = churn[0].iloc[::-1].set_index(pd.Index([f"row{i}" for i in range(len(churn[0]))]))
    method = select_method(manifest.methods, "predict_proba", "")
    out = run_method(model, manifest.model_type, method, X)
    assert out.index.equals(pd.RangeIndex(len(X)))  # as Snowflake's run: rows in input order, index 0..n-1
    np.testing.assert_allclose(out.to_numpy(), pipe.predict_proba(X))


def test_positional_columns_are_matched_by_signature_order(saved, churn, pipe):
    model, manifest = saved
    method = select_method(manifest.methods, "predict", "")
    out = run_method(model, manifest.model_type, method, churn[0].set_axis([0, 1, 2], axis=1))
    np.testing.assert_array_equal(out["output_feature_0"], pipe.predict(churn[0]))


def test_partition_column_needs_a_partitioned_method(saved, churn):
    model, manifest = saved
    method = select_method(manifest.methods, "predict", "")
    with pytest.raises(InvalidArgumentError, match="is not partitioned"):
        run_method(model, manifest.model_type, method, churn[0], partition_column="age")


def test_a_frame_matching_the_signature_and_one_needing_work_give_the_same_predictions(saved, churn, pipe):
    model, manifest = saved
    method = select_method(manifest.methods, "predict_proba", "")
    X = churn[0]
    expected = pipe.predict_proba(X)
    matching = run_method(model, manifest.model_type, method, X)  # validated without a copy
    shuffled = X[["tenure", "age", "income"]].assign(city="x")  # reordered, one extra column
    widened = X.astype({"age": "int16"})  # any integer dtype is an INT64 feature
    nullable = X.astype({"age": "Int64"})  # handed to the model as numpy
    for frame in (matching, *(run_method(model, manifest.model_type, method, f) for f in
                              (shuffled, widened, nullable))):
        assert list(frame.columns) == list(matching.columns)
        np.testing.assert_allclose(frame.to_numpy(), expected)


def test_a_wrong_dtype_is_refused_with_the_feature_and_the_fix(saved, churn):
    model, manifest = saved
    method = select_method(manifest.methods, "predict", "")
    with pytest.raises(DataValidationError, match=(
            r"feature 'age' of method predict expects INT64 but the column 'age' has dtype float64\. "
            r"Convert it with df\['age'\] = df\['age'\]\.round\(\)\.astype\('int64'\)")):
        run_method(model, manifest.model_type, method, churn[0].astype({"age": "float64"}))
