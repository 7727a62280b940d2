"""Listings (`SHOW VERSIONS`, `SHOW MODELS`) kept per process until the catalog changes.

Every change appends a row to the audit trail (`changes.py`), so the newest history row says whether
anything changed since a listing was built, in any process: one indexed lookup instead of rebuilding a
DataFrame of thousands of rows. The sidebar polls listings; notebooks list the same model again and again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd
from sqlalchemy import select

from jupyter_mreg.store import tables as t

_SIZE = 64
_cache: OrderedDict[Hashable, tuple[Any, pd.DataFrame]] = OrderedDict()
_lock = threading.Lock()
_LAST_CHANGE = select(t.history.c.id, t.history.c.event_time).order_by(t.history.c.id.desc()).limit(1)


def change_stamp(conn: Any) -> tuple:
    """What the catalog's latest change was: equal stamps mean nothing changed in between. The time tells
    apart a catalog deleted and made again, whose history ids start over."""
    return tuple(conn.execute(_LAST_CHANGE).first() or ())


def cached(key: Hashable, stamp: tuple, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The frame `build()` returns, reused while the catalog's `stamp` stays the same; callers get a copy,
    so changing it changes nothing here."""
    with _lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == stamp:
            _cache.move_to_end(key)
            return hit[1].copy()
    frame = build()
    with _lock:
        _cache[key] = (stamp, frame)
        while len(_cache) > _SIZE:
            _cache.popitem(last=False)
    return frame.copy()
