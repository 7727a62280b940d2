"""What a caller may pass to `save_package` besides the model, checked and normalised: the `options` dict
(common and per-method options, plus each handler's `extra_options`), `task`, `target_platforms` and
`ext_modules`. Every mistake raises `InvalidArgumentError` naming the option and what it accepts."""

from __future__ import annotations

import sys
import types
import warnings
from enum import Enum
from typing import Any

from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.model.environment.requirements import parse_requirement
from jupyter_mreg.model.packaging.json_values import jsonable
from jupyter_mreg.model.packaging.manifest import MethodInfo
from jupyter_mreg.model.task import Task

COMMON_OPTIONS = frozenset({
    "target_methods", "relax_version", "function_type", "method_options", "embed_local_ml_library",
    "enable_explainability", "save_location", "capture_sample_input_data", "model_init_once", "volatility",
})
METHOD_OPTIONS = frozenset({"case_sensitive", "max_batch_size", "function_type", "volatility"})
FUNCTION_TYPES = ("FUNCTION", "TABLE_FUNCTION")
VOLATILITIES = ("IMMUTABLE", "VOLATILE")
TARGET_PLATFORMS = ("WAREHOUSE", "SNOWPARK_CONTAINER_SERVICES")
_PRIVATE_OPTIONS = ("_by_value_modules",)  # set by save_package for the handler (`ext_modules`), never by users


def validate_options(options: dict, handler: type) -> dict:
    """`options` checked against the common options and the handler's `extra_options`, normalised in place
    (target_methods a de-duplicated list, function types and volatilities upper-case text)."""
    known = COMMON_OPTIONS | set(handler.extra_options)
    known -= set(_PRIVATE_OPTIONS)
    unknown = sorted(str(k) for k in options if k not in known)
    if unknown:
        raise InvalidArgumentError(
            f"Unknown option(s) {', '.join(repr(k) for k in unknown)} for a {handler.name} model. "
            f"Known options: {', '.join(sorted(known))}."
        )
    if "target_methods" in options and options["target_methods"] is not None:
        tm = options["target_methods"]
        if isinstance(tm, str):
            tm = [tm]
        if not isinstance(tm, (list, tuple)) or not tm or not all(isinstance(m, str) and m for m in tm):
            raise InvalidArgumentError(
                f"Option target_methods must be a non-empty list of method names, got {options['target_methods']!r}."
            )
        options["target_methods"] = list(dict.fromkeys(tm))
    if options.get("function_type") is not None:
        options["function_type"] = function_type(options["function_type"], "option function_type")
    if options.get("volatility") is not None:
        options["volatility"] = volatility(options["volatility"], "option volatility")
    method_options = options.get("method_options")
    if method_options is not None:
        if not isinstance(method_options, dict):
            raise InvalidArgumentError(
                f"Option method_options must be a dict {{method name: {{option: value}}}}, got {method_options!r}."
            )
        clean: dict[str, dict] = {}
        for method, mo in method_options.items():
            if not isinstance(mo, dict):
                raise InvalidArgumentError(
                    f"method_options[{method!r}] must be a dict of {sorted(METHOD_OPTIONS)}, got {mo!r}."
                )
            bad = sorted(str(k) for k in mo if k not in METHOD_OPTIONS)
            if bad:
                raise InvalidArgumentError(
                    f"Unknown method option(s) {', '.join(repr(k) for k in bad)} in method_options[{method!r}]. "
                    f"Known method options: {', '.join(sorted(METHOD_OPTIONS))}."
                )
            mo = dict(mo)
            if mo.get("function_type") is not None:
                mo["function_type"] = function_type(mo["function_type"], f"method_options[{method!r}].function_type")
            if mo.get("volatility") is not None:
                mo["volatility"] = volatility(mo["volatility"], f"method_options[{method!r}].volatility")
            if mo.get("max_batch_size") is not None:
                mbs = mo["max_batch_size"]
                if isinstance(mbs, bool) or not isinstance(mbs, int) or mbs <= 0:
                    raise InvalidArgumentError(
                        f"method_options[{method!r}].max_batch_size must be a positive integer, got {mbs!r}."
                    )
            clean[str(method)] = mo
        options["method_options"] = clean
    return options


def enum_text(value: Any) -> Any:
    """An enum's value (or name, when the value is not text), upper-cased; other text upper-cased."""
    if isinstance(value, Enum):
        value = value.value if isinstance(value.value, str) else value.name
    return value.upper() if isinstance(value, str) else value


def function_type(value: Any, what: str) -> str:
    """`value` as one of FUNCTION_TYPES (`what` names it in the error)."""
    return _one_of(value, FUNCTION_TYPES, what)


def volatility(value: Any, what: str) -> str:
    """`value` as one of VOLATILITIES (`what` names it in the error)."""
    return _one_of(value, VOLATILITIES, what)


def _one_of(value: Any, allowed: tuple[str, ...], what: str) -> str:
    text = enum_text(value)
    if text not in allowed:
        raise InvalidArgumentError(f"Invalid {what} {value!r}: expected one of {', '.join(allowed)}.")
    return text


