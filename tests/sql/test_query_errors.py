"""A user's mistake in a query is one `SqlError`: what was not found, what exists nearby, and a caret under
the place in the statement (also when the statement sits inside a longer cell)."""

from __future__ import annotations

import pandas as pd
import pytest

from jupyter_mreg.sql import execute
from jupyter_mreg.sql.errors import SqlError
from tests.sql.query_env import module_env


@pytest.fixture(scope="module")
def env(tmp_path_factory, churn, pipe):
    yield from module_env(tmp_path_factory, churn, pipe)


def error(env, sql, **more) -> SqlError:
    with pytest.raises(SqlError) as info:
        execute(sql, env.ns(**more), session=env.session)
    return info.value


def caret(err: SqlError) -> str:
    """The rendered line and caret, without the message."""
    return err.render()[len(err.message):]


def test_unknown_model_suggests_the_close_name(env):
    err = error(env, "SELECT id,\n  MYDB.ML.CUSTOMER_CHRN!PREDICT(*) FROM new_customers")
    assert err.render() == ("Unable to find model MYDB.ML.CUSTOMER_CHRN. Did you mean CUSTOMER_CHURN?\n"
                            "  line 2, column 3:\n      MYDB.ML.CUSTOMER_CHRN!PREDICT(*) FROM new_customers\n"
                            "      ^")


def test_case_folding_of_model_names(env):
    err = error(env, 'SELECT MYDB.ML."Customer_Churn"!PREDICT(*) FROM new_customers')
    assert str(err) == ('Unable to find model MYDB.ML."Customer_Churn". Did you mean "customer_churn"? Quoted names '
                        'are case-sensitive: "Customer_Churn" is not CUSTOMER_CHURN.')
    # unquoted names fold to upper case, so any spelling finds CUSTOMER_CHURN; "CUSTOMER_CHURN" is the same name
    for name in ("customer_churn", "CUSTOMER_CHURN", "Customer_Churn", '"CUSTOMER_CHURN"'):
        out = execute(f"SELECT MYDB.ML.{name}!PREDICT(*) AS p FROM new_customers LIMIT 1", env.ns(), session=env.session)
        assert list(out["p"].iloc[0]) == ["output_feature_0"], name


def test_bare_model_name_is_looked_up_in_the_current_schema(env):
    err = error(env, "SELECT CUSTOMER_CHURN!PREDICT(*) FROM new_customers")
    assert str(err) == ("Unable to find model CUSTOMER_CHURN: it is not qualified, so it was looked for in the "
                        "current schema MODEL_REGISTRY.PUBLIC, which does not exist. A model CUSTOMER_CHURN exists "
                        "in MYDB.ML: write MYDB.ML.CUSTOMER_CHURN. Fix: write DATABASE.SCHEMA.CUSTOMER_CHURN, or "
                        "run USE SCHEMA DATABASE.SCHEMA first.")
    assert err.line_column == (1, 8)


def test_unknown_version_and_alias_list_what_exists(env):
    for form, word in [("MODEL(MYDB.ML.CUSTOMER_CHURN, V3)", "V3"), ("MODEL(MYDB.ML.CUSTOMER_CHURN, staging)", "STAGING")]:
        err = error(env, f"SELECT {form}!PREDICT(*) FROM new_customers")
        assert str(err) == (f"Unable to find version or alias with name {word} in model MYDB.ML.CUSTOMER_CHURN. "
                            "Existing names: V1, V2, DEFAULT, FIRST, LAST, PRODUCTION.")
        assert err.line_column == (1, 38)
    err = error(env, "WITH mv AS MODEL MYDB.ML.CUSTOMER_CHURN VERSION V9 SELECT mv!PREDICT(*) FROM new_customers")
    assert str(err).startswith("Unable to find version or alias with name V9") and err.line_column == (1, 49)


