"""PyTorch modules (`model_type` "pytorch"): any `torch.nn.Module`, TorchScript modules included; method `forward`.

An `nn.Module` is stored twice:

    model.pt              the module itself, `torch.save` with cloudpickle: what `load()` returns. Classes from
                          a notebook (`__main__`) or a local .py are written by value, so a new kernel without
                          that code still loads them.
    model.torchscript.pt  TorchScript (`torch.jit.script`, else `torch.jit.trace` with the sample, kept only if
                          it gives the module's outputs on the sample): the portable form a serving container
                          without the user's code runs. When neither works the metadata says why
                          (`torchscript_note`) and only the pickle is kept.

A `torch.jit.ScriptModule` given directly is stored only as TorchScript. `load(options={"torchscript": True})`
returns the TorchScript module; when the pickled module cannot be loaded because its code is gone, the
TorchScript module is returned with a warning saying so. Loaded modules are put on `options["device"]` and
in eval mode. `forward` runs under `torch.no_grad()` in eval mode, as in Snowflake (not `inference_mode`: a
tensor a module caches during a call would then be an inference tensor, which the user's own training or
in-place updates later refuse), with floating inputs cast to the module's parameter dtype; columns become
inputs by the rule in `handlers.tensors`. Keyword arguments come from the signature's params.

Refused at `log_model`, as Snowflake refuses them: a `forward` with a required non-tensor argument
(`def forward(self, x, scale: float)`: a `TypeError`, since only input tensors are passed), and a `forward`
that returns a dict on the sample (Snowflake's signature inference takes tensors, lists and tuples only).
TorchScript is deprecated in recent torch but still the only format that runs without the model's Python code.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Iterator

import numpy as np

from jupyter_mreg.errors import InvalidArgumentError, SignatureError, UnsupportedModelError
from jupyter_mreg.model.handlers import tensors
from jupyter_mreg.model.environment.local_modules import local_code_modules
from jupyter_mreg.model.packaging.pickling import pickled_by_value
from jupyter_mreg.model.signatures.frames import tensor_to_numpy, to_pandas

PICKLE_FILE = "model.pt"
TORCHSCRIPT_FILE = "model.torchscript.pt"
_TRACE_ROWS = 100  # the rows signature inference uses too


class Handler(tensors.TensorHandler):
    """`torch.nn.Module` instances, `torch.jit.ScriptModule` included."""

    name: ClassVar[str] = "pytorch"
    default_target_methods: ClassVar[tuple[str, ...]] = ("forward",)
    extra_options: ClassVar[frozenset[str]] = frozenset({"multiple_inputs", "use_gpu", "cuda_version"})
    load_options: ClassVar[frozenset[str]] = frozenset({"torchscript"})

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        torch = sys.modules.get("torch")
        if torch is None:  # nothing can be a Module if torch was never imported
            return False
        return isinstance(model, torch.nn.Module)

    @classmethod
    def gpu_available(cls) -> bool:
        try:
            import torch
        except ImportError:  # asked by the handlers of libraries that run on torch when it may be absent
            return False
        return bool(torch.cuda.is_available())

        return bool(torch.cuda.is_available())

    @classmethod
    def modules(cls, model: Any) -> list[str]:
        tops = ["torch"]
        for klass in _module_classes(model):
            top = klass.__module__.split(".")[0]
            if top not in tops:
                tops.append(top)
        return tops

    @classmethod
    def save(cls, model: Any, path: Path, options: dict) -> dict:
        import torch

        path = Path(path)
        klass = type(model)
        meta: dict[str, Any] = {
            "class": f"{klass.__module__}.{klass.__qualname__}",
            "torch_version": str(torch.__version__),
            "multiple_inputs": options.get("multiple_inputs"),
            tensors.COLUMN_FEATURES: True,
            "pickle_file": None,
            "torchscript_file": None,
            "torchscript": None,
            "torchscript_note": None,
        }
        sample = _sample_arrays(model, options.get("_sample_input_data"), options.get("multiple_inputs"))
        if sample is not None:
            _refuse_dict_output(model, sample)
        if isinstance(model, torch.jit.ScriptModule):
            try:
                with _quiet_jit():
                    torch.jit.save(model, str(path / TORCHSCRIPT_FILE))
            except Exception as exc:
                raise UnsupportedModelError(
                    f"The TorchScript module {klass.__qualname__} cannot be saved with torch.jit.save "
                    f"({type(exc).__name__}: {exc})."
                ) from exc
            meta.update(format="torchscript", torchscript_file=TORCHSCRIPT_FILE, torchscript="given")
            return meta

        by_value = _local_modules(model)
        try:
            import cloudpickle

            with pickled_by_value(by_value), open(path / PICKLE_FILE, "wb") as f:
                torch.save(model, f, pickle_module=cloudpickle)
        except Exception as exc:
            (path / PICKLE_FILE).unlink(missing_ok=True)
            raise UnsupportedModelError(
                f"The PyTorch module {klass.__qualname__} cannot be pickled ({type(exc).__name__}: {exc}): remove "
                "attributes that hold open files, locks, connections or generators from the module before "
                "logging it."
            ) from exc
        meta.update(format="pickle+torchscript", pickle_file=PICKLE_FILE, by_value_modules=by_value)

        scripted, how, note = _to_torchscript(model, sample)
        if scripted is not None:
            try:
                with _quiet_jit():
                    torch.jit.save(scripted, str(path / TORCHSCRIPT_FILE))
                meta.update(torchscript_file=TORCHSCRIPT_FILE, torchscript=how)
            except Exception as exc:
                (path / TORCHSCRIPT_FILE).unlink(missing_ok=True)
                note = f"torch.jit.save failed: {type(exc).__name__}: {exc}"
        if note:
            meta["torchscript_note"] = note
        if meta["torchscript_file"] is None:
            meta["format"] = "pickle"
        return meta

    @classmethod
    def load(cls, path: Path, meta: dict, options: dict) -> Any:
        import torch

        path = Path(path)
        device = options["device"]
        want_script = options.get("torchscript", False)
        if not isinstance(want_script, bool):
            raise InvalidArgumentError(f"Load option torchscript must be True or False, got {want_script!r}.")
        script_file = meta.get("torchscript_file")
        pickle_file = meta.get("pickle_file")
        if want_script or not pickle_file:
            if not script_file:
                raise InvalidArgumentError(
                    f"This {meta.get('class', 'PyTorch module')} was stored without a TorchScript form "
                    f"({meta.get('torchscript_note') or 'none was made'}): load it without the torchscript option."
                )
            model = _jit_load(path / script_file, device)
        else:
            try:
                model = torch.load(path / pickle_file, map_location=device, weights_only=False)
            except Exception as exc:
                if not script_file or not _code_is_gone(exc):
                    raise
                warnings.warn(
                    f"The pickled PyTorch module {meta.get('class')} cannot be loaded here because its code is gone "
                    f"({type(exc).__name__}: {exc}). Returning its TorchScript form instead "
                    f"(torch.jit.RecursiveScriptModule): it runs forward like the original but has none of the "
                    "class's other methods. Make the class importable (or log the model with code_paths=[...] or "
                    "ext_modules=[...]) to get the original object.",
                    RuntimeWarning,
                    stacklevel=4,
                )
                model = _jit_load(path / script_file, device)
            else:
                model = model.to(device)
        model.eval()  # loaded for inference: dropout off, batch norm on its running statistics
        tensors.declare_multiple_inputs(model, {"multiple_inputs": meta.get("multiple_inputs")}, meta)
        return model

    @classmethod
    def invoke(cls, model: Any, method: str, data: Any, params: dict) -> Any:
        params = params or {}
        _check_non_tensor_arguments(model, method, params)
        arrays = _input_arrays(model, method, data)
        dtype, device = _param_dtype_device(model)
        inputs = _to_tensors(arrays, dtype, device)
        return tensors.outputs_to_numpy(_call(model, method, inputs, params), tensor_to_numpy, model)


def _call(model: Any, method: str, inputs: list, params: dict) -> Any:
    """`model.<method>(*inputs, **params)` in eval mode under `torch.no_grad()`, Snowflake's context."""
    import torch

    with _eval_mode(model), torch.no_grad():
        fn = model if method == "forward" else getattr(model, method)  # model(...) runs the forward hooks
        return fn(*inputs, **params)


