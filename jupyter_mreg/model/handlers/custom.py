"""Handler for `CustomModel` subclasses: artifacts copied, nested models saved by their own handlers.

Package layout written by `save` (all paths relative to the model folder):

    model_class.pkl            the class, cloudpickled (by value when it lives in __main__ or a local .py)
    init_args.pkl              constructor arguments, context replaced by a placeholder   ("init" mode)
    model_instance.pkl         the instance with its context detached                     ("instance" mode)
    artifacts/<name>/<base>    each artifact file or folder
    models/<name>/             each nested model, written by `save_any`

Loading builds a `ModelContext` pointing into the loaded folder, then calls the class again with the saved
constructor arguments ("init" mode, the normal case: `__init__` re-reads artifacts from the new paths).
Only when the constructor cannot be replayed (its arguments were not recorded, or could not be pickled, or
the context was not one of them) is the pickled instance used, with the new context attached.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import inspect
import io
import json
import os
import pickle
import re
import shutil
import sys
import types
from pathlib import Path, PurePath
from typing import Any, ClassVar, Iterable

from jupyter_mreg.errors import EnvironmentMismatchError, InvalidArgumentError, UnsupportedModelError
from jupyter_mreg.model.custom_model import (CustomModel, CustomModelStateWarning, ModelContext, inference_methods,
                                             is_async_method, is_partitioned, lost_state)
from jupyter_mreg.model.environment.local_modules import class_code_modules, local_code_modules
from jupyter_mreg.model.handlers import find_handler, load_any, save_any
from jupyter_mreg.model.handlers.base import ModelHandler
from jupyter_mreg.model.packaging.pickling import pickled_by_value
from jupyter_mreg.model.signatures.messages import warn

CLASS_FILE = "model_class.pkl"
INIT_ARGS_FILE = "init_args.pkl"
INSTANCE_FILE = "model_instance.pkl"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


class Handler(ModelHandler):
    """`CustomModel` subclasses; every `@inference_api` / `@partitioned_api` method is a target method."""

    name: ClassVar[str] = "custom"
    extra_options: ClassVar[frozenset[str]] = frozenset({"_by_value_modules"})

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        return isinstance(model, CustomModel)

    @classmethod
    def target_methods(cls, model: Any, options: dict) -> list[str]:
        available = inference_methods(model)
        qual = type(model).__qualname__
        if not available:
            raise InvalidArgumentError(
                f"Custom model {qual} has no inference method: decorate at least one method with "
                "@custom_model.inference_api (or @custom_model.partitioned_api)."
            )
        wanted = options.get("target_methods")
        if wanted is None:
            return available
        if isinstance(wanted, str):
            wanted = [wanted]
        unknown = [m for m in wanted if m not in available]
        if unknown:
            raise InvalidArgumentError(
                f"target_methods {unknown} of custom model {qual} are not inference methods: the methods "
                f"decorated with @inference_api/@partitioned_api are {available}. Decorate the method, or "
                "leave target_methods out to expose all of them."
            )
        return list(dict.fromkeys(wanted))

    @classmethod
    def function_info(cls, model: Any, method: str) -> dict:
        if is_partitioned(model, method):
            return {"function_type": "TABLE_FUNCTION", "is_partitioned": True}
        return {"function_type": "FUNCTION", "is_partitioned": False}

    @classmethod
    def modules(cls, model: Any) -> list[str]:
        names = [n.split(".")[0] for n in class_code_modules(type(model))]
        context = getattr(model, "context", None)
        for ref in getattr(context, "model_refs", {}).values():
            names.extend(find_handler(ref.model).modules(ref.model))
        return [n for n in dict.fromkeys(names) if n not in ("__main__", "builtins")]

    # ---------------------------------------------------------------------------------------------------
    # save / load
    # ---------------------------------------------------------------------------------------------------

    @classmethod
    def save(cls, model: Any, path: Path, options: dict) -> dict:
        """Write the package; returns JSON-able metadata (see the module docstring for the layout):

        `{"class": "mod.Qual", "class_file", "construct": "init"|"instance", "init_args_file"|"instance_file",
        "by_value_modules": [...], "artifacts": {name: {"path": rel, "is_dir": bool}},
        "models": {name: {"path": rel, "model_type", "handler"}}, "methods": {name: {"partitioned", "async"}}}`
        """
        import cloudpickle

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        klass = type(model)
        qual = f"{klass.__module__}.{klass.__qualname__}"
        context = getattr(model, "context", None)
        if context is None:
            context = ModelContext()
        elif not isinstance(context, ModelContext):
            raise InvalidArgumentError(
                f"Custom model {qual} has a context of type {type(context).__qualname__}: it must be a ModelContext."
            )

        artifacts_meta = _save_artifacts(context, path, qual)
        models_meta = _save_models(context, path, options, qual)
        by_value = _by_value_modules(klass, options)

        meta: dict[str, Any] = {
            "class": qual,
            "class_file": CLASS_FILE,
            "by_value_modules": by_value,
            "artifacts": artifacts_meta,
            "models": models_meta,
            "methods": {
                m: {"partitioned": is_partitioned(klass, m), "async": is_async_method(klass, m)}
                for m in inference_methods(klass)
            },
        }
        with pickled_by_value(by_value):
            try:
                (path / CLASS_FILE).write_bytes(cloudpickle.dumps(klass))
            except Exception as exc:
                raise UnsupportedModelError(f"The class of custom model {qual} cannot be pickled: {exc}") from exc

            init_args = _replayable_init_args(model, context)
            init_error: Exception | None = None
            if init_args is not None:
                try:
                    (path / INIT_ARGS_FILE).write_bytes(_dumps(init_args, context))
                except Exception as exc:  # fall back to pickling the instance
                    init_error = exc
                    (path / INIT_ARGS_FILE).unlink(missing_ok=True)
                else:
                    meta.update(construct="init", init_args_file=INIT_ARGS_FILE)
                    _warn_lost_state(model, klass)
                    return meta
            try:
                (path / INSTANCE_FILE).write_bytes(_dumps(model, context))
            except Exception as exc:
                why = (
                    f"its constructor arguments cannot be pickled ({init_error})"
                    if init_error
                    else "it cannot be rebuilt by calling the class with its context"
                )
                raise UnsupportedModelError(
                    f"Custom model {qual} cannot be saved: {why}, and the instance itself cannot be pickled "
                    f"({type(exc).__name__}: {exc}). Give the class an __init__(self, context) that builds its "
                    "state from context artifacts and models."
                ) from exc
            meta.update(construct="instance", instance_file=INSTANCE_FILE)
            return meta

    @classmethod
    def load(cls, path: Path, meta: dict, options: dict) -> Any:
        """Rebuild the model: a new ModelContext over the loaded folder, then the class called again."""
        path = Path(path)
        klass = _load_class(path / meta.get("class_file", CLASS_FILE), meta)
        artifacts = {name: str(path / a["path"]) for name, a in meta.get("artifacts", {}).items()}
        sub_options = {k: v for k, v in options.items() if k != "target_methods"}
        models = {
            name: load_any(path / m["path"], {"model_type": m["model_type"], "handler": m["handler"]}, sub_options)
            for name, m in meta.get("models", {}).items()
        }
        context = ModelContext(artifacts=artifacts, models=models)
        if meta.get("construct", "init") == "init":
            args, kwargs = _loads(path / meta.get("init_args_file", INIT_ARGS_FILE), context)
            return klass(*args, **kwargs)
        model = _loads(path / meta.get("instance_file", INSTANCE_FILE), context)
        model.context = context
        model.__dict__["_mreg_init_args"] = None
        return model

    @classmethod
    def invoke(cls, model: Any, method: str, data: Any, params: dict) -> Any:
        """Call `method(data, **params)`; async methods are run to completion (in a worker thread when an
        event loop is already running in this thread, as in Jupyter)."""
        result = getattr(model, method)(data, **(params or {}))
        if inspect.isawaitable(result):
            return _run_awaitable(result)
        return result


# -------------------------------------------------------------------------------------------------------
# helpers
# -------------------------------------------------------------------------------------------------------


def _warn_lost_state(model: Any, klass: type) -> None:
    """Warn that attributes set after `__init__` will be missing: loading calls the class again."""
    lost = lost_state(model)
    if lost:
        names = ", ".join(lost)
        warn(
            f"{klass.__qualname__} has attribute(s) {names} set after __init__, which the logged version will not "
            f"have: loading it calls {klass.__qualname__}(context) again, as Snowflake does. Set them in __init__ "
            f"instead, from a constructor argument ({klass.__qualname__}(context, {lost[0]}=...) is replayed on "
            "load) or from a file passed in the ModelContext.",
            CustomModelStateWarning,
            outside="jupyter_mreg.",
        )


def _run_awaitable(awaitable: Any) -> Any:
    async def wait() -> Any:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wait())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="mreg-async") as pool:
        return pool.submit(asyncio.run, wait()).result()


def _folder_names(names: Iterable[str]) -> dict[str, str]:
    """A distinct, filesystem-safe folder name per context name (the name itself when it is safe)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for i, name in enumerate(names):
        folder = name if _SAFE_NAME.match(name) and name.lower() not in used else f"_{i}"
        while folder.lower() in used:
            folder = f"_{folder}"
        used.add(folder.lower())
        out[name] = folder
    return out


