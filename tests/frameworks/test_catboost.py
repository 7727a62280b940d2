"""CatBoost through the registry: classifiers, regressors, rankers and plain CatBoost models logged, run in a
fresh process and loaded back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

cb = pytest.importorskip("catboost", reason="the catboost extra is not installed: pip install jupyter_mreg[catboost]")

from jupyter_mreg.errors import DataValidationError, EnvironmentMismatchError, InvalidArgumentError  # noqa: E402
from jupyter_mreg.model.handlers import find_handler  # noqa: E402
from jupyter_mreg.model.handlers.catboost import Handler  # noqa: E402
from jupyter_mreg.model.task import Task  # noqa: E402
from tests.frameworks.fresh import functions, io, run_fresh  # noqa: E402

SMALL = {"iterations": 20, "depth": 3, "verbose": False, "allow_writing_files": False, "random_seed": 0,
         "thread_count": 1}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 200
    X = pd.DataFrame({
        "age": rng.integers(18, 80, n).astype("int64"),
        "income": rng.normal(50_000, 15_000, n),
        "plan": rng.choice(["basic", "plus", "pro"], n),  # text: a categorical feature
    })
    y2 = np.where((X["age"] > 50) ^ (X["plan"] == "pro"), "churned", "stayed")
    y3 = pd.cut(X["income"], [-np.inf, 40_000, 60_000, np.inf], labels=False).astype(int)
    yr = 0.01 * X["age"] + (X["plan"] == "pro") + rng.normal(scale=0.1, size=n)
    return X, y2, y3, yr


@pytest.fixture(scope="module")
def binary(data):
    X, y2, _, _ = data
    return cb.CatBoostClassifier(**SMALL, cat_features=["plan"]).fit(X, y2)


# ------------------------------------------------------------------------------------------ can_handle


def test_accepts_catboost_models(binary):
    for model in (binary, cb.CatBoostRegressor(), cb.CatBoostRanker(), cb.CatBoost()):
        assert find_handler(model) is Handler
    assert not Handler.can_handle(cb.CatBoostClassifier)  # the class, not a model
    assert not Handler.can_handle(object())


# ----------------------------------------------------------------------------------------- classifiers


def test_binary_classifier_with_a_text_category_round_trips_in_a_fresh_process(reg, binary, data, tmp_path):
    X = data[0]
    mv = reg.log_model(binary, model_name="churn_cb", version_name="v1", sample_input_data=X.head(20))

    sigs = functions(mv)
    assert list(sigs) == ["PREDICT", "PREDICT_PROBA"]
    inputs = [("age", "INT64"), ("income", "DOUBLE"), ("plan", "STRING")]
    assert io(sigs["PREDICT"]) == (inputs, [("output_feature_0", "STRING")])
    assert io(sigs["PREDICT_PROBA"]) == (inputs, [("output_feature_0", "DOUBLE"), ("output_feature_1", "DOUBLE")])
    assert mv.get_model_task() is Task.TABULAR_BINARY_CLASSIFICATION

    fresh = run_fresh(mv, X, tmp_path)
    assert fresh["type"] == "catboost.core.CatBoostClassifier"
    assert fresh["outputs"]["PREDICT"]["output_feature_0"].tolist() == binary.predict(X).tolist()
    np.testing.assert_allclose(fresh["outputs"]["PREDICT_PROBA"].to_numpy(), binary.predict_proba(X),
                               rtol=1e-6, atol=1e-6)

    loaded = mv.load()
    assert type(loaded) is cb.CatBoostClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), binary.predict_proba(X))
    assert loaded.classes_.tolist() == ["churned", "stayed"]
    assert loaded.get_cat_feature_indices() == [2]

    mv.export(tmp_path / "export")
    assert sorted(p.name for p in (tmp_path / "export" / "model").iterdir()) == ["model.cbm"]  # no pickle
    assert "catboost" in mv.manifest.environment["built_with"]


def test_multiclass_predict_proba(reg, data):
    X, _, y3, _ = data
    model = cb.CatBoostClassifier(**SMALL, cat_features=["plan"]).fit(X, y3)
    mv = reg.log_model(model, model_name="income_band", version_name="v1", sample_input_data=X.head(20))
    assert mv.get_model_task() is Task.TABULAR_MULTI_CLASSIFICATION
    out = mv.run(X, function_name="predict_proba")
    assert list(out.columns) == ["output_feature_0", "output_feature_1", "output_feature_2"]
    np.testing.assert_allclose(out.to_numpy(), model.predict_proba(X), rtol=1e-6, atol=1e-6)
    # CatBoost's multiclass predict gives one column of labels.
    np.testing.assert_array_equal(mv.run(X, function_name="predict")["output_feature_0"], model.predict(X).ravel())


def test_pandas_category_columns_work_too(reg, binary, data):
    X = data[0]
    as_category = X.assign(plan=X["plan"].astype("category"))
    mv = reg.log_model(binary, model_name="churn_cb", version_name="v1", sample_input_data=as_category.head(20))
    assert ("plan", "STRING") in io(functions(mv)["PREDICT_PROBA"])[0]
    expected = binary.predict_proba(X)
    np.testing.assert_allclose(mv.run(as_category, function_name="predict_proba").to_numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(mv.run(X, function_name="predict_proba").to_numpy(), expected, rtol=1e-6)


# ------------------------------------------------------------------------------------ other model kinds


def test_regressor(reg, data):
    X, _, _, yr = data
    model = cb.CatBoostRegressor(**SMALL, cat_features=["plan"]).fit(X, yr)
    mv = reg.log_model(model, model_name="spend", version_name="v1", sample_input_data=X.head(20))
    assert [f["name"] for f in mv.show_functions()] == ["PREDICT"]
    assert io(functions(mv)["PREDICT"])[1] == [("output_feature_0", "DOUBLE")]
    assert mv.get_model_task() is Task.TABULAR_REGRESSION
    np.testing.assert_allclose(mv.run(X)["output_feature_0"], model.predict(X), rtol=1e-6, atol=1e-6)
    assert type(mv.load()) is cb.CatBoostRegressor


def test_ranker(reg, data):
    X, _, y3, _ = data
    model = cb.CatBoostRanker(**SMALL, cat_features=["plan"]).fit(X, y3, group_id=np.repeat(np.arange(20), 10))
    mv = reg.log_model(model, model_name="ranking", version_name="v1", sample_input_data=X.head(20))
    assert mv.get_model_task() is Task.TABULAR_RANKING
    np.testing.assert_allclose(mv.run(X)["output_feature_0"], model.predict(X), rtol=1e-6, atol=1e-6)
    assert type(mv.load()) is cb.CatBoostRanker


def test_plain_catboost_model_round_trips_in_a_fresh_process(reg, data, tmp_path):
    # The low-level `CatBoost` class plays the part of a Booster: no predict_proba, raw scores from predict.
    X, _, y3, _ = data
    model = cb.CatBoost({**SMALL, "loss_function": "MultiClass", "cat_features": ["plan"]}).fit(X, y3)
    mv = reg.log_model(model, model_name="raw", version_name="v1", sample_input_data=X.head(20))
    assert list(functions(mv)) == ["PREDICT"]
    assert mv.get_model_task() is Task.TABULAR_MULTI_CLASSIFICATION
    fresh = run_fresh(mv, X[["plan", "income", "age"]], tmp_path)  # another column order, too
    assert fresh["type"] == "catboost.core.CatBoost"
    np.testing.assert_allclose(fresh["outputs"]["PREDICT"].to_numpy(), model.predict(X), rtol=1e-6, atol=1e-6)
    assert type(mv.load()) is cb.CatBoost


def test_model_trained_on_arrays(reg, data):
    X, _, _, yr = data
    numbers = X[["age", "income"]].to_numpy(dtype=float)
    model = cb.CatBoostRegressor(**SMALL).fit(numbers, yr)
    mv = reg.log_model(model, model_name="arrays", version_name="v1", sample_input_data=numbers[:20])
    assert [name for name, _ in io(functions(mv)["PREDICT"])[0]] == ["input_feature_0", "input_feature_1"]
    np.testing.assert_allclose(mv.run(numbers)["output_feature_0"], model.predict(numbers), rtol=1e-6)


# ------------------------------------------------------------------------------- what users pass at run


def test_columns_in_another_order(reg, binary, data):
    # CatBoost matches columns by position: without reordering, "plan" would land in a numeric feature.
    X = data[0]
    mv = reg.log_model(binary, model_name="churn_cb", version_name="v1", sample_input_data=X.head(20))
    out = mv.run(X[["plan", "income", "age"]], function_name="predict_proba")
    np.testing.assert_allclose(out.to_numpy(), binary.predict_proba(X), rtol=1e-6, atol=1e-6)
    mv2 = reg.log_model(binary, model_name="churn_cb", version_name="v2",
                        sample_input_data=X[["plan", "income", "age"]].head(20))
    assert mv2.run(X, function_name="predict")["output_feature_0"].tolist() == binary.predict(X).tolist()


def test_a_missing_column_is_named(reg, binary, data):
    X = data[0]
    mv = reg.log_model(binary, model_name="churn_cb", version_name="v1", sample_input_data=X.head(20))
    with pytest.raises(DataValidationError, match=r"feature 'plan' of method predict does not exist") as info:
        mv.run(X.drop(columns=["plan"]), function_name="predict")
    assert "Available columns are ['age', 'income']" in str(info.value)


# ---------------------------------------------------------------------------------------------- devices


def test_gpu_load_is_refused_without_a_gpu_and_force_falls_back(reg, binary, data):
    X = data[0]
    mv = reg.log_model(binary, model_name="churn_cb", version_name="v1", sample_input_data=X.head(20),
                       options={"use_gpu": True})
    assert mv.manifest.options["use_gpu"] is True
    np.testing.assert_array_equal(mv.run(X, function_name="predict_proba"), binary.predict_proba(X))  # CPU here
    with pytest.raises(EnvironmentMismatchError, match=r"device 'cuda': catboost sees no GPU"):
        mv.load(options={"device": "cuda"})
    with pytest.warns(RuntimeWarning, match="Loading it on the CPU because force=True"):
        loaded = mv.load(options={"device": "cuda"}, force=True)
    assert loaded.get_params().get("task_type", "CPU") == "CPU"
    np.testing.assert_array_equal(loaded.predict_proba(X), binary.predict_proba(X))


def test_load_on_cuda_sets_the_device_parameter(binary, data, tmp_path):
    meta = Handler.save(binary, tmp_path, {})
    on_gpu = Handler.load(tmp_path, meta, {"device": "cuda:1"})
    assert on_gpu.get_params()["task_type"] == "GPU" and on_gpu.get_params()["devices"] == "1"
    np.testing.assert_array_equal(on_gpu.predict_proba(data[0]), binary.predict_proba(data[0]))  # predicts on CPU
    assert "task_type" not in Handler.load(tmp_path, meta, {"device": "cpu"}).get_params()


def test_an_unfitted_model_is_refused(tmp_path):
    with pytest.raises(InvalidArgumentError, match="not fitted: call fit"):
        Handler.save(cb.CatBoostClassifier(), tmp_path, {})
    assert Handler.infer_task(cb.CatBoostClassifier()) is Task.UNKNOWN
