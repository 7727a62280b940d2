"""`Registry`: all models in one `DATABASE.SCHEMA`, with the snowflake-ml-python Registry API."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from jupyter_mreg.errors import AlreadyExistsError, InvalidArgumentError, MregError
from jupyter_mreg.model.packaging.manifest import Manifest
from jupyter_mreg.registry import queries as q
from jupyter_mreg.registry.identifiers import QualifiedName, parse_identifier, parse_qualified
from jupyter_mreg.registry.metadata import dump_metadata, metrics_metadata
from jupyter_mreg.registry.model import Model
from jupyter_mreg.registry.model_version import ModelVersion
from jupyter_mreg.registry.names import random_version_name
from jupyter_mreg.store import tables as t

SHOW_MODELS_COLUMNS = ["created_on", "name", "model_type", "database_name", "schema_name", "comment", "owner",
                       "default_version_name", "versions", "aliases"]
_NAME_ATTEMPTS = 1000


class Registry:
    """Models in one schema of a local registry.

    `database_name` falls back to the session's database, then `MODEL_REGISTRY`; `schema_name` is `PUBLIC`
    when only a database is given, else the session's schema, else `PUBLIC`. Both are created on first use.
    """

    def __init__(self, session: Any, *, database_name: str | None = None, schema_name: str | None = None,
                 options: dict | None = None) -> None:
        self._session = session
        if database_name:
            database = parse_identifier(database_name, "Database name")
            schema = parse_identifier(schema_name, "Schema name") if schema_name else "PUBLIC"
        else:
            database = session.get_current_database() or "MODEL_REGISTRY"
            schema = (parse_identifier(schema_name, "Schema name") if schema_name
                      else session.get_current_schema() or "PUBLIC")
        self._database, self._schema = database, schema
        unknown = sorted(set(options or {}) - {"enable_monitoring"})
        if unknown:
            raise InvalidArgumentError(f"Registry options {unknown} are unknown: the only option is 'enable_monitoring'.")
        self._options = {"enable_monitoring": True, **(options or {})}
        catalog = session.catalog
        with catalog.read() as conn:
            exists = q.schema_exists(conn, database, schema)
        if not exists:
            with catalog.write() as conn:
                q.ensure_schema(conn, session, database, schema)

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
            names = conn.execute(select(t.models.c.name).where(
                t.models.c.database_name == self._database, t.models.c.schema_name == self._schema)
                .order_by(t.models.c.name)).scalars().all()
        return [Model._ref(self, QualifiedName(self._database, self._schema, n)) for n in names]

    def show_models(self) -> pd.DataFrame:
        """One row per model, with the columns of Snowflake's `SHOW MODELS` (JSON text in versions/aliases)."""
        return show_models(self._session, self._database, self._schema)

    def delete_model(self, model_name: str) -> None:
        """Delete a model, all its versions, aliases and tags. Its files are collected as garbage."""
        qn = self._qualify(model_name)
        with self._session.catalog.write() as conn:
            row = q.require_model(conn, qn)
            conn.execute(t.models.delete().where(t.models.c.id == row.id))
            q.record_model(conn, self._session, "DROP_MODEL", qn)
        q.collect_garbage(self._session)

    # --- history ----------------------------------------------------------------------------------
    def get_history(self) -> pd.DataFrame:
        """Every change in this registry's schema: time, user, role, action, object, details."""
        return q.history_frame(self._session, database=self._database, schema=self._schema)

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

        A missing `version_name` gets a random `ADJECTIVE_ANIMAL_N` name. The first version of a model is
        its default. Nothing is visible until every file is stored and verified.
        """
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
        q.check_comment(comment, f"model {qn}")
        if version is not None:
            self._refuse_duplicate(qn, version)
        metadata = dump_metadata(metrics_metadata(metrics or {}))
        from jupyter_mreg.model.packaging.package import save_package

        staging = Path(tempfile.mkdtemp(prefix="mreg-log-"))
        try:
            manifest = save_package(
                model, staging, signatures=signatures, sample_input_data=sample_input_data,
                conda_dependencies=conda_dependencies, pip_requirements=pip_requirements,
                python_version=python_version, target_platforms=target_platforms, user_files=user_files,
                code_paths=code_paths, ext_modules=ext_modules, task=task, options=options)
            version = self._publish(qn, version, staging, manifest, comment=comment, metadata=metadata)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return ModelVersion._ref(self, qn, version)

    def _refuse_duplicate(self, qn: QualifiedName, version: str) -> None:
        with self._session.catalog.read() as conn:
            row = q.model_row(conn, qn)
            if row is not None and q.version_row(conn, row.id, version) is not None:
                raise _duplicate(qn, version)

    def _publish(self, qn: QualifiedName, version: str | None, folder: Path, manifest: Manifest, *,
                 comment: str | None, metadata: str) -> str:
        """Store the folder's files, then make the version visible in one catalog transaction."""
        from jupyter_mreg.store import finish_upload, pending_upload

        catalog = self._session.catalog
        artifacts = self._session.artifacts
        with pending_upload(catalog, f"log_model {qn}") as upload_id:
            files = artifacts.put_tree(folder, upload_id=upload_id)
            with catalog.write() as conn:
                # First: re-checks the files still exist, and keeps garbage collection out until commit.
                finish_upload(conn, upload_id, artifacts=artifacts, shas=[sha for sha, _ in files.values()])
                version = self._insert_version(conn, qn, version, manifest, files, comment=comment,
                                               metadata=metadata, action="LOG_MODEL")
        return version

    def _insert_version(self, conn, qn: QualifiedName, version: str | None, manifest: Manifest,
                        files: dict[str, tuple[str, int]], *, comment: str | None, metadata: str,
                        action: str, **details: Any) -> str:
        session = self._session
        q.ensure_schema(conn, session, qn.database, qn.schema)
        model = q.model_row(conn, qn)
        if model is None:
            model_id = conn.execute(t.models.insert().values(
                database_name=qn.database, schema_name=qn.schema, name=qn.name, owner=session.get_current_role(),
                created_on=q.now())).inserted_primary_key[0]
            q.record_model(conn, session, "CREATE_MODEL", qn)
        else:
            model_id = model.id
        if version is None:
            version = _free_version_name(conn, model_id)
        elif q.version_row(conn, model_id, version) is not None:
            raise _duplicate(qn, version)
        try:
            version_id = conn.execute(t.versions.insert().values(
                model_id=model_id, name=version, created_on=q.now(), comment=comment,
                owner=session.get_current_role(), metadata=metadata, manifest=json.dumps(manifest.to_dict()),
                model_type=manifest.model_type, task=manifest.task,
                size=sum(size for _, size in files.values()), **q.show_versions_fields(manifest)
            )).inserted_primary_key[0]
        except SqlIntegrityError as exc:  # a writer on another machine won the race (PostgreSQL)
            raise _duplicate(qn, version) from exc
        if files:
            conn.execute(t.version_files.insert(), [
                {"version_id": version_id, "path": path, "sha256": sha, "size": size}
                for path, (sha, size) in files.items()])
        if model is None or model.default_version_id is None:
            conn.execute(t.models.update().where(t.models.c.id == model_id).values(default_version_id=version_id))
        q.record_model(conn, session, action, qn, version, model_type=manifest.model_type,
                       comment=comment, **details)
        return version

    def _copy_version(self, source, qn: QualifiedName, version: str | None):
        """Log an existing version under another model/version name: same files, no upload."""
        src = source._row()
        files = source._files(src.id)
        with self._session.catalog.write() as conn:
            version = self._insert_version(
                conn, qn, version, Manifest.from_dict(json.loads(src.manifest)), files, comment=src.comment,
                metadata=src.metadata,
                action="COPY_VERSION", source=f"{source.fully_qualified_model_name} VERSION {source.version_name}")
        return ModelVersion._ref(self, qn, version)


