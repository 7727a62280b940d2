"""Public reads of what a registry holds, for the layers above it (the SQL DDL, the CLI, the sidebar):
databases, schemas, the `SHOW MODELS` table of a schema, the audit trail. Models and versions are read
through `Registry`, `Model` and `ModelVersion`; changes go through `changes`."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from sqlalchemy import select

from jupyter_mreg.registry import listings
from jupyter_mreg.registry import queries as q
from jupyter_mreg.store import tables as t

SYSTEM_ALIASES = q.SYSTEM_ALIASES  # DEFAULT, FIRST, LAST: every model with versions has them
SHOW_MODELS_COLUMNS = ["created_on", "name", "model_type", "database_name", "schema_name", "comment", "owner",
                       "default_version_name", "versions", "aliases"]
HISTORY_COLUMNS = ["event_time", "user", "role", "action", "database_name", "schema_name", "model_name",
                   "version_name", "details"]


def database_names(session: Any) -> list[str]:
    """Every database of the registry, sorted."""
    with session.catalog.read() as conn:
        return q.database_names(conn)


def schema_names(session: Any, database: str | None = None) -> list[tuple[str, str]]:
    """`(database, schema)` of every schema (of `database` only, when given), sorted."""
    with session.catalog.read() as conn:
        return q.schema_names(conn, database)


def schema_exists(session: Any, database: str, schema: str) -> bool:
    with session.catalog.read() as conn:
        return q.schema_exists(conn, database, schema)


def change_stamp(session: Any) -> tuple:
    """The registry's latest change (its audit row's id and time), from any process: equal stamps mean nothing
    changed in between. A poller's ETag."""
    with session.catalog.read() as conn:
        return listings.change_stamp(conn)


def show_models(session: Any, database: str, schema: str) -> pd.DataFrame:
    """Rows of `SHOW MODELS IN SCHEMA database.schema`, as a DataFrame (three queries, however many models;
    none while the registry has not changed since the last call)."""
    with session.catalog.read() as conn:
        key = ("SHOW MODELS", session.catalog_url, database, schema)
        return listings.cached(key, listings.change_stamp(conn), lambda: _models_frame(conn, database, schema))


def _models_frame(conn: Any, database: str, schema: str) -> pd.DataFrame:
    m, v, a = t.models.c, t.versions.c, t.aliases.c
    in_schema = (m.database_name == database) & (m.schema_name == schema)
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


def history(session: Any, **where: str) -> pd.DataFrame:
    """The audit trail, oldest first, filtered by equality on `database`, `schema`, `model`, `version`."""
    query = select(*(t.history.c[c] for c in HISTORY_COLUMNS)).order_by(t.history.c.id)
    for column, value in where.items():
        query = query.where(t.history.c[f"{column}_name"] == value)
    with session.catalog.read() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True)
    frame["details"] = frame["details"].map(json.loads)
    return frame
