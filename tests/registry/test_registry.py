from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from jupyter_mreg.errors import AlreadyExistsError, InvalidIdentifierError, MregError, NotFoundError, SignatureError


def test_seed_code_runs_as_written(tmp_path, churn, pipe):
    X_train, _ = churn
    input_df = X_train.tail(50)
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    session = Session.builder.configs({"home": str(tmp_path / "registry"), "create_schemas": True}).create()
    reg = Registry(session=session, database_name="MYDB", schema_name="ML")
    with pytest.warns(UserWarning, match=r"'scikit-learn==1.5.0' is declared, but scikit-learn .* is installed"):
        mv = reg.log_model(model=pipe, model_name="customer_churn", version_name="v1",
                           sample_input_data=X_train.head(), comment="baseline LR", metrics={"auc": 0.84},
                           conda_dependencies=["scikit-learn==1.5.0"])
    versions = reg.get_model("customer_churn").versions()
    assert [v.version_name for v in versions] == ["V1"]
    out = mv.run(input_df, function_name="predict")
    assert list(out.columns) == ["output_feature_0"]
    assert out.index.equals(pd.RangeIndex(len(input_df)))  # a fresh index, as Snowflake's run returns
    np.testing.assert_array_equal(out["output_feature_0"].to_numpy(), pipe.predict(input_df))
    assert mv.comment == "baseline LR"
    assert mv.get_metric("auc") == 0.84
    assert mv.fully_qualified_model_name == "MYDB.ML.CUSTOMER_CHURN"


def test_missing_version_name_gets_random_adjective_animal_n(reg, churn, pipe):
    mv = reg.log_model(pipe, model_name="m", sample_input_data=churn[0].head())
    assert re.fullmatch(r"[A-Z]+_[A-Z]+_[1-4]", mv.version_name)
    assert reg.get_model("m").version(mv.version_name) == mv


def test_duplicate_version_says_how_to_get_an_automatic_name(reg, churn, pipe):
    reg.log_model(pipe, model_name="m", version_name="v1", sample_input_data=churn[0].head())
    with pytest.raises(AlreadyExistsError) as info:
        reg.log_model(pipe, model_name="M", version_name="V1", sample_input_data=churn[0].head())
    assert str(info.value) == ("Model M version V1 already existed. To auto-generate `version_name`, "
                               "skip that argument.")
    assert isinstance(info.value, ValueError)
    assert len(reg.get_model("m").versions()) == 1


def test_signature_or_sample_is_required(reg, pipe):
    with pytest.raises(SignatureError, match="Either of `signatures` or `sample_input_data` must be provided"):
        reg.log_model(pipe, model_name="m", version_name="v1")
    assert reg.show_models().empty


def test_logging_a_model_version_copies_it(reg, churn, pipe):
    mv = reg.log_model(pipe, model_name="m", version_name="v1", sample_input_data=churn[0].head(), comment="c")
    copy = reg.log_model(mv, model_name="other", version_name="prod_copy")
    assert copy.fully_qualified_model_name == "MYDB.ML.OTHER" and copy.version_name == "PROD_COPY"
    pd.testing.assert_frame_equal(copy.run(churn[0], function_name="predict"),
                                  mv.run(churn[0], function_name="predict"))
    with pytest.raises(MregError, match="only model_name and version_name may be specified"):
        reg.log_model(mv, model_name="x", comment="nope")


def test_show_models_columns_and_values(reg, churn, pipe):
    reg.log_model(pipe, model_name="churn", version_name="v1", sample_input_data=churn[0].head())
    reg.log_model(pipe, model_name="churn", version_name="v2", sample_input_data=churn[0].head())
    reg.get_model("churn").version("v2").set_alias("production")
    df = reg.show_models()
    assert list(df.columns) == ["created_on", "name", "model_type", "database_name", "schema_name", "comment",
                                "owner", "default_version_name", "versions", "aliases"]
    row = df.iloc[0]
    assert (row["name"], row["database_name"], row["schema_name"]) == ("CHURN", "MYDB", "ML")
    assert row["model_type"] == "USER_MODEL" and row["owner"] == "DATA_SCIENTIST"
    assert row["default_version_name"] == "V1"
    assert json.loads(row["versions"]) == ["V1", "V2"]
    assert json.loads(row["aliases"]) == {"DEFAULT": "V1", "FIRST": "V1", "LAST": "V2", "PRODUCTION": "V2"}
    assert [m.name for m in reg.models()] == ["CHURN"]


