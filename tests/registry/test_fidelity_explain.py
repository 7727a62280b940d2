"""Explainability as Snowflake has it (snowflake-ml-python 1.48): `options={"enable_explainability": True}` adds
a TABLE_FUNCTION `explain` whose outputs are one `<feature>_explanation` column of SHAP values per input feature;
it is off by default (since Snowflake 1.47), and refused for frameworks that cannot be explained."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jupyter_mreg.errors import NotFoundError
from jupyter_mreg.model import custom_model
from jupyter_mreg.model.model_signature import DataType, infer_signature

ON = {"enable_explainability": True}


def _data(n: int = 300, classes: int = 2, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)})
    y = (X["a"] + X["b"] > 0).astype(int).to_numpy()
    if classes == 3:
        y = y + (X["c"] > 0.5).astype(int).to_numpy()
    return X, y


def _functions(mv) -> dict:
    return {f["name"]: f for f in mv.show_functions()}


def test_fidelity_explain_only_when_enabled_as_snowflake_1_47(reg):
    import xgboost

    X, y = _data()
    model = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    default = reg.log_model(model, model_name="m", version_name="v1", sample_input_data=X.head(20))
    off = reg.log_model(model, model_name="m", version_name="v2", sample_input_data=X.head(20),
                        options={"enable_explainability": False})
    on = reg.log_model(model, model_name="m", version_name="v3", sample_input_data=X.head(20), options=ON)
    assert list(_functions(default)) == list(_functions(off)) == ["PREDICT", "PREDICT_PROBA"]
    assert list(_functions(on)) == ["PREDICT", "PREDICT_PROBA", "EXPLAIN"]
    with pytest.raises(NotFoundError, match="There is no method with name EXPLAIN"):
        off.run(X, function_name="explain")


def test_fidelity_explain_signature_and_show_functions(reg):
    import xgboost

    X, y = _data()
    model = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    mv = reg.log_model(model, model_name="m", version_name="v1", sample_input_data=X.head(20), options=ON)
    explain = _functions(mv)["EXPLAIN"]
    assert explain["target_method"] == "explain"
    assert explain["target_method_function_type"] == "TABLE_FUNCTION"
    assert explain["is_partitioned"] is False
    sig = explain["signature"]
    assert [f.name for f in sig.inputs] == [f.name for f in _functions(mv)["PREDICT"]["signature"].inputs]
    # DOUBLE and nullable, as Snowflake declares them: run() returns them as pandas' Float64.
    assert [(f.name, str(f.as_dtype())) for f in sig.outputs] == [
        ("a_explanation", "Float64"), ("b_explanation", "Float64"), ("c_explanation", "Float64")]
    assert all(f._dtype == DataType.DOUBLE for f in sig.outputs)
    # The explain table function does not narrow the default target platforms (as Snowflake).
    assert mv.manifest.target_platforms == ["WAREHOUSE", "SNOWPARK_CONTAINER_SERVICES"]
    assert "shap" in mv.manifest.environment["built_with"]


def test_fidelity_xgboost_explain_returns_tree_shap_values(reg):
    import shap
    import xgboost

    X, y = _data(1000)
    model = xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(X, y)
    mv = reg.log_model(model, model_name="m", version_name="v1", sample_input_data=X.head(20), options=ON)
    out = mv.run(X, function_name="explain")
    assert list(out.columns) == ["a_explanation", "b_explanation", "c_explanation"]
    assert len(out) == 1000
    values = out.to_numpy(dtype=float)
    np.testing.assert_allclose(values, shap.TreeExplainer(model).shap_values(X), rtol=1e-5, atol=1e-6)
    # SHAP values add up to the margin (log-odds) less a constant, the explainer's expected value.
    rest = model.predict(X, output_margin=True) - values.sum(axis=1)
    assert np.ptp(rest) < 1e-4


def test_fidelity_lightgbm_explain_returns_tree_shap_values(reg):
    import lightgbm
    import shap

    X, y = _data()
    model = lightgbm.LGBMRegressor(n_estimators=10, verbose=-1).fit(X, X["a"] * 2 + X["b"])
    mv = reg.log_model(model, model_name="m", version_name="v1", sample_input_data=X.head(20), options=ON)
    out = mv.run(X, function_name="explain")
    assert list(out.columns) == ["a_explanation", "b_explanation", "c_explanation"]
    values = out.to_numpy(dtype=float)
    np.testing.assert_allclose(values, shap.TreeExplainer(model).shap_values(X), rtol=1e-6, atol=1e-9)
    assert np.ptp(model.predict(X) - values.sum(axis=1)) < 1e-6


def test_fidelity_catboost_multiclass_explain_holds_a_json_object_per_class(reg):
    import catboost
    import shap

    X, y = _data(classes=3)
    model = catboost.CatBoostClassifier(iterations=10, depth=2, verbose=0, allow_writing_files=False).fit(X, y)
    mv = reg.log_model(model, model_name="m", version_name="v1", sample_input_data=X.head(20), options=ON)
    sig = _functions(mv)["EXPLAIN"]["signature"]
    assert all(f._dtype == DataType.STRING for f in sig.outputs)
    out = mv.run(X.head(10), function_name="explain")
    assert list(out.columns) == ["a_explanation", "b_explanation", "c_explanation"]
    expected = shap.TreeExplainer(model).shap_values(X.head(10))  # (rows, features, classes)
    cell = json.loads(out["b_explanation"].iloc[3])
    assert list(cell) == ["0", "1", "2"]
    np.testing.assert_allclose(list(cell.values()), expected[3, 1, :], rtol=1e-6)


def test_fidelity_sklearn_tree_explain_is_shap_of_the_positive_class(reg):
    import shap
    from sklearn.ensemble import RandomForestClassifier

    X, y = _data()
    model = RandomForestClassifier(n_estimators=10, max_depth=3, random_state=0).fit(X, y)
    background = X.head(50)
    mv = reg.log_model(model, model_name="m", version_name="v1", sample_input_data=background, options=ON)
    out = mv.run(X.head(40), function_name="explain")
    assert list(out.columns) == ["a_explanation", "b_explanation", "c_explanation"]
    explanation = shap.Explainer(model, background)(X.head(40))
    np.testing.assert_allclose(out.to_numpy(dtype=float), explanation.values[:, :, 1], atol=1e-9)
    # ... which add up to the probability of class 1 less the mean over the background.
    total = out.to_numpy(dtype=float).sum(axis=1) + explanation.base_values[:, 1]
    np.testing.assert_allclose(total, model.predict_proba(X.head(40))[:, 1], atol=1e-6)


def test_fidelity_sklearn_linear_explain_is_shap_of_the_log_odds(reg):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _data()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    mv = reg.log_model(model, model_name="m", version_name="v1", sample_input_data=X.head(100), options=ON)
    out = mv.run(X.head(30), function_name="explain")
    # The scaler keeps the names: one explanation per input feature, of the final estimator's log-odds.
    assert list(out.columns) == ["a_explanation", "b_explanation", "c_explanation"]
    rest = model.decision_function(X.head(30)) - out.to_numpy(dtype=float).sum(axis=1)
    assert np.ptp(rest) < 1e-9


def test_fidelity_explain_refused_for_a_custom_model(reg):
    class Doubler(custom_model.CustomModel):
        @custom_model.inference_api
        def predict(self, X: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame({"y": X["a"] * 2})

    X = pd.DataFrame({"a": [1.0, 2.0]})
    with pytest.raises(NotImplementedError, match=r"^Explainability is not supported for custom model\."):
        reg.log_model(Doubler(custom_model.ModelContext()), model_name="m", version_name="v1",
                      sample_input_data=X, options=ON)
    assert reg.show_models().empty


def test_fidelity_sklearn_explain_needs_sample_input_data(reg):
    from sklearn.linear_model import LinearRegression

    X, y = _data()
    model = LinearRegression().fit(X, y)
    sig = infer_signature(X.head(50), pd.DataFrame({"output_feature_0": model.predict(X.head(50))}))
    with pytest.raises(ValueError, match=r"^Sample input data is required to enable explainability"):
        reg.log_model(model, model_name="m", version_name="v1", signatures={"predict": sig}, options=ON)


def test_fidelity_explain_with_nothing_to_explain_is_refused(reg):
    from sklearn.preprocessing import StandardScaler

    X, _ = _data()
    with pytest.raises(ValueError, match=r"^Signature for target method None is missing or no method to explain"):
        reg.log_model(StandardScaler().fit(X), model_name="m", version_name="v1", sample_input_data=X, options=ON)
