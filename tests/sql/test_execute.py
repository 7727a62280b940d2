"""`jupyter_mreg.sql.execute` without IPython: statement splitting, `{{...}}` templating, `autolimit`, and
errors rendered with a caret under the mistake."""

from __future__ import annotations

import pytest

from jupyter_mreg.sql import execute
from jupyter_mreg.sql.errors import SqlError
from jupyter_mreg.sql.runner import split_statements
from jupyter_mreg.sql.templating import render


# --- statement splitting ----------------------------------------------------------------------------------
def test_split_at_top_level_semicolons_only():
    cell = "-- scores\nSELECT 'a;b' AS \"x;y\" FROM t /* ; */ ;\n\n show models like '%;%';; -- done\n"
    statements = split_statements(cell)
    assert [s.text for s in statements] == ["SELECT 'a;b' AS \"x;y\" FROM t", "show models like '%;%'"]
    assert [s.keyword for s in statements] == ["SELECT", "SHOW"]
    assert [cell[s.offset:s.offset + len(s.text)] for s in statements] == [s.text for s in statements]


def test_comments_alone_are_no_statement():
    assert split_statements("-- nothing here\n/* nor here */") == []


def test_autolimit_appends_a_limit_only_to_unbounded_queries():
    def limited(sql):
        return split_statements(sql)[0].limited(10).text

    assert limited("SELECT * FROM t ORDER BY a") == "SELECT * FROM t ORDER BY a\nLIMIT 10"
    assert limited("WITH a AS (SELECT * FROM t LIMIT 2) SELECT * FROM a") == (
        "WITH a AS (SELECT * FROM t LIMIT 2) SELECT * FROM a\nLIMIT 10")
    for bounded in ("SELECT * FROM t LIMIT 3", "SELECT TOP 3 * FROM t", "SELECT * FROM t OFFSET 2",
                    "SELECT * FROM t FETCH FIRST 3 ROWS ONLY", "SHOW MODELS", "ALTER MODEL m SET COMMENT = 'x'"):
        assert limited(bounded) == bounded
    assert split_statements("SELECT 'limit' AS \"LIMIT\" FROM t")[0].bounded is False


# --- templating -------------------------------------------------------------------------------------------
def test_jinja_fills_values_and_names_from_the_namespace():
    assert render("SELECT * FROM {{ table | ident }} WHERE r = {{ r }} LIMIT {{ n + 1 }}",
                  {"table": "new_customers", "r": "it's", "n": 4}) == (
        "SELECT * FROM NEW_CUSTOMERS WHERE r = 'it''s' LIMIT 5")
    assert render("SELECT $price, {x} FROM t", {}) == "SELECT $price, {x} FROM t"  # nothing else is expanded


def test_undefined_template_variable_points_at_it():
    with pytest.raises(SqlError) as info:
        execute("SELECT *\nFROM {{ tabel }}", {"table": "t"})
    assert info.value.render() == (
        "The cell uses a template variable that is not defined: 'tabel' is undefined. Define it in the notebook "
        "first, or remove the {{...}}.\n  line 2, column 6:\n    FROM {{ tabel }}\n         ^")


def test_invalid_template_says_so():
    with pytest.raises(SqlError, match=r"template is not valid Jinja: unexpected end of template"):
        execute("SELECT {{ x", {"x": 1})
    with pytest.raises(SqlError, match=r"A \{\{...\}\} expression of the cell failed: TypeError"):
        execute("SELECT {{ 1 + x }}", {"x": "a"})


# --- errors -----------------------------------------------------------------------------------------------
def test_unclosed_string_points_at_its_quote():
    with pytest.raises(SqlError) as info:
        execute("SELECT id,\n\t'abc FROM t", {})
    assert info.value.render() == (
        "This string is not closed: add the missing '.\n  line 2, column 2:\n    \t'abc FROM t\n    \t^")
    assert isinstance(info.value, ValueError)


def test_unclosed_comment_and_quoted_name():
    with pytest.raises(SqlError, match=r"This comment is not closed") as info:
        execute("SELECT 1 /* x", {})
    assert info.value.line_column == (1, 10)
    with pytest.raises(SqlError, match=r'This quoted name is not closed: add the missing "') as info:
        execute('SELECT "ab', {})
    assert info.value.line_column == (1, 8)


