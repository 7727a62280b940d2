"""Custom models: any Python code with `@inference_api` methods, as `snowflake.ml.model.custom_model`.

A `CustomModel` subclass gets a `ModelContext` holding artifact files (paths) and nested models (any model
type the registry supports). When a version is saved, artifacts are copied into the package and nested
models are saved by their own handlers; on load the class is rebuilt with a new context whose paths point
into the loaded package, so `__init__` must read artifacts through `self.context`, never from fixed paths.

This module is cheap to import: pandas and the signature module are imported only when needed.
"""

from __future__ import annotations

import asyncio
import collections.abc
import datetime
import functools
import inspect
import os
import types
import typing
import warnings
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from jupyter_mreg.errors import InvalidArgumentError, NotFoundError, UnsupportedModelError

if TYPE_CHECKING:
    from jupyter_mreg.model.model_signature import ParamSpec

__all__ = [
    "ContextKeyError",
    "CustomModel",
    "CustomModelStateWarning",
    "MethodRef",
    "ModelContext",
    "ModelRef",
    "get_method_params",
    "inference_api",
    "inference_methods",
    "is_async_method",
    "is_partitioned",
    "lost_state",
    "partitioned_api",
    "partitioned_inference_api",
    "partitioned_methods",
]

F = TypeVar("F", bound=Callable[..., Any])

_INFERENCE_FLAG = "_is_inference_api"  # same attribute names as snowflake-ml-python
_PARTITIONED_FLAG = "_is_partitioned_api"


class ContextKeyError(NotFoundError, KeyError):
    """A name is not in a `ModelContext` (Snowflake raises KeyError here, so this is one too)."""


class CustomModelStateWarning(UserWarning):
    """A custom model being logged has attributes set after `__init__`, which the logged version will lack."""


# --------------------------------------------------------------------------------------------------------
# ModelRef / ModelContext
# --------------------------------------------------------------------------------------------------------


class MethodRef:
    """A method of a nested model: call it like the method, or `await ref.predict.async_run(df)`."""

    def __init__(self, model_ref: ModelRef, method_name: str) -> None:
        self._func = getattr(model_ref.model, method_name)
        self._name = method_name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._func(*args, **kwargs)

    async def async_run(self, *args: Any, **kwargs: Any) -> Any:
        """Await the method if it is async, else run it in a worker thread so the event loop stays free."""
        if inspect.iscoroutinefunction(self._func):
            return await self._func(*args, **kwargs)
        return await asyncio.to_thread(self._func, *args, **kwargs)

    def __repr__(self) -> str:
        return f"MethodRef({self._name!r})"


class ModelRef:
    """A nested model in a `ModelContext`; attribute access reaches the model (`ref.predict(df)`).

    `ref.model` is the raw object, `ref.name` the name it has in the context. Callable attributes come back
    as `MethodRef`s (callable, plus `async_run`); other attributes are returned as they are.
    """

    def __init__(self, name: str, model: Any) -> None:
        self._name = name
        self._model = model

    @property
    def name(self) -> str:
        return self._name

    @property
    def model(self) -> Any:
        return self._model

    def __getattr__(self, attr: str) -> Any:
        # Only reached for names ModelRef itself lacks; dunder/private lookups (pickle, copy) must not recurse.
        if attr.startswith("__") or attr in ("_name", "_model"):
            raise AttributeError(attr)
        model = self.__dict__.get("_model")
        try:
            value = getattr(model, attr)
        except AttributeError:
            raise AttributeError(
                f"Nested model {self.__dict__.get('_name')!r} ({type(model).__module__}."
                f"{type(model).__qualname__}) has no attribute {attr!r}."
            ) from None
        return MethodRef(self, attr) if callable(value) else value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not callable(self._model):
            raise TypeError(f"Nested model {self._name!r} ({type(self._model).__qualname__}) is not callable.")
        return self._model(*args, **kwargs)

    def __repr__(self) -> str:
        return f"ModelRef(name={self._name!r}, model={type(self._model).__module__}.{type(self._model).__qualname__})"


def _is_path(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))


