"""Migration: a registry written by jupyter_mreg 0.1.0 (tests/fixtures/registry_0_1, made by
tests/fixtures/make_registry_0_1.py before the change path, the typed manifest and the split artifact store)
opens with today's code, and lists, runs and changes as it did."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Integer, MetaData, create_engine, event, inspect, select

from jupyter_mreg import Session
from jupyter_mreg.errors import EnvironmentMismatchError
from jupyter_mreg.registry import Registry
from jupyter_mreg.store import check, migrations, tables

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "registry_0_1"
X = pd.DataFrame({"age": [25, 70, 40], "income": [30000.0, 80000.0, 55000.0], "tenure": [1.0, 6.0, 2.0]})
# What 0.1.0 returned for X, recorded when the fixture was made.
EXPECTED = {
    "V1": {"predict": [1, 0, 1], "predict_proba": [[0.394705, 0.605295], [0.703696, 0.296304], [0.476016, 0.523984]]},
    "V2": {"predict": [1, 0, 1], "predict_proba": [[0.423072, 0.576928], [0.669887, 0.330113], [0.488867, 0.511133]]},
}


@pytest.fixture(params=["sqlite", "postgresql"])
def old(request, tmp_path):
    """A copy of the 0.1.0 registry (the fixture itself is never written) and its `MYDB.ML` registry: its
    SQLite catalog as it is, or its tables and rows copied as they are into the test PostgreSQL server."""
    home = tmp_path / "registry"
    shutil.copytree(FIXTURE, home)
    config = {"home": str(home), "user": "bob", "role": "ANALYST"}
    if request.param == "postgresql":
        config["catalog_url"] = _copy_to_postgres(home / "catalog.db", request.getfixturevalue("empty_postgres"))
    session = Session(config)
    yield session, Registry(session=session, database_name="MYDB", schema_name="ML")
    session.close()


def _copy_to_postgres(sqlite_file: Path, url: str) -> str:
    """The 0.1.0 catalog's tables (as reflected from the file) and rows, in the PostgreSQL database at `url`."""
    source = create_engine(f"sqlite:///{sqlite_file}")
    target = create_engine(url)
    tables = MetaData()
    # SQLite's names for types (DATETIME) as the generic types PostgreSQL spells its own way
    event.listen(tables, "column_reflect",
                 lambda _inspector, _table, column: column.update(type=column["type"].as_generic()))
    tables.reflect(source)
    with source.connect() as src, target.begin() as dst:
        tables.create_all(dst)
        for table in tables.sorted_tables:
            rows = [dict(row._mapping) for row in src.execute(table.select())]
            if rows:
                dst.execute(table.insert(), rows)
            if "id" in table.c and isinstance(table.c.id.type, Integer):  # serials go on after the copied ids
                dst.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                    f"(SELECT max(id) FROM {table.name}))")
    source.dispose()
    target.dispose()
    return url


def test_upgrade_moves_manifests_out_of_the_versions_rows(old):
    session, reg = old
    with session.catalog.read() as conn:
        assert migrations.current_version(conn) == migrations.LATEST_VERSION
        assert "manifest" not in {c["name"] for c in inspect(conn).get_columns("versions")}
        manifests = conn.execute(select(tables.version_manifests.c.manifest)).scalars().all()
    assert len(manifests) == 4 and all(json.loads(m)["manifest_version"] == "1.0" for m in manifests)


def test_upgrade_lists_what_0_1_wrote(old):
    _, reg = old
    models = reg.show_models()
    assert models["name"].tolist() == ['"Doubler"', "CHURN"]
    churn = reg.get_model("churn")
    assert churn.comment == "churn classifier"
    assert churn.show_tags() == {"MYDB.ML.STAGE": "production"}
    assert churn.default.version_name == "V2"
    versions = churn.show_versions()
    assert versions["name"].tolist() == ["V1", "V2"]
    assert versions["aliases"].tolist() == ['["FIRST", "PREVIOUS"]', '["DEFAULT", "LAST", "PROD"]']
    assert churn.version("prod").version_name == "V2"
    v1 = churn.version("v1")
    assert v1.comment == "baseline"
    assert v1.get_metric("auc") == 0.84
    confusion = v1.get_metric("confusion")
    assert isinstance(confusion, np.ndarray) and confusion.tolist() == [[50, 5], [7, 38]]
    assert churn.version("v2").show_metrics() == {"auc": 0.86, "f1": 0.7}
    assert [f["name"] for f in v1.show_functions()] == ["PREDICT", "PREDICT_PROBA", "PREDICT_LOG_PROBA",
                                                        "DECISION_FUNCTION"]
    assert v1.get_model_task().value == "TABULAR_BINARY_CLASSIFICATION"
    history = churn.get_model_history()
    assert "DROP_VERSION" in history["action"].tolist()
    staging = Registry(session=reg.session, database_name="MYDB", schema_name="STAGING")
    assert staging.get_model("churn_copy").version("from_v1").show_metrics()["auc"] == 0.84


def test_upgrade_loads_and_runs_0_1_versions(old):
    _, reg = old
    churn = reg.get_model("churn")
    for version, expected in EXPECTED.items():
        mv = churn.version(version)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the packages may have moved on since 0.1.0; force says load anyway
            pipe = mv.load(force=True)
        assert pipe.predict(X).tolist() == expected["predict"]
        try:
            proba = mv.run(X, function_name="predict_proba")
        except EnvironmentMismatchError as exc:  # the refusal names what changed and how to fix it
            assert "scikit-learn" in str(exc) or "numpy" in str(exc) or "pandas" in str(exc)
            continue
        assert np.allclose(proba.to_numpy(dtype=float), expected["predict_proba"], atol=1e-6)
        assert mv.run(X, function_name="predict").iloc[:, 0].tolist() == expected["predict"]
    doubler = reg.get_model('"Doubler"').version("v1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = doubler.load(force=True)
    assert model.predict(pd.DataFrame({"x": [1.5, -2.0]}))["doubled"].tolist() == [3.0, -4.0]


def test_upgrade_then_change_0_1_registry(old, churn, pipe):
    session, reg = old
    churn_model = reg.get_model("churn")
    churn_model.version("v1").set_alias("prod")  # moves from V2
    assert churn_model.version("prod").version_name == "V1"
    churn_model.version("v2").set_metric("recall", 0.5)
    assert churn_model.version("v2").get_metric("recall") == 0.5
    X_train, _ = churn
    new = reg.log_model(pipe, model_name="churn", version_name="v4", sample_input_data=X_train.head())
    assert churn_model.show_versions()["name"].tolist() == ["V1", "V2", "V4"]
    assert new.run(X_train.head(3), function_name="predict").shape == (3, 1)
    churn_model.default = "v4"
    churn_model.delete_version("v2")
    reg.get_model('"Doubler"').rename("DOUBLER_RENAMED")
    assert reg.show_models()["name"].tolist() == ["CHURN", "DOUBLER_RENAMED"]
    actions = reg.get_history()["action"].tolist()
    assert actions[-4:] == ["LOG_MODEL", "SET_DEFAULT_VERSION", "DROP_VERSION", "RENAME_MODEL"]
    report = check(session.catalog, session.artifacts, verify=True)
    assert report.missing_objects == [] and report.corrupt_objects == []
