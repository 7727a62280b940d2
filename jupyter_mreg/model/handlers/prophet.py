"""Prophet forecasters (`model_type` "prophet"), stored with Prophet's own JSON serializer.

A fitted `prophet.Prophet` is accepted. It is written with `prophet.serialize.model_to_json` (plain JSON:
no pickle, readable by any Prophet of the same major version) and read back with `model_from_json`.

`predict` is a TABLE_FUNCTION, as in Snowflake: a forecast is computed over a whole frame of dates, and the
runner accepts any number of rows out. Its signature comes from the model itself, so no sample is needed:
inputs are the date column, the target column (nullable: NaN for future periods, as Snowflake's Prophet
support expects; Prophet ignores it), every `add_regressor` column, `cap` / `floor` for logistic growth and
the boolean condition column of each conditional seasonality. Snowflake's options `date_column` and
`target_column` name the first two in the user's words; they are renamed to Prophet's `ds` / `y` on each call.

Outputs are every column of Prophet's forecast frame (`ds`, `yhat`, `yhat_lower`, `yhat_upper`, `trend`, the
seasonality, holiday and regressor components with their bounds), like Snowflake's handler returns: the
components are what forecasts are explained and plotted with, and code that reads `forecast["trend"]` keeps
working. Names that are not SQL identifiers (holidays such as "Christmas Day") get `_` for other characters.

The `*_lower` / `*_upper` bounds come from Prophet's random simulation (`uncertainty_samples`): each call
seeds NumPy's global generator with a fixed seed and restores its state afterwards, so a version returns the
same numbers for the same input in any process (its functions are IMMUTABLE, as Snowflake's built-ins).
"""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from typing import Any, ClassVar

from jupyter_mreg.errors import InvalidArgumentError, UnsupportedModelError
from jupyter_mreg.model.handlers.base import ModelHandler
from jupyter_mreg.model.signatures.specs import FeatureSpec, ModelSignature
from jupyter_mreg.model.signatures.types import DataType

_MODEL_FILE = "model.json"
_SEED = 0  # any constant: what matters is that every call uses the same one
_COLUMNS_ATTR = "_jupyter_mreg_columns"  # the column mapping a loaded model carries to `invoke`
_SQL_NAME = re.compile(r"[^0-9A-Za-z_]")

# Prophet samples with NumPy's global generator; calls are serialised so a seeded call is never interleaved.
_predict_lock = threading.Lock()


class Handler(ModelHandler):
    """Fitted `prophet.Prophet` forecasters."""

    name: ClassVar[str] = "prophet"
    default_target_methods: ClassVar[tuple[str, ...]] = ("predict",)
    extra_options: ClassVar[frozenset[str]] = frozenset({"date_column", "target_column"})

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        if "prophet" not in sys.modules:
            return False
        from prophet import Prophet

        return isinstance(model, Prophet)

    @classmethod
    def exposes(cls, model: Any, method: str) -> bool:
        # Only `predict` has a signature the model defines; the other Prophet methods are building blocks.
        return method == "predict"

    @classmethod
    def function_info(cls, model: Any, method: str) -> dict:
        return {"function_type": "TABLE_FUNCTION", "is_partitioned": False}

    @classmethod
    def modules(cls, model: Any) -> list[str]:
        return ["prophet"]

    @classmethod
    def known_signatures(cls, model: Any, methods: list[str], options: dict) -> dict | None:
        import pandas as pd

        _check_fitted(model)
        date_col, target_col = _column_options(options)
        inputs = [FeatureSpec(date_col, DataType.TIMESTAMP_NTZ, nullable=False),
                  FeatureSpec(target_col, DataType.DOUBLE)]
        for name in _extra_inputs(model):
            dtype = DataType.BOOL if name in _condition_names(model) else DataType.DOUBLE
            inputs.append(FeatureSpec(name, dtype))
        names = [f.name for f in inputs]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise InvalidArgumentError(
                f"Prophet input column name(s) {clash} are used twice: date_column={date_col!r} and "
                f"target_column={target_col!r} must differ from each other and from the regressors "
                f"{_extra_inputs(model)}.")
        sample = _forecast(model, model.history.tail(1))
        outputs = []
        for column in sample.columns:
            series = sample[column]
            dtype = DataType.TIMESTAMP_NTZ if pd.api.types.is_datetime64_any_dtype(series) else DataType.DOUBLE
            outputs.append(FeatureSpec(column, dtype))
        return {m: ModelSignature(inputs=inputs, outputs=outputs) for m in methods if m == "predict"} or None

    @classmethod
    def save(cls, model: Any, path: Path, options: dict) -> dict:
        import prophet
        from prophet.serialize import model_to_json

        _check_fitted(model)
        try:
            text = model_to_json(model)
        except Exception as exc:
            raise UnsupportedModelError(
                f"This Prophet model cannot be written with prophet.serialize.model_to_json "
                f"({type(exc).__name__}: {exc}). Fit it with the standard Prophet class before logging it."
            ) from exc
        (Path(path) / _MODEL_FILE).write_text(text, encoding="utf-8")
        date_col, target_col = _column_options(options)
        cls_ = type(model)
        return {
            "file": _MODEL_FILE,
            "format": "prophet_json",
            "class": f"{cls_.__module__}.{cls_.__qualname__}",
            "prophet_version": prophet.__version__,
            "date_column": date_col,
            "target_column": target_col,
        }

    @classmethod
    def load(cls, path: Path, meta: dict, options: dict) -> Any:
        from prophet.serialize import model_from_json

        text = (Path(path) / meta.get("file", _MODEL_FILE)).read_text(encoding="utf-8")
        model = model_from_json(text)
        setattr(model, _COLUMNS_ATTR, (meta.get("date_column", "ds"), meta.get("target_column", "y")))
        return model

    @classmethod
    def invoke(cls, model: Any, method: str, data: Any, params: dict) -> Any:
        date_col, target_col = getattr(model, _COLUMNS_ATTR, ("ds", "y"))
        frame = _to_prophet_frame(model, data, date_col, target_col)
        if len(frame) == 0:  # Prophet refuses an empty frame; the columns are known
            return _forecast(model, model.history.tail(1)).iloc[:0]
        return _forecast(model, frame)


