"""The package format on disk: a folder holding `MANIFEST.yml` and everything needed to rebuild a model.

    MANIFEST.yml            what the version is: model_type, task, methods + signatures, environment, ...
    model/                  the handler's files (`handler.save`)
    code/<basename>         each of `code_paths`, put at the front of `sys.path` before loading
    user_files/<subdir>/... each of `user_files`
    env/requirements.txt    the pip view of the environment
    env/conda.yml           the conda view of the environment

`save_package` writes a package into an empty folder; `load_package` rebuilds the original Python object;
`read_manifest` reads only the manifest. Nothing here knows where packages are stored.
"""

from __future__ import annotations

import glob
import importlib
import json
import math
import os
import shutil
import sys
import types
import warnings
from contextlib import contextmanager
from enum import Enum
from pathlib import Path, PurePath, PurePosixPath
from typing import Any, Iterator

import yaml

from jupyter_mreg.errors import (EnvironmentMismatchError, InvalidArgumentError, MregError, NotFoundError,
                                 SignatureError, UnsupportedModelError)
from jupyter_mreg.model.handlers import find_handler, get_handler
from jupyter_mreg.model.task import Task

MANIFEST_FILE = "MANIFEST.yml"
MANIFEST_VERSION = "1.0"
MODEL_DIR = "model"
CODE_DIR = "code"
USER_FILES_DIR = "user_files"
ENV_DIR = "env"

COMMON_OPTIONS = frozenset({
    "target_methods", "relax_version", "function_type", "method_options", "embed_local_ml_library",
    "enable_explainability", "save_location", "capture_sample_input_data", "model_init_once", "volatility",
})
METHOD_OPTIONS = frozenset({"case_sensitive", "max_batch_size", "function_type", "volatility"})
FUNCTION_TYPES = ("FUNCTION", "TABLE_FUNCTION")
VOLATILITIES = ("IMMUTABLE", "VOLATILE")
TARGET_PLATFORMS = ("WAREHOUSE", "SNOWPARK_CONTAINER_SERVICES")
SAMPLE_ROWS = 100
_PRIVATE_OPTIONS = ("_by_value_modules",)
_IGNORE_IN_COPIES = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")

try:  # the C loader/dumper are several times faster; PyYAML built without libyaml lacks them
    from yaml import CSafeDumper as _Dumper
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


# ------------------------------------------------------------------------------------------------- save


