"""`Model`: a named collection of versions, with the snowflake-ml-python Model API."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from jupyter_mreg._lazy import lazy_module
from jupyter_mreg.errors import InvalidArgumentError, MregError
from jupyter_mreg.registry.html import error_card, model_card
from jupyter_mreg.registry.identifiers import QualifiedName, parse_identifier, parse_qualified, split_parts
from jupyter_mreg.registry.model_version import ModelVersion

# The catalog's modules load SQLAlchemy: on first use, not when a notebook imports the registry.
catalog_reads = lazy_module("jupyter_mreg.registry.catalog_reads")
changes = lazy_module("jupyter_mreg.registry.changes")
listings = lazy_module("jupyter_mreg.registry.listings")
q = lazy_module("jupyter_mreg.registry.queries")

SHOW_VERSIONS_COLUMNS = ["created_on", "name", "aliases", "database_name", "schema_name", "model_name",
                         "is_default_version", "functions", "metadata", "user_data", "comment",
                         "model_attributes", "size", "runnable_in"]


class Model:
    """A model in a registry. Get one from `Registry.get_model` or `Registry.models`."""

    def __init__(self) -> None:
        raise RuntimeError("Model's initializer is not meant to be used. Use `Registry.get_model` instead.")

    @classmethod
    def _ref(cls, registry: Any, qn: QualifiedName) -> Model:
        self = object.__new__(cls)
        self._registry, self._qn = registry, qn
        return self

    @property
    def _session(self):
        return self._registry.session

    def _row(self, conn):
        return q.require_model(conn, self._qn)

    # --- names and comment ----------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._qn.name

    @property
    def fully_qualified_name(self) -> str:
        return str(self._qn)

    @property
    def comment(self) -> str | None:
        with self._session.catalog.read() as conn:
            return self._row(conn).comment

    @comment.setter
    def comment(self, comment: str) -> None:
        changes.set_model_comment(self._session, self._qn, comment)

    description = comment

    # --- versions -------------------------------------------------------------------------------
    def version(self, version_or_alias: str):
        """A version by alias (user aliases and DEFAULT, FIRST, LAST) or by name."""
        wanted = parse_identifier(version_or_alias, "Version or alias")
        with self._session.catalog.read() as conn:
            row = q.resolve_version(conn, self._row(conn), self._qn, wanted)
        return ModelVersion._ref(self._registry, self._qn, row.name)

    def first(self):
        return self.version("FIRST")

    def last(self):
        return self.version("LAST")

    @property
    def default(self):
        return self.version("DEFAULT")

    @default.setter
    def default(self, version: Any) -> None:
        name = version.version_name if isinstance(version, ModelVersion) else parse_identifier(version, "Version name")
        changes.set_default_version(self._session, self._qn, name)

    def versions(self) -> list:
        with self._session.catalog.read() as conn:
            rows = q.version_rows(conn, self._row(conn).id)
        return [ModelVersion._ref(self._registry, self._qn, r.name) for r in rows]

    def show_versions(self) -> pd.DataFrame:
        """One row per version with the columns of Snowflake's `SHOW VERSIONS IN MODEL` (JSON as text)."""
        with self._session.catalog.read() as conn:
            stamp = listings.change_stamp(conn)
            key = ("SHOW VERSIONS", self._session.catalog_url, self._qn)
            return listings.cached(key, stamp, lambda: self._versions_frame(conn))

    def _versions_frame(self, conn) -> pd.DataFrame:
        model = self._row(conn)
        user = q.user_aliases(conn, model.id)
        rows = q.show_versions_rows(conn, model.id)
        ids, created, names, metadata, user_data, comments, attributes, sizes, functions, runnable = (
            zip(*rows) if rows else [()] * 10)
        n = len(rows)
        # FIRST/LAST come from the sorted rows: no extra queries on a model with thousands of versions
        system = {"DEFAULT": model.default_version_id, "FIRST": ids[0], "LAST": ids[-1]} if n else {}
        aliases = q.group_aliases(system, user)
        return pd.DataFrame({
            "created_on": pd.to_datetime(pd.Series(created, dtype=object), utc=True, format="ISO8601"),
            "name": names,
            "aliases": [json.dumps(aliases[i]) if i in aliases else "[]" for i in ids],
            "database_name": [self._qn.database] * n, "schema_name": [self._qn.schema] * n,
            "model_name": [self._qn.name] * n,
            "is_default_version": [i == model.default_version_id for i in ids],
            "functions": functions, "metadata": metadata, "user_data": user_data, "comment": comments,
            "model_attributes": attributes, "size": sizes, "runnable_in": runnable,
        }, columns=SHOW_VERSIONS_COLUMNS)

    def delete_version(self, version_name: str) -> None:
        """Delete a version. The default version cannot be deleted: make another version the default first."""
        changes.delete_version(self._session, self._qn, parse_identifier(version_name, "Version name"))

    # --- tags -------------------------------------------------------------------------------------
    def _tag_name(self, tag_name: str) -> str:
        parts = split_parts(tag_name, "Tag name")
        if len(parts) == 1:
            return f"{self._qn.database}.{self._qn.schema}.{parts[0]}"
        if len(parts) == 3:
            return ".".join(parts)
        if len(parts) == 2:
            return f"{self._qn.database}.{parts[0]}.{parts[1]}"
        raise InvalidArgumentError(f"Tag name {tag_name!r} must be TAG, SCHEMA.TAG or DATABASE.SCHEMA.TAG.")

    def show_tags(self) -> dict[str, str]:
        """Tags as `{fully qualified tag name: value}`."""
        with self._session.catalog.read() as conn:
            return q.tags(conn, self._row(conn).id)

    def get_tag(self, tag_name: str) -> str | None:
        name = self._tag_name(tag_name)
        with self._session.catalog.read() as conn:
            return q.tags(conn, self._row(conn).id).get(name)

    def set_tag(self, tag_name: str, tag_value: str) -> None:
        changes.set_tag(self._session, self._qn, self._tag_name(tag_name), tag_value)

    def unset_tag(self, tag_name: str) -> None:
        changes.unset_tag(self._session, self._qn, self._tag_name(tag_name))

    # --- rename / history ---------------------------------------------------------------------------
    def rename(self, model_name: str) -> None:
        """Rename the model; a fully qualified name moves it to another database/schema."""
        target = parse_qualified(model_name, self._qn.database, self._qn.schema)
        changes.rename_model(self._session, self._qn, target)
        self._qn = target

    def get_model_history(self) -> pd.DataFrame:
        """This model's entries in the audit trail, oldest first, under its earlier names too (renames are
        followed back to its creation)."""
        return catalog_reads.model_history(self._session, self._qn)

    # --- display ----------------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"Model(\n  name='{self._qn.name}',\n  database_name='{self._qn.database}',\n  schema_name='{self._qn.schema}'\n)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and other._qn == self._qn

    def __hash__(self) -> int:
        return hash(self._qn)

    def _repr_html_(self) -> str:
        try:
            return model_card(self)
        except MregError as exc:  # deleted meanwhile: show that instead of a traceback
            return error_card(exc)


