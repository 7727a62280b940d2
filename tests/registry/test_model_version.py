from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, update

from jupyter_mreg.errors import (DataValidationError, EnvironmentMismatchError, InferenceError,
                                 InvalidArgumentError, MetricNotFoundError, NotFoundError)
from jupyter_mreg.model.task import Task


@pytest.fixture
def mv(reg, churn, pipe):
    return reg.log_model(pipe, model_name="churn", version_name="v1", sample_input_data=churn[0].head(),
                         metrics={"auc": 0.84})


def test_names_and_repr(mv):
    assert (mv.model_name, mv.version_name, mv.fully_qualified_model_name) == ("CHURN", "V1", "MYDB.ML.CHURN")
    assert repr(mv) == "ModelVersion(\n  name='CHURN',\n  version='V1',\n)"


def test_comment_and_description(mv):
    mv.comment = "first"
    assert mv.description == "first"


def test_metrics_round_trip(mv):
    cm = np.array([[50, 3], [4, 43]])
    mv.set_metric("confusion_matrix", cm)
    mv.set_metric("per_class", {"0": {"precision": 0.9}, "1": {"precision": 0.8}})
    mv.set_metric("curve", [0.1, 0.5, 0.9])
    mv.set_metric("auc", np.float64(0.9))
    metrics = mv.show_metrics()
    assert metrics["auc"] == 0.9 and metrics["curve"] == [0.1, 0.5, 0.9]
    assert metrics["per_class"]["1"]["precision"] == 0.8
    assert isinstance(mv.get_metric("confusion_matrix"), np.ndarray)
    np.testing.assert_array_equal(mv.get_metric("confusion_matrix"), cm)
    assert mv.get_metric("confusion_matrix").dtype == cm.dtype
    mv.delete_metric("curve")
    with pytest.raises(MetricNotFoundError, match="Cannot find metric with name curve") as info:
        mv.get_metric("curve")
    assert isinstance(info.value, KeyError)
    with pytest.raises(KeyError):
        mv.delete_metric("curve")


def test_metadata_column_is_snowflake_shaped(reg, mv):
    meta = json.loads(reg.get_model("churn").show_versions()["metadata"][0])
    assert meta == {"metrics": {"auc": 0.84}, "snowpark_ml_schema_version": "2024-01-01"}


def test_alias_moves_atomically_between_versions(reg, mv, churn, pipe):
    v2 = reg.log_model(pipe, model_name="churn", version_name="v2", sample_input_data=churn[0].head())
    mv.set_alias("production")
    assert reg.get_model("churn").version("PRODUCTION") == mv
    v2.set_alias("Production")
    model = reg.get_model("churn")
    assert model.version("production") == v2
    assert "PRODUCTION" not in mv.aliases and "PRODUCTION" in v2.aliases
    with pytest.raises(NotFoundError, match="has no alias PRODUCTION"):
        mv.unset_alias("production")
    v2.unset_alias("production")
    with pytest.raises(NotFoundError):
        model.version("production")
    with pytest.raises(InvalidArgumentError, match="system alias"):
        mv.set_alias("default")
    with pytest.raises(InvalidArgumentError, match="unquoted identifier"):
        mv.set_alias('"prod"')


def test_show_functions_and_task(mv):
    functions = {f["name"]: f for f in mv.show_functions()}
    assert list(functions) == ["PREDICT", "PREDICT_PROBA", "PREDICT_LOG_PROBA", "DECISION_FUNCTION"]
    predict = functions["PREDICT"]
    assert predict["target_method"] == "predict"
    assert predict["target_method_function_type"] == "FUNCTION"
    assert predict["is_partitioned"] is False
    assert [f.name for f in predict["signature"].inputs] == ["age", "income", "tenure"]
    assert [f.name for f in functions["PREDICT_PROBA"]["signature"].outputs] == ["output_feature_0", "output_feature_1"]
    assert mv.get_model_task() is Task.TABULAR_BINARY_CLASSIFICATION


def test_target_methods_option_narrows(reg, churn, pipe):
    mv = reg.log_model(pipe, model_name="m", version_name="v1", sample_input_data=churn[0].head(),
                       options={"target_methods": ["predict_proba"]})
    assert [f["name"] for f in mv.show_functions()] == ["PREDICT_PROBA"]
    out = mv.run(churn[0])  # one method: no function_name needed
    np.testing.assert_allclose(out.to_numpy(), pipe.predict_proba(churn[0]))


def test_run_needs_function_name_when_several(mv, churn):
    with pytest.raises(InvalidArgumentError, match="There are more than 1 target methods available in the model"):
        mv.run(churn[0])
    with pytest.raises(NotFoundError, match="There is no method with name PREDICT_LABEL available"):
        mv.run(churn[0], function_name="predict_label")