def save_package(
    model: Any,
    path: str | os.PathLike,
    *,
    signatures: dict | None = None,
    sample_input_data: Any = None,
    conda_dependencies: list[str] | None = None,
    pip_requirements: list[str] | None = None,
    python_version: str | None = None,
    target_platforms: list | None = None,
    user_files: dict[str, list[str]] | None = None,
    code_paths: list | None = None,
    ext_modules: list[types.ModuleType] | None = None,
    task: Task | str | None = None,
    options: dict | None = None,
) -> dict:
    """Write `model` as a package into the empty (or missing) folder `path`; return the manifest.

    Methods are `options["target_methods"]` or the handler's defaults the object has; given `signatures`,
    their keys are the methods. Without `signatures`, each method is called on the first 100 rows of
    `sample_input_data` (plus, for a column null in all of them, the first later row where it is not) to
    infer its signature. `ext_modules` are pickled by value; `code_paths` are copied and put on `sys.path` at
    load. Every mistake raises an `MregError` subclass; on any error the folder is left empty again.
    """
    root = Path(path)
    if root.exists():
        if not root.is_dir():
            raise InvalidArgumentError(f"Cannot save a model package to {root}: it is a file, expected a folder.")
        if any(root.iterdir()):
            raise InvalidArgumentError(f"Cannot save a model package to {root}: the folder is not empty.")
    else:
        root.mkdir(parents=True)

    handler = find_handler(model)
    options = _validate_options(dict(options or {}), handler)
    by_value = _validate_ext_modules(ext_modules)

    if isinstance(signatures, dict):
        signatures = dict(signatures)
    methods = _methods(model, handler, options, signatures)
    if signatures is not None:
        sigs = {m: signatures[m] for m in methods}
    elif sample_input_data is not None:
        sigs = _infer_signatures(model, handler, methods, sample_input_data)
    else:
        raise SignatureError("Either of `signatures` or `sample_input_data` must be provided for this kind of model.")

    method_entries = _method_entries(model, handler, methods, sigs, options)
    final_task = _resolve_task(handler.infer_task(model), task)
    platforms = _target_platforms(target_platforms, method_entries)
    if options.get("enable_explainability"):
        warnings.warn(
            "enable_explainability=True is not supported by jupyter_mreg yet: no `explain` method is created.",
            UserWarning,
            stacklevel=2,
        )

    from jupyter_mreg.model import environment

    env = environment.capture(
        handler.modules(model),
        conda_dependencies=conda_dependencies,
        pip_requirements=pip_requirements,
        python_version=python_version,
        relax_version=bool(options.get("relax_version", False)),
    )

    try:
        copied_code = _copy_code_paths(code_paths, root / CODE_DIR)
        copied_files = _copy_user_files(user_files, root / USER_FILES_DIR)
        model_dir = root / MODEL_DIR
        model_dir.mkdir()
        save_options = dict(options)
        save_options["_by_value_modules"] = list(by_value)
        with pickled_by_value(by_value):
            handler_meta = handler.save(model, model_dir, save_options)
        env_dir = root / ENV_DIR
        env_dir.mkdir()
        (env_dir / "requirements.txt").write_text(environment.requirements_txt(env), encoding="utf-8")
        (env_dir / "conda.yml").write_text(environment.conda_yml(env), encoding="utf-8")

        manifest = {
            "manifest_version": MANIFEST_VERSION,
            "model_type": handler.name,
            "task": final_task.value,
            "methods": method_entries,
            "environment": env,
            "target_platforms": platforms,
            "runnable_in": list(platforms),
            "handler": _plain(handler_meta or {}),
            "code_paths": copied_code,
            "user_files": copied_files,
            "ext_modules": [m.__name__ for m in by_value],
            "options": _jsonable_options(options),
        }
        try:
            json.dumps(manifest)
        except (TypeError, ValueError) as exc:
            raise UnsupportedModelError(
                f"The {handler.name} handler returned metadata that cannot be written as JSON/YAML: {exc}"
            ) from exc
        tmp = root / (MANIFEST_FILE + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            yaml.dump(manifest, f, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)
        os.replace(tmp, root / MANIFEST_FILE)  # the manifest appears last: a package with one is complete
    except BaseException:
        _empty_folder(root)
        raise
    return manifest


def _empty_folder(root: Path) -> None:
    for child in list(root.iterdir()):
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            try:
                child.unlink()
            except OSError:
                pass


def _validate_options(options: dict, handler: type) -> dict:
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
        options["function_type"] = _function_type(options["function_type"], "option function_type")
    if options.get("volatility") is not None:
        options["volatility"] = _volatility(options["volatility"], "option volatility")
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
                mo["function_type"] = _function_type(mo["function_type"], f"method_options[{method!r}].function_type")
            if mo.get("volatility") is not None:
                mo["volatility"] = _volatility(mo["volatility"], f"method_options[{method!r}].volatility")
            if mo.get("max_batch_size") is not None:
                mbs = mo["max_batch_size"]
                if isinstance(mbs, bool) or not isinstance(mbs, int) or mbs <= 0:
                    raise InvalidArgumentError(
                        f"method_options[{method!r}].max_batch_size must be a positive integer, got {mbs!r}."
                    )
            clean[str(method)] = mo
        options["method_options"] = clean
    return options


def _enum_text(value: Any) -> Any:
    if isinstance(value, Enum):
        value = value.value if isinstance(value.value, str) else value.name
    return value.upper() if isinstance(value, str) else value


def _function_type(value: Any, what: str) -> str:
    text = _enum_text(value)
    if text not in FUNCTION_TYPES:
        raise InvalidArgumentError(f"Invalid {what} {value!r}: expected one of {', '.join(FUNCTION_TYPES)}.")
    return text


def _volatility(value: Any, what: str) -> str:
    text = _enum_text(value)
    if text not in VOLATILITIES:
        raise InvalidArgumentError(f"Invalid {what} {value!r}: expected one of {', '.join(VOLATILITIES)}.")
    return text


def _validate_ext_modules(ext_modules: Any) -> list[types.ModuleType]:
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


@contextmanager
def pickled_by_value(modules: list[types.ModuleType]) -> Iterator[None]:
    """Register `modules` with cloudpickle's pickle-by-value list while the block runs; only the ones this
    call registered are unregistered afterwards (also on error), so nesting is safe."""
    if not modules:
        yield
        return
    import cloudpickle

    already = set(cloudpickle.list_registry_pickle_by_value())
    added: list[types.ModuleType] = []
    try:
        for m in modules:
            if m.__name__ not in already:
                try:
                    cloudpickle.register_pickle_by_value(m)
                except ValueError as exc:
                    raise InvalidArgumentError(f"ext_modules entry {m.__name__!r} cannot be pickled by value: {exc}") from exc
                added.append(m)
        yield
    finally:
        for m in added:
            try:
                cloudpickle.unregister_pickle_by_value(m)
            except ValueError:
                pass


def _has_method(model: Any, method: str) -> bool:
    try:
        return callable(getattr(model, method, None))
    except Exception:
        return False


def _methods(model: Any, handler: type, options: dict, signatures: dict | None) -> list[str]:
    kind = type(model).__qualname__
    if signatures is not None:
        if not isinstance(signatures, dict) or not signatures:
            raise SignatureError(
                f"signatures must be a non-empty dict {{method name: ModelSignature}}, got {signatures!r}."
            )
        for name, sig in signatures.items():
            if isinstance(sig, dict):  # the `ModelSignature.to_dict()` form
                from jupyter_mreg.model.model_signature import ModelSignature

                try:
                    signatures[name] = ModelSignature.from_dict(sig)
                except MregError:
                    raise
                except Exception as exc:
                    raise SignatureError(f"signatures[{name!r}] is not a valid signature dict: {exc}") from exc
            elif not hasattr(sig, "to_dict"):
                raise SignatureError(
                    f"signatures[{name!r}] must be a ModelSignature (see model_signature.infer_signature), got "
                    f"{type(sig).__name__}."
                )
        methods = [str(m) for m in signatures]
        wanted = options.get("target_methods")
        if wanted is not None:
            missing = [m for m in wanted if m not in signatures]
            if missing:
                raise SignatureError(
                    f"target_methods {missing} have no entry in `signatures` (which has {methods}): add their "
                    "signatures, or pass sample_input_data instead of signatures to infer them."
                )
            methods = list(wanted)
        source = "signatures" if wanted is None else "target_methods"
    else:
        methods = list(dict.fromkeys(handler.target_methods(model, options)))
        if not methods:
            raise InvalidArgumentError(
                f"{kind} has none of the methods a {handler.name} model can expose "
                f"({', '.join(handler.default_target_methods) or 'none'}): nothing to log."
            )
        source = "target_methods"
    missing = [m for m in methods if not _has_method(model, m)]
    if missing:
        try:
            available = handler.target_methods(model, {})
        except MregError:
            available = []
        raise InvalidArgumentError(
            f"{kind} has no method {', '.join(repr(m) for m in missing)} (named in {source}). "
            f"Methods it can expose: {', '.join(available) or 'none'}."
        )
    if signatures is not None:
        # The handler may refuse methods it cannot expose (a custom model's undecorated methods).
        handler.target_methods(model, {**options, "target_methods": methods})
    return methods


def _inference_sample(sample_input_data: Any) -> Any:
    """First 100 rows, plus for each column null in all of them the first later row where it is not
    (snowflake-ml-python #159: a null prefix must not make a column's type unknowable)."""
    import numpy as np
    import pandas as pd

    from jupyter_mreg.model.model_signature import to_pandas

    df = to_pandas(sample_input_data)
    head = df.iloc[:SAMPLE_ROWS]
    if len(df) <= SAMPLE_ROWS or head.shape[1] == 0:
        return head
    rest = df.iloc[SAMPLE_ROWS:]
    extra: set[int] = set()
    for i in range(head.shape[1]):
        if head.iloc[:, i].isna().all():
            notna = np.flatnonzero(rest.iloc[:, i].notna().to_numpy())
            if len(notna):
                extra.add(int(notna[0]))
    if not extra:
        return head
    return pd.concat([head, rest.iloc[sorted(extra)]])


def _infer_signatures(model: Any, handler: type, methods: list[str], sample_input_data: Any) -> dict:
    from jupyter_mreg.model.model_signature import infer_signature

    try:
        sample = _inference_sample(sample_input_data)
    except MregError:
        raise
    except Exception as exc:
        raise SignatureError(
            f"sample_input_data of type {type(sample_input_data).__name__} cannot be read as a table: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if len(sample) == 0:
        raise SignatureError("sample_input_data is empty: give at least one row to infer signatures from.")
    kind = type(model).__qualname__
    sigs = {}
    for method in methods:
        try:
            output = handler.invoke(model, method, sample, {})
        except Exception as exc:
            raise SignatureError(
                f"Cannot infer the signature of method {method!r}: {kind}.{method}(sample_input_data) failed with "
                f"{type(exc).__name__}: {exc}. Pass sample_input_data with the columns and types the model was "
                "fitted on, or give `signatures`."
            ) from exc
        params = None
        if handler.name == "custom":
            from jupyter_mreg.model.custom_model import get_method_params

            params = get_method_params(model, method) or None
        rows = max(len(sample), 1)
        try:
            sigs[method] = infer_signature(sample, output, input_data_limit=rows, output_data_limit=rows,
                                           params=params)
        except MregError:
            raise
        except Exception as exc:
            raise SignatureError(
                f"Cannot infer the signature of method {method!r} from sample_input_data and its output: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return sigs


def function_name(method: str, case_sensitive: bool = False) -> str:
    """The SQL identifier form of a method: `predict` -> `PREDICT`, `__call__` -> `__CALL__`; case-sensitive
    names are double-quoted (`"predictLog"`) unless they already read the same unquoted."""
    import re

    if not case_sensitive:
        return method.upper()
    if re.fullmatch(r"[A-Z_][A-Z0-9_$]*", method):
        return method
    return '"' + method.replace('"', '""') + '"'


def _method_entries(model: Any, handler: type, methods: list[str], sigs: dict, options: dict) -> list[dict]:
    method_options = options.get("method_options") or {}
    unknown = [m for m in method_options if m not in methods]
    if unknown:
        raise InvalidArgumentError(
            f"method_options names {', '.join(repr(m) for m in unknown)}, which {'is' if len(unknown) == 1 else 'are'} "
            f"not among the methods being logged ({', '.join(methods)})."
        )
    default_volatility = "VOLATILE" if handler.name == "custom" else "IMMUTABLE"
    entries: list[dict] = []
    names: dict[str, str] = {}
    for method in methods:
        mo = method_options.get(method, {})
        info = handler.function_info(model, method) or {}
        ftype = mo.get("function_type") or options.get("function_type") or info.get("function_type") or "FUNCTION"
        ftype = _function_type(ftype, f"function type of {method!r}")
        partitioned = bool(info.get("is_partitioned", False))
        if partitioned and ftype != "TABLE_FUNCTION":
            raise InvalidArgumentError("Partitioned inference api functions must have type TABLE_FUNCTION.")
        name = function_name(method, bool(mo.get("case_sensitive", False)))
        key = name if name.startswith('"') else name.upper()
        if key in names:
            raise InvalidArgumentError(
                f"Methods {names[key]!r} and {method!r} both become the function {name}: set "
                f"method_options[{method!r}] = {{'case_sensitive': True}} to keep their case."
            )
        names[key] = method
        entry = {
            "name": name,
            "target_method": method,
            "function_type": ftype,
            "is_partitioned": partitioned,
            "volatility": mo.get("volatility") or options.get("volatility") or default_volatility,
            "signature": _plain(sigs[method].to_dict()),
        }
        if mo.get("max_batch_size") is not None:
            entry["max_batch_size"] = int(mo["max_batch_size"])
        entries.append(entry)
    return entries


def _resolve_task(inferred: Task, given: Task | str | None) -> Task:
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


def _target_platforms(value: Any, methods: list[dict]) -> list[str]:
    if value is None:
        # As Snowflake: table functions run in the warehouse only, so a model that has one defaults there.
        if any(m["function_type"] == "TABLE_FUNCTION" for m in methods):
            return ["WAREHOUSE"]
        return list(TARGET_PLATFORMS)
    if isinstance(value, (str, Enum)):
        value = [value]
    out: list[str] = []
    for item in value:
        text = _enum_text(item)
        if text not in TARGET_PLATFORMS:
            raise InvalidArgumentError(
                f"Invalid target platform {item!r}: expected a list of {', '.join(TARGET_PLATFORMS)}."
            )
        if text not in out:
            out.append(text)
    if not out:
        raise InvalidArgumentError(f"target_platforms is empty: give at least one of {', '.join(TARGET_PLATFORMS)}.")
    return out


def _source_of(entry: Any) -> tuple[Path, PurePosixPath]:
    """(source path, destination relative to code/) for a code path: a str/PathLike keeps its basename; a
    `CodePath(root, filter)`-like object copies `root/filter` to `code/<filter>`."""
    root = getattr(entry, "root", None)
    if root is not None and not isinstance(entry, (str, PurePath)):
        filt = getattr(entry, "filter", None)
        src = Path(root).expanduser()
        if filt:
            rel = PurePosixPath(str(filt).replace(os.sep, "/").strip("/"))
            if rel.is_absolute() or ".." in rel.parts:
                raise InvalidArgumentError(f"CodePath filter {filt!r} must be a relative path inside its root.")
            return src / rel, rel
        return src, PurePosixPath(src.resolve().name)
    if not isinstance(entry, (str, os.PathLike)):
        raise InvalidArgumentError(f"code_paths entries must be file or folder paths, got {entry!r}.")
    src = Path(entry).expanduser()
    return src, PurePosixPath(src.resolve().name)


def _copy_code_paths(code_paths: Any, dest: Path) -> list[str]:
    if not code_paths:
        return []
    if isinstance(code_paths, (str, os.PathLike)):
        code_paths = [code_paths]
    recorded: list[str] = []
    for entry in code_paths:
        src, rel = _source_of(entry)
        if not src.exists():
            raise InvalidArgumentError(
                f"code_paths entry {str(src)!r} does not exist (current directory: {os.getcwd()})."
            )
        target = dest / Path(*rel.parts)
        if target.exists():
            raise InvalidArgumentError(
                f"Two code_paths entries would both be copied to code/{rel}: rename one, or give their common "
                "parent folder instead."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=_IGNORE_IN_COPIES)
        else:
            shutil.copy2(src, target)
        recorded.append(f"{CODE_DIR}/{rel.as_posix()}")
    return recorded


def _copy_user_files(user_files: Any, dest: Path) -> dict[str, list[str]]:
    if not user_files:
        return {}
    if not isinstance(user_files, dict):
        raise InvalidArgumentError(
            f"user_files must be a dict {{subdirectory: [paths or glob patterns]}}, got {type(user_files).__name__}."
        )
    recorded: dict[str, list[str]] = {}
    for subdir, patterns in user_files.items():
        sub = PurePosixPath(str(subdir).replace("\\", "/").strip("/")) if subdir else PurePosixPath()
        if sub.is_absolute() or ".." in sub.parts:
            raise InvalidArgumentError(f"user_files subdirectory {subdir!r} must be a relative path without '..'.")
        if isinstance(patterns, (str, os.PathLike)):
            patterns = [patterns]
        folder = dest / Path(*sub.parts) if sub.parts else dest
        folder.mkdir(parents=True, exist_ok=True)
        files: list[str] = []
        for pattern in patterns:
            text = os.path.expanduser(os.fspath(pattern))
            if glob.has_magic(text):
                matches = sorted(glob.glob(text, recursive=True))
                if not matches:
                    raise InvalidArgumentError(f"user_files[{subdir!r}] pattern {text!r} matches no file.")
            else:
                if not os.path.exists(text):
                    raise InvalidArgumentError(
                        f"user_files[{subdir!r}] entry {text!r} does not exist (current directory: {os.getcwd()})."
                    )
                matches = [text]
            for match in matches:
                src = Path(match)
                target = folder / src.resolve().name
                rel = (PurePosixPath(USER_FILES_DIR) / sub / target.name).as_posix()
                if target.exists():
                    if rel in files:
                        continue  # the same file named twice (a path and a pattern that matches it)
                    raise InvalidArgumentError(
                        f"Two user_files[{subdir!r}] entries are named {target.name!r}: put them in different "
                        "subdirectories."
                    )
                if src.is_dir():
                    shutil.copytree(src, target, ignore=_IGNORE_IN_COPIES)
                else:
                    shutil.copy2(src, target)
                files.append(rel)
        recorded[sub.as_posix() if sub.parts else ""] = files
    return recorded


def _plain(obj: Any) -> Any:
    """Plain YAML/JSON types: tuples become lists, numpy scalars Python numbers, enums their value."""
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Enum):
        return _plain(obj.value)
    if isinstance(obj, PurePath):
        return str(obj)
    if type(obj).__module__ == "numpy" and hasattr(obj, "tolist"):
        return _plain(obj.tolist())
    return obj


_DROP = object()


def _jsonable(obj: Any) -> Any:
    """`obj` as JSON types, or `_DROP` when it cannot be written (a callable, a module, ...)."""
    obj = _plain(obj)
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            v = _jsonable(v)
            if v is not _DROP:
                out[k] = v
        return out
    if isinstance(obj, list):
        return [v for v in (_jsonable(x) for x in obj) if v is not _DROP]
    return _DROP


def _jsonable_options(options: dict) -> dict:
    return _jsonable({k: v for k, v in options.items() if k not in _PRIVATE_OPTIONS})


# ------------------------------------------------------------------------------------------------- read


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of the package in folder `path` (`NotFoundError` if there is none)."""
    file = Path(path) / MANIFEST_FILE
    try:
        with open(file, "rb") as f:
            manifest = yaml.load(f, Loader=_Loader)
    except FileNotFoundError:
        raise NotFoundError(
            f"No model package at {path}: {MANIFEST_FILE} is missing (was the package saved completely?)."
        ) from None
    if not isinstance(manifest, dict) or "model_type" not in manifest:
        raise InvalidArgumentError(f"{file} is not a jupyter_mreg model manifest.")
    version = str(manifest.get("manifest_version", ""))
    if version.split(".")[0] != MANIFEST_VERSION.split(".")[0]:
        raise EnvironmentMismatchError(
            f"The model package at {path} has manifest_version {version!r}; this jupyter_mreg reads "
            f"{MANIFEST_VERSION}. Upgrade jupyter_mreg to load it."
        )
    return manifest


def manifest_signatures(manifest: dict) -> dict:
    """`{target_method: ModelSignature}` from a manifest (keys are Python method names, e.g. `predict`)."""
    from jupyter_mreg.model.model_signature import ModelSignature

    return {m["target_method"]: ModelSignature.from_dict(m["signature"]) for m in manifest.get("methods", [])}


# ------------------------------------------------------------------------------------------------- load


def code_search_paths(path: str | os.PathLike, manifest: dict | None = None) -> list[str]:
    """The folders `load_package` puts at the front of `sys.path`: `code/`, and each code path folder in it
    that is not itself a package (a folder of modules is imported by its modules' names)."""
    root = Path(path)
    code = root / CODE_DIR
    if not code.is_dir():
        return []
    out = [str(code.resolve())]
    for rel in (manifest or {}).get("code_paths", []) or []:
        folder = root / rel
        if folder.is_dir() and not (folder / "__init__.py").exists():
            resolved = str(folder.resolve())
            if resolved not in out:
                out.append(resolved)
    return out


def activate_code_paths(path: str | os.PathLike, manifest: dict | None = None) -> list[str]:
    """Put the package's code folders at the front of `sys.path` (idempotent); return them."""
    folders = code_search_paths(path, manifest if manifest is not None else read_manifest(path))
    if not folders:
        return []
    if sys.path[: len(folders)] != folders:
        for folder in folders:
            while folder in sys.path:
                sys.path.remove(folder)
        sys.path[0:0] = folders
        importlib.invalidate_caches()
    return folders


def load_package(path: str | os.PathLike, *, options: dict | None = None) -> Any:
    """Rebuild the original Python object from the package in folder `path`.

    The package's `code/` folders go to the front of `sys.path` first (and stay there: the object's code
    may import lazily), so classes from `code_paths` unpickle in a fresh process. Loading a pickle runs
    code: load only packages from registries you trust.
    """
    root = Path(path)
    manifest = read_manifest(root)
    activate_code_paths(root, manifest)
    handler = get_handler(manifest["model_type"])
    try:
        return handler.load(root / MODEL_DIR, manifest.get("handler") or {}, dict(options or {}))
    except ModuleNotFoundError as exc:
        name = exc.name or str(exc)
        raise EnvironmentMismatchError(
            f"Loading this {manifest['model_type']} model needs the module {name!r}, which cannot be imported "
            f"here. If {name!r} is a library, install it (the version's environment lists what the model was "
            f"built with). If it is your own code, log the model again with code_paths=[<its .py file or "
            f"folder>] or ext_modules=[{name.split('.')[0]}]."
        ) from exc
    except AttributeError as exc:
        if not str(exc).startswith("Can't get attribute"):
            raise
        raise EnvironmentMismatchError(
            f"Loading this {manifest['model_type']} model failed: {exc}. The code of a class or function it uses "
            "changed since the model was logged (renamed, moved or deleted). Restore that code, or log the model "
            "with code_paths=[...] or ext_modules=[...] so the version keeps the code it was built with."
        ) from exc
