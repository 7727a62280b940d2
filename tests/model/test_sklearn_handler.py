"""The sklearn handler: what it accepts, which methods it exposes, the task it infers, and save/load."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
import uuid
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest, RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

import jupyter_mreg
from jupyter_mreg.errors import UnsupportedModelError
from jupyter_mreg.model.handlers import find_handler, get_handler
from jupyter_mreg.model.handlers.sklearn import Handler
from jupyter_mreg.model.task import Task

REPO_ROOT = Path(jupyter_mreg.__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120), "c": rng.normal(size=120)})
    y2 = (X["a"] + X["b"] > 0).astype(int)
    y3 = pd.cut(X["a"], [-np.inf, -0.5, 0.5, np.inf], labels=False).astype(int)
    yr = 3 * X["a"] - X["c"] + rng.normal(scale=0.1, size=120)
    return X, y2, y3, yr


@pytest.fixture(scope="module")
def binary(data):
    X, y2, _, _ = data
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y2)


@pytest.fixture(scope="module")
def multi(data):
    X, _, y3, _ = data
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y3)


@pytest.fixture(scope="module")
def regressor(data):
    X, _, _, yr = data
    return make_pipeline(StandardScaler(), LinearRegression()).fit(X, yr)


@pytest.fixture(scope="module")
def transformer_only(data):
    X = data[0]
    return make_pipeline(StandardScaler(), MinMaxScaler()).fit(X)


# ------------------------------------------------------------------------------------------ can_handle


def test_accepts_estimators_and_pipelines(binary, regressor):
    assert Handler.can_handle(binary)
    assert Handler.can_handle(regressor)
    assert Handler.can_handle(LogisticRegression())
    assert find_handler(binary) is Handler
    assert get_handler("sklearn") is Handler


def test_rejects_other_objects():
    assert not Handler.can_handle(object())
    assert not Handler.can_handle(LogisticRegression)  # the class, not an estimator
    assert not Handler.can_handle(pd.DataFrame({"a": [1]}))
    with pytest.raises(UnsupportedModelError, match="not supported"):
        find_handler(object())


def test_can_handle_does_not_import_sklearn():
    code = textwrap.dedent(
        """
        import sys
        from jupyter_mreg.model.handlers.sklearn import Handler
        assert Handler.can_handle(object()) is False
        assert Handler.can_handle([1, 2]) is False
        print("sklearn" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT,
                         env={"PYTHONPATH": str(REPO_ROOT), "PATH": ""}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# -------------------------------------------------------------------------------------- target methods


def test_target_methods_of_a_binary_classifier_pipeline(binary):
    assert Handler.target_methods(binary, {}) == ["predict", "predict_proba", "predict_log_proba",
                                                  "decision_function"]


def test_target_methods_of_a_regressor_pipeline(regressor):
    assert Handler.target_methods(regressor, {}) == ["predict"]


def test_target_methods_of_a_transformer_only_pipeline(transformer_only):
    # Pipeline hides predict & co. with `available_if` when its final step lacks them.
    assert Handler.target_methods(transformer_only, {}) == ["transform"]


def test_target_methods_follow_the_final_step(data):
    pca = make_pipeline(StandardScaler(), PCA(n_components=2)).fit(data[0])
    assert Handler.target_methods(pca, {}) == ["transform", "score_samples"]


def test_target_methods_of_an_outlier_detector(data):
    model = IsolationForest(n_estimators=10, random_state=0).fit(data[0])
    assert Handler.target_methods(model, {}) == ["predict", "decision_function", "score_samples"]


def test_target_methods_option_narrows(binary):
    assert Handler.target_methods(binary, {"target_methods": ["predict_proba"]}) == ["predict_proba"]
    assert Handler.target_methods(binary, {"target_methods": "predict"}) == ["predict"]


# -------------------------------------------------------------------------------------------- the task


def test_infer_task(binary, multi, regressor, transformer_only, data):
    assert Handler.infer_task(binary) is Task.TABULAR_BINARY_CLASSIFICATION
    assert Handler.infer_task(multi) is Task.TABULAR_MULTI_CLASSIFICATION
    assert Handler.infer_task(regressor) is Task.TABULAR_REGRESSION
    assert Handler.infer_task(transformer_only) is Task.UNKNOWN
    X, y2, y3, _ = data
    assert Handler.infer_task(RandomForestClassifier(n_estimators=3).fit(X, y3)) is Task.TABULAR_MULTI_CLASSIFICATION
    assert Handler.infer_task(LogisticRegression().fit(X, y2)) is Task.TABULAR_BINARY_CLASSIFICATION
    assert Handler.infer_task(LinearRegression()) is Task.TABULAR_REGRESSION
    assert Handler.infer_task(LogisticRegression()) is Task.UNKNOWN  # not fitted: number of classes unknown
    assert Handler.infer_task(KMeans(n_clusters=2, n_init=1).fit(X)) is Task.UNKNOWN


def test_infer_task_of_nested_pipelines(data):
    X, _, y3, _ = data
    inner = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())])
    outer = Pipeline([("identity", FunctionTransformer()), ("inner", inner)]).fit(X, y3)
    assert Handler.infer_task(outer) is Task.TABULAR_MULTI_CLASSIFICATION


