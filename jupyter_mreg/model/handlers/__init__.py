"""Framework handlers: find the one for a model object, or by the `model_type` a version recorded.

To add a framework, write `handlers/<framework>.py` with a `ModelHandler` subclass named `Handler` and add
its module name to `_MODULES`. Order matters: the first handler whose `can_handle` is true wins, so more
specific handlers come first and `custom` (which accepts any `CustomModel`) stays ahead of generic ones.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from jupyter_mreg.errors import UnsupportedModelError
from jupyter_mreg.model.handlers.base import ModelHandler

# Wrappers before what they wrap: a SentenceTransformer is a torch Module, an XGBClassifier or LGBMClassifier
# is a scikit-learn estimator, a Keras model under the torch backend is a torch Module.
_MODULES = ("custom", "mlflow", "sentence_transformers", "huggingface", "xgboost", "lightgbm", "catboost",
            "prophet", "keras", "tensorflow", "pytorch", "sklearn")

_loaded: list[type[ModelHandler]] | None = None


def all_handlers() -> list[type[ModelHandler]]:
    """Every handler class, in priority order (imported on first use; frameworks are not imported)."""
    global _loaded
    if _loaded is None:
        _loaded = [importlib.import_module(f"{__name__}.{m}").Handler for m in _MODULES]
    return _loaded


def find_handler(model: Any) -> type[ModelHandler]:
    """The handler that accepts `model`, or an `UnsupportedModelError` listing what is supported."""
    for handler in all_handlers():
        if handler.can_handle(model):
            return handler
    supported = ", ".join(h.name for h in all_handlers())
    raise UnsupportedModelError(
        f"Model of type {type(model).__module__}.{type(model).__qualname__} is not supported: expected one of "
        f"the supported model types ({supported}). Wrap it in a jupyter_mreg.model.custom_model.CustomModel "
        "to log any Python object."
    )


def get_handler(model_type: str) -> type[ModelHandler]:
    """The handler recorded as a version's `model_type`."""
    for handler in all_handlers():
        if handler.name == model_type:
            return handler
    raise UnsupportedModelError(
        f"This version was saved with model_type {model_type!r}, which this jupyter_mreg does not know: "
        "upgrade jupyter_mreg or install the extra that provides it."
    )


def save_any(model: Any, path: Path, options: dict | None = None) -> dict:
    """Save any supported model into the empty folder `path`; return `{"model_type", "handler"}` to
    pass to `load_any`. Used for models nested in another (a CustomModel's context)."""
    handler = find_handler(model)
    path.mkdir(parents=True, exist_ok=True)
    return {"model_type": handler.name, "handler": handler.save(model, path, dict(options or {}))}


def load_any(path: Path, meta: dict, options: dict | None = None) -> Any:
    """Load a model saved by `save_any`."""
    return get_handler(meta["model_type"]).load(path, meta["handler"], dict(options or {}))
