"""Garbage collection never removes what a registry uses: a mistyped catalog beside a store, two catalogs
sharing one store, and freed objects that a delete could not collect yet (reclaimable, not damage)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from jupyter_mreg import Session
from jupyter_mreg.registry import Registry
from jupyter_mreg.store import check
from tests.conftest import make_churn

OTHER = LogisticRegression(C=0.3, max_iter=500).fit(*make_churn(100, seed=1))
FIXTURE_0_1 = Path(__file__).resolve().parents[1] / "fixtures" / "registry_0_1"
X_0_1 = pd.DataFrame({"age": [25, 70, 40], "income": [30000.0, 80000.0, 55000.0], "tenure": [1.0, 6.0, 2.0]})


def _registry(home: Path, *, artifacts: Path | None = None) -> Registry:
    config = {"home": str(home)}
    if artifacts is not None:
        config["artifacts_url"] = str(artifacts)
    return Registry(Session.builder.configs(config).create(), database_name="D", create=True)


def _objects(artifacts: Path) -> set[str]:
    return {p.name for p in (artifacts / "objects").rglob("*") if p.is_file()}


def _age_objects(artifacts: Path, seconds: float = 3600) -> None:
    """Make every stored object look old, as it would be an hour later: past every grace period."""
    then = time.time() - seconds
    for path in (artifacts / "objects").rglob("*"):
        if path.is_file():
            os.utime(path, (then, then))


def _cli(*args: str) -> tuple[int, str]:
    result = subprocess.run([sys.executable, "-m", "jupyter_mreg", "check", "--grace-seconds", "0", *args],
                            capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


# -- a mistyped catalog location beside a store --------------------------------------------------------


def test_hardening_repair_from_a_mistyped_catalog_keeps_an_older_registrys_objects(tmp_path):
    # A registry made by 0.1.0 never recorded itself in its store: only the empty-catalog guard protects it.
    home = tmp_path / "old"
    shutil.copytree(FIXTURE_0_1, home)
    artifacts = home / "artifacts"
    before = _objects(artifacts)
    assert before
    mistyped = tmp_path / "typo" / "catalog.db"
    Session({"catalog_url": str(mistyped), "artifacts_url": str(artifacts), "home": str(tmp_path / "typo")}).catalog

    code, out = _cli("--repair", "--catalog-url", str(mistyped), "--artifacts-url", str(artifacts))
    assert code == 1, out
    assert f"the catalog at sqlite:///{mistyped} has never held a version" in out
    assert f"artifact store at {str(artifacts)!r} holds {len(before)} object(s)" in out
    assert "--allow-empty-catalog" in out
    assert _objects(artifacts) == before
    model = Registry(Session({"home": str(home)}), database_name="MYDB", schema_name="ML", create=True).get_model("CHURN")
    assert list(model.version("V1").run(X_0_1, function_name="predict")["output_feature_0"]) == [1, 0, 1]


def test_hardening_repair_from_a_mistyped_catalog_keeps_a_recorded_registrys_objects(tmp_path, churn, pipe):
    home = tmp_path / "real"
    real = _registry(home)
    real.log_model(pipe, model_name="m", version_name="v1", sample_input_data=churn[0].head())
    artifacts = home / "artifacts"
    before = _objects(artifacts)
    _age_objects(artifacts)
    typo = _registry(tmp_path / "typo", artifacts=artifacts)  # a new, empty catalog beside the real store

    report = check(typo._session.catalog, typo._session.artifacts, repair=True, grace_seconds=0)
    assert report.ok and report.orphaned_objects == [] and report.repaired == []
    assert _objects(artifacts) == before
    assert list(real.get_model("m").version("v1").run(churn[0].head(3), function_name="predict").iloc[:, -1]) == \
        list(pipe.predict(churn[0].head(3)))


def test_hardening_an_empty_catalog_collects_only_when_told_to(tmp_path):
    home = tmp_path / "old"
    shutil.copytree(FIXTURE_0_1, home)
    artifacts = home / "artifacts"
    empty = tmp_path / "empty" / "catalog.db"
    Session({"catalog_url": str(empty), "home": str(tmp_path / "empty"), "artifacts_url": str(artifacts)}).catalog
    code, out = _cli("--repair", "--allow-empty-catalog", "--catalog-url", str(empty), "--artifacts-url",
                     str(artifacts))
    assert code == 0, out
    assert _objects(artifacts) == set()


# -- two catalogs sharing one store ----------------------------------------------------------------------


@pytest.fixture
def shared(tmp_path, churn, pipe):
    """Registries `one` and `two`, two catalogs on one artifact store; both log the same model under "same"
    (one set of objects), and `two` logs another model, "only_two", whose model file only it has."""
    artifacts = tmp_path / "shared-artifacts"
    one = _registry(tmp_path / "one", artifacts=artifacts)
    two = _registry(tmp_path / "two", artifacts=artifacts)
    X = churn[0].head()
    one.log_model(pipe, model_name="same", version_name="v1", sample_input_data=X)
    two.log_model(pipe, model_name="same", version_name="v1", sample_input_data=X)
    two.log_model(OTHER, model_name="only_two", version_name="v1", sample_input_data=X)
    _age_objects(artifacts)
    return one, two, artifacts


def _runs(reg: Registry, model: str, churn, pipe) -> bool:
    """Whether `model` v1 loads from the shared store and predicts what its fitted model does."""
    fitted = OTHER if model == "only_two" else pipe
    out = reg.get_model(model).version("v1").run(churn[0].head(3), function_name="predict")
    return list(out.iloc[:, -1]) == list(fitted.predict(churn[0].head(3)))


def test_hardening_a_delete_in_one_catalog_keeps_what_another_catalog_uses(shared, churn, pipe):
    one, two, artifacts = shared
    before = _objects(artifacts)
    one.delete_model("same")  # its collection runs now: the objects are old enough
    assert _objects(artifacts) == before  # two still uses every one of them
    assert _runs(two, "same", churn, pipe) and _runs(two, "only_two", churn, pipe)
    report = check(two._session.catalog, two._session.artifacts, verify=True)
    assert report.ok and report.missing_objects == [] and report.corrupt_objects == []


def test_hardening_repair_in_one_catalog_keeps_what_another_catalog_uses(shared, churn, pipe):
    one, two, artifacts = shared
    code, out = _cli("--repair", "--home", str(one._session.home), "--artifacts-url", str(artifacts))
    assert code == 0 and "OK: nothing wrong." in out and "removed orphaned object" not in out, out
    assert _runs(two, "only_two", churn, pipe)
    # What neither uses any more is collected: two deletes its own model, then one repairs.
    two.delete_model("only_two")
    code, out = _cli("--repair", "--home", str(one._session.home), "--artifacts-url", str(artifacts))
    assert code == 0 and "OK: nothing wrong." in out, out
    assert _runs(one, "same", churn, pipe) and _runs(two, "same", churn, pipe)
    assert check(one._session.catalog, one._session.artifacts).orphaned_objects == []


def test_hardening_an_unreadable_sharing_catalog_stops_collection_until_forgotten(shared, churn, pipe):
    one, two, artifacts = shared
    two_home = two._session.home
    two._session.close()
    moved = two_home.parent / "two-moved"
    two_home.rename(moved)  # the other registry is moved away: its recorded location is gone
    one.delete_model("same")
    assert len(_objects(artifacts)) > 0  # nothing collected while `two` cannot be asked

    code, out = _cli("--repair", "--home", str(one._session.home), "--artifacts-url", str(artifacts))
    assert code == 1, out
    assert "is shared with catalog" in out and f"{two_home / 'catalog.db'}" in out and "cannot be read now" in out
    other_id = out.split("--forget-catalog ", 1)[1].split()[0].strip("`")
    assert len(_objects(artifacts)) > 0

    # Moved back, it is readable again and keeps its objects; forgotten instead, it no longer would.
    moved.rename(two_home)
    code, out = _cli("--repair", "--home", str(one._session.home), "--artifacts-url", str(artifacts))
    assert code == 0, out
    assert _runs(_registry(two_home, artifacts=artifacts), "only_two", churn, pipe)
    code, out = _cli("--repair", "--forget-catalog", other_id, "--home", str(one._session.home), "--artifacts-url",
                     str(artifacts))
    assert code == 0 and f"Forgot catalog {other_id}" in out, out


# -- freed objects: reclaimable, collected at the next safe moment ----------------------------------------


def test_hardening_objects_freed_by_a_delete_are_reclaimable_not_damage(tmp_path, churn, pipe):
    home = tmp_path / "reg"
    reg = _registry(home)
    X = churn[0].head()
    reg.log_model(pipe, model_name="keep", version_name="v1", sample_input_data=X)
    reg.log_model(OTHER, model_name="gone", version_name="v1", sample_input_data=X)
    objects_before = _objects(home / "artifacts")
    reg.delete_model("gone")  # its objects are seconds old: younger than the grace period, kept for now
    assert _objects(home / "artifacts") == objects_before

    result = subprocess.run([sys.executable, "-m", "jupyter_mreg", "check", "--home", str(home)],
                            capture_output=True, text=True, timeout=120)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "problem" not in out and "OK: nothing wrong." in out
    assert "reclaimable: " in out and "object(s) no version uses (" in out
    assert f"python -m jupyter_mreg check --repair --home {home}" in out

    # The next safe moment: once old enough, the next log_model collects them, without a check.
    _age_objects(home / "artifacts")
    reg.log_model(pipe, model_name="keep", version_name="v2", sample_input_data=X)
    report = check(reg._session.catalog, reg._session.artifacts)
    assert report.orphaned_objects == [] and report.reclaimable == ""
    assert reg.get_model("keep").version("v1").load() is not None
