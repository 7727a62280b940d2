"""MLflow models (`model_type` "mlflow"): stored as the MLflow model folder itself, copied whole.

Accepted:
- a loaded `mlflow.pyfunc.PyFuncModel`. Its folder is fetched again from where it came from (the
  `model_uri` option, else `models:/<model_id>` or `runs:/<run_id>/<path>` in the tracking store configured
  now), or, when none of those can be read, re-saved with its flavor's `save_model` in the serialization
  format it was saved with (`serialization_format="cloudpickle"` stays cloudpickle);
- a model given by reference, which is never loaded at log time (snowflake-ml-python #101, "Runtime-
  independent registration of MLflow models"): a local folder holding an `MLmodel` file (a `str` or a
  `pathlib.Path`; any folder path given is taken to be one), or a `runs:/...`, `models:/...` or
  `mlflow-artifacts:/...` URI, downloaded with `mlflow.artifacts.download_artifacts` from the tracking store
  the user configured (`mlflow.set_tracking_uri`).

The only method is `predict` (MLflow's pyfunc interface). Its signature is the `MLmodel` file's, converted
(ColSpec types, arrays, objects, TensorSpec, params); a model without one needs `sample_input_data`, and
is then loaded once to run on it. Params whose value is None are left out of the call, as Snowflake does, so
MLflow applies the model's own ParamSchema default. `load()` returns a `PyFuncModel` (`mlflow.pyfunc.load_model` on the copy).

Options, as in Snowflake: `model_uri` (where a PyFuncModel's folder is), `ignore_mlflow_dependencies` (by
default the model's own `requirements.txt`, else the pip part of its `conda.yaml`, becomes the version's
declared pip requirements) and `ignore_mlflow_metadata` (by default the MLmodel's `metadata` is kept in the
manifest's handler record as `mlflow_metadata`). The environment record's `built_with` holds mlflow and the
installed framework modules of the model's flavors.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import warnings
import weakref
from pathlib import Path, PurePath
from typing import Any, ClassVar

from jupyter_mreg.errors import (InvalidArgumentError, MregError, NotFoundError, SignatureError,
                                 UnsupportedModelError)
from jupyter_mreg.model.environment import parse_requirement
from jupyter_mreg.model.environment.local_modules import distributions_by_top_level
from jupyter_mreg.model.handlers.base import ModelHandler, scratch_parent
from jupyter_mreg.model.signatures.specs import FeatureGroupSpec, FeatureSpec, ModelSignature, ParamSpec
from jupyter_mreg.model.signatures.types import DataType

_FOLDER = "mlflow_model"
_URI_PREFIXES = ("runs:/", "models:/", "mlflow-artifacts:/")
# Flavor names whose framework module is named differently; any other flavor is its module's name.
_FLAVOR_MODULES = {"pytorch": "torch", "spark": "pyspark", "gluon": "mxnet", "python_function": ""}
_MLFLOW_TYPES = {"boolean": "BOOL", "integer": "INT32", "long": "INT64", "float": "FLOAT", "double": "DOUBLE",
                 "string": "STRING", "binary": "BYTES", "datetime": "TIMESTAMP_NTZ"}

# A loaded PyFuncModel's folder, fetched (or re-saved) once per object for the whole log_model call:
# {id(model): (weak ref to model, TemporaryDirectory, folder, model_uri option, where it came from)}. Dropped
# by `save`, or when the model is garbage collected. Keyed by id: PyFuncModel is not hashable.
_fetched: dict[int, tuple] = {}


class Handler(ModelHandler):
    """MLflow `PyFuncModel`s, MLflow model folders and `runs:/` / `models:/` URIs."""

    name: ClassVar[str] = "mlflow"
    default_target_methods: ClassVar[tuple[str, ...]] = ("predict",)
    extra_options: ClassVar[frozenset[str]] = frozenset(
        {"model_uri", "ignore_mlflow_metadata", "ignore_mlflow_dependencies"})

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        ref = _reference(model)
        if ref is not None:
            kind, text = ref
            if kind == "uri" or isinstance(model, PurePath):
                return True
            try:
                path = Path(text).expanduser()
                return path.is_dir() or (path.name == "MLmodel" and path.is_file())
            except (OSError, ValueError, RuntimeError):  # any text may come here: too long, NUL bytes, ~nobody
                return False
        pyfunc = sys.modules.get("mlflow.pyfunc")  # no PyFuncModel exists before mlflow.pyfunc is imported
        model_class = getattr(pyfunc, "PyFuncModel", None)
        return model_class is not None and isinstance(model, model_class)

    @classmethod
    def target_methods(cls, model: Any, options: dict) -> list[str]:
        _check_options(model, options)
        if _reference(model) is not None and _reference(model)[0] == "folder":
            _local_folder(model)  # a wrong folder is reported before anything else
        wanted = options.get("target_methods")
        if wanted is not None:
            return [wanted] if isinstance(wanted, str) else list(wanted)
        return list(cls.default_target_methods)

    @classmethod
    def exposes(cls, model: Any, method: str) -> bool:
        # MLflow's pyfunc interface has one method; a model given by reference is not loaded to ask it.
        return method == "predict"

    @classmethod
    def known_signatures(cls, model: Any, methods: list[str], options: dict) -> dict | None:
        signature = _mlmodel(model).get("signature") or {}
        if not signature.get("inputs") or not signature.get("outputs"):
            return None
        try:
            converted = _signature(signature)
        except MregError as exc:
            raise SignatureError(
                f"The MLmodel signature of the MLflow model {_describe(model, options)} cannot be used: {exc} "
                "Pass signatures={'predict': ModelSignature(...)} to log it with your own.") from exc
        return {m: converted for m in methods if m == "predict"} or None

    @classmethod
    def missing_signature_hint(cls, model: Any) -> str:
        try:
            signature = _mlmodel(model).get("signature") or {}
        except MregError:
            return ""
        found = "an input schema but no output schema" if signature.get("inputs") else "no signature"
        return (
            f"The MLflow model {_describe(model, {})} has {found} in its MLmodel file. With sample_input_data it "
            "is loaded once (mlflow.pyfunc.load_model, so its flavor must be installed here) and run on the "
            "sample to infer the signature. To log it without loading it, log it in MLflow with a signature "
            "(mlflow.<flavor>.log_model(..., signature=mlflow.models.infer_signature(X, model.predict(X)))).")

    @classmethod
    def modules(cls, model: Any) -> list[str]:
        flavors = _mlmodel(model).get("flavors") or {}
        found = ["mlflow"]
        for flavor, conf in flavors.items():
            module = _FLAVOR_MODULES.get(flavor, flavor)
            if flavor == "python_function" and isinstance(conf, dict):
                module = str(conf.get("loader_module") or "").split(".")[0]
            # Only what is installed here: a model logged by reference may use a framework this kernel lacks,
            # and then its own requirements (declared_requirements) describe it.
            if module and module not in found and _installed(module):
                found.append(module)
        return found

    @classmethod
    def declared_requirements(cls, model: Any, options: dict) -> list[str]:
        if options.get("ignore_mlflow_dependencies"):
            return []
        return _requirement_lines(_requirements_text(model, options), _describe(model, options))

    @classmethod
    def save(cls, model: Any, path: Path, options: dict) -> dict:
        dest = Path(path) / _FOLDER
        ref = _reference(model)
        if ref is None:
            folder, source = _pyfunc_folder(model, options)
            shutil.copytree(folder, dest)
            _forget(model)
        elif ref[0] == "folder":
            folder = _local_folder(model)
            source = str(folder.resolve())
            shutil.copytree(folder, dest)
        else:
            source = ref[1]
            scratch = Path(path) / ".download"  # next to dest, so moving the download is a rename
            scratch.mkdir()
            try:
                fetched = _download(source, scratch)
                if scratch.resolve() in fetched.resolve().parents:
                    fetched.rename(dest)
                else:  # MLflow handed back its own store's folder: never move that
                    shutil.copytree(fetched, dest)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
        mlmodel = _read_mlmodel(dest)
        meta = {
            "folder": _FOLDER,
            "format": "mlflow_model",
            "source": source,
            "flavors": sorted(mlmodel.get("flavors") or {}),
            "loader_module": ((mlmodel.get("flavors") or {}).get("python_function") or {}).get("loader_module"),
            "mlflow_version": mlmodel.get("mlflow_version"),
            "run_id": mlmodel.get("run_id"),
            "model_id": mlmodel.get("model_id"),
            "model_uuid": mlmodel.get("model_uuid"),
        }
        if mlmodel.get("metadata") and not options.get("ignore_mlflow_metadata"):
            meta["mlflow_metadata"] = mlmodel["metadata"]
        return meta

    @classmethod
    def load(cls, path: Path, meta: dict, options: dict) -> Any:
        import mlflow.pyfunc

        return mlflow.pyfunc.load_model(str(Path(path) / meta.get("folder", _FOLDER)))

    @classmethod
    def invoke(cls, model: Any, method: str, data: Any, params: dict) -> Any:
        if _reference(model) is not None:  # only while inferring a signature from sample_input_data
            model = _load_reference(model)
        data = _pyfunc_input(model, data)
        # As Snowflake: a None param is left out, so MLflow applies the ParamSchema default (MLflow itself
        # passes an explicit None through to the model, whose `float(params[...])` then fails).
        params = {k: v for k, v in (params or {}).items() if v is not None}
        return model.predict(data, params=params) if params else model.predict(data)


# ------------------------------------------------------------------------------------------ references


def _reference(model: Any) -> tuple[str, str] | None:
    """`("uri", text)` or `("folder", path)` for a model given by reference; None for an object."""
    if isinstance(model, PurePath):
        return "folder", os.fspath(model)
    if not isinstance(model, str):
        return None
    if model.startswith(_URI_PREFIXES):
        return "uri", model
    if model.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return "folder", unquote(urlparse(model).path)
    return "folder", model


def _local_folder(model: Any) -> Path:
    """The MLflow model folder a path names, checked: it must hold an `MLmodel` file."""
    path = Path(_reference(model)[1]).expanduser()
    if path.name == "MLmodel" and path.is_file():
        return path.parent
    if not path.exists():
        raise NotFoundError(
            f"MLflow model folder {str(path)!r} does not exist: expected a folder holding an MLmodel file (as "
            "written by mlflow.<flavor>.save_model or mlflow.artifacts.download_artifacts). Check the path.")
    if not path.is_dir():
        raise InvalidArgumentError(
            f"{str(path)!r} is a file, not an MLflow model folder: give the folder that holds the MLmodel file.")
    if not (path / "MLmodel").is_file():
        nested = sorted(str(p.parent.relative_to(path)) for pattern in ("*/MLmodel", "*/*/MLmodel")
                        for p in path.glob(pattern))
        fix = (f" Its subfolder(s) {nested[:5]} hold one: log {str(path / nested[0])!r} instead." if nested else
               " Save the model there with mlflow.<flavor>.save_model(model, path), or log the MLflow model's "
               "URI (runs:/<run_id>/<name> or models:/<name>/<version>) instead.")
        raise InvalidArgumentError(
            f"Folder {str(path)!r} is not an MLflow model folder: it has no MLmodel file.{fix}")
    return path


def _describe(model: Any, options: dict) -> str:
    ref = _reference(model)
    if ref is not None:
        return repr(ref[1])
    md = getattr(model, "metadata", None)
    model_id = getattr(md, "model_id", None)
    where = options.get("model_uri") or (f"models:/{model_id}" if model_id else None)
    return f"(a loaded PyFuncModel{', from ' + repr(where) if where else ''})"


def _check_options(model: Any, options: dict) -> None:
    for key in ("ignore_mlflow_metadata", "ignore_mlflow_dependencies"):
        value = options.get(key)
        if value is not None and not isinstance(value, bool):
            raise InvalidArgumentError(f"Option {key} must be True or False, got {value!r}.")
    uri = options.get("model_uri")
    if uri is None:
        return
    if not isinstance(uri, (str, PurePath)) or not os.fspath(uri):
        raise InvalidArgumentError(
            f"Option model_uri must be an MLflow model URI or folder (a str), got {uri!r}.")
    ref = _reference(model)
    if ref is not None and os.fspath(uri) != ref[1]:
        raise InvalidArgumentError(
            f"Option model_uri={os.fspath(uri)!r} differs from the model given ({ref[1]!r}): options['model_uri'] "
            "says where a loaded PyFuncModel's files are; for a model given by reference, give only one of them.")


def _download(uri: str, dst: Path) -> Path:
    import mlflow

    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dst)))
    except Exception as exc:
        raise NotFoundError(_unreadable(uri, exc)) from exc


def _unreadable(uri: str, exc: BaseException) -> str:
    import mlflow

    first = (str(exc).strip().splitlines() or [""])[0]
    return (f"Cannot read the MLflow model {uri!r}: {type(exc).__name__}: {first} Check the run id, or the "
            "registered model's name and version, and that mlflow.set_tracking_uri(...) points at the tracking "
            f"server it was logged to (now {mlflow.get_tracking_uri()!r}).")


def _read_mlmodel(folder: Path) -> dict:
    import yaml

    # libyaml's loader when PyYAML has it: the pure-Python one takes ~6 ms for an MLmodel file.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(folder / "MLmodel", encoding="utf-8") as f:
        return yaml.load(f, Loader=loader) or {}


def _mlmodel(model: Any) -> dict:
    """The model's MLmodel file as a dict (signature fields as MLflow's JSON strings)."""
    ref = _reference(model)
    if ref is None:
        return model.metadata.to_dict()
    if ref[0] == "folder":
        return _read_mlmodel(_local_folder(model))
    from mlflow.models import Model

    try:
        return Model.load(ref[1]).to_dict()  # downloads the MLmodel file only
    except Exception as exc:
        raise NotFoundError(_unreadable(ref[1], exc)) from exc


def _load_reference(model: Any) -> Any:
    import mlflow.pyfunc

    kind, text = _reference(model)
    target = str(_local_folder(model)) if kind == "folder" else text
    try:
        return mlflow.pyfunc.load_model(target)
    except ModuleNotFoundError:
        raise
    except Exception as exc:
        raise UnsupportedModelError(
            f"Cannot load the MLflow model {text!r} to run it on sample_input_data: {type(exc).__name__}: {exc}"
        ) from exc


# -------------------------------------------------------------------------------- a loaded PyFuncModel


def _pyfunc_folder(model: Any, options: dict) -> tuple[Path, str]:
    """`(local folder, where it came from)` of a loaded PyFuncModel, fetched once per object."""
    wanted = options.get("model_uri")
    wanted = os.fspath(wanted) if wanted is not None else None
    hit = _fetched.get(id(model))
    # (Its scratch may be gone: made inside a log_model's staging folder, which that log_model removed.)
    if hit is not None and hit[0]() is model and hit[3] == wanted and hit[2].is_dir():
        return hit[2], hit[4]
    _forget(model)
    scratch = tempfile.TemporaryDirectory(prefix="mreg-mlflow-", dir=scratch_parent())
    root = Path(scratch.name)
    md = model.metadata
    if wanted is not None:
        # Any URI MLflow can download (s3://, dbfs:/, runs:/ ...); a path or file:// URI is read in place.
        is_uri = re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", wanted) and not wanted.startswith("file:")
        folder = _download(wanted, root / "fetched") if is_uri else _local_folder(wanted)
        _same_model(model, folder, wanted)
        source = wanted
    else:
        folder, source = None, ""
        for i, uri in enumerate(_origins(md)):
            try:
                candidate = _download(uri, root / f"fetched{i}")
            except NotFoundError:
                continue  # logged to another tracking store: try the next origin, then re-save
            if (candidate / "MLmodel").is_file() and _uuid(_read_mlmodel(candidate)) == _uuid(md.to_dict()):
                folder, source = candidate, uri
                break
        if folder is None:
            folder, source = _resave(model, root / "resaved"), "re-saved from the loaded PyFuncModel"
    _fetched[id(model)] = (weakref.ref(model), scratch, folder, wanted, source)
    weakref.finalize(model, _drop, id(model), scratch)
    return folder, source


def _origins(md: Any) -> list[str]:
    found = []
    if getattr(md, "model_id", None):
        found.append(f"models:/{md.model_id}")
    artifact_path = getattr(md, "artifact_path", None)
    if getattr(md, "run_id", None) and artifact_path and not os.path.isabs(str(artifact_path)):
        found.append(f"runs:/{md.run_id}/{artifact_path}")
    return found


def _uuid(mlmodel: dict) -> Any:
    return mlmodel.get("model_uuid")


def _same_model(model: Any, folder: Path, uri: str) -> None:
    theirs, ours = _uuid(_read_mlmodel(folder)), _uuid(model.metadata.to_dict())
    if theirs and ours and theirs != ours:
        raise InvalidArgumentError(
            f"Option model_uri={uri!r} holds another MLflow model (model_uuid {theirs}) than the PyFuncModel "
            f"given (model_uuid {ours}): give the URI or folder this PyFuncModel was loaded from.")


def _resave(model: Any, dest: Path) -> Path:
    """Write a loaded PyFuncModel again with its flavor's `save_model` (its origin cannot be read)."""
    import importlib

    import mlflow.pyfunc

    loader = model.loader_module
    pins = _pins(Handler.modules(model))
    try:
        if loader == "mlflow.pyfunc.model":
            context = getattr(getattr(model, "_model_impl", None), "context", None)
            artifacts = dict(getattr(context, "artifacts", None) or {}) or None
            mlflow.pyfunc.save_model(str(dest), python_model=model.unwrap_python_model(), artifacts=artifacts,
                                     signature=model.metadata.signature, pip_requirements=pins)
        else:
            flavor = importlib.import_module(loader)
            flavor.save_model(model.get_raw_model(), str(dest), signature=model.metadata.signature,
                              pip_requirements=pins, **_kept_format(model, flavor))
    except Exception as exc:
        raise UnsupportedModelError(
            "Cannot find the files of this loaded PyFuncModel: it has no run or model id that the tracking store "
            f"configured now knows, and saving it again with {loader}.save_model failed ({type(exc).__name__}: "
            f"{exc}). Log the folder or URI it was loaded from instead (reg.log_model('<folder>' or "
            "'runs:/<run_id>/<name>', ...)), or pass options={'model_uri': '<that folder or URI>'}.") from exc
    return dest


