"""The prophet handler: Prophet's JSON format, a signature read from the model, column mapping, reproducible
uncertainty bounds, and a round trip through the registry into a fresh process."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

prophet = pytest.importorskip("prophet", reason="the prophet extra is not installed: pip install jupyter_mreg[prophet]")

from jupyter_mreg.errors import DataValidationError, InvalidArgumentError  # noqa: E402
from jupyter_mreg.model.handlers import find_handler  # noqa: E402
from jupyter_mreg.model.handlers.prophet import Handler  # noqa: E402
from jupyter_mreg.model.model_signature import DataType, FeatureSpec  # noqa: E402
from tests.frameworks.fresh import run_fresh  # noqa: E402

logging.getLogger("cmdstanpy").setLevel(logging.WARNING)  # one INFO line per chain otherwise
DAYS = 60


def _series(seed: int = 0) -> pd.DataFrame:
    """60 days: a trend, a weekly cycle, noise, and a temperature that moves the value."""
    rng = np.random.default_rng(seed)
    t = np.arange(DAYS)
    temp = rng.normal(20, 3, DAYS)
    y = 10 + 0.1 * t + np.sin(2 * np.pi * t / 7) + 0.3 * (temp - 20) + rng.normal(0, 0.1, DAYS)
    return pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=DAYS, freq="D"), "y": y, "temp": temp})


def _future(days: int = 14, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"ds": pd.date_range("2024-03-01", periods=days, freq="D"), "y": np.nan,
                         "temp": rng.normal(20, 3, days)})


def _expected(model, frame: pd.DataFrame) -> pd.DataFrame:
    """What Prophet itself forecasts with the handler's fixed seed."""
    np.random.seed(0)
    return model.predict(frame)


@pytest.fixture(scope="module")
def plain_model():
    return prophet.Prophet(daily_seasonality=False, yearly_seasonality=False).fit(_series()[["ds", "y"]])


@pytest.fixture(scope="module")
def regressor_model():
    m = prophet.Prophet(daily_seasonality=False, yearly_seasonality=False)
    m.add_regressor("temp")
    return m.fit(_series())


def test_accepts_fitted_prophet_only(plain_model):
    assert find_handler(plain_model) is Handler
    assert not Handler.can_handle(object())
    assert not Handler.can_handle(pd.DataFrame({"ds": [1]}))


def test_unfitted_model_is_refused_with_the_fix(reg):
    with pytest.raises(InvalidArgumentError, match=r"not fitted.*model\.fit\(df\)"):
        reg.log_model(prophet.Prophet(), model_name="p", version_name="v1")


def test_signature_comes_from_the_model_and_predict_is_a_table_function(reg, regressor_model):
    mv = reg.log_model(regressor_model, model_name="sales", version_name="v1")  # no sample needed
    (fn,) = mv.show_functions()
    assert fn["name"] == "PREDICT" and fn["target_method_function_type"] == "TABLE_FUNCTION"
    assert fn["is_partitioned"] is False
    sig = fn["signature"]
    assert sig.inputs == [FeatureSpec("ds", DataType.TIMESTAMP_NTZ, nullable=False),
                          FeatureSpec("y", DataType.DOUBLE), FeatureSpec("temp", DataType.DOUBLE)]
    outputs = [o.name for o in sig.outputs]
    assert outputs == list(regressor_model.predict(_future()).columns)  # every forecast column, Prophet's order
    assert {"ds", "yhat", "yhat_lower", "yhat_upper", "trend", "weekly", "temp"} <= set(outputs)
    assert sig.outputs[0] == FeatureSpec("ds", DataType.TIMESTAMP_NTZ)
    assert mv.manifest.handler["format"] == "prophet_json"
    assert mv.manifest.target_platforms == ["WAREHOUSE"]


def test_round_trip_in_a_fresh_process(reg, regressor_model, tmp_path):
    mv = reg.log_model(regressor_model, model_name="sales", version_name="v1")
    future = _future()
    fresh = run_fresh(mv, future, tmp_path)
    assert fresh["type"] == "prophet.forecaster.Prophet"
    expected = _expected(regressor_model, future)
    got = fresh["outputs"]["PREDICT"]
    # After a JSON round trip Prophet forecasts bit for bit the same, bounds included (same seed). Each column
    # comes back with its spec's dtype (Snowflake's as_dtype): datetime64[ns] for `ds` whatever unit Prophet
    # used, pandas' nullable Float64 for the forecast columns.
    assert [str(t) for t in got.dtypes[:2]] == ["datetime64[ns]", "Float64"]
    assert got.dtypes.tolist() == [f.as_dtype() for f in mv.show_functions()[0]["signature"].outputs]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    loaded = mv.load()
    assert type(loaded) is prophet.Prophet
    assert list(loaded.extra_regressors) == ["temp"]