def _save_artifacts(context: Any, path: Path, qual: str) -> dict[str, dict]:
    meta: dict[str, dict] = {}
    folders = _folder_names(context.artifacts)
    for name, src_text in context.artifacts.items():
        src = Path(src_text).expanduser()
        if not src.exists():
            raise InvalidArgumentError(
                f"Artifact {name!r} of custom model {qual} points to {src_text!r}, which does not exist "
                f"(current directory: {os.getcwd()}). Pass an existing file or folder path in the ModelContext."
            )
        base = src.resolve().name or "artifact"
        rel = Path("artifacts") / folders[name] / base
        dest = path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest)
        else:
            shutil.copy2(src, dest)
        meta[name] = {"path": rel.as_posix(), "is_dir": src.is_dir()}
    return meta


def _save_models(context: Any, path: Path, options: dict, qual: str) -> dict[str, dict]:
    meta: dict[str, dict] = {}
    folders = _folder_names(context.model_refs)
    sub_options = {k: v for k, v in options.items() if k == "_by_value_modules"}
    for name, ref in context.model_refs.items():
        rel = Path("models") / folders[name]
        try:
            saved = save_any(ref.model, path / rel, sub_options)
        except UnsupportedModelError as exc:
            raise UnsupportedModelError(
                f"Nested model {name!r} of custom model {qual} cannot be saved: {exc} Alternatively save it to "
                "a file yourself and pass the file as an artifact."
            ) from exc
        meta[name] = {"path": rel.as_posix(), **saved}
    try:
        json.dumps(meta)
    except TypeError as exc:
        raise UnsupportedModelError(
            f"A nested model handler of {qual} returned metadata that is not JSON: {exc}"
        ) from exc
    return meta


