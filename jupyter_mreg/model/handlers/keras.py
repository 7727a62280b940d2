"""Keras 3 models (`model_type` "keras"): any `keras.Model` (Sequential, Functional, subclassed); method `predict`.

Stored in Keras's own format, `model.keras` (`model.save`), loaded with `keras.saving.load_model`. Classes
Keras cannot find by itself (a subclassed model, custom layers, a custom loss: anything not from Keras) are
cloudpickled next to it in `custom_objects.pkl` (by value when they live in a notebook or a local .py) and
passed as `custom_objects` at load, so a new kernel without the user's code still loads the model. A model
with such classes is loaded back once at log time (a few milliseconds for a small model; models of built-in
layers always reload and skip this) so a class whose `get_config()` does not describe its constructor fails
when logging, with the fix, and not when someone loads the version later.

`predict(x, verbose=0)` gets one array, or a list of arrays for a multi-input model (`len(model.inputs)`;
see `handlers.tensors` for how columns become inputs), cast to the inputs' float dtype. The task comes from
the compiled loss (cross-entropy: classification, mean squared error and friends: regression).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from jupyter_mreg.errors import UnsupportedModelError
from jupyter_mreg.model.handlers import tensors
from jupyter_mreg.model.environment.local_modules import is_local_module
from jupyter_mreg.model.packaging.pickling import pickled_by_value
from jupyter_mreg.model.signatures.frames import tensor_to_numpy, to_pandas
from jupyter_mreg.model.task import Task

MODEL_FILE = "model.keras"
CUSTOM_OBJECTS_FILE = "custom_objects.pkl"
_CHECK_ROWS = 100

_BINARY_LOSSES = {"binarycrossentropy", "binaryfocalcrossentropy", "hinge", "squaredhinge"}
_MULTI_LOSSES = {"categoricalcrossentropy", "sparsecategoricalcrossentropy", "categoricalfocalcrossentropy",
                 "categoricalhinge"}
_REGRESSION_LOSSES = {"mse", "mae", "mape", "msle", "meansquarederror", "meanabsoluteerror",
                      "meanabsolutepercentageerror", "meansquaredlogarithmicerror", "huber", "logcosh"}


class Handler(tensors.TensorHandler):
    """`keras.Model` instances of Keras 3, any backend."""

    name: ClassVar[str] = "keras"
    default_target_methods: ClassVar[tuple[str, ...]] = ("predict",)
    extra_options: ClassVar[frozenset[str]] = frozenset({"multiple_inputs", "use_gpu", "cuda_version"})

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        keras = sys.modules.get("keras")
        if keras is None or not str(getattr(keras, "__version__", "0")).split(".")[0].isdigit():
            return False
        if int(str(keras.__version__).split(".")[0]) < 3:  # Keras 2 (tf_keras) saves differently
            return False
        model_class = getattr(keras, "Model", None)
        return model_class is not None and isinstance(model, model_class)

    @classmethod
    def gpu_available(cls) -> bool:
        import keras

        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_physical_devices("GPU"))
        if backend == "torch":
            import torch

            return bool(torch.cuda.is_available())
        if backend == "jax":
            import jax

            return any(d.platform == "gpu" for d in jax.devices())
        return False

    @classmethod
    def infer_task(cls, model: Any) -> Task:
        loss = getattr(model, "loss", None)
        name = _loss_name(loss)
        if name is None:
            return Task.UNKNOWN
        if name in _REGRESSION_LOSSES:
            return Task.TABULAR_REGRESSION
        if name in _BINARY_LOSSES:
            return Task.TABULAR_BINARY_CLASSIFICATION
        if name in _MULTI_LOSSES:
            units = _output_units(model)
            if units is None:
                return Task.UNKNOWN
            return Task.TABULAR_BINARY_CLASSIFICATION if units <= 2 else Task.TABULAR_MULTI_CLASSIFICATION
        return Task.UNKNOWN

    @classmethod
    def modules(cls, model: Any) -> list[str]:
        import keras

        tops = ["keras", {"tensorflow": "tensorflow", "torch": "torch", "jax": "jax"}.get(keras.backend.backend(), "")]
        for obj in _custom_objects(model).values():
            module = getattr(obj, "__module__", None)
            if isinstance(module, str):
                tops.append(module.split(".")[0])
        return [t for t in dict.fromkeys(tops) if t]

    @classmethod
    def save(cls, model: Any, path: Path, options: dict) -> dict:
        import keras

        path = Path(path)
        klass = type(model)
        qual = klass.__qualname__
        custom = _custom_objects(model)
        try:
            model.save(path / MODEL_FILE)
        except Exception as exc:
            hint = (f" Custom classes ({', '.join(sorted(custom))}) need get_config() returning their constructor "
                    "arguments, and @keras.saving.register_keras_serializable()." if custom else "")
            raise UnsupportedModelError(
                f"The Keras model {qual} cannot be saved as .keras ({type(exc).__name__}: {exc}).{hint}"
            ) from exc
        meta: dict[str, Any] = {
            "class": f"{klass.__module__}.{qual}",
            "format": "keras",
            "file": MODEL_FILE,
            "keras_version": str(keras.__version__),
            "backend": keras.backend.backend(),
            "multiple_inputs": options.get("multiple_inputs"),
            tensors.COLUMN_FEATURES: True,
            "custom_objects_file": None,
            "custom_objects": sorted(custom),
        }
        if custom:
            import cloudpickle

            local = [n for n in {getattr(o, "__module__", "") for o in custom.values()}
                     if n and n != "__main__" and n in sys.modules and is_local_module(n)]
            try:
                with pickled_by_value(sorted({n.split(".")[0] for n in local})):
                    (path / CUSTOM_OBJECTS_FILE).write_bytes(cloudpickle.dumps(custom))
            except Exception as exc:
                raise UnsupportedModelError(
                    f"The custom classes of Keras model {qual} ({', '.join(sorted(custom))}) cannot be pickled "
                    f"({type(exc).__name__}: {exc})."
                ) from exc
            meta["custom_objects_file"] = CUSTOM_OBJECTS_FILE
            meta["compile"] = _check_reload(model, path, custom, options.get("_sample_input_data"), qual)
        return meta

    @classmethod
    def load(cls, path: Path, meta: dict, options: dict) -> Any:
        import keras

        path = Path(path)
        custom = _read_custom_objects(path, meta)
        with keras.device(_keras_device(options["device"])):
            # safe_mode=False lets Lambda layers load: a version's files are trusted like its pickles are.
            model = keras.saving.load_model(path / meta.get("file", MODEL_FILE), custom_objects=custom,
                                            compile=meta.get("compile", True), safe_mode=False)
        tensors.declare_multiple_inputs(model, {"multiple_inputs": meta.get("multiple_inputs")}, meta)
        return model

    @classmethod
    def invoke(cls, model: Any, method: str, data: Any, params: dict) -> Any:
        arrays = _input_arrays(model, data)
        fn = getattr(model, method)
        x = arrays[0] if len(arrays) == 1 else arrays
        if method == "predict":
            result = fn(x, verbose=0, **(params or {}))
        else:
            result = fn(x, **(params or {}))
        return tensors.outputs_to_numpy(result, tensor_to_numpy, model, sequence_if_multiple_inputs=False)


def _input_arrays(model: Any, frame: Any) -> list[np.ndarray]:
    inputs = _model_inputs(model)
    arity = (len(inputs), len(inputs)) if inputs else None
    arrays = tensors.declared_inputs(model, frame, arity, f"Keras model {type(model).__qualname__}")
    if inputs and len(inputs) == len(arrays):
        # Input layers declare their dtype: cast to it (an integer column into a float input too).
        return [tensors.cast_array(tensors.fit_rank(a, getattr(i, "shape", None)),
                                   str(getattr(i, "dtype", None) or "float32"), floating_only=False)
                for a, i in zip(arrays, inputs)]
    dtype = getattr(model, "compute_dtype", None) or "float32"
    return [tensors.cast_array(a, dtype) for a in arrays]


def _model_inputs(model: Any) -> list | None:
    """The model's symbolic inputs (Functional, built Sequential); None for a subclassed model."""
    try:
        inputs = model.inputs
    except Exception:  # a subclassed model has none; a never-built Sequential raises
        return None
    return list(inputs) if inputs else None


