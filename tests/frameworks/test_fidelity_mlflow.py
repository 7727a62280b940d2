"""Snowflake fidelity of the mlflow handler: None params are left out of the call, and a PyFuncModel saved
with cloudpickle logs without a `model_uri` option."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("mlflow", reason="the mlflow extra is not installed: pip install jupyter_mreg[mlflow]")

import mlflow.pyfunc  # noqa: E402
import mlflow.sklearn  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer  # noqa: E402

from jupyter_mreg.model.handlers.mlflow import Handler  # noqa: E402
from jupyter_mreg.model.model_signature import DataType, FeatureSpec, ModelSignature, ParamSpec  # noqa: E402

X = pd.DataFrame({"x": [0.1, 0.6, 0.9]})


@pytest.fixture(autouse=True)
def no_telemetry(monkeypatch):
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")  # no network here


def _threshold_model():
    """Reads its param without a fallback: a None reaching it fails. Made in a function so cloudpickle
    stores the class by value."""

    class Threshold(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            t = float(params["threshold"])
            return pd.DataFrame({"above": (model_input["x"] > t).astype("int64")})

    return Threshold()


@pytest.fixture
def threshold_folder(tmp_path):
    folder = tmp_path / "threshold"
    sig = infer_signature(X, pd.DataFrame({"above": [0, 1, 1]}), params={"threshold": 0.5})
    mlflow.pyfunc.save_model(str(folder), python_model=_threshold_model(), signature=sig,
                             pip_requirements=[f"mlflow=={mlflow.__version__}"])
    return folder


def test_fidelity_none_param_is_left_out_so_mlflow_applies_its_default(threshold_folder):
    loaded = mlflow.pyfunc.load_model(str(threshold_folder))
    out = Handler.invoke(loaded, "predict", X, {"threshold": None})
    assert out["above"].tolist() == [0, 1, 1]  # MLflow's ParamSchema default 0.5


def test_fidelity_param_without_default_runs_when_not_given(reg, threshold_folder):
    sig = ModelSignature(inputs=[FeatureSpec("x", DataType.DOUBLE)], outputs=[FeatureSpec("above", DataType.INT64)],
                         params=[ParamSpec("threshold", DataType.DOUBLE, None)])
    mv = reg.log_model(str(threshold_folder), model_name="threshold", version_name="v1", signatures={"predict": sig})
    assert mv.run(X)["above"].to_numpy(dtype="int64").tolist() == [0, 1, 1]
    assert mv.run(X, params={"threshold": 0.7})["above"].to_numpy(dtype="int64").tolist() == [0, 0, 1]


def _double(values):
    return values * 2


def test_fidelity_cloudpickle_pyfuncmodel_logs_without_model_uri(reg, tmp_path):
    Xs = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    y = [0, 0, 1, 1]
    # A function from this test module: skops (sklearn's newer MLflow default) refuses it as an untrusted type.
    pipe = make_pipeline(FunctionTransformer(_double), LogisticRegression()).fit(Xs, y)
    folder = tmp_path / "cloudpickled"
    mlflow.sklearn.save_model(pipe, str(folder), serialization_format="cloudpickle",
                              signature=infer_signature(Xs, pipe.predict(Xs)), pip_requirements=["scikit-learn"])
    loaded = mlflow.pyfunc.load_model(str(folder))
    mv = reg.log_model(loaded, model_name="cloudpickled", version_name="v1")
    out = mv.run(Xs)
    np.testing.assert_array_equal(out.iloc[:, 0].to_numpy(dtype="int64"), pipe.predict(Xs))
    assert mv.load().metadata.flavors["sklearn"]["serialization_format"] == "cloudpickle"
