"""Benchmark case for CatBoost: a 100-iteration CatBoostClassifier with one categorical (text) feature,
against MLflow's catboost flavor with its defaults."""

from __future__ import annotations

N_ROWS = 5_000
N_NUMERIC = 19


def _data():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(N_ROWS, N_NUMERIC)), columns=[f"f{i}" for i in range(N_NUMERIC)])
    X["segment"] = rng.choice(["retail", "smb", "enterprise", "public"], N_ROWS)
    y = (X["f0"] + 0.5 * X["f1"] + (X["segment"] == "smb") + rng.normal(scale=0.5, size=N_ROWS) > 0.5).astype(int)
    return X, y


def _mlflow_log(model, sample, registered_model_name):
    import mlflow.catboost

    return mlflow.catboost.log_model(model, name="model", input_example=sample,
                                     registered_model_name=registered_model_name)


def _mlflow_load(uri):
    import mlflow.catboost

    return mlflow.catboost.load_model(uri)


def cases() -> list[dict]:
    import catboost

    X, y = _data()
    classifier = catboost.CatBoostClassifier(iterations=100, depth=6, thread_count=2, random_seed=0, verbose=False,
                                             allow_writing_files=False, cat_features=["segment"]).fit(X, y)
    return [{
        "framework": "catboost",
        "name": f"CatBoostClassifier, 100 trees of depth 6, {N_NUMERIC} numeric + 1 categorical feature",
        "model": classifier,
        "sample": X.head(10),
        "log_kwargs": {},
        "mlflow_log": _mlflow_log,
        "mlflow_load": _mlflow_load,
    }]
