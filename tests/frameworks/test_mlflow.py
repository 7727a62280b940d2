"""The mlflow handler: a loaded PyFuncModel, a model folder, `runs:/` and `models:/` URIs (never loaded at log
time), the MLmodel signature, MLflow's declared requirements and metadata, and a fresh-process round trip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed: pip install jupyter_mreg[mlflow]")

import mlflow.pyfunc  # noqa: E402
import mlflow.sklearn  # noqa: E402
import sklearn  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

import jupyter_mreg  # noqa: E402
from jupyter_mreg.errors import InvalidArgumentError, NotFoundError, SignatureError  # noqa: E402
from jupyter_mreg.model.handlers import find_handler  # noqa: E402
from jupyter_mreg.model.handlers.mlflow import Handler, _signature  # noqa: E402
from jupyter_mreg.model.model_signature import (DataType, FeatureGroupSpec, FeatureSpec,  # noqa: E402
                                                ModelSignature, ParamSpec)
from tests.frameworks.fresh import run_fresh  # noqa: E402

REPO_ROOT = Path(jupyter_mreg.__file__).resolve().parent.parent
# Explicit requirements spare MLflow its requirement inference (a subprocess that loads the model: seconds).
PINS = [f"scikit-learn=={sklearn.__version__}", f"mlflow=={mlflow.__version__}"]


def _data(n: int = 80) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)})
    return X, (X["a"] + X["b"] > 0).astype("int64")


def _adder():
    """A pyfunc PythonModel with a param. Defined in a function so cloudpickle stores the class by value and
    a fresh process (where this test module is not importable) can load it."""

    class Adder(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            scale = (params or {}).get("scale", 1.0)
            return pd.DataFrame({"total": (model_input["a"] + model_input["b"]) * scale,
                                 "c_twice": model_input["c"] * 2})

    return Adder()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """An MLflow tracking store on SQLite in a temporary folder, with an sklearn model logged, registered and
    downloaded, and a pyfunc model without a signature. The previous tracking URI is restored afterwards."""
    root = tmp_path_factory.mktemp("mlflow")
    previous, telemetry = mlflow.get_tracking_uri(), os.environ.get("MLFLOW_DISABLE_TELEMETRY")
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"  # no network here
    mlflow.set_tracking_uri(f"sqlite:///{root}/mlflow.db")
    try:
        experiment = mlflow.create_experiment("tests", artifact_location=str(root / "artifacts"))
        X, y = _data()
        clf = LogisticRegression().fit(X, y)
        with mlflow.start_run(experiment_id=experiment) as run:
            info = mlflow.sklearn.log_model(clf, name="model", signature=infer_signature(X, clf.predict(X)),
                                            registered_model_name="churn", pip_requirements=PINS,
                                            metadata={"team": "risk"})
            unsigned = mlflow.pyfunc.log_model(name="adder", python_model=_adder(), pip_requirements=PINS[1:])
        folder = Path(mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(root / "downloaded")))
        yield {"root": root, "X": X, "clf": clf, "info": info, "run_id": run.info.run_id, "folder": folder,
               "unsigned_uri": unsigned.model_uri}
    finally:
        mlflow.set_tracking_uri(previous)
        if telemetry is None:
            os.environ.pop("MLFLOW_DISABLE_TELEMETRY", None)
        else:
            os.environ["MLFLOW_DISABLE_TELEMETRY"] = telemetry


def _reference(store, kind: str):
    if kind == "pyfunc":
        return mlflow.pyfunc.load_model(store["info"].model_uri)
    if kind == "folder":
        return store["folder"]
    if kind == "runs_uri":
        return f"runs:/{store['run_id']}/model"
    return "models:/churn/1"


# ------------------------------------------------------------------------------------- the four forms


@pytest.mark.parametrize("kind", ["pyfunc", "folder", "runs_uri", "models_uri"])
def test_round_trip_of_each_form(reg, store, tmp_path, kind):
    model = _reference(store, kind)
    assert find_handler(model) is Handler
    mv = reg.log_model(model, model_name="churn", version_name="v1")

    (fn,) = mv.show_functions()
    assert fn["name"] == "PREDICT" and fn["target_method_function_type"] == "FUNCTION"
    # The MLmodel signature, converted: named ColSpecs in, one unnamed int64 tensor out.
    assert fn["signature"] == ModelSignature(
        inputs=[FeatureSpec(n, DataType.DOUBLE) for n in "abc"],
        outputs=[FeatureSpec("output_feature_0", DataType.INT64)])

    X = store["X"].head(25)
    expected = mlflow.pyfunc.load_model(store["info"].model_uri).predict(X)
    np.testing.assert_array_equal(mv.run(X)["output_feature_0"].to_numpy(), expected)
    assert isinstance(mv.load(), mlflow.pyfunc.PyFuncModel)
    if kind == "pyfunc":  # every form stores the same copied folder: one fresh process shows it loads anywhere
        fresh = run_fresh(mv, X, tmp_path)
        assert fresh["type"] == "mlflow.pyfunc.PyFuncModel"
        np.testing.assert_array_equal(fresh["outputs"]["PREDICT"]["output_feature_0"].to_numpy(), expected)

    handler = mv.manifest.handler
    assert handler["flavors"] == ["python_function", "sklearn"]
    assert handler["loader_module"] == "mlflow.sklearn"
    assert handler["mlflow_metadata"] == {"team": "risk"}
    assert handler["model_uuid"] == store["info"].model_uuid
    env = mv.manifest.environment
    # MLflow's requirements.txt became the declared requirements; mlflow + sklearn were captured as installed.
    assert env["pip_requirements"] == [f"scikit-learn=={sklearn.__version__}", f"mlflow=={mlflow.__version__}"]
    assert {"mlflow", "scikit-learn"} <= set(env["built_with"])


def test_loaded_pyfuncmodel_is_fetched_from_its_model_id(reg, store):
    pf = mlflow.pyfunc.load_model(store["info"].model_uri)
    mv = reg.log_model(pf, model_name="churn", version_name="v1")
    assert mv.manifest.handler["source"] == f"models:/{store['info'].model_id}"


def test_pyfuncmodel_without_an_origin_is_saved_again(reg, store, tmp_path):
    X, clf = store["X"], store["clf"]
    local = tmp_path / "local"
    mlflow.sklearn.save_model(clf, str(local), signature=infer_signature(X, clf.predict(X)), pip_requirements=PINS)
    pf = mlflow.pyfunc.load_model(str(local))  # no run, no model id: nothing to fetch it from
    mv = reg.log_model(pf, model_name="churn", version_name="v1")
    assert mv.manifest.handler["source"] == "re-saved from the loaded PyFuncModel"
    np.testing.assert_array_equal(mv.run(X)["output_feature_0"].to_numpy(), pf.predict(X))
    shutil.rmtree(local)  # the version keeps its own copy
    mv2 = reg.get_model("churn").version("v1")
    assert isinstance(mv2.load(), mlflow.pyfunc.PyFuncModel)


def test_model_uri_option_names_where_a_pyfuncmodel_is(reg, store):
    pf = mlflow.pyfunc.load_model(store["info"].model_uri)
    mv = reg.log_model(pf, model_name="churn", version_name="v1", options={"model_uri": str(store["folder"])})
    assert mv.manifest.handler["source"] == str(store["folder"])
    other = mlflow.pyfunc.load_model(store["unsigned_uri"])
    with pytest.raises(InvalidArgumentError, match="another MLflow model"):
        reg.log_model(other, model_name="churn", version_name="v2", options={"model_uri": str(store["folder"])},
                      sample_input_data=store["X"].head(3))


def test_pyfunc_python_model_with_params(reg, store, tmp_path):
    X = store["X"].head(10)
    local = tmp_path / "adder"
    out = _adder().predict(None, X)
    mlflow.pyfunc.save_model(str(local), python_model=_adder(), pip_requirements=PINS[1:],
                             signature=infer_signature(X, out, params={"scale": 1.0}))
    mv = reg.log_model(local, model_name="adder", version_name="v1")
    sig = mv.show_functions()[0]["signature"]
    assert [o.name for o in sig.outputs] == ["total", "c_twice"]
    assert sig.params == [ParamSpec("scale", DataType.DOUBLE, 1.0)]
    pf = mlflow.pyfunc.load_model(str(local))
    # Same values; run() gives the outputs pandas' nullable dtypes from the signature, as Snowflake does.
    pd.testing.assert_frame_equal(mv.run(X, params={"scale": 2.0}), pf.predict(X, params={"scale": 2.0}),
                                  check_dtype=False)
    out = mv.run(X)
    pd.testing.assert_frame_equal(out, pf.predict(X), check_dtype=False)
    assert out.dtypes.tolist() == [o.as_dtype() for o in sig.outputs]


# -------------------------------------------------------------------------------------------- options


def test_ignore_mlflow_dependencies_and_metadata(reg, store):
    mv = reg.log_model(store["folder"], model_name="churn", version_name="v1",
                       options={"ignore_mlflow_dependencies": True, "ignore_mlflow_metadata": True})
    assert mv.manifest.environment["pip_requirements"] == []
    assert "mlflow_metadata" not in mv.manifest.handler


def test_the_users_requirement_wins_over_mlflows(reg, store):
    mv = reg.log_model(store["folder"], model_name="churn", version_name="v1",
                       pip_requirements=["scikit-learn>=1.0"])
    assert mv.manifest.environment["pip_requirements"] == ["scikit-learn>=1.0", f"mlflow=={mlflow.__version__}"]


def test_bad_options_are_refused(reg, store):
    with pytest.raises(InvalidArgumentError, match="ignore_mlflow_dependencies must be True or False"):
        reg.log_model(store["folder"], model_name="churn", version_name="v1",
                      options={"ignore_mlflow_dependencies": "yes"})
    with pytest.raises(InvalidArgumentError, match="give only one of them"):
        reg.log_model(store["folder"], model_name="churn", version_name="v1",
                      options={"model_uri": "models:/churn/1"})


# --------------------------------------------------------------------------------------------- errors


def test_folder_without_mlmodel_is_refused_with_the_fix(reg, store, tmp_path):
    run_root = tmp_path / "run_artifacts"
    shutil.copytree(store["folder"], run_root / "model")
    with pytest.raises(InvalidArgumentError, match=r"no MLmodel file.*subfolder\(s\) \['model'\]"):
        reg.log_model(run_root, model_name="churn", version_name="v1")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidArgumentError, match=r"not an MLflow model folder.*save_model"):
        reg.log_model(str(tmp_path / "empty"), model_name="churn", version_name="v1")
    with pytest.raises(NotFoundError, match="does not exist"):
        reg.log_model(tmp_path / "missing", model_name="churn", version_name="v1")


def test_unknown_run_names_the_tracking_store(reg, store):
    with pytest.raises(NotFoundError, match=r"Cannot read the MLflow model 'runs:/0123456789abcdef/model'.*"
                                            r"set_tracking_uri"):
        reg.log_model("runs:/0123456789abcdef/model", model_name="churn", version_name="v1")


def test_model_without_signature_needs_a_sample(reg, store):
    uri = store["unsigned_uri"]
    with pytest.raises(SignatureError, match=r"sample_input_data.*has no signature in its MLmodel file.*loaded "
                                             r"once"):
        reg.log_model(uri, model_name="adder", version_name="v1")
    X = store["X"].head(5)
    mv = reg.log_model(uri, model_name="adder", version_name="v1", sample_input_data=X)  # loads it to infer
    sig = mv.show_functions()[0]["signature"]
    assert [f.name for f in sig.inputs] == ["a", "b", "c"]
    assert [f.name for f in sig.outputs] == ["total", "c_twice"]
    pd.testing.assert_frame_equal(mv.run(X), _adder().predict(None, X), check_dtype=False)


# ------------------------------------------------------------------------------- no mlflow at log time


def test_a_folder_is_logged_without_importing_mlflow(store, tmp_path):
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from jupyter_mreg import Session
        from jupyter_mreg.model.handlers.mlflow import Handler
        from jupyter_mreg.registry import Registry
        assert Handler.can_handle("runs:/abc/model") and Handler.can_handle("models:/churn/1")
        assert not Handler.can_handle(object()) and not Handler.can_handle("not a model")
        session = Session.builder.configs({{"home": {str(tmp_path / "home")!r}}}).create()
        reg = Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
        mv = reg.log_model(Path({str(store["folder"])!r}), model_name="churn", version_name="v1")
        print(mv.show_functions()[0]["name"], "mlflow" in sys.modules, "sklearn" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT,
                         env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-3:] == ["PREDICT", "False", "False"]


def test_modules_come_from_the_flavors(store):
    assert Handler.modules(store["folder"]) == ["mlflow", "sklearn"]
    assert Handler.modules(str(store["folder"] / "MLmodel")) == ["mlflow", "sklearn"]


# ------------------------------------------------------------------------------ signature conversion


def test_mlmodel_signature_conversion():
    inputs = [
        {"type": "double", "name": "x", "required": True},
        {"type": "long", "required": True},
        {"type": "datetime", "name": "when", "required": False},
        {"type": "array", "items": {"type": "string"}, "name": "tags", "required": True},
        {"type": "object", "properties": {"p": {"type": "boolean", "required": True}}, "name": "obj",
         "required": True},
        {"type": "map", "values": {"type": "long"}, "name": "counts", "required": True},
    ]
    outputs = [{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]
    params = [{"name": "k", "type": "long", "default": 3, "shape": None}]
    sig = _signature({"inputs": json.dumps(inputs), "outputs": json.dumps(outputs), "params": json.dumps(params)})
    assert sig.inputs == [
        FeatureSpec("x", DataType.DOUBLE),
        FeatureSpec("input_feature_1", DataType.INT64),
        FeatureSpec("when", DataType.TIMESTAMP_NTZ),
        FeatureSpec("tags", DataType.STRING, shape=(-1,)),
        FeatureGroupSpec("obj", [FeatureSpec("p", DataType.BOOL)]),
        FeatureSpec("counts", DataType.OBJECT),
    ]
    assert sig.outputs == [FeatureSpec("output_feature_0", DataType.FLOAT, shape=(4,))]
    assert sig.params == [ParamSpec("k", DataType.INT64, 3)]


def test_tensor_input_signature_runs(reg, tmp_path):
    """A model whose MLmodel input is a TensorSpec gets one array per row and is called with a 2-D array."""
    X, y = _data()
    arr = X.to_numpy()
    clf = LogisticRegression().fit(arr, y)
    local = tmp_path / "tensor"
    mlflow.sklearn.save_model(clf, str(local), signature=infer_signature(arr, clf.predict(arr)),
                              pip_requirements=PINS)
    mv = reg.log_model(local, model_name="tensor", version_name="v1")
    assert mv.show_functions()[0]["signature"].inputs == [FeatureSpec("input_feature_0", DataType.DOUBLE,
                                                                      shape=(3,))]
    out = mv.run(pd.DataFrame({"input_feature_0": list(arr[:7])}))
    np.testing.assert_array_equal(out["output_feature_0"].to_numpy(), clf.predict(arr[:7]))
