"""Custom models: ModelContext, decorators, and the `custom` handler's save → load → invoke round trip."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import jupyter_mreg
from jupyter_mreg.errors import InvalidArgumentError, NotFoundError, UnsupportedModelError
from jupyter_mreg.model import custom_model
from jupyter_mreg.model.custom_model import CustomModel, ModelContext, ModelRef, inference_api, partitioned_api
from jupyter_mreg.model.handlers.custom import Handler

REPO_ROOT = str(Path(jupyter_mreg.__file__).resolve().parent.parent)


class Doubler:
    """A tiny stand-in for a nested model."""

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return df * 2


class Scaler(CustomModel):
    """Reads a factor from a text artifact and a word list from an artifact folder, in __init__."""

    def __init__(self, context: ModelContext, offset: float = 0.0) -> None:
        super().__init__(context)
        self.factor = float(Path(context.path("factor")).read_text())
        self.words = sorted(p.read_text() for p in Path(context.path("words")).iterdir())
        self.offset = offset

    @inference_api
    def predict(self, df: pd.DataFrame, *, scale: float = 1.0, label: str = "y") -> pd.DataFrame:
        return pd.DataFrame({label: df["x"] * self.factor * scale + self.offset, "w": ",".join(self.words)})

    @inference_api
    async def predict_async(self, df: pd.DataFrame) -> pd.DataFrame:
        await asyncio.sleep(0)
        return pd.DataFrame({"y": df["x"] * self.factor})

    @partitioned_api
    def totals(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"store": [df["store"].iloc[0]], "total": [df["x"].sum() * self.factor]})

    def helper(self) -> str:  # not decorated: not a target method
        return "nope"


@pytest.fixture
def artifacts(tmp_path: Path) -> dict[str, Path]:
    src = tmp_path / "src"
    src.mkdir()
    (src / "factor.txt").write_text("3")
    words = src / "words"
    words.mkdir()
    (words / "a.txt").write_text("alpha")
    (words / "b.txt").write_text("beta")
    return {"factor": src / "factor.txt", "words": words}


# --- ModelContext ------------------------------------------------------------------------------------------


def test_context_dict_form() -> None:
    model = Doubler()
    ctx = ModelContext(artifacts={"vocab": "vocab.json"}, models={"clf": model})
    assert ctx.artifacts == {"vocab": "vocab.json"}
    assert ctx["vocab"] == "vocab.json" and ctx.path("vocab") == "vocab.json"
    ref = ctx["clf"]
    assert isinstance(ref, ModelRef) and ref is ctx.model_ref("clf") and ctx.model_refs == {"clf": ref}
    assert ref.model is model and ref.name == "clf"
    out = ref.predict(pd.DataFrame({"a": [1, 2]}))
    assert out["a"].tolist() == [2, 4]
    assert asyncio.run(ref.predict.async_run(pd.DataFrame({"a": [5]})))["a"].tolist() == [10]


def test_context_keyword_form_sorts_paths_and_models(tmp_path: Path) -> None:
    model = Doubler()
    ctx = ModelContext(vocab="vocab.json", weights=tmp_path / "w.bin", clf=model)
    assert ctx.artifacts == {"vocab": "vocab.json", "weights": str(tmp_path / "w.bin")}
    assert list(ctx.model_refs) == ["clf"] and ctx["clf"].model is model
    assert "vocab" in ctx and "clf" in ctx and "other" not in ctx


def test_context_duplicate_name_is_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="Duplicate name 'a'"):
        ModelContext(artifacts={"a": "x.txt"}, a="y.txt")
    with pytest.raises(InvalidArgumentError, match="Duplicate name 'm'"):
        ModelContext(artifacts={"m": "x.txt"}, models={"m": Doubler()})
    with pytest.raises(InvalidArgumentError, match="must be a file or folder path"):
        ModelContext(artifacts={"m": Doubler()})


def test_context_unknown_name_lists_existing_names() -> None:
    ctx = ModelContext(vocab="vocab.json", clf=Doubler())
    with pytest.raises(NotFoundError, match=r"'nope'.*artifacts: 'vocab'; models: 'clf'") as info:
        ctx["nope"]
    assert isinstance(info.value, KeyError)  # snowflake-ml-python raises KeyError here
    with pytest.raises(NotFoundError, match=r"'clf' is a model: use context.model_ref\('clf'\)"):
        ctx.path("clf")
    with pytest.raises(NotFoundError, match=r"'vocab' is an artifact: use context.path\('vocab'\)"):
        ctx.model_ref("vocab")


def test_model_ref_missing_attribute_names_the_model() -> None:
    ref = ModelContext(clf=Doubler())["clf"]
    with pytest.raises(AttributeError, match="'clf'.*Doubler.*'transform'"):
        ref.transform


def test_custom_model_rejects_a_dict_context() -> None:
    with pytest.raises(InvalidArgumentError, match="expects a ModelContext, got dict"):
        Scaler({"factor": "f.txt"})  # type: ignore[arg-type]


# --- decorators ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("def predict(self, df):\n    return df", "missing type annotation for df and return"),
        ("def predict(self, df: pd.DataFrame, **kwargs) -> pd.DataFrame:\n    return df", r"\*\*kwargs is not supported"),
        ("def predict(self, df: pd.DataFrame, t: float = 1.0) -> pd.DataFrame:\n    return df", "extra positional parameter"),
        ("def predict(self, df: pd.DataFrame, *, t: float) -> pd.DataFrame:\n    return df", "'t' has no default value"),
        ("def predict(self, df: pd.DataFrame, *, t=1.0) -> pd.DataFrame:\n    return df", "'t' has no type annotation"),
        ("def predict(self, df: pd.DataFrame, *, t: set = None) -> pd.DataFrame:\n    return df", "unsupported type set"),
        ("def predict(self, df: list) -> pd.DataFrame:\n    return df", "'df' must be annotated pd.DataFrame"),
        ("def predict(self) -> pd.DataFrame:\n    return None", "must take self and a DataFrame"),
    ],
)
def test_inference_api_rejects_bad_signatures(source: str, problem: str) -> None:
    namespace: dict = {"pd": pd}
    exec(source, namespace)  # noqa: S102 - building the bad method under test
    with pytest.raises(TypeError, match=problem) as info:
        inference_api(namespace["predict"])
    assert isinstance(info.value, UnsupportedModelError)
    assert "def predict(self, df: pd.DataFrame, *, temperature: float = 1.0) -> pd.DataFrame" in str(info.value)


def test_bad_method_fails_at_class_definition() -> None:
    with pytest.raises(TypeError, match=r"Inference method .*Bad.predict: \*\*kw is not supported"):

        class Bad(CustomModel):
            @inference_api
            def predict(self, df: pd.DataFrame, **kw) -> pd.DataFrame:
                return df


def test_methods_and_partitioned_are_listed_in_definition_order() -> None:
    class Child(Scaler):
        @inference_api
        def extra(self, df: pd.DataFrame) -> pd.DataFrame:
            return df

    assert custom_model.inference_methods(Scaler) == ["predict", "predict_async", "totals"]
    assert custom_model.inference_methods(Child) == ["predict", "predict_async", "totals", "extra"]
    assert custom_model.partitioned_methods(Scaler) == ["totals"]
    assert Scaler._get_inference_methods() == ["predict", "predict_async", "totals"]
    assert custom_model.is_partitioned(Scaler, "totals") and not custom_model.is_partitioned(Scaler, "predict")
    assert custom_model.is_async_method(Scaler, "predict_async")
    with pytest.raises(NotFoundError, match=r"helper is not an inference method.*\['predict', 'predict_async'"):
        custom_model.is_partitioned(Scaler, "helper")


def test_partitioned_inference_api_is_a_deprecated_alias() -> None:
    with pytest.warns(DeprecationWarning, match="use custom_model.partitioned_api"):

        class Old(CustomModel):
            @custom_model.partitioned_inference_api
            def run(self, df: pd.DataFrame) -> pd.DataFrame:
                return df

    assert custom_model.partitioned_methods(Old) == ["run"]


def test_keyword_only_parameters_become_param_specs() -> None:
    from jupyter_mreg.model.model_signature import DataType

    class WithParams(CustomModel):
        @inference_api
        def predict(
            self,
            df: pd.DataFrame,
            *,
            temperature: float = 1.0,
            top_k: int = 5,
            mode: str = "fast",
            verbose: bool = False,
            weights: list[float] = [1, 0.5],  # noqa: B006 - a default is what is being tested
            seed: int | None = None,
        ) -> pd.DataFrame:
            return df

    specs = custom_model.get_method_params(WithParams(), "predict")
    assert [(s.name, s.dtype, s.default_value) for s in specs] == [
        ("temperature", DataType.DOUBLE, 1.0),
        ("top_k", DataType.INT64, 5),
        ("mode", DataType.STRING, "fast"),
        ("verbose", DataType.BOOL, False),
        ("weights", DataType.DOUBLE, [1.0, 0.5]),
        ("seed", DataType.INT64, None),
    ]
    assert [s.shape for s in specs] == [None, None, None, None, (-1,), None]
    assert custom_model.get_method_params(Scaler, "totals") == []


def test_importing_custom_model_imports_no_numpy_or_pandas() -> None:
    """As its docstring promises: the signature module (numpy, pandas) loads when a signature is needed."""
    code = textwrap.dedent(
        """
        import sys
        from jupyter_mreg import custom_model

        class M(custom_model.CustomModel):
            @custom_model.inference_api
            def predict(self, df: "pd.DataFrame", *, scale: float = 1.0) -> "pd.DataFrame":
                return df

        print([m for m in ("numpy", "pandas") if m in sys.modules])
        """
    )
    run = subprocess.run([sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


# --- handler: discovery --------------------------------------------------------------------------------------


def test_handler_target_methods_and_function_info(artifacts: dict[str, Path]) -> None:
    model = Scaler(ModelContext(**artifacts))
    assert Handler.can_handle(model) and not Handler.can_handle(Doubler()) and not Handler.can_handle(Scaler)
    assert Handler.target_methods(model, {}) == ["predict", "predict_async", "totals"]
    assert Handler.target_methods(model, {"target_methods": ["totals"]}) == ["totals"]
    with pytest.raises(InvalidArgumentError, match=r"\['helper'\].*\['predict', 'predict_async', 'totals'\]"):
        Handler.target_methods(model, {"target_methods": ["predict", "helper"]})
    assert Handler.function_info(model, "predict") == {"function_type": "FUNCTION", "is_partitioned": False}
    assert Handler.function_info(model, "totals") == {"function_type": "TABLE_FUNCTION", "is_partitioned": True}


def test_model_without_inference_methods_is_rejected() -> None:
    class Empty(CustomModel):
        pass

    with pytest.raises(InvalidArgumentError, match="Empty has no inference method"):
        Handler.target_methods(Empty(), {})


def test_modules_lists_what_the_code_uses(artifacts: dict[str, Path]) -> None:
    mods = Handler.modules(Scaler(ModelContext(**artifacts)))
    assert "jupyter_mreg" in mods and "pandas" in mods and "tests" in mods


# --- handler: save → load → invoke ---------------------------------------------------------------------------


def _roundtrip(model: CustomModel, tmp_path: Path, options: dict | None = None) -> tuple[CustomModel, dict]:
    meta = Handler.save(model, tmp_path / "pkg", dict(options or {}))
    meta = json.loads(json.dumps(meta))  # what the package stores must be JSON
    return Handler.load(tmp_path / "pkg", meta, {}), meta


def test_roundtrip_with_artifacts_reads_them_from_the_package(tmp_path: Path, artifacts: dict[str, Path]) -> None:
    model = Scaler(ModelContext(**artifacts), offset=0.5)
    df = pd.DataFrame({"x": [1.0, 2.0, 4.0]})
    expected = Handler.invoke(model, "predict", df, {"scale": 2.0})

    meta = Handler.save(model, tmp_path / "pkg", {})
    shutil.rmtree(tmp_path / "src")  # the originals are gone: loading must use the package's copies
    loaded = Handler.load(tmp_path / "pkg", json.loads(json.dumps(meta)), {})

    assert type(loaded) is Scaler and loaded is not model
    assert loaded.offset == 0.5  # constructor arguments are replayed, not only the context
    assert loaded.context.path("factor") == str(tmp_path / "pkg" / "artifacts" / "factor" / "factor.txt")
    assert Path(loaded.context.path("words"), "b.txt").read_text() == "beta"
    result = Handler.invoke(loaded, "predict", df, {"scale": 2.0})
    pd.testing.assert_frame_equal(result, expected)
    assert result["y"].tolist() == [6.5, 12.5, 24.5] and result["w"].iloc[0] == "alpha,beta"
    assert meta["construct"] == "init"
    assert meta["artifacts"] == {
        "factor": {"path": "artifacts/factor/factor.txt", "is_dir": False},
        "words": {"path": "artifacts/words/words", "is_dir": True},
    }
    assert meta["methods"]["totals"] == {"partitioned": True, "async": False}


def test_copied_model_is_rebuilt_from_its_context(tmp_path: Path, artifacts: dict[str, Path]) -> None:
    import copy

    model = copy.deepcopy(Scaler(ModelContext(**artifacts), offset=1.0))  # constructor arguments now unknown
    loaded, meta = _roundtrip(model, tmp_path)
    assert meta["construct"] == "init"
    assert loaded.factor == 3.0 and loaded.offset == 0.0  # rebuilt as Scaler(context), as Snowflake does


def test_params_are_passed_as_keywords(tmp_path: Path, artifacts: dict[str, Path]) -> None:
    loaded, _ = _roundtrip(Scaler(ModelContext(**artifacts)), tmp_path)
    out = Handler.invoke(loaded, "predict", pd.DataFrame({"x": [1.0]}), {"label": "score"})
    assert list(out.columns) == ["score", "w"] and out["score"].tolist() == [3.0]


def test_missing_artifact_is_reported_at_save(tmp_path: Path) -> None:
    model = Scaler.__new__(Scaler)
    CustomModel.__init__(model, ModelContext(factor=tmp_path / "nope.txt"))
    with pytest.raises(InvalidArgumentError, match=r"Artifact 'factor' .*nope.txt.*does not exist"):
        Handler.save(model, tmp_path / "pkg", {})


def test_async_method_runs_with_and_without_a_running_loop(tmp_path: Path, artifacts: dict[str, Path]) -> None:
    loaded, meta = _roundtrip(Scaler(ModelContext(**artifacts)), tmp_path)
    df = pd.DataFrame({"x": [1.0, 2.0]})
    assert meta["methods"]["predict_async"]["async"] is True
    assert Handler.invoke(loaded, "predict_async", df, {})["y"].tolist() == [3.0, 6.0]

    async def in_notebook_cell() -> pd.DataFrame:  # Jupyter runs cells inside an event loop
        return Handler.invoke(loaded, "predict_async", df, {})

    assert asyncio.run(in_notebook_cell())["y"].tolist() == [3.0, 6.0]


def test_partitioned_method_returns_one_row_per_partition(tmp_path: Path, artifacts: dict[str, Path]) -> None:
    loaded, _ = _roundtrip(Scaler(ModelContext(**artifacts)), tmp_path)
    df = pd.DataFrame({"store": ["a", "a", "b"], "x": [1.0, 2.0, 5.0]})
    parts = [Handler.invoke(loaded, "totals", part, {}) for _, part in df.groupby("store")]
    out = pd.concat(parts, ignore_index=True)
    assert out.to_dict("list") == {"store": ["a", "b"], "total": [9.0, 15.0]}


def test_nested_sklearn_model_is_saved_by_its_own_handler(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    class Stacked(CustomModel):
        @inference_api
        def predict(self, df: pd.DataFrame) -> pd.DataFrame:
            lr = self.context.model_ref("lr")
            return pd.DataFrame({"y": lr.predict(df[["a", "b"]]) + self.context["doubler"].model.predict(df)["a"]})

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(30, 2)), columns=["a", "b"])
    lr = LinearRegression().fit(X, X["a"] * 2 - X["b"] + 1)
    model = Stacked(ModelContext(models={"lr": lr}, doubler=Doubler()))
    with pytest.raises(UnsupportedModelError, match="Nested model 'doubler'.*cannot be saved"):
        Handler.save(model, tmp_path / "bad", {})

    # A nested CustomModel goes through the custom handler again.
    model = Stacked(ModelContext(models={"lr": lr}, doubler=_WrappedDoubler()))
    loaded, meta = _roundtrip(model, tmp_path)
    assert meta["models"]["lr"]["model_type"] == "sklearn" and meta["models"]["lr"]["path"] == "models/lr"
    assert meta["models"]["doubler"]["model_type"] == "custom"
    assert isinstance(loaded.context.model_ref("lr").model, LinearRegression)
    assert loaded.context.model_ref("lr").model is not lr
    pd.testing.assert_frame_equal(Handler.invoke(loaded, "predict", X, {}), Handler.invoke(model, "predict", X, {}))
    assert "sklearn" in Handler.modules(model)


def test_instance_fallback_when_the_constructor_cannot_be_replayed(tmp_path: Path, artifacts: dict[str, Path]) -> None:
    factor_path = artifacts["factor"]

    class SelfContained(CustomModel):
        """Builds its own context: calling it again would read the original (deleted) file."""

        def __init__(self, n: int) -> None:
            super().__init__(ModelContext(factor=factor_path, clf=_WrappedDoubler()))
            self.n = n
            self.factor_file = self.context.path("factor")
            self.clf = self.context.model_ref("clf")

        @inference_api
        def predict(self, df: pd.DataFrame) -> pd.DataFrame:
            factor = float(Path(self.factor_file).read_text())
            return self.clf.predict(df) * factor * self.n

    model = SelfContained(2)
    model.n = 5  # state set after __init__ survives in this mode
    meta = Handler.save(model, tmp_path / "pkg", {})
    shutil.rmtree(tmp_path / "src")
    loaded = Handler.load(tmp_path / "pkg", json.loads(json.dumps(meta)), {})
    assert meta["construct"] == "instance"
    assert loaded.n == 5
    assert loaded.factor_file == str(tmp_path / "pkg" / "artifacts" / "factor" / "factor.txt")  # re-pointed
    assert loaded.clf is loaded.context.model_ref("clf")  # shared with the new context
    assert loaded.clf.model is not model.clf.model
    assert Handler.invoke(loaded, "predict", pd.DataFrame({"a": [1.0]}), {})["a"].tolist() == [30.0]


class _WrappedDoubler(CustomModel):
    @inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return df * 2


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": REPO_ROOT}


def test_class_from_a_local_module_loads_in_a_fresh_process(tmp_path: Path) -> None:
    src = tmp_path / "code"
    src.mkdir()
    (src / "mreg_local_model_mod.py").write_text(
        textwrap.dedent(
            """
            from __future__ import annotations
            import pandas as pd
            from jupyter_mreg.model.custom_model import CustomModel, inference_api

            OFFSET = 10

            def shift(values):
                return values + OFFSET

            class LocalModel(CustomModel):
                @inference_api
                def predict(self, df: pd.DataFrame, *, times: int = 1) -> pd.DataFrame:
                    return pd.DataFrame({"y": shift(df["x"]) * times})
            """
        )
    )
    sys.path.insert(0, str(src))
    try:
        module = importlib.import_module("mreg_local_model_mod")
        meta = Handler.save(module.LocalModel(), tmp_path / "pkg", {})
    finally:
        sys.path.remove(str(src))
        sys.modules.pop("mreg_local_model_mod", None)
    shutil.rmtree(src)
    assert meta["by_value_modules"] == ["mreg_local_model_mod"]
    assert "mreg_local_model_mod" not in [m.__name__ for m in _registered_by_value()]
    (tmp_path / "meta.json").write_text(json.dumps(meta))

    script = textwrap.dedent(
        f"""
        import json, pathlib, pandas as pd
        from jupyter_mreg.model.handlers.custom import Handler
        pkg = pathlib.Path({str(tmp_path / "pkg")!r})
        meta = json.loads(pathlib.Path({str(tmp_path / "meta.json")!r}).read_text())
        model = Handler.load(pkg, meta, {{}})
        out = Handler.invoke(model, "predict", pd.DataFrame({{"x": [1, 2]}}), {{"times": 3}})
        print(type(model).__name__, out["y"].tolist())
        """
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "LocalModel [33, 36]"


def test_main_class_using_a_local_helper_module_loads_without_that_file(tmp_path: Path) -> None:
    """The snowflake-ml-python #87 pain: a notebook class calling a function from a .py next to it."""
    (tmp_path / "nb_helpers.py").write_text("def featurize(s):\n    return s * 100\n")
    save = textwrap.dedent(
        f"""
        import json, pathlib, pandas as pd
        from nb_helpers import featurize
        from jupyter_mreg.model.custom_model import CustomModel, inference_api
        from jupyter_mreg.model.handlers.custom import Handler

        class NotebookModel(CustomModel):
            @inference_api
            def predict(self, df: pd.DataFrame) -> pd.DataFrame:
                return pd.DataFrame({{"y": featurize(df["x"])}})

        meta = Handler.save(NotebookModel(), pathlib.Path({str(tmp_path / "pkg")!r}), {{}})
        pathlib.Path({str(tmp_path / "meta.json")!r}).write_text(json.dumps(meta))
        print(meta["class"], meta["by_value_modules"])
        """
    )
    env = {**_env(), "PYTHONPATH": os.pathsep.join([REPO_ROOT, str(tmp_path)])}
    run = subprocess.run([sys.executable, "-c", save], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "__main__.NotebookModel ['nb_helpers']"
    (tmp_path / "nb_helpers.py").unlink()

    load = textwrap.dedent(
        f"""
        import json, pathlib, pandas as pd
        from jupyter_mreg.model.handlers.custom import Handler
        meta = json.loads(pathlib.Path({str(tmp_path / "meta.json")!r}).read_text())
        model = Handler.load(pathlib.Path({str(tmp_path / "pkg")!r}), meta, {{}})
        print(Handler.invoke(model, "predict", pd.DataFrame({{"x": [1, 2]}}), {{}})["y"].tolist())
        """
    )
    run = subprocess.run([sys.executable, "-c", load], cwd=tmp_path, env=_env(), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[100, 200]"


def test_by_value_modules_option_is_honoured(tmp_path: Path) -> None:
    meta = Handler.save(_WrappedDoubler(), tmp_path / "pkg", {"_by_value_modules": [json]})
    assert "json" in meta["by_value_modules"]
    assert "json" not in [m.__name__ for m in _registered_by_value()]


def test_class_saved_by_reference_reports_a_missing_module(tmp_path: Path) -> None:
    meta = Handler.save(_WrappedDoubler(), tmp_path / "pkg", {})
    meta["class_file"] = "other.pkl"
    import pickle

    (tmp_path / "pkg" / "other.pkl").write_bytes(
        pickle.dumps(_WrappedDoubler, protocol=0).replace(b"tests.model.test_custom_model", b"no_such_module_for_mreg_tests")
    )
    with pytest.raises(ValueError, match=r"'no_such_module_for_mreg_tests' cannot be imported here.*ext_modules"):
        Handler.load(tmp_path / "pkg", meta, {})


def _registered_by_value() -> list:
    import cloudpickle

    return [sys.modules[n] for n in cloudpickle.list_registry_pickle_by_value() if n in sys.modules]


def test_no_warnings_on_plain_decorators() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")

        class Fine(CustomModel):
            @partitioned_api
            def run(self, df: pd.DataFrame) -> pd.DataFrame:
                return df

    assert custom_model.partitioned_methods(Fine) == ["run"]