def _kept_format(model: Any, flavor: Any) -> dict:
    """The serialization the model was saved with (`serialization_format="cloudpickle"`, skops' trusted
    types), for a flavor whose `save_model` takes it: its newer default (sklearn: skops) may refuse the model."""
    import inspect

    conf = (model.metadata.flavors or {}).get(flavor.__name__.rsplit(".", 1)[-1]) or {}
    try:
        accepted = inspect.signature(flavor.save_model).parameters
    except (TypeError, ValueError):
        return {}
    return {k: conf[k] for k in ("serialization_format", "skops_trusted_types")
            if conf.get(k) is not None and k in accepted}


def _pins(modules: list[str]) -> list[str]:
    """`name==version` of the distributions providing `modules` (spares MLflow's slow requirement inference)."""
    from importlib import metadata

    pins: list[str] = []
    by_top = distributions_by_top_level()
    for module in modules:
        for dist in by_top.get(module, []):
            try:
                pin = f"{dist}=={metadata.version(dist)}"
            except metadata.PackageNotFoundError:
                continue
            if pin not in pins:
                pins.append(pin)
    return pins


def _forget(model: Any) -> None:
    hit = _fetched.get(id(model))
    if hit is not None and hit[0]() is model:
        _drop(id(model), hit[1])


def _drop(key: int, scratch: Any) -> None:
    hit = _fetched.get(key)
    if hit is not None and hit[1] is scratch:
        del _fetched[key]
    scratch.cleanup()