def _output_units(model: Any) -> int | None:
    try:
        outputs = model.outputs
    except Exception:
        return None
    if not outputs or len(outputs) != 1:
        return None
    shape = outputs[0].shape
    return int(shape[-1]) if shape and shape[-1] is not None else None


def _loss_name(loss: Any) -> str | None:
    """The compiled loss's name without underscores and case; None without one loss."""
    if loss is None or isinstance(loss, (dict, list, tuple)):
        return None
    if isinstance(loss, str):
        name = loss
    elif type(loss).__name__ == "LossFunctionWrapper":
        name = getattr(getattr(loss, "fn", None), "__name__", "")
    elif isinstance(loss, type):
        name = loss.__name__
    elif hasattr(loss, "__call__") and hasattr(loss, "__name__"):
        name = loss.__name__
    else:
        name = type(loss).__name__
    return name.replace("_", "").lower() or None


def _is_keras(obj: Any) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == "keras" or module.startswith("keras.")


def _custom_objects(model: Any) -> dict[str, Any]:
    """`{registered name: class or function}` for everything in the model Keras does not ship: the model's
    class, its layers' classes, the compiled loss."""
    import keras

    try:
        layers = list(model._flatten_layers(include_self=True, recursive=True))
    except Exception:  # a private helper: fall back to the public, non-recursive list
        layers = [model, *getattr(model, "layers", [])]
    found: dict[str, Any] = {}
    for layer in layers:
        for klass in type(layer).__mro__:
            if _is_keras(klass) or klass is object:
                break
            found.setdefault(keras.saving.get_registered_name(klass), klass)
    loss = getattr(model, "loss", None)
    for item in (loss.values() if isinstance(loss, dict) else loss if isinstance(loss, (list, tuple)) else [loss]):
        if item is None or isinstance(item, str):
            continue
        target = item.fn if type(item).__name__ == "LossFunctionWrapper" else item
        target = target if callable(target) and hasattr(target, "__name__") else type(target)
        if not _is_keras(target):
            found.setdefault(keras.saving.get_registered_name(target), target)
    return found


