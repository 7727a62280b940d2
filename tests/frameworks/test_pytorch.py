"""The pytorch handler: nn.Modules and TorchScript modules logged, run in a fresh process, loaded back."""

from __future__ import annotations

import sys
import types
import warnings

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch", reason="the pytorch extra is not installed: pip install jupyter_mreg[pytorch]")

from jupyter_mreg.errors import (DataValidationError, EnvironmentMismatchError, InvalidArgumentError,  # noqa: E402
                                 MregError)
from jupyter_mreg.model.handlers import find_handler  # noqa: E402
from jupyter_mreg.model.handlers.pytorch import Handler  # noqa: E402
from jupyter_mreg.model.model_signature import DataType  # noqa: E402
from jupyter_mreg.model.task import Task  # noqa: E402
from tests.frameworks.fresh import run_fresh_many  # noqa: E402

ROWS = 40


class MLPClassifier(torch.nn.Module):
    """Defined in this test module, which a fresh process cannot import: it must be pickled by value."""

    def __init__(self, n_in: int = 3, n_classes: int = 3):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(n_in, 16), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                                        torch.nn.Linear(16, n_classes))

    def forward(self, x):
        return torch.softmax(self.body(x), dim=1)

    def predict_class(self, x):  # not forward: only the original class has it
        return self.forward(x).argmax(1)


class TwoInputs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(4, 2)
        self.b = torch.nn.Linear(2, 2)

    def forward(self, x, y):
        return self.a(x) + self.b(y), x.sum(1)


class OptionalSecond(torch.nn.Module):
    """A second input that may be left out: only the `multiple_inputs` declaration tells the columns apart."""

    def forward(self, x, y=None):
        if y is None:
            return x.sum(-1, keepdim=True) if x.ndim > 1 else x * 10
        return (x * 100 + y).unsqueeze(1)


class NotScriptable(torch.nn.Module):
    """A lambda attribute: TorchScript cannot compile it, but tracing runs it in Python."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
        self.post = lambda t: torch.sigmoid(t) * 2

    def forward(self, x):
        return self.post(self.lin(x))


class NeitherScriptNorTrace(torch.nn.Module):
    """Goes through numpy: scripting fails, and a trace would freeze the sign of the sample as a constant."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 1)

    def forward(self, x):
        return self.lin(x) * torch.from_numpy(np.sign(x.numpy()[:, :1]))


def _train(model, X, y, loss_fn, steps=30):
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(X), y).backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(ROWS, 3, generator=g)
    y_reg = (2 * X[:, 0] - X[:, 1] + 0.1 * torch.randn(ROWS, generator=g)).unsqueeze(1)
    y_cls = (X[:, 0] > 0).long() + (X[:, 1] > 0.5).long()
    return X, y_reg, y_cls


@pytest.fixture(scope="module")
def regressor(data):
    torch.manual_seed(0)
    X, y_reg, _ = data
    net = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    return _train(net, X, y_reg, torch.nn.functional.mse_loss)


@pytest.fixture(scope="module")
def classifier(data):
    torch.manual_seed(0)
    X, _, y_cls = data
    net = MLPClassifier()
    return _train(net, X, y_cls, lambda p, y: torch.nn.functional.nll_loss(torch.log(p + 1e-9), y))


def _gone_module():
    """A model class importable now but not later, and not a local file (so it is pickled by reference)."""
    gone = types.ModuleType("mreg_gone_models")
    exec("import torch\n"
         "class Gone(torch.nn.Module):\n"
         "    def __init__(self):\n"
         "        super().__init__()\n"
         "        self.lin = torch.nn.Linear(3, 2)\n"
         "    def forward(self, x):\n"
         "        return self.lin(x).tanh()\n", gone.__dict__)
    return gone


@pytest.fixture(scope="module")
def module_reg(tmp_path_factory):
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    session = Session.builder.configs({"home": str(tmp_path_factory.mktemp("torch_registry"))}).create()
    yield Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    session.close()


