"""The package format: what `save_package` writes, what it refuses, and what `load_package` gives back."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
import uuid
import warnings
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import sklearn
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

import jupyter_mreg
from jupyter_mreg.errors import (EnvironmentMismatchError, InvalidArgumentError, NotFoundError, SignatureError,
                                 UnsupportedModelError)
from jupyter_mreg.model import custom_model
from jupyter_mreg.model.model_signature import DataType, ModelSignature, infer_signature
from jupyter_mreg.model.packaging.package import (function_name, load_package, manifest_signatures, read_manifest,
                                                  save_package)
from jupyter_mreg.model.task import Task

REPO_ROOT = Path(jupyter_mreg.__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _restore_sys_path():
    saved = list(sys.path)
    yield
    sys.path[:] = saved


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=150), "b": rng.normal(size=150)})
    y2 = (X["a"] - X["b"] > 0).astype(int)
    y3 = pd.cut(X["b"], [-np.inf, -0.4, 0.4, np.inf], labels=False).astype(int)
    yr = 2 * X["a"] + X["b"]
    return X, y2, y3, yr


@pytest.fixture(scope="module")
def binary(data):
    X, y2, _, _ = data
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y2)


@pytest.fixture
def pkg(tmp_path):
    path = tmp_path / "pkg"
    path.mkdir()
    return path


def _write_module(folder: Path, prefix: str) -> str:
    """A local module with a custom transformer, importable from `folder`; returns its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    (folder / f"{name}.py").write_text(textwrap.dedent(
        """
        import numpy as np
        from sklearn.base import BaseEstimator, TransformerMixin

        class AddConstant(TransformerMixin, BaseEstimator):
            def __init__(self, value=1.0):
                self.value = value

            def fit(self, X, y=None):
                return self

            def transform(self, X):
                return np.asarray(X, dtype=float) + self.value
        """
    ))
    return name


def _run_fresh(pkg: Path, X: pd.DataFrame, tmp_path: Path) -> subprocess.CompletedProcess:
    """Load the package in a new interpreter that never saw the model's module, and predict."""
    X.to_pickle(tmp_path / "X.pkl")
    code = textwrap.dedent(
        f"""
        import json, sys
        import pandas as pd
        from jupyter_mreg.model.packaging.package import load_package
        model = load_package({str(pkg)!r})
        X = pd.read_pickle({str(tmp_path / 'X.pkl')!r})
        print(json.dumps(model.predict_proba(X).tolist()))
        """
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=elsewhere, env=env,
                          timeout=300)


# ------------------------------------------------------------------------------------ manifest on disk


def test_manifest_on_disk(pkg, binary, data):
    X = data[0]
    manifest = save_package(binary, pkg, sample_input_data=X)
    on_disk = yaml.safe_load((pkg / "MANIFEST.yml").read_text())
    assert on_disk == manifest.to_dict()
    json.dumps(manifest.to_dict())  # JSON-able too

    assert manifest.manifest_version == "1.0"
    assert manifest.model_type == "sklearn"
    assert manifest.task == "TABULAR_BINARY_CLASSIFICATION"
    assert [(m.name, m.target_method) for m in manifest.methods] == [
        ("PREDICT", "predict"),
        ("PREDICT_PROBA", "predict_proba"),
        ("PREDICT_LOG_PROBA", "predict_log_proba"),
        ("DECISION_FUNCTION", "decision_function"),
    ]
    for m in manifest.methods:
        assert m.function_type == "FUNCTION" and m.is_partitioned is False
        assert [f["name"] for f in m.signature["inputs"]] == ["a", "b"]
    predict = manifest.methods[0].signature
    assert predict["inputs"][0]["type"] == "DOUBLE"
    assert [f["name"] for f in predict["outputs"]] == ["output_feature_0"]
    proba = manifest.methods[1].signature
    assert [f["name"] for f in proba["outputs"]] == ["output_feature_0", "output_feature_1"]

    env = manifest.environment
    assert env["built_with"]["scikit-learn"] == sklearn.__version__
    assert env["built_with"]["cloudpickle"] == cloudpickle.__version__
    assert env["python_version"] == "%d.%d" % sys.version_info[:2]
    assert manifest.target_platforms == ["WAREHOUSE", "SNOWPARK_CONTAINER_SERVICES"]
    assert manifest.runnable_in == manifest.target_platforms
    assert manifest.handler["file"] == "model.pkl"
    assert manifest.code_paths == [] and manifest.user_files == {} and manifest.options == {}

    assert (pkg / "model" / "model.pkl").is_file()
    assert f"scikit-learn=={sklearn.__version__}" in (pkg / "env" / "requirements.txt").read_text()
    conda = yaml.safe_load((pkg / "env" / "conda.yml").read_text())
    assert conda["dependencies"][0] == "python=%d.%d" % sys.version_info[:2]

    assert read_manifest(pkg) == manifest
    sigs = manifest_signatures(manifest)
    assert list(sigs) == ["predict", "predict_proba", "predict_log_proba", "decision_function"]
    assert isinstance(sigs["predict"], ModelSignature)
    assert sigs["predict"].inputs[0].dtype is DataType.DOUBLE


