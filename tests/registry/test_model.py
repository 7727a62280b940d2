from __future__ import annotations

import json

import pytest

from jupyter_mreg.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError


@pytest.fixture
def model(reg, churn, pipe):
    for v in ("v1", "v2", "v3"):
        reg.log_model(pipe, model_name="churn", version_name=v, sample_input_data=churn[0].head(), comment=f"c{v}")
    return reg.get_model("churn")


def test_names(model):
    assert model.name == "CHURN"
    assert model.fully_qualified_name == "MYDB.ML.CHURN"


def test_comment_and_description_are_the_same(model):
    assert model.comment is None
    model.comment = "churn models"
    assert model.description == "churn models"
    model.description = "changed"
    assert model.comment == "changed"


def test_first_version_is_default_and_default_can_change(model):
    assert model.default.version_name == "V1"
    model.default = "v3"
    assert model.default.version_name == "V3"
    model.default = model.version("v2")
    assert model.default.version_name == "V2"
    with pytest.raises(NotFoundError, match="You cannot set version V9 as default version as it does not exist"):
        model.default = "v9"


def test_first_last_and_system_aliases(model):
    assert model.first().version_name == "V1"
    assert model.last().version_name == "V3"
    assert model.version("DEFAULT").version_name == "V1"
    assert model.version("last").version_name == "V3"
    model.version("v2").set_alias("production")
    assert model.version("production").version_name == "V2"
    with pytest.raises(NotFoundError, match="Unable to find version or alias with name V7 in model MYDB.ML.CHURN"):
        model.version("v7")


def test_versions_in_creation_order(model):
    assert [v.version_name for v in model.versions()] == ["V1", "V2", "V3"]


def test_show_versions_columns(model):
    model.version("v3").set_alias("prod")
    df = model.show_versions()
    assert list(df.columns) == ["created_on", "name", "aliases", "database_name", "schema_name", "model_name",
                                "is_default_version", "functions", "metadata", "user_data", "comment",
                                "model_attributes", "size", "runnable_in"]
    assert list(df["name"]) == ["V1", "V2", "V3"]
    assert [json.loads(a) for a in df["aliases"]] == [["DEFAULT", "FIRST"], [], ["LAST", "PROD"]]
    assert list(df["is_default_version"]) == [True, False, False]
    assert json.loads(df["functions"][0]) == ["PREDICT", "PREDICT_PROBA", "PREDICT_LOG_PROBA", "DECISION_FUNCTION"]
    assert json.loads(df["model_attributes"][0])["task"] == "TABULAR_BINARY_CLASSIFICATION"
    assert json.loads(df["model_attributes"][0])["framework"] == "sklearn"
    assert list(df["comment"]) == ["cv1", "cv2", "cv3"]
    assert (df["size"] > 0).all()
    assert json.loads(df["runnable_in"][0]) == ["WAREHOUSE", "SNOWPARK_CONTAINER_SERVICES"]


def test_default_version_cannot_be_deleted(model):
    with pytest.raises(InvalidArgumentError, match="V1 is the default version of model MYDB.ML.CHURN and cannot be deleted"):
        model.delete_version("v1")
    model.delete_version("v2")
    assert [v.version_name for v in model.versions()] == ["V1", "V3"]
    with pytest.raises(NotFoundError):
        model.delete_version("v2")


def test_deleting_last_version_moves_last_alias(model):
    model.delete_version("v3")
    assert model.last().version_name == "V2"


def test_tags(model):
    assert model.show_tags() == {}
    model.set_tag("stage", "testing")
    model.set_tag("stage", "production")
    model.set_tag("otherdb.gov.owner", "team-a")
    assert model.show_tags() == {"MYDB.ML.STAGE": "production", "OTHERDB.GOV.OWNER": "team-a"}
    assert model.get_tag("stage") == "production"
    assert model.get_tag("MYDB.ML.STAGE") == "production"
    assert model.get_tag("missing") is None
    model.unset_tag("stage")
    assert model.show_tags() == {"OTHERDB.GOV.OWNER": "team-a"}
    with pytest.raises(NotFoundError, match="Tag MYDB.ML.STAGE is not set"):
        model.unset_tag("stage")


def test_rename_and_move(reg, model, churn, pipe):
    model.rename("churn_v2")
    assert model.name == "CHURN_V2"
    assert reg.get_model("churn_v2").version("v1").comment == "cv1"
    with pytest.raises(NotFoundError):
        reg.get_model("churn")
    model.rename("archive.old.churn")
    assert model.fully_qualified_name == "ARCHIVE.OLD.CHURN"
    assert reg.show_models().empty
    reg.log_model(pipe, model_name="taken", version_name="v1", sample_input_data=churn[0].head())
    with pytest.raises(AlreadyExistsError):
        reg.get_model("taken").rename("archive.old.churn")


def test_html_card_lists_versions_and_tags(model):
    model.set_tag("stage", "prod")
    html = model._repr_html_()
    assert "MYDB.ML.CHURN" in html and "V3" in html and "MYDB.ML.STAGE=prod" in html