def _read_custom_objects(path: Path, meta: dict) -> dict | None:
    name = meta.get("custom_objects_file")
    if not name:
        return None
    import cloudpickle

    with open(path / name, "rb") as f:
        return cloudpickle.load(f)


def _check_reload(model: Any, path: Path, custom: dict, sample: Any, qual: str) -> bool:
    """Load the saved file back (with the custom objects) and compare predictions on the sample. Returns
    whether the compiled state reloads; raises `UnsupportedModelError` with the fix when the model does not."""
    import keras

    fix = (f"Decorate {', '.join(sorted(custom))} with @keras.saving.register_keras_serializable() and give each a "
           "get_config() returning its constructor arguments (and from_config() when those are not plain values: "
           "layers, arrays).")
    compiled = True
    try:
        reloaded = keras.saving.load_model(path / MODEL_FILE, custom_objects=custom, safe_mode=False)
    except Exception as exc:
        try:  # the model itself may reload while its compile state (a custom loss or metric) does not
            reloaded = keras.saving.load_model(path / MODEL_FILE, custom_objects=custom, compile=False,
                                               safe_mode=False)
        except Exception:
            raise UnsupportedModelError(
                f"The Keras model {qual} was saved but cannot be loaded back ({type(exc).__name__}: {exc}). {fix}"
            ) from exc
        compiled = False
        warnings.warn(
            f"The Keras model {qual} reloads only without its compile state (loss, metrics, optimizer): "
            f"{type(exc).__name__}: {exc}. Loaded versions are not compiled; register custom losses and metrics "
            "with @keras.saving.register_keras_serializable() to keep them.",
            UserWarning,
            stacklevel=5,
        )
    if sample is None:
        return compiled
    try:
        frame = to_pandas(sample).iloc[:_CHECK_ROWS]
        arrays = _input_arrays(model, frame)
    except Exception:  # the sample was already checked by signature inference; nothing more to compare
        return compiled
    x = arrays[0] if len(arrays) == 1 else arrays
    want = _flat(model.predict(x, verbose=0))
    got = _flat(reloaded.predict(x, verbose=0))
    if len(want) != len(got) or not all(
        w.shape == g.shape and np.allclose(w, g, rtol=1e-5, atol=1e-6, equal_nan=True) for w, g in zip(want, got)
    ):
        raise UnsupportedModelError(
            f"The Keras model {qual} loads back from its .keras file but predicts differently on sample_input_data: "
            f"some state is not saved. {fix} Keep state that is not a weight in get_config()."
        )
    return compiled


def _flat(result: Any) -> list[np.ndarray]:
    if isinstance(result, dict):
        return [np.asarray(result[k], dtype=float) for k in sorted(result)]
    if isinstance(result, (list, tuple)):
        return [np.asarray(r, dtype=float) for r in result]
    return [np.asarray(result, dtype=float)]


def _keras_device(device: str) -> str:
    """Our device names ("cpu", "cuda", "cuda:1") as Keras's ("cpu:0", "gpu:0", "gpu:1")."""
    kind, _, index = device.partition(":")
    return f"{'cpu' if kind == 'cpu' else 'gpu'}:{index or 0}"