# ----------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("kind", ["binary", "multi", "regressor"])
def test_round_trip_gives_identical_predictions(pkg, data, kind):
    X, y2, y3, yr = data
    if kind == "regressor":
        model = make_pipeline(StandardScaler(), LinearRegression()).fit(X, yr)
    else:
        model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y2 if kind == "binary" else y3)
    manifest = save_package(model, pkg, sample_input_data=X)
    expected_task = {"binary": "TABULAR_BINARY_CLASSIFICATION", "multi": "TABULAR_MULTI_CLASSIFICATION",
                     "regressor": "TABULAR_REGRESSION"}[kind]
    assert manifest.task == expected_task
    loaded = load_package(pkg)
    assert type(loaded) is Pipeline
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    if kind == "multi":
        proba = next(m for m in manifest.methods if m.target_method == "predict_proba")
        assert len(proba.signature["outputs"]) == 3
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_transformer_only_pipeline_exposes_transform(pkg, data):
    X = data[0]
    model = make_pipeline(StandardScaler(), MinMaxScaler()).fit(X)
    manifest = save_package(model, pkg, sample_input_data=X)
    assert [m.name for m in manifest.methods] == ["TRANSFORM"]
    assert manifest.task == "UNKNOWN"
    outputs = manifest.methods[0].signature["outputs"]
    assert [o["name"] for o in outputs] == ["output_feature_0", "output_feature_1"]
    np.testing.assert_array_equal(load_package(pkg).transform(X), model.transform(X))


def test_numpy_sample_gives_positional_names(pkg, data):
    X, y2, _, _ = data
    model = LogisticRegression().fit(X.to_numpy(), y2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        manifest = save_package(model, pkg, sample_input_data=X.to_numpy()[:20],
                                options={"target_methods": ["predict"]})
    inputs = manifest.methods[0].signature["inputs"]
    assert [f["name"] for f in inputs] == ["input_feature_0", "input_feature_1"]


def test_null_prefix_column_is_typed_from_later_rows(pkg):
    # snowflake-ml-python #159: a column null in the first 100 rows must not break signature inference.
    n = 160
    X = pd.DataFrame({
        "x": np.arange(n, dtype=float),
        "color": pd.Series([None] * 120 + ["red", "blue"] * 20, dtype=object),
    })
    y = (np.arange(n) % 2).astype(int)
    pre = ColumnTransformer([
        ("num", "passthrough", ["x"]),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="none"),
                              OneHotEncoder(handle_unknown="ignore")), ["color"]),
    ])
    model = make_pipeline(pre, LogisticRegression()).fit(X, y)
    manifest = save_package(model, pkg, sample_input_data=X, options={"target_methods": ["predict"]})
    inputs = {f["name"]: f["type"] for f in manifest.methods[0].signature["inputs"]}
    assert inputs == {"x": "DOUBLE", "color": "STRING"}


