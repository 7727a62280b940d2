"""`MANIFEST.yml`, the file that says what a model package is: writing it, reading it, and the plain
YAML/JSON values it may hold."""

from __future__ import annotations

import json
import math
import os
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

import yaml

from jupyter_mreg.errors import EnvironmentMismatchError, InvalidArgumentError, NotFoundError, UnsupportedModelError

MANIFEST_FILE = "MANIFEST.yml"
MANIFEST_VERSION = "1.0"

try:  # the C loader/dumper are several times faster; PyYAML built without libyaml lacks them
    from yaml import CSafeDumper as _Dumper
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


def write_manifest(root: Path, manifest: dict) -> None:
    """Write `manifest` into the package folder `root`, atomically: a package with a manifest is complete.
    Metadata that JSON cannot hold raises `UnsupportedModelError` naming the handler that returned it."""
    try:
        json.dumps(manifest)
    except (TypeError, ValueError) as exc:
        raise UnsupportedModelError(
            f"The {manifest['model_type']} handler returned metadata that cannot be written as JSON/YAML: {exc}"
        ) from exc
    tmp = root / (MANIFEST_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        yaml.dump(manifest, f, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True)
    os.replace(tmp, root / MANIFEST_FILE)


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


def plain(obj: Any) -> Any:
    """Plain YAML/JSON types: tuples become lists, numpy scalars Python numbers, enums their value."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [plain(v) for v in obj]
    if isinstance(obj, Enum):
        return plain(obj.value)
    if isinstance(obj, PurePath):
        return str(obj)
    if type(obj).__module__ == "numpy" and hasattr(obj, "tolist"):
        return plain(obj.tolist())
    return obj


_DROP = object()


def jsonable(obj: Any) -> Any:
    """`obj` as JSON types: in dicts and lists, what cannot be written (a callable, a module, ...) is left
    out; a non-finite float becomes a string. `obj` itself unwritable gives the `_DROP` marker."""
    obj = plain(obj)
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            v = jsonable(v)
            if v is not _DROP:
                out[k] = v
        return out
    if isinstance(obj, list):
        return [v for v in (jsonable(x) for x in obj) if v is not _DROP]
    return _DROP
