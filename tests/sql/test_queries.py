"""`%%mreg` queries end to end through `jupyter_mreg.sql.execute`: every form of model call, table functions,
the SQL around them (run by DuckDB over the namespace's DataFrames), and what the model is sent."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mreg.sql import execute
from tests.sql.query_env import Counting, module_env

FEATURES = ["age", "income", "tenure"]


@pytest.fixture(scope="module")
def env(tmp_path_factory, churn, pipe):
    yield from module_env(tmp_path_factory, churn, pipe)


def run(env, sql, **more):
    params = more.pop("params", None)
    return execute(sql, env.ns(**more), session=env.session, params=params)


def labels(env, frame, version="v1", method="predict"):
    model = env.v1.load() if version == "v1" else env.v2.load()
    return getattr(model, method)(frame[FEATURES])


# --- the headline query and the forms of a model call ------------------------------------------------------------
def test_headline_query_scores_filtered_rows_and_orders_by_the_result(env):
    out = run(env, "SELECT id, MYDB.ML.CUSTOMER_CHURN!PREDICT(*):output_feature_0 AS churn\n"
                   "FROM new_customers WHERE region = 'EU' ORDER BY churn DESC, id")
    eu = env.customers[env.customers.region == "EU"]
    expected = pd.DataFrame({"id": eu.id, "churn": labels(env, eu)}).sort_values(
        ["churn", "id"], ascending=[False, True], ignore_index=True)
    assert list(out.columns) == ["id", "churn"]
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)
    assert out["churn"].dtype == np.int64


def test_star_and_positional_arguments_give_the_same_scores(env):
    out = run(env, "SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT_PROBA(*):output_feature_1 AS a, "
                   "MYDB.ML.CUSTOMER_CHURN!PREDICT_PROBA(age, income, tenure):output_feature_1 AS b, "
                   "MYDB.ML.CUSTOMER_CHURN!PREDICT_PROBA(age + 0, income * 1, tenure):output_feature_1 AS c "
                   "FROM new_customers")
    expected = env.v1.load().predict_proba(env.customers[FEATURES])[:, 1]
    np.testing.assert_allclose(out["a"], expected)
    np.testing.assert_allclose(out["b"], expected)
    np.testing.assert_allclose(out["c"], expected)


def test_positional_arguments_follow_the_signature_not_the_column_names(env):
    renamed = env.customers.rename(columns={"age": "x1", "income": "x2", "tenure": "x3"})
    out = run(env, "SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT(x1, x2, x3):output_feature_0 AS p FROM renamed",
              renamed=renamed)
    np.testing.assert_array_equal(out["p"], labels(env, env.customers))


def test_bare_and_schema_qualified_names_resolve_in_the_current_database_and_schema(env):
    from jupyter_mreg import Session

    session = Session.builder.configs({"home": str(env.session.home), "database": "mydb", "schema": "ml"}).create()
    try:
        expected = labels(env, env.customers)
        for name in ("customer_churn", "CUSTOMER_CHURN", "ml.customer_churn", "MYDB.ML.Customer_Churn"):
            out = execute(f"SELECT {name}!predict(*):output_feature_0 AS p FROM new_customers", env.ns(),
                          session=session)
            np.testing.assert_array_equal(out["p"], expected, err_msg=name)
    finally:
        session.close()


def test_model_function_forms_pick_versions_and_aliases(env):
    v1, v2 = labels(env, env.customers, "v1"), labels(env, env.customers, "v2")
    assert (v1 != v2).any()  # the two versions are distinguishable
    for form, expected in [("MODEL(MYDB.ML.CUSTOMER_CHURN)", v1), ("MODEL(MYDB.ML.CUSTOMER_CHURN, V1)", v1),
                           ("MODEL(MYDB.ML.customer_churn, v2)", v2), ("MODEL(MYDB.ML.CUSTOMER_CHURN, LAST)", v2),
                           ("MODEL(MYDB.ML.CUSTOMER_CHURN, FIRST)", v1),
                           ("MODEL(MYDB.ML.CUSTOMER_CHURN, PRODUCTION)", v1),
                           ("MODEL(MYDB.ML.CUSTOMER_CHURN, DEFAULT)", v1)]:
        out = run(env, f"SELECT {form}!PREDICT(*):output_feature_0 AS p FROM new_customers")
        np.testing.assert_array_equal(out["p"], expected, err_msg=form)


def test_with_model_version_cte_binds_an_alias_mixed_with_ordinary_ctes(env):
    out = run(env, "WITH mv AS MODEL MYDB.ML.CUSTOMER_CHURN VERSION V2,\n"
                   "     eu AS (SELECT * FROM new_customers WHERE region = 'EU'),\n"
                   "     m1 AS MODEL MYDB.ML.CUSTOMER_CHURN\n"
                   "SELECT id, mv!predict(*):output_feature_0 AS v2, m1!predict(*):output_feature_0 AS v1 FROM eu "
                   "ORDER BY id")
    eu = env.customers[env.customers.region == "EU"]
    np.testing.assert_array_equal(out["id"], eu["id"])
    np.testing.assert_array_equal(out["v2"], labels(env, eu, "v2"))
    np.testing.assert_array_equal(out["v1"], labels(env, eu, "v1"))


def test_quoted_method_names_are_case_sensitive(env):
    out = run(env, 'SELECT MYDB.ML.LOGS!"predictLog"(income):log_income AS l, MYDB.ML.LOGS!predict(income) AS d '
                   "FROM new_customers")
    np.testing.assert_allclose(out["l"], np.log(env.customers["income"].abs()))
    np.testing.assert_allclose(out["d"].struct.field("doubled"), env.customers["income"] * 2)


def test_quoted_model_name_is_another_model_than_the_unquoted_one(env):
    out = run(env, 'SELECT MYDB.ML."customer_churn"!predict(*):answer AS a, '
                   "MYDB.ML.customer_churn!predict(*):output_feature_0 AS c FROM new_customers")
    assert (out["a"] == 42.0).all()
    np.testing.assert_array_equal(out["c"], labels(env, env.customers))


# --- results: fields, casts, whole OBJECTs, names ------------------------------------------------------------------
def test_field_extraction_cast_and_bracket(env):
    out = run(env, "SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT_PROBA(*):output_feature_1::FLOAT AS p, "
                   "MYDB.ML.CUSTOMER_CHURN!PREDICT_PROBA(*)['output_feature_0'] AS q FROM new_customers")
    np.testing.assert_allclose(out["p"] + out["q"], 1.0)
    assert out["p"].dtype == np.float64


def test_whole_object_is_an_arrow_backed_struct_keyed_by_output_names(env):
    out = run(env, "SELECT id, MYDB.ML.CUSTOMER_CHURN!PREDICT_PROBA(*) AS proba FROM new_customers "
                   "WHERE region = 'US' ORDER BY id")
    assert isinstance(out["proba"].dtype, pd.ArrowDtype)
    assert [f.name for f in out["proba"].dtype.pyarrow_dtype] == ["output_feature_0", "output_feature_1"]
    us = env.customers[env.customers.region == "US"]
    np.testing.assert_allclose(out["proba"].struct.field("output_feature_1"), env.v1.load().predict_proba(
        us[FEATURES])[:, 1])
    assert out["proba"].iloc[0].keys() == {"output_feature_0", "output_feature_1"}


def test_result_columns_are_named_as_the_query_wrote_them(env):
    out = run(env, "SELECT ID, Region, MYDB.ML.CUSTOMER_CHURN!PREDICT(*):output_feature_0, "
                   "IFF(age > 60, 'old', 'young'), MYDB.ML.CUSTOMER_CHURN!PREDICT(*) FROM NEW_CUSTOMERS LIMIT 2")
    assert list(out.columns) == ["ID", "Region", "MYDB.ML.CUSTOMER_CHURN!PREDICT(*):output_feature_0",
                                 "IFF(age > 60, 'old', 'young')", "MYDB.ML.CUSTOMER_CHURN!PREDICT(*)"]


# --- what the model is sent --------------------------------------------------------------------------------------
def test_model_runs_once_on_the_rows_that_survive_filters(env):
    Counting.calls.clear()
    out = run(env, "SELECT id, MYDB.ML.COUNTING!PREDICT(*):age_next_year AS a, "
                   "MYDB.ML.COUNTING!PREDICT(age):age_next_year AS b FROM new_customers "
                   "WHERE region = 'EU' AND age > 30 ORDER BY a")
    expected = env.customers[(env.customers.region == "EU") & (env.customers.age > 30)]
    assert Counting.calls == [len(expected)]  # identical calls: one run, on the filtered rows only
    assert sorted(out["a"]) == sorted(expected["age"] + 1) and (out["a"] == out["b"]).all()


def test_limit_without_order_stops_scoring_early_and_full_scan_scores_all_rows(env):
    Counting.calls.clear()
    out = run(env, "SELECT MYDB.ML.COUNTING!PREDICT(*):age_next_year AS a FROM new_customers LIMIT 3")
    assert Counting.calls == [3] and len(out) == 3
    Counting.calls.clear()
    run(env, "SELECT MYDB.ML.COUNTING!PREDICT(*) FROM new_customers")
    assert Counting.calls == [len(env.customers)]


def test_model_predicate_filters_after_scoring(env):
    Counting.calls.clear()
    out = run(env, "SELECT id FROM new_customers WHERE MYDB.ML.COUNTING!PREDICT(*):age_next_year > 70 "
                   "AND region = 'US' ORDER BY id")
    us = env.customers[env.customers.region == "US"]
    assert Counting.calls == [len(us)]
    assert out["id"].tolist() == us[us.age + 1 > 70]["id"].tolist()


def test_columns_match_case_insensitively_both_ways(env):
    upper = env.customers.rename(columns=str.upper)  # AGE, INCOME, TENURE vs the signature's age, income, tenure
    out = run(env, "SELECT id, MYDB.ML.CUSTOMER_CHURN!PREDICT(*):output_feature_0 AS p FROM UPPER_CUSTOMERS "
                   "ORDER BY ID", upper_customers=upper)
    np.testing.assert_array_equal(out["p"], labels(env, env.customers))
    assert list(out.columns) == ["id", "p"]


def test_nan_features_reach_the_model_as_nan_and_model_errors_are_reported(env):
    holes = env.customers.head(8).copy()
    holes.loc[[1, 5], "income"] = np.nan
    for where in ("", " WHERE id >= 0"):  # straight from the DataFrame, and through DuckDB (NaN is NULL there)
        out = run(env, f"SELECT id, MYDB.ML.LOGS!PREDICT(income):doubled AS d FROM holes{where}", holes=holes)
        np.testing.assert_array_equal(out["d"], holes["income"] * 2)  # every row scored; NaN in, NaN out
    from jupyter_mreg.sql.errors import SqlError

    with pytest.raises(SqlError, match="Input X contains NaN"):
        run(env, "SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT(*) FROM holes", holes=holes)


def test_empty_input_gives_empty_typed_result(env):
    out = run(env, "SELECT id, MYDB.ML.CUSTOMER_CHURN!PREDICT(*):output_feature_0 AS p FROM new_customers "
                   "WHERE region = 'MARS'")
    assert list(out.columns) == ["id", "p"] and len(out) == 0


def test_select_without_from_scores_literals(env):
    out = run(env, "SELECT MYDB.ML.COUNTING!PREDICT(41):age_next_year AS a")
    assert out.to_dict("list") == {"a": [42]}


# --- table functions -----------------------------------------------------------------------------------------
def test_partitioned_table_function_returns_real_columns_per_partition(env):
    out = run(env, "SELECT * FROM sales, TABLE(MYDB.ML.PER_STORE!PREDICT(sales.store, sales.sales) "
                   "OVER (PARTITION BY sales.store)) ORDER BY store")
    assert out.to_dict("list") == {"total": [3.0, 3.0, 15.0], "rows": [2, 1, 3], "store": ["a", "b", "c"]}
    aliased = run(env, "WITH big AS (SELECT * FROM sales WHERE sales > 1) "
                       "SELECT p.store, p.total FROM big, TABLE(MYDB.ML.PER_STORE!PREDICT(big.store, big.sales) "
                       "OVER (PARTITION BY big.store)) AS p WHERE p.total > 3 ORDER BY p.store")
    assert aliased.to_dict("list") == {"store": ["c"], "total": [15.0]}


def test_non_partitioned_table_function_returns_any_number_of_rows(env):
    t = pd.DataFrame({"n": [2, 3]})
    out = run(env, "SELECT n, k FROM t, TABLE(MYDB.ML.EXPAND!PREDICT(t.n)) ORDER BY n, k", t=t)
    assert out.to_dict("list") == {"n": [2, 2, 3, 3, 3], "k": [0, 1, 0, 1, 2]}
    counted = run(env, "WITH mv AS MODEL MYDB.ML.EXPAND SELECT COUNT(*) AS c FROM t, TABLE(mv!PREDICT(n))", t=t)
    assert counted["c"].tolist() == [5]


# --- the SQL around the model calls ---------------------------------------------------------------------------
def test_ctes_aggregates_and_snowflake_functions_around_scores(env):
    out = run(env, "WITH scored AS (\n"
                   "  SELECT id, region, MYDB.ML.CUSTOMER_CHURN!PREDICT_PROBA(*):output_feature_1 AS p\n"
                   "  FROM new_customers)\n"
                   "SELECT region, COUNT(*) AS n, AVG(p) AS avg_p, SUM(IFF(p > 0.5, 1, 0)) AS high\n"
                   "FROM scored GROUP BY region ORDER BY region")
    frame = env.customers.assign(p=env.v1.load().predict_proba(env.customers[FEATURES])[:, 1])
    expected = frame.groupby("region").agg(n=("id", "size"), avg_p=("p", "mean"),
                                           high=("p", lambda s: int((s > 0.5).sum()))).reset_index()
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)
    assert out["high"].dtype == np.int64 and out["avg_p"].dtype == np.float64  # no Decimal objects


def test_window_functions_over_scores(env):
    out = run(env, "SELECT id, region, RANK() OVER (PARTITION BY region ORDER BY "
                   "MYDB.ML.CUSTOMER_CHURN!PREDICT_PROBA(*):output_feature_1 DESC, id) AS r FROM new_customers "
                   "QUALIFY r <= 2 ORDER BY region, r")
    frame = env.customers.assign(p=env.v1.load().predict_proba(env.customers[FEATURES])[:, 1])
    top = frame.sort_values(["region", "p", "id"], ascending=[True, False, True]).groupby("region").head(2)
    assert out["id"].tolist() == top["id"].tolist() and out["r"].tolist() == [1, 2, 1, 2]


def test_join_runs_through_the_udf_fallback_with_the_same_results(env):
    extra = pd.DataFrame({"id": env.customers["id"], "bonus": 1.0})
    out = run(env, "SELECT c.id, MYDB.ML.CUSTOMER_CHURN!PREDICT(c.age, c.income * e.bonus, c.tenure):output_feature_0 "
                   "AS p FROM new_customers c JOIN extra e ON c.id = e.id WHERE c.region = 'EU' ORDER BY c.id",
              extra=extra)
    eu = env.customers[env.customers.region == "EU"]
    assert out["id"].tolist() == eu["id"].tolist()
    np.testing.assert_array_equal(out["p"], labels(env, eu))


def test_model_call_with_aggregated_arguments_uses_the_fallback(env):
    out = run(env, "SELECT region, MYDB.ML.COUNTING!PREDICT(MAX(age)):age_next_year AS oldest_next_year "
                   "FROM new_customers GROUP BY region ORDER BY region")
    expected = env.customers.groupby("region")["age"].max() + 1
    assert out["oldest_next_year"].tolist() == expected.tolist()


def test_subqueries_unions_and_model_calls_in_nested_selects(env):
    out = run(env, "SELECT COUNT(*) AS n FROM new_customers WHERE id IN ("
                   "  SELECT id FROM new_customers WHERE MYDB.ML.CUSTOMER_CHURN!PREDICT(*):output_feature_0 = 1)"
                   " UNION ALL SELECT COUNT(*) FROM (SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT(*):output_feature_0 AS c "
                   "FROM new_customers) WHERE c = 0")
    churners = int(labels(env, env.customers).sum())
    assert out["n"].tolist() == [churners, len(env.customers) - churners]


def test_dateadd_and_variant_paths_are_transpiled(env):
    events = pd.DataFrame({"d": pd.to_datetime(["2024-01-31", "2024-02-28"]),
                           "v": ['{"a": {"b": 3}}', '{"a": {"b": 4}}']})
    out = run(env, "SELECT DATEADD(day, 1, d) AS next_day, v:a.b::INT AS b, IFF(v:a.b::INT > 3, 'hi', 'lo') AS s "
                   "FROM EVENTS ORDER BY d", events=events)
    assert out["next_day"].tolist() == list(pd.to_datetime(["2024-02-01", "2024-02-29"]))
    assert out["b"].tolist() == [3, 4] and out["s"].tolist() == ["lo", "hi"]


def test_bind_values_are_parameters_and_dollar_is_not_expanded(env):
    out = run(env, "SELECT id FROM new_customers WHERE region = :region AND age > :min_age ORDER BY id",
              params={"region": "EU", "min_age": np.int64(60)})
    eu = env.customers[(env.customers.region == "EU") & (env.customers.age > 60)]
    assert out["id"].tolist() == eu["id"].tolist()
    literal = run(env, "SELECT '$region' AS s", params={"region": "EU"})
    assert literal["s"].tolist() == ["$region"]


def test_dataframes_are_read_in_place(env):
    frame = env.customers
    before = frame.copy()
    run(env, "SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT(*) FROM new_customers WHERE region = 'EU'")
    pd.testing.assert_frame_equal(frame, before)  # nothing was written into the user's DataFrame


def test_star_shows_the_dataframe_columns_and_nested_calls_keep_their_text_as_name(env):
    out = run(env, "SELECT *, MYDB.ML.COUNTING!PREDICT(*):age_next_year AS a FROM new_customers LIMIT 2")
    assert list(out.columns) == [*env.customers.columns, "a"]
    out = run(env, "SELECT c.*, MYDB.ML.COUNTING!PREDICT(*):age_next_year AS a FROM new_customers c "
                   "WHERE c.region = 'EU' LIMIT 2")
    assert list(out.columns) == [*env.customers.columns, "a"] and set(out["region"]) == {"EU"}
    out = run(env, "SELECT * FROM (SELECT id, MYDB.ML.COUNTING!PREDICT(age) FROM new_customers) LIMIT 1")
    assert list(out.columns) == ["id", "MYDB.ML.COUNTING!PREDICT(age)"]


def test_group_by_a_model_result(env):
    out = run(env, "SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT(*):output_feature_0 AS churn, COUNT(*) AS n "
                   "FROM new_customers GROUP BY MYDB.ML.CUSTOMER_CHURN!PREDICT(*):output_feature_0 ORDER BY churn")
    counts = pd.Series(labels(env, env.customers)).value_counts().sort_index()
    assert out["churn"].tolist() == counts.index.tolist() and out["n"].tolist() == counts.tolist()