class ModelContext:
    """Artifacts (name → local path) and nested models (name → `ModelRef`) of a custom model.

    Two styles, which can be mixed: `ModelContext(artifacts={"vocab": "vocab.json"}, models={"clf": clf})`
    or keywords `ModelContext(vocab="vocab.json", clf=clf)`, where str/PathLike values are artifacts and
    anything else a model (`artifacts=`/`models=` given a non-dict value are keywords like these, named
    "artifacts"/"models"). A name used twice raises `InvalidArgumentError`. Read back with `ctx["name"]`
    (path str or ModelRef), `ctx.path(name)`, `ctx.model_ref(name)`; an unknown name raises
    `NotFoundError` (also a KeyError) listing the names that exist. Artifacts may be files or folders.
    """

    def __init__(
        self,
        *,
        artifacts: dict[str, str | os.PathLike] | str | os.PathLike | None = None,
        models: dict[str, Any] | Any | None = None,
        **kwargs: Any,
    ) -> None:
        self.artifacts: dict[str, str] = {}
        self.model_refs: dict[str, ModelRef] = {}
        if isinstance(artifacts, dict):
            for name, value in artifacts.items():
                if not _is_path(value):
                    raise InvalidArgumentError(
                        f"ModelContext artifact {name!r} must be a file or folder path (str or os.PathLike), got "
                        f"{type(value).__qualname__}. Put model objects in models={{...}} instead."
                    )
                self._add(name, value)
        if isinstance(models, dict):
            for name, value in models.items():
                self._add(name, value, as_model=True)
        # As in snowflake-ml-python, `artifacts=`/`models=` given something other than a dict is one more
        # keyword entry of that name: a path is an artifact, anything else a model, whichever keyword it used.
        loose = {n: v for n, v in (("artifacts", artifacts), ("models", models))
                 if v is not None and not isinstance(v, dict)}
        for name, value in {**loose, **kwargs}.items():
            self._add(name, value, as_model=not _is_path(value))

    def _add(self, name: Any, value: Any, as_model: bool = False) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"ModelContext names must be non-empty strings, got {name!r}.")
        if name in self.artifacts or name in self.model_refs:
            raise InvalidArgumentError(
                f"Duplicate name {name!r} in ModelContext: each artifact and model needs its own name."
            )
        if as_model:
            self.model_refs[name] = ModelRef(name, value.model if isinstance(value, ModelRef) else value)
        else:
            self.artifacts[name] = os.fspath(value)

    def _names(self) -> str:
        parts = []
        if self.artifacts:
            parts.append("artifacts: " + ", ".join(repr(n) for n in self.artifacts))
        if self.model_refs:
            parts.append("models: " + ", ".join(repr(n) for n in self.model_refs))
        return "; ".join(parts) if parts else "the context is empty"

    def path(self, key: str) -> str:
        """The local path of artifact `key` (inside the loaded package once the model was saved)."""
        if key in self.artifacts:
            return self.artifacts[key]
        hint = f" {key!r} is a model: use context.model_ref({key!r})." if key in self.model_refs else ""
        raise ContextKeyError(f"No artifact named {key!r} in the ModelContext ({self._names()}).{hint}")

    def model_ref(self, name: str) -> ModelRef:
        """The `ModelRef` of nested model `name`."""
        if name in self.model_refs:
            return self.model_refs[name]
        hint = f" {name!r} is an artifact: use context.path({name!r})." if name in self.artifacts else ""
        raise ContextKeyError(f"No model named {name!r} in the ModelContext ({self._names()}).{hint}")

    def __getitem__(self, key: str) -> str | ModelRef:
        if key in self.artifacts:
            return self.artifacts[key]
        if key in self.model_refs:
            return self.model_refs[key]
        raise ContextKeyError(f"No artifact or model named {key!r} in the ModelContext ({self._names()}).")

    def __contains__(self, key: object) -> bool:
        return key in self.artifacts or key in self.model_refs

    def __len__(self) -> int:
        return len(self.artifacts) + len(self.model_refs)

    def __repr__(self) -> str:
        models = {n: type(r.model).__qualname__ for n, r in self.model_refs.items()}
        return f"ModelContext(artifacts={self.artifacts!r}, models={models!r})"


# --------------------------------------------------------------------------------------------------------
# CustomModel
# --------------------------------------------------------------------------------------------------------


