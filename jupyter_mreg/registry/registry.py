"""`Registry`: all models in one `DATABASE.SCHEMA`, with the snowflake-ml-python Registry API."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from jupyter_mreg._lazy import lazy_module
from jupyter_mreg.errors import InvalidArgumentError, NotFoundError, StorageError
from jupyter_mreg.model.handlers.base import scratch_in
from jupyter_mreg.model.packaging.manifest import Manifest
from jupyter_mreg.registry.identifiers import QualifiedName, parse_identifier, parse_qualified
from jupyter_mreg.registry.metadata import dump_metadata, metrics_metadata
from jupyter_mreg.registry.model import Model
from jupyter_mreg.registry.model_version import ModelVersion

# Imported on first use, not at import: the catalog's and the store's modules load SQLAlchemy and fsspec.
catalog_reads = lazy_module("jupyter_mreg.registry.catalog_reads")
changes = lazy_module("jupyter_mreg.registry.changes")
q = lazy_module("jupyter_mreg.registry.queries")
sharing = lazy_module("jupyter_mreg.store.sharing")
store = lazy_module("jupyter_mreg.store")
options_check = lazy_module("jupyter_mreg.model.packaging.options")
package = lazy_module("jupyter_mreg.model.packaging.package")  # and our save code, with every handler's module

DEFAULT_DATABASE = "MODEL_REGISTRY"  # where a session that names no database keeps its models
DEFAULT_SCHEMA = "PUBLIC"


class Registry:
    """Models in one schema of a local registry.

    `database_name` falls back to the session's database, then `MODEL_REGISTRY`; `schema_name` is `PUBLIC`
    when only a database is given, else the session's schema, else `PUBLIC`.

    As in Snowflake, a database or schema that does not exist is a `NotFoundError` (a `ValueError`):
    "Database X does not exist." Pass `create=True` (or give the session `"create_schemas": True`) to create
    it instead. Two exceptions, so a fresh
    registry works out of the box: the default location `MODEL_REGISTRY.PUBLIC` is created when missing,
    and so is the `PUBLIC` schema of a database that exists (every Snowflake database has one).
    A read-only registry creates nothing: a schema it lacks just lists no models.
    """

    def __init__(self, session: Any, *, database_name: str | None = None, schema_name: str | None = None,
                 options: dict | None = None, create: bool = False) -> None:
        self._session = session
        if database_name:
            database = parse_identifier(database_name, "Database name")
            schema = parse_identifier(schema_name, "Schema name") if schema_name else DEFAULT_SCHEMA
        else:
            database = session.get_current_database() or DEFAULT_DATABASE
            schema = (parse_identifier(schema_name, "Schema name") if schema_name
                      else session.get_current_schema() or DEFAULT_SCHEMA)
        self._database, self._schema = database, schema
        unknown = sorted(set(options or {}) - {"enable_monitoring"})
        if unknown:
            raise InvalidArgumentError(f"Registry options {unknown} are unknown: the only option is 'enable_monitoring'.")
        self._options = {"enable_monitoring": True, **(options or {})}
        if not session.read_only:
            self._open_schema(create or session.create_schemas
                              or (database, schema) == (DEFAULT_DATABASE, DEFAULT_SCHEMA))

    def _open_schema(self, create: bool) -> None:
        """Create this registry's schema when `create` (or it is the PUBLIC schema of an existing database);
        else refuse a missing database or schema with Snowflake's message and the fix."""
        session, database, schema = self._session, self._database, self._schema
        if catalog_reads.schema_exists(session, database, schema):
            return
        databases = catalog_reads.database_names(session)
        if create or (database in databases and schema == DEFAULT_SCHEMA):
            changes.create_schema(session, database, schema)
            return
        if database not in databases:
            what, existing = f"Database {database}", f"databases: {', '.join(databases) or 'none'}"
        else:
            schemas = [s for _, s in catalog_reads.schema_names(session, database)]
            what, existing = f"Schema {database}.{schema}", f"schemas of {database}: {', '.join(schemas)}"
        raise NotFoundError(
            f"{what} does not exist. Fix: pass create=True to create it (Registry(session, database_name="
            f"{database!r}, schema_name={schema!r}, create=True), or Session config \"create_schemas\": True "
            f"for every Registry of the session), or use an existing one ({existing}).")

    # --- identity -------------------------------------------------------------------------------
    @property
    def location(self) -> str:
        return f"{self._database}.{self._schema}"

    @property
    def session(self) -> Any:
        return self._session

    def _qualify(self, model_name: str) -> QualifiedName:
        return parse_qualified(model_name, self._database, self._schema)

    def __repr__(self) -> str:
        return f"Registry(location={self.location!r}, home={str(self._session.home)!r})"

    # --- models ---------------------------------------------------------------------------------
    def get_model(self, model_name: str):
        """The model named `model_name` (may be `DB.SCHEMA.NAME`); `NotFoundError` if it does not exist."""
        qn = self._qualify(model_name)
        with self._session.catalog.read() as conn:
            q.require_model(conn, qn)
        return Model._ref(self, qn)

    def models(self) -> list:
        with self._session.catalog.read() as conn:
            names = q.model_names(conn, self._database, self._schema)
        return [Model._ref(self, QualifiedName(self._database, self._schema, n)) for n in names]

    def show_models(self) -> pd.DataFrame:
        """One row per model, with the columns of Snowflake's `SHOW MODELS` (JSON text in versions/aliases)."""
        return catalog_reads.show_models(self._session, self._database, self._schema)

    def delete_model(self, model_name: str) -> None:
        """Delete a model, all its versions, aliases and tags. Its files are collected as garbage."""
        changes.delete_model(self._session, self._qualify(model_name))

    # --- history ----------------------------------------------------------------------------------
    def get_history(self) -> pd.DataFrame:
        """Every change in this registry's schema: time, user, role, action, object, details."""
        return catalog_reads.history(self._session, database=self._database, schema=self._schema)

    # --- logging ----------------------------------------------------------------------------------
    def log_model(self, model: Any, *, model_name: str, version_name: str | None = None,
                  comment: str | None = None, metrics: dict | None = None,
                  conda_dependencies: list[str] | None = None, pip_requirements: list[str] | None = None,
                  artifact_repository_map: dict | None = None, resource_constraint: dict | None = None,
                  target_platforms: list | None = None, python_version: str | None = None,
                  signatures: dict | None = None, sample_input_data: Any = None,
                  user_files: dict | None = None, code_paths: list | None = None, ext_modules: list | None = None,
                  task: Any = None, options: dict | None = None):
        """Log `model` as a new immutable version of `model_name` and return its `ModelVersion`.

        `artifact_repository_map` and `resource_constraint` are accepted for Snowflake code and ignored with
        a warning (models run in this Python environment, on this machine). A `conda_dependencies` entry from
        a named channel (`conda-forge::x`) is refused when `target_platforms` names WAREHOUSE, as in Snowflake.
        With `sample_input_data`, one row of it is kept with the version (`ModelVersion.get_sample_input_data`)
        unless `options={"capture_sample_input_data": False}`.

        A missing `version_name` gets a random `ADJECTIVE_ANIMAL_N` name. The first version of a model is
        its default. Nothing is visible until every file is stored and verified. The package is saved in a
        staging folder of the registry's own, never in TMPDIR (see `_staging`): one that a killed log_model
        left is removed by the next log_model, or by `check --repair`.
        """
        changes.require_writable(self._session)  # before packaging and uploading, not after
        qn = self._qualify(model_name)
        version = parse_identifier(version_name, "Version name") if version_name is not None else None
        if isinstance(model, ModelVersion):
            extra = {k: v for k, v in dict(
                comment=comment, metrics=metrics, conda_dependencies=conda_dependencies,
                pip_requirements=pip_requirements, artifact_repository_map=artifact_repository_map,
                resource_constraint=resource_constraint, target_platforms=target_platforms,
                python_version=python_version, signatures=signatures, sample_input_data=sample_input_data,
                user_files=user_files, code_paths=code_paths, ext_modules=ext_modules, task=task,
                options=options).items() if v is not None}
            if extra:
                raise InvalidArgumentError(
                    "When calling log_model with a ModelVersion, only model_name and version_name may be "
                    f"specified. Also given: {sorted(extra)}.")
            return self._copy_version(model, qn, version)
        changes.check_comment(comment, f"model {qn}")
        options_check.warn_unused_snowflake_options(artifact_repository_map, resource_constraint)
        if version is not None:
            self._refuse_duplicate(qn, version, model_name, version_name)
        metadata = dump_metadata(metrics_metadata(metrics or {}))
        sharing.record_use(self._session.catalog, self._session.artifacts)  # before any object: see store/sharing.py
        # The upload record comes first: it names the staging folder and keeps it safe while the package is saved.
        with store.pending_upload(self._session.catalog, f"log_model {qn}") as upload_id:
            # What a handler fetches while saving (an MLflow model's files) goes there too.
            with self._staging(upload_id) as staging, scratch_in(staging):
                manifest = package.save_package(
                    model, staging / "package", signatures=signatures, sample_input_data=sample_input_data,
                    conda_dependencies=conda_dependencies, pip_requirements=pip_requirements,
                    python_version=python_version, target_platforms=target_platforms, user_files=user_files,
                    code_paths=code_paths, ext_modules=ext_modules, task=task, options=options)
                version = self._publish(qn, version, upload_id, staging / "package", manifest, comment=comment,
                                        metadata=metadata)
        return ModelVersion._ref(self, qn, version)

    @contextmanager
    def _staging(self, upload_id: str) -> Iterator[Path]:
        """A new folder named after upload `upload_id` to save a package in (in a subfolder), removed afterwards.

        Inside the artifact store's own `tmp/` when the store is a local folder (same disk: its files are
        then renamed into place, not copied), else under `<home>/tmp`. Staging folders there that killed
        log_models left are removed first, once older than `STAGING_GRACE_SECONDS`.
        """
        session = self._session
        in_store = session.artifacts.local_tmp_dir
        parent = Path(in_store or session.staging_dir)
        store.remove_abandoned_staging(session.catalog, parent, artifacts=session.artifacts if in_store else None)
        staging = parent / store.staging_name(upload_id)
        try:
            staging.mkdir(parents=True)
        except OSError as exc:
            raise StorageError(
                f"Cannot create the folder {staging} to save the model package in: {exc}. Fix: check that you "
                f"may write to {parent} and that its disk has free space."
            ) from exc
        try:
            yield staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _refuse_duplicate(self, qn: QualifiedName, version: str, model_name: str, version_name: str) -> None:
        """Refuse, before packaging, a version name the model has (named as the caller wrote it, as Snowflake)."""
        with self._session.catalog.read() as conn:
            row = q.model_row(conn, qn)
            if row is not None and q.version_row(conn, row.id, version) is not None:
                raise changes.duplicate_version(model_name, version_name)

    def _publish(self, qn: QualifiedName, version: str | None, upload_id: str, folder: Path, manifest: Manifest,
                 *, comment: str | None, metadata: str) -> str:
        """Move the staged folder's files into the store, then make the version visible in one catalog
        transaction (which ends upload `upload_id`)."""
        session = self._session
        files = session.artifacts.put_tree(folder, upload_id=upload_id, move=True)
        change = changes.publish_version(session, qn, version, manifest, files, comment=comment,
                                         metadata=metadata, upload_id=upload_id)
        return change.version

    def _copy_version(self, source: ModelVersion, qn: QualifiedName, version: str | None) -> ModelVersion:
        """Log an existing version under another model/version name: same files, no upload."""
        source_qn = parse_qualified(source.fully_qualified_model_name, self._database, self._schema)
        change = changes.copy_version(self._session, source_qn, source.version_name, qn, version)
        return ModelVersion._ref(self, qn, change.version)
