"""The package format on disk: a folder holding `MANIFEST.yml` and everything needed to rebuild a model.

    MANIFEST.yml            what the version is: model_type, task, methods + signatures, environment, ...
    model/                  the handler's files (`handler.save`)
    code/<basename>         each of `code_paths`, put at the front of `sys.path` before loading
    user_files/<subdir>/... each of `user_files`
    sample_input_data.json  one row of `sample_input_data` (option `capture_sample_input_data`, on by default)
    env/requirements.txt    the pip view of the environment
    env/conda.yml           the conda view of the environment

`save_package` writes a package into an empty folder; `load_package` rebuilds the original Python object;
`read_manifest` reads only the manifest. Nothing here knows where packages are stored.
The parts have their own modules in this folder (`manifest`, `options`, `methods`, `files`, `pickling`,
`devices`), in `signatures.sample` and in `environment`.
"""

from __future__ import annotations

import os
import shutil
import types
from pathlib import Path
from typing import Any

from jupyter_mreg.errors import EnvironmentMismatchError, InvalidArgumentError, MregError, SignatureError
from jupyter_mreg.model import environment, explain
from jupyter_mreg.model.environment import parse_requirement
from jupyter_mreg.model.handlers import find_handler, get_handler
from jupyter_mreg.model.packaging.devices import resolve_load_options
from jupyter_mreg.model.packaging.files import activate_code_paths, copy_code_paths, copy_user_files
from jupyter_mreg.model.packaging.json_values import plain
from jupyter_mreg.model.packaging.manifest import Manifest, read_manifest, write_manifest
from jupyter_mreg.model.packaging.methods import function_name, manifest_signatures, method_entries, resolve_methods
from jupyter_mreg.model.packaging.options import (recorded_options, refuse_channels_in_warehouse,
                                                  resolve_target_platforms, resolve_task, validate_ext_modules,
                                                  validate_options)
from jupyter_mreg.model.packaging.pickling import pickled_by_value
from jupyter_mreg.model.packaging.sample_row import capture_sample_row
from jupyter_mreg.model.signatures.sample import infer_signatures
from jupyter_mreg.model.task import Task

# Manifest, read_manifest, manifest_signatures and function_name live in their own modules; callers may import
# them from here.
__all__ = ["Manifest", "function_name", "load_package", "manifest_signatures", "read_manifest", "save_package"]

