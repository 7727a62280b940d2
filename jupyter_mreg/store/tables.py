"""The catalog's tables (SQLAlchemy Core). Change them only through a new migration in `migrations.py`.

Names are stored in identifier form (`CUSTOMER_CHURN`, or `"mixedCase"` with quotes) so a lookup is an
exact match. Times are naive UTC. JSON columns hold text, so SQLite and PostgreSQL store the same bytes.
"""

from __future__ import annotations

from sqlalchemy import (BigInteger, Column, DateTime, ForeignKey, Index, Integer, MetaData, PrimaryKeyConstraint,
                        String, Table, Text, UniqueConstraint)

metadata = MetaData()

databases = Table(
    "databases", metadata,
    Column("name", String(255), primary_key=True),
    Column("created_on", DateTime, nullable=False),
    Column("owner", String(255)),
)

schemas = Table(
    "schemas", metadata,
    Column("database_name", String(255), ForeignKey("databases.name", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("created_on", DateTime, nullable=False),
    Column("owner", String(255)),
    PrimaryKeyConstraint("database_name", "name"),
)

models = Table(
    "models", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("database_name", String(255), nullable=False),
    Column("schema_name", String(255), nullable=False),
    Column("name", String(255), nullable=False),
    Column("comment", Text),
    Column("owner", String(255)),
    Column("created_on", DateTime, nullable=False),
    Column("default_version_id", Integer),  # no FK: versions point at models; checked in code
    UniqueConstraint("database_name", "schema_name", "name", name="uq_models_name"),
)

versions = Table(
    "versions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("created_on", DateTime, nullable=False),
    Column("comment", Text),
    Column("owner", String(255)),
    Column("metadata", Text, nullable=False, default="{}"),  # {"metrics": {...}, "snowpark_ml_schema_version": ...}
    Column("model_type", String(64), nullable=False),
    Column("task", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    # SHOW VERSIONS columns derived from the manifest at log time, so listing never parses manifests
    Column("functions", Text, nullable=False, default="[]"),
    Column("user_data", Text, nullable=False, default="{}"),
    Column("model_attributes", Text, nullable=False, default="{}"),
    Column("runnable_in", Text, nullable=False, default="[]"),
    UniqueConstraint("model_id", "name", name="uq_versions_name"),
    Index("ix_versions_model_created", "model_id", "created_on", "id"),  # listing in creation order
)

# Apart from `versions` (schema version 2): a manifest is kilobytes, and SQLite stores a row's columns in one
# record, so listing versions with their manifests inside read every manifest's overflow pages.
version_manifests = Table(
    "version_manifests", metadata,
    Column("version_id", Integer, ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True),
    Column("manifest", Text, nullable=False),  # the package's MANIFEST as JSON: methods, signatures, env
)

version_files = Table(
    "version_files", metadata,
    Column("version_id", Integer, ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    Column("path", String(1024), nullable=False),  # posix path inside the version folder
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    PrimaryKeyConstraint("version_id", "path"),
)

aliases = Table(
    "aliases", metadata,
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("alias", String(255), nullable=False),
    Column("version_id", Integer, ForeignKey("versions.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("model_id", "alias"),
)

tags = Table(
    "tags", metadata,
    Column("model_id", Integer, ForeignKey("models.id", ondelete="CASCADE"), nullable=False),
    Column("tag_name", String(800), nullable=False),  # fully qualified: DB.SCHEMA.TAG
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("model_id", "tag_name"),
)

# The audit trail: never foreign-keyed, so it outlives what it describes.
history = Table(
    "history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_time", DateTime, nullable=False),
    Column("user", String(255)),
    Column("role", String(255)),
    Column("action", String(64), nullable=False),
    Column("database_name", String(255)),
    Column("schema_name", String(255)),
    Column("model_name", String(255)),
    Column("version_name", String(255)),
    Column("details", Text, nullable=False, default="{}"),
)

# Facts about the catalog itself (schema version 3): `catalog_id` names it in the artifact store's record of
# the catalogs that use it (`store/sharing.py`).
catalog_info = Table(
    "catalog_info", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Objects a deleted version no longer needs, not collected yet (schema version 3): a delete can only collect
# objects older than the grace period, so the rest wait here for the next collection, which needs no listing
# of the store to find them. Garbage, not damage: `check` reports them as reclaimable.
freed_objects = Table(
    "freed_objects", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("freed_on", DateTime, nullable=False),
)

# Writes of artifact files in progress: objects they may still reference are not garbage.
uploads = Table(
    "uploads", metadata,
    Column("id", String(36), primary_key=True),
    Column("started_on", DateTime, nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("description", Text),
)
