"""The contract every framework handler follows, so generic code never branches on framework.

A handler is a stateless class: every method is a classmethod. Adding a framework means one new module
in this folder with a `ModelHandler` subclass, and one line in `handlers/__init__.py`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar

from jupyter_mreg.errors import EnvironmentMismatchError
from jupyter_mreg.model.task import Task

_scratch_parent: ContextVar[str | None] = ContextVar("jupyter_mreg_scratch_parent", default=None)


@contextmanager
def scratch_in(folder: str | os.PathLike[str]) -> Iterator[None]:
    """Inside this block, handlers make the temporary folders they need while saving a model (an MLflow
    model fetched or written again) in `folder` instead of the system's temporary folder: for a caller
    that owns `folder` and removes it, also after a crash (log_model's staging folder)."""
    token = _scratch_parent.set(os.fspath(folder))
    try:
        yield
    finally:
        _scratch_parent.reset(token)


def scratch_parent() -> str | None:
    """Where a handler makes a temporary folder (`tempfile`'s `dir=`): the folder of the enclosing
    `scratch_in`, else None, the system's temporary folder."""
    return _scratch_parent.get()


class ModelHandler:
    """Save, load and call the models of one framework."""

    name: ClassVar[str] = ""  # recorded as the version's `model_type`
    default_target_methods: ClassVar[tuple[str, ...]] = ()
    extra_options: ClassVar[frozenset[str]] = frozenset()  # log option keys this handler understands
    load_options: ClassVar[frozenset[str]] = frozenset()  # `load(options=...)` keys beyond device/use_gpu
    # Explainability (`model/explain.py`): the methods whose inputs `explain` takes, the first one logged wins
    # (Snowflake's order); empty when this framework cannot be explained.
    explain_methods: ClassVar[tuple[str, ...]] = ()
    explain_needs_background: ClassVar[bool] = False  # explanations compare with sample_input_data (kept)

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        """True if this handler accepts `model`. Must not import the framework unless it is already
        imported (check `sys.modules`), so `import jupyter_mreg` stays fast."""
        raise NotImplementedError

    @classmethod
    def target_methods(cls, model: Any, options: dict) -> list[str]:
        """The methods to expose: `options["target_methods"]` if given, else the defaults `model` has."""
        wanted = options.get("target_methods")
        if wanted is not None:
            return [wanted] if isinstance(wanted, str) else list(wanted)
        # Asked of the instance: a method may be hidden per object (sklearn's `available_if` on pipelines).
        return [m for m in cls.default_target_methods if has_method(model, m)]

    @classmethod
    def exposes(cls, model: Any, method: str) -> bool:
        """True if `model` can run `method` (a handler for models given by reference overrides this)."""
        return has_method(model, method)

    @classmethod
    def known_signatures(cls, model: Any, methods: list[str], options: dict) -> dict | None:
        """`{method: ModelSignature}` the model defines itself (a pipeline's task, an MLmodel file), used
        instead of inferring from `sample_input_data`; None when the model does not say."""
        return None

    @classmethod
    def missing_signature_hint(cls, model: Any) -> str:
        """A sentence added to the error raised when `known_signatures` is None and neither `signatures` nor
        `sample_input_data` was given: why this model has no signature, and what to pass."""
        return ""

    @classmethod
    def declared_requirements(cls, model: Any, options: dict) -> list[str]:
        """pip requirements the model declares itself (an MLflow model's requirements.txt), recorded as the
        version's declared dependencies next to the user's `pip_requirements` (the user's win for a package
        named in both)."""
        return []

    @classmethod
    def gpu_available(cls) -> bool:
        """True if this framework sees a GPU in this process (asked only when a GPU load is requested)."""
        return False

    @classmethod
    def infer_task(cls, model: Any) -> Task:
        return Task.UNKNOWN

    @classmethod
    def modules(cls, model: Any) -> list[str]:
        """Top-level module names the model's code comes from, for environment capture."""
        return [type(model).__module__.split(".")[0]]

    @classmethod
    def function_info(cls, model: Any, method: str) -> dict:
        """`{"function_type": "FUNCTION" | "TABLE_FUNCTION", "is_partitioned": bool}` for a method."""
        return {"function_type": "FUNCTION", "is_partitioned": False}

    @classmethod
    def save(cls, model: Any, path: Path, options: dict) -> dict:
        """Write the model's files into the empty folder `path`; return JSON-able handler metadata."""
        raise NotImplementedError

    @classmethod
    def load(cls, path: Path, meta: dict, options: dict) -> Any:
        """Rebuild the original object from the folder written by `save` and its metadata. `options` are the
        caller's load options, checked, with `options["device"]` always set ("cpu", "cuda", "cuda:1", ...)."""
        raise NotImplementedError

    @classmethod
    def invoke(cls, model: Any, method: str, data: Any, params: dict) -> Any:
        """Call `method` on a validated pandas DataFrame; the result is formatted by the caller."""
        return getattr(model, method)(data, **params)

    @classmethod
    def explained_features(cls, model: Any, names: list[str]) -> list[str]:
        """The features `explanations` gives values for, from the explained method's input names (a
        pipeline's transformed features); asked only of handlers with `explain_methods`."""
        return names

    @classmethod
    def explanations(cls, model: Any, data: Any, background: Any) -> Any:
        """SHAP values of `model` on the validated DataFrame `data`, (rows, features) or (rows, features,
        classes), by `explain.tree_shap` or `explain.model_shap`. `background` is the stored sample when
        `explain_needs_background`, else None."""
        raise NotImplementedError


def has_method(model: Any, method: str) -> bool:
    """True if `model.<method>` is callable; False also when reading the attribute raises anything."""
    try:
        return callable(getattr(model, method, None))
    except Exception:  # a property-like attribute that raises something other than AttributeError
        return False


def import_recorded_class(meta: dict, framework: str) -> type:
    """The class a handler recorded at save time as `meta["module"]` + `meta["qualname"]` (a
    ModuleNotFoundError says which module is missing; a class gone from its module is an
    `EnvironmentMismatchError` with the fix)."""
    import importlib

    obj: Any = importlib.import_module(meta["module"])
    for part in meta["qualname"].split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise EnvironmentMismatchError(
                f"Loading this {framework} model needs the class {meta['class']}, which module {meta['module']!r} "
                "does not define here (it was renamed, moved, or defined inside a function). Restore it, or log "
                "the model again with code_paths=[<the file defining it>]."
            )
    return obj
