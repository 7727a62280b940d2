"""`MANIFEST.yml`, the file that says what a model package is: the typed `Manifest`, written and read here.

The stored form is a plain dict (YAML in the package, JSON in the catalog) whose keys never change name:
`Manifest.to_dict(Manifest.from_dict(d)) == d` for every manifest this release writes, and keys this
release does not know (a newer minor release may add some) are kept and written back. A manifest of an
older `manifest_version` is upgraded by `MIGRATIONS` when it is read.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from jupyter_mreg.errors import EnvironmentMismatchError, ManifestError, NotFoundError, UnsupportedModelError

MANIFEST_FILE = "MANIFEST.yml"
MANIFEST_VERSION = "1.0"

# MIGRATIONS[i] = (version, step): `step` turns a manifest dict of `version` into one of the next version
# (setting its `manifest_version`). Append only, in version order: packages in the field were written by
# every earlier release. "1.0" is the first stored version, so there is nothing to upgrade yet.
MIGRATIONS: list[tuple[str, Callable[[dict], dict]]] = []

_FIX = ("It was not written by jupyter_mreg, or was changed after it was: save the model again "
        "(Registry.log_model or save_package) to get a complete package.")


@dataclass(frozen=True)
class MethodInfo:
    """One method a package exposes: its SQL function name, the Python method it calls, and its signature.

    `signature` is kept in its stored form (`ModelSignature.to_dict()`): most readers need only the
    names, and building a `ModelSignature` imports numpy and pandas.
    """

    name: str
    target_method: str
    signature: dict
    function_type: str = "FUNCTION"
    is_partitioned: bool = False
    volatility: str | None = None
    max_batch_size: int | None = None
    # Set on the `explain` method jupyter_mreg generates (`model/explain.py`): what it explains and how. A
    # model's own method named explain has none; releases without explainability keep it in `extra`.
    explain: dict | None = None
    sample_input_file_path: str | None = None  # the package's captured input row (`sample_row`), if any
    extra: dict = field(default_factory=dict)  # keys this release does not know, written back unchanged

    _KEYS = ("name", "target_method", "function_type", "is_partitioned", "volatility", "signature",
             "max_batch_size", "explain", "sample_input_file_path")

    @classmethod
    def from_dict(cls, d: Any, source: str = "manifest") -> MethodInfo:
        """The method of a manifest's `methods` entry `d`; `source` names where it was read in errors."""
        if not isinstance(d, dict):
            raise _not_a_manifest(source, f"a `methods` entry is {type(d).__name__} {d!r}, expected a mapping")
        for key in ("name", "target_method"):
            if not isinstance(d.get(key), str):
                raise _not_a_manifest(source, f"the `methods` entry {d.get('name', d)!r} has no text `{key}`")
        signature = d.get("signature")
        if not isinstance(signature, dict):
            raise _not_a_manifest(source, f"method {d['name']} has no `signature` mapping (found {signature!r})")
        if not isinstance(d.get("explain", {}), dict):
            raise _not_a_manifest(source, f"method {d['name']} has an `explain` that is not a mapping "
                                          f"({d['explain']!r})")
        return cls(
            name=d["name"], target_method=d["target_method"], signature=signature,
            function_type=d.get("function_type") or "FUNCTION", is_partitioned=bool(d.get("is_partitioned", False)),
            volatility=d.get("volatility"), max_batch_size=d.get("max_batch_size"), explain=d.get("explain"),
            sample_input_file_path=d.get("sample_input_file_path"),
            extra={k: v for k, v in d.items() if k not in cls._KEYS},
        )

    def to_dict(self) -> dict:
        """The stored form, keys in the order they are written; an unset optional key is left out."""
        out: dict[str, Any] = {"name": self.name, "target_method": self.target_method,
                               "function_type": self.function_type, "is_partitioned": self.is_partitioned}
        if self.volatility is not None:
            out["volatility"] = self.volatility
        out["signature"] = copy.deepcopy(self.signature)
        if self.max_batch_size is not None:
            out["max_batch_size"] = self.max_batch_size
        if self.explain is not None:
            out["explain"] = copy.deepcopy(self.explain)
        if self.sample_input_file_path is not None:
            out["sample_input_file_path"] = self.sample_input_file_path
        out.update(copy.deepcopy(self.extra))
        return out