def test_empty_cell():
    with pytest.raises(SqlError, match="The cell holds no SQL statement"):
        execute("  -- only a comment\n", {})


def test_render_places_the_caret():
    error = SqlError("Model FOO does not exist.", sql="SELECT 1;\nSELECT FOO!PREDICT(*) FROM t", position=17)
    assert error.line_column == (2, 8)
    assert error.render() == ("Model FOO does not exist.\n  line 2, column 8:\n"
                              "    SELECT FOO!PREDICT(*) FROM t\n           ^")
    assert SqlError("no place").render() == "no place"
    assert SqlError("at the end", sql="SELECT\n", position=7).render().endswith("line 2, column 1:\n    \n    ^")


# --- execute() end to end, without IPython ----------------------------------------------------------------
@pytest.fixture
def scored(reg, pipe, churn):
    """CUSTOMER_CHURN V1 in MYDB.ML, and a namespace with `new_customers` (ids, regions, the features)."""
    reg.log_model(pipe, model_name="customer_churn", version_name="v1", sample_input_data=churn[0].head())
    X = churn[0].head(30)
    frame = X.assign(id=range(30), region=["EU", "US", "APAC"] * 10)
    return {"new_customers": frame, "region": "EU"}


def test_statements_run_in_order_on_one_session_and_the_last_is_returned(session, scored, pipe):
    result = execute("USE SCHEMA MYDB.ML;\n"
                     "SELECT id, customer_churn!PREDICT(*):output_feature_0 AS churn FROM new_customers\n"
                     "WHERE region = :region ORDER BY id", scored, session=session)
    frame = scored["new_customers"]
    eu = frame[frame["region"] == "EU"]
    assert list(result.columns) == ["id", "churn"] and result["id"].tolist() == eu["id"].tolist()
    assert result["churn"].tolist() == pipe.predict(eu[["age", "income", "tenure"]]).tolist()
    assert session.get_current_schema() == "ML"
    us = execute("SELECT COUNT(*) AS n FROM new_customers WHERE region = :region", scored, session=session,
                 params={"region": "US"})
    assert int(us["n"][0]) == 10


def test_error_in_a_later_statement_points_into_the_whole_cell(session, scored):
    cell = "USE SCHEMA MYDB.ML;\nSELECT id,\n       CUSTOMER_CHURN!PREDICT_PROBAB(*) AS p FROM new_customers"
    with pytest.raises(SqlError) as info:
        execute(cell, scored, session=session)
    assert info.value.sql == cell and info.value.line_column == (3, 23)
    rendered = info.value.render()
    assert rendered.endswith("line 3, column 23:\n"
                             "           CUSTOMER_CHURN!PREDICT_PROBAB(*) AS p FROM new_customers\n"
                             f"    {' ' * 22}^")
    assert "PREDICT_PROBA" in rendered  # the model's methods are listed


def test_limit_caps_queries_without_their_own(session, scored):
    sql = "SELECT id, MYDB.ML.CUSTOMER_CHURN!PREDICT(*):output_feature_0 AS churn FROM new_customers ORDER BY id"
    assert execute(sql, scored, session=session, limit=4)["id"].tolist() == [0, 1, 2, 3]
    assert len(execute(sql + " LIMIT 6", scored, session=session, limit=4)) == 6
    assert len(execute(sql, scored, session=session)) == 30


def test_default_session_is_the_registry_in_mreg_home(tmp_path, monkeypatch, pipe, churn):
    from jupyter_mreg.registry import Registry
    from jupyter_mreg.registry import session as session_module

    monkeypatch.setenv("MREG_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(session_module, "_active", None)  # as in a fresh kernel
    Registry(session=session_module.Session(), database_name="MYDB", schema_name="ML", create=True).log_model(
        pipe, model_name="customer_churn", version_name="v1", sample_input_data=churn[0].head())
    models = execute("SHOW MODELS IN SCHEMA MYDB.ML")
    assert models["name"].tolist() == ["CUSTOMER_CHURN"]
    assert session_module.Session.builder.getOrCreate().home == (tmp_path / "home").resolve()
