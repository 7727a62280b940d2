"""What a statement runs against: the session (registry, current database and schema, role) and the
namespace whose pandas DataFrames are the tables a query reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jupyter_mreg.errors import NotFoundError
from jupyter_mreg.registry import Registry, catalog_reads
from jupyter_mreg.registry.registry import DEFAULT_DATABASE, DEFAULT_SCHEMA


@dataclass
class SqlContext:
    """`session` is a `jupyter_mreg.Session`; `namespace` maps names to Python values (a notebook's user
    namespace); `params` are the values `:name` binds to; `allow_file_access` lets queries read files and
    URLs (DuckDB's external access), off by default."""

    session: Any
    namespace: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    allow_file_access: bool = False
    _registries: dict = field(default_factory=dict, repr=False)

    @property
    def database(self) -> str:
        return self.session.get_current_database() or DEFAULT_DATABASE

    @property
    def schema(self) -> str:
        return self.session.get_current_schema() or DEFAULT_SCHEMA

    def registry(self, database: str | None = None, schema: str | None = None, *, create: bool = False) -> Any:
        """The `Registry` of `database.schema` (identifier forms), the current ones by default. A schema
        that does not exist is a `NotFoundError` unless `create` (a query must not create one by naming it)."""
        key = (database or self.database, schema or self.schema)
        if key not in self._registries:
            if not create:
                if not catalog_reads.schema_exists(self.session, *key):
                    raise NotFoundError(f"Schema {key[0]}.{key[1]} does not exist or not authorized.")
            # Identifier forms parse to themselves (`MYDB` stays MYDB, `"my db"` keeps its quotes).
            self._registries[key] = Registry(session=self.session, database_name=key[0], schema_name=key[1],
                                            create=create)
        return self._registries[key]