@dataclass(frozen=True)
class Manifest:
    """What a model package is: its framework (`model_type`), task, methods with their signatures, the
    environment record it was built in, the handler's own data and the options it was logged with.

    `environment`, `handler`, `options` and `user_files` stay plain dicts: their keys belong to other
    modules (the environment record, each framework's handler). Treat them as read-only; `to_dict()`
    returns copies a caller may change.
    """

    model_type: str
    manifest_version: str = MANIFEST_VERSION
    task: str = "UNKNOWN"
    methods: tuple[MethodInfo, ...] = ()
    environment: dict = field(default_factory=dict)
    target_platforms: list[str] = field(default_factory=list)
    runnable_in: list[str] = field(default_factory=list)
    handler: dict = field(default_factory=dict)
    code_paths: list[str] = field(default_factory=list)
    user_files: dict[str, list[str]] = field(default_factory=dict)
    ext_modules: list[str] = field(default_factory=list)
    options: dict = field(default_factory=dict)
    user_data: dict | None = None  # SHOW VERSIONS' user_data; not written by this release
    extra: dict = field(default_factory=dict)  # keys this release does not know, written back unchanged

    # Stored keys in the order they are written, with the type each must have.
    _TYPES = {"manifest_version": str, "model_type": str, "task": str, "methods": list, "environment": dict,
              "target_platforms": list, "runnable_in": list, "handler": dict, "code_paths": list,
              "user_files": dict, "ext_modules": list, "options": dict, "user_data": dict}

    @classmethod
    def from_dict(cls, d: Any, source: str = "manifest") -> Manifest:
        """The manifest stored as `d` (upgraded from an older `manifest_version` first). `source` names where
        `d` was read (a file, a catalog row) in errors: `ManifestError` when `d` is not a manifest,
        `EnvironmentMismatchError` when a newer jupyter_mreg wrote it. `d`'s values are used, not copied."""
        if not isinstance(d, dict) or "model_type" not in d:
            found = f"a mapping with keys {sorted(map(str, d))}" if isinstance(d, dict) else type(d).__name__
            raise _not_a_manifest(source, f"expected a mapping with model_type, manifest_version and methods; "
                                          f"found {found}")
        d = _upgrade(d, source)
        values: dict[str, Any] = {}
        for key, kind in cls._TYPES.items():
            value = d.get(key)
            if value is None:
                continue
            if not isinstance(value, kind):
                raise _not_a_manifest(source, f"`{key}` is {type(value).__name__} {value!r}, "
                                              f"expected a {kind.__name__}")
            values[key] = value
        values["methods"] = tuple(MethodInfo.from_dict(m, source) for m in values.get("methods", ()))
        return cls(**values, extra={k: v for k, v in d.items() if k not in cls._TYPES})

    def to_dict(self) -> dict:
        """The stored form: the keys `from_dict` read, in the order they are written, as copies."""
        out: dict[str, Any] = {"manifest_version": self.manifest_version, "model_type": self.model_type,
                               "task": self.task, "methods": [m.to_dict() for m in self.methods]}
        for key in ("environment", "target_platforms", "runnable_in", "handler", "code_paths", "user_files",
                    "ext_modules", "options", "user_data"):
            value = getattr(self, key)
            if value is not None:
                out[key] = copy.deepcopy(value)
        out.update(copy.deepcopy(self.extra))
        return out


def _upgrade(d: dict, source: str) -> dict:
    """`d` brought to this release's major version by `MIGRATIONS`; a newer minor version is read as is."""
    version = d.get("manifest_version")
    for old, step in MIGRATIONS:
        if str(version) == old:
            d = step(dict(d))
            version = d.get("manifest_version")
    major = _major(version, source)
    if major > _major(MANIFEST_VERSION, source):
        raise EnvironmentMismatchError(
            f"{source} has manifest_version {version!r}; this jupyter_mreg reads {MANIFEST_VERSION}. "
            "Upgrade jupyter_mreg to load it."
        )
    if major < _major(MANIFEST_VERSION, source):
        raise _not_a_manifest(source, f"manifest_version {version!r} is older than any this jupyter_mreg reads "
                                      f"(from 1.0 to {MANIFEST_VERSION})")
    return d


def _major(version: Any, source: str) -> int:
    text = str(version) if isinstance(version, (str, int, float)) else ""
    head = text.split(".")[0]
    if not head.isdigit():
        raise _not_a_manifest(source, f"manifest_version is {version!r}, expected text like {MANIFEST_VERSION!r}")
    return int(head)


def _not_a_manifest(source: str, problem: str) -> ManifestError:
    return ManifestError(f"{source} is not a jupyter_mreg model manifest: {problem}. {_FIX}")


def write_manifest(root: Path, manifest: Manifest) -> None:
    """Write `manifest` into the package folder `root`, atomically: a package with a manifest is complete.
    Metadata that JSON cannot hold raises `UnsupportedModelError` naming the handler that returned it."""
    import yaml

    data = manifest.to_dict()
    try:
        json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise UnsupportedModelError(
            f"The {manifest.model_type} handler returned metadata that cannot be written as JSON/YAML: {exc}"
        ) from exc
    tmp = root / (MANIFEST_FILE + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        yaml.dump(data, f, Dumper=_yaml_classes()[1], sort_keys=False, default_flow_style=False, allow_unicode=True)
    os.replace(tmp, root / MANIFEST_FILE)


def read_manifest(path: str | os.PathLike) -> Manifest:
    """The manifest of the package in folder `path` (`NotFoundError` if there is none, `ManifestError` if
    the file is not a manifest)."""
    import yaml

    file = Path(path) / MANIFEST_FILE
    try:
        with open(file, "rb") as f:
            data = yaml.load(f, Loader=_yaml_classes()[0])
    except FileNotFoundError:
        raise NotFoundError(
            f"No model package at {path}: {MANIFEST_FILE} is missing (was the package saved completely?)."
        ) from None
    except yaml.YAMLError as exc:
        raise _not_a_manifest(str(file), f"it is not valid YAML ({str(exc).splitlines()[0]})") from None
    return Manifest.from_dict(data, source=str(file))


def _yaml_classes() -> tuple[type, type]:
    """(loader, dumper): the C ones are several times faster; PyYAML built without libyaml lacks them."""
    try:
        from yaml import CSafeDumper, CSafeLoader

        return CSafeLoader, CSafeDumper
    except ImportError:  # pragma: no cover
        from yaml import SafeDumper, SafeLoader

        return SafeLoader, SafeDumper


__all__ = ["MANIFEST_FILE", "MANIFEST_VERSION", "MIGRATIONS", "Manifest", "MethodInfo", "read_manifest",
           "write_manifest"]
