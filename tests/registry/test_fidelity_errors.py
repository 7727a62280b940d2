"""Issue 11, items 12, 14, 15, 16: what a Snowflake user sees from the registry when something is wrong or
asked for: the error classes and words of snowflake-ml-python, options that do something or say they
don't, SHOW MODELS' model_type, and a model's history across a rename."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline

from jupyter_mreg.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError

X = pd.DataFrame({"a": [np.nan, 2.0, 3.0, 4.0], "b": [10.0, 20.0, np.nan, 40.0], "c": [1.0, 2.0, 3.0, 4.0]})


@pytest.fixture
def lr():
    return make_pipeline(SimpleImputer(), LinearRegression()).fit(X, [1.0, 2.0, 3.0, 4.0])


@pytest.fixture
def default_reg(session):
    """The registry a session that names no database opens: MODEL_REGISTRY.PUBLIC, there out of the box."""
    from jupyter_mreg.registry import Registry

    return Registry(session)


# --- item 12: a version name that exists ---------------------------------------------------------------------
def test_fidelity_duplicate_version_names_the_model_as_written(default_reg, lr):
    default_reg.log_model(lr, model_name="my_model", version_name="v1", sample_input_data=X)
    with pytest.raises(ValueError) as info:
        default_reg.log_model(lr, model_name="my_model", version_name="v1", sample_input_data=X)
    assert isinstance(info.value, AlreadyExistsError)
    assert str(info.value) == ("Model my_model version v1 already existed. To auto-generate `version_name`, "
                               "skip that argument.")


# --- item 14: a database or schema that does not exist ---------------------------------------------------------
def test_fidelity_registry_on_a_missing_database_raises_value_error(session):
    from jupyter_mreg.registry import Registry

    with pytest.raises(ValueError) as info:
        Registry(session, database_name="NODB")
    assert isinstance(info.value, NotFoundError)
    assert str(info.value).startswith("Database NODB does not exist.")
    assert "create=True" in str(info.value)
    Registry(session)  # the default location is made on first use; NODB was not
    from jupyter_mreg.registry import catalog_reads

    assert catalog_reads.database_names(session) == ["MODEL_REGISTRY"]


def test_fidelity_snowflake_code_needs_only_a_new_session_line_to_create_its_schemas(tmp_path):
    """Snowflake code (`Registry(session, database_name=..., schema_name=...)`, no `create=`) runs on a fresh
    local registry when only the session line says so."""
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    session = Session.builder.configs({"home": str(tmp_path), "create_schemas": True}).create()
    assert Registry(session, database_name="ML_DB", schema_name="MODELS").location == "ML_DB.MODELS"
    with pytest.raises(ValueError, match="create_schemas must be True or False, found 'yes'"):
        Session.builder.configs({"home": str(tmp_path), "create_schemas": "yes"}).create()


def test_fidelity_registry_on_a_missing_schema_raises_value_error_and_create_makes_it(session, lr):
    from jupyter_mreg.registry import Registry

    Registry(session, database_name="MYDB", create=True)  # the database, with its PUBLIC schema
    with pytest.raises(ValueError, match=r"^Schema MYDB.ML does not exist\. Fix: pass create=True"):
        Registry(session, database_name="mydb", schema_name="ml")
    reg = Registry(session, database_name="mydb", schema_name="ml", create=True)
    reg.log_model(lr, model_name="m", version_name="v1", sample_input_data=X)
    assert Registry(session, database_name="MYDB", schema_name="ML").show_models()["name"].tolist() == ["M"]
    assert Registry(session, database_name="MYDB").location == "MYDB.PUBLIC"  # every database has PUBLIC


# --- item 15: options that do something, or say they don't ---------------------------------------------------
def test_fidelity_conda_channel_is_refused_for_the_warehouse(default_reg, lr):
    with pytest.raises(ValueError) as info:
        default_reg.log_model(lr, model_name="m", sample_input_data=X, target_platforms=["WAREHOUSE"],
                              conda_dependencies=["conda-forge::prophet==1.1.5"])
    assert isinstance(info.value, InvalidArgumentError)
    assert "non-Snowflake channel 'conda-forge'" in str(info.value)
    assert "cannot run in a Snowflake Warehouse" in str(info.value)
    assert "'prophet==1.1.5'" in str(info.value) and "SNOWPARK_CONTAINER_SERVICES" in str(info.value)
    assert default_reg.show_models().empty
    mv = default_reg.log_model(lr, model_name="m", sample_input_data=X,
                               target_platforms=["SNOWPARK_CONTAINER_SERVICES"],
                               conda_dependencies=["conda-forge::scikit-learn"])
    assert "conda-forge::scikit-learn" in mv.environment().environment_yml


def test_fidelity_sample_input_row_is_kept_and_shown(default_reg, lr):
    mv = default_reg.log_model(lr, model_name="m", version_name="v1", sample_input_data=X)
    row = mv.get_sample_input_data()
    # one row, as Snowflake keeps: the first with the fewest nulls
    pd.testing.assert_frame_equal(row, pd.DataFrame({"a": [2.0], "b": [20.0], "c": [2.0]}), check_dtype=False)
    functions = mv.show_functions()
    assert [f["name"] for f in functions] == ["PREDICT"]
    pd.testing.assert_frame_equal(functions[0]["sample_input_data"], row)
    opted_out = default_reg.log_model(lr, model_name="m", version_name="v2", sample_input_data=X,
                                      options={"capture_sample_input_data": False})
    assert opted_out.get_sample_input_data() is None
    assert opted_out.show_functions()[0]["sample_input_data"] is None


def test_fidelity_warehouse_only_options_warn_that_they_do_nothing(default_reg, lr):
    with pytest.warns(UserWarning) as caught:
        default_reg.log_model(lr, model_name="m", sample_input_data=X,
                              artifact_repository_map={"pip": "snowflake.snowpark.pypi_shared_repository"},
                              resource_constraint={"architecture": "x86"})
    messages = [str(w.message) for w in caught]
    assert any(m.startswith("artifact_repository_map={'pip'") and "has no effect" in m for m in messages)
    assert any(m.startswith("resource_constraint={'architecture': 'x86'}") and "has no effect" in m
               for m in messages)
    with pytest.raises(InvalidArgumentError, match="resource_constraint must be a dict of text to text"):
        default_reg.log_model(lr, model_name="m", sample_input_data=X, resource_constraint=["x86"])


# --- item 16: SHOW MODELS and a model's history ---------------------------------------------------------------
def test_fidelity_show_models_model_type_is_user_model(default_reg, lr):
    default_reg.log_model(lr, model_name="m", sample_input_data=X)
    assert default_reg.show_models()["model_type"].tolist() == ["USER_MODEL"]


def test_fidelity_model_history_follows_renames(default_reg, lr):
    default_reg.log_model(lr, model_name="churn", version_name="v1", sample_input_data=X)
    default_reg.get_model("churn").rename("churn_v2")
    default_reg.get_model("churn_v2").version("v1").set_alias("prod")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        default_reg.log_model(lr, model_name="churn", version_name="other", sample_input_data=X)  # another model
    history = default_reg.get_model("churn_v2").get_model_history()
    assert history["action"].tolist() == ["CREATE_MODEL", "LOG_MODEL", "RENAME_MODEL", "SET_ALIAS"]
    assert history["model_name"].tolist() == ["CHURN", "CHURN", "CHURN_V2", "CHURN_V2"]
    assert default_reg.get_model("churn").get_model_history()["version_name"].fillna("").tolist() == ["", "OTHER"]