def test_outputs_are_reproducible_and_leave_numpy_random_state_alone(reg, plain_model):
    mv = reg.log_model(plain_model, model_name="p", version_name="v1")
    future = _future()[["ds", "y"]]
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = mv.run(future)
    second = mv.run(future)
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    pd.testing.assert_frame_equal(first, second)  # yhat_lower/upper are sampled, yet equal
    # Prophet alone draws new bounds on every call; the point forecast is deterministic either way.
    assert not np.array_equal(plain_model.predict(future)["yhat_lower"], plain_model.predict(future)["yhat_lower"])
    np.testing.assert_array_equal(first["yhat"], plain_model.predict(future)["yhat"])


def test_a_regressor_is_a_required_input(reg, regressor_model):
    mv = reg.log_model(regressor_model, model_name="sales", version_name="v1")
    with pytest.raises(DataValidationError, match="temp"):
        mv.run(_future().drop(columns=["temp"]))


def test_date_and_target_columns_map_to_ds_and_y(reg):
    data = _series().rename(columns={"ds": "order_date", "y": "units"})
    m = prophet.Prophet(daily_seasonality=False, yearly_seasonality=False)
    m.add_regressor("temp")
    m.fit(data.rename(columns={"order_date": "ds", "units": "y"}))
    mv = reg.log_model(m, model_name="units", version_name="v1",
                       options={"date_column": "order_date", "target_column": "units"})
    sig = mv.show_functions()[0]["signature"]
    assert [f.name for f in sig.inputs] == ["order_date", "units", "temp"]
    future = _future().rename(columns={"ds": "order_date", "y": "units"})
    out = mv.run(future)
    expected = _expected(m, _future())
    np.testing.assert_array_equal(out["yhat"].to_numpy(), expected["yhat"].to_numpy())
    np.testing.assert_array_equal(out["yhat_upper"].to_numpy(), expected["yhat_upper"].to_numpy())
    assert mv.manifest.handler["date_column"] == "order_date"
    with pytest.raises(DataValidationError, match="order_date"):
        mv.run(_future())  # Prophet's own names are not the signature's


def test_mapping_onto_an_existing_ds_column_is_refused(regressor_model):
    frame = _future().rename(columns={"ds": "when"}).assign(ds=1.0)
    with pytest.raises(InvalidArgumentError, match="also has a column 'ds'"):
        Handler.invoke(_with_columns(regressor_model, "when", "y"), "predict", frame, {})


def test_bad_column_option_is_refused(reg, plain_model):
    with pytest.raises(InvalidArgumentError, match="date_column"):
        reg.log_model(plain_model, model_name="p", version_name="v1", options={"date_column": 3})


def test_holiday_columns_get_sql_safe_names(reg):
    holidays = pd.DataFrame({"holiday": "Big Sale", "ds": pd.to_datetime(["2024-01-15", "2024-02-15",
                                                                          "2024-03-15"])})
    m = prophet.Prophet(daily_seasonality=False, yearly_seasonality=False, holidays=holidays)
    m.fit(_series()[["ds", "y"]])
    mv = reg.log_model(m, model_name="h", version_name="v1")
    outputs = [o.name for o in mv.show_functions()[0]["signature"].outputs]
    assert "Big_Sale" in outputs and "Big Sale" not in outputs
    out = mv.run(_future()[["ds", "y"]])
    expected = _expected(m, _future()[["ds", "y"]])
    np.testing.assert_array_equal(out["Big_Sale"].to_numpy(), expected["Big Sale"].to_numpy())


def test_logistic_growth_needs_cap(reg):
    data = _series()[["ds", "y"]].assign(cap=20.0)
    m = prophet.Prophet(growth="logistic", daily_seasonality=False, yearly_seasonality=False).fit(data)
    mv = reg.log_model(m, model_name="capped", version_name="v1")
    assert [f.name for f in mv.show_functions()[0]["signature"].inputs] == ["ds", "y", "cap"]
    future = _future()[["ds", "y"]].assign(cap=20.0)
    np.testing.assert_array_equal(mv.run(future)["yhat"].to_numpy(), _expected(m, future)["yhat"].to_numpy())


def test_empty_input_gives_the_forecast_columns(reg, plain_model):
    mv = reg.log_model(plain_model, model_name="p", version_name="v1")
    out = mv.run(_future().iloc[:0][["ds", "y"]])
    assert len(out) == 0
    assert list(out.columns) == [o.name for o in mv.show_functions()[0]["signature"].outputs]


def _with_columns(model, date_col: str, target_col: str):
    """`model` as `load` returns it for a version logged with these column options."""
    import copy

    clone = copy.copy(model)
    clone._jupyter_mreg_columns = (date_col, target_col)
    return clone
