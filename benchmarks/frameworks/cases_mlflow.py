"""Benchmark case for MLflow models: a `PyFuncModel` loaded from a scikit-learn pipeline that this file
saves with `mlflow.sklearn.save_model` in a temporary folder (with a signature, so neither side needs the
sample).

Ours: `reg.log_model(pyfunc_model, options={"model_uri": folder})` copies the MLflow model folder whole (a
PyFuncModel does not remember the local folder it was loaded from: without `model_uri`, and with no run or
model id to fetch it by, ours would save it again with its flavor instead). MLflow's nearest equivalent
for an existing MLflow model folder: `mlflow.log_artifacts(folder, "model")` into the active run, then
`mlflow.register_model("runs:/<run>/model", name)`; loaded back with `mlflow.pyfunc.load_model`, the type
ours returns too."""

from __future__ import annotations

from .data import tabular

import atexit
import shutil
import tempfile

N_ROWS = 2_000
N_FEATURES = 20


def _mlflow_logger(folder: str):
    def mlflow_log(model, sample, registered_model_name):
        import mlflow

        run = mlflow.active_run()
        mlflow.log_artifacts(folder, artifact_path="model")
        return mlflow.register_model(f"runs:/{run.info.run_id}/model", registered_model_name)

    return mlflow_log


def _mlflow_load(uri):
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(uri)


def cases() -> list[dict]:
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn
    import sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = tabular(N_ROWS, N_FEATURES)
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    folder = tempfile.mkdtemp(prefix="mreg-bench-mlflow-")
    atexit.register(shutil.rmtree, folder, True)
    path = f"{folder}/model"
    mlflow.sklearn.save_model(pipe, path, signature=infer_signature(X.head(10), pipe.predict(X.head(10))),
                              pip_requirements=[f"scikit-learn=={sklearn.__version__}",
                                                f"mlflow=={mlflow.__version__}"])
    model = mlflow.pyfunc.load_model(path)
    return [{"framework": "mlflow", "name": f"PyFuncModel of a StandardScaler + LogisticRegression pipeline, "
                                            f"{N_FEATURES} features",
             "model": model, "sample": X.head(10), "log_kwargs": {"options": {"model_uri": path}},
             "mlflow_log": _mlflow_logger(path),
             "mlflow_load": _mlflow_load, "mlflow_flavor": "mlflow.pyfunc",
             "mlflow_log_call": "`mlflow.log_artifacts` + `mlflow.register_model`"}]