def test_names_fold_like_snowflake_identifiers(reg, churn, pipe):
    reg.log_model(pipe, model_name="customer_churn", version_name="v1", sample_input_data=churn[0].head())
    reg.log_model(pipe, model_name='"customer_churn"', version_name='"v1"', sample_input_data=churn[0].head())
    assert sorted(reg.show_models()["name"]) == ['"customer_churn"', "CUSTOMER_CHURN"]
    assert reg.get_model("CUSTOMER_CHURN").name == "CUSTOMER_CHURN"
    assert reg.get_model("Customer_Churn").fully_qualified_name == "MYDB.ML.CUSTOMER_CHURN"
    assert reg.get_model('"customer_churn"').version('"v1"').version_name == '"v1"'
    assert reg.get_model("mydb.ml.customer_churn").name == "CUSTOMER_CHURN"
    assert reg.get_model('"CUSTOMER_CHURN"').name == "CUSTOMER_CHURN"  # quoted upper case is the same object


def test_fully_qualified_names_reach_other_schemas(reg, churn, pipe):
    mv = reg.log_model(pipe, model_name="otherdb.lab.m", version_name="v1", sample_input_data=churn[0].head())
    assert mv.fully_qualified_model_name == "OTHERDB.LAB.M"
    assert reg.show_models().empty  # not in MYDB.ML
    assert reg.get_model("OTHERDB.LAB.M").version("V1") == mv


@pytest.mark.parametrize("bad", ["", "1abc", "has space", '"unclosed', "a.b.c.d", "x..y", 'a"b'])
def test_invalid_identifiers_get_a_clear_error(reg, churn, pipe, bad):
    with pytest.raises(InvalidIdentifierError, match="is not a valid identifier"):
        reg.log_model(pipe, model_name=bad, version_name="v1", sample_input_data=churn[0].head())


def test_unknown_model_suggests_a_close_name(reg, churn, pipe):
    reg.log_model(pipe, model_name="customer_churn", version_name="v1", sample_input_data=churn[0].head())
    with pytest.raises(NotFoundError, match=r"Unable to find model MYDB.ML.CUSTOMER_CHRN. Did you mean CUSTOMER_CHURN\?"):
        reg.get_model("customer_chrn")


def test_delete_model_removes_everything(reg, churn, pipe):
    reg.log_model(pipe, model_name="m", version_name="v1", sample_input_data=churn[0].head())
    reg.delete_model("m")
    assert reg.show_models().empty
    with pytest.raises(NotFoundError):
        reg.get_model("m")
    with pytest.raises(NotFoundError):
        reg.delete_model("m")
    # the name is free again
    reg.log_model(pipe, model_name="m", version_name="v1", sample_input_data=churn[0].head())


def test_same_files_logged_twice_are_stored_once(reg, session, churn, pipe):
    reg.log_model(pipe, model_name="m", version_name="v1", sample_input_data=churn[0].head())
    before = sorted(p.name for p in session.home.joinpath("artifacts").rglob("*") if p.is_file())
    reg.log_model(pipe, model_name="m", version_name="v2", sample_input_data=churn[0].head())
    after = sorted(p.name for p in session.home.joinpath("artifacts").rglob("*") if p.is_file())
    assert before == after


def test_history_records_time_user_role_and_action(reg, churn, pipe):
    mv = reg.log_model(pipe, model_name="m", version_name="v1", sample_input_data=churn[0].head())
    mv.set_metric("f1", 0.5)
    mv.set_alias("prod")
    reg.get_model("m").comment = "the model"
    history = reg.get_history()
    assert list(history.columns) == ["event_time", "user", "role", "action", "database_name", "schema_name",
                                     "model_name", "version_name", "details"]
    assert set(history["user"]) == {"alice"} and set(history["role"]) == {"DATA_SCIENTIST"}
    actions = list(reg.get_model("m").get_model_history()["action"])
    assert actions == ["CREATE_MODEL", "LOG_MODEL", "SET_METRIC", "SET_ALIAS", "SET_COMMENT"]
    assert history["event_time"].is_monotonic_increasing
    assert history.iloc[-1]["details"] == {"comment": "the model"}


def test_unknown_registry_option_is_named(session):
    from jupyter_mreg.registry import Registry

    with pytest.raises(MregError, match=r"Registry options \['colour'\] are unknown"):
        Registry(session=session, options={"colour": "blue"})
    assert Registry(session=session, options={"enable_monitoring": False}).location == "MODEL_REGISTRY.PUBLIC"