def _installed(module: str) -> bool:
    if module in sys.modules:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# ---------------------------------------------------------------------------------------- requirements


def _requirements_text(model: Any, options: dict) -> str:
    """The model's requirements.txt, else the pip section of its conda.yaml, as text ("" if neither)."""
    ref = _reference(model)
    if ref is not None and ref[0] == "uri":
        import mlflow.pyfunc

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return Path(mlflow.pyfunc.get_model_dependencies(ref[1], format="pip")).read_text(encoding="utf-8")
        except Exception:  # neither file: the environment record then rests on the installed modules
            return ""
    folder = _local_folder(model) if ref is not None else _pyfunc_folder(model, options)[0]
    text = folder / "requirements.txt"
    if text.is_file():
        return text.read_text(encoding="utf-8")
    conda = folder / "conda.yaml"
    if conda.is_file():
        import yaml

        try:
            doc = yaml.safe_load(conda.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            return ""
        for dep in doc.get("dependencies") or []:
            if isinstance(dep, dict) and isinstance(dep.get("pip"), list):
                return "\n".join(str(x) for x in dep["pip"])
    return ""


def _requirement_lines(text: str, what: str) -> list[str]:
    """The requirement lines of a requirements.txt: pip options (`-r`, `--index-url`) and comments are
    dropped; a line pip could not read is dropped with a warning."""
    out: list[str] = []
    keys: set[str] = set()
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            key = parse_requirement(line)["key"]
        except MregError:
            warnings.warn(f"Requirement {line!r} of the MLflow model {what} is not a pip requirement jupyter_mreg "
                          "can read: it is left out of the version's declared dependencies.", UserWarning,
                          stacklevel=4)
            continue
        if key not in keys:
            keys.add(key)
            out.append(line)
    return out


# ------------------------------------------------------------------------------------------ signatures


def _signature(mlflow_sig: dict) -> Any:
    """Our ModelSignature from an MLmodel `signature` entry (its fields are MLflow's JSON strings)."""
    def parsed(key: str) -> list:
        value = mlflow_sig.get(key)
        if value is None:
            return []
        return json.loads(value) if isinstance(value, str) else list(value)

    inputs = [_feature(s, s.get("name") or f"input_feature_{i}") for i, s in enumerate(parsed("inputs"))]
    outputs = [_feature(s, s.get("name") or f"output_feature_{i}") for i, s in enumerate(parsed("outputs"))]
    params = [_param(p) for p in parsed("params")]
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


def _datatype(mlflow_type: Any) -> Any:
    name = _MLFLOW_TYPES.get(str(mlflow_type))
    if name is None:
        raise SignatureError(
            f"MLflow type {mlflow_type!r} has no signature DataType (known: {', '.join(_MLFLOW_TYPES)}).")
    return DataType[name]


def _feature(spec: dict, name: str) -> Any:
    """A FeatureSpec / FeatureGroupSpec for one ColSpec or TensorSpec (as MLflow writes them in JSON)."""
    import numpy as np

    kind = spec.get("type")
    if kind == "tensor":
        tensor = spec.get("tensor-spec") or {}
        shape = [int(d) for d in tensor.get("shape") or []]
        dtype = DataType.from_numpy_type(np.dtype(tensor.get("dtype", "float64")))
        # The first dimension is the batch: a row of a [-1] tensor is a scalar, of [-1, 4] a vector of 4.
        return FeatureSpec(name, dtype, shape=tuple(shape[1:]) or None)
    if kind == "array":
        inner = _feature(spec.get("items") or {}, name)
        shape = (-1, *(inner.shape or ()))
        if isinstance(inner, FeatureGroupSpec):
            return FeatureGroupSpec(name, inner.specs, shape=shape)
        return FeatureSpec(name, inner.dtype, shape=shape)
    if kind == "object":
        props = spec.get("properties") or {}
        return FeatureGroupSpec(name, [_feature(v, k) for k, v in props.items()])
    if kind in ("map", "any"):
        return FeatureSpec(name, DataType.OBJECT)
    # MLflow's `required` is about the column being present, not its values: every value may be missing.
    return FeatureSpec(name, _datatype(kind))


def _param(spec: dict) -> Any:
    shape = spec.get("shape")
    return ParamSpec(spec["name"], _datatype(spec.get("type")), spec.get("default"),
                     shape=tuple(shape) if shape else None)


def _pyfunc_input(model: Any, frame: Any) -> Any:
    """The validated frame as the model's pyfunc takes it: arrays for a TensorSpec signature, else the frame."""
    import numpy as np
    import pandas as pd

    md = getattr(model, "metadata", None)
    schema = md.get_input_schema() if md is not None else None
    if schema is None or not schema.is_tensor_spec() or not isinstance(frame, pd.DataFrame):
        return frame
    specs = schema.inputs

    def array(position: int, spec: Any) -> Any:
        values = frame.iloc[:, position].to_numpy()
        if len(spec.shape) > 1:  # one array per row: stack them into the batch
            values = np.stack([np.asarray(v) for v in values]) if len(values) else values
        return np.asarray(values).astype(spec.type, copy=False)

    if len(specs) == 1:
        return array(0, specs[0])
    return {spec.name or f"input_feature_{i}": array(i, spec) for i, spec in enumerate(specs)}
