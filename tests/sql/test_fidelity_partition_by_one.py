"""Snowflake fidelity of `TABLE(M!METHOD(...) OVER (PARTITION BY 1))`: all rows are one partition, which is how
snowflake-ml-python's `run()` calls a partitioned method without a partition column."""

from __future__ import annotations

import pandas as pd

from jupyter_mreg.model import custom_model
from jupyter_mreg.sql import execute


class PerStore(custom_model.CustomModel):
    @custom_model.partitioned_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"total": [df["sales"].sum()], "rows": [len(df)]})


def test_fidelity_partition_by_a_constant_runs_all_rows_as_one_partition(reg):
    sales = pd.DataFrame({"store": ["a", "a", "b"], "sales": [1.0, 2.0, 3.0]})
    reg.log_model(PerStore(), model_name="per_store", version_name="v1", sample_input_data=sales,
                  options={"function_type": "TABLE_FUNCTION"})
    out = execute("SELECT * FROM sales, TABLE(MYDB.ML.PER_STORE!PREDICT(sales.store, sales.sales) "
                  "OVER (PARTITION BY 1))", {"sales": sales}, session=reg.session)
    assert list(out.columns) == ["total", "rows"]
    assert out["total"].to_numpy(dtype=float).tolist() == [6.0]
    assert out["rows"].to_numpy(dtype=float).tolist() == [3.0]
    per_store = execute("SELECT store, total FROM sales, TABLE(MYDB.ML.PER_STORE!PREDICT(sales.store, sales.sales) "
                        "OVER (PARTITION BY sales.store)) ORDER BY store", {"sales": sales}, session=reg.session)
    assert per_store["total"].to_numpy(dtype=float).tolist() == [3.0, 3.0]