def test_unknown_method_lists_the_models_methods(env):
    err = error(env, "SELECT MYDB.ML.CUSTOMER_CHURN!FORECAST(*) FROM new_customers")
    assert err.render() == (
        "There is no method with name FORECAST available in the model MYDB.ML.CUSTOMER_CHURN version V1. Available "
        "methods: ['PREDICT', 'PREDICT_PROBA', 'PREDICT_LOG_PROBA', 'DECISION_FUNCTION'].\n"
        "  line 1, column 31:\n    SELECT MYDB.ML.CUSTOMER_CHURN!FORECAST(*) FROM new_customers\n"
        "                                  ^")


def test_unquoted_method_name_folds_to_upper_case(env):
    err = error(env, "SELECT MYDB.ML.LOGS!predictLog(income) FROM new_customers")
    assert str(err) == (
        "There is no method with name PREDICTLOG available in the model MYDB.ML.LOGS version V1. Available methods: "
        "['\"predictLog\"', 'PREDICT']. Method names in double quotes are case-sensitive: write \"predictLog\".")


def test_wrong_number_of_arguments_lists_the_signature(env):
    err = error(env, "SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT(age, income) FROM new_customers")
    assert str(err) == ("MYDB.ML.CUSTOMER_CHURN!PREDICT takes 3 arguments (age NUMBER, income FLOAT, tenure FLOAT), "
                        "but 2 were given. Pass them in this order, or use * to pass the columns with these names.")
    assert err.line_column == (1, 31)
    err = error(env, "SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT(age, income, tenure, id) FROM new_customers")
    assert "but 4 were given" in str(err) and err.line_column == (1, 60)  # at the first extra argument


def test_missing_dataframe_lists_the_namespace(env):
    err = error(env, "SELECT * FROM new_custmers", notes="not a table")
    assert err.render() == ("There is no DataFrame named new_custmers in the namespace. Did you mean new_customers? "
                            "DataFrames: new_customers, sales.\n  line 1, column 15:\n    SELECT * FROM new_custmers\n"
                            "                  ^")
    err = error(env, "SELECT id FROM MYDB.ML.new_customers")
    assert str(err).startswith("MYDB.ML.new_customers is a database table; %%mreg queries read the notebook's "
                               "DataFrames")


def test_missing_column_in_sql_and_in_star_expansion(env):
    err = error(env, "SELECT agee FROM new_customers")
    assert err.render() == ("Column agee does not exist. Did you mean age or tenure?\n  line 1, column 8:\n"
                            "    SELECT agee FROM new_customers\n           ^")
    err = error(env, "SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT(age, incme, tenure) FROM new_customers")
    assert str(err).startswith("Column incme does not exist.") and err.line_column == (1, 44)
    err = error(env, "SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT(*) FROM sales")
    assert err.render() == (
        "MYDB.ML.CUSTOMER_CHURN!PREDICT(*) needs the input column age, which does not exist in sales. Columns: store, "
        "sales. Rename the column, or pass the columns in signature order (age NUMBER, income FLOAT, tenure FLOAT).\n"
        "  line 1, column 39:\n    SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT(*) FROM sales\n"
        "                                          ^")


def test_type_that_does_not_fit_the_signature_points_at_the_argument(env):
    err = error(env, "SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT(age, region, tenure) FROM new_customers")
    assert str(err).startswith(
        "MYDB.ML.CUSTOMER_CHURN!PREDICT: an argument does not fit the signature (age NUMBER, income FLOAT, tenure "
        "FLOAT). Data Validation Error: feature 'income' of method predict expects DOUBLE but the column 'income' "
        "has dtype str.")
    assert err.line_column == (1, 44)  # under `region`


def test_unknown_output_key(env):
    err = error(env, "SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT(*):churn FROM new_customers")
    assert str(err) == ("MYDB.ML.CUSTOMER_CHURN!PREDICT has no output churn; its OBJECT has the keys "
                        "output_feature_0.")


