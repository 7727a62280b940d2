"""The keras handler: Sequential, Functional and subclassed Keras 3 models logged, run fresh, loaded back."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
keras = pytest.importorskip("keras", reason="the keras extra is not installed: pip install jupyter_mreg[keras]")
if int(keras.__version__.split(".")[0]) < 3:
    pytest.skip(f"the keras handler needs Keras 3 (found {keras.__version__}): pip install 'keras>=3'",
                allow_module_level=True)

from jupyter_mreg.errors import EnvironmentMismatchError, MregError, UnsupportedModelError  # noqa: E402
from jupyter_mreg.model.handlers import find_handler  # noqa: E402
from jupyter_mreg.model.handlers.keras import Handler  # noqa: E402
from jupyter_mreg.model.model_signature import DataType  # noqa: E402
from jupyter_mreg.model.task import Task  # noqa: E402
from tests.frameworks.fresh import run_fresh_many  # noqa: E402

ROWS = 40


@keras.saving.register_keras_serializable(package="mreg_tests")
class SubclassedMLP(keras.Model):
    """Defined in this test module, which a fresh process cannot import: its class is stored by value."""

    def __init__(self, units: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.out = keras.layers.Dense(1)

    def call(self, x):
        return self.out(self.hidden(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class ForgetsItsArgument(keras.Model):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(units)

    def call(self, x):
        return self.dense(x)

    def get_config(self):
        return {}  # `units` is missing: the class cannot be rebuilt


class LosesItsOffset(keras.Model):
    def __init__(self, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.offset = offset
        self.dense = keras.layers.Dense(1)

    def call(self, x):
        return self.dense(x) + self.offset

    def get_config(self):
        return {}  # the offset is not saved: a reloaded model predicts differently


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(ROWS, 3))
    y = 2 * X[:, 0] - X[:, 1]
    return X, y


@pytest.fixture(scope="module")
def sequential(data):
    keras.utils.set_random_seed(0)
    X, y = data
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, y, epochs=2, batch_size=16, verbose=0)
    return model


@pytest.fixture(scope="module")
def functional():
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    a_in, b_in = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    hidden = keras.layers.Dense(4, activation="relu")(keras.layers.Concatenate()([a_in, b_in]))
    model = keras.Model([a_in, b_in], keras.layers.Dense(3, activation="softmax")(hidden))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    a, b = rng.normal(size=(ROWS, 3)).astype("float32"), rng.normal(size=(ROWS, 2)).astype("float32")
    model.fit([a, b], rng.integers(0, 3, ROWS), epochs=1, verbose=0)
    return model, a, b


@pytest.fixture(scope="module")
def module_reg(tmp_path_factory):
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    session = Session.builder.configs({"home": str(tmp_path_factory.mktemp("keras_registry"))}).create()
    yield Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    session.close()


@pytest.fixture(scope="module")
def subclassed(data):
    keras.utils.set_random_seed(2)
    X, y = data
    model = SubclassedMLP(units=6)
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, y, epochs=1, verbose=0)
    return model


@pytest.fixture(scope="module")
def logged(module_reg, tmp_path_factory, sequential, functional, subclassed, data):
    """The three kinds of Keras model logged, then run and loaded in ONE fresh process (Keras takes seconds
    to import): `{key: (mv, fresh result)}`."""
    X = data[0]
    model, a, b = functional
    df = pd.DataFrame(X, columns=["age", "income", "tenure"])
    seq = module_reg.log_model(sequential, model_name="keras_seq", version_name="v1", sample_input_data=X)
    two = module_reg.log_model(model, model_name="keras_two", version_name="v1",
                               sample_input_data=[_tensor(a), _tensor(b)])
    sub = module_reg.log_model(subclassed, model_name="keras_sub", version_name="v1", sample_input_data=df)
    two_X = pd.DataFrame({"input_feature_0": list(a[:6].astype("float64")), "input_feature_1": list(b[:6])})
    fresh = run_fresh_many({"seq": (seq, X[:7]), "two": (two, two_X), "sub": (sub, df.iloc[:5])},
                           tmp_path_factory.mktemp("keras_fresh"))
    return {"seq": (seq, fresh["seq"]), "two": (two, fresh["two"]), "sub": (sub, fresh["sub"])}


def _tensor(array):
    """A tensor of the Keras backend (a tf.Tensor under TensorFlow): a list of them is a multi-input sample."""
    return keras.ops.convert_to_tensor(array)


def _spec(sig, side):
    return [(f.name, f.dtype, f.shape) for f in getattr(sig, side)]


def _predict(model, x):
    return model.predict(x, verbose=0)


def test_accepts_keras_models_only(sequential):
    assert Handler.can_handle(sequential)
    assert find_handler(sequential) is Handler
    assert not Handler.can_handle(object())
    assert not Handler.can_handle(keras.layers.Dense(2))  # a layer is not a model


def test_infer_task_from_the_compiled_loss(sequential, functional):
    assert Handler.infer_task(sequential) == Task.TABULAR_REGRESSION
    assert Handler.infer_task(functional[0]) == Task.TABULAR_MULTI_CLASSIFICATION
    binary = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    binary.compile(loss=keras.losses.BinaryCrossentropy())
    assert Handler.infer_task(binary) == Task.TABULAR_BINARY_CLASSIFICATION
    assert Handler.infer_task(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])) == Task.UNKNOWN


def test_sequential_round_trip_in_a_fresh_process(logged, sequential, data):
    X = data[0]
    mv, fresh = logged["seq"]
    (fn,) = mv.show_functions()
    assert fn["name"] == "PREDICT" and fn["target_method"] == "predict"
    assert _spec(fn["signature"], "inputs") == [(f"input_feature_{i}", DataType.DOUBLE, None) for i in range(3)]
    assert _spec(fn["signature"], "outputs") == [("output_feature_0", DataType.FLOAT, None)]
    assert mv.get_model_task() == Task.TABULAR_REGRESSION
    assert mv.manifest.handler["custom_objects_file"] is None  # built-in layers only

    assert fresh["type"] == "keras.src.models.sequential.Sequential"
    assert fresh["functions"] == ["PREDICT"]
    np.testing.assert_allclose(fresh["outputs"]["PREDICT"]["output_feature_0"], _predict(sequential, X[:7])[:, 0],
                               rtol=1e-6, atol=1e-6)

    loaded = mv.load()
    assert isinstance(loaded, keras.Sequential)
    np.testing.assert_allclose(_predict(loaded, X), _predict(sequential, X), rtol=1e-6, atol=1e-6)


def test_functional_two_input_round_trip(logged, functional):
    model, a, b = functional
    mv, fresh = logged["two"]
    sig = mv.show_functions()[0]["signature"]
    assert _spec(sig, "inputs") == [("input_feature_0", DataType.FLOAT, (3,)),
                                    ("input_feature_1", DataType.FLOAT, (2,))]
    assert _spec(sig, "outputs") == [(f"output_feature_{i}", DataType.FLOAT, None) for i in range(3)]
    assert mv.get_model_task() == Task.TABULAR_MULTI_CLASSIFICATION

    assert fresh["type"] == "keras.src.models.functional.Functional"
    np.testing.assert_allclose(fresh["outputs"]["PREDICT"].to_numpy(), _predict(model, [a[:6], b[:6]]), rtol=1e-6,
                               atol=1e-6)
    np.testing.assert_allclose(mv.run([_tensor(a), _tensor(b)]).to_numpy(), _predict(model, [a, b]),
                               rtol=1e-6, atol=1e-6)


def test_subclassed_model_defined_in_the_test_module_loads_in_a_fresh_process(logged, subclassed, data):
    X = data[0]
    mv, fresh = logged["sub"]
    meta = mv.manifest.handler
    assert meta["custom_objects"] == ["mreg_tests>SubclassedMLP"]
    assert fresh["type"] == f"{SubclassedMLP.__module__}.SubclassedMLP"
    np.testing.assert_allclose(fresh["outputs"]["PREDICT"]["output_feature_0"], _predict(subclassed, X[:5])[:, 0],
                               rtol=1e-6, atol=1e-6)
    loaded = mv.load()
    assert type(loaded).__qualname__ == "SubclassedMLP" and loaded.units == 6


def test_a_model_that_cannot_be_loaded_back_is_refused_when_logged(reg, data):
    X = data[0]
    model = ForgetsItsArgument(2)
    model(X[:1])
    with pytest.raises(UnsupportedModelError, match="(?s)cannot be loaded back.*register_keras_serializable"):
        reg.log_model(model, model_name="keras_bad", version_name="v1", sample_input_data=X)

    offset = LosesItsOffset(offset=5.0)
    offset(X[:1])
    with pytest.raises(UnsupportedModelError, match="predicts differently"):
        reg.log_model(offset, model_name="keras_bad", version_name="v1", sample_input_data=X)


def test_missing_input_column_is_named(reg, sequential, data):
    df = pd.DataFrame(data[0], columns=["age", "income", "tenure"])
    mv = reg.log_model(sequential, model_name="keras_missing", version_name="v1", sample_input_data=df)
    with pytest.raises(MregError, match="tenure"):
        mv.run(df.drop(columns=["tenure"]))


def test_gpu_device_is_refused_without_a_gpu_and_force_falls_back(reg, sequential, data):
    X = data[0]
    mv = reg.log_model(sequential, model_name="keras_gpu", version_name="v1", sample_input_data=X)
    with pytest.raises(EnvironmentMismatchError, match="sees no GPU"):
        mv.load(options={"device": "cuda"})
    with pytest.warns(RuntimeWarning, match="on the CPU because force=True"):
        loaded = mv.load(force=True, options={"device": "cuda"})
    np.testing.assert_allclose(_predict(loaded, X), _predict(sequential, X), rtol=1e-6, atol=1e-6)
