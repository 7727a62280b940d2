"""`%%mreg` / `%mreg` through a real IPython `InteractiveShell`: forms, binding, display limit, traitlets,
variable expansion, sessions and errors as a notebook user sees them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from jupyter_mreg.sql.errors import SqlError

MODEL = "MYDB.ML.CUSTOMER_CHURN"
FEATURES = ["age", "income", "tenure"]


def run(shell, cell):
    """Run a cell: (result, everything it printed or displayed as text)."""
    with capture_output() as captured:
        result = shell.run_cell(cell, store_history=True)
    shown = captured.stdout + captured.stderr + "".join(o.data.get("text/plain", "") for o in captured.outputs)
    return result, shown


def expected_churn(pipe, frame):
    return pipe.predict(frame[FEATURES])


# --- forms ------------------------------------------------------------------------------------------------
def test_cell_form_shows_a_limited_view_and_keeps_the_whole_frame(ip, pipe, new_customers):
    result, shown = run(ip, f"%%mreg\nSELECT id, {MODEL}!PREDICT(*):output_feature_0 AS churn\n"
                            "FROM new_customers ORDER BY id")
    assert result.error_in_exec is None
    whole = ip.user_ns["_"]
    assert isinstance(whole, pd.DataFrame) and list(whole.columns) == ["id", "churn"] and len(whole) == 40
    np.testing.assert_array_equal(whole["churn"].to_numpy(), expected_churn(pipe, new_customers))
    assert "showing 10 of 40 rows" in shown
    assert "\n9 " in shown and "\n10 " not in shown  # the first ten rows only
    html = ip.display_formatter.format(whole)[0]["text/html"]
    assert "<th>9</th>" in html and "<th>10</th>" not in html and "showing 10 of 40 rows" in html


def test_line_form_assigns_without_display(ip, pipe, new_customers):
    result, shown = run(ip, f"eu = %mreg SELECT id, {MODEL}!PREDICT(*):output_feature_0 AS churn "
                            "FROM new_customers WHERE region = 'EU' ORDER BY id")
    assert result.error_in_exec is None and shown == ""
    eu = ip.user_ns["eu"]
    mask = new_customers["region"] == "EU"
    assert eu["id"].tolist() == new_customers.loc[mask, "id"].tolist()
    np.testing.assert_array_equal(eu["churn"].to_numpy(), expected_churn(pipe, new_customers[mask]))


def test_line_form_alone_displays_like_the_cell_form(ip):
    result, shown = run(ip, "%mreg SELECT id FROM new_customers ORDER BY id")
    assert result.error_in_exec is None and "showing 10 of 40 rows" in shown
    assert len(result.result) == 40


def test_line_form_sees_a_functions_locals(ip):
    cell = ("def count_big(threshold):\n"
            "    few = new_customers[new_customers['age'] > threshold]\n"
            "    counted = %mreg SELECT COUNT(*) AS n FROM few WHERE age > :threshold\n"
            "    return counted\n"
            "n = count_big(50)")
    result, _ = run(ip, cell)
    assert result.error_in_exec is None
    assert int(ip.user_ns["n"]["n"][0]) == int((ip.user_ns["new_customers"]["age"] > 50).sum())


@pytest.mark.parametrize("header", ["%%mreg scored << SELECT id,", "%%mreg -o scored\nSELECT id,",
                                    "%%mreg --out=scored\nSELECT id,"])
def test_binding_stores_the_result_and_shows_nothing(ip, header, pipe, new_customers):
    result, shown = run(ip, f"{header}\n  {MODEL}!PREDICT_PROBA(*):output_feature_1::FLOAT AS p\n"
                            "FROM new_customers ORDER BY id")
    assert result.error_in_exec is None and result.result is None and shown == ""
    scored = ip.user_ns["scored"]
    np.testing.assert_allclose(scored["p"].to_numpy(), pipe.predict_proba(new_customers[FEATURES])[:, 1])


def test_several_statements_return_the_last(ip, pipe, new_customers):
    result, _ = run(ip, "%%mreg -o last\nUSE SCHEMA MYDB.ML;\nSELECT id, customer_churn!PREDICT(*):output_feature_0 AS churn\n"
                        "FROM new_customers ORDER BY id;")
    assert result.error_in_exec is None
    np.testing.assert_array_equal(ip.user_ns["last"]["churn"].to_numpy(), expected_churn(pipe, new_customers))


# --- Python values ----------------------------------------------------------------------------------------
def test_dollar_and_braces_are_not_expanded_but_jinja_and_binds_are(ip):
    ip.user_ns.update(price=3, table="new_customers", region="EU")
    result, _ = run(ip, "%%mreg -o out\nSELECT '$price' AS a, '{price}' AS b, COUNT(*) AS n\n"
                        "FROM {{ table | ident }} WHERE region = :region")
    assert result.error_in_exec is None
    out = ip.user_ns["out"]
    assert (out["a"][0], out["b"][0], int(out["n"][0])) == ("$price", "{price}", 10)
    result, _ = run(ip, "line = %mreg SELECT '$price {price}' AS a")
    assert ip.user_ns["line"]["a"][0] == "$price {price}"


# --- traitlets --------------------------------------------------------------------------------------------
def test_displaylimit(ip):
    run(ip, "%config MregMagic.displaylimit = 3")
    _, shown = run(ip, "%mreg SELECT id FROM new_customers ORDER BY id")
    assert "showing 3 of 40 rows" in shown and len(ip.user_ns["_"]) == 40
    run(ip, "%config MregMagic.displaylimit = 0")
    _, shown = run(ip, "%mreg SELECT id FROM new_customers ORDER BY id")
    assert "showing" not in shown and "\n39 " in shown


def test_autolimit_caps_queries_without_their_own_limit(ip):
    run(ip, "%config MregMagic.autolimit = 5")
    run(ip, f"%%mreg -o capped\nSELECT id, {MODEL}!PREDICT(*):output_feature_0 AS churn FROM new_customers ORDER BY id")
    assert ip.user_ns["capped"]["id"].tolist() == [0, 1, 2, 3, 4]
    run(ip, "%%mreg -o own\nSELECT id FROM new_customers ORDER BY id LIMIT 7")
    assert len(ip.user_ns["own"]) == 7
    run(ip, "%%mreg -o models\nSHOW MODELS IN SCHEMA MYDB.ML")
    assert ip.user_ns["models"]["name"].tolist() == ["CUSTOMER_CHURN"]


def test_short_errors_show_the_message_and_caret_without_traceback(ip):
    result, shown = run(ip, "%%mreg\nSELECT id,\n  MYDB.ML.CUSTOMER_CHRN!PREDICT(*) AS p\nFROM new_customers")
    assert isinstance(result.error_in_exec, UsageError)
    assert "Traceback" not in shown
    assert "Unable to find model MYDB.ML.CUSTOMER_CHRN. Did you mean CUSTOMER_CHURN?" in shown
    # lines count from the cell's first line, `%%mreg`, as the notebook numbers them
    assert "line 3, column 3:\n      MYDB.ML.CUSTOMER_CHRN!PREDICT(*) AS p\n      ^" in shown


def test_error_on_the_magic_line_points_at_its_column(ip):
    result, shown = run(ip, "%%mreg out << SELECT MYDB.ML.CUSTOMER_CHRN!PREDICT(*)\nFROM new_customers")
    assert isinstance(result.error_in_exec, UsageError) and "out" not in ip.user_ns
    assert ("line 1, column 22:\n    %%mreg out << SELECT MYDB.ML.CUSTOMER_CHRN!PREDICT(*)\n"
            f"    {' ' * 21}^") in shown


def test_long_errors_show_the_traceback(ip):
    run(ip, "%config MregMagic.short_errors = False")
    result, shown = run(ip, "%%mreg\nSELECT id, MYDB.ML.CUSTOMER_CHRN!PREDICT(*) FROM new_customers")
    assert isinstance(result.error_in_exec, SqlError)
    assert "most recent call last" in shown and "Did you mean CUSTOMER_CHURN?" in shown


def test_syntax_error_points_at_the_position(ip):
    result, shown = run(ip, "%%mreg\nSELECT id\nFROM new_customers WHERE region = 'EU")
    assert isinstance(result.error_in_exec, UsageError)
    assert "line 3, column 35:\n    FROM new_customers WHERE region = 'EU\n" in shown
    assert shown.rstrip().endswith(" " * 38 + "^")


def test_unknown_option_and_empty_cell(ip):
    result, shown = run(ip, "%%mreg -x\nSELECT 1")
    assert isinstance(result.error_in_exec, UsageError) and "%mreg has no option -x" in shown
    result, shown = run(ip, "%mreg -- nothing")
    assert isinstance(result.error_in_exec, UsageError) and "The cell holds no SQL statement" in shown


# --- DDL and sessions -------------------------------------------------------------------------------------
def test_ddl_acts_on_the_registry(ip, logged):
    result, shown = run(ip, f"%%mreg\nALTER MODEL {MODEL} SET COMMENT = 'from SQL'")
    assert result.error_in_exec is None and "Statement executed successfully." in shown
    assert logged.get_model("customer_churn").comment == "from SQL"
    result, shown = run(ip, "%%mreg\nSHOW MODELS IN SCHEMA MYDB.ML")
    assert result.error_in_exec is None and "[1 rows x 10 columns]" in shown
    shown_models = ip.user_ns["_"]
    assert (shown_models["name"].tolist(), shown_models["comment"].tolist()) == (["CUSTOMER_CHURN"], ["from SQL"])
    assert list(shown_models.columns) == list(logged.show_models().columns)


def test_session_option_names_a_session_variable(ip, tmp_path):
    from jupyter_mreg import Session

    ip.user_ns["other"] = Session.builder.configs({"home": str(tmp_path / "other")}).create()
    result, _ = run(ip, "%%mreg -s other -o models\nSHOW MODELS")
    assert result.error_in_exec is None and len(ip.user_ns["models"]) == 0
    result, shown = run(ip, "%%mreg --session missing\nSHOW MODELS")
    assert isinstance(result.error_in_exec, UsageError) and "the notebook has no variable missing" in shown
    result, shown = run(ip, "%%mreg -s new_customers\nSHOW MODELS")
    assert isinstance(result.error_in_exec, UsageError) and "new_customers is a DataFrame, not" in shown


def test_trailing_semicolon_still_shows_the_result_and_config_lists_the_traits(ip):
    result, shown = run(ip, "%%mreg\nSELECT 42 AS answer;")
    assert result.error_in_exec is None and "42" in shown
    _, shown = run(ip, "%config MregMagic")
    assert all(f"MregMagic.{trait}" in shown for trait in ("displaylimit", "autolimit", "short_errors"))