def _replayable_init_args(model: Any, context: Any) -> tuple[tuple, dict] | None:
    """The constructor arguments to call the class with again on load, or None if that would be wrong."""
    recorded = model.__dict__.get("_mreg_init_args", None) if hasattr(model, "__dict__") else None
    if recorded is not None:
        try:  # a subclass's own __getstate__/__new__ may leave arguments that do not fit the constructor
            inspect.signature(type(model)).bind(*recorded[0], **recorded[1])
        except (TypeError, ValueError):
            recorded = None
    if recorded is None:
        try:
            inspect.signature(type(model)).bind(context)
        except (TypeError, ValueError):
            return None
        return ((context,), {})
    args, kwargs = recorded
    passes_context = any(a is context for a in args) or any(v is context for v in kwargs.values())
    if not passes_context and len(context) > 0:
        # The constructor built its own context (from fixed paths, or it was replaced later): replaying it
        # would point at the original files, so keep the instance and re-attach a new context instead.
        return None
    return (tuple(args), dict(kwargs))


class _Pickler:
    """cloudpickle with the context, its model refs, nested models and artifact paths as placeholders."""

    @staticmethod
    def make(file: io.BytesIO, context: Any) -> Any:
        import cloudpickle

        ids: dict[int, tuple] = {id(context): ("context",)}
        for name, ref in context.model_refs.items():
            ids.setdefault(id(ref), ("model_ref", name))
            ids.setdefault(id(ref.model), ("model", name))
        paths: dict[str, str] = {}
        for name, p in context.artifacts.items():
            paths.setdefault(p, name)
            paths.setdefault(str(Path(p).expanduser().resolve()), name)
        keep_alive = [context]  # ids are only meaningful while the objects live

        class P(cloudpickle.Pickler):
            def persistent_id(self, obj: Any) -> Any:
                pid = ids.get(id(obj))
                if pid is not None:
                    return pid
                if type(obj) is str and obj in paths:
                    return ("artifact", paths[obj])
                if isinstance(obj, PurePath) and str(obj) in paths:
                    return ("artifact_path", paths[str(obj)])
                return None

        pickler = P(file, protocol=pickle.HIGHEST_PROTOCOL)
        pickler._keep_alive = keep_alive  # type: ignore[attr-defined]
        return pickler


