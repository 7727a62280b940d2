"""TensorFlow modules (`model_type` "tensorflow"): a `tf.Module` that is not a Keras model; method `__call__`.

Stored as a SavedModel (`tf.saved_model.save` into `saved_model/`): the graph and the variables, no Python
code, so it loads anywhere TensorFlow runs. `__call__` must be a `tf.function`; without an `input_signature`
it is traced with the logging sample, with a free batch axis, so the saved function takes any number of rows.

`load()` returns what `tf.saved_model.load` gives: a restored object (class
`tensorflow.python.saved_model.load.Loader._recreate_base_user_object.<locals>._UserObject`) with the
saved variables and tf.functions (`__call__` included), NOT an instance of the original class: its other
Python methods and attributes are gone. TensorFlow offers no way back to the original class; log a Keras
model to get the class back. Such a restored object can itself be logged again.

Columns become inputs by the rule in `handlers.tensors`; inputs are cast to the dtypes of the function's
input signature (else floating inputs to the module's variables' float dtype), and a one-column `[N, 1]`
input is given as `[N]` where that signature's tensor has one axis.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from jupyter_mreg.errors import UnsupportedModelError
from jupyter_mreg.model.handlers import tensors
from jupyter_mreg.model.signatures.frames import tensor_to_numpy, to_pandas

SAVED_MODEL_DIR = "saved_model"
_TRACE_ROWS = 100


class Handler(tensors.TensorHandler):
    """`tf.Module` instances (not Keras models), and objects `tf.saved_model.load` returned."""

    name: ClassVar[str] = "tensorflow"
    default_target_methods: ClassVar[tuple[str, ...]] = ("__call__",)
    extra_options: ClassVar[frozenset[str]] = frozenset({"multiple_inputs", "use_gpu", "cuda_version"})

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        tf = sys.modules.get("tensorflow")
        if tf is None or isinstance(model, type):
            return False
        if _is_keras_model(model):
            return False
        if isinstance(model, tf.Module):
            return True
        # What tf.saved_model.load returns is a plain AutoTrackable holding restored functions.
        from tensorflow.python.trackable.autotrackable import AutoTrackable

        return isinstance(model, AutoTrackable) and _is_tf_function(getattr(model, "__call__", None))

    @classmethod
    def gpu_available(cls) -> bool:
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))

    @classmethod
    def modules(cls, model: Any) -> list[str]:
        return ["tensorflow"]  # a SavedModel holds no Python code: TensorFlow alone runs it

    @classmethod
    def save(cls, model: Any, path: Path, options: dict) -> dict:
        import tensorflow as tf

        path = Path(path)
        klass = type(model)
        qual = klass.__qualname__
        methods = options.get("target_methods") or list(cls.default_target_methods)
        traced: dict[str, list] = {}
        for method in methods:
            fn = getattr(model, method, None)
            if not _is_tf_function(fn):
                raise UnsupportedModelError(
                    f"{qual}.{method} is a plain Python method: a SavedModel stores only tf.functions. Decorate it "
                    f"with @tf.function(input_signature=[tf.TensorSpec([None, ...], tf.float32), ...]) (or plain "
                    "@tf.function, traced with sample_input_data) and log the model again."
                )
            traced[method] = _ensure_traced(model, method, fn, options, qual)
        try:
            tf.saved_model.save(model, str(path / SAVED_MODEL_DIR))
        except Exception as exc:
            raise UnsupportedModelError(
                f"The TensorFlow module {qual} cannot be saved as a SavedModel ({type(exc).__name__}: {exc})."
            ) from exc
        return {
            "class": f"{klass.__module__}.{qual}",
            "format": "saved_model",
            "dir": SAVED_MODEL_DIR,
            "tensorflow_version": str(tf.__version__),
            "multiple_inputs": options.get("multiple_inputs"),
            tensors.COLUMN_FEATURES: True,
            "input_specs": traced,
        }

    @classmethod
    def load(cls, path: Path, meta: dict, options: dict) -> Any:
        import tensorflow as tf

        kind, _, index = options["device"].partition(":")
        with tf.device(f"/{'CPU' if kind == 'cpu' else 'GPU'}:{index or 0}"):
            model = tf.saved_model.load(str(Path(path) / meta.get("dir", SAVED_MODEL_DIR)))
        tensors.declare_multiple_inputs(model, {"multiple_inputs": meta.get("multiple_inputs")}, meta)
        return model

    @classmethod
    def invoke(cls, model: Any, method: str, data: Any, params: dict) -> Any:
        import tensorflow as tf

        fn = getattr(model, method)
        arrays = _input_arrays(model, method, fn, data)
        args = [tf.convert_to_tensor(a) for a in arrays]
        if _input_signatures(fn) is None and hasattr(fn, "get_concrete_function"):
            # One trace with a free batch axis serves every batch size (no retrace per row count).
            fn.get_concrete_function(*[_spec(a) for a in arrays])
        result = fn(*args, **(params or {}))
        return tensors.outputs_to_numpy(result, tensor_to_numpy, model)


def _is_keras_model(model: Any) -> bool:
    for name in ("keras", "tf_keras"):
        module = sys.modules.get(name)
        model_class = getattr(module, "Model", None) if module is not None else None
        if isinstance(model_class, type) and isinstance(model, model_class):
            return True
    return False


def _is_tf_function(fn: Any) -> bool:
    """A `tf.function` (polymorphic or restored from a SavedModel)."""
    return fn is not None and (hasattr(fn, "get_concrete_function") or hasattr(fn, "concrete_functions"))


def _input_signatures(fn: Any) -> list[tuple] | None:
    """The argument specs the function accepts: its `input_signature`, or those of a restored function's
    concrete functions; None for a tf.function traced on demand."""
    signature = getattr(fn, "input_signature", None)
    if signature is not None:
        return [tuple(signature)]
    concrete = getattr(fn, "concrete_functions", None)
    if concrete:
        return [tuple(c.structured_input_signature[0]) for c in concrete]
    return None


def _arity(fn: Any) -> tensors.Arity | None:
    signatures = _input_signatures(fn)
    if signatures:
        lengths = [len(s) for s in signatures]
        return min(lengths), max(lengths)
    python_function = getattr(fn, "python_function", None)
    return tensors.callable_arity(python_function if python_function is not None else fn)


def _input_arrays(model: Any, method: str, fn: Any, frame: Any) -> list[np.ndarray]:
    arrays = tensors.declared_inputs(model, frame, _arity(fn), f"{type(model).__qualname__}.{method}")
    signatures = [s for s in (_input_signatures(fn) or []) if len(s) == len(arrays)]
    if signatures:  # the function says which dtypes it takes
        return [tensors.cast_array(tensors.fit_rank(a, getattr(s, "shape", None)),
                                   getattr(s, "dtype", None) and s.dtype.as_numpy_dtype, floating_only=False)
                for a, s in zip(arrays, signatures[0])]
    dtype = _variable_float_dtype(model)
    return [tensors.cast_array(a, dtype) for a in arrays]


def _variable_float_dtype(model: Any) -> Any:
    for variable in getattr(model, "variables", None) or ():
        if variable.dtype.is_floating:
            return variable.dtype.as_numpy_dtype
    return np.float32


def _spec(array: np.ndarray) -> Any:
    import tensorflow as tf

    return tf.TensorSpec([None, *array.shape[1:]], tf.as_dtype(array.dtype))


def _ensure_traced(model: Any, method: str, fn: Any, options: dict, qual: str) -> list:
    """Make sure the SavedModel gets a concrete function for `method` that takes any batch size; returns its
    input specs as text, for the metadata."""
    signatures = _input_signatures(fn)
    if signatures is not None:
        return [[repr(s) for s in sig] for sig in signatures]
    sample = options.get("_sample_input_data")
    if sample is not None:
        frame = to_pandas(sample).iloc[:_TRACE_ROWS]
        arrays = _input_arrays(model, method, fn, frame)
        specs = [_spec(a) for a in arrays]
        fn.get_concrete_function(*specs)
        return [[repr(s) for s in specs]]
    count = getattr(fn, "experimental_get_tracing_count", lambda: 0)()
    if not count:
        raise UnsupportedModelError(
            f"{qual}.{method} is a tf.function without an input_signature that was never called, so there is no "
            "graph to save: pass sample_input_data, or give it an input_signature."
        )
    return []