class CustomModel:
    """Base class of user-defined models; decorate the callable methods with `@inference_api`.

    Subclasses define `__init__(self, context)` and call `super().__init__(context)`; state must be built
    from `self.context` there, because loading a saved version calls the constructor again (with the same
    other arguments) and a context whose paths point into the package.
    """

    context: ModelContext

    def __new__(cls, *args: Any, **kwargs: Any) -> CustomModel:
        self = super().__new__(cls)
        # The constructor arguments, so a saved model can be rebuilt with the same ones and a new context.
        self.__dict__["_mreg_init_args"] = (args, kwargs)
        return self

    def __init__(self, context: ModelContext | None = None) -> None:
        if context is None:
            context = ModelContext()
        elif not isinstance(context, ModelContext):
            raise InvalidArgumentError(
                f"{type(self).__qualname__}(context=...) expects a ModelContext, got {type(context).__qualname__}. "
                "Build one with ModelContext(artifacts={...}, models={...}) or ModelContext(name=value, ...)."
            )
        self.context = context

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if inspect.isfunction(init) and not getattr(init, _RECORDS_STATE, False):
            cls.__init__ = _recording_state(init)  # type: ignore[method-assign]

    def __getstate__(self) -> dict[str, Any]:
        # A copy or an unpickled instance was not built by a constructor call: its arguments are unknown.
        return {**self.__dict__, "_mreg_init_args": None, _INIT_STATE: None}

    @classmethod
    def _get_inference_methods(cls) -> list[str]:
        """Names of the `@inference_api`/`@partitioned_api` methods, in definition order (bases first)."""
        return _method_names(cls)

    @classmethod
    def _get_partitioned_methods(cls) -> list[str]:
        """Names of the `@partitioned_api` methods, in definition order."""
        return partitioned_methods(cls)


_INIT_STATE = "_mreg_init_state"
_RECORDS_STATE = "_mreg_records_state"
_ATOMS = (int, float, complex, str, bytes, bool, type(None))


def _fingerprints(model: CustomModel) -> dict[str, Any]:
    """Each attribute's value when it is a number/str/bytes/None (compared by value), else its identity:
    enough to tell what was set or replaced later, without keeping replaced objects alive."""
    return {k: (v,) if type(v) in _ATOMS else id(v) for k, v in vars(model).items() if not k.startswith("_mreg_")}


