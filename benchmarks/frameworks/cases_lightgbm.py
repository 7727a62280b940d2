"""Benchmark cases for LightGBM: a 100-tree LGBMClassifier and a 100-round Booster, each against MLflow's
lightgbm flavor with its defaults."""

from __future__ import annotations

from .data import tabular

N_ROWS = 5_000
N_FEATURES = 20


def _mlflow_log(model, sample, registered_model_name):
    import mlflow.lightgbm

    return mlflow.lightgbm.log_model(model, name="model", input_example=sample,
                                     registered_model_name=registered_model_name)


def _mlflow_load(uri):
    import mlflow.lightgbm

    return mlflow.lightgbm.load_model(uri)


def cases() -> list[dict]:
    import lightgbm

    X, y = tabular(N_ROWS, N_FEATURES)
    classifier = lightgbm.LGBMClassifier(n_estimators=100, num_leaves=31, n_jobs=2, random_state=0,
                                         verbose=-1).fit(X, y)
    booster = lightgbm.train({"objective": "binary", "num_leaves": 31, "num_threads": 2, "seed": 0, "verbose": -1},
                             lightgbm.Dataset(X, label=y), num_boost_round=100)
    sample = X.head(10)
    common = {"framework": "lightgbm", "sample": sample, "log_kwargs": {}, "mlflow_log": _mlflow_log,
              "mlflow_load": _mlflow_load}
    return [
        {**common, "name": f"LGBMClassifier, 100 trees of 31 leaves, {N_FEATURES} features", "model": classifier},
        {**common, "name": f"Booster (binary), 100 rounds of 31 leaves, {N_FEATURES} features", "model": booster},
    ]