@pytest.fixture(scope="module")
def logged(module_reg, tmp_path_factory, regressor, classifier, data):
    """The round-trip cases logged, then run and loaded in ONE fresh process: `{key: (mv, model, X, fresh)}`."""
    X = data[0]
    torch.manual_seed(1)
    two = TwoInputs().eval()
    a, b = torch.randn(12, 4), torch.randn(12, 2)
    gone = _gone_module()
    sys.modules["mreg_gone_models"] = gone
    try:
        gone_model = gone.Gone().eval()
        gone_mv = module_reg.log_model(gone_model, model_name="torch_gone", version_name="v1", sample_input_data=X)
    finally:
        del sys.modules["mreg_gone_models"]
    cases = {
        "reg": (module_reg.log_model(regressor, model_name="torch_reg", version_name="v1", sample_input_data=X),
                regressor, X[:7]),
        "cls": (module_reg.log_model(classifier, model_name="torch_cls", version_name="v1", sample_input_data=X),
                classifier, X),
        "two": (module_reg.log_model(two, model_name="torch_two", version_name="v1", sample_input_data=[a, b],
                                     options={"multiple_inputs": True}), two, [a, b]),
        "script": (module_reg.log_model(_script(regressor), model_name="torch_script", version_name="v1",
                                        sample_input_data=X), regressor, X[:5]),
        "gone": (gone_mv, gone_model, X),
    }
    fresh = run_fresh_many({k: (mv, x) for k, (mv, _, x) in cases.items()}, tmp_path_factory.mktemp("torch_fresh"))
    return {k: (mv, model, x, fresh[k]) for k, (mv, model, x) in cases.items()}


def _forward(model, *inputs):
    with torch.no_grad():
        out = model(*inputs)
    return out.numpy()


def _script(module):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated in recent torch
        return torch.jit.script(module)


def _spec(sig, side):
    return [(f.name, f.dtype, f.shape) for f in getattr(sig, side)]


# ------------------------------------------------------------------------------------------ can_handle


def test_accepts_modules_and_script_modules(regressor):
    assert Handler.can_handle(regressor)
    assert Handler.can_handle(_script(torch.nn.Linear(2, 1)))
    assert find_handler(regressor) is Handler
    assert not Handler.can_handle(object())
    assert not Handler.can_handle(torch.nn.Linear)  # the class, not a module
    assert not Handler.can_handle(torch.zeros(2))


# ------------------------------------------------------------------------------------------ round trips


def test_mlp_regressor_round_trip_in_a_fresh_process(logged, regressor, data):
    mv, _, X, fresh = logged["reg"]
    (fn,) = mv.show_functions()
    assert fn["name"] == "FORWARD" and fn["target_method"] == "forward"
    # an [N, 3] tensor sample is 3 scalar features, as Snowflake's infer_signature makes it
    assert _spec(fn["signature"], "inputs") == [(f"input_feature_{i}", DataType.FLOAT, None) for i in range(3)]
    assert _spec(fn["signature"], "outputs") == [("output_feature_0", DataType.FLOAT, None)]
    assert mv.get_model_task() == Task.UNKNOWN  # torch does not say what a module predicts
    meta = mv.manifest.handler
    assert meta["format"] == "pickle+torchscript" and meta["torchscript"] == "script"

    assert fresh["type"] == "torch.nn.modules.container.Sequential"
    assert fresh["functions"] == ["FORWARD"]
    out = fresh["outputs"]["FORWARD"]
    assert list(out.columns) == ["output_feature_0"]
    np.testing.assert_allclose(out.to_numpy(), _forward(regressor, X), rtol=1e-6, atol=1e-6)

    loaded = mv.load()
    assert type(loaded) is torch.nn.Sequential
    assert not loaded.training
    X = data[0]
    np.testing.assert_allclose(_forward(loaded, X), _forward(regressor, X), rtol=1e-6, atol=1e-6)

def test_class_defined_in_the_test_module_loads_in_a_fresh_process(logged, classifier):
    mv, _, X, fresh = logged["cls"]
    sig = mv.show_functions()[0]["signature"]
    assert _spec(sig, "outputs") == [(f"output_feature_{i}", DataType.FLOAT, None) for i in range(3)]
    assert mv.manifest.handler["by_value_modules"] == [MLPClassifier.__module__.split(".")[0]]

    assert fresh["type"] == f"{MLPClassifier.__module__}.MLPClassifier"
    np.testing.assert_allclose(fresh["outputs"]["FORWARD"].to_numpy(), _forward(classifier, X), rtol=1e-6,
                               atol=1e-6)

    loaded = mv.load()
    assert type(loaded).__qualname__ == "MLPClassifier"
    assert torch.equal(loaded.predict_class(X), classifier.predict_class(X))  # the class's own methods

def test_dataframe_sample_is_stacked_and_cast_to_the_parameter_dtype(reg, regressor, data):
    X = data[0]
    df = pd.DataFrame(X.numpy().astype("float64"), columns=["age", "income", "tenure"])
    mv = reg.log_model(regressor, model_name="torch_df", version_name="v1", sample_input_data=df)

    sig = mv.show_functions()[0]["signature"]
    assert _spec(sig, "inputs") == [(c, DataType.DOUBLE, None) for c in ["age", "income", "tenure"]]
    out = mv.run(df.iloc[:5])
    np.testing.assert_allclose(out["output_feature_0"], _forward(regressor, X[:5])[:, 0], rtol=1e-6, atol=1e-6)


