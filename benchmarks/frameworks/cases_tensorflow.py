"""Benchmark cases for TensorFlow: tf.Module MLPs (one with an input_signature, one traced from the sample),
each against MLflow's tensorflow flavor, which also stores a SavedModel."""

from __future__ import annotations

N_FEATURES = 20


def _modules():
    """Two tf.Module MLPs (two hidden layers of 64, fixed random weights): one whose `__call__` has an
    input_signature, one whose `__call__` is traced from the sample."""
    import tensorflow as tf

    class MLP(tf.Module):
        def __init__(self, seed: int):
            super().__init__()
            init = tf.random.stateless_normal
            self.w1 = tf.Variable(init([N_FEATURES, 64], seed=[seed, 1]) * 0.2)
            self.b1 = tf.Variable(tf.zeros([64]))
            self.w2 = tf.Variable(init([64, 64], seed=[seed, 2]) * 0.2)
            self.b2 = tf.Variable(tf.zeros([64]))
            self.w3 = tf.Variable(init([64, 1], seed=[seed, 3]) * 0.2)

        def forward(self, x):
            h = tf.nn.relu(tf.matmul(x, self.w1) + self.b1)
            h = tf.nn.relu(tf.matmul(h, self.w2) + self.b2)
            return tf.matmul(h, self.w3)

    class SignedMLP(MLP):
        @tf.function(input_signature=[tf.TensorSpec([None, N_FEATURES], tf.float32)])
        def __call__(self, x):
            return self.forward(x)

    class TracedMLP(MLP):
        @tf.function
        def __call__(self, x):
            return self.forward(x)

    return SignedMLP(0), TracedMLP(1)


def _mlflow_log(model, sample, registered_model_name):
    import mlflow.tensorflow
    import numpy as np

    return mlflow.tensorflow.log_model(model, name="model", input_example=np.asarray(sample),
                                       registered_model_name=registered_model_name)


def _mlflow_load(uri):
    import mlflow.tensorflow

    return mlflow.tensorflow.load_model(uri)


def cases() -> list[dict]:
    import numpy as np

    sample = np.random.default_rng(0).normal(size=(10, N_FEATURES)).astype("float32")
    common = {"framework": "tensorflow", "log_kwargs": {}, "mlflow_log": _mlflow_log, "mlflow_load": _mlflow_load,
              "sample": sample}
    signed, traced = _modules()
    return [
        {**common, "name": f"tf.Module MLP {N_FEATURES}-64-64-1, tf.function with input_signature",
         "model": signed},
        {**common, "name": f"tf.Module MLP {N_FEATURES}-64-64-1, tf.function traced from the sample",
         "model": traced},
    ]