MODEL_DIR = "model"
ENV_DIR = "env"


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
) -> Manifest:
    """Write `model` as a package into the empty (or missing) folder `path`; return its manifest.

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
    options = validate_options(dict(options or {}), handler)
    refuse_channels_in_warehouse(conda_dependencies, target_platforms)
    by_value = validate_ext_modules(ext_modules)

    if isinstance(signatures, dict):
        signatures = dict(signatures)
    methods = resolve_methods(model, handler, options, signatures)
    known = handler.known_signatures(model, methods, options) if signatures is None else None
    if signatures is not None:
        sigs = {m: signatures[m] for m in methods}
    elif known:  # the model says what it takes (a pipeline's task, an MLmodel file): trust it over a sample
        sigs = {m: known[m] for m in methods}
    elif sample_input_data is not None:
        sigs = infer_signatures(model, handler, methods, sample_input_data)
    else:
        raise SignatureError(
            f"Either of `signatures` or `sample_input_data` must be provided for this kind of model "
            f"({handler.name}): pass sample_input_data=<a few rows of the input>, or signatures={{method: "
            "ModelSignature}." + (f" {hint}" if (hint := handler.missing_signature_hint(model)) else ""))

    final_task = resolve_task(handler.infer_task(model), task)
    explain_plan = explain.plan(model, handler, sigs, sample_input_data, final_task, options)
    if explain_plan is not None:
        methods, sigs = [*methods, explain.EXPLAIN], {**sigs, explain.EXPLAIN: explain_plan.signature}
    entries = method_entries(model, handler, methods, sigs, options, explain_plan and explain_plan.spec)
    # As Snowflake: the generated explain, a table function, does not make the warehouse the only default platform.
    platforms = resolve_target_platforms(target_platforms, [e for e in entries if e.explain is None])

    env = environment.capture(
        handler.modules(model) + (["shap"] if explain_plan is not None else []),
        conda_dependencies=conda_dependencies,
        pip_requirements=_with_declared(pip_requirements, handler.declared_requirements(model, options)),
        python_version=python_version,
        relax_version=bool(options.get("relax_version", False)),
    )

    try:
        if sample_input_data is not None and options.get("capture_sample_input_data", True):
            entries = capture_sample_row(sample_input_data, entries, root)
        copied_code = copy_code_paths(code_paths, root)
        copied_files = copy_user_files(user_files, root)
        model_dir = root / MODEL_DIR
        model_dir.mkdir()
        save_options = dict(options)
        save_options["_by_value_modules"] = list(by_value)
        # Handlers that compile or check the model with an example (a TorchScript trace) read it here.
        save_options["_sample_input_data"] = sample_input_data
        with pickled_by_value(by_value):
            handler_meta = handler.save(model, model_dir, save_options)
        if explain_plan is not None:
            explain.write_background(root, explain_plan)
        env_dir = root / ENV_DIR
        env_dir.mkdir()
        (env_dir / "requirements.txt").write_text(environment.requirements_txt(env), encoding="utf-8")
        (env_dir / "conda.yml").write_text(environment.conda_yml(env), encoding="utf-8")

        manifest = Manifest(
            model_type=handler.name,
            task=final_task.value,
            methods=tuple(entries),
            environment=env,
            target_platforms=platforms,
            runnable_in=list(platforms),
            handler=plain(handler_meta or {}),
            code_paths=copied_code,
            user_files=copied_files,
            ext_modules=[m.__name__ for m in by_value],
            options=recorded_options(options),
        )
        write_manifest(root, manifest)  # the manifest appears last: a package with one is complete
    except BaseException:
        _empty_folder(root)
        raise
    return manifest


def _with_declared(user: Any, declared: list[str]) -> Any:
    """The user's `pip_requirements` plus the ones the model declares itself for packages the user did not
    name (the user's choice wins). Unreadable user entries are left for `environment.capture` to report."""
    if not declared:
        return user
    mine = [user] if isinstance(user, str) else list(user or [])
    named = set()
    for text in mine:
        try:
            named.add(parse_requirement(text)["key"])
        except (MregError, AttributeError, TypeError):
            pass
    return mine + [r for r in declared if parse_requirement(r)["key"] not in named]


def _empty_folder(root: Path) -> None:
    for child in list(root.iterdir()):
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            try:
                child.unlink()
            except OSError:
                pass


def load_package(path: str | os.PathLike, *, options: dict | None = None, manifest: Manifest | None = None,
                 force: bool = False, what: str = "this model") -> Any:
    """Rebuild the original Python object from the package in folder `path`.

    The package's `code/` folders go to the front of `sys.path` first (and stay there: the object's code
    may import lazily), so classes from `code_paths` unpickle in a fresh process. Loading a pickle runs
    code: load only packages from registries you trust. A caller that already holds the manifest (the
    registry keeps it in its catalog) passes it and saves parsing the YAML.
    """
    root = Path(path)
    manifest = manifest if manifest is not None else read_manifest(root)
    activate_code_paths(root, manifest)
    handler = get_handler(manifest.model_type)
    load_options = resolve_load_options(options, handler, manifest.options, force=force, what=what)
    try:
        return handler.load(root / MODEL_DIR, manifest.handler, load_options)
    except ModuleNotFoundError as exc:
        name = exc.name or str(exc)
        raise EnvironmentMismatchError(
            f"Loading this {manifest.model_type} model needs the module {name!r}, which cannot be imported "
            f"here. If {name!r} is a library, install it (the version's environment lists what the model was "
            f"built with). If it is your own code, log the model again with code_paths=[<its .py file or "
            f"folder>] or ext_modules=[{name.split('.')[0]}]."
        ) from exc
    except AttributeError as exc:
        if not str(exc).startswith("Can't get attribute"):
            raise
        raise EnvironmentMismatchError(
            f"Loading this {manifest.model_type} model failed: {exc}. The code of a class or function it uses "
            "changed since the model was logged (renamed, moved or deleted). Restore that code, or log the model "
            "with code_paths=[...] or ext_modules=[...] so the version keeps the code it was built with."
        ) from exc
