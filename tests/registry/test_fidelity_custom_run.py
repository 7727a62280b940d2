"""Snowflake fidelity of custom models through the registry: what `run()` passes to a method, which method it
picks, partitioned methods without a partition column, ModelContext keywords, and the lost-state warning."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.model import custom_model, model_signature

X = pd.DataFrame({"x": [1.0, 2.0, 3.0]})


class Typed(custom_model.CustomModel):
    """Echoes the type name and value of each param it gets."""

    @custom_model.inference_api
    def predict(self, df: pd.DataFrame, *, k: int = 1, t: float = 0.5, flag: bool = False,
                label: str = "a") -> pd.DataFrame:
        seen = {"k": k, "t": t, "flag": flag, "label": label}
        return pd.DataFrame({name: [f"{type(v).__name__}:{v}"] * len(df) for name, v in seen.items()})


def test_fidelity_given_scalar_params_arrive_as_numpy_scalars(reg):
    mv = reg.log_model(Typed(), model_name="typed", version_name="v1", sample_input_data=X)
    out = mv.run(X, params={"k": 3, "t": 2, "flag": True, "label": "b"})
    assert out.iloc[0].tolist() == ["int64:3", "float64:2.0", "bool:True", "str:b"]
    assert {type(v) for v in mv.run(X, params={"k": 3}).iloc[0]} == {str}
    # Defaults arrive as the signature stores them (Python values), as Snowflake passes them.
    assert mv.run(X).iloc[0].tolist() == ["int:1", "float:0.5", "bool:False", "str:a"]


class Scores(custom_model.CustomModel):
    @custom_model.inference_api
    def predict(self, df: pd.DataFrame, *, k: int = 1) -> pd.DataFrame:
        return pd.DataFrame({"y": [float(type(k) is np.int64)] * len(df)})


def test_fidelity_param_types_reach_the_method_from_sql_too(reg):
    from jupyter_mreg.sql import execute

    reg.log_model(Scores(), model_name="scores", version_name="v1", sample_input_data=X)
    out = execute("SELECT MYDB.ML.SCORES!PREDICT(x, k => 2):y AS y FROM t", {"t": X}, session=reg.session)
    assert out["y"].to_numpy(dtype=float).tolist() == [1.0, 1.0, 1.0]


class TwoMethods(custom_model.CustomModel):
    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"y": df["x"] * 2})

    @custom_model.inference_api
    def score(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"y": df["x"] * 3})


class OneMethod(custom_model.CustomModel):
    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"y": df["x"] * 2})


def test_fidelity_empty_function_name_means_the_only_method(reg):
    one = reg.log_model(OneMethod(), model_name="one", version_name="v1", sample_input_data=X)
    assert one.run(X, function_name="")["y"].to_numpy(dtype=float).tolist() == [2.0, 4.0, 6.0]
    two = reg.log_model(TwoMethods(), model_name="two", version_name="v1", sample_input_data=X)
    for name in (None, ""):
        with pytest.raises(ValueError) as info:
            two.run(X, function_name=name)
        assert str(info.value).startswith(
            "There are more than 1 target methods available in the model MYDB.ML.TWO version V1. Please specify a "
            "`function_name` when calling the `run` method.")
        assert "['PREDICT', 'SCORE']" in str(info.value)


class PerStore(custom_model.CustomModel):
    @custom_model.partitioned_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"total": [df["sales"].sum()], "rows": [len(df)]})


def test_fidelity_partitioned_method_without_partition_column_runs_one_partition(reg):
    data = pd.DataFrame({"store": ["a", "a", "b"], "sales": [1.0, 2.0, 3.0]})
    mv = reg.log_model(PerStore(), model_name="per_store", version_name="v1", sample_input_data=data,
                       options={"function_type": "TABLE_FUNCTION"})
    out = mv.run(data)
    assert list(out.columns) == ["total", "rows"]  # no partition column, as in Snowflake
    assert out["total"].to_numpy(dtype=float).tolist() == [6.0]
    assert out["rows"].to_numpy(dtype=float).tolist() == [3.0]
    assert list(out.index) == [0]
    empty = mv.run(data.iloc[:0])
    assert list(empty.columns) == ["total", "rows"] and len(empty) == 0


class Reads(custom_model.CustomModel):
    def __init__(self, context: custom_model.ModelContext) -> None:
        super().__init__(context)
        with open(self.context["models"]) as f:  # `models=<a path>` is an artifact named "models"
            self.offset = float(f.read())

    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"y": self.context["artifacts"].predict(df)["y"] + self.offset})


class Doubler(custom_model.CustomModel):
    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"y": df["x"] * 2})


def test_fidelity_model_context_non_dict_artifacts_and_models_are_keyword_entries(reg, tmp_path):
    path = tmp_path / "offset.txt"
    path.write_text("10")
    inner = Doubler()
    ctx = custom_model.ModelContext(models=str(path), artifacts=inner)
    assert ctx["models"] == str(path) and ctx.artifacts == {"models": str(path)}
    assert ctx["artifacts"].model is inner and list(ctx.model_refs) == ["artifacts"]
    mv = reg.log_model(Reads(ctx), model_name="reads", version_name="v1", sample_input_data=X)
    assert mv.run(X)["y"].to_numpy(dtype=float).tolist() == [12.0, 14.0, 16.0]
    loaded = mv.load()
    assert loaded.context["models"] != str(path) and open(loaded.context["models"]).read() == "10"


def test_fidelity_nested_list_and_dict_params_log_and_run(reg):
    class Params(custom_model.CustomModel):
        @custom_model.inference_api
        def predict(self, df: pd.DataFrame, *, grid: list[list[int]] = [[1, 2], [3]],  # noqa: B006
                    options: dict = {"scale": 2.0}) -> pd.DataFrame:  # noqa: B006
            total = sum(sum(row) for row in grid) * options["scale"]
            return pd.DataFrame({"y": df["x"] * 0 + total})

    mv = reg.log_model(Params(), model_name="params", version_name="v1", sample_input_data=X)
    params = {p.name: p for p in mv.show_functions()[0]["signature"].params}
    assert params["grid"].shape == (-1, -1) and params["grid"].dtype == model_signature.DataType.INT64
    assert params["options"].dtype == model_signature.DataType.OBJECT
    assert mv.run(X)["y"].to_numpy(dtype=float).tolist() == [12.0] * 3
    out = mv.run(X, params={"grid": [[1], [1, 1]], "options": {"scale": 10.0}})
    assert out["y"].to_numpy(dtype=float).tolist() == [30.0] * 3


def test_fidelity_param_group_spec_in_a_signature_merges_a_partial_dict(reg):
    class Sampler(custom_model.CustomModel):
        @custom_model.inference_api
        def predict(self, df: pd.DataFrame, *, sampling: dict = None) -> pd.DataFrame:
            return pd.DataFrame({"y": df["x"] * sampling["temperature"] + sampling["top_k"]})

    group = model_signature.ParamGroupSpec("sampling", [
        model_signature.ParamSpec("temperature", model_signature.DataType.DOUBLE, 1.0),
        model_signature.ParamSpec("top_k", model_signature.DataType.INT64, 0),
    ])
    sig = model_signature.ModelSignature(
        inputs=[model_signature.FeatureSpec("x", model_signature.DataType.DOUBLE)],
        outputs=[model_signature.FeatureSpec("y", model_signature.DataType.DOUBLE)], params=[group])
    mv = reg.log_model(Sampler(), model_name="sampler", version_name="v1", signatures={"predict": sig})
    assert mv.show_functions()[0]["signature"].params == [group]
    assert mv.run(X)["y"].to_numpy(dtype=float).tolist() == [1.0, 2.0, 3.0]
    out = mv.run(X, params={"sampling": {"TOP_K": 100}})  # keys match case-insensitively; the rest default
    assert out["y"].to_numpy(dtype=float).tolist() == [101.0, 102.0, 103.0]
    with pytest.raises(ValueError, match=r"Param 'sampling' .* has the unknown key 'beam'"):
        mv.run(X, params={"sampling": {"beam": 2}})
    with pytest.raises(ValueError, match=r"Param 'sampling.top_k' expects INT64"):
        mv.run(X, params={"sampling": {"top_k": "many"}})


def test_fidelity_wrong_default_type_is_refused_at_log_not_at_class_definition(reg):
    class Sloppy(custom_model.CustomModel):  # defining and instantiating it is fine, as in Snowflake
        @custom_model.inference_api
        def predict(self, df: pd.DataFrame, *, k: int = 0.5) -> pd.DataFrame:
            return df

    model = Sloppy()
    with pytest.raises(ValueError) as info:
        reg.log_model(model, model_name="sloppy", version_name="v1", sample_input_data=X)
    assert isinstance(info.value, InvalidArgumentError)
    assert "the default 0.5 (float) of parameter 'k' is not a int" in str(info.value)
    assert "Sloppy.predict" in str(info.value)


class Thresholded(custom_model.CustomModel):
    def __init__(self, context: custom_model.ModelContext | None = None, cutoff: float = 0.5) -> None:
        super().__init__(context)
        self.cutoff = cutoff
        self.table = {"a": 1}

    @custom_model.inference_api
    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"y": (df["x"] > self.cutoff).astype(float)})


def test_fidelity_state_set_after_init_warns_at_log_naming_it(reg):
    from jupyter_mreg.model.custom_model import CustomModelStateWarning

    model = Thresholded(cutoff=2.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # attributes set in __init__ (from arguments too) give no warning
        reg.log_model(model, model_name="kept", version_name="v1", sample_input_data=X)
    model.cutoff = 1.5
    model.extra = "x"
    with pytest.warns(CustomModelStateWarning) as record:
        mv = reg.log_model(model, model_name="lost", version_name="v1", sample_input_data=X)
    message = str(record[0].message)
    assert "Thresholded has attribute(s) cutoff, extra set after __init__" in message
    assert "Set them in __init__" in message and "ModelContext" in message
    assert record[0].filename == __file__  # points at the log_model line
    assert issubclass(CustomModelStateWarning, UserWarning)
    assert mv.run(X)["y"].to_numpy(dtype=float).tolist() == [0.0, 0.0, 1.0]  # cutoff 2.5: the warned loss