# ---------------------------------------------------------------------------------------------- options


def test_target_methods_option_narrows(pkg, binary, data):
    manifest = save_package(binary, pkg, sample_input_data=data[0], options={"target_methods": ["predict_proba"]})
    assert [m.name for m in manifest.methods] == ["PREDICT_PROBA"]
    assert manifest.options == {"target_methods": ["predict_proba"]}


def test_unknown_option_lists_the_known_ones(pkg, binary, data):
    with pytest.raises(InvalidArgumentError) as info:
        save_package(binary, pkg, sample_input_data=data[0], options={"targetmethods": ["predict"]})
    message = str(info.value)
    assert "Unknown option(s) 'targetmethods'" in message
    for key in ("target_methods", "relax_version", "function_type", "method_options", "enable_explainability"):
        assert key in message
    assert list(pkg.iterdir()) == []


def test_unknown_method_option_is_refused(pkg, binary, data):
    with pytest.raises(InvalidArgumentError, match="Unknown method option"):
        save_package(binary, pkg, sample_input_data=data[0], options={"method_options": {"predict": {"case": 1}}})
    with pytest.raises(InvalidArgumentError, match="not among the methods being logged"):
        save_package(binary, pkg, sample_input_data=data[0],
                     options={"target_methods": ["predict"], "method_options": {"transform": {}}})


def test_missing_target_method_is_refused(pkg, binary, data):
    with pytest.raises(InvalidArgumentError, match="has no method 'transform'") as info:
        save_package(binary, pkg, sample_input_data=data[0], options={"target_methods": ["predict", "transform"]})
    assert "predict_proba" in str(info.value)  # lists what it can expose


def test_signature_or_sample_is_required(pkg, binary):
    with pytest.raises(SignatureError) as info:
        save_package(binary, pkg)
    # Snowflake's sentence, then which kind of model and the fix.
    assert str(info.value).startswith("Either of `signatures` or `sample_input_data` must be provided for this kind "
                                      "of model (sklearn): pass sample_input_data=")
    assert isinstance(info.value, ValueError)


def test_signatures_define_the_methods(pkg, binary, data):
    X = data[0].head(20)
    sig = infer_signature(X, binary.predict_proba(X))
    manifest = save_package(binary, pkg, signatures={"predict_proba": sig})
    assert [m.target_method for m in manifest.methods] == ["predict_proba"]
    assert manifest_signatures(manifest)["predict_proba"] == sig


def test_signature_for_a_method_the_model_lacks_is_refused(pkg, binary, data):
    X = data[0].head(20)
    sig = infer_signature(X, binary.predict(X))
    with pytest.raises(InvalidArgumentError, match="has no method 'transform'"):
        save_package(binary, pkg, signatures={"predict": sig, "transform": sig})


def test_method_failing_on_the_sample_names_the_method(pkg, binary, data):
    wrong = data[0].rename(columns={"a": "z"})
    with pytest.raises(SignatureError) as info:
        save_package(binary, pkg, sample_input_data=wrong)
    message = str(info.value)
    assert "method 'predict'" in message
    assert "ValueError" in message and "feature names" in message
    assert list(pkg.iterdir()) == []


def test_function_names_and_case_sensitivity(pkg, binary, data):
    assert function_name("predict") == "PREDICT"
    assert function_name("__call__") == "__CALL__"
    assert function_name("predictLog", case_sensitive=True) == '"predictLog"'
    manifest = save_package(binary, pkg, sample_input_data=data[0], options={
        "target_methods": ["predict", "predict_proba"],
        "method_options": {"predict": {"case_sensitive": True, "max_batch_size": 64}},
    })
    first, second = manifest.methods
    assert first.name == '"predict"' and first.max_batch_size == 64
    assert second.name == "PREDICT_PROBA"


