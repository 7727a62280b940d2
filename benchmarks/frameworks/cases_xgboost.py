"""Benchmark cases for XGBoost: a 100-tree XGBClassifier and a 100-round Booster, each against MLflow's
xgboost flavor with its defaults."""

from __future__ import annotations

from .data import tabular

N_ROWS = 5_000
N_FEATURES = 20


def _mlflow_log(model, sample, registered_model_name):
    import mlflow.xgboost

    return mlflow.xgboost.log_model(model, name="model", input_example=sample,
                                    registered_model_name=registered_model_name)


def _mlflow_load(uri):
    import mlflow.xgboost

    return mlflow.xgboost.load_model(uri)


def cases() -> list[dict]:
    import xgboost

    X, y = tabular(N_ROWS, N_FEATURES)
    classifier = xgboost.XGBClassifier(n_estimators=100, max_depth=6, n_jobs=2, random_state=0).fit(X, y)
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 6, "nthread": 2, "seed": 0},
                            xgboost.DMatrix(X, label=y), num_boost_round=100)
    sample = X.head(10)
    common = {"framework": "xgboost", "sample": sample, "log_kwargs": {}, "mlflow_log": _mlflow_log,
              "mlflow_load": _mlflow_load}
    return [
        {**common, "name": f"XGBClassifier, 100 trees of depth 6, {N_FEATURES} features", "model": classifier},
        {**common, "name": f"Booster (binary:logistic), 100 rounds of depth 6, {N_FEATURES} features",
         "model": booster},
    ]