# ------------------------------------------------------------------------------------------------ inputs


def _arity(model: Any, method: str) -> tensors.Arity | None:
    import torch

    fn = getattr(model, method)
    if isinstance(model, torch.jit.ScriptModule):
        schema = getattr(fn, "schema", None)
        if schema is not None:
            args = [a for a in list(schema.arguments)[1:] if not a.kwarg_only]  # [0] is self
            required = sum(1 for a in args if not a.has_default_value())
            return required, len(args)
    return tensors.callable_arity(fn)


_SCALAR_TYPES = {"int", "float", "bool", "str", "number"}  # as annotations (or TorchScript types) name them


def _required_non_tensor(model: Any, method: str) -> list[tuple[str, str]]:
    """`(name, type)` of the method's required arguments that cannot be an input tensor: keyword-only ones
    (type "keyword-only"), and positional ones annotated as a Python scalar (`scale: float`). Unannotated
    ones may be tensors."""
    import torch

    fn = getattr(model, method)
    if isinstance(model, torch.jit.ScriptModule):
        schema = getattr(fn, "schema", None)
        args = list(schema.arguments)[1:] if schema is not None else []  # [0] is self
        return [(a.name, "keyword-only" if a.kwarg_only else str(a.type)) for a in args
                if not a.has_default_value() and (a.kwarg_only or str(a.type).lower() in _SCALAR_TYPES)]
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    found = []
    for p in parameters:
        if p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        ann = p.annotation
        name = ann if isinstance(ann, str) else getattr(ann, "__name__", "")  # `from __future__ import annotations`
        if p.kind == p.KEYWORD_ONLY:
            found.append((p.name, "keyword-only"))
        elif ann is not p.empty and name in _SCALAR_TYPES:
            found.append((p.name, name))
    return found


