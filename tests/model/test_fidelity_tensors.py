"""Snowflake fidelity: (N, k) arrays and tensors become features as Snowflake's `infer_signature` makes them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mreg.model import custom_model
from jupyter_mreg.model.model_signature import DataType, FeatureSpec, ModelSignature, infer_signature

torch = pytest.importorskip("torch", reason="torch is needed to build tensors")


def _specs(features):
    return [(f.name, f.dtype, f.shape) for f in features]


def test_fidelity_infer_signature_reads_a_2d_tensor_as_one_scalar_feature_per_column():
    sig = infer_signature(torch.zeros(4, 3), torch.zeros(4, 1))
    assert _specs(sig.inputs) == [(f"input_feature_{i}", DataType.FLOAT, None) for i in range(3)]
    assert _specs(sig.outputs) == [("output_feature_0", DataType.FLOAT, None)]


def test_fidelity_infer_signature_reads_an_nd_tensor_as_shaped_features_per_axis_1_index():
    sig = infer_signature(torch.zeros(4, 2, 5, dtype=torch.float64), torch.zeros(4))
    assert _specs(sig.inputs) == [(f"input_feature_{i}", DataType.DOUBLE, (5,)) for i in range(2)]
    assert _specs(sig.outputs) == [("output_feature_0", DataType.FLOAT, None)]


def test_fidelity_sequence_of_tensors_or_arrays_is_one_feature_per_array_and_n_by_1_keeps_its_axis():
    sig = infer_signature([torch.zeros(4, 3), torch.zeros(4)], [torch.zeros(4, 1)])
    assert _specs(sig.inputs) == [("input_feature_0", DataType.FLOAT, (3,)), ("input_feature_1", DataType.FLOAT, None)]
    assert _specs(sig.outputs) == [("output_feature_0", DataType.FLOAT, (1,))]
    # numpy arrays in a list too (Snowflake's SeqOfNumpyArrayHandler), not rows
    sig = infer_signature([np.zeros((4, 3)), np.zeros(4)], [np.zeros((4, 1))])
    assert _specs(sig.inputs) == [("input_feature_0", DataType.DOUBLE, (3,)), ("input_feature_1", DataType.DOUBLE, None)]
    assert _specs(sig.outputs) == [("output_feature_0", DataType.DOUBLE, (1,))]


def test_fidelity_list_of_numpy_arrays_output_is_one_shaped_feature_per_array(reg):
    from sklearn.linear_model import LogisticRegression
    from sklearn.multioutput import MultiOutputClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(30, 3)), columns=["a", "b", "c"])
    Y = np.stack([np.arange(30) % 2, np.arange(30) % 3], axis=1)
    model = MultiOutputClassifier(LogisticRegression()).fit(X, Y)

    sig = infer_signature(X, model.predict_proba(X))
    assert _specs(sig.outputs) == [("output_feature_0", DataType.DOUBLE, (2,)),
                                   ("output_feature_1", DataType.DOUBLE, (3,))]

    mv = reg.log_model(model, model_name="multi_out", version_name="v1", sample_input_data=X,
                       options={"target_methods": ["predict_proba"]})
    assert _specs(mv.show_functions()[0]["signature"].outputs) == _specs(sig.outputs)
    out = mv.run(X.iloc[:5], function_name="predict_proba")
    assert list(out.columns) == ["output_feature_0", "output_feature_1"]
    want = model.predict_proba(X.iloc[:5])
    np.testing.assert_allclose(np.stack(out["output_feature_0"].to_list()), want[0])
    np.testing.assert_allclose(np.stack(out["output_feature_1"].to_list()), want[1])


class _TensorOut(custom_model.CustomModel):
    @custom_model.inference_api
    def predict(self, X: pd.DataFrame) -> pd.DataFrame:  # returns a tensor; run() reads it
        x = torch.tensor(X.to_numpy(dtype=np.float32))
        return torch.stack([x.sum(1), x.prod(1)], dim=1)


def test_fidelity_custom_model_returning_an_n_by_k_tensor_has_k_scalar_outputs(reg):
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]})
    mv = reg.log_model(_TensorOut(custom_model.ModelContext()), model_name="tensor_out", version_name="v1",
                       sample_input_data=X)
    sig = mv.show_functions()[0]["signature"]
    assert _specs(sig.outputs) == [("output_feature_0", DataType.FLOAT, None), ("output_feature_1", DataType.FLOAT, None)]
    out = mv.run(X)
    assert list(out.columns) == ["output_feature_0", "output_feature_1"]
    np.testing.assert_allclose(out.to_numpy(dtype=float), [[5, 4], [7, 10], [9, 18]])


def test_custom_model_tensor_output_still_fits_a_recorded_shaped_output(reg):
    """A signature written the earlier way (one output of shape (k,)) still takes the tensor, one array a row."""
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [4.0, 5.0]})
    sig = ModelSignature(inputs=[FeatureSpec("a", DataType.DOUBLE), FeatureSpec("b", DataType.DOUBLE)],
                         outputs=[FeatureSpec("output_feature_0", DataType.FLOAT, shape=(2,))])
    mv = reg.log_model(_TensorOut(custom_model.ModelContext()), model_name="tensor_out_old", version_name="v1",
                       signatures={"predict": sig})
    out = mv.run(X)
    np.testing.assert_allclose(np.stack(out["output_feature_0"].to_list()), [[5, 4], [7, 10]])