def test_function_type_option_and_default_platforms(pkg, binary, data):
    manifest = save_package(binary, pkg, sample_input_data=data[0], options={
        "target_methods": ["predict", "predict_proba"],
        "method_options": {"predict_proba": {"function_type": "table_function"}},
    })
    assert [m.function_type for m in manifest.methods] == ["FUNCTION", "TABLE_FUNCTION"]
    # As in Snowflake: a model with a table function defaults to the warehouse only.
    assert manifest.target_platforms == ["WAREHOUSE"]


def test_invalid_function_type_is_refused(pkg, binary, data):
    with pytest.raises(InvalidArgumentError, match="expected one of FUNCTION, TABLE_FUNCTION"):
        save_package(binary, pkg, sample_input_data=data[0], options={"function_type": "SCALAR"})


def test_target_platforms(pkg, binary, data, tmp_path):
    manifest = save_package(binary, pkg, sample_input_data=data[0], target_platforms=["warehouse"])
    assert manifest.target_platforms == ["WAREHOUSE"] and manifest.runnable_in == ["WAREHOUSE"]
    other = tmp_path / "other"
    with pytest.raises(InvalidArgumentError, match="Invalid target platform 'GPU'"):
        save_package(binary, other, sample_input_data=data[0], target_platforms=["GPU"])


# ------------------------------------------------------------------------------------------------- task


def test_inferred_task_wins_with_a_warning(pkg, binary, data):
    with pytest.warns(UserWarning, match="Inferred Task: TABULAR_BINARY_CLASSIFICATION is used"):
        manifest = save_package(binary, pkg, sample_input_data=data[0], task=Task.TABULAR_REGRESSION)
    assert manifest.task == "TABULAR_BINARY_CLASSIFICATION"


def test_user_task_is_used_when_nothing_is_inferred(pkg, data, tmp_path):
    X = data[0]
    model = make_pipeline(StandardScaler(), PCA(n_components=1)).fit(X)
    manifest = save_package(model, pkg, sample_input_data=X, task="tabular_ranking")
    assert manifest.task == "TABULAR_RANKING"
    with pytest.raises(InvalidArgumentError, match="Invalid task 'CLUSTERING'"):
        save_package(model, tmp_path / "other", sample_input_data=X, task="CLUSTERING")


# ------------------------------------------------------------------------------------------------ files


def test_user_files_are_copied(pkg, binary, data, tmp_path):
    src = tmp_path / "files"
    src.mkdir()
    (src / "labels.txt").write_text("no\nyes\n")
    (src / "a.json").write_text("{}")
    (src / "b.json").write_text("[]")
    manifest = save_package(binary, pkg, sample_input_data=data[0],
                            user_files={"meta": [str(src / "labels.txt")], "conf/json": [str(src / "*.json")]})
    assert manifest.user_files == {
        "meta": ["user_files/meta/labels.txt"],
        "conf/json": ["user_files/conf/json/a.json", "user_files/conf/json/b.json"],
    }
    assert (pkg / "user_files" / "meta" / "labels.txt").read_text() == "no\nyes\n"
    assert (pkg / "user_files" / "conf" / "json" / "b.json").read_text() == "[]"


def test_missing_user_file_is_refused_and_the_folder_left_empty(pkg, binary, data, tmp_path):
    with pytest.raises(InvalidArgumentError, match="matches no file"):
        save_package(binary, pkg, sample_input_data=data[0], user_files={"x": [str(tmp_path / "*.nothing")]})
    assert list(pkg.iterdir()) == []


def test_folder_must_be_empty(pkg, binary, data):
    (pkg / "something").write_text("x")
    with pytest.raises(InvalidArgumentError, match="not empty"):
        save_package(binary, pkg, sample_input_data=data[0])


def test_read_manifest_of_a_folder_without_one(tmp_path):
    with pytest.raises(NotFoundError, match="MANIFEST.yml is missing"):
        read_manifest(tmp_path)


