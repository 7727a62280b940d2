"""A version's metadata JSON: `{"metrics": {...}, "snowpark_ml_schema_version": "2024-01-01"}`.

This is Snowflake's layout, so `SHOW VERSIONS` shows the same text. Metrics may be scalars, dicts, lists or
numpy arrays; arrays are stored as nested lists, and a side table `metric_types` remembers which metrics
were arrays (and their dtype) so `get_metric` gives back an array, e.g. a confusion matrix.
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_mreg.errors import InvalidArgumentError

SCHEMA_VERSION = "2024-01-01"


def _plain(name: str, value: Any) -> tuple[Any, str | None]:
    """A JSON-able copy of a metric value, and the array dtype when it was a numpy array."""
    kind = None
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        np = None
    if np is not None and isinstance(value, np.ndarray):
        kind = f"ndarray:{value.dtype.str}"
        value = value.tolist()
    elif np is not None and isinstance(value, np.generic):
        value = value.item()
    try:
        text = json.dumps(value, default=_default, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"Metric {name!r} has a value of type {type(value).__name__} that cannot be stored as JSON: use a "
            f"number, string, bool, list, dict or numpy array ({exc}).") from None
    return json.loads(text), kind


def _default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def metrics_metadata(metrics: dict) -> dict:
    if not isinstance(metrics, dict):
        raise InvalidArgumentError(f"metrics must be a dict of name to value, found {type(metrics).__name__}.")
    meta = {"metrics": {}, "snowpark_ml_schema_version": SCHEMA_VERSION}
    for name, value in metrics.items():
        set_metric(meta, name, value)
    return meta


def set_metric(meta: dict, name: str, value: Any) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidArgumentError(f"A metric name must be a non-empty string, found {name!r}.")
    plain, kind = _plain(name, value)
    meta.setdefault("metrics", {})[name] = plain
    types = meta.setdefault("metric_types", {})
    if kind:
        types[name] = kind
    else:
        types.pop(name, None)
    if not types:
        meta.pop("metric_types")


def delete_metric(meta: dict, name: str) -> None:
    meta.get("metrics", {}).pop(name)
    types = meta.get("metric_types", {})
    types.pop(name, None)
    if "metric_types" in meta and not types:
        meta.pop("metric_types")


def get_metrics(meta: dict) -> dict:
    """Metrics with arrays restored."""
    metrics = dict(meta.get("metrics", {}))
    for name, kind in meta.get("metric_types", {}).items():
        if name in metrics and kind.startswith("ndarray:"):
            import numpy as np

            metrics[name] = np.asarray(metrics[name], dtype=np.dtype(kind.split(":", 1)[1]))
    return metrics


def dump_metadata(meta: dict) -> str:
    return json.dumps(meta, sort_keys=True)


def checked_metadata(meta: Any) -> dict:
    """A whole metadata object given by a user (`SET METADATA`), as plain JSON values, checked so that
    `get_metrics` can read it back; `InvalidArgumentError` says what is wrong."""
    example = ' e.g. \'{"metrics": {"auc": 0.91}}\''
    if not isinstance(meta, dict):
        raise InvalidArgumentError(f"METADATA must be a JSON object,{example}; found a JSON {type(meta).__name__}.")
    try:
        meta = json.loads(json.dumps(meta, allow_nan=True))
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"METADATA cannot be stored as JSON: {exc}.") from None
    if not isinstance(meta.get("metrics", {}), dict):
        raise InvalidArgumentError(f'METADATA "metrics" must be an object of metric name to value,{example}.')
    version = meta.get("snowpark_ml_schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise InvalidArgumentError(f'METADATA "snowpark_ml_schema_version" is {version!r}; this registry reads '
                                   f"{SCHEMA_VERSION!r} (or leave it out).")
    types = meta.get("metric_types", {})
    if not isinstance(types, dict) or not all(_is_array_type(kind) for kind in types.values()):
        raise InvalidArgumentError('METADATA "metric_types" must map metric names to "ndarray:<dtype>" (as SHOW '
                                   "VERSIONS shows it), or be left out.")
    meta.setdefault("snowpark_ml_schema_version", SCHEMA_VERSION)
    return meta


def _is_array_type(kind: Any) -> bool:
    if not isinstance(kind, str) or not kind.startswith("ndarray:"):
        return False
    import numpy as np

    try:
        np.dtype(kind.split(":", 1)[1])
    except TypeError:
        return False
    return True


def load_metadata(text: str | None) -> dict:
    meta = json.loads(text or "{}")
    version = meta.get("snowpark_ml_schema_version")
    if version not in (None, SCHEMA_VERSION):
        raise InvalidArgumentError(
            f"Version metadata has schema version {version!r}, expected {SCHEMA_VERSION!r}: upgrade jupyter_mreg.")
    return meta
