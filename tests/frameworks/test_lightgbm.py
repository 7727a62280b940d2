"""LightGBM through the registry: wrappers and Boosters logged, run in a fresh process and loaded back."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pandas as pd
import pytest

lgb = pytest.importorskip("lightgbm", reason="the lightgbm extra is not installed: pip install jupyter_mreg[lightgbm]")

from jupyter_mreg.errors import DataValidationError, EnvironmentMismatchError, InvalidArgumentError  # noqa: E402
from jupyter_mreg.model.handlers import find_handler  # noqa: E402
from jupyter_mreg.model.handlers.lightgbm import Handler  # noqa: E402
from jupyter_mreg.model.task import Task  # noqa: E402
from tests.frameworks.fresh import functions, io, run_fresh  # noqa: E402

# One thread: OpenMP threads spinning on a busy 2-core CI machine cost seconds per fit.
SMALL = {"n_estimators": 8, "num_leaves": 7, "min_child_samples": 5, "verbose": -1, "n_jobs": 1}


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
    labels = np.where(y2 == 1, "churned", "stayed")  # text labels: classes_ must survive the round trip
    return lgb.LGBMClassifier(**SMALL).fit(X, labels)


# ------------------------------------------------------------------------------------------ can_handle


def test_accepts_wrappers_and_boosters(binary, data):
    X, _, _, yr = data
    booster = lgb.train({"objective": "regression", "verbose": -1, "num_threads": 1}, lgb.Dataset(X, label=yr),
                        num_boost_round=2)
    for model in (binary, lgb.LGBMRegressor(), lgb.LGBMRanker(), booster):
        assert find_handler(model) is Handler  # ahead of the sklearn handler, which would pickle them whole
    assert not Handler.can_handle(lgb.LGBMClassifier)  # the class, not a model
    assert not Handler.can_handle(object())


# ------------------------------------------------------------------------------------------ wrappers


def test_binary_classifier_round_trips_in_a_fresh_process(reg, binary, data, tmp_path):
    X = data[0]
    mv = reg.log_model(binary, model_name="churn_lgbm", version_name="v1", sample_input_data=X.head(20))

    sigs = functions(mv)
    assert list(sigs) == ["PREDICT", "PREDICT_PROBA"]
    inputs = [("age", "INT64"), ("income", "DOUBLE"), ("tenure", "DOUBLE")]
    assert io(sigs["PREDICT"]) == (inputs, [("output_feature_0", "STRING")])
    assert io(sigs["PREDICT_PROBA"]) == (inputs, [("output_feature_0", "DOUBLE"), ("output_feature_1", "DOUBLE")])
    assert mv.get_model_task() is Task.TABULAR_BINARY_CLASSIFICATION

    fresh = run_fresh(mv, X, tmp_path)
    assert fresh["type"] == "lightgbm.sklearn.LGBMClassifier"
    assert fresh["outputs"]["PREDICT"]["output_feature_0"].tolist() == binary.predict(X).tolist()
    np.testing.assert_allclose(fresh["outputs"]["PREDICT_PROBA"].to_numpy(), binary.predict_proba(X),
                               rtol=1e-6, atol=1e-6)

    loaded = mv.load()
    assert type(loaded) is lgb.LGBMClassifier
    np.testing.assert_array_equal(loaded.predict_proba(X), binary.predict_proba(X))
    assert loaded.classes_.tolist() == ["churned", "stayed"]
    assert loaded.feature_names_in_.tolist() == ["age", "income", "tenure"]
    assert loaded.get_params() == binary.get_params()


def test_wrapper_is_stored_as_model_text_plus_a_booster_less_pickle(reg, binary, data, tmp_path):
    mv = reg.log_model(binary, model_name="churn_lgbm", version_name="v1", sample_input_data=data[0].head(20))
    mv.export(tmp_path / "export")
    folder = tmp_path / "export" / "model"
    assert sorted(p.name for p in folder.iterdir()) == ["model.txt", "wrapper.pkl"]
    assert (folder / "model.txt").read_text().startswith("tree\n")
    shell = pickle.loads((folder / "wrapper.pkl").read_bytes())
    assert shell._Booster is None  # the trees live in model.txt only
    assert binary.booster_ is not None  # the user's model keeps its booster
    assert "lightgbm" in mv.manifest.environment["built_with"]


def test_multiclass_predict_proba(reg, data):
    X, _, y3, _ = data
    model = lgb.LGBMClassifier(**SMALL).fit(X, y3)
    mv = reg.log_model(model, model_name="tenure_band", version_name="v1", sample_input_data=X.head(20))
    assert mv.get_model_task() is Task.TABULAR_MULTI_CLASSIFICATION
    out = mv.run(X, function_name="predict_proba")
    assert list(out.columns) == ["output_feature_0", "output_feature_1", "output_feature_2"]
    np.testing.assert_allclose(out.to_numpy(), model.predict_proba(X), rtol=1e-6, atol=1e-6)


@pytest.mark.filterwarnings("ignore:The argument 'eval_set' is deprecated")  # lightgbm 4.7 renames it
def test_regressor_with_early_stopping(reg, data):
    X, _, _, yr = data
    model = lgb.LGBMRegressor(**{**SMALL, "n_estimators": 60}).fit(
        X[:150], yr[:150], eval_set=[(X[150:], yr[150:])], callbacks=[lgb.early_stopping(3, verbose=False)])
    mv = reg.log_model(model, model_name="spend", version_name="v1", sample_input_data=X.head(20))
    assert [f["name"] for f in mv.show_functions()] == ["PREDICT"]
    assert mv.get_model_task() is Task.TABULAR_REGRESSION
    np.testing.assert_allclose(mv.run(X)["output_feature_0"], model.predict(X), rtol=1e-6, atol=1e-6)
    assert type(mv.load()) is lgb.LGBMRegressor


def test_ranker(reg, data):
    X, _, y3, _ = data
    model = lgb.LGBMRanker(**SMALL).fit(X, y3, group=[10] * 20)
    mv = reg.log_model(model, model_name="ranking", version_name="v1", sample_input_data=X.head(20))
    assert mv.get_model_task() is Task.TABULAR_RANKING
    np.testing.assert_allclose(mv.run(X)["output_feature_0"], model.predict(X), rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------------------------------- boosters


def test_booster_round_trips_in_a_fresh_process(reg, data, tmp_path):
    X, _, y3, _ = data
    booster = lgb.train({"objective": "multiclass", "num_class": 3, "num_leaves": 7, "verbose": -1,
                         "num_threads": 1}, lgb.Dataset(X, label=y3), num_boost_round=5)
    mv = reg.log_model(booster, model_name="booster", version_name="v1", sample_input_data=X.head(20))
    sigs = functions(mv)
    assert list(sigs) == ["PREDICT"]  # a Booster has no predict_proba
    assert [name for name, _ in io(sigs["PREDICT"])[1]] == ["output_feature_0", "output_feature_1",
                                                             "output_feature_2"]
    assert mv.get_model_task() is Task.TABULAR_MULTI_CLASSIFICATION

    fresh = run_fresh(mv, X[["tenure", "age", "income"]], tmp_path)  # another column order, too
    assert fresh["type"] == "lightgbm.basic.Booster"
    np.testing.assert_allclose(fresh["outputs"]["PREDICT"].to_numpy(), booster.predict(X), rtol=1e-6, atol=1e-6)
    loaded = mv.load()
    assert type(loaded) is lgb.Booster
    np.testing.assert_array_equal(loaded.predict(X), booster.predict(X))
    mv.export(tmp_path / "export")
    assert sorted(p.name for p in (tmp_path / "export" / "model").iterdir()) == ["model.txt"]


def test_booster_objectives_give_the_task(data):
    X, y2, _, yr = data
    for params, label, task in [({"objective": "binary"}, y2, Task.TABULAR_BINARY_CLASSIFICATION),
                                ({"objective": "huber"}, yr, Task.TABULAR_REGRESSION),
                                ({}, yr, Task.TABULAR_REGRESSION)]:
        booster = lgb.train({**params, "verbose": -1, "num_threads": 1}, lgb.Dataset(X, label=label),
                            num_boost_round=1)
        assert Handler.infer_task(booster) is task


# ------------------------------------------------------------------------------- what users pass at run


def test_columns_in_another_order(reg, binary, data):
    # LightGBM matches columns by position: without reordering these would be silently wrong.
    X = data[0]
    mv = reg.log_model(binary, model_name="churn_lgbm", version_name="v1", sample_input_data=X.head(20))
    out = mv.run(X[["tenure", "income", "age"]], function_name="predict_proba")
    np.testing.assert_allclose(out.to_numpy(), binary.predict_proba(X), rtol=1e-6, atol=1e-6)
    mv2 = reg.log_model(binary, model_name="churn_lgbm", version_name="v2",
                        sample_input_data=X[["tenure", "income", "age"]].head(20))
    np.testing.assert_allclose(mv2.run(X, function_name="predict_proba").to_numpy(), binary.predict_proba(X),
                               rtol=1e-6, atol=1e-6)


def test_a_missing_column_is_named(reg, binary, data):
    X = data[0]
    mv = reg.log_model(binary, model_name="churn_lgbm", version_name="v1", sample_input_data=X.head(20))
    with pytest.raises(DataValidationError, match=r"feature 'tenure' of method predict does not exist") as info:
        mv.run(X.drop(columns=["tenure"]), function_name="predict")
    assert "Available columns are ['age', 'income']" in str(info.value)


def test_categorical_columns_round_trip(reg, data, tmp_path):
    X, y2, _, _ = data
    rng = np.random.default_rng(1)
    Xc = X.assign(plan=pd.Categorical(rng.choice(["basic", "plus", "pro"], len(X))),
                  region=rng.integers(0, 4, len(X)))
    y = (y2.astype(bool) ^ (Xc["plan"] == "pro")).astype(int)
    model = lgb.LGBMClassifier(**SMALL, min_data_per_group=5, cat_smooth=1).fit(
        Xc, y, categorical_feature=["plan", "region"])  # a pandas category and an integer-coded one
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
    mv = reg.log_model(binary, model_name="churn_lgbm", version_name="v1", sample_input_data=X.head(20),
                       options={"use_gpu": True})
    assert mv.manifest.options["use_gpu"] is True
    np.testing.assert_array_equal(mv.run(X, function_name="predict_proba"), binary.predict_proba(X))  # CPU here
    with pytest.raises(EnvironmentMismatchError, match=r"device 'cuda': lightgbm sees no GPU"):
        mv.load(options={"device": "cuda"})
    with pytest.warns(RuntimeWarning, match="Loading it on the CPU because force=True"):
        loaded = mv.load(options={"device": "cuda"}, force=True)
    np.testing.assert_array_equal(loaded.predict_proba(X), binary.predict_proba(X))


def test_load_on_cuda_sets_the_device_parameter(binary, data, tmp_path):
    meta = Handler.save(binary, tmp_path, {})
    on_gpu = Handler.load(tmp_path, meta, {"device": "cuda:1"})
    assert on_gpu.get_params()["device_type"] in ("cuda", "gpu") and on_gpu.get_params()["gpu_device_id"] == 1
    on_cpu = Handler.load(tmp_path, meta, {"device": "cpu"})
    assert "device_type" not in on_cpu.get_params()  # as fitted: nothing to change
    gpu_trained = copy.deepcopy(binary).set_params(device_type="cuda")  # as if it had been fitted on a GPU
    (tmp_path / "gpu").mkdir()
    meta = Handler.save(gpu_trained, tmp_path / "gpu", {})
    assert Handler.load(tmp_path / "gpu", meta, {"device": "cpu"}).get_params()["device_type"] == "cpu"


def test_an_unfitted_model_is_refused(tmp_path):
    with pytest.raises(InvalidArgumentError, match="not fitted: call fit"):
        Handler.save(lgb.LGBMClassifier(), tmp_path, {})
    assert Handler.infer_task(lgb.LGBMClassifier()) is Task.UNKNOWN
