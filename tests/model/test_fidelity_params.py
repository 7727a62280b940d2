"""Snowflake fidelity of method params and ModelContext at the model layer: ParamGroupSpec, shaped params,
how values reach a method (validate_params), when defaults are checked, and ModelContext keywords."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest

from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.model import custom_model, model_signature
from jupyter_mreg.model.model_signature import DataType, FeatureSpec, ModelSignature, ParamSpec, validate_params


def group(*args, **kwargs):
    return model_signature.ParamGroupSpec(*args, **kwargs)


def sampling():
    return group("sampling", [
        ParamSpec("temperature", DataType.DOUBLE, 1.0),
        group("beam", [ParamSpec("width", DataType.INT64, 4), ParamSpec("early", DataType.BOOL, False)]),
        ParamSpec("stop", DataType.STRING, ["."], shape=(-1,)),
    ])


def signature(*params) -> ModelSignature:
    return ModelSignature(inputs=[FeatureSpec("x", DataType.DOUBLE)], outputs=[FeatureSpec("y", DataType.DOUBLE)],
                          params=list(params))


def test_fidelity_param_group_spec_defaults_and_sql_type():
    spec = sampling()
    assert spec.dtype is DataType.OBJECT and spec.sql_type == "OBJECT"
    assert spec.default_value == {"temperature": 1.0, "beam": {"width": 4, "early": False}, "stop": ["."]}
    grid = group("g", [ParamSpec("a", DataType.INT64, 1)], shape=(2,))
    assert grid.default_value == [{"a": 1}, {"a": 1}] and grid.sql_type == "ARRAY(OBJECT)"
    assert group("v", [ParamSpec("a", DataType.INT64, 1)], shape=(-1,)).default_value == []
    with pytest.raises(ValueError, match="has no child specs"):
        group("empty", [])


def test_fidelity_param_group_spec_round_trips_through_the_manifest_dict():
    explicit = group("cfg", [ParamSpec("when", DataType.TIMESTAMP_NTZ, None)],
                              default_value={"when": datetime.datetime(2024, 1, 2)})
    sig = signature(sampling(), explicit, ParamSpec("grid", DataType.INT64, [[1, 2], [3]], shape=(-1, -1)))
    as_dict = sig.to_dict()
    assert as_dict["params"][0] == {"name": "sampling", "specs": [
        {"name": "temperature", "dtype": "DOUBLE", "default_value": 1.0},
        {"name": "beam", "specs": [{"name": "width", "dtype": "INT64", "default_value": 4},
                                   {"name": "early", "dtype": "BOOL", "default_value": False}]},
        {"name": "stop", "dtype": "STRING", "default_value": ["."], "shape": [-1]}]}
    assert as_dict["params"][1]["default_value"] == {"when": "2024-01-02T00:00:00"}
    assert as_dict["params"][2] == {"name": "grid", "dtype": "INT64", "default_value": [[1, 2], [3]],
                                    "shape": [-1, -1]}
    back = ModelSignature.from_dict(as_dict)
    assert back == sig and isinstance(back.params[0], model_signature.ParamGroupSpec)
    assert back.params[1].default_value == {"when": pd.Timestamp("2024-01-02")}


def test_older_manifest_params_still_load():
    old = {"inputs": [{"type": "DOUBLE", "name": "x", "nullable": True}],
           "outputs": [{"type": "DOUBLE", "name": "y", "nullable": True}],
           "params": [{"name": "t", "dtype": "DOUBLE", "default_value": 0.5},
                      {"name": "tags", "dtype": "STRING", "default_value": ["a"], "shape": [-1]}]}
    sig = ModelSignature.from_dict(old)
    assert sig.params == [ParamSpec("t", DataType.DOUBLE, 0.5), ParamSpec("tags", DataType.STRING, ["a"], shape=(-1,))]
    assert sig.to_dict() == old


def test_fidelity_validate_params_passes_numpy_scalars_and_merges_groups():
    sig = signature(ParamSpec("k", DataType.INT64, 1), ParamSpec("t", DataType.FLOAT, 0.5),
                    ParamSpec("flag", DataType.BOOL, False), ParamSpec("s", DataType.STRING, "a"), sampling())
    given = validate_params({"k": 2, "t": 1, "flag": True, "s": "b", "sampling": {"Beam": {"width": 8}}}, sig)
    assert [type(given[n]) for n in ("k", "t", "flag", "s")] == [np.int64, np.float32, np.bool_, str]
    assert given["k"] == 2 and given["t"] == 1.0 and given["flag"] and given["s"] == "b"
    assert given["sampling"] == {"temperature": 1.0, "beam": {"width": 8, "early": False}, "stop": ["."]}
    defaults = validate_params(None, sig)
    assert [type(defaults[n]) for n in ("k", "t", "flag", "s")] == [int, float, bool, str]
    with pytest.raises(InvalidArgumentError, match=r"Param 'sampling.beam.width' expects INT64"):
        validate_params({"sampling": {"beam": {"width": "wide"}}}, sig)


def test_fidelity_wrong_default_is_accepted_by_the_decorator_and_refused_when_params_are_read():
    class Sloppy(custom_model.CustomModel):
        @custom_model.inference_api
        def predict(self, df: pd.DataFrame, *, k: int = 0.5, grid: list[list[float]] = [[1, "x"]]) -> pd.DataFrame:  # noqa: B006
            return df

    Sloppy()  # Snowflake checks defaults when logging, not when the class is defined or instantiated
    with pytest.raises(InvalidArgumentError, match=r"Sloppy.predict: the default 0.5 \(float\) of parameter 'k'"):
        custom_model.get_method_params(Sloppy, "predict")


def test_fidelity_nested_list_and_dict_annotations_give_shaped_and_object_params():
    class Shaped(custom_model.CustomModel):
        @custom_model.inference_api
        def predict(self, df: pd.DataFrame, *, grid: list[list[int]] = [[1], [2, 3]],  # noqa: B006
                    cfg: dict = {"a": 1}, deep: "list[list[list[str]]]" = None) -> pd.DataFrame:  # noqa: B006, F821
            return df

    specs = {p.name: p for p in custom_model.get_method_params(Shaped, "predict")}
    assert (specs["grid"].dtype, specs["grid"].shape, specs["grid"].default_value) == (
        DataType.INT64, (-1, -1), [[1], [2, 3]])
    assert (specs["cfg"].dtype, specs["cfg"].shape, specs["cfg"].default_value) == (DataType.OBJECT, None, {"a": 1})
    assert (specs["deep"].dtype, specs["deep"].shape) == (DataType.STRING, (-1, -1, -1))


def test_fidelity_model_context_non_dict_keywords_are_entries_of_that_name(tmp_path):
    clf = object()
    ctx = custom_model.ModelContext(models="weights.bin")
    assert ctx["models"] == "weights.bin" and ctx.path("models") == "weights.bin" and not ctx.model_refs
    ctx = custom_model.ModelContext(artifacts=clf)
    assert ctx["artifacts"].model is clf and ctx.model_ref("artifacts").name == "artifacts" and not ctx.artifacts
    ctx = custom_model.ModelContext(artifacts="a.txt", models=clf)
    assert ctx.artifacts == {"artifacts": "a.txt"} and ctx["models"].model is clf
    with pytest.raises(InvalidArgumentError, match="Duplicate name 'models'"):
        custom_model.ModelContext(artifacts={"models": "q.txt"}, models="p.txt")