def test_numpy_nd_sample_is_split_into_columns_and_comes_back_whole(reg):
    torch.manual_seed(4)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, 2)).eval()
    X = np.random.default_rng(0).normal(size=(8, 3, 2))  # float64 into a float32 net
    mv = reg.log_model(model, model_name="torch_nd", version_name="v1", sample_input_data=X)
    sig = mv.show_functions()[0]["signature"]
    assert _spec(sig, "inputs") == [(f"input_feature_{i}", DataType.DOUBLE, (2,)) for i in range(3)]
    np.testing.assert_allclose(mv.run(X).to_numpy(), _forward(model, torch.from_numpy(X).float()), rtol=1e-6,
                               atol=1e-6)


def test_missing_input_column_is_named(reg, regressor, data):
    df = pd.DataFrame(data[0].numpy(), columns=["age", "income", "tenure"])
    mv = reg.log_model(regressor, model_name="torch_missing", version_name="v1", sample_input_data=df)
    with pytest.raises(MregError, match="income"):
        mv.run(df.drop(columns=["income"]))


def test_two_input_module_with_multiple_inputs(logged):
    mv, model, (a, b), fresh = logged["two"]
    sig = mv.show_functions()[0]["signature"]
    assert _spec(sig, "inputs") == [("input_feature_0", DataType.FLOAT, (4,)),
                                    ("input_feature_1", DataType.FLOAT, (2,))]
    assert _spec(sig, "outputs") == [("output_feature_0", DataType.FLOAT, (2,)),
                                     ("output_feature_1", DataType.FLOAT, None)]
    assert mv.manifest.options["multiple_inputs"] is True

    want_0, want_1 = (t.detach().numpy() for t in model(a, b))
    out = fresh["outputs"]["FORWARD"]
    np.testing.assert_allclose(np.stack(out["output_feature_0"]), want_0, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(out["output_feature_1"], want_1, rtol=1e-6, atol=1e-6)

def test_two_required_inputs_need_no_declaration(reg):
    model = TwoInputs().eval()
    a, b = torch.randn(5, 4), torch.randn(5, 2)
    mv = reg.log_model(model, model_name="torch_two_undeclared", version_name="v1", sample_input_data=[a, b])
    out = mv.run([a, b])
    np.testing.assert_allclose(out["output_feature_1"], a.sum(1).numpy(), rtol=1e-6)
    with pytest.raises(MregError, match="takes 2 inputs"):
        Handler.invoke(model, "forward", pd.DataFrame({"input_feature_0": list(a.numpy())}), {})


def test_multiple_inputs_declaration_decides_optional_parameters(reg):
    x, y = torch.arange(4.0), torch.arange(4.0) + 0.5
    together = reg.log_model(OptionalSecond(), model_name="opt_multi", version_name="v1", sample_input_data=[x, y],
                             options={"multiple_inputs": True})
    # multiple_inputs: the [N, 1] output is one feature of shape (1,), as Snowflake records it
    np.testing.assert_allclose(np.stack(together.run([x, y])["output_feature_0"].to_list()),
                               (x * 100 + y).unsqueeze(1).numpy())

    stacked = reg.log_model(OptionalSecond(), model_name="opt_stacked", version_name="v1", sample_input_data=[x, y],
                            options={"multiple_inputs": False})
    np.testing.assert_allclose(stacked.run([x, y])["output_feature_0"], (x + y).numpy())  # one [rows, 2] input


def test_multiple_inputs_on_a_single_input_module_is_refused(reg, regressor):
    with pytest.raises(MregError, match="multiple_inputs"):
        reg.log_model(regressor, model_name="bad_multi", version_name="v1",
                      sample_input_data=[torch.randn(4, 3), torch.randn(4, 3)], options={"multiple_inputs": True})
    with pytest.raises(InvalidArgumentError, match="multiple_inputs must be True or False"):
        reg.log_model(regressor, model_name="bad_multi", version_name="v1", sample_input_data=torch.randn(4, 3),
                      options={"multiple_inputs": "yes"})


def test_module_that_cannot_be_scripted_is_traced(reg):
    torch.manual_seed(2)
    model = NotScriptable().eval()
    X = torch.randn(10, 3)
    mv = reg.log_model(model, model_name="torch_traced", version_name="v1", sample_input_data=X)

    meta = mv.manifest.handler
    assert meta["torchscript"] == "trace"
    assert "torch.jit.script failed" in meta["torchscript_note"]
    script = mv.load(options={"torchscript": True})
    assert isinstance(script, torch.jit.ScriptModule)
    np.testing.assert_allclose(_forward(script, X), _forward(model, X), rtol=1e-6, atol=1e-6)
    assert type(mv.load()) is NotScriptable


def test_module_without_torchscript_form_keeps_a_note(reg):
    model = NeitherScriptNorTrace().eval()
    X = torch.randn(10, 3)
    mv = reg.log_model(model, model_name="torch_pickle_only", version_name="v1", sample_input_data=X)

    meta = mv.manifest.handler
    assert meta["format"] == "pickle" and meta["torchscript_file"] is None
    assert "torch.jit.script failed" in meta["torchscript_note"]
    assert "traced module" in meta["torchscript_note"]
    np.testing.assert_allclose(mv.run(X[:3]).to_numpy(), _forward(model, X[:3]), rtol=1e-6, atol=1e-6)
    with pytest.raises(InvalidArgumentError, match="without a TorchScript form"):
        mv.load(options={"torchscript": True})


def test_script_module_is_stored_as_torchscript(logged, regressor):
    mv, _, X, fresh = logged["script"]
    meta = mv.manifest.handler
    assert meta["format"] == "torchscript" and meta["pickle_file"] is None
    assert fresh["type"] == "torch.jit._script.RecursiveScriptModule"
    np.testing.assert_allclose(fresh["outputs"]["FORWARD"].to_numpy(), _forward(regressor, X), rtol=1e-6,
                               atol=1e-6)
    assert isinstance(mv.load(), torch.jit.RecursiveScriptModule)

def test_gone_code_falls_back_to_torchscript_with_a_warning(logged):
    mv, model, X, fresh = logged["gone"]
    assert mv.manifest.handler["torchscript"] == "trace"  # no source to script from
    want = _forward(model, X)

    with pytest.warns(RuntimeWarning, match="code is gone"):
        loaded = mv.load()
    assert isinstance(loaded, torch.jit.ScriptModule)
    np.testing.assert_allclose(_forward(loaded, X), want, rtol=1e-6, atol=1e-6)

    assert fresh["type"] == "torch.jit._script.RecursiveScriptModule"
    np.testing.assert_allclose(fresh["outputs"]["FORWARD"].to_numpy(), want, rtol=1e-6, atol=1e-6)

def test_inference_runs_in_eval_mode_and_leaves_the_user_module_as_it_was(reg, data):
    torch.manual_seed(3)
    model = MLPClassifier()  # training mode: dropout active
    X = data[0]
    mv = reg.log_model(model, model_name="torch_train_mode", version_name="v1", sample_input_data=X)
    assert model.training
    first, second = mv.run(X), mv.run(X)
    np.testing.assert_array_equal(first.to_numpy(), second.to_numpy())
    model.eval()
    np.testing.assert_allclose(first.to_numpy(), _forward(model, X), rtol=1e-6, atol=1e-6)


def test_gpu_device_is_refused_without_a_gpu_and_force_falls_back(reg, regressor, data):
    mv = reg.log_model(regressor, model_name="torch_gpu", version_name="v1", sample_input_data=data[0],
                       options={"use_gpu": True})
    assert mv.manifest.options["use_gpu"] is True
    with pytest.raises(EnvironmentMismatchError, match="sees no GPU"):
        mv.load(options={"device": "cuda"})
    with pytest.warns(RuntimeWarning, match="on the CPU because force=True"):
        loaded = mv.load(force=True, options={"device": "cuda"})
    assert next(loaded.parameters()).device.type == "cpu"
    assert next(mv.load().parameters()).device.type == "cpu"  # logged with use_gpu: CPU when there is no GPU


def test_unknown_load_option_is_refused(reg, regressor, data):
    mv = reg.log_model(regressor, model_name="torch_opts", version_name="v1", sample_input_data=data[0])
    with pytest.raises(InvalidArgumentError, match="torchscript"):
        mv.load(options={"torch_script": True})
    with pytest.raises(InvalidArgumentError, match="torchscript must be True or False"):
        mv.load(options={"torchscript": "yes"})


def test_invoke_returns_named_outputs_of_a_dict():
    class Named(torch.nn.Module):
        def forward(self, x):
            return {"double": x * 2, "total": x.sum(1)}

    frame = pd.DataFrame({"input_feature_0": list(np.ones((3, 2), dtype=np.float32))})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecation noise from our own calls
        out = Handler.invoke(Named(), "forward", frame, {})
    assert list(out.columns) == ["double", "total"]
    np.testing.assert_array_equal(out["total"], [2.0, 2.0, 2.0])


def test_scalar_columns_into_a_two_dim_input_error_names_the_fix():
    frame = pd.DataFrame({"a": [1.0], "b": [np.ones(2)]})
    with pytest.raises(DataValidationError, match="multiple_inputs"):
        Handler.invoke(torch.nn.Linear(3, 1), "forward", frame, {})