# -------------------------------------------------------------------------------------------- modules


def test_modules_include_every_step_and_callable(tmp_path, data):
    name = f"mreg_steps_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(
        """
        import numpy as np
        from sklearn.base import BaseEstimator, TransformerMixin

        class Double(TransformerMixin, BaseEstimator):
            def fit(self, X, y=None):
                return self
            def transform(self, X):
                return np.asarray(X, dtype=float) * 2
        """
    ))
    sys.path.insert(0, str(tmp_path))
    try:
        mod = importlib.import_module(name)
        model = make_pipeline(mod.Double(), FunctionTransformer(np.log1p), LinearRegression())
        assert Handler.modules(model) == ["sklearn", name, "numpy"]
        assert Handler.modules(LinearRegression()) == ["sklearn"]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


# -------------------------------------------------------------------------------------- save and load


def test_save_and_load_give_identical_predictions(tmp_path, binary, data):
    X = data[0]
    meta = Handler.save(binary, tmp_path, {})
    assert (tmp_path / "model.pkl").is_file()
    assert meta["file"] == "model.pkl" and meta["format"] == "cloudpickle"
    assert meta["class"] == "sklearn.pipeline.Pipeline"
    loaded = Handler.load(tmp_path, meta, {})
    assert type(loaded) is Pipeline
    np.testing.assert_array_equal(loaded.predict_proba(X), binary.predict_proba(X))


def test_save_refuses_an_unpicklable_model(tmp_path, data):
    import threading

    model = LinearRegression().fit(data[0], data[3])
    model.lock_ = threading.Lock()
    with pytest.raises(UnsupportedModelError, match="cannot be pickled"):
        Handler.save(model, tmp_path, {})


# --------------------------------------------------------------------------------------------- invoke


def test_invoke_calls_the_method(binary, data):
    X = data[0]
    np.testing.assert_array_equal(Handler.invoke(binary, "predict", X, {}), binary.predict(X))


def test_invoke_puts_columns_in_fit_order(binary, data):
    X = data[0]
    shuffled = X[["c", "a", "b"]]
    np.testing.assert_array_equal(Handler.invoke(binary, "predict_proba", shuffled, {}), binary.predict_proba(X))


def test_invoke_on_a_model_fitted_on_arrays_does_not_warn(data):
    X, y2, _, _ = data
    model = LogisticRegression().fit(X.to_numpy(), y2)
    frame = X.set_axis(["input_feature_0", "input_feature_1", "input_feature_2"], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sklearn would warn "X has feature names, but ... was fitted without"
        out = Handler.invoke(model, "predict", frame, {})
    np.testing.assert_array_equal(out, model.predict(X.to_numpy()))
