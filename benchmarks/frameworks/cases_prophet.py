"""Benchmark case for Prophet: a forecaster fitted on 60 days with one regressor, against MLflow's prophet
flavor with its defaults (it infers the signature from the input example and the pip requirements).

Ours reads the signature from the model itself (the sample is not needed) and stores Prophet's JSON."""

from __future__ import annotations

DAYS = 60


def _frames():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    t = np.arange(DAYS)
    temp = rng.normal(20, 3, DAYS)
    history = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=DAYS, freq="D"),
                            "y": 10 + 0.1 * t + np.sin(2 * np.pi * t / 7) + 0.3 * (temp - 20)
                            + rng.normal(0, 0.1, DAYS),
                            "temp": temp})
    future = pd.DataFrame({"ds": pd.date_range("2024-03-01", periods=14, freq="D"), "y": np.nan,
                           "temp": rng.normal(20, 3, 14)})
    return history, future


def _mlflow_log(model, sample, registered_model_name):
    import mlflow.prophet

    return mlflow.prophet.log_model(pr_model=model, name="model", input_example=sample,
                                    registered_model_name=registered_model_name)


def _mlflow_load(uri):
    import mlflow.prophet

    return mlflow.prophet.load_model(uri)


def cases() -> list[dict]:
    import logging

    import prophet

    logging.getLogger("cmdstanpy").setLevel(logging.WARNING)
    history, future = _frames()
    model = prophet.Prophet(daily_seasonality=False, yearly_seasonality=False)
    model.add_regressor("temp")
    model.fit(history)
    return [{"framework": "prophet", "name": f"Prophet, {DAYS} daily points + 1 regressor", "model": model,
             "sample": future, "log_kwargs": {}, "mlflow_log": _mlflow_log, "mlflow_load": _mlflow_load}]