def _duplicate(qn: QualifiedName, version: str) -> AlreadyExistsError:
    return AlreadyExistsError(
        f"Model {qn} version {version} already existed. To auto-generate `version_name`, skip that argument.")


def _free_version_name(conn, model_id: int) -> str:
    for _ in range(_NAME_ATTEMPTS):
        name = random_version_name()
        if q.version_row(conn, model_id, name) is None:
            return name
    raise MregError("Random version name generation failed: give a `version_name`.")


def show_models(session: Any, database: str, schema: str) -> pd.DataFrame:
    """Rows of `SHOW MODELS IN SCHEMA database.schema`, as a DataFrame (three queries, however many models)."""
    m, v, a = t.models.c, t.versions.c, t.aliases.c
    in_schema = (m.database_name == database) & (m.schema_name == schema)
    with session.catalog.read() as conn:
        models = conn.execute(select(t.models).where(in_schema).order_by(m.name)).all()
        versions = conn.execute(select(v.model_id, v.id, v.name, v.model_type).join(t.models, v.model_id == m.id)
                                .where(in_schema).order_by(v.created_on, v.id)).all()
        user = conn.execute(select(a.model_id, a.alias, a.version_id).join(t.models, a.model_id == m.id)
                            .where(in_schema)).all()
    by_model: dict[int, list] = {}
    for row in versions:
        by_model.setdefault(row.model_id, []).append(row)
    rows = []
    for model in models:
        own = by_model.get(model.id, [])
        names = {r.id: r.name for r in own}
        system = {"DEFAULT": model.default_version_id, "FIRST": own[0].id, "LAST": own[-1].id} if own else {}
        aliases = {**system, **{r.alias: r.version_id for r in user if r.model_id == model.id}}
        default = next((r for r in own if r.id == model.default_version_id), None)
        rows.append({
            "created_on": model.created_on, "name": model.name,
            "model_type": default.model_type if default is not None else None,
            "database_name": model.database_name, "schema_name": model.schema_name, "comment": model.comment,
            "owner": model.owner, "default_version_name": default.name if default is not None else None,
            "versions": json.dumps([r.name for r in own]),
            "aliases": json.dumps({k: names[i] for k, i in aliases.items() if i in names}, sort_keys=True),
        })
    frame = pd.DataFrame(rows, columns=SHOW_MODELS_COLUMNS)
    frame["created_on"] = pd.to_datetime(frame["created_on"], utc=True)
    return frame
