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
from jupyter_mreg.registry.identifiers import QualifiedName, parse_qualified
from jupyter_mreg.store import tables as t

SYSTEM_ALIASES = q.SYSTEM_ALIASES  # DEFAULT, FIRST, LAST: every model with versions has them
SHOW_MODELS_COLUMNS = ["created_on", "name", "model_type", "database_name", "schema_name", "comment", "owner",
                       "default_version_name", "versions", "aliases"]
# SHOW MODELS' model_type of every model logged with a registry (Snowflake's other kinds, such as Cortex
# fine-tuned models, do not exist here); the framework is in SHOW VERSIONS' model_attributes.
MODEL_TYPE = "USER_MODEL"
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


def model_schemas(session: Any, name: str) -> list[tuple[str, str]]:
    """`(database, schema)` of every schema that holds a model named `name` (identifier form), sorted."""
    m = t.models.c
    query = select(m.database_name, m.schema_name).where(m.name == name).order_by(m.database_name, m.schema_name)
    with session.catalog.read() as conn:
        return [tuple(row) for row in conn.execute(query)]


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
    versions = conn.execute(select(v.model_id, v.id, v.name).join(t.models, v.model_id == m.id)
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
            "model_type": MODEL_TYPE,
            "database_name": model.database_name, "schema_name": model.schema_name, "comment": model.comment,
            "owner": model.owner, "default_version_name": default.name if default is not None else None,
            "versions": json.dumps([r.name for r in own]),
            "aliases": json.dumps({k: names[i] for k, i in aliases.items() if i in names}, sort_keys=True),
        })
    frame = pd.DataFrame(rows, columns=SHOW_MODELS_COLUMNS)
    frame["created_on"] = pd.to_datetime(frame["created_on"], utc=True)
    return frame


def model_history(session: Any, qn: QualifiedName) -> pd.DataFrame:
    """The audit trail of the model now named `qn`, oldest first, across its renames: under each earlier
    name, back to the rename that gave the next one (a later model of an old name is another model), and
    back to its CREATE_MODEL."""
    h = t.history.c
    ids: list[int] = []
    name, before = qn, None
    with session.catalog.read() as conn:
        while name is not None:
            query = select(h.id, h.action, h.details).where(
                h.database_name == name.database, h.schema_name == name.schema, h.model_name == name.name)
            if before is not None:
                query = query.where(h.id < before)
            name = None
            for row in conn.execute(query.order_by(h.id.desc())):
                ids.append(row.id)
                if row.action == "CREATE_MODEL":
                    break
                if row.action == "RENAME_MODEL":  # recorded under the new name: go on under the old one
                    previous = json.loads(row.details).get("previous_name")
                    if previous:
                        name, before = parse_qualified(previous, qn.database, qn.schema), row.id
                    break
    return _history_frame(session, h.id.in_(ids))


def history(session: Any, **where: str) -> pd.DataFrame:
    """The audit trail, oldest first, filtered by equality on `database`, `schema`, `model`, `version`."""
    return _history_frame(session, *(t.history.c[f"{column}_name"] == value for column, value in where.items()))


def _history_frame(session: Any, *conditions: Any) -> pd.DataFrame:
    query = select(*(t.history.c[c] for c in HISTORY_COLUMNS)).where(*conditions).order_by(t.history.c.id)
    with session.catalog.read() as conn:
        rows = conn.execute(query).all()
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True)
    frame["details"] = frame["details"].map(json.loads)
    return frame
