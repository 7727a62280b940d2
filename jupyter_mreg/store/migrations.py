"""Versioned schema migrations of the catalog.

`mreg_schema` holds one row per applied migration; the catalog's version is the highest. `MIGRATIONS[i]`
brings a catalog from version `i` to `i + 1`. Add a migration by appending a function: never edit or
reorder an existing one, because catalogs in the field have already run it.

Migration 1 creates the tables of `tables.py` as they are today, so on a new catalog every later migration
finds its work done: each one checks what is there and upgrades only a catalog an older release made
(`tests/registry/test_upgrade_from_0_1.py` opens one).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import (Column, Connection, Engine, Integer, MetaData, Table, Text, func, insert, inspect, select,
                        text)

from jupyter_mreg.errors import StorageError
from . import tables

# Kept apart from `tables.metadata` so that migration 1's `create_all` never creates or drops it.
schema_metadata = MetaData()
mreg_schema = Table("mreg_schema", schema_metadata, Column("version", Integer, nullable=False))

# Any constant works: it only has to be the same in every process that upgrades a PostgreSQL catalog.
_PG_UPGRADE_LOCK = 0x6D726567  # "mreg"


def _v1_create_tables(conn: Connection) -> None:
    tables.metadata.create_all(conn)


def _v2_manifests_apart(conn: Connection) -> None:
    """Manifests move from `versions.manifest` to their own table, `version_manifests`: listing 500
    versions read 3 MB of manifest overflow pages in SQLite (8.5 ms; 1.9 ms without them)."""
    tables.version_manifests.create(conn, checkfirst=True)
    if "manifest" not in {column["name"] for column in inspect(conn).get_columns("versions")}:
        return  # made by migration 1 from today's tables
    old = Table("versions", MetaData(), Column("id", Integer), Column("manifest", Text))
    conn.execute(insert(tables.version_manifests).from_select(["version_id", "manifest"],
                                                              select(old.c.id, old.c.manifest)))
    conn.execute(text("ALTER TABLE versions DROP COLUMN manifest"))


def _v3_catalog_identity(conn: Connection) -> None:
    """The catalog gets an id (an artifact store records which catalogs use it, so that collection in one
    never removes what another references), and deletes remember the objects they freed."""
    tables.catalog_info.create(conn, checkfirst=True)
    tables.freed_objects.create(conn, checkfirst=True)
    info = tables.catalog_info
    if conn.execute(select(info.c.value).where(info.c.name == "catalog_id")).first() is None:
        conn.execute(info.insert().values(name="catalog_id", value=uuid.uuid4().hex))


MIGRATIONS: list[Callable[[Connection], None]] = [
    _v1_create_tables,
    _v2_manifests_apart,
    _v3_catalog_identity,
]

LATEST_VERSION = len(MIGRATIONS)
# The oldest schema this release reads without upgrading it (a read-only open never upgrades): migration 3
# only added tables that reading does without. Raise it when a migration changes what reads use.
READABLE_SINCE = 2


def current_version(conn: Connection) -> int:
    """The catalog's schema version: 0 for an empty database."""
    if not inspect(conn).has_table(mreg_schema.name):
        return 0
    return int(conn.execute(select(func.max(mreg_schema.c.version))).scalar() or 0)


def check_supported(version: int, url: str = "") -> None:
    """Raise `StorageError` when the catalog was written by a newer jupyter_mreg than this one."""
    if version > LATEST_VERSION:
        where = f" at {url}" if url else ""
        raise StorageError(
            f"The catalog{where} has schema version {version}, but this jupyter_mreg knows schema versions "
            f"up to {LATEST_VERSION}: it was written by a newer jupyter_mreg. Upgrade jupyter_mreg "
            f"(pip install -U jupyter_mreg) in this environment to open it."
        )


def upgrade(engine: Engine, *, url: str = "") -> int:
    """Apply the missing migrations in one write transaction; return the resulting schema version.

    `engine` must begin write transactions that take the database's write lock (the `Catalog` passes its
    write engine, whose SQLite transactions start with `BEGIN IMMEDIATE`), so that processes opening a
    new catalog at the same moment run the migrations one after the other; the later ones find nothing
    left to do.
    """
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            # Concurrent CREATE TABLE in PostgreSQL races on its catalogs; serialize upgrades instead.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_UPGRADE_LOCK})
        schema_metadata.create_all(conn)
        version = current_version(conn)
        check_supported(version, url)
        for number in range(version + 1, LATEST_VERSION + 1):
            MIGRATIONS[number - 1](conn)
            conn.execute(mreg_schema.insert().values(version=number))
        return max(version, LATEST_VERSION)