def _recording_state(init: Callable[..., None]) -> Callable[..., None]:
    """`init`, also noting the instance's attributes when it is the outermost constructor (the class's own)."""

    @functools.wraps(init)
    def __init__(self: CustomModel, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if type(self).__init__ is __init__:
            self.__dict__[_INIT_STATE] = _fingerprints(self)

    setattr(__init__, _RECORDS_STATE, True)
    return __init__


CustomModel.__init__ = _recording_state(CustomModel.__init__)  # type: ignore[method-assign]


def lost_state(model: CustomModel) -> list[str]:
    """Attributes set or replaced after the constructor returned (the context aside): a model rebuilt by
    calling its class again lacks them. Empty when unknown (a copy, or a constructor added after the class
    was made, as by @dataclass)."""
    before = model.__dict__.get(_INIT_STATE)
    if before is None:
        return []
    return [k for k, v in _fingerprints(model).items() if k != "context" and (k not in before or before[k] != v)]


def _as_class(cls_or_obj: Any) -> type:
    return cls_or_obj if isinstance(cls_or_obj, type) else type(cls_or_obj)


def _method_names(cls: type) -> list[str]:
    seen: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        for name in vars(klass):
            seen.setdefault(name, None)
    out = []
    for name in seen:
        try:
            attr = inspect.getattr_static(cls, name)
        except AttributeError:
            continue
        if isinstance(attr, (staticmethod, classmethod)):
            continue
        if inspect.isfunction(attr) and getattr(attr, _INFERENCE_FLAG, False):
            out.append(name)
    return out


def inference_methods(cls_or_obj: Any) -> list[str]:
    """Names of the decorated (inference and partitioned) methods of a CustomModel class or instance."""
    return _method_names(_as_class(cls_or_obj))


def partitioned_methods(cls_or_obj: Any) -> list[str]:
    """Names of the `@partitioned_api` methods of a CustomModel class or instance."""
    return [m for m in inference_methods(cls_or_obj) if is_partitioned(cls_or_obj, m)]


def _decorated(cls_or_obj: Any, method: str) -> Callable[..., Any]:
    cls = _as_class(cls_or_obj)
    func = inspect.getattr_static(cls, method, None)
    if not (inspect.isfunction(func) and getattr(func, _INFERENCE_FLAG, False)):
        raise NotFoundError(
            f"{cls.__qualname__}.{method} is not an inference method: the methods decorated with "
            f"@inference_api or @partitioned_api are {inference_methods(cls) or 'none'}."
        )
    return func


def is_partitioned(cls_or_obj: Any, method: str) -> bool:
    """True if `method` is decorated with `@partitioned_api` (a TABLE_FUNCTION run once per partition)."""
    return bool(getattr(_decorated(cls_or_obj, method), _PARTITIONED_FLAG, False))


def is_async_method(cls_or_obj: Any, method: str) -> bool:
    """True if `method` is an `async def` inference method."""
    return inspect.iscoroutinefunction(_decorated(cls_or_obj, method))


# --------------------------------------------------------------------------------------------------------
# Decorators and their checks
# --------------------------------------------------------------------------------------------------------

_PARAM_TYPES: dict[type, str] = {bool: "BOOL", int: "INT64", float: "DOUBLE", str: "STRING", bytes: "BYTES",
                                 datetime.datetime: "TIMESTAMP_NTZ", dict: "OBJECT"}
_TYPE_NAMES = {t.__name__: t for t in _PARAM_TYPES} | {"datetime.datetime": datetime.datetime}
_DATAFRAME_NAMES = {"pd.DataFrame", "pandas.DataFrame", "DataFrame", "pandas.core.frame.DataFrame"}


class _Unresolved:
    """An annotation string that could not be evaluated (e.g. a name local to a function)."""

    def __init__(self, text: str) -> None:
        self.text = text.strip().strip("'\"")


def _annotations(func: Callable[..., Any]) -> dict[str, Any]:
    raw = dict(getattr(func, "__annotations__", {}) or {})
    try:
        hints = typing.get_type_hints(func)
    except Exception:
        hints = {}
    return {k: hints.get(k, _Unresolved(v) if isinstance(v, str) else v) for k, v in raw.items()}


def _is_dataframe(ann: Any) -> bool:
    if isinstance(ann, _Unresolved):
        return ann.text in _DATAFRAME_NAMES
    return getattr(ann, "__name__", None) == "DataFrame" and getattr(ann, "__module__", "").startswith("pandas")


def _is_dataframe_return(ann: Any) -> bool:
    if _is_dataframe(ann):
        return True
    if isinstance(ann, _Unresolved):
        text = ann.text.replace(" ", "")
        return any(text.endswith(f",{d}]") or text.endswith(f"[{d}]") for d in _DATAFRAME_NAMES) and (
            "Coroutine" in text or "Awaitable" in text
        )
    origin = typing.get_origin(ann)
    if origin in (collections.abc.Coroutine, collections.abc.Awaitable):
        args = typing.get_args(ann)
        return bool(args) and _is_dataframe(args[-1])
    return False


def _param_type(ann: Any) -> tuple[type, int] | None:
    """(scalar type or dict, list depth) for a supported parameter annotation (Optional[...] allowed), else None."""
    if isinstance(ann, _Unresolved):
        text = ann.text.replace(" ", "")
        for prefix in ("Optional[", "typing.Optional["):
            if text.startswith(prefix) and text.endswith("]"):
                text = text[len(prefix):-1]
        if text.endswith("|None") or text.startswith("None|"):
            text = text.replace("|None", "").replace("None|", "")
        depth = 0
        while True:
            prefix = next((p for p in ("list[", "List[", "typing.List[") if text.startswith(p)), None)
            if prefix is None or not text.endswith("]"):
                break
            text, depth = text[len(prefix):-1], depth + 1
        base = _TYPE_NAMES.get(text)
        return (base, depth) if base else None
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        if len(args) != 1 or len(typing.get_args(ann)) != 2:
            return None
        ann = args[0]
    depth = 0
    while typing.get_origin(ann) is list:
        args = typing.get_args(ann)
        if len(args) != 1:
            return None
        ann, depth = args[0], depth + 1
    if typing.get_origin(ann) is dict:  # dict[str, Any]: any dict, like a bare dict
        ann = dict
    return (ann, depth) if ann in _PARAM_TYPES else None


def _default_fits(value: Any, base: type, depth: int) -> bool:
    """Whether a default is a value of the annotation; None always is, as a ParamSpec takes it for "no default"."""
    if value is None:
        return True
    if depth:
        return isinstance(value, (list, tuple)) and all(_default_fits(v, base, depth - 1) for v in value)
    if base is bool:
        return isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, base)


def _fail(func: Callable[..., Any], problem: str) -> UnsupportedModelError:
    name = getattr(func, "__name__", "predict")
    qual = getattr(func, "__qualname__", name)
    prefix = "async def" if inspect.iscoroutinefunction(func) else "def"
    return UnsupportedModelError(
        f"Inference method {qual}: {problem}. An inference method takes one pandas DataFrame and returns one; "
        f"extra parameters must be keyword-only, annotated and have a default:\n"
        f"    {prefix} {name}(self, df: pd.DataFrame, *, temperature: float = 1.0) -> pd.DataFrame"
    )


