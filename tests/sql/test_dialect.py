"""The `%%mreg` dialect: sqlglot's Snowflake parser plus `WITH a AS MODEL m [VERSION v]` as a `ModelRef` node,
the positions it keeps for messages, and its syntax errors."""

from __future__ import annotations

import pytest
from sqlglot import exp

from jupyter_mreg.sql.dialect import DIALECT, ModelRef, parse, position, span
from jupyter_mreg.sql.errors import SqlError


def model_ctes(sql):
    return {cte.alias: cte.this for cte in parse(sql).find_all(exp.CTE) if isinstance(cte.this, ModelRef)}


def test_model_cte_is_a_model_ref_node():
    refs = model_ctes("WITH mv AS MODEL customer_churn VERSION v2 SELECT mv!predict(*) FROM t")
    ref = refs["mv"]
    assert isinstance(ref, ModelRef)
    assert [p.name for p in ref.this.parts] == ["customer_churn"]
    assert ref.args["version"].name == "v2"


def test_model_cte_forms():
    refs = model_ctes('WITH a AS MODEL MYDB.ML.M VERSION LAST, b AS (SELECT 1 AS x), c AS MODEL "Quoted Model", '
                      "d AS MODEL s.m VERSION 'v1' SELECT a!predict(*), c!predict(*) FROM b")
    assert [p.name for p in refs["a"].this.parts] == ["MYDB", "ML", "M"] and refs["a"].args["version"].name == "LAST"
    assert refs["c"].this.this.quoted and refs["c"].this.name == "Quoted Model" and refs["c"].args.get("version") is None
    assert [p.name for p in refs["d"].this.parts] == ["s", "m"] and refs["d"].args["version"].name == "v1"
    assert "b" not in refs  # an ordinary CTE stays an ordinary CTE
    tree = parse("WITH b AS (SELECT 1 AS x) SELECT * FROM b")
    assert isinstance(tree.find(exp.CTE).this, exp.Select)


def test_model_cte_round_trips_through_the_generator():
    sql = "WITH mv AS MODEL MYDB.ML.M VERSION V2, t AS (SELECT 1 AS a) SELECT a FROM t"
    assert parse(sql).sql(dialect=DIALECT) == sql
    assert ModelRef(this=exp.to_table("m")).sql() == "MODEL m"


def test_model_calls_parse_as_model_attributes():
    tree = parse('SELECT MYDB.ML.M!PREDICT(*):output_feature_0::FLOAT AS p, MODEL(m, V1)!"predictLog"(a, b), '
                 "m!predict(a)['k'], a != b AS ne FROM t")
    calls = [item.find(exp.ModelAttribute) for item in tree.expressions[:3]]
    assert len(list(tree.find_all(exp.ModelAttribute))) == 3
    first = calls[0]
    assert isinstance(first.parent, exp.JSONExtract) and isinstance(first.parent.parent, exp.Cast)
    assert isinstance(first.expression.expressions[0], exp.Star)
    assert calls[1].this.name.upper() == "MODEL" and calls[1].expression.this.quoted
    assert isinstance(calls[2].parent, exp.Bracket)
    assert tree.find(exp.NEQ) is not None  # `!=` is still a comparison, not a model call


def test_table_function_parses_with_its_partition():
    tree = parse("SELECT * FROM t, TABLE(m!predict(t.a, t.b) OVER (PARTITION BY t.store)) AS p")
    table = tree.find(exp.TableFromRows)
    assert table.alias == "p"
    window = table.this.expression
    assert isinstance(window, exp.Window) and window.args["partition_by"][0].name == "store"


def test_select_items_keep_their_text_span():
    sql = "SELECT id,\n  m!predict(*):output_feature_0 , IFF(a>1,1,2) AS x FROM t"
    items = parse(sql).expressions
    assert [sql[slice(*span(i))] for i in items] == ["id", "m!predict(*):output_feature_0", "IFF(a>1,1,2) AS x"]


def test_positions_point_at_the_leftmost_token():
    sql = "SELECT id, MYDB.ML.CHURN!PREDICT(*) FROM t"
    call = parse(sql).find(exp.ModelAttribute)
    assert position(call) == sql.index("MYDB")
    assert position(call.expression) == sql.index("PREDICT")


@pytest.mark.parametrize("sql, message, column", [
    ("SELECT a FROM t WHERE b = = 1", "SQL syntax error: Required keyword: 'expression' missing", 27),
    ("SELECT FROM WHERE", "SQL syntax error: Expected table name but got 'WHERE' (near 'WHERE')", 13),
    ("WITH mv AS MODEL m VERSION SELECT 1", "SQL syntax error: Expected a version name after VERSION", 28),
    ("SELECT 'abc FROM t", "SQL syntax error:", 8),
])
def test_syntax_errors_point_at_the_token(sql, message, column):
    with pytest.raises(SqlError) as info:
        parse(sql)
    assert str(info.value).startswith(message)
    info.value.sql = sql
    assert info.value.line_column == (1, column)
