"""Snowflake fidelity of the pytorch handler: the call context (`torch.no_grad`, not `inference_mode`) and
the forwards Snowflake refuses at log_model (a dict output, a required non-tensor argument)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch", reason="the pytorch extra is not installed: pip install jupyter_mreg[pytorch]")

from jupyter_mreg.errors import MregError, SignatureError, UnsupportedModelError  # noqa: E402
from jupyter_mreg.model.model_signature import DataType, FeatureSpec, ModelSignature, ParamSpec  # noqa: E402


class CachesMask(torch.nn.Module):
    """Builds a tensor on its first call and keeps it: under inference_mode it would be an inference tensor."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 1)
        self.mask = None

    def forward(self, x):
        h = self.lin(x)
        if self.mask is None:
            self.mask = torch.ones_like(h[:1])
        return h * self.mask


class ReportsMode(torch.nn.Module):
    def forward(self, x):
        flags = torch.tensor([float(torch.is_grad_enabled()), float(torch.is_inference_mode_enabled())])
        return x[:, :1] * 0 + flags.sum()


class ReturnsDict(torch.nn.Module):
    def forward(self, x):
        return {"double": x * 2, "total": x.sum(1)}


class ScaledForward(torch.nn.Module):
    def forward(self, x, scale: float):
        return x * scale


class ScaledWithDefault(torch.nn.Module):
    def forward(self, x, scale: float = 1.0):
        return x * scale


def _x(rows=8):
    return torch.arange(rows * 3, dtype=torch.float32).reshape(rows, 3) / 10


def test_fidelity_module_caching_a_tensor_still_trains_after_log_model(reg):
    torch.manual_seed(0)
    model = CachesMask()
    X = _x()
    mv = reg.log_model(model, model_name="cache", version_name="v1", sample_input_data=X)
    model.train()
    loss = model(X).sum()
    loss.backward()  # inference_mode at log time made the cached mask refuse this
    assert model.lin.weight.grad is not None
    with torch.no_grad():
        want = model(X).numpy().ravel()
    np.testing.assert_allclose(mv.run(X).iloc[:, 0].to_numpy(dtype=float), want, rtol=1e-6)


def test_scripted_module_logs_runs_and_trains_afterwards(reg):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(),
                                                        torch.nn.Linear(4, 1)))
    X = _x()
    mv = reg.log_model(scripted, model_name="scripted", version_name="v1", sample_input_data=X)
    with torch.no_grad():
        want = scripted(X).numpy().ravel()
    np.testing.assert_allclose(mv.run(X).iloc[:, 0].to_numpy(dtype=float), want, rtol=1e-6)
    scripted.train()
    scripted(X).sum().backward()
    assert scripted[0].weight.grad is not None


def test_fidelity_run_calls_forward_under_no_grad_not_inference_mode(reg):
    X = _x(4)
    mv = reg.log_model(ReportsMode(), model_name="mode", version_name="v1", sample_input_data=X)
    out = mv.run(X)
    # grad off (0) and inference mode off (0): torch.no_grad(), as Snowflake calls forward
    assert out.iloc[:, 0].to_numpy(dtype=float).tolist() == [0.0] * 4


def test_fidelity_forward_returning_a_dict_is_refused_at_log_model(reg):
    with pytest.raises(SignatureError) as info:
        reg.log_model(ReturnsDict(), model_name="named", version_name="v1", sample_input_data=_x())
    text = str(info.value)
    assert text.startswith("Unable to infer model signature: Un-supported type provided <class 'dict'>")
    assert "ReturnsDict.forward returned a dict" in text and "tuple of tensors" in text
    assert reg.show_models().empty


def test_fidelity_required_non_tensor_argument_is_a_type_error_at_log_model(reg):
    with pytest.raises(TypeError) as info:
        reg.log_model(ScaledForward(), model_name="scaled", version_name="v1", sample_input_data=_x())
    assert isinstance(info.value, MregError) and isinstance(info.value, UnsupportedModelError)
    text = str(info.value)
    assert text.startswith("ScaledForward.forward() missing 1 required positional argument: 'scale'")
    assert "params=" in text and "default" in text
    assert reg.show_models().empty


def test_fidelity_required_non_tensor_argument_of_a_script_module_is_a_type_error(reg):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(ScaledForward())
    with pytest.raises(UnsupportedModelError, match=r"forward\(\) missing 1 required positional argument: 'scale'"):
        reg.log_model(scripted, model_name="scaled_script", version_name="v1", sample_input_data=_x())


def test_non_tensor_argument_with_a_default_is_a_run_param(reg):
    X = _x(3)
    sig = ModelSignature(inputs=[FeatureSpec("input_feature_0", DataType.FLOAT, shape=(3,))],
                         outputs=[FeatureSpec("output_feature_0", DataType.FLOAT, shape=(3,))],
                         params=[ParamSpec("scale", DataType.DOUBLE, 1.0)])
    mv = reg.log_model(ScaledWithDefault(), model_name="scaled_default", version_name="v1", signatures={"forward": sig})
    frame = pd.DataFrame({"input_feature_0": list(X.numpy())})
    out = mv.run(frame, params={"scale": 2.0})
    np.testing.assert_allclose(np.stack(out["output_feature_0"].to_numpy()).astype(float), X.numpy() * 2, rtol=1e-6)