def test_run_returns_outputs_only_in_input_order(mv, churn, pipe):
    X = churn[0].sample(frac=1.0, random_state=1).assign(id=range(len(churn[0])), region="EU")
    out = mv.run(X, function_name="PREDICT_PROBA")
    assert list(out.columns) == ["output_feature_0", "output_feature_1"]
    assert out.index.equals(pd.RangeIndex(len(X)))  # a fresh index, as Snowflake's run returns
    np.testing.assert_allclose(out.to_numpy(), pipe.predict_proba(X[["age", "income", "tenure"]]))


def test_run_validates_input(mv, churn):
    X = churn[0]
    with pytest.raises(DataValidationError, match="tenure") as info:
        mv.run(X.drop(columns="tenure"), function_name="predict")
    assert "age" in str(info.value) and "income" in str(info.value)
    with pytest.raises(DataValidationError, match="age"):
        mv.run(X.assign(age=X["age"].astype(str)), function_name="predict")


def test_run_accepts_case_folding_widening_and_nullable_dtypes(mv, churn, pipe):
    X = churn[0].head(20).assign(income=lambda d: d["income"].round())
    expected = pipe.predict(X)
    frames = {
        "upper-case columns": X.rename(columns=str.upper),
        "nullable Int64": X.astype({"age": "Int64"}),
        "int32 into INT64": X.astype({"age": "int32"}),
        "int64 into DOUBLE": X.astype({"income": "int64"}),
        "nullable Float64": X.astype({"tenure": "Float64"}),
    }
    for label, frame in frames.items():
        out = mv.run(frame, function_name="predict")["output_feature_0"].to_numpy()
        np.testing.assert_array_equal(out, expected, err_msg=label)
    with pytest.raises(DataValidationError, match="expects INT64 but the column 'age' has dtype float64"):
        mv.run(X.astype({"age": "float64"}), function_name="predict")


def test_load_returns_the_original_object(mv, churn, pipe):
    loaded = mv.load()
    assert type(loaded) is type(pipe)
    np.testing.assert_array_equal(loaded.predict(churn[0]), pipe.predict(churn[0]))


def _edit_environment(session, mv, change):
    from jupyter_mreg.store import tables as t

    manifest = mv.manifest.to_dict()
    change(manifest["environment"])
    with session.catalog.write() as conn:
        version_id = select(t.versions.c.id).where(t.versions.c.name == mv.version_name).scalar_subquery()
        conn.execute(update(t.version_manifests).where(t.version_manifests.c.version_id == version_id)
                     .values(manifest=json.dumps(manifest)))
    mv._manifest = None


def test_load_refuses_a_different_environment_unless_forced(session, mv, churn, pipe):
    _edit_environment(session, mv, lambda env: env["built_with"].update({"scikit-learn": "0.1.0"}))
    with pytest.raises(EnvironmentMismatchError) as info:
        mv.load()
    message = str(info.value)
    assert "scikit-learn" in message and "0.1.0" in message and "force=True" in message
    with pytest.warns(RuntimeWarning, match="force=True"):
        loaded = mv.load(force=True)
    np.testing.assert_array_equal(loaded.predict(churn[0]), pipe.predict(churn[0]))


def test_export_writes_the_package(mv, tmp_path):
    mv.export(tmp_path / "out")
    assert (tmp_path / "out" / "MANIFEST.yml").is_file()
    with pytest.raises(InvalidArgumentError, match="must be an empty folder"):
        mv.export(tmp_path / "out")


def test_html_card_shows_functions_and_metrics(mv):
    html = mv._repr_html_()
    assert "PREDICT_PROBA" in html and "auc=0.84" in html and "TABULAR_BINARY_CLASSIFICATION" in html


def test_deleted_model_gives_a_clear_error(reg, mv):
    reg.delete_model("churn")
    with pytest.raises(NotFoundError, match="Unable to find model MYDB.ML.CHURN"):
        mv.comment


def test_a_failure_inside_the_model_names_the_version_and_keeps_the_cause(reg, churn):
    from sklearn.linear_model import LogisticRegression

    X, y = churn
    mv = reg.log_model(LogisticRegression().fit(X, y), model_name="lr", version_name="v1", sample_input_data=X.head())
    with pytest.raises(InferenceError, match=r"Method PREDICT of model MYDB.ML.LR version V1 failed on 300 input "
                                             r"row\(s\): ValueError: Input X contains NaN") as info:
        mv.run(X.assign(income=np.nan), function_name="predict")
    assert isinstance(info.value.__cause__, ValueError)


def test_zero_rows_give_an_empty_result_with_the_output_columns(mv, churn):
    out = mv.run(churn[0].iloc[:0], function_name="predict_proba")
    assert list(out.columns) == ["output_feature_0", "output_feature_1"] and len(out) == 0


def test_wrong_argument_types_are_named(mv, churn):
    with pytest.raises(InvalidArgumentError, match="function_name must be a method name"):
        mv.run(churn[0], function_name=3)
    with pytest.raises(InvalidArgumentError, match="comment of model MYDB.ML.CHURN version V1 must be a string"):
        mv.comment = 5