def test_table_function_misuse(env):
    err = error(env, "SELECT MYDB.ML.PER_STORE!PREDICT(store, sales) FROM sales")
    assert str(err) == ("MYDB.ML.PER_STORE!PREDICT is a TABLE_FUNCTION: call it in FROM, e.g. SELECT * FROM t, "
                        "TABLE(MYDB.ML.PER_STORE!PREDICT(t.a, ...) OVER (PARTITION BY t.key)).")
    err = error(env, "SELECT * FROM sales, TABLE(MYDB.ML.PER_STORE!PREDICT(sales.store, sales.sales))")
    assert str(err).startswith("MYDB.ML.PER_STORE!PREDICT is partitioned: add OVER (PARTITION BY <column>)")
    err = error(env, "SELECT * FROM sales, TABLE(MYDB.ML.CUSTOMER_CHURN!PREDICT(sales.sales))")
    assert str(err).startswith("MYDB.ML.CUSTOMER_CHURN!PREDICT is a FUNCTION, which returns one OBJECT per row")


def test_sql_errors_from_sqlglot_and_duckdb_have_positions(env):
    err = error(env, "SELECT id FROM new_customers WHERE")
    assert str(err).startswith("SQL syntax error:") and err.line_column == (1, 30)
    err = error(env, "SELECT id FROM new_customers ORDER BY nosuchfunc(id)")
    assert err.render() == ('Catalog Error: Scalar Function with name nosuchfunc does not exist! Did you mean "cosh"?\n'
                            "  line 1, column 39:\n    SELECT id FROM new_customers ORDER BY nosuchfunc(id)\n"
                            "                                          ^")
    err = error(env, "SELECT id, COUNT(*) FROM new_customers")
    assert "must appear in the GROUP BY clause" in str(err) and err.line_column == (1, 8)


def test_undefined_bind_variable(env):
    err = error(env, "SELECT id FROM new_customers WHERE region = :regoin", region="EU")
    assert err.render() == ("Bind variable :regoin is not defined. Define regoin in the notebook, or pass "
                            "params={'regoin': ...}.\n  line 1, column 45:\n"
                            "    SELECT id FROM new_customers WHERE region = :regoin\n"
                            "                                                ^")


def test_dollar_variables_are_not_expanded(env):
    err = error(env, "SELECT id FROM new_customers WHERE region = $region", region="EU")
    assert err.render() == ("$region is not expanded in %%mreg SQL (IPython's $ substitution does not apply here): "
                            "write :region to bind the Python value region, or {{region}} to insert it as a SQL "
                            "literal.\n"
                            "  line 1, column 45:\n    SELECT id FROM new_customers WHERE region = $region\n"
                            "                                                ^")


def test_model_errors_are_reported_with_the_call(env):
    holes = pd.DataFrame({"age": [30], "income": [float("nan")], "tenure": [1.0]})
    err = error(env, "SELECT MYDB.ML.CUSTOMER_CHURN!PREDICT(*) FROM holes", holes=holes)
    assert str(err).startswith("MYDB.ML.CUSTOMER_CHURN!PREDICT: Method PREDICT of model MYDB.ML.CUSTOMER_CHURN "
                               "version V1 failed on 1 input row(s): ValueError: Input X contains NaN.")


def test_errors_are_placed_in_the_whole_cell(env):
    err = error(env, "SELECT 1 AS ok;\n\nSELECT id,\n  MYDB.ML.CUSTOMER_CHURN!PREDICT(nope) FROM new_customers")
    assert caret(err) == ("\n  line 4, column 26:\n      MYDB.ML.CUSTOMER_CHURN!PREDICT(nope) FROM new_customers\n"
                          + " " * 29 + "^")  # under PREDICT, which was given 1 argument for 3


def test_statements_that_are_no_query(env):
    err = error(env, "INSERT INTO t VALUES (1)")
    assert str(err).startswith("INSERT statements do not run here")