def _dumps(obj: Any, context: Any) -> bytes:
    buf = io.BytesIO()
    _Pickler.make(buf, context).dump(obj)
    return buf.getvalue()


def _loads(file: Path, context: Any) -> Any:
    class U(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            kind, *rest = pid
            if kind == "context":
                return context
            if kind == "model_ref":
                return context.model_refs[rest[0]]
            if kind == "model":
                return context.model_refs[rest[0]].model
            if kind == "artifact":
                return context.artifacts[rest[0]]
            if kind == "artifact_path":
                return Path(context.artifacts[rest[0]])
            raise pickle.UnpicklingError(f"unknown placeholder {pid!r} in {file}")

    with open(file, "rb") as f:
        return U(f).load()


def _load_class(file: Path, meta: dict) -> type:
    qual = meta.get("class", "?")
    try:
        with open(file, "rb") as f:
            return pickle.load(f)
    except (ModuleNotFoundError, AttributeError) as exc:
        module = getattr(exc, "name", None) or qual.rsplit(".", 1)[0]
        raise EnvironmentMismatchError(
            f"Custom model class {qual} was saved by reference to its module, and {module!r} cannot be "
            f"imported here ({type(exc).__name__}: {exc}). Install that module in this environment, or log the "
            "model again with the module in `ext_modules` so its code is stored in the version."
        ) from exc


# --- the code a class uses, and which of it to pickle by value ------------------------------------------


def _by_value_modules(klass: type, options: dict) -> list[str]:
    """Top-level names of the local modules to pickle by value: the class's (and its bases') module, the
    local modules its methods use, and any `options["_by_value_modules"]` (module objects or names)."""
    out = local_code_modules([klass])
    for m in options.get("_by_value_modules") or ():
        name = m.__name__ if isinstance(m, types.ModuleType) else str(m)
        if name not in sys.modules:
            try:
                importlib.import_module(name)
            except ImportError as exc:
                raise InvalidArgumentError(f"ext_modules entry {name!r} cannot be imported: {exc}") from exc
        out.append(name)
    return list(dict.fromkeys(out))
