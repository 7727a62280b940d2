"""Which catalogs use an artifact store, so that collection run from one never removes what another uses.

The store is content-addressed, so two registries may share one (a team's S3 bucket, or two catalogs
pointed at one folder) and store each file once. Every catalog that writes to a store, or checks it,
records itself there (`catalogs/<catalog id>.json`: its id and its URL, password hidden). Collection run
from one catalog then opens every other recorded catalog read-only and removes an object only when none of
them references it and none has an upload in progress that may. When a recorded catalog cannot be read
(moved, deleted, its server down or its password not available), nothing is collected: `check` says which
catalog and how to forget one that is gone for good (`python -m jupyter_mreg check --forget-catalog ID`).

A catalog made before this record existed is recorded the first time it writes to its store or is checked
with this release; until then, only the empty-catalog guard in `check.py` protects its objects.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

from sqlalchemy import Connection, inspect, select

from jupyter_mreg.errors import StorageError

from . import tables
from .artifacts import ArtifactStore
from .catalog import Catalog, utcnow

_recorded: set[tuple[str, str, str]] = set()  # (catalog id, catalog URL, store URL) recorded by this process
_recorded_lock = threading.Lock()
# A Catalog's id, read once: a Catalog object stays on one database (a SQLite file made again under the same
# URL gets a new engine and a new Catalog, see catalog.py).
_ids: weakref.WeakKeyDictionary[Catalog, str] = weakref.WeakKeyDictionary()


def catalog_id(conn: Connection) -> str | None:
    """The catalog's id (schema version 3 on), or None for a catalog an older release made."""
    info = tables.catalog_info
    if not inspect(conn).has_table(info.name):  # a catalog of an older schema, opened read-only
        return None
    return conn.execute(select(info.c.value).where(info.c.name == "catalog_id")).scalar()


def record_use(catalog: Catalog, artifacts: ArtifactStore) -> str | None:
    """Record in the store that `catalog` uses it (once per process); return the catalog's id."""
    own_id = _ids.get(catalog)
    if own_id is None:
        with catalog.read() as conn:
            own_id = catalog_id(conn)
        if own_id is None:
            return None
        _ids[catalog] = own_id
    key = (own_id, catalog.url, artifacts.url)
    with _recorded_lock:
        if key in _recorded:
            return own_id
    if catalog.read_only:  # a reader changes nothing; it does not collect either
        return own_id
    records = artifacts.catalog_records()
    if records.get(own_id, {}).get("catalog_url") != catalog.display_url:
        artifacts.write_catalog_record(own_id, {"catalog_id": own_id, "catalog_url": catalog.display_url,
                                                "recorded_on": utcnow().isoformat(timespec="seconds") + "Z"})
    with _recorded_lock:
        _recorded.add(key)
    return own_id


def forget(catalog: Catalog, artifacts: ArtifactStore, forgotten_id: str) -> None:
    """Remove catalog `forgotten_id`'s record from the store: collection no longer spares its objects."""
    with catalog.read() as conn:
        own_id = catalog_id(conn)
    if forgotten_id == own_id:
        raise StorageError(
            f"Catalog {forgotten_id} is the catalog at {catalog.display_url} itself: it cannot forget itself. "
            f"Fix: pass the id of the other catalog that `check` reported.")
    if not artifacts.delete_catalog_record(forgotten_id):
        known = sorted(artifacts.catalog_records())
        raise StorageError(
            f"The artifact store at {artifacts.url!r} has no record of catalog {forgotten_id}; it records "
            f"{known or 'none'}. Fix: pass one of those ids.")


@dataclass
class OtherCatalogs:
    """The other catalogs recorded as using a store, opened read-only, and those that could not be read."""

    readable: list[Catalog] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # one line each: which catalog, why, the fix


def other_catalogs(catalog: Catalog, artifacts: ArtifactStore) -> OtherCatalogs:
    """Record `catalog`'s own use of the store, then open every other catalog recorded there."""
    own_id = record_use(catalog, artifacts)
    others = OtherCatalogs()
    for other_id, record in sorted(artifacts.catalog_records().items()):
        if other_id == own_id:
            continue
        url = record.get("catalog_url") or "(no URL recorded)"
        try:
            other = Catalog(url, read_only=True)
            with other.read() as conn:
                found_id = catalog_id(conn)
            if found_id != other_id:
                raise StorageError(f"the catalog there now is {found_id or 'one made by an older release'}, "
                                   f"not {other_id}: the registry that recorded itself was moved or deleted")
        except StorageError as exc:
            others.unreadable.append(
                f"the artifact store at {artifacts.url!r} is shared with catalog {other_id} at {url}, which "
                f"cannot be read now ({exc}); objects it may use are not collected. Fix: make that catalog "
                f"readable from here; if that registry is gone for good, run `python -m jupyter_mreg check "
                f"--forget-catalog {other_id}` (with this registry's --home or URLs).")
            continue
        others.readable.append(other)
    return others
