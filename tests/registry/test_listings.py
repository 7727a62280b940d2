"""Listings are reused while the registry is unchanged, and never show a stale state: a change from this
process, another process, or a registry made again at the same place is seen at once."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from jupyter_mreg import Session
from jupyter_mreg.registry import Registry, catalog_reads

OTHER_PROCESS = """
import sys
from jupyter_mreg import Session
from jupyter_mreg.registry import Registry
reg = Registry(session=Session({"home": sys.argv[1]}), database_name="MYDB", schema_name="ML", create=True)
reg.get_model("churn").version("v1").set_alias("prod")
reg.get_model("churn").comment = "from elsewhere"
"""


def test_a_change_in_another_process_shows_in_the_next_listing(reg, session, churn, pipe):
    X, _ = churn
    reg.log_model(pipe, model_name="churn", version_name="v1", sample_input_data=X.head())
    model = reg.get_model("churn")
    assert model.show_versions()["aliases"].tolist() == ['["DEFAULT", "FIRST", "LAST"]']
    assert reg.show_models()["comment"].tolist() == [None]
    stamp = catalog_reads.change_stamp(session)
    subprocess.run([sys.executable, "-c", OTHER_PROCESS, str(session.home)], check=True, timeout=120)
    assert catalog_reads.change_stamp(session) != stamp
    assert model.show_versions()["aliases"].tolist() == ['["DEFAULT", "FIRST", "LAST", "PROD"]']
    assert reg.show_models()["comment"].tolist() == ["from elsewhere"]


def test_a_listing_is_the_callers_to_change(reg, churn, pipe):
    X, _ = churn
    reg.log_model(pipe, model_name="churn", version_name="v1", sample_input_data=X.head())
    first = reg.get_model("churn").show_versions()
    first.loc[0, "name"] = "EDITED"
    del first["metadata"]
    again = reg.get_model("churn").show_versions()
    assert again["name"].tolist() == ["V1"] and "metadata" in again.columns


def test_a_registry_made_again_at_the_same_place_is_not_confused_with_the_old_one(tmp_path, churn, pipe):
    X, _ = churn
    home = tmp_path / "again"
    for version, metric in (("v1", 0.5), ("v2", 0.9)):  # same model, same number of changes each time
        session = Session({"home": str(home)})
        reg = Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
        reg.log_model(pipe, model_name="churn", version_name=version, sample_input_data=X.head(),
                      metrics={"auc": metric})
        listed = reg.get_model("churn").show_versions()
        assert listed["name"].tolist() == [version.upper()]
        assert json.loads(listed["metadata"][0])["metrics"] == {"auc": metric}
        session.catalog.dispose()
        shutil.rmtree(home)