def _check_non_tensor_arguments(model: Any, method: str, params: dict) -> None:
    """A required non-tensor argument not given as a param is a TypeError, as calling the method would
    raise in Snowflake: it passes only the input tensors."""
    missing = [(n, t) for n, t in _required_non_tensor(model, method) if n not in params]
    if not missing:
        return
    names = " and ".join(repr(n) for n, _ in missing)
    plural = "s" if len(missing) > 1 else ""
    which = "keyword-only" if all(t == "keyword-only" for _, t in missing) else "positional"
    first = missing[0][0]
    raise UnsupportedModelError(  # Python's own TypeError wording, as Snowflake shows it, then the fix
        f"{type(model).__qualname__}.{method}() missing {len(missing)} required {which} argument{plural}: "
        f"{names}. {method} is called with the input tensors only (one per input column), and "
        f"{', '.join(f'{n!r} ({t})' for n, t in missing)} cannot be one: give it a default (`{first}=...`) and "
        f"pass other values per call as a signature param (ParamSpec({first!r}, ...) in `signatures`, then "
        f"run(..., params={{{first!r}: ...}}))."
    )


def _input_arrays(model: Any, method: str, frame: Any) -> list[np.ndarray]:
    return tensors.declared_inputs(model, frame, _arity(model, method), f"{type(model).__qualname__}.{method}")


def _param_dtype_device(model: Any) -> tuple[Any, Any]:
    """The dtype of the first floating parameter or buffer (None if none) and the device of the first one."""
    import torch

    dtype, device = None, None
    for tensor in _tensors_of(model):
        if device is None:
            device = tensor.device
        if dtype is None and tensor.is_floating_point():
            dtype = tensor.dtype
        if dtype is not None and device is not None:
            break
    return dtype, device or torch.device("cpu")


def _to_tensors(arrays: list[np.ndarray], dtype: Any, device: Any) -> list:
    """Arrays as tensors on `device`, floating ones cast to `dtype`. Read-only arrays (pandas hands out
    read-only views) are copied, since torch cannot share memory it may not write."""
    import torch

    out = []
    for array in arrays:
        array = np.require(tensors.cast_array(array, _numpy_dtype(dtype)), requirements=["C", "W"])
        out.append(torch.from_numpy(array).to(device))
    return out


def _tensors_of(model: Any) -> Iterator[Any]:
    yield from model.parameters()
    yield from model.buffers()


def _numpy_dtype(torch_dtype: Any) -> Any:
    import torch

    if torch_dtype is None:
        return None
    if torch_dtype == torch.bfloat16:  # numpy has no bfloat16: cast to float32, torch casts on the device
        return np.float32
    return torch.empty((), dtype=torch_dtype).numpy().dtype


@contextmanager
def _eval_mode(model: Any) -> Iterator[None]:
    """Inference runs in eval mode; a module the user left in training mode gets it back afterwards."""
    training = bool(getattr(model, "training", False))
    if training:
        model.eval()
    try:
        yield
    finally:
        if training:
            model.train()


# ----------------------------------------------------------------------------------------------- storage


def _module_classes(model: Any) -> list[type]:
    """The classes (and their non-torch bases) of the module and every submodule."""
    seen: list[type] = []
    for sub in model.modules():
        for klass in type(sub).__mro__:
            if klass is object or klass in seen:
                continue
            if klass.__module__.split(".")[0] == "torch":
                break  # torch's own classes and everything under them
            seen.append(klass)
    return seen


def _local_modules(model: Any) -> list[str]:
    """Names of the user's local modules the module's classes and their methods' globals come from: these
    are pickled by value. `__main__` needs no entry (cloudpickle always writes its classes by value)."""
    return [m for m in local_code_modules(_module_classes(model)) if m != "__main__"]


def _sample_arrays(model: Any, sample: Any, declared: bool | None) -> list[np.ndarray] | None:
    """The first rows of the logging sample as the module's input arrays, or None without a usable one."""
    if sample is None:
        return None
    try:
        frame = to_pandas(sample).iloc[:_TRACE_ROWS]
        return tensors.model_inputs(frame, _arity(model, "forward"), declared, type(model).__qualname__)
    except Exception:
        return None


