"""The registry on a PostgreSQL catalog (a team's shared server): the same API, the same guarantees."""

from __future__ import annotations

import numpy as np
import pytest

from jupyter_mreg import Session
from jupyter_mreg.registry import Registry


@pytest.fixture
def pg_session(tmp_path, empty_postgres):
    session = Session.builder.configs({"home": str(tmp_path), "catalog_url": empty_postgres}).create()
    yield session
    session.close()


def test_log_find_alias_run_on_postgresql(pg_session, churn, pipe):
    reg = Registry(session=pg_session, database_name="MYDB", schema_name="ML", create=True)
    mv = reg.log_model(pipe, model_name="churn", version_name="v1", sample_input_data=churn[0].head(),
                       metrics={"auc": 0.8})
    reg.log_model(pipe, model_name="churn", sample_input_data=churn[0].head())
    mv.set_alias("production")
    mv.set_metric("cm", np.eye(2))
    model = reg.get_model("churn")
    assert model.version("production") == mv
    assert len(model.show_versions()) == 2
    np.testing.assert_array_equal(mv.get_metric("cm"), np.eye(2))
    np.testing.assert_array_equal(mv.run(churn[0], function_name="predict")["output_feature_0"], pipe.predict(churn[0]))
    assert list(reg.get_history()["action"])[-2:] == ["SET_ALIAS", "SET_METRIC"]
    assert not (pg_session.home / "catalog.db").exists()
