"""`ModelVersion`: one immutable version of a model, with the snowflake-ml-python ModelVersion API.

The files and the manifest of a version never change; its comment, metrics (metadata) and aliases may.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from jupyter_mreg._lazy import lazy_module
from jupyter_mreg.errors import InvalidArgumentError, MetricNotFoundError, MregError
from jupyter_mreg.model.packaging.manifest import Manifest
from jupyter_mreg.model.packaging.sample_row import read_sample_row
from jupyter_mreg.model.task import Task
from jupyter_mreg.registry import metadata as md
from jupyter_mreg.registry.html import error_card, version_card
from jupyter_mreg.registry.identifiers import QualifiedName

# Imported on first use, not when a notebook imports the registry: the catalog's modules load SQLAlchemy,
# the others our signature and environment code (about 60 ms together).
changes = lazy_module("jupyter_mreg.registry.changes")
q = lazy_module("jupyter_mreg.registry.queries")
environment = lazy_module("jupyter_mreg.model.environment")
loading = lazy_module("jupyter_mreg.registry.loading")
model_signature = lazy_module("jupyter_mreg.model.model_signature")
runner = lazy_module("jupyter_mreg.inference.runner")


class ModelVersion:
    """A version of a model. Get one from `Registry.log_model`, `Model.version`, `Model.versions`."""

    def __init__(self) -> None:
        raise RuntimeError("ModelVersion's initializer is not meant to be used. Use `Model.version` instead.")

    @classmethod
    def _ref(cls, registry: Any, qn: QualifiedName, version: str) -> ModelVersion:
        self = object.__new__(cls)
        self._registry, self._qn, self._version = registry, qn, version
        self._manifest: Manifest | None = None
        return self

    @property
    def _session(self):
        return self._registry.session

    def _row(self, *, with_manifest: bool = False):
        """The version's catalog row (`NotFoundError` if it was deleted)."""
        with self._session.catalog.read() as conn:
            return q.require_version(conn, self._qn, self._version, with_manifest=with_manifest)

    @property
    def manifest(self) -> Manifest:
        """The package manifest: methods, signatures, environment, handler data (immutable)."""
        if self._manifest is None:
            self._keep_manifest(self._row(with_manifest=True))
        return self._manifest

    def _keep_manifest(self, row) -> None:
        self._manifest = Manifest.from_dict(json.loads(row.manifest), f"The catalog's manifest of {self._what()}")

    # --- names and comment --------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self._qn.name

    @property
    def version_name(self) -> str:
        return self._version

    @property
    def fully_qualified_model_name(self) -> str:
        return str(self._qn)

    @property
    def comment(self) -> str | None:
        return self._row().comment

    @comment.setter
    def comment(self, comment: str) -> None:
        changes.set_version_comment(self._session, self._qn, self._version, comment)

    description = comment

    # --- metrics --------------------------------------------------------------------------------------
    def show_metrics(self) -> dict[str, Any]:
        return md.get_metrics(md.load_metadata(self._row().metadata))

    def get_metric(self, metric_name: str) -> Any:
        metrics = self.show_metrics()
        if metric_name not in metrics:
            raise MetricNotFoundError(f"Cannot find metric with name {metric_name} in model {self._qn} version "
                                      f"{self._version}. Existing metrics: {sorted(metrics)}.")
        return metrics[metric_name]

    def set_metric(self, metric_name: str, value: Any) -> None:
        changes.set_metric(self._session, self._qn, self._version, metric_name, value)

    def delete_metric(self, metric_name: str) -> None:
        changes.delete_metric(self._session, self._qn, self._version, metric_name)

    # --- aliases --------------------------------------------------------------------------------------
    def set_alias(self, alias_name: str) -> None:
        """Point `alias_name` at this version; if it named another version, it moves here in one step."""
        changes.set_alias(self._session, self._qn, self._version, alias_name)

    def unset_alias(self, version_or_alias: str) -> None:
        """Remove the alias `version_or_alias` from this version."""
        changes.unset_alias(self._session, self._qn, self._version, version_or_alias)

    @property
    def aliases(self) -> list[str]:
        """This version's aliases, system aliases (DEFAULT, FIRST, LAST) included."""
        with self._session.catalog.read() as conn:
            row = q.require_version(conn, self._qn, self._version)
            return q.aliases_by_version(conn, q.require_model(conn, self._qn)).get(row.id, [])

    # --- functions and task -------------------------------------------------------------------------
    def show_functions(self) -> list[dict]:
        """Each method: name, target_method, target_method_function_type, signature, is_partitioned, and
        sample_input_data (the example row captured at log_model that the method takes, or None)."""
        methods = self.manifest.methods
        sample = self.get_sample_input_data() if any(m.sample_input_file_path for m in methods) else None
        return [{"name": m.name, "target_method": m.target_method,
                 "target_method_function_type": m.function_type,
                 "signature": model_signature.ModelSignature.from_dict(m.signature),
                 "is_partitioned": m.is_partitioned,
                 "sample_input_data": sample.copy() if m.sample_input_file_path else None}
                for m in methods]

    def get_sample_input_data(self, function_name: str | None = None) -> pd.DataFrame | None:
        """The row of `sample_input_data` captured when the version was logged (option
        `capture_sample_input_data`, on by default), as a one-row DataFrame; None when none was captured (for
        `function_name`, when given: a method whose inputs are other columns has none)."""
        methods = self.manifest.methods
        if function_name is not None:
            methods = [runner.select_method(methods, function_name, f"{self._qn} version {self._version}")]
        path = next((m.sample_input_file_path for m in methods if m.sample_input_file_path), None)
        if path is None:
            return None
        files = self._files(self._row().id)
        with tempfile.TemporaryDirectory() as folder:  # read verified, like every file of a version
            sha, size = files[path]
            self._session.artifacts.get_file(sha, Path(folder) / "sample", size=size, label=path)
            return read_sample_row((Path(folder) / "sample").read_text(encoding="utf-8"))

    def get_model_task(self) -> Task:
        return Task(self.manifest.task)

    def environment(self):
        """What this version needs to run: `.requirements_txt` and `.environment_yml` texts (`.write(folder)`
        writes both), the Python version, and the packages it was built with and declared."""
        return environment.ModelEnvironment.from_record(self.manifest.environment)

    # --- using the model ------------------------------------------------------------------------------
    def _files(self, version_id: int) -> dict[str, tuple[str, int]]:
        with self._session.catalog.read() as conn:
            return q.version_files(conn, version_id)

    def _load(self, *, force: bool, options: dict | None, use_cache: bool) -> tuple[Any, tuple]:
        """The loaded object and the version's key (its folder's name in the load cache)."""
        row = self._row(with_manifest=self._manifest is None)
        if self._manifest is None:  # from the same row: one catalog read for the whole load
            self._keep_manifest(row)
        key = (row.id, row.created_on.strftime("%Y%m%d%H%M%S%f"))
        return loading.load_version(self._session, key, lambda: self._files(row.id), self.manifest,
                                    what=self._what(), force=force, options=options, use_cache=use_cache), key

    def load(self, *, force: bool = False, options: dict | None = None) -> Any:
        """The original Python object. Refuses when the environment differs from the recorded one, listing
        the differences, unless `force=True`. Loading unpickles code: only load from registries you trust."""
        return self._load(force=force, options=options, use_cache=False)[0]

    def run(self, X: Any, *, function_name: str | None = None, partition_column: str | None = None,
            strict_input_validation: bool = False, params: dict | None = None) -> pd.DataFrame:
        """Call a method on `X` in this process. pandas in, pandas out: the output columns only, in input
        row order on a fresh RangeIndex, each with its output spec's dtype (`FeatureSpec.as_dtype()`:
        Float64, Int64, string... for nullable outputs), as Snowflake returns them. `function_name` None or ""
        means the only method. A partitioned method is called once per value of `partition_column` (its
        outputs plus that column), or without it once on the whole input."""
        where = f"{self._qn} version {self._version}"
        method = runner.select_method(self.manifest.methods, function_name, where)
        model, key = self._load(force=False, options=None, use_cache=True)
        return runner.run_method(model, self.manifest.model_type, method, X, partition_column=partition_column,
                                 strict_input_validation=strict_input_validation, params=params, where=where,
                                 package=loading.version_folder(self._session, key))

    def export(self, target_path: str | os.PathLike) -> None:
        """Copy the version's files (verified) into `target_path`, which must be empty or not exist."""
        target = Path(target_path)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise InvalidArgumentError(f"Target path {target} for exporting model {self._qn} version "
                                       f"{self._version} must be an empty folder or not exist.")
        self._session.artifacts.materialize(self._files(self._row().id), target)

    def _what(self) -> str:
        return f"model {self._qn} version {self._version}"

    # --- display ----------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"ModelVersion(\n  name='{self._qn.name}',\n  version='{self._version}',\n)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ModelVersion) and (other._qn, other._version) == (self._qn, self._version)

    def __hash__(self) -> int:
        return hash((self._qn, self._version))

    def _repr_html_(self) -> str:
        try:
            return version_card(self)
        except MregError as exc:
            return error_card(exc)