def _validate_inference_function(func: Any) -> None:
    """Raise `UnsupportedModelError` (a TypeError) unless `func` has the inference-method form."""
    if not callable(func) or not inspect.isfunction(inspect.unwrap(func)):
        raise _fail(func, f"expected a function defined in the class body, got {type(func).__qualname__}")
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    for p in params:
        if p.kind is p.VAR_KEYWORD:
            raise _fail(func, f"**{p.name} is not supported: declare each parameter by name")
        if p.kind is p.VAR_POSITIONAL:
            raise _fail(func, f"*{p.name} is not supported")
    if len(positional) < 2:
        raise _fail(func, "it must take self and a DataFrame argument")
    if len(positional) > 2:
        extra = ", ".join(p.name for p in positional[2:])
        raise _fail(func, f"extra positional parameter(s) {extra}: put them after '*' to make them keyword-only")
    anns = _annotations(func)
    df_param = positional[1]
    if df_param.name not in anns or "return" not in anns:
        missing = [n for n in (df_param.name, "return") if n not in anns]
        raise _fail(func, f"missing type annotation for {' and '.join(missing)}")
    if not _is_dataframe(anns[df_param.name]):
        raise _fail(func, f"argument {df_param.name!r} must be annotated pd.DataFrame")
    if not _is_dataframe_return(anns["return"]):
        raise _fail(func, "the return type must be annotated pd.DataFrame")
    for p in params[2:]:
        if p.name not in anns:
            raise _fail(func, f"parameter {p.name!r} has no type annotation")
        if p.default is inspect.Parameter.empty:
            raise _fail(func, f"parameter {p.name!r} has no default value")
        if _param_type(anns[p.name]) is None:
            raise _fail(
                func,
                f"parameter {p.name!r} has unsupported type {_ann_text(anns[p.name])}; use int, float, str, bool, "
                "bytes, datetime, dict, a (nested) list of one of them, or Optional[...] of those",
            )
    # Whether each default fits its type is checked when the model is logged (`get_method_params`), as in
    # Snowflake: a class with a wrong default can still be defined and instantiated.


def _ann_text(ann: Any) -> str:
    if isinstance(ann, _Unresolved):
        return ann.text
    return ann.__name__ if isinstance(ann, type) else str(ann).replace("typing.", "")


def inference_api(func: F) -> F:
    """Mark `func` as a method callable through the registry (a SQL FUNCTION: one output row per input row).

    Raises `UnsupportedModelError` (a TypeError) at class definition if the method does not have the form
    `(self, df: pd.DataFrame, *, name: type = default, ...) -> pd.DataFrame` (async allowed).
    """
    _validate_inference_function(func)
    func.__dict__[_INFERENCE_FLAG] = True
    return func


def partitioned_api(func: F) -> F:
    """Mark `func` as partitioned: called once per partition with the whole partition, any number of rows
    out (a TABLE_FUNCTION with `is_partitioned=True`)."""
    _validate_inference_function(func)
    func.__dict__[_INFERENCE_FLAG] = True
    func.__dict__[_PARTITIONED_FLAG] = True
    return func


def partitioned_inference_api(func: F) -> F:
    """Deprecated alias of `partitioned_api`."""
    warnings.warn(
        "custom_model.partitioned_inference_api is deprecated and will be removed in a future release; "
        "use custom_model.partitioned_api instead.",
        DeprecationWarning,
        stacklevel=2,
    )
    return partitioned_api(func)


def get_method_params(cls_or_obj: Any, method: str) -> list[ParamSpec]:
    """The keyword-only parameters of an inference method as `ParamSpec`s (name, dtype, default, shape).

    int → INT64, float → DOUBLE, str → STRING, bool → BOOL, bytes → BYTES, datetime → TIMESTAMP_NTZ,
    dict → OBJECT (passed as given); `list[T]` gives shape (-1,), `list[list[T]]` (-1, -1). `None` is
    always a valid default. Raises `InvalidArgumentError` (a ValueError, as Snowflake raises when logging)
    for a default that is not of its annotated type.
    """
    # deferred: model_signature imports numpy and pandas, and this module (jupyter_mreg.custom_model, what a
    # notebook imports to define a model class) stays cheap to import, as its docstring promises.
    from jupyter_mreg.model.model_signature import DataType, ParamSpec

    func = _decorated(cls_or_obj, method)
    anns = _annotations(func)
    specs = []
    for p in list(inspect.signature(func).parameters.values())[2:]:
        kind = _param_type(anns[p.name])
        assert kind is not None  # checked by the decorator
        base, depth = kind
        if not _default_fits(p.default, base, depth):
            raise InvalidArgumentError(
                f"Inference method {func.__qualname__}: the default {p.default!r} ({type(p.default).__name__}) of "
                f"parameter {p.name!r} is not a {_ann_text(anns[p.name])}. Change the default or the annotation."
            )
        specs.append(
            ParamSpec(
                name=p.name,
                dtype=DataType[_PARAM_TYPES[base]],
                default_value=p.default,
                shape=(-1,) * depth or None,
            )
        )
    return specs
