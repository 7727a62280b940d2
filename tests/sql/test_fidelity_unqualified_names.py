"""Issue 11, item 16: a `%%mreg` model name written without a schema that is not in the current schema says
which schema was searched, where a model of that name is, and how to qualify the name."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from jupyter_mreg.sql import execute
from jupyter_mreg.sql.errors import SqlError

X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})


@pytest.fixture
def logged(session):
    """CHURN in MYDB.ML (logged in the default schema, then moved there by a rename)."""
    from jupyter_mreg.registry import Registry

    reg = Registry(session)  # MODEL_REGISTRY.PUBLIC: there out of the box
    mv = reg.log_model(LinearRegression().fit(X, [2.0, 4.0, 6.0]), model_name="churn", version_name="v1",
                       sample_input_data=X)
    reg.get_model("churn").rename("MYDB.ML.CHURN")
    return mv


def test_fidelity_unqualified_model_not_in_the_current_schema_says_where_it_looked(session, logged):
    for sql in ("SELECT churn!predict(a) FROM X", "SHOW VERSIONS IN MODEL churn"):
        with pytest.raises(SqlError) as info:
            execute(sql, {"X": X}, session=session)
        message = str(info.value)
        assert message.startswith("Unable to find model MODEL_REGISTRY.PUBLIC.CHURN"), message
        assert "CHURN is not qualified, so it was looked for in the current schema MODEL_REGISTRY.PUBLIC." in message
        assert "A model CHURN exists in MYDB.ML: write MYDB.ML.CHURN." in message
        assert "Fix: write DATABASE.SCHEMA.CHURN, or run USE SCHEMA DATABASE.SCHEMA first." in message
    out = execute("SELECT MYDB.ML.churn!predict(a):output_feature_0 AS p FROM X", {"X": X}, session=session)
    assert out.iloc[:, 0].to_numpy(dtype=float).round(6).tolist() == [2.0, 4.0, 6.0]


def test_fidelity_unqualified_model_in_a_missing_current_schema_says_so(session, logged):
    session.use_database("MYDB")
    session.use_schema("STAGING")
    for sql in ("SELECT churn!predict(a) FROM X", "SHOW VERSIONS IN MODEL churn"):
        with pytest.raises(SqlError) as info:
            execute(sql, {"X": X}, session=session)
        message = str(info.value)
        assert message.startswith("Unable to find model CHURN: it is not qualified, so it was looked for in the "
                                  "current schema MYDB.STAGING, which does not exist. A model CHURN exists in "
                                  "MYDB.ML: write MYDB.ML.CHURN."), message
        assert "not authorized" not in message