def test_options_are_recorded_as_json(pkg, binary, data, tmp_path):
    manifest = save_package(binary, pkg, sample_input_data=data[0], options={
        "save_location": tmp_path / "stage", "relax_version": True, "function_type": "function",
    })
    assert manifest.options == {"save_location": str(tmp_path / "stage"), "relax_version": True,
                                   "function_type": "FUNCTION"}
    assert manifest.environment["relax_version"] is True
    assert "scikit-learn>=" in (pkg / "env" / "requirements.txt").read_text()


def test_unsupported_model(pkg):
    with pytest.raises(UnsupportedModelError):
        save_package(object(), pkg, sample_input_data=[[1.0]])


# --------------------------------------------------------------------- custom code: code_paths, ext_modules


@pytest.fixture
def local_model(tmp_path, data):
    """A pipeline whose first step is a class from a local module file; yields (model, module, file)."""
    src = tmp_path / "src"
    src.mkdir()
    name = _write_module(src, "mreg_transformers")
    sys.path.insert(0, str(src))
    module = importlib.import_module(name)
    X, y2, _, _ = data
    model = Pipeline([("add", module.AddConstant(2.0)), ("scale", StandardScaler()),
                      ("clf", LogisticRegression())]).fit(X, y2)
    yield model, module, src / f"{name}.py"
    sys.modules.pop(name, None)


def _forget(module, file: Path) -> None:
    """Make the module unimportable, as on another machine."""
    file.unlink()
    sys.modules.pop(module.__name__, None)
    src = str(file.parent)
    while src in sys.path:
        sys.path.remove(src)


def test_code_paths_load_in_a_fresh_process(pkg, local_model, data, tmp_path):
    model, module, file = local_model
    X = data[0]
    manifest = save_package(model, pkg, sample_input_data=X, code_paths=[str(file)])
    assert manifest.code_paths == [f"code/{file.name}"]
    assert (pkg / "code" / file.name).is_file()
    assert manifest.environment["built_with"].get(module.__name__) is None  # local code: not a distribution
    expected = model.predict_proba(X).tolist()
    _forget(module, file)

    out = _run_fresh(pkg, X, tmp_path)
    assert out.returncode == 0, out.stderr
    assert np.allclose(json.loads(out.stdout), expected, rtol=0, atol=1e-12)


def test_code_path_folder_is_importable(pkg, local_model, data, tmp_path):
    model, module, file = local_model
    manifest = save_package(model, pkg, sample_input_data=data[0], code_paths=[str(file.parent)])
    assert manifest.code_paths == ["code/src"]
    _forget(module, file)
    loaded = load_package(pkg)  # code/src is a folder of modules: it goes on sys.path too
    np.testing.assert_array_equal(loaded.predict(data[0]), model.predict(data[0]))
    assert sys.path[:2] == [str((pkg / "code").resolve()), str((pkg / "code" / "src").resolve())]
    load_package(pkg)
    assert sys.path.count(str((pkg / "code").resolve())) == 1  # idempotent


def test_ext_modules_load_in_a_fresh_process(pkg, local_model, data, tmp_path):
    model, module, file = local_model
    X = data[0]
    manifest = save_package(model, pkg, sample_input_data=X, ext_modules=[module])
    assert manifest.ext_modules == [module.__name__]
    assert manifest.handler["by_value_modules"] == [module.__name__]
    assert module.__name__ not in cloudpickle.list_registry_pickle_by_value()  # registration undone
    expected = model.predict_proba(X).tolist()
    _forget(module, file)

    out = _run_fresh(pkg, X, tmp_path)
    assert out.returncode == 0, out.stderr
    assert np.allclose(json.loads(out.stdout), expected, rtol=0, atol=1e-12)


def test_without_code_paths_a_fresh_process_says_how_to_fix_it(pkg, local_model, data, tmp_path):
    model, module, file = local_model
    X = data[0]
    save_package(model, pkg, sample_input_data=X)
    _forget(module, file)
    out = _run_fresh(pkg, X, tmp_path)
    assert out.returncode != 0
    assert "EnvironmentMismatchError" in out.stderr
    assert f"needs the module '{module.__name__}'" in out.stderr
    assert "code_paths=" in out.stderr and "ext_modules=" in out.stderr


