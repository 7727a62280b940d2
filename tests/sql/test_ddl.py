"""Model DDL/DCL in `%%mreg` SQL, each statement checked against the Python API's view of the registry."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jupyter_mreg.errors import NotFoundError
from jupyter_mreg.model import custom_model
from jupyter_mreg.sql import execute
from jupyter_mreg.sql.ddl import GrantNotEnforcedWarning, like_pattern
from jupyter_mreg.sql.errors import SqlError

OK = "Statement executed successfully."


@pytest.fixture
def sql(session):
    """Run a cell in the session; the current schema is MYDB.ML (set with USE, as a user would)."""

    def run(text: str, **params):
        return execute(text, {}, session=session, params=params)

    return run


@pytest.fixture
def churn_model(reg, churn, pipe, sql):
    """CUSTOMER_CHURN with versions V1 (default, metric auc) and V2; MYDB.ML is the current schema."""
    X = churn[0].head()
    reg.log_model(pipe, model_name="customer_churn", version_name="v1", sample_input_data=X, metrics={"auc": 0.8})
    reg.log_model(pipe, model_name="customer_churn", version_name="v2", sample_input_data=X)
    sql("USE SCHEMA mydb.ml")
    return reg.get_model("customer_churn")


def status(frame: pd.DataFrame) -> str:
    assert list(frame.columns) == ["status"] and len(frame) == 1
    return frame["status"][0]


def error(sql, text: str, **params) -> SqlError:
    with pytest.raises(SqlError) as info:
        sql(text, **params)
    return info.value


def caret_at(err: SqlError, text: str, fragment: str) -> None:
    """The error points at the first occurrence of `fragment` in the statement."""
    assert err.position == text.index(fragment), (err.position, text.index(fragment), err.render())


# --- SHOW -----------------------------------------------------------------------------------------------
def test_show_models_in_schema_is_show_models(sql, reg, churn_model):
    pd.testing.assert_frame_equal(sql("SHOW MODELS IN SCHEMA mydb.ml"), reg.show_models())
    pd.testing.assert_frame_equal(sql("SHOW MODELS IN SCHEMA ml"), reg.show_models())  # current database
    pd.testing.assert_frame_equal(sql("SHOW MODELS IN SCHEMA"), reg.show_models())  # current schema


def test_show_models_scope_and_like(sql, session, reg, churn_model, churn, pipe):
    from jupyter_mreg.registry import Registry

    X = churn[0].head()
    Registry(session, database_name="MYDB", schema_name="STAGING", create=True).log_model(
        pipe, model_name="churn_candidate", version_name="v1", sample_input_data=X)
    Registry(session, database_name="OTHER", schema_name="PUBLIC", create=True).log_model(
        pipe, model_name="fraud", version_name="v1", sample_input_data=X)

    def names(frame):
        return list(zip(frame["database_name"], frame["schema_name"], frame["name"]))

    # without IN: the current database, every schema, ordered by schema then name (as Snowflake)
    assert names(sql("SHOW MODELS")) == [("MYDB", "ML", "CUSTOMER_CHURN"), ("MYDB", "STAGING", "CHURN_CANDIDATE")]
    assert names(sql("SHOW MODELS IN DATABASE")) == names(sql("SHOW MODELS IN DATABASE mydb"))
    assert names(sql("SHOW MODELS IN DATABASE other")) == [("OTHER", "PUBLIC", "FRAUD")]
    assert len(sql("SHOW MODELS IN ACCOUNT")) == 3
    # LIKE: case-insensitive, % and _, backslash escapes
    assert names(sql("SHOW MODELS LIKE '%CHURN%' IN ACCOUNT")) == [
        ("MYDB", "ML", "CUSTOMER_CHURN"), ("MYDB", "STAGING", "CHURN_CANDIDATE")]
    assert list(sql("SHOW MODELS LIKE 'customer_churn'")["name"]) == ["CUSTOMER_CHURN"]
    assert list(sql("SHOW MODELS LIKE 'customer\\_churn'")["name"]) == ["CUSTOMER_CHURN"]
    assert list(sql("SHOW MODELS LIKE 'customer_churn_' IN ACCOUNT")["name"]) == []
    assert list(sql("SHOW MODELS LIKE 'fr_ud' IN ACCOUNT")["name"]) == ["FRAUD"]
    empty = sql("SHOW MODELS LIKE 'nothing%'")
    assert empty.empty and list(empty.columns) == list(reg.show_models().columns)


def test_like_pattern_rules():
    assert like_pattern("a%").fullmatch("ABC") and not like_pattern("a_").fullmatch("abc")
    assert like_pattern("100\\%").fullmatch("100%") and not like_pattern("100\\%").fullmatch("1000")
    assert like_pattern("a.b").fullmatch("A.B") and not like_pattern("a.b").fullmatch("axb")


def test_show_versions_is_show_versions(sql, churn_model):
    pd.testing.assert_frame_equal(sql("SHOW VERSIONS IN MODEL customer_churn"), churn_model.show_versions())
    pd.testing.assert_frame_equal(sql("SHOW VERSIONS IN MODEL mydb.ml.customer_churn"), churn_model.show_versions())
    only_v2 = sql("SHOW VERSIONS LIKE '%2' IN MODEL customer_churn")
    assert list(only_v2["name"]) == ["V2"] and json.loads(only_v2["aliases"][0]) == ["LAST"]


class Scorer(custom_model.CustomModel):
    @custom_model.inference_api
    def predict(self, df: pd.DataFrame, *, offset: float = 0.0) -> pd.DataFrame:
        return pd.DataFrame({"score": df["x"] * 2.0 + offset})


class PerStore(custom_model.CustomModel):
    @custom_model.partitioned_api
    def forecast(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"total": [df["sales"].sum()], "rows": [len(df)]})


def test_show_functions(sql, reg, churn_model):
    frame = sql("SHOW FUNCTIONS IN MODEL customer_churn")  # the default version
    assert list(frame.columns) == ["created_on", "name", "version_name", "min_num_arguments", "max_num_arguments",
                                   "arguments", "return_type", "description", "language", "is_table_function"]
    mv = churn_model.version("v1")
    assert list(frame["name"]) == [f["name"] for f in mv.show_functions()]
    predict = frame.iloc[0]
    assert predict["version_name"] == "V1" and predict["return_type"] == "OBJECT" and predict["language"] == "PYTHON"
    assert (predict["min_num_arguments"], predict["max_num_arguments"]) == (3, 3)
    assert json.loads(predict["arguments"]) == [{"name": "age", "type": "NUMBER"}, {"name": "income", "type": "FLOAT"},
                                                {"name": "tenure", "type": "FLOAT"}]
    assert predict["description"] == "predict" and not predict["is_table_function"]
    assert predict["created_on"] == churn_model.show_versions()["created_on"][0]
    assert set(sql("SHOW FUNCTIONS IN MODEL customer_churn VERSION last")["version_name"]) == {"V2"}
    assert list(sql("SHOW FUNCTIONS LIKE 'predict%' IN MODEL customer_churn")["name"]) == [
        "PREDICT", "PREDICT_PROBA", "PREDICT_LOG_PROBA"]

    # params are trailing optional arguments; table functions return their columns
    reg.log_model(Scorer(custom_model.ModelContext()), model_name="scorer", version_name="v1",
                  sample_input_data=pd.DataFrame({"x": [1.0, 2.0]}))
    scorer = sql("SHOW FUNCTIONS IN MODEL scorer").iloc[0]
    assert (scorer["min_num_arguments"], scorer["max_num_arguments"]) == (1, 2)
    assert json.loads(scorer["arguments"]) == [{"name": "x", "type": "FLOAT"},
                                               {"name": "offset", "type": "FLOAT", "default": 0.0}]
    data = pd.DataFrame({"store": ["a", "b"], "sales": [1.0, 2.0]})
    reg.log_model(PerStore(), model_name="per_store", version_name="v1", sample_input_data=data,
                  options={"function_type": "TABLE_FUNCTION"})
    forecast = sql("SHOW FUNCTIONS IN MODEL per_store").iloc[0]
    assert forecast["is_table_function"] and forecast["return_type"] == "TABLE (TOTAL FLOAT, ROWS NUMBER)"


def test_describe_model(sql, reg, churn_model):
    frame = sql("DESCRIBE MODEL customer_churn")
    pd.testing.assert_frame_equal(frame, reg.show_models())
    pd.testing.assert_frame_equal(sql("DESC MODEL MYDB.ML.CUSTOMER_CHURN"), frame)


# --- ALTER MODEL ----------------------------------------------------------------------------------------
def test_set_comment_and_default_version(sql, reg, churn_model):
    assert status(sql("ALTER MODEL customer_churn SET COMMENT = 'Churn model' DEFAULT_VERSION = 'v2'")) == OK
    model = reg.get_model("customer_churn")
    assert model.comment == "Churn model" and model.default.version_name == "V2"
    sql("ALTER MODEL customer_churn SET DEFAULT_VERSION = v1, COMMENT = $$it's v1$$")
    assert model.default.version_name == "V1" and model.comment == "it's v1"
    sql("ALTER MODEL customer_churn UNSET COMMENT")
    assert model.comment is None
    assert sql("SHOW MODELS")["default_version_name"][0] == "V1"


def test_comment_on_model(sql, reg, churn_model):
    assert status(sql("COMMENT ON MODEL customer_churn IS 'from COMMENT ON'")) == OK
    assert reg.get_model("customer_churn").comment == "from COMMENT ON"
    assert status(sql("COMMENT IF EXISTS ON MODEL no_such_model IS 'x'")) == OK
    text = "COMMENT ON TABLE t IS 'x'"
    err = error(sql, text)
    assert "COMMENT ON TABLE is not supported in %%mreg: it runs COMMENT ON MODEL." in str(err)
    caret_at(err, text, "TABLE")


def test_default_version_must_be_a_version(sql, churn_model):
    churn_model.version("v2").set_alias("prod")
    text = "ALTER MODEL customer_churn SET DEFAULT_VERSION = prod"
    err = error(sql, text)
    assert "PROD is an alias of version V2" in str(err) and "name the version, V2" in str(err)
    caret_at(err, text, "prod")
    err = error(sql, "ALTER MODEL customer_churn SET DEFAULT_VERSION = v3")
    assert str(err) == "Model MYDB.ML.CUSTOMER_CHURN has no version V3. Versions: V1, V2."


def test_alias_set_move_and_unset(sql, reg, churn_model):
    assert status(sql("ALTER MODEL customer_churn VERSION v1 SET ALIAS = prod")) == OK
    assert reg.get_model("customer_churn").version("PROD").version_name == "V1"
    sql("ALTER MODEL customer_churn VERSION v2 SET ALIAS = 'prod'")  # moves, as set_alias does
    assert reg.get_model("customer_churn").version("PROD").version_name == "V2"
    sql("ALTER MODEL customer_churn VERSION LAST SET ALIAS = champion")  # a version named by an alias
    assert churn_model.version("champion").version_name == "V2"
    # Snowflake: `VERSION <alias> UNSET ALIAS` names the alias to remove
    sql("ALTER MODEL customer_churn VERSION prod UNSET ALIAS")
    with pytest.raises(NotFoundError):
        churn_model.version("prod")
    assert churn_model.version("champion").version_name == "V2"
    # naming the version removes its user aliases
    sql("ALTER MODEL customer_churn VERSION v2 UNSET ALIAS")
    assert churn_model.version("v2").aliases == ["LAST"]
    err = error(sql, "ALTER MODEL customer_churn VERSION v2 UNSET ALIAS")
    assert str(err) == "Version V2 of model MYDB.ML.CUSTOMER_CHURN has no alias to unset."
    err = error(sql, "ALTER MODEL customer_churn VERSION default UNSET ALIAS")
    assert "DEFAULT is a system alias" in str(err)
    text = "ALTER MODEL customer_churn VERSION v1 SET ALIAS = first"
    err = error(sql, text)
    assert "system alias" in str(err)
    caret_at(err, text, "first")
    err = error(sql, "ALTER MODEL customer_churn VERSION v1 SET ALIAS = v2")
    assert "a version has that name" in str(err)


def test_modify_version_comment_and_metadata(sql, churn_model):
    text = ("ALTER MODEL customer_churn MODIFY VERSION v2 "
            "SET COMMENT = 'retrained', METADATA = '{\"metrics\": {\"auc\": 0.91, \"f1\": [0.5, 0.7]}}'")
    assert status(sql(text)) == OK
    mv = churn_model.version("v2")
    assert mv.comment == "retrained"
    assert mv.show_metrics() == {"auc": 0.91, "f1": [0.5, 0.7]}
    meta = json.loads(sql("SHOW VERSIONS LIKE 'v2' IN MODEL customer_churn")["metadata"][0])
    assert meta == {"metrics": {"auc": 0.91, "f1": [0.5, 0.7]}, "snowpark_ml_schema_version": "2024-01-01"}
    # a dict bound with :name; SET METADATA replaces the whole JSON (V1's auc is gone)
    churn_model.version("v1").set_alias("prod")
    sql("ALTER MODEL customer_churn MODIFY VERSION prod SET METADATA = :meta", meta={"metrics": {"rmse": 1.5}})
    assert churn_model.version("v1").show_metrics() == {"rmse": 1.5}
    # metadata written from SHOW VERSIONS keeps array metrics as arrays
    churn_model.version("v1").set_metric("cm", np.array([[1, 2], [3, 4]]))
    shown = sql("SHOW VERSIONS LIKE 'v1' IN MODEL customer_churn")["metadata"][0]
    sql("ALTER MODEL customer_churn MODIFY VERSION v2 SET METADATA = :m", m=shown)
    assert isinstance(churn_model.version("v2").get_metric("cm"), np.ndarray)
    sql("ALTER MODEL customer_churn MODIFY VERSION v2 UNSET METADATA, COMMENT")
    assert churn_model.version("v2").show_metrics() == {} and churn_model.version("v2").comment is None


@pytest.mark.parametrize("value, message", [
    ("'{\"metrics\": '", "METADATA is not valid JSON: Expecting value (character 13 of the string)."),
    ("'[1, 2]'", "METADATA must be a JSON object, e.g. '{\"metrics\": {\"auc\": 0.91}}'; found a JSON list."),
    ("'{\"metrics\": [1]}'", 'METADATA "metrics" must be an object of metric name to value'),
    ("'{\"snowpark_ml_schema_version\": \"2030\"}'", "METADATA \"snowpark_ml_schema_version\" is '2030'"),
    ("'{\"metric_types\": {\"a\": \"list\"}}'", 'METADATA "metric_types" must map metric names'),
])
def test_bad_metadata_is_refused_at_the_string(sql, churn_model, value, message):
    text = f"ALTER MODEL customer_churn MODIFY VERSION v1 SET METADATA = {value}"
    err = error(sql, text)
    assert str(err).startswith(message)
    caret_at(err, text, value)
    assert churn_model.version("v1").show_metrics() == {"auc": 0.8}  # unchanged


def test_tags(sql, churn_model):
    sql("ALTER MODEL customer_churn SET TAG stage = 'prod', mydb.governance.owner_team = 'risk'")
    assert churn_model.show_tags() == {"MYDB.GOVERNANCE.OWNER_TEAM": "risk", "MYDB.ML.STAGE": "prod"}
    assert churn_model.get_tag("stage") == "prod"
    sql("ALTER MODEL customer_churn SET TAG stage = 'staging'")
    assert churn_model.get_tag("STAGE") == "staging"
    assert status(sql("ALTER MODEL customer_churn UNSET TAG stage")) == OK
    assert churn_model.show_tags() == {"MYDB.GOVERNANCE.OWNER_TEAM": "risk"}
    text = "ALTER MODEL customer_churn UNSET TAG owner_teem"
    err = error(sql, text)
    assert str(err) == ("Tag MYDB.ML.OWNER_TEEM is not set on model MYDB.ML.CUSTOMER_CHURN. "
                        "Tags set on it: MYDB.GOVERNANCE.OWNER_TEAM.")
    caret_at(err, text, "owner_teem")
    err = error(sql, "ALTER MODEL customer_churn SET TAG stage = 42")
    assert str(err) == "Expected a tag value string after =, found '42'."


def test_rename_and_move(sql, reg, session, churn_model):
    assert status(sql("ALTER MODEL customer_churn RENAME TO churn")) == OK
    assert [m.name for m in reg.models()] == ["CHURN"]
    from jupyter_mreg.registry import Registry

    Registry(session, database_name="MYDB", schema_name="PROD", create=True)  # the target schema must exist
    sql("ALTER MODEL churn RENAME TO mydb.prod.churn")
    assert reg.models() == []
    assert Registry(session, database_name="MYDB", schema_name="PROD", create=True).get_model("churn").version("v1")
    text = "ALTER MODEL mydb.prod.churn RENAME TO nope.churn"
    err = error(sql, text)
    assert str(err) == "Schema MYDB.NOPE does not exist. Schemas of MYDB: ML, PROD."
    caret_at(err, text, "nope")
    sql("CREATE MODEL other FROM MODEL mydb.prod.churn")
    err = error(sql, "ALTER MODEL other RENAME TO mydb.prod.churn")
    assert "a model with that name exists" in str(err)


def test_drop_version(sql, churn_model):
    churn_model.version("v1").set_alias("prod")
    text = "ALTER MODEL customer_churn DROP VERSION v1"
    err = error(sql, text)
    assert str(err) == ("Version V1 is the default version of model MYDB.ML.CUSTOMER_CHURN and cannot be dropped: "
                        "make another version the default first (ALTER MODEL CUSTOMER_CHURN SET DEFAULT_VERSION "
                        "= V2), or drop the whole model (DROP MODEL CUSTOMER_CHURN).")
    caret_at(err, text, "v1")
    err = error(sql, "ALTER MODEL customer_churn DROP VERSION prod")
    assert "PROD is an alias of version V1" in str(err)
    assert status(sql("ALTER MODEL customer_churn DROP VERSION v2")) == OK
    assert [v.version_name for v in churn_model.versions()] == ["V1"]
    err = error(sql, "ALTER MODEL customer_churn DROP VERSION v2")
    assert str(err) == "Model MYDB.ML.CUSTOMER_CHURN has no version V2. Versions: V1."


def test_add_version_from_model(sql, reg, churn, pipe, churn_model):
    reg.log_model(pipe, model_name="candidate", version_name="c7", sample_input_data=churn[0].head(),
                  metrics={"auc": 0.93}, comment="tuned")
    assert status(sql("ALTER MODEL customer_churn ADD VERSION v3 FROM MODEL candidate VERSION c7")) == OK
    v3 = churn_model.version("v3")
    assert v3.show_metrics() == {"auc": 0.93} and v3.comment == "tuned"
    assert churn_model.default.version_name == "V1"  # ADD VERSION keeps the default
    np.testing.assert_array_equal(v3.run(churn[0], function_name="predict")["output_feature_0"],
                                  pipe.predict(churn[0]))
    sql("ALTER MODEL customer_churn ADD VERSION v4 FROM MODEL candidate")  # the source's default version
    assert [v.version_name for v in churn_model.versions()] == ["V1", "V2", "V3", "V4"]
    text = "ALTER MODEL customer_churn ADD VERSION v2 FROM MODEL candidate"
    err = error(sql, text)
    assert str(err) == "Model MYDB.ML.CUSTOMER_CHURN already has a version named V2. Versions: V1, V2, V3, V4."
    caret_at(err, text, "v2")
    err = error(sql, "ALTER MODEL customer_churn ADD VERSION v5 FROM MODEL candidate VERSION c8")
    assert str(err) == ("Model MYDB.ML.CANDIDATE has no version or alias C8. Versions: C7. "
                        "Aliases: DEFAULT (C7), FIRST (C7), LAST (C7).")
    err = error(sql, "ALTER MODEL customer_churn ADD VERSION v5 FROM @stage/path")
    assert "registry.log_model" in str(err)


def test_create_model_from_model(sql, reg, churn, pipe, churn_model):
    churn_model.version("v2").set_alias("prod")
    assert status(sql("CREATE MODEL churn_copy FROM MODEL customer_churn VERSION prod")) == \
        "Model CHURN_COPY successfully created."
    copy = reg.get_model("churn_copy")
    assert [v.version_name for v in copy.versions()] == ["V2"]  # keeps the source version's name
    np.testing.assert_array_equal(copy.version("v2").run(churn[0], function_name="predict")["output_feature_0"],
                                  pipe.predict(churn[0]))
    sql("CREATE MODEL IF NOT EXISTS churn_copy FROM MODEL customer_churn")
    assert status(sql("CREATE MODEL IF NOT EXISTS churn_copy FROM MODEL customer_churn")) == \
        "CHURN_COPY already exists, statement succeeded."
    text = "CREATE MODEL churn_copy FROM MODEL customer_churn"
    err = error(sql, text)
    assert str(err).startswith("Model MYDB.ML.CHURN_COPY already exists. Use CREATE OR REPLACE MODEL")
    caret_at(err, text, "churn_copy")
    sql("CREATE OR REPLACE MODEL churn_copy WITH VERSION first_one FROM MODEL customer_churn VERSION first")
    assert [v.version_name for v in reg.get_model("churn_copy").versions()] == ["FIRST_ONE"]
    err = error(sql, "CREATE OR REPLACE MODEL customer_churn FROM MODEL customer_churn")
    assert "cannot copy from the model it replaces" in str(err)
    err = error(sql, "CREATE OR REPLACE MODEL IF NOT EXISTS x FROM MODEL customer_churn")
    assert str(err) == "OR REPLACE and IF NOT EXISTS cannot be used together: choose one."
    err = error(sql, "CREATE MODEL nope.x FROM MODEL customer_churn")
    assert str(err) == "Cannot create model MYDB.NOPE.X: schema MYDB.NOPE does not exist. Schemas of MYDB: ML."


def test_drop_model(sql, reg, churn_model):
    text = "DROP MODEL customer_chrun"
    err = error(sql, text)
    assert str(err) == "Unable to find model MYDB.ML.CUSTOMER_CHRUN. Did you mean CUSTOMER_CHURN?"
    caret_at(err, text, "customer_chrun")
    assert status(sql("DROP MODEL customer_churn")) == "CUSTOMER_CHURN successfully dropped."
    assert reg.models() == []
    assert status(sql("DROP MODEL IF EXISTS customer_churn")) == \
        "Drop statement executed successfully (CUSTOMER_CHURN already dropped)."
    assert status(sql("DROP MODEL IF EXISTS nodb.nope.m")) == \
        "Drop statement executed successfully (M already dropped)."


def test_alter_if_exists_on_a_missing_model_does_nothing(sql, reg, churn_model):
    assert status(sql("ALTER MODEL IF EXISTS nope SET COMMENT = 'x'")) == OK
    assert status(sql("ALTER MODEL IF EXISTS nope RENAME TO other")) == OK
    assert [m.name for m in reg.models()] == ["CUSTOMER_CHURN"]


# --- names ----------------------------------------------------------------------------------------------
def test_identifier_case_folding(sql, reg, churn, pipe, churn_model):
    for spelling in ["customer_churn", "CUSTOMER_CHURN", "Customer_Churn", '"CUSTOMER_CHURN"', "mydb.ml.customer_churn",
                     'MyDb."ML".customer_churn', "IDENTIFIER('customer_churn')"]:
        assert list(sql(f"SHOW VERSIONS IN MODEL {spelling}")["name"]) == ["V1", "V2"], spelling
    text = 'SHOW VERSIONS IN MODEL "customer_churn"'
    err = error(sql, text)  # quoted: case-sensitive, another name
    assert str(err) == 'Unable to find model MYDB.ML."customer_churn". Did you mean CUSTOMER_CHURN?'
    caret_at(err, text, '"customer_churn"')
    reg.log_model(pipe, model_name='"MixedCase"', version_name='"v1"', sample_input_data=churn[0].head())
    sql('ALTER MODEL "MixedCase" MODIFY VERSION "v1" SET COMMENT = \'quoted\'')
    assert reg.get_model('"MixedCase"').version('"v1"').comment == "quoted"
    assert list(sql("SHOW MODELS LIKE 'mixed%'")["name"]) == ['"MixedCase"']
    err = error(sql, "ALTER MODEL mixedcase SET COMMENT = 'x'")
    assert str(err).startswith("Unable to find model MYDB.ML.MIXEDCASE.")


def test_bind_values_and_identifier(sql, churn_model):
    sql("ALTER MODEL IDENTIFIER(:name) SET COMMENT = :note", name="mydb.ml.customer_churn", note="from a variable")
    assert churn_model.comment == "from a variable"
    text = "ALTER MODEL customer_churn SET COMMENT = :nte"
    err = error(sql, text, note="x")
    assert str(err) == "The bind variable :nte is not defined in the notebook. Did you mean :note?"
    caret_at(err, text, ":nte")
    err = error(sql, "ALTER MODEL customer_churn SET COMMENT = :n", n=3)
    assert str(err) == "COMMENT must be a string, found int."


# --- USE ------------------------------------------------------------------------------------------------
def test_use(sql, session, churn_model, churn, pipe):
    from jupyter_mreg.registry import Registry

    Registry(session, database_name="OTHER", schema_name="PUBLIC", create=True).log_model(
        pipe, model_name="fraud", version_name="v1", sample_input_data=churn[0].head())
    assert status(sql("USE DATABASE other")) == OK
    assert (session.get_current_database(), session.get_current_schema()) == ("OTHER", "PUBLIC")
    assert list(sql("SHOW MODELS")["name"]) == ["FRAUD"]
    sql("USE mydb.ml")
    assert (session.get_current_database(), session.get_current_schema()) == ("MYDB", "ML")
    assert list(sql("SHOW VERSIONS IN MODEL customer_churn")["name"]) == ["V1", "V2"]
    sql("USE SCHEMA ml")
    sql("USE ROLE analyst")
    assert session.get_current_role() == "ANALYST"
    assert status(sql("USE WAREHOUSE compute_wh")) == OK  # models run in this kernel
    text = "USE DATABASE mydbb"
    err = error(sql, text)
    assert str(err) == "Database MYDBB does not exist. Did you mean MYDB?"
    caret_at(err, text, "mydbb")
    err = error(sql, "USE SCHEMA stagin")
    assert str(err) == "Schema MYDB.STAGIN does not exist. Schemas of MYDB: ML."
    assert session.get_current_schema() == "ML"


# --- GRANT / REVOKE ---------------------------------------------------------------------------------------
def test_grant_and_revoke_parse_check_and_warn(sql, churn_model):
    with pytest.warns(GrantNotEnforcedWarning, match="GRANT USAGE, READ ON MODEL MYDB.ML.CUSTOMER_CHURN TO ROLE "
                                                     "ANALYST was accepted but has no effect yet"):
        assert status(sql("GRANT USAGE, READ ON MODEL customer_churn TO ROLE analyst")) == OK
    with pytest.warns(GrantNotEnforcedWarning, match="REVOKE ALL ON MODEL"):
        sql("REVOKE ALL PRIVILEGES ON MODEL customer_churn FROM ROLE analyst")
    with pytest.warns(GrantNotEnforcedWarning, match="GRANT CREATE MODEL ON SCHEMA MYDB.ML TO ROLE DS"):
        sql("GRANT CREATE MODEL ON SCHEMA mydb.ml TO ROLE ds")
    with pytest.warns(GrantNotEnforcedWarning, match="FUTURE MODELS IN SCHEMA MYDB.ML"):
        sql("GRANT USAGE ON FUTURE MODELS IN SCHEMA ml TO ROLE analyst")
    err = error(sql, "GRANT USAGE ON MODEL customer_chrn TO ROLE analyst")
    assert str(err) == "Unable to find model MYDB.ML.CUSTOMER_CHRN. Did you mean CUSTOMER_CHURN?"
    text = "GRANT SELECT ON MODEL customer_churn TO ROLE analyst"
    err = error(sql, text)
    assert str(err) == "SELECT is not a privilege on MODEL: use USAGE, READ, OWNERSHIP or ALL."
    caret_at(err, text, "SELECT")
    err = error(sql, "GRANT USAGE ON MODEL customer_churn TO analyst")
    assert str(err) == "Expected ROLE after TO, found 'analyst'."


# --- syntax errors --------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, message, at", [
    ("ALTER MODEL customer_churn RENAME INTO x", "Expected TO after RENAME, found 'INTO'.", "INTO"),
    ("ALTER MODEL customer_churn", ("Expected SET, UNSET, VERSION, MODIFY, RENAME, DROP or ADD after the model name, "
                                   "found end of statement."), None),
    ("ALTER MODEL customer_churn SET colour = 'x'", ("Expected COMMENT, DEFAULT_VERSION or TAG after SET, found "
                                                    "'colour'."), "colour"),
    ("ALTER MODEL SET COMMENT = 'x'", ("Expected a model name after MODEL, found 'SET'. SET is a reserved word: write "
                                      "it in double quotes to use it as a name."), "SET"),
    ("ALTER MODEL customer_churn SET COMMENT 'x'", "Expected '=' after COMMENT, found \"'x'\".", "'x'"),
    ("ALTER MODEL customer_churn VERSION v1 SET ALIAS prod", "Expected '=' after ALIAS, found 'prod'.", "prod"),
    ("ALTER MODEL customer_churn MODIFY v1 SET COMMENT = 'x'", "Expected VERSION after MODIFY, found 'v1'.", "v1"),
    ("ALTER MODEL a.b.c.d SET COMMENT = 'x'", ("A model name A.B.C.D has 4 parts; expected NAME, SCHEMA.NAME or "
                                              "DATABASE.SCHEMA.NAME."), "a.b"),
    ("SHOW MODELS IN WAREHOUSE w", "Expected ACCOUNT, DATABASE or SCHEMA after IN, found 'WAREHOUSE'.", "WAREHOUSE"),
    ("SHOW VERSIONS IN customer_churn", "Expected MODEL after IN, found 'customer_churn'.", "customer_churn"),
    ("SHOW FUNCTIONS IN MODEL customer_churn VERSION", ("Expected a version name or alias after VERSION, found end "
                                                       "of statement."), None),
    ("SHOW TABLES", ("SHOW TABLES is not supported in %%mreg: it runs SHOW MODELS, SHOW VERSIONS IN MODEL and SHOW "
                    "FUNCTIONS IN MODEL."), "TABLES"),
    ("DROP TABLE t", "DROP TABLE is not supported in %%mreg: it runs DROP MODEL.", "TABLE"),
    ("CREATE MODEL x WITH VERSION v1", "Expected FROM after the version name, found end of statement.", None),
    ("CREATE MODEL x FROM customer_churn", "Expected MODEL after FROM, found 'customer_churn'.", "customer_churn"),
    ("DROP MODEL customer_churn extra", "Expected end of statement after the model name, found 'extra'.", "extra"),
    ("USE DATABASE", "Expected a database name after DATABASE, found end of statement.", None),
])
def test_syntax_errors_say_what_was_expected_and_where(sql, churn_model, text, message, at):
    err = error(sql, text)
    assert str(err) == message
    assert err.position == (text.index(at) if at else len(text))


def test_errors_are_placed_in_the_whole_cell(sql, reg, churn_model):
    cell = "ALTER MODEL customer_churn SET COMMENT = 'ok';\n\n  ALTER MODEL customer_churn\n    RENAME INTO x;"
    err = error(sql, cell)
    assert err.line_column == (4, 12)
    assert err.render().endswith("    RENAME INTO x;\n               ^")
    assert reg.get_model("customer_churn").comment == "ok"  # statements before the error ran