def resolve_task(inferred: Task, given: Task | str | None) -> Task:
    """The task to record: the handler's inferred one when it knows one (warning when `given` differs),
    else `given` (a Task or its name)."""
    if given is None:
        user = Task.UNKNOWN
    elif isinstance(given, Task):
        user = given
    else:
        text = given.value if isinstance(given, Enum) else str(given)
        try:
            user = Task[text.strip().upper()]
        except KeyError:
            raise InvalidArgumentError(
                f"Invalid task {given!r}: expected a Task or one of {', '.join(t.value for t in Task)}."
            ) from None
    if inferred == Task.UNKNOWN:
        return user
    if user not in (Task.UNKNOWN, inferred):
        warnings.warn(
            f"Inferred Task: {inferred.name} is used as task for this model version and passed argument Task: "
            f"{user.name} is ignored.",
            UserWarning,
            stacklevel=3,
        )
    return inferred


def resolve_target_platforms(value: Any, methods: list[MethodInfo]) -> list[str]:
    """`value` as a de-duplicated list of TARGET_PLATFORMS; None gives the default for `methods`."""
    if value is None:
        # As Snowflake: table functions run in the warehouse only, so a model that has one defaults there.
        if any(m.function_type == "TABLE_FUNCTION" for m in methods):
            return ["WAREHOUSE"]
        return list(TARGET_PLATFORMS)
    if isinstance(value, (str, Enum)):
        value = [value]
    out: list[str] = []
    for item in value:
        text = enum_text(item)
        if text not in TARGET_PLATFORMS:
            raise InvalidArgumentError(
                f"Invalid target platform {item!r}: expected a list of {', '.join(TARGET_PLATFORMS)}."
            )
        if text not in out:
            out.append(text)
    if not out:
        raise InvalidArgumentError(f"target_platforms is empty: give at least one of {', '.join(TARGET_PLATFORMS)}.")
    return out


def validate_ext_modules(ext_modules: Any) -> list[types.ModuleType]:
    """`ext_modules` (one module or a list) as a de-duplicated list of imported module objects."""
    if ext_modules is None:
        return []
    if isinstance(ext_modules, types.ModuleType):
        ext_modules = [ext_modules]
    out: list[types.ModuleType] = []
    for m in ext_modules:
        if not isinstance(m, types.ModuleType):
            raise InvalidArgumentError(
                f"ext_modules must hold imported module objects (`import mymodule; ext_modules=[mymodule]`), "
                f"got {m!r} of type {type(m).__name__}."
            )
        if sys.modules.get(m.__name__) is not m:
            raise InvalidArgumentError(
                f"ext_modules entry {m.__name__!r} is not in sys.modules: import it with an `import` statement "
                "before logging the model."
            )
        if m not in out:
            out.append(m)
    return out


def recorded_options(options: dict) -> dict:
    """The options as the manifest records them: JSON values only, private options left out."""
    return jsonable({k: v for k, v in options.items() if k not in _PRIVATE_OPTIONS})


def refuse_channels_in_warehouse(conda_dependencies: Any, target_platforms: Any) -> None:
    """Refuse `conda_dependencies` from a named conda channel (`conda-forge::prophet`) when `target_platforms`
    names WAREHOUSE, as Snowflake does: its warehouses install only from the Snowflake conda channel (the
    default one, named by no `channel::` prefix). Left unchecked when `target_platforms` is not given."""
    if target_platforms is None or not conda_dependencies:
        return
    platforms = [enum_text(p) for p in ([target_platforms] if isinstance(target_platforms, (str, Enum))
                                        else target_platforms)]
    if "WAREHOUSE" not in platforms:
        return
    for text in [conda_dependencies] if isinstance(conda_dependencies, str) else conda_dependencies:
        req = parse_requirement(str(text), conda=True, arg="conda_dependencies entry")
        if req["channel"]:
            package = str(text).rpartition("::")[2].strip()
            raise InvalidArgumentError(
                f"conda_dependencies entry {text!r} is specified from the non-Snowflake channel {req['channel']!r}: "
                f"models with dependencies from a non-Snowflake channel cannot run in a Snowflake Warehouse, and "
                f"target_platforms includes WAREHOUSE. Fix: drop the channel ({package!r}), or set "
                f'target_platforms=["SNOWPARK_CONTAINER_SERVICES"].')


def warn_unused_snowflake_options(artifact_repository_map: Any, resource_constraint: Any) -> None:
    """`artifact_repository_map` and `resource_constraint` (log_model arguments that say how a Snowflake
    warehouse gets pip packages and which machines it uses) checked for their form, then ignored with a
    warning: models here run in the Python environment they are loaded in, on the machine it runs on."""
    for name, value in (("artifact_repository_map", artifact_repository_map),
                        ("resource_constraint", resource_constraint)):
        if value is None:
            continue
        if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise InvalidArgumentError(f"{name} must be a dict of text to text (e.g. "
                                       f"{_UNUSED_EXAMPLES[name]}), got {value!r}.")
        warnings.warn(f"{name}={value!r} has no effect in jupyter_mreg and is not recorded: {_UNUSED_WHY[name]}",
                      UserWarning, stacklevel=3)


_UNUSED_EXAMPLES = {"artifact_repository_map": "{'pip': 'snowflake.snowpark.pypi_shared_repository'}",
                    "resource_constraint": "{'architecture': 'x86'}"}
_UNUSED_WHY = {
    "artifact_repository_map": "models run in the Python environment they are loaded in, so pip packages "
                               "come from wherever you installed them (pip_requirements are recorded and checked).",
    "resource_constraint": "models run on the machine that loads them (or in a container you start with a GPU "
                           "request).",
}
