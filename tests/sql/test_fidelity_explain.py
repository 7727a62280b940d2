"""SQL over the generated explain method: a TABLE_FUNCTION, called in FROM as in Snowflake
(`SELECT * FROM t, TABLE(M!EXPLAIN(t.a, ...))`), with the values `ModelVersion.run` returns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jupyter_mreg import sql


def test_fidelity_sql_explain_gives_the_values_of_run(session, reg):
    import xgboost

    rng = np.random.default_rng(1)
    t = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    model = xgboost.XGBRegressor(n_estimators=5, max_depth=2).fit(t, t["a"] - t["b"])
    mv = reg.log_model(model, model_name="m", version_name="v1", sample_input_data=t.head(20),
                       options={"enable_explainability": True})
    ran = mv.run(t, function_name="explain")
    out = sql.execute("SELECT * FROM t, TABLE(MYDB.ML.M!EXPLAIN(t.a, t.b))", {"t": t}, session=session)
    assert list(out.columns[-2:]) == ["a_explanation", "b_explanation"]
    np.testing.assert_allclose(out[["a_explanation", "b_explanation"]].to_numpy(dtype=float),
                               ran.to_numpy(dtype=float), rtol=1e-6)
    shown = sql.execute("SHOW FUNCTIONS IN MODEL MYDB.ML.M VERSION V1", session=session)
    row = shown.set_index("name").loc["EXPLAIN"]
    assert bool(row["is_table_function"]) is True
    assert row["return_type"] == "TABLE (A_EXPLANATION FLOAT, B_EXPLANATION FLOAT)"