def test_ext_modules_registration_is_undone_on_error(pkg, local_model, data):
    import threading

    model, module, _ = local_model
    model.steps[0][1].lock_ = threading.Lock()
    try:
        with pytest.raises(UnsupportedModelError, match="cannot be pickled"):
            save_package(model, pkg, sample_input_data=data[0], ext_modules=[module])
    finally:
        del model.steps[0][1].lock_
    assert module.__name__ not in cloudpickle.list_registry_pickle_by_value()
    assert list(pkg.iterdir()) == []


def test_ext_modules_must_be_modules(pkg, binary, data):
    with pytest.raises(InvalidArgumentError, match="ext_modules must hold imported module objects"):
        save_package(binary, pkg, sample_input_data=data[0], ext_modules=["numpy"])


def test_missing_code_path_is_refused(pkg, binary, data, tmp_path):
    with pytest.raises(FileNotFoundError, match="Code path .* does not exist"):  # Snowflake's class
        save_package(binary, pkg, sample_input_data=data[0], code_paths=[str(tmp_path / "nope.py")])
    assert list(pkg.iterdir()) == []


# ------------------------------------------------------------------------------------------ custom models


class _Partitioned(custom_model.CustomModel):
    @custom_model.partitioned_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"total": [float(df["x"].sum())]})


class _WithParams(custom_model.CustomModel):
    @custom_model.inference_api
    def predict(self, df: pd.DataFrame, *, scale: float = 2.0) -> pd.DataFrame:
        return pd.DataFrame({"y": df["x"] * scale})


def test_partitioned_method_must_be_a_table_function(pkg, tmp_path):
    sample = pd.DataFrame({"x": [1.0, 2.0]})
    manifest = save_package(_Partitioned(custom_model.ModelContext()), pkg, sample_input_data=sample)
    method = manifest.methods[0]
    assert (method.function_type, method.is_partitioned) == ("TABLE_FUNCTION", True)
    assert method.volatility == "VOLATILE"
    assert manifest.target_platforms == ["WAREHOUSE"]
    with pytest.raises(InvalidArgumentError) as info:
        save_package(_Partitioned(custom_model.ModelContext()), tmp_path / "other", sample_input_data=sample,
                     options={"function_type": "FUNCTION"})
    assert str(info.value) == "Partitioned inference api functions must have type TABLE_FUNCTION."


def test_custom_model_params_become_param_specs(pkg):
    manifest = save_package(_WithParams(custom_model.ModelContext()), pkg,
                            sample_input_data=pd.DataFrame({"x": [1.0, 2.0]}))
    sig = manifest_signatures(manifest)["predict"]
    assert [(p.name, p.dtype) for p in sig.params] == [("scale", DataType.DOUBLE)]
    assert [o.name for o in sig.outputs] == ["y"]
    loaded = load_package(pkg)
    assert loaded.predict(pd.DataFrame({"x": [3.0]}), scale=3.0)["y"].tolist() == [9.0]


def test_changed_code_says_how_to_fix_it(pkg, local_model, data):
    import types

    model, module, _ = local_model
    save_package(model, pkg, sample_input_data=data[0])
    sys.modules[module.__name__] = types.ModuleType(module.__name__)  # the class was renamed away
    with pytest.raises(EnvironmentMismatchError, match="Can't get attribute 'AddConstant'") as info:
        load_package(pkg)
    assert "code_paths=" in str(info.value)


def test_signatures_may_be_given_as_dicts(pkg, binary, data):
    X = data[0].head(10)
    sig = infer_signature(X, binary.predict(X))
    given = {"predict": sig.to_dict()}
    manifest = save_package(binary, pkg, signatures=given)
    assert manifest_signatures(manifest)["predict"] == sig
    assert given == {"predict": sig.to_dict()}  # the caller's dict is left alone
