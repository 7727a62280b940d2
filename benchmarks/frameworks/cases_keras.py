"""Benchmark cases for Keras 3: a Sequential MLP regressor and a Functional 1-D CNN classifier, each against
MLflow's keras flavor (the Keras 3 one, `.keras` format) with its defaults."""

from __future__ import annotations

N_ROWS = 2_000
N_FEATURES = 20


def _mlp():
    import keras
    import numpy as np

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_ROWS, N_FEATURES)).astype("float32")
    y = X[:, 0] - 0.5 * X[:, 1] + X[:, 2] * X[:, 3]
    model = keras.Sequential([keras.Input((N_FEATURES,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, y, epochs=2, batch_size=128, verbose=0)
    return model, X


def _cnn():
    import keras
    import numpy as np

    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(512, 64, 1)).astype("float32")
    y = (X.mean(axis=(1, 2)) > 0).astype("int64")
    inputs = keras.Input((64, 1))
    h = keras.layers.Conv1D(8, 5, activation="relu")(inputs)
    h = keras.layers.MaxPooling1D(2)(h)
    h = keras.layers.Conv1D(16, 5, activation="relu")(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=2, batch_size=128, verbose=0)
    return model, X


def _mlflow_log(model, sample, registered_model_name):
    import mlflow.keras
    from mlflow.models import infer_signature

    # The signature MLflow's docs show for Keras 3; `input_example=` crashes in MLflow 3.17's keras flavor
    # (it writes the example before creating the model folder: FileNotFoundError).
    signature = infer_signature(sample, model.predict(sample, verbose=0))
    return mlflow.keras.log_model(model, name="model", signature=signature,
                                  registered_model_name=registered_model_name)


def _mlflow_load(uri):
    import mlflow.keras

    return mlflow.keras.load_model(uri)


def cases() -> list[dict]:
    mlp, X = _mlp()
    cnn, series = _cnn()
    common = {"framework": "keras", "log_kwargs": {}, "mlflow_log": _mlflow_log, "mlflow_load": _mlflow_load}
    return [
        {**common, "name": f"Sequential MLP regressor {N_FEATURES}-64-64-1", "model": mlp, "sample": X[:10]},
        {**common, "name": "Functional 1-D CNN classifier on 64-step series, 3 classes", "model": cnn,
         "sample": series[:10]},
    ]