def _check_fitted(model: Any) -> None:
    if getattr(model, "history", None) is None or getattr(model, "params", None) in (None, {}):
        raise InvalidArgumentError(
            "This Prophet model is not fitted: there is nothing to forecast with. Call model.fit(df) on a frame "
            "with columns `ds` and `y` before logging it.")


def _column_options(options: dict) -> tuple[str, str]:
    """`(date column, target column)` from Snowflake's `date_column` / `target_column` options."""
    out = []
    for key, default in (("date_column", "ds"), ("target_column", "y")):
        value = options.get(key)
        if value is None:
            value = default
        if not isinstance(value, str) or not value:
            raise InvalidArgumentError(
                f"Option {key} must be the name of a column (a non-empty str), got {value!r}.")
        out.append(value)
    return out[0], out[1]


def _condition_names(model: Any) -> list[str]:
    return [s["condition_name"] for s in model.seasonalities.values() if s.get("condition_name")]


def _extra_inputs(model: Any) -> list[str]:
    """Columns `predict` reads besides `ds`: regressors, `cap` / `floor`, seasonality conditions."""
    names = list(model.extra_regressors)
    if model.growth == "logistic":
        names.append("cap")
        if model.logistic_floor:
            names.append("floor")
    for name in _condition_names(model):
        if name not in names:
            names.append(name)
    return names


def _to_prophet_frame(model: Any, data: Any, date_col: str, target_col: str) -> Any:
    """The caller's frame with its date / target columns renamed to Prophet's `ds` / `y`."""
    import pandas as pd

    frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
    renames = {}
    for user, own, key in ((date_col, "ds", "date_column"), (target_col, "y", "target_column")):
        if user == own or user not in frame.columns:
            continue
        if own in frame.columns:
            raise InvalidArgumentError(
                f"Cannot use column {user!r} as Prophet's {own!r} ({key}={user!r}): the input also has a column "
                f"{own!r}. Drop or rename that column.")
        renames[user] = own
    if renames:
        frame = frame.rename(columns=renames)
    needed = ["ds", *_extra_inputs(model)]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        shown = [date_col if c == "ds" else c for c in missing]
        raise InvalidArgumentError(
            f"The Prophet model needs the column(s) {shown} to forecast, found {list(map(str, frame.columns))}. "
            f"Pass the date column {date_col!r} and a future value of every regressor / cap / floor column.")
    if not pd.api.types.is_datetime64_any_dtype(frame["ds"]):
        frame = frame.assign(ds=pd.to_datetime(frame["ds"]))
    return frame


def _forecast(model: Any, frame: Any) -> Any:
    """`model.predict(frame)` with reproducible uncertainty bounds and SQL-safe column names."""
    import numpy as np

    with _predict_lock:
        state = np.random.get_state()
        np.random.seed(_SEED)
        try:
            out = model.predict(frame)
        finally:
            np.random.set_state(state)
    return out.rename(columns=_sql_names(list(out.columns)))


def _sql_names(columns: list[str]) -> dict[str, str]:
    """`{column: SQL-safe name}` for the columns that need one, keeping every name distinct."""
    taken = set(columns)
    renames: dict[str, str] = {}
    for column in columns:
        text = str(column)
        safe = _SQL_NAME.sub("_", text)
        if safe and safe[0].isdigit():
            safe = "_" + safe
        if safe == text:
            continue
        candidate, n = safe, 1
        while candidate in taken:
            n += 1
            candidate = f"{safe}_{n}"
        taken.add(candidate)
        renames[column] = candidate
    return renames
