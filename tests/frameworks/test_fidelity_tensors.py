"""Snowflake fidelity: tensor models take and return (N, k) tensors as k scalar features, as Snowflake's
pytorch / tensorflow / keras handlers do; `multiple_inputs` models return one feature per output tensor."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mreg.model.model_signature import DataType, FeatureSpec, ModelSignature

torch = pytest.importorskip("torch", reason="torch is not installed: pip install jupyter_mreg[pytorch]")


def _specs(features):
    return [(f.name, f.dtype, f.shape) for f in features]


class _SumAndFirst(torch.nn.Module):
    """Two inputs, one [N, 1] output: with multiple_inputs Snowflake records it as a feature of shape (1,)."""

    def forward(self, a, b=None):
        return (a.sum(1) + b).unsqueeze(1)


def test_fidelity_torch_2d_tensor_sample_is_k_features_and_run_takes_a_k_column_frame(reg):
    torch.manual_seed(0)
    model = torch.nn.Linear(10, 1).eval()
    X = torch.randn(20, 10)
    mv = reg.log_model(model, model_name="wide", version_name="v1", sample_input_data=X)
    sig = mv.show_functions()[0]["signature"]
    assert _specs(sig.inputs) == [(f"input_feature_{i}", DataType.FLOAT, None) for i in range(10)]
    assert _specs(sig.outputs) == [("output_feature_0", DataType.FLOAT, None)]

    want = model(X).detach().numpy()
    frame = pd.DataFrame(X.numpy(), columns=[f"input_feature_{i}" for i in range(10)])
    np.testing.assert_allclose(mv.run(frame)["output_feature_0"].to_numpy(dtype=float), want[:, 0], rtol=1e-6)
    np.testing.assert_allclose(mv.run(X).to_numpy(dtype=float), want, rtol=1e-6)  # the tensor itself too
    np.testing.assert_allclose(mv.run(X.numpy().astype("float64")).to_numpy(dtype=float), want, rtol=1e-5)


def test_fidelity_torch_n_by_1_sample_is_one_scalar_feature_fed_back_as_n_by_1(reg):
    model = torch.nn.Linear(1, 1).eval()
    with torch.no_grad():
        model.weight.fill_(2.0)
        model.bias.fill_(1.0)
    mv = reg.log_model(model, model_name="one_in", version_name="v1", sample_input_data=torch.ones(4, 1))
    assert _specs(mv.show_functions()[0]["signature"].inputs) == [("input_feature_0", DataType.FLOAT, None)]
    out = mv.run(pd.DataFrame({"input_feature_0": [1.0, 2.0, 3.0]}))
    np.testing.assert_allclose(out["output_feature_0"].to_numpy(dtype=float), [3.0, 5.0, 7.0])


def test_torch_signature_recorded_as_one_shaped_feature_still_runs(reg):
    """The form earlier releases inferred (and a `signatures=` may still say): one feature of shape (k,)."""
    torch.manual_seed(1)
    model = torch.nn.Linear(3, 2).eval()
    sig = ModelSignature(inputs=[FeatureSpec("input_feature_0", DataType.FLOAT, shape=(3,))],
                         outputs=[FeatureSpec(f"output_feature_{i}", DataType.FLOAT) for i in range(2)])
    mv = reg.log_model(model, model_name="old_form", version_name="v1", signatures={"forward": sig})
    X = torch.randn(5, 3)
    want = model(X).detach().numpy()
    np.testing.assert_allclose(mv.run(X).to_numpy(dtype=float), want, rtol=1e-6)
    frame = pd.DataFrame({"input_feature_0": list(X.numpy())})
    np.testing.assert_allclose(mv.run(frame).to_numpy(dtype=float), want, rtol=1e-6)


def test_fidelity_torch_multiple_inputs_n_by_1_output_is_a_feature_of_shape_1(reg):
    a, b = torch.randn(6, 3), torch.randn(6)
    mv = reg.log_model(_SumAndFirst(), model_name="multi_n1", version_name="v1", sample_input_data=[a, b],
                       options={"multiple_inputs": True})
    sig = mv.show_functions()[0]["signature"]
    assert _specs(sig.inputs) == [("input_feature_0", DataType.FLOAT, (3,)), ("input_feature_1", DataType.FLOAT, None)]
    assert _specs(sig.outputs) == [("output_feature_0", DataType.FLOAT, (1,))]
    out = mv.run([a, b])
    np.testing.assert_allclose(np.stack(out["output_feature_0"].to_list()), (a.sum(1) + b).unsqueeze(1).numpy(),
                               rtol=1e-6)


def test_fidelity_tensorflow_tensor_sample_and_n_by_1_output_are_scalar_columns(reg):
    tf = pytest.importorskip("tensorflow", reason="tensorflow is not installed")

    class Score(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable([[1.0], [2.0], [3.0]])

        @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32)])
        def __call__(self, x):
            return tf.matmul(x, self.w)

    X = tf.constant(np.arange(12, dtype=np.float32).reshape(4, 3))
    mv = reg.log_model(Score(), model_name="tf_score", version_name="v1", sample_input_data=X)
    sig = mv.show_functions()[0]["signature"]
    assert _specs(sig.inputs) == [(f"input_feature_{i}", DataType.FLOAT, None) for i in range(3)]
    assert _specs(sig.outputs) == [("output_feature_0", DataType.FLOAT, None)]
    frame = pd.DataFrame(X.numpy(), columns=["input_feature_0", "input_feature_1", "input_feature_2"])
    np.testing.assert_allclose(mv.run(frame)["output_feature_0"].to_numpy(dtype=float), [8, 26, 44, 62])


def test_fidelity_tensorflow_multiple_inputs_n_by_1_output_is_a_feature_of_shape_1(reg):
    tf = pytest.importorskip("tensorflow", reason="tensorflow is not installed")

    class Pair(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32), tf.TensorSpec([None], tf.float32)])
        def __call__(self, x, y):
            return tf.expand_dims(tf.reduce_sum(x, 1) * y, 1)

    x, y = tf.constant([[1.0, 2.0], [3.0, 4.0]]), tf.constant([10.0, 100.0])
    mv = reg.log_model(Pair(), model_name="tf_pair", version_name="v1", sample_input_data=[x, y],
                       options={"multiple_inputs": True})
    assert _specs(mv.show_functions()[0]["signature"].outputs) == [("output_feature_0", DataType.FLOAT, (1,))]
    out = mv.run([x, y])
    np.testing.assert_allclose(np.stack(out["output_feature_0"].to_list()), [[30.0], [700.0]])


def test_fidelity_keras_tensor_sample_is_k_scalar_features(reg):
    keras = pytest.importorskip("keras", reason="keras is not installed")
    tf = pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the sample tensor is a tf.Tensor: needs the TensorFlow backend")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")])
    X = tf.constant(np.arange(8, dtype=np.float32).reshape(2, 4))
    mv = reg.log_model(model, model_name="keras_wide", version_name="v1", sample_input_data=X)
    sig = mv.show_functions()[0]["signature"]
    assert _specs(sig.inputs) == [(f"input_feature_{i}", DataType.FLOAT, None) for i in range(4)]
    assert _specs(sig.outputs) == [("output_feature_0", DataType.FLOAT, None)]
    frame = pd.DataFrame(X.numpy(), columns=[f"input_feature_{i}" for i in range(4)])
    np.testing.assert_allclose(mv.run(frame)["output_feature_0"].to_numpy(dtype=float), [6.0, 22.0])


def test_versions_logged_before_column_features_keep_their_conversions():
    """A version whose handler metadata lacks `column_features` (logged by an earlier release) still gets one
    scalar column as [N] and a one-tensor output list as that tensor, as when it was logged."""
    from jupyter_mreg.model.handlers import tensors
    from jupyter_mreg.model.handlers.pytorch import Handler

    frame = pd.DataFrame({"input_feature_0": np.array([0, 1, 2])})
    new, old = torch.nn.Embedding(5, 2), torch.nn.Embedding(5, 2)
    tensors.declare_multiple_inputs(new, {}, {tensors.COLUMN_FEATURES: True})
    tensors.declare_multiple_inputs(old, {}, {})
    assert Handler.invoke(new, "forward", frame, {}).shape == (3, 1, 2)  # [N, 1] in, as Snowflake feeds it
    assert Handler.invoke(old, "forward", frame, {}).shape == (3, 2)  # [N] in, as before

    class Listed(torch.nn.Module):
        def forward(self, x):
            return [x * 2]

    two = pd.DataFrame({"input_feature_0": [1.0, 2.0], "input_feature_1": [3.0, 4.0]})
    model = Listed()
    tensors.declare_multiple_inputs(model, {}, {})
    np.testing.assert_allclose(Handler.invoke(model, "forward", two, {}), [[2, 6], [4, 8]])
    tensors.declare_multiple_inputs(model, {}, {tensors.COLUMN_FEATURES: True})
    out = Handler.invoke(model, "forward", two, {})
    assert list(out.columns) == ["output_feature_0"]  # a list of one tensor is one shaped feature, as Snowflake
    np.testing.assert_allclose(np.stack(out["output_feature_0"].to_list()), [[2, 6], [4, 8]])


def test_tensorflow_rank_1_input_gets_a_vector_from_one_column(reg):
    tf = pytest.importorskip("tensorflow", reason="tensorflow is not installed")

    class Double(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def __call__(self, x):
            return x * 2

    mv = reg.log_model(Double(), model_name="tf_vec", version_name="v1", sample_input_data=tf.constant([1.0, 2.0]))
    assert _specs(mv.show_functions()[0]["signature"].inputs) == [("input_feature_0", DataType.FLOAT, None)]
    out = mv.run(pd.DataFrame({"input_feature_0": [1.0, 5.0]}))
    np.testing.assert_allclose(out["output_feature_0"].to_numpy(dtype=float), [2.0, 10.0])
