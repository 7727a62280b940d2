"""`Manifest`: the typed manifest reads and writes exactly the stored form, keeps what it does not know,
upgrades older versions, and says clearly when a file is not a manifest."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from jupyter_mreg.errors import EnvironmentMismatchError, ManifestError, MregError
from jupyter_mreg.model import custom_model
from jupyter_mreg.model.packaging import manifest as manifest_module
from jupyter_mreg.model.packaging.manifest import Manifest, MethodInfo, read_manifest, write_manifest
from jupyter_mreg.model.packaging.package import save_package

X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 1.0]})
Y = [0, 1, 0, 1]

# A manifest as release 1.0 stores it (abridged environment): it must read the same in every later release.
MANIFEST_1_0 = {
    "manifest_version": "1.0",
    "model_type": "sklearn",
    "task": "TABULAR_REGRESSION",
    "methods": [{
        "name": "PREDICT", "target_method": "predict", "function_type": "FUNCTION", "is_partitioned": False,
        "volatility": "IMMUTABLE",
        "signature": {"inputs": [{"type": "DOUBLE", "name": "a", "nullable": True}],
                      "outputs": [{"type": "DOUBLE", "name": "output_feature_0", "nullable": True}], "params": []},
    }],
    "environment": {"python": "3.11.7", "python_version": "3.11", "built_with": {"scikit-learn": "1.5.0"},
                    "conda_dependencies": [], "pip_requirements": [], "relax_version": False},
    "target_platforms": ["WAREHOUSE", "SNOWPARK_CONTAINER_SERVICES"],
    "runnable_in": ["WAREHOUSE", "SNOWPARK_CONTAINER_SERVICES"],
    "handler": {"file": "model.pkl", "format": "cloudpickle", "class": "sklearn.linear_model.LinearRegression"},
    "code_paths": [],
    "user_files": {},
    "ext_modules": [],
    "options": {},
}


class _Adder(custom_model.CustomModel):
    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"y": df["a"] + 1})


class _Totals(custom_model.CustomModel):
    @custom_model.partitioned_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"total": [float(df["a"].sum())]})


def _sklearn(path, tmp_path):
    code = tmp_path / "helpers.py"
    code.write_text("X = 1\n")
    save_package(LogisticRegression().fit(X, Y), path, sample_input_data=X, code_paths=[str(code)],
                 user_files={"docs": [str(code)]},
                 options={"relax_version": True, "method_options": {"predict": {"case_sensitive": True,
                                                                                 "max_batch_size": 8}}})


def _custom(path, tmp_path):
    save_package(_Adder(custom_model.ModelContext()), path, sample_input_data=X)


def _partitioned(path, tmp_path):
    save_package(_Totals(custom_model.ModelContext()), path, sample_input_data=X)


def _xgboost(path, tmp_path):
    import xgboost

    save_package(xgboost.XGBClassifier(n_estimators=2).fit(X, Y), path, sample_input_data=X)


@pytest.mark.parametrize("save", [_sklearn, _custom, _partitioned, _xgboost], ids=lambda f: f.__name__.strip("_"))
def test_saved_manifests_round_trip_exactly(save, tmp_path):
    save(tmp_path / "pkg", tmp_path)
    text = (tmp_path / "pkg" / "MANIFEST.yml").read_text()
    stored = yaml.safe_load(text)

    again = Manifest.from_dict(stored).to_dict()
    assert again == stored
    assert list(again) == list(stored)
    assert [list(m) for m in again["methods"]] == [list(m) for m in stored["methods"]]
    (tmp_path / "copy").mkdir()
    write_manifest(tmp_path / "copy", read_manifest(tmp_path / "pkg"))
    assert (tmp_path / "copy" / "MANIFEST.yml").read_text() == text  # byte for byte, key order included


def test_saved_manifest_reads_as_typed_fields(tmp_path):
    _partitioned(tmp_path / "pkg", tmp_path)
    manifest = read_manifest(tmp_path / "pkg")
    assert (manifest.manifest_version, manifest.model_type, manifest.task) == ("1.0", "custom", "UNKNOWN")
    (method,) = manifest.methods
    assert isinstance(method, MethodInfo)
    assert (method.name, method.target_method, method.function_type, method.is_partitioned, method.volatility) == (
        "PREDICT", "predict", "TABLE_FUNCTION", True, "VOLATILE")
    assert [f["name"] for f in method.signature["outputs"]] == ["total"]
    assert manifest.target_platforms == ["WAREHOUSE"]


def test_the_catalog_copy_round_trips(reg):
    mv = reg.log_model(LogisticRegression().fit(X, Y), model_name="m", version_name="v1", sample_input_data=X)
    stored = mv._row(with_manifest=True).manifest
    assert json.dumps(Manifest.from_dict(json.loads(stored)).to_dict()) == stored
    assert mv.manifest.model_type == "sklearn"


def test_unknown_keys_are_kept(tmp_path):
    newer = json.loads(json.dumps(MANIFEST_1_0))
    newer["manifest_version"] = "1.4"  # a newer minor release, which added fields
    newer["lineage"] = {"dataset": "churn@3"}
    newer["methods"][0]["resource_hint"] = {"gpu": 1}

    manifest = Manifest.from_dict(newer)
    assert manifest.extra == {"lineage": {"dataset": "churn@3"}}
    assert manifest.methods[0].extra == {"resource_hint": {"gpu": 1}}
    assert manifest.to_dict() == newer
    write_manifest(tmp_path, manifest)
    assert read_manifest(tmp_path).to_dict() == newer


def test_a_manifest_stored_by_1_0_still_reads():
    manifest = Manifest.from_dict(json.loads(json.dumps(MANIFEST_1_0)))
    assert manifest.model_type == "sklearn" and manifest.task == "TABULAR_REGRESSION"
    assert [(m.name, m.target_method, m.function_type) for m in manifest.methods] == [
        ("PREDICT", "predict", "FUNCTION")]
    assert manifest.environment["built_with"] == {"scikit-learn": "1.5.0"}
    assert manifest.handler["file"] == "model.pkl"
    assert manifest.to_dict() == MANIFEST_1_0


def test_migrations_upgrade_an_older_manifest_step_by_step(monkeypatch):
    def to_2_0(d):
        return {**d, "manifest_version": "2.0", "user_data": {"upgraded_from": d["manifest_version"]}}

    def to_3_0(d):
        return {**d, "manifest_version": "3.0", "checked": True}

    monkeypatch.setattr(manifest_module, "MANIFEST_VERSION", "3.0")
    monkeypatch.setattr(manifest_module, "MIGRATIONS", [("1.0", to_2_0), ("2.0", to_3_0)])
    old = json.loads(json.dumps(MANIFEST_1_0))

    upgraded = Manifest.from_dict(old)
    assert upgraded.manifest_version == "3.0"
    assert upgraded.user_data == {"upgraded_from": "1.0"} and upgraded.extra == {"checked": True}
    assert upgraded.methods == Manifest.from_dict(MANIFEST_1_0).methods  # what the steps leave alone stays
    assert old == MANIFEST_1_0  # the caller's dict is left alone
    from_2_0 = Manifest.from_dict({**MANIFEST_1_0, "manifest_version": "2.0"})
    assert (from_2_0.manifest_version, from_2_0.user_data, from_2_0.extra) == ("3.0", None, {"checked": True})


def test_a_manifest_from_a_newer_major_release_asks_for_an_upgrade(tmp_path):
    (tmp_path / "MANIFEST.yml").write_text(yaml.safe_dump({**MANIFEST_1_0, "manifest_version": "2.0"}))
    with pytest.raises(EnvironmentMismatchError, match=r"manifest_version '2.0'; this jupyter_mreg reads 1.0\. "
                                                       r"Upgrade jupyter_mreg to load it\."):
        read_manifest(tmp_path)


@pytest.mark.parametrize("text, problem", [
    ("- just\n- a list\n", "expected a mapping with model_type, manifest_version and methods; found list"),
    ("name: x\n", "found a mapping with keys ['name']"),
    ("model_type: sklearn\nmanifest_version: '1.0'\nmethods: {}\n", "`methods` is dict {}, expected a list"),
    ("model_type: sklearn\nmanifest_version: '1.0'\nmethods: [{name: PREDICT}]\n",
     "the `methods` entry 'PREDICT' has no text `target_method`"),
    ("model_type: sklearn\nmanifest_version: '1.0'\nmethods: [{name: PREDICT, target_method: predict}]\n",
     "method PREDICT has no `signature` mapping (found None)"),
    ("model_type: sklearn\nmanifest_version: latest\n", "manifest_version is 'latest', expected text like '1.0'"),
    ("model_type: [sklearn\n", "it is not valid YAML"),
])
def test_a_file_that_is_not_a_manifest_says_what_and_how_to_fix_it(tmp_path, text, problem):
    file = tmp_path / "MANIFEST.yml"
    file.write_text(text)
    with pytest.raises(ManifestError) as info:
        read_manifest(tmp_path)
    message = str(info.value)
    assert message.startswith(f"{file} is not a jupyter_mreg model manifest: ")
    assert problem in message
    assert "save the model again (Registry.log_model or save_package)" in message
    assert isinstance(info.value, MregError)


def test_a_catalog_manifest_that_is_not_one_names_the_version(reg):
    from jupyter_mreg.store import tables as t

    mv = reg.log_model(LogisticRegression().fit(X, Y), model_name="m", version_name="v1", sample_input_data=X)
    with reg.session.catalog.write() as conn:
        conn.execute(t.version_manifests.update().where(t.version_manifests.c.version_id == mv._row().id)
                     .values(manifest="[]"))
    mv._manifest = None
    with pytest.raises(ManifestError, match=r"^The catalog's manifest of model MYDB\.ML\.M version V1 is not a "
                                            r"jupyter_mreg model manifest: .* found list"):
        mv.manifest


def test_a_manifest_cannot_be_changed_in_place():
    manifest = Manifest.from_dict(json.loads(json.dumps(MANIFEST_1_0)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        manifest.task = "TABULAR_RANKING"
    copy = manifest.to_dict()
    copy["environment"]["built_with"]["scikit-learn"] = "0.1"
    copy["methods"][0]["signature"]["inputs"].clear()
    assert manifest.to_dict() == MANIFEST_1_0
