"""XGBoost through the registry: wrappers and Boosters logged, run in a fresh process and loaded back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

xgb = pytest.importorskip("xgboost", reason="the xgboost extra is not installed: pip install jupyter_mreg[xgboost]")

from jupyter_mreg.errors import DataValidationError, EnvironmentMismatchError, InvalidArgumentError  # noqa: E402
from jupyter_mreg.model.handlers import find_handler  # noqa: E402
from jupyter_mreg.model.handlers.xgboost import Handler  # noqa: E402
from jupyter_mreg.model.task import Task  # noqa: E402
from tests.frameworks.fresh import functions, io, run_fresh  # noqa: E402

FEATURES = ["age", "income", "tenure"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 200
    X = pd.DataFrame({
        "age": rng.integers(18, 80, n).astype("int64"),
        "income": rng.normal(50_000, 15_000, n),
        "tenure": rng.exponential(3.0, n),
    })
    y2 = ((X["tenure"] < 2.5) ^ (X["age"] > 60)).astype(int)
    y3 = pd.cut(X["tenure"], [-np.inf, 1.0, 3.0, np.inf], labels=False).astype(int)
    yr = 0.01 * X["age"] + X["tenure"] + rng.normal(scale=0.1, size=n)
    return X, y2, y3, yr


@pytest.fixture(scope="module")
def binary(data):
    X, y2, _, _ = data
    return xgb.XGBClassifier(n_estimators=8, max_depth=3).fit(X, y2)


# ------------------------------------------------------------------------------------------ can_handle


def test_accepts_wrappers_and_boosters(binary, data):
    X, _, _, yr = data
    booster = xgb.train({"objective": "reg:squarederror"}, xgb.DMatrix(X, label=yr), num_boost_round=2)
    for model in (binary, xgb.XGBRegressor(), xgb.XGBRanker(), xgb.XGBRFClassifier(), booster):
        assert find_handler(model) is Handler  # ahead of the sklearn handler, which would pickle them
    assert not Handler.can_handle(xgb.XGBClassifier)  # the class, not a model
    assert not Handler.can_handle(object())


# ------------------------------------------------------------------------------------------ wrappers


def test_binary_classifier_round_trips_in_a_fresh_process(reg, binary, data, tmp_path):
    X = data[0]
    mv = reg.log_model(binary, model_name="churn_xgb", version_name="v1", sample_input_data=X.head(20))

    sigs = functions(mv)
    assert list(sigs) == ["PREDICT", "PREDICT_PROBA"]
    inputs = [("age", "INT64"), ("income", "DOUBLE"), ("tenure", "DOUBLE")]
    assert io(sigs["PREDICT"]) == (inputs, [("output_feature_0", "INT64")])
    assert io(sigs["PREDICT_PROBA"]) == (inputs, [("output_feature_0", "FLOAT"), ("output_feature_1", "FLOAT")])
    assert mv.get_model_task() is Task.TABULAR_BINARY_CLASSIFICATION

    fresh = run_fresh(mv, X, tmp_path)
    assert fresh["type"] == "xgboost.sklearn.XGBClassifier"
    np.testing.assert_array_equal(fresh["outputs"]["PREDICT"]["output_feature_0"].to_numpy(), binary.predict(X))
    np.testing.assert_allclose(fresh["outputs"]["PREDICT_PROBA"].to_numpy(), binary.predict_proba(X),
                               rtol=1e-6, atol=1e-6)

    loaded = mv.load()
    assert type(loaded) is xgb.XGBClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), binary.predict_proba(X))
    assert loaded.get_params()["n_estimators"] == 8 and loaded.get_params()["max_depth"] == 3

    # XGBoost's own format, not a pickle; the environment records xgboost.
    mv.export(tmp_path / "export")
    assert (tmp_path / "export" / "model" / "model.ubj").is_file()
    assert not list((tmp_path / "export" / "model").glob("*.pkl"))
    assert mv.manifest.handler["format"] == "ubj"
    assert "xgboost" in mv.manifest.environment["built_with"]


def test_multiclass_predict_proba(reg, data):
    X, _, y3, _ = data
    model = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y3)
    mv = reg.log_model(model, model_name="tenure_band", version_name="v1", sample_input_data=X.head(20))
    assert mv.get_model_task() is Task.TABULAR_MULTI_CLASSIFICATION
    out = mv.run(X, function_name="predict_proba")
    assert list(out.columns) == ["output_feature_0", "output_feature_1", "output_feature_2"]
    np.testing.assert_allclose(out.to_numpy(), model.predict_proba(X), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(mv.run(X, function_name="predict")["output_feature_0"], model.predict(X))


def test_regressor_keeps_its_missing_value_marker(reg, data):
    # XGBoost's file forgets `missing`; reloading without it would treat -1 as a value and predict otherwise.
    X, _, _, yr = data
    X = X.astype({"age": "float64"})
    X.loc[X.index % 4 == 0, "tenure"] = -1.0
    model = xgb.XGBRegressor(n_estimators=10, max_depth=3, missing=-1.0).fit(X, yr)
    mv = reg.log_model(model, model_name="spend", version_name="v1", sample_input_data=X.head(20))
    assert [f["name"] for f in mv.show_functions()] == ["PREDICT"]
    assert mv.get_model_task() is Task.TABULAR_REGRESSION
    np.testing.assert_allclose(mv.run(X)["output_feature_0"], model.predict(X), rtol=1e-6, atol=1e-6)
    loaded = mv.load()
    assert type(loaded) is xgb.XGBRegressor and loaded.get_params()["missing"] == -1.0


def test_ranker(reg, data):
    X, _, y3, _ = data
    model = xgb.XGBRanker(n_estimators=5, max_depth=2).fit(X, y3, qid=np.repeat(np.arange(20), 10))
    mv = reg.log_model(model, model_name="ranking", version_name="v1", sample_input_data=X.head(20))
    assert mv.get_model_task() is Task.TABULAR_RANKING
    assert [f["name"] for f in mv.show_functions()] == ["PREDICT"]
    np.testing.assert_allclose(mv.run(X)["output_feature_0"], model.predict(X), rtol=1e-6, atol=1e-6)
    assert type(mv.load()) is xgb.XGBRanker


# ------------------------------------------------------------------------------------------- boosters


def test_booster_round_trips_in_a_fresh_process(reg, data, tmp_path):
    X, _, y3, _ = data
    booster = xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2},
                        xgb.DMatrix(X, label=y3), num_boost_round=5)
    mv = reg.log_model(booster, model_name="booster", version_name="v1", sample_input_data=X.head(20))
    sigs = functions(mv)
    assert list(sigs) == ["PREDICT"]  # a Booster has no predict_proba
    assert io(sigs["PREDICT"])[1] == [("output_feature_0", "FLOAT"), ("output_feature_1", "FLOAT"),
                                       ("output_feature_2", "FLOAT")]
    assert mv.get_model_task() is Task.TABULAR_MULTI_CLASSIFICATION

    expected = booster.predict(xgb.DMatrix(X))
    fresh = run_fresh(mv, X[["tenure", "age", "income"]], tmp_path)  # another column order, too
    assert fresh["type"] == "xgboost.core.Booster"
    np.testing.assert_allclose(fresh["outputs"]["PREDICT"].to_numpy(), expected, rtol=1e-6, atol=1e-6)
    loaded = mv.load()
    assert type(loaded) is xgb.Booster
    np.testing.assert_array_equal(loaded.predict(xgb.DMatrix(X)), expected)


def test_booster_trained_on_arrays(reg, data):
    X, y2, _, _ = data
    booster = xgb.train({"objective": "binary:logistic"}, xgb.DMatrix(X.to_numpy(), label=y2), num_boost_round=4)
    mv = reg.log_model(booster, model_name="array_booster", version_name="v1", sample_input_data=X.to_numpy()[:20])
    assert [name for name, _ in io(functions(mv)["PREDICT"])[0]] == ["input_feature_0", "input_feature_1",
                                                                       "input_feature_2"]
    assert mv.get_model_task() is Task.TABULAR_BINARY_CLASSIFICATION
    out = mv.run(X.to_numpy())
    np.testing.assert_allclose(out["output_feature_0"], booster.predict(xgb.DMatrix(X.to_numpy())), rtol=1e-6)


# ------------------------------------------------------------------------------- what users pass at run


def test_columns_in_another_order(reg, binary, data):
    X = data[0]
    mv = reg.log_model(binary, model_name="churn_xgb", version_name="v1", sample_input_data=X.head(20))
    out = mv.run(X[["tenure", "income", "age"]], function_name="predict_proba")
    np.testing.assert_allclose(out.to_numpy(), binary.predict_proba(X), rtol=1e-6, atol=1e-6)
    # A sample in another order than the fit still gives a model that runs on either order.
    mv2 = reg.log_model(binary, model_name="churn_xgb", version_name="v2",
                        sample_input_data=X[["tenure", "income", "age"]].head(20))
    np.testing.assert_array_equal(mv2.run(X, function_name="predict")["output_feature_0"], binary.predict(X))


def test_a_missing_column_is_named(reg, binary, data):
    X = data[0]
    mv = reg.log_model(binary, model_name="churn_xgb", version_name="v1", sample_input_data=X.head(20))
    with pytest.raises(DataValidationError, match=r"feature 'income' of method predict_proba does not exist") as info:
        mv.run(X.drop(columns=["income"]), function_name="predict_proba")
    assert "Available columns are ['age', 'tenure']" in str(info.value)


def test_categorical_columns_round_trip(reg, data, tmp_path):
    X, y2, _, _ = data
    rng = np.random.default_rng(1)
    Xc = X.assign(plan=pd.Categorical(rng.choice(["basic", "plus", "pro"], len(X))))
    y = (y2.astype(bool) ^ (Xc["plan"] == "pro")).astype(int)
    model = xgb.XGBClassifier(n_estimators=8, max_depth=3, enable_categorical=True).fit(Xc, y)
    mv = reg.log_model(model, model_name="plans", version_name="v1", sample_input_data=Xc.head(20))
    assert ("plan", "STRING") in io(functions(mv)["PREDICT_PROBA"])[0]

    expected = model.predict_proba(Xc)
    fresh = run_fresh(mv, Xc, tmp_path, functions=["PREDICT_PROBA"])
    np.testing.assert_allclose(fresh["outputs"]["PREDICT_PROBA"].to_numpy(), expected, rtol=1e-6, atol=1e-6)
    # The same column as plain text (a CSV, SQL), and a batch that holds only some of the categories.
    as_text = Xc.assign(plan=Xc["plan"].astype(str))
    np.testing.assert_allclose(mv.run(as_text, function_name="predict_proba").to_numpy(), expected, rtol=1e-6)
    few = as_text[as_text["plan"] != "basic"]
    np.testing.assert_allclose(mv.run(few, function_name="predict_proba").to_numpy(),
                               model.predict_proba(Xc[Xc["plan"] != "basic"]), rtol=1e-6)
    assert as_text["plan"].dtype != "category"  # the caller's frame is not changed


# ---------------------------------------------------------------------------------------------- devices


def test_gpu_load_is_refused_without_a_gpu_and_force_falls_back(reg, binary, data):
    X = data[0]
    mv = reg.log_model(binary, model_name="churn_xgb", version_name="v1", sample_input_data=X.head(20))
    with pytest.raises(EnvironmentMismatchError, match=r"device 'cuda': xgboost sees no GPU"):
        mv.load(options={"device": "cuda"})
    with pytest.warns(RuntimeWarning, match="Loading it on the CPU because force=True"):
        loaded = mv.load(options={"use_gpu": True}, force=True)
    np.testing.assert_array_equal(loaded.predict_proba(X), binary.predict_proba(X))


def test_use_gpu_is_recorded_and_runs_on_the_cpu_here(reg, binary, data):
    X = data[0]
    mv = reg.log_model(binary, model_name="churn_xgb", version_name="v1", sample_input_data=X.head(20),
                       options={"use_gpu": True})
    assert mv.manifest.options["use_gpu"] is True
    np.testing.assert_array_equal(mv.run(X, function_name="predict")["output_feature_0"], binary.predict(X))


def test_load_on_cuda_sets_the_device_parameter(binary, data, tmp_path):
    meta = Handler.save(binary, tmp_path, {})
    on_gpu = Handler.load(tmp_path, meta, {"device": "cuda:1"})
    assert on_gpu.get_params()["device"] == "cuda:1"
    on_cpu = Handler.load(tmp_path, meta, {"device": "cpu"})
    assert on_cpu.get_params()["device"] is None  # as fitted: nothing to change


def test_an_unfitted_model_is_refused(tmp_path):
    with pytest.raises(InvalidArgumentError, match="not fitted: call fit"):
        Handler.save(xgb.XGBClassifier(), tmp_path, {})
    assert Handler.infer_task(xgb.XGBClassifier()) is Task.UNKNOWN


def test_a_model_fitted_on_a_frame_logged_with_an_array_sample(reg, binary, data):
    # The signature then has positional names; the model still gets its own feature names.
    X = data[0]
    mv = reg.log_model(binary, model_name="churn_xgb", version_name="v1", sample_input_data=X.to_numpy()[:20])
    out = mv.run(X.to_numpy(), function_name="predict_proba")
    np.testing.assert_allclose(out.to_numpy(), binary.predict_proba(X), rtol=1e-6, atol=1e-6)
