"""The tensorflow handler: tf.Modules with a tf.function `__call__`, stored as SavedModel, run in a fresh process."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow",
                         reason="the tensorflow extra is not installed: pip install jupyter_mreg[tensorflow]")

from jupyter_mreg.errors import EnvironmentMismatchError, MregError, UnsupportedModelError  # noqa: E402
from jupyter_mreg.model.handlers import find_handler  # noqa: E402
from jupyter_mreg.model.handlers.tensorflow import Handler  # noqa: E402
from jupyter_mreg.model.model_signature import DataType  # noqa: E402
from jupyter_mreg.model.task import Task  # noqa: E402
from tests.frameworks.fresh import run_fresh_many  # noqa: E402

RESTORED_TYPE = "tensorflow.python.saved_model.load.Loader._recreate_base_user_object.<locals>._UserObject"


class LinearModule(tf.Module):
    """`__call__` is a tf.function without input_signature: traced with the sample when logged."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable(tf.random.stateless_normal([3, 2], seed=[1, 2]))
        self.b = tf.Variable([0.5, -0.5])

    @tf.function
    def __call__(self, x):
        return tf.nn.relu(tf.matmul(x, self.w) + self.b)

    def describe(self):  # a plain Python method: the SavedModel does not keep it
        return "linear"


class TwoInputModule(tf.Module):
    """Two inputs declared by an input_signature; named outputs."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable(tf.random.stateless_normal([3, 1], seed=[3, 4]))

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32), tf.TensorSpec([None], tf.float32)])
    def __call__(self, x, scale):
        score = tf.squeeze(tf.matmul(x, self.w), 1) * scale
        return {"score": score, "positive": score > 0}


class PlainCall(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(tf.ones([3, 1]))

    def __call__(self, x):  # not a tf.function: nothing a SavedModel can keep
        return tf.matmul(x, self.w)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(30, 3))


@pytest.fixture(scope="module")
def module_reg(tmp_path_factory):
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    session = Session.builder.configs({"home": str(tmp_path_factory.mktemp("tf_registry"))}).create()
    yield Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    session.close()


@pytest.fixture(scope="module")
def logged(module_reg, tmp_path_factory, data):
    """Both modules logged, then run and loaded in ONE fresh process (TensorFlow takes seconds to import)."""
    linear, two = LinearModule(), TwoInputModule()
    x = data.astype("float32")
    scale = np.linspace(-1, 1, len(data)).astype("float32")
    linear_mv = module_reg.log_model(linear, model_name="tf_linear", version_name="v1", sample_input_data=data)
    two_mv = module_reg.log_model(two, model_name="tf_two", version_name="v1",
                                  sample_input_data=[tf.constant(x), tf.constant(scale)],
                                  options={"multiple_inputs": True})
    two_X = pd.DataFrame({"input_feature_0": list(x[:8]), "input_feature_1": scale[:8]})
    fresh = run_fresh_many({"linear": (linear_mv, data[:7]), "two": (two_mv, two_X)},
                           tmp_path_factory.mktemp("tf_fresh"))
    return {"linear": (linear, linear_mv, fresh["linear"]), "two": (two, two_mv, fresh["two"])}


def _spec(sig, side):
    return [(f.name, f.dtype, f.shape) for f in getattr(sig, side)]


def test_accepts_tf_modules_but_not_keras_models():
    import keras

    module = LinearModule()
    assert Handler.can_handle(module)
    assert find_handler(module) is Handler
    assert not Handler.can_handle(object())
    assert not Handler.can_handle(LinearModule)  # the class
    keras_model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    assert not Handler.can_handle(keras_model)
    assert find_handler(keras_model).name == "keras"


def test_module_round_trip_in_a_fresh_process(logged, data):
    module, mv, fresh = logged["linear"]
    (fn,) = mv.show_functions()
    assert fn["name"] == "__CALL__" and fn["target_method"] == "__call__"
    assert _spec(fn["signature"], "inputs") == [(f"input_feature_{i}", DataType.DOUBLE, None) for i in range(3)]
    assert _spec(fn["signature"], "outputs") == [("output_feature_0", DataType.FLOAT, None),
                                                 ("output_feature_1", DataType.FLOAT, None)]
    assert mv.get_model_task() == Task.UNKNOWN
    assert mv.manifest.handler["format"] == "saved_model"

    want = module(tf.constant(data[:7], tf.float32)).numpy()
    assert fresh["type"] == RESTORED_TYPE
    assert fresh["functions"] == ["__CALL__"]
    np.testing.assert_allclose(fresh["outputs"]["__CALL__"].to_numpy(), want, rtol=1e-6, atol=1e-6)


def test_load_returns_the_restored_object_not_the_original_class(logged, data):
    module, mv, _ = logged["linear"]
    restored = mv.load()
    assert f"{type(restored).__module__}.{type(restored).__qualname__}" == RESTORED_TYPE
    assert not isinstance(restored, LinearModule)
    assert not hasattr(restored, "describe")  # Python methods are not in a SavedModel
    x = tf.constant(data[:11], tf.float32)  # another batch size than the sample: the trace has a free batch axis
    np.testing.assert_allclose(restored(x).numpy(), module(x).numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(restored.w.numpy(), module.w.numpy())


def test_a_restored_object_can_be_logged_again(reg, logged, data):
    module, mv, _ = logged["linear"]
    again = reg.log_model(mv.load(), model_name="tf_again", version_name="v1", sample_input_data=data)
    np.testing.assert_allclose(again.run(data[:4]).to_numpy(), module(tf.constant(data[:4], tf.float32)).numpy(),
                               rtol=1e-6, atol=1e-6)


def test_two_inputs_with_an_input_signature_and_named_outputs(logged, data):
    module, mv, fresh = logged["two"]
    sig = mv.show_functions()[0]["signature"]
    assert _spec(sig, "inputs") == [("input_feature_0", DataType.FLOAT, (3,)),
                                    ("input_feature_1", DataType.FLOAT, None)]
    assert sorted(_spec(sig, "outputs")) == [("positive", DataType.BOOL, None), ("score", DataType.FLOAT, None)]

    x = data[:8].astype("float32")
    scale = np.linspace(-1, 1, len(data)).astype("float32")[:8]
    want = module(tf.constant(x), tf.constant(scale))
    out = fresh["outputs"]["__CALL__"]
    np.testing.assert_allclose(out["score"], want["score"].numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(out["positive"], want["positive"].numpy())


def test_plain_python_call_is_refused_with_the_fix(reg, data):
    with pytest.raises(UnsupportedModelError, match="tf.function"):
        reg.log_model(PlainCall(), model_name="tf_plain", version_name="v1", sample_input_data=data)


def test_missing_input_column_is_named(reg, data):
    df = pd.DataFrame(data, columns=["age", "income", "tenure"])
    mv = reg.log_model(LinearModule(), model_name="tf_missing", version_name="v1", sample_input_data=df)
    with pytest.raises(MregError, match="income"):
        mv.run(df.drop(columns=["income"]))


def test_gpu_device_is_refused_without_a_gpu_and_force_falls_back(logged, data):
    module, mv, _ = logged["linear"]
    with pytest.raises(EnvironmentMismatchError, match="sees no GPU"):
        mv.load(options={"device": "cuda"})
    with pytest.warns(RuntimeWarning, match="on the CPU because force=True"):
        restored = mv.load(force=True, options={"device": "cuda"})
    x = tf.constant(data[:3], tf.float32)
    np.testing.assert_allclose(restored(x).numpy(), module(x).numpy(), rtol=1e-6, atol=1e-6)