def _refuse_dict_output(model: Any, sample: list[np.ndarray]) -> None:
    """A `forward` returning a dict on the sample is refused with Snowflake's message: its signature
    inference reads tensors, lists and tuples of them, not dicts."""
    dtype, device = _param_dtype_device(model)
    try:
        result = _call(model, "forward", _to_tensors(sample, dtype, device), {})
    except Exception:  # forward's own failures are reported where it runs for the user (signatures, run())
        return
    if isinstance(result, dict):
        raise SignatureError(
            f"Unable to infer model signature: Un-supported type provided {type(result)} for data truncate. "
            f"{type(model).__qualname__}.forward returned a dict (keys {list(result)[:5]}): return a tensor, or a "
            "tuple of tensors (outputs output_feature_0, output_feature_1, ...)."
        )


def _to_torchscript(model: Any, sample: list[np.ndarray] | None) -> tuple[Any, str | None, str | None]:
    """(TorchScript module, "script" | "trace", None) or (None, None, why not). Scripting keeps control flow
    and needs no sample; a trace is kept only if it reproduces the module's outputs on the sample."""
    import torch

    inputs = None
    if sample is not None:
        dtype, device = _param_dtype_device(model)
        inputs = _to_tensors(sample, dtype, device)
    notes: list[str] = []
    with _eval_mode(model), _quiet_jit():
        try:
            scripted = torch.jit.script(model)
        except Exception as exc:
            notes.append(f"torch.jit.script failed: {type(exc).__name__}: {_first_line(exc)}")
        else:
            problem = _differs(model, scripted, inputs) if inputs is not None else None
            if problem is None:
                return scripted, "script", None
            notes.append(f"the scripted module {problem}")
        if inputs is None:
            notes.append("torch.jit.trace needs sample_input_data, and none was given")
            return None, None, "; ".join(notes)
        try:
            traced = torch.jit.trace(model, tuple(inputs), strict=False)
        except Exception as exc:
            notes.append(f"torch.jit.trace failed: {type(exc).__name__}: {_first_line(exc)}")
            return None, None, "; ".join(notes)
        problem = _differs(model, traced, inputs)
        if problem is None:
            return traced, "trace", "; ".join(notes) or None
        notes.append(f"the traced module {problem} (data-dependent control flow?)")
    return None, None, "; ".join(notes)


def _differs(model: Any, compiled: Any, inputs: list) -> str | None:
    """None if `compiled` gives `model`'s outputs on the inputs (and on a shorter batch, which catches a
    trace that baked the batch size in), else what went wrong."""
    import torch

    batches = [inputs]
    rows = len(inputs[0]) if inputs and inputs[0].ndim else 0
    if rows > 1:
        batches.append([t[: rows // 2] for t in inputs])
    for batch in batches:
        try:
            with torch.no_grad():
                want = _flat_outputs(model(*batch), tensor_to_numpy)
                got = _flat_outputs(compiled(*batch), tensor_to_numpy)
        except Exception as exc:
            return f"fails on {len(batch[0])} sample rows: {type(exc).__name__}: {_first_line(exc)}"
        if len(want) != len(got) or not all(_same(w, g) for w, g in zip(want, got)):
            return f"gives different outputs than the module on {len(batch[0])} sample rows"
    return None


def _same(want: np.ndarray, got: np.ndarray) -> bool:
    if want.shape != got.shape:
        return False
    if want.dtype.kind in "fc" and got.dtype.kind in "fc":
        return bool(np.allclose(want, got, rtol=1e-5, atol=1e-6, equal_nan=True))
    return bool(np.array_equal(want, got))


def _flat_outputs(result: Any, to_numpy: Any) -> list[np.ndarray]:
    if isinstance(result, dict):
        return [a for k in sorted(result, key=str) for a in _flat_outputs(result[k], to_numpy)]
    if isinstance(result, (list, tuple)):
        return [a for r in result for a in _flat_outputs(r, to_numpy)]
    return [np.asarray(to_numpy(result))]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


@contextmanager
def _quiet_jit() -> Iterator[None]:
    """TorchScript is deprecated in recent torch, and tracing warns about every Python value it freezes: we
    choose it deliberately and check the result, so the user is not shown those warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _jit_load(file: Path, device: str) -> Any:
    import torch

    with _quiet_jit():
        return torch.jit.load(str(file), map_location=device)


def _code_is_gone(exc: BaseException) -> bool:
    """True for the errors unpickling raises when a class's module or attribute no longer exists."""
    if isinstance(exc, ImportError):  # ModuleNotFoundError included
        return True
    return isinstance(exc, AttributeError) and str(exc).startswith("Can't get attribute")

