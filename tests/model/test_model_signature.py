"""Behaviour of `jupyter_mreg.model.model_signature` that users and the rest of the package see."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jupyter_mreg.errors import DataValidationError, InvalidArgumentError, SignatureError
from jupyter_mreg.model.model_signature import (
    DataType,
    FeatureGroupSpec,
    FeatureSpec,
    ModelSignature,
    ParamSpec,
    format_output,
    infer_features,
    infer_signature,
    to_pandas,
    validate_input,
    validate_params,
)


def _sig(*features: FeatureSpec, params=None, outputs=None) -> ModelSignature:
    return ModelSignature(
        inputs=list(features),
        outputs=outputs or [FeatureSpec("output_feature_0", DataType.DOUBLE)],
        params=params,
    )


def _roundtrip(sig: ModelSignature) -> ModelSignature:
    return ModelSignature.from_dict(json.loads(json.dumps(sig.to_dict())))


# ---------------------------------------------------------------------------------------------- DataType


@pytest.mark.parametrize(
    "dtype, expected",
    [
        (np.int8, DataType.INT8),
        (np.int16, DataType.INT16),
        (np.int32, DataType.INT32),
        (np.int64, DataType.INT64),
        (np.uint8, DataType.UINT8),
        (np.uint64, DataType.UINT64),
        (np.float32, DataType.FLOAT),
        (np.float64, DataType.DOUBLE),
        (np.bool_, DataType.BOOL),
        (np.dtype("U5"), DataType.STRING),
        (np.dtype("S5"), DataType.BYTES),
        (np.dtype("datetime64[s]"), DataType.TIMESTAMP_NTZ),
        (np.dtype("datetime64[ns]"), DataType.TIMESTAMP_NTZ),
        (np.dtype(object), DataType.OBJECT),
        (pd.Int64Dtype(), DataType.INT64),
        (pd.Int8Dtype(), DataType.INT8),
        (pd.UInt16Dtype(), DataType.UINT16),
        (pd.Float64Dtype(), DataType.DOUBLE),
        (pd.Float32Dtype(), DataType.FLOAT),
        (pd.BooleanDtype(), DataType.BOOL),
        (pd.StringDtype(), DataType.STRING),
        ("str", DataType.STRING),
        ("Int64", DataType.INT64),
        ("boolean", DataType.BOOL),
        (pd.DatetimeTZDtype(tz="UTC"), DataType.TIMESTAMP_NTZ),
        (int, DataType.INT64),
        (float, DataType.DOUBLE),
        (str, DataType.STRING),
    ],
)
def test_datatype_from_numpy_and_pandas_dtypes(dtype, expected):
    assert DataType.from_numpy_type(dtype) is expected


def test_datatype_from_object_values_of_str_is_string():
    assert DataType.from_numpy_type(np.array(["a", None], dtype=object)) is DataType.STRING
    assert DataType.from_numpy_type(pd.Series(["a", "b"], dtype=object)) is DataType.STRING


def test_datatype_unsupported_dtype_names_it_and_the_fix():
    with pytest.raises(SignatureError, match=r"timedelta64.*no signature DataType.*total_seconds"):
        DataType.from_numpy_type(np.dtype("timedelta64[ns]"))


def test_datatype_as_numpy():
    assert DataType.INT32.as_numpy() == np.dtype(np.int32)
    assert DataType.FLOAT.as_numpy() == np.dtype(np.float32)
    assert DataType.DOUBLE.as_numpy() == np.dtype(np.float64)
    assert DataType.STRING.as_numpy().kind == "U"
    assert DataType.TIMESTAMP_NTZ.as_numpy() == np.dtype("datetime64[ns]")
    assert DataType.OBJECT.as_numpy() == np.dtype(object)
    assert repr(DataType.DOUBLE) == "DataType.DOUBLE"


# ---------------------------------------------------------------------------------------------- specs


@pytest.mark.parametrize("dtype", list(DataType))
def test_feature_spec_round_trips_for_every_datatype(dtype):
    for shape in (None, (3,), (-1,), (2, 4)):
        for nullable in (True, False):
            spec = FeatureSpec("f", dtype, shape=shape, nullable=nullable)
            d = spec.to_dict()
            assert d["type"] == dtype.name
            assert ("shape" in d) == (shape is not None)
            assert FeatureSpec.from_dict(json.loads(json.dumps(d))) == spec


def test_feature_spec_to_dict_format():
    assert FeatureSpec("AGE", DataType.DOUBLE).to_dict() == {"type": "DOUBLE", "name": "AGE", "nullable": True}
    assert FeatureSpec("v", DataType.FLOAT, shape=(3,), nullable=False).to_dict() == {
        "type": "FLOAT",
        "name": "v",
        "nullable": False,
        "shape": [3],
    }


def test_feature_spec_rejects_bad_dtype_and_shape():
    with pytest.raises(InvalidArgumentError, match=r"dtype must be a DataType.*'float64'"):
        FeatureSpec("x", "float64")
    with pytest.raises(InvalidArgumentError, match=r"shape must be None.*\(3,\)"):
        FeatureSpec("x", DataType.DOUBLE, shape=3)
    assert FeatureSpec("x", "double").dtype is DataType.DOUBLE  # a DataType name is accepted


def test_feature_group_spec_round_trip_and_sql_type():
    group = FeatureGroupSpec(
        "msg",
        [FeatureSpec("role", DataType.STRING), FeatureSpec("score", DataType.DOUBLE, shape=(-1,))],
        shape=(-1,),
    )
    d = group.to_dict()
    assert d["name"] == "msg" and d["shape"] == [-1] and len(d["specs"]) == 2
    assert FeatureGroupSpec.from_dict(json.loads(json.dumps(d))) == group
    assert group.sql_type == "ARRAY(OBJECT)"
    assert FeatureSpec("v", DataType.INT64, shape=(2, 2)).sql_type == "ARRAY(ARRAY(NUMBER))"
    with pytest.raises(InvalidArgumentError, match="no child specs"):
        FeatureGroupSpec("empty", [])


def test_feature_group_spec_reads_old_snowflake_wrapper():
    old = {"feature_group": {"name": "g", "specs": [{"type": "INT64", "name": "a"}]}}
    assert FeatureGroupSpec.from_dict(old) == FeatureGroupSpec("g", [FeatureSpec("a", DataType.INT64)])


def test_param_spec_round_trips_including_timestamps_and_bytes():
    params = [
        ParamSpec("temperature", DataType.DOUBLE, 0.7),
        ParamSpec("top_k", DataType.INT32, 5),
        ParamSpec("greedy", DataType.BOOL, False),
        ParamSpec("prefix", DataType.STRING, "hi"),
        ParamSpec("blob", DataType.BYTES, b"\x00\xff"),
        ParamSpec("as_of", DataType.TIMESTAMP_NTZ, dt.datetime(2024, 5, 1, 12, 30)),
        ParamSpec("stop", DataType.STRING, ["\n", "END"], shape=(-1,)),
        ParamSpec("weights", DataType.FLOAT, [[1.0, 2.0], [3.0, 4.0]], shape=(2, 2)),
        ParamSpec("nothing", DataType.DOUBLE, None),
    ]
    sig = _sig(FeatureSpec("x", DataType.DOUBLE), params=params)
    assert _roundtrip(sig) == sig
    assert ParamSpec("t", DataType.TIMESTAMP_NTZ, "2024-05-01").to_dict()["default_value"] == "2024-05-01T00:00:00"


def test_param_spec_rejects_incompatible_default():
    with pytest.raises(InvalidArgumentError, match=r"Param 'k' expects INT8.*300.*outside the INT8 range"):
        ParamSpec("k", DataType.INT8, 300)
    with pytest.raises(InvalidArgumentError, match=r"Param 'k' expects INT64.*'abc'.*not an integer"):
        ParamSpec("k", DataType.INT64, "abc")
    with pytest.raises(InvalidArgumentError, match=r"shape \(2,\).*has 3 elements"):
        ParamSpec("v", DataType.DOUBLE, [1, 2, 3], shape=(2,))


def test_signature_round_trips_exactly():
    sig = ModelSignature(
        inputs=[
            FeatureSpec("AGE", DataType.INT64),
            FeatureSpec("emb", DataType.FLOAT, shape=(4,), nullable=False),
            FeatureGroupSpec("meta", [FeatureSpec("k", DataType.STRING)]),
        ],
        outputs=[FeatureSpec("output_feature_0", DataType.DOUBLE)],
        params=[ParamSpec("temperature", DataType.DOUBLE, 1.0)],
    )
    d = sig.to_dict()
    assert set(d) == {"inputs", "outputs", "params"}
    again = _roundtrip(sig)
    assert again == sig
    assert again.to_dict() == d


def test_signature_equality_sees_every_field():
    a = _sig(FeatureSpec("x", DataType.DOUBLE))
    assert a == _sig(FeatureSpec("x", DataType.DOUBLE))
    assert a != _sig(FeatureSpec("x", DataType.FLOAT))
    assert a != _sig(FeatureSpec("x", DataType.DOUBLE, nullable=False))
    assert a != _sig(FeatureSpec("x", DataType.DOUBLE), params=[ParamSpec("p", DataType.INT64, 1)])


def test_param_names_colliding_with_inputs_case_insensitively_are_rejected():
    with pytest.raises(InvalidArgumentError, match=r"Param 'age' has the same name as input feature 'AGE'"):
        _sig(FeatureSpec("AGE", DataType.DOUBLE), params=[ParamSpec("age", DataType.INT64, 1)])
    with pytest.raises(InvalidArgumentError, match=r"Params 'k' and 'K' have the same name ignoring case"):
        _sig(FeatureSpec("x", DataType.DOUBLE), params=[ParamSpec("k", DataType.INT64, 1),
                                                         ParamSpec("K", DataType.INT64, 2)])


def test_signature_repr_and_html():
    sig = _sig(FeatureSpec("AGE", DataType.INT64), params=[ParamSpec("temperature", DataType.DOUBLE, 0.5)])
    text = repr(sig)
    assert text.startswith("ModelSignature(")
    assert "FeatureSpec(dtype=DataType.INT64, name='AGE', nullable=True)" in text
    assert "ParamSpec(name='temperature', dtype=DataType.DOUBLE, default_value=0.5)" in text
    page = sig._repr_html_()
    assert page.startswith("<table")
    for piece in ("<code>AGE</code>", "INT64", "output_feature_0", "DOUBLE", "<code>temperature</code>",
                  "default 0.5", ">input<", ">output<", ">param<"):
        assert piece in page
    evil = _sig(FeatureSpec("<script>", DataType.DOUBLE))
    assert "<script>" not in evil._repr_html_()


# ---------------------------------------------------------------------------------------------- to_pandas


def test_to_pandas_shapes_and_names():
    df = pd.DataFrame({"a": [1]})
    assert to_pandas(df) is df
    assert list(to_pandas(pd.Series([1, 2], name="s")).columns) == ["s"]
    assert list(to_pandas(pd.Series([1, 2])).columns) == ["input_feature_0"]
    assert list(to_pandas(np.arange(3)).columns) == ["input_feature_0"]
    two_d = to_pandas(np.zeros((4, 3)), prefix="output_feature")
    assert list(two_d.columns) == ["output_feature_0", "output_feature_1", "output_feature_2"]
    assert two_d.shape == (4, 3)
    assert list(to_pandas([1, 2, 3]).columns) == ["input_feature_0"]
    rows = to_pandas([[1, "a"], [2, "b"]])
    assert list(rows.columns) == ["input_feature_0", "input_feature_1"] and rows.iloc[1, 1] == "b"
    recs = to_pandas([{"x": 1, "y": 2.0}, {"x": 3, "y": 4.0}])
    assert list(recs.columns) == ["x", "y"]
    cols = to_pandas({"x": [1, 2], 0: [3, 4]})
    assert list(cols.columns) == ["x", "input_feature_1"]
    tensor = to_pandas(np.zeros((2, 3, 4)))
    assert list(tensor.columns) == ["input_feature_0", "input_feature_1", "input_feature_2"]
    assert tensor.iloc[0, 0].shape == (4,)


def test_to_pandas_list_of_records_with_gaps():
    df = to_pandas([{"label": "a", "score": 0.9}, None, {"label": "b"}])
    assert list(df.columns) == ["label", "score"] and len(df) == 3 and df["label"].iloc[2] == "b"


def test_to_pandas_numpy_is_zero_copy():
    arr = np.random.rand(10, 3)
    assert np.shares_memory(to_pandas(arr).to_numpy(), arr)


def test_to_pandas_rejects_unknown_and_ragged_data():
    with pytest.raises(InvalidArgumentError, match=r"builtins.set is not supported"):
        to_pandas({1, 2})
    with pytest.raises(InvalidArgumentError, match="different lengths"):
        to_pandas([[1, 2], [3]])
    with pytest.raises(InvalidArgumentError, match="empty list"):
        to_pandas([])


# ---------------------------------------------------------------------------------------------- inference


def test_infer_from_dataframe_keeps_names_and_types():
    df = pd.DataFrame(
        {
            "age": np.array([30, 40], dtype=np.int32),
            "income": [1.5, 2.5],
            "member": [True, False],
            "city": ["Oslo", "Rome"],
            "raw": [b"x", b"y"],
            "seen": pd.to_datetime(["2024-01-01", "2024-02-01"]),
            "count": pd.array([1, None], dtype="Int64"),
            "flag": pd.array([True, None], dtype="boolean"),
            "label": pd.array(["a", None], dtype="string"),
            "obj_str": pd.Series(["a", None], dtype=object),
            "f32": np.array([1, 2], dtype=np.float32),
        }
    )
    specs = infer_features(df)
    assert [s.name for s in specs] == list(df.columns)
    assert [s.dtype for s in specs] == [
        DataType.INT32, DataType.DOUBLE, DataType.BOOL, DataType.STRING, DataType.BYTES,
        DataType.TIMESTAMP_NTZ, DataType.INT64, DataType.BOOL, DataType.STRING, DataType.STRING,
        DataType.FLOAT,
    ]
    assert all(s.nullable for s in specs)


def test_infer_numpy_sample_names_input_feature_i_and_proba_output():
    X = np.random.rand(20, 3)
    proba = np.random.rand(20, 4)
    sig = infer_signature(X, proba)
    assert [s.name for s in sig.inputs] == ["input_feature_0", "input_feature_1", "input_feature_2"]
    assert [s.name for s in sig.outputs] == [f"output_feature_{i}" for i in range(4)]
    assert all(s.dtype is DataType.DOUBLE for s in sig.inputs + sig.outputs)
    labels = infer_signature(X, np.array([0, 1] * 10)).outputs
    assert labels == [FeatureSpec("output_feature_0", DataType.INT64, nullable=False)]  # as Snowflake: no nulls


def test_infer_series_output_keeps_its_name_and_explicit_names_override():
    sig = infer_signature(pd.DataFrame({"a": [1.0]}), pd.Series([1], name="churn"))
    assert sig.outputs[0].name == "churn"
    sig = infer_signature(np.zeros((2, 2)), np.zeros(2), input_feature_names=["X", "Y"],
                          output_feature_names=["PRED"])
    assert [s.name for s in sig.inputs] == ["X", "Y"] and sig.outputs[0].name == "PRED"
    with pytest.raises(SignatureError, match=r"1 feature names were given.*2 columns"):
        infer_signature(np.zeros((2, 2)), np.zeros(2), input_feature_names=["X"])


def test_infer_int_labelled_dataframe_uses_prefix():
    specs = infer_features(pd.DataFrame([[1.0, 2.0]]), prefix="input_feature")
    assert [s.name for s in specs] == ["input_feature_0", "input_feature_1"]


def test_infer_object_columns_by_value():
    df = pd.DataFrame(
        {
            "vec": [[1.0, 2.0], [3.0, 4.0]],
            "ragged": [[1, 2, 3], [4]],
            "arr": [np.zeros((2, 2)), np.ones((2, 2))],
            "words": [["a", "b"], ["c"]],
            "struct": [{"lat": 1.0, "lon": 2.0}, {"lat": 3.0, "lon": 4.0}],
            "bools": pd.Series([True, False], dtype=object),
            "ints": pd.Series([1, 2], dtype=object),
        }
    )
    specs = {s.name: s for s in infer_features(df)}
    assert specs["vec"] == FeatureSpec("vec", DataType.DOUBLE, shape=(2,))
    assert specs["ragged"] == FeatureSpec("ragged", DataType.INT64, shape=(-1,))
    assert specs["arr"] == FeatureSpec("arr", DataType.DOUBLE, shape=(2, 2))
    assert specs["words"] == FeatureSpec("words", DataType.STRING, shape=(-1,))
    assert specs["struct"] == FeatureGroupSpec(
        "struct", [FeatureSpec("lat", DataType.DOUBLE), FeatureSpec("lon", DataType.DOUBLE)]
    )
    assert specs["bools"].dtype is DataType.BOOL
    assert specs["ints"].dtype is DataType.INT64


def test_infer_mixed_object_column_is_a_clear_error():
    df = pd.DataFrame({"mixed": pd.Series(["a", 1], dtype=object)})
    with pytest.raises(SignatureError, match=r"Column 'mixed' mixes values of types \['int', 'str'\]"):
        infer_features(df)


def test_infer_column_null_in_first_rows_is_typed_from_later_rows_issue_159():
    n = 250
    df = pd.DataFrame(
        {
            "x": np.arange(n, dtype=float),
            "late_str": pd.Series([None] * 150 + ["v"] * 100, dtype=object),
            "late_float": [np.nan] * 150 + [1.0] * 100,
            "late_int": pd.array([None] * 150 + [1] * 100, dtype="Int64"),
        }
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        specs = {s.name: s for s in infer_features(df, limit=100)}
    assert specs["late_str"].dtype is DataType.STRING
    assert specs["late_float"].dtype is DataType.DOUBLE
    assert specs["late_int"].dtype is DataType.INT64
    messages = [str(w.message) for w in caught]
    assert any("only the first 100 are used" in m for m in messages)  # truncation warning, like Snowflake
    assert not any("holds only nulls" in m for m in messages)


def test_infer_wholly_null_column_warns_and_does_not_raise():
    df = pd.DataFrame({"ok": [1.0, 2.0], "empty_obj": [None, None], "empty_float": [np.nan, np.nan]})
    with pytest.warns(UserWarning) as caught:
        specs = {s.name: s for s in infer_features(df)}
    assert specs["empty_obj"].dtype is DataType.STRING
    assert specs["empty_float"].dtype is DataType.DOUBLE
    messages = [str(w.message) for w in caught]
    assert any(m.startswith("Column 'empty_obj' holds only nulls") and "STRING" in m and "signatures=" in m
               for m in messages)
    assert any(m.startswith("Column 'empty_float' holds only nulls") and "DOUBLE" in m for m in messages)
    assert all(w.filename == __file__ for w in caught)  # the warning points at the caller's line


def test_infer_partial_nulls_are_fine_without_warning():
    df = pd.DataFrame({"a": ["x", None, "y"], "b": [1.0, None, 2.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        specs = infer_features(df)
    assert [s.dtype for s in specs] == [DataType.STRING, DataType.DOUBLE]


def test_infer_duplicate_labels_and_empty_data_are_errors():
    dup = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(SignatureError, match=r"duplicate column labels \['a'\]"):
        infer_features(dup)
    with pytest.raises(SignatureError, match=r"empty data \(0 rows x 1 columns\)"):
        infer_features(pd.DataFrame({"a": []}))


def test_infer_unsupported_dtype_names_the_column():
    df = pd.DataFrame({"wait": pd.to_timedelta([1, 2], unit="s")})
    with pytest.raises(SignatureError, match=r"Column 'wait' has dtype timedelta64.*total_seconds"):
        infer_features(df)


def test_infer_signature_params_from_defaults():
    sig = infer_signature(
        pd.DataFrame({"x": [1.0]}),
        np.zeros(1),
        params={"temperature": 0.5, "top_k": 3, "greedy": True, "prefix": "p", "stop": ["a"]},
    )
    assert sig.params == [
        ParamSpec("temperature", DataType.DOUBLE, 0.5),
        ParamSpec("top_k", DataType.INT64, 3),
        ParamSpec("greedy", DataType.BOOL, True),
        ParamSpec("prefix", DataType.STRING, "p"),
        ParamSpec("stop", DataType.STRING, ["a"], shape=(-1,)),
    ]
    explicit = [ParamSpec("k", DataType.INT8, 1)]
    assert infer_signature(np.zeros((1, 1)), np.zeros(1), params=explicit).params == explicit
    with pytest.raises(InvalidArgumentError, match=r"Param 'p': cannot infer a type from the default None"):
        infer_signature(np.zeros((1, 1)), np.zeros(1), params={"p": None})


# ---------------------------------------------------------------------------------------------- validate_input

NUM_SIG = _sig(FeatureSpec("AGE", DataType.INT64), FeatureSpec("INCOME", DataType.DOUBLE))


def test_validate_matching_frame_is_returned_unchanged():
    df = pd.DataFrame({"AGE": [30, 40], "INCOME": [1.0, 2.0]})
    assert validate_input(df, NUM_SIG) is df
    assert validate_input(df, NUM_SIG, strict=True) is df


def test_validate_case_insensitive_match_both_ways_and_extra_columns_dropped():
    lower = pd.DataFrame({"extra": ["z", "z"], "income": [1.0, 2.0], "age": [30, 40]})
    out = validate_input(lower, NUM_SIG)
    assert list(out.columns) == ["AGE", "INCOME"]
    assert out["AGE"].tolist() == [30, 40] and out["INCOME"].tolist() == [1.0, 2.0]
    assert list(lower.columns) == ["extra", "income", "age"]  # the caller's frame is untouched

    sig_lower = _sig(FeatureSpec("age", DataType.INT64))
    out = validate_input(pd.DataFrame({"AGE": [1]}), sig_lower)
    assert list(out.columns) == ["age"] and out["age"].tolist() == [1]


def test_validate_exact_name_wins_over_case_insensitive():
    sig = _sig(FeatureSpec("a", DataType.INT64), FeatureSpec("A", DataType.INT64))
    out = validate_input(pd.DataFrame({"A": [2], "a": [1]}), sig)
    assert out["a"].tolist() == [1] and out["A"].tolist() == [2]


def test_validate_missing_column_lists_existing_columns_and_method():
    df = pd.DataFrame({"age": [1], "city": ["x"]})
    with pytest.raises(DataValidationError) as e:
        validate_input(df, NUM_SIG, function_name="predict")
    msg = str(e.value)
    assert "feature 'INCOME' of method predict does not exist in the input data" in msg
    assert "Available columns are ['age', 'city']" in msg


def test_validate_positional_int_labels_renamed_and_count_mismatch():
    out = validate_input(pd.DataFrame([[30, 1.5]]), NUM_SIG)
    assert list(out.columns) == ["AGE", "INCOME"] and out.iloc[0].tolist() == [30, 1.5]
    out = validate_input(np.array([[1.0, 2.0]]), _sig(FeatureSpec("a", DataType.DOUBLE),
                                                      FeatureSpec("b", DataType.DOUBLE)))
    assert list(out.columns) == ["a", "b"]
    with pytest.raises(DataValidationError, match=(
        r"Data does not have the same number of features as signature\. Signature requires 2 features, "
        r"but have 3 in input data\."
    )):
        validate_input(pd.DataFrame([[1, 2.0, 3]]), NUM_SIG)


def test_validate_int_to_float_widening_is_accepted_without_copy():
    df = pd.DataFrame({"x": np.array([1, 2], dtype=np.int16)})
    assert validate_input(df, _sig(FeatureSpec("x", DataType.DOUBLE))) is df
    assert validate_input(df, _sig(FeatureSpec("x", DataType.FLOAT))) is df
    assert validate_input(df, _sig(FeatureSpec("x", DataType.INT8))) is df  # any int dtype, not strict


def test_validate_float_into_int_names_both_types():
    df = pd.DataFrame({"age": [1.5, 2.0]})
    with pytest.raises(DataValidationError) as e:
        validate_input(df, _sig(FeatureSpec("AGE", DataType.INT64)),
                       function_name="predict")
    msg = str(e.value)
    assert "feature 'AGE' of method predict expects INT64 but the column 'age' has dtype float64" in msg
    assert "astype('int64')" in msg


def test_validate_string_into_double_is_rejected_with_fix():
    df = pd.DataFrame({"x": ["1.0", "2.0"]})
    with pytest.raises(DataValidationError, match=r"expects DOUBLE but the column 'x' has dtype str.*pd\.to_numeric"):
        validate_input(df, _sig(FeatureSpec("x", DataType.DOUBLE)))
    obj = pd.DataFrame({"x": pd.Series(["a", "b"], dtype=object)})
    with pytest.raises(DataValidationError, match=r"has dtype object \(str\)"):
        validate_input(obj, _sig(FeatureSpec("x", DataType.INT64)))


def test_validate_nullable_dtypes_are_accepted():
    sig = _sig(
        FeatureSpec("n", DataType.INT64),
        FeatureSpec("f", DataType.DOUBLE),
        FeatureSpec("b", DataType.BOOL),
        FeatureSpec("s", DataType.STRING),
        FeatureSpec("i2f", DataType.DOUBLE),
    )
    df = pd.DataFrame(
        {
            "n": pd.array([1, None, 3], dtype="Int64"),
            "f": pd.array([1.5, None, 2.5], dtype="Float64"),
            "b": pd.array([True, None, False], dtype="boolean"),
            "s": pd.array(["a", None, "c"], dtype="string"),
            "i2f": pd.array([1, 2, None], dtype="Int32"),
        }
    )
    out = validate_input(df, sig)
    # Nullable numeric columns reach the model as numpy float64 with NaN (sklearn accepts those).
    assert out["n"].dtype == np.float64 and np.isnan(out["n"].iloc[1])
    assert out["f"].dtype == np.float64 and np.isnan(out["f"].iloc[1])
    assert out["i2f"].dtype == np.float64 and out["i2f"].iloc[0] == 1.0
    assert out["s"].tolist()[0] == "a"
    assert df["n"].dtype == "Int64"  # the caller's frame is untouched
    # Without nulls the integer column becomes plain int64.
    out = validate_input(pd.DataFrame({"n": pd.array([1, 2], dtype="Int64")}), _sig(FeatureSpec("n", DataType.INT64)))
    assert out["n"].dtype == np.int64


def test_validate_strings_with_nulls_in_every_string_dtype():
    sig = _sig(FeatureSpec("s", DataType.STRING))
    for series in (
        pd.Series(["a", None, "b"]),  # pandas 3 default str dtype
        pd.Series(["a", None, "b"], dtype=object),
        pd.Series(["a", pd.NA, "b"], dtype="string"),
    ):
        df = pd.DataFrame({"s": series})
        assert validate_input(df, sig) is df


def test_validate_bool_bytes_timestamp_and_object_columns():
    sig = _sig(FeatureSpec("b", DataType.BOOL), FeatureSpec("raw", DataType.BYTES),
               FeatureSpec("t", DataType.TIMESTAMP_NTZ), FeatureSpec("o", DataType.OBJECT))
    df = pd.DataFrame({"b": [True, False], "raw": [b"a", b"b"], "t": pd.to_datetime(["2024-01-01", "2024-01-02"]),
                       "o": [{"a": 1}, 3]})
    assert validate_input(df, sig) is df
    with pytest.raises(DataValidationError, match=r"expects BOOL but the column 'b' has dtype int64.*astype\(bool\)"):
        validate_input(pd.DataFrame({"b": [0, 1]}), _sig(FeatureSpec("b", DataType.BOOL)))
    with pytest.raises(DataValidationError, match=r"expects TIMESTAMP_NTZ.*pd\.to_datetime"):
        validate_input(pd.DataFrame({"t": ["2024-01-01"]}), _sig(FeatureSpec("t", DataType.TIMESTAMP_NTZ)))
    out = validate_input(pd.DataFrame({"t": [dt.datetime(2024, 1, 1)]}, dtype=object),
                         _sig(FeatureSpec("t", DataType.TIMESTAMP_NTZ)))
    assert out["t"].dtype.kind == "M"


def test_validate_strict_range_checks():
    sig = _sig(FeatureSpec("small", DataType.INT8))
    df = pd.DataFrame({"small": [1, 300]})
    assert validate_input(df, sig) is df  # not strict: any integer dtype passes
    with pytest.raises(DataValidationError, match=(
        r"feature 'small' of method predict expects INT8 \(range -128\.\.127\) but the column 'small' has values "
        r"from 1 to 300 \(strict input validation\)"
    )):
        validate_input(df, sig, strict=True, function_name="predict")
    with pytest.raises(DataValidationError, match=r"UINT8 \(range 0\.\.255\).*values from -1 to 2"):
        validate_input(pd.DataFrame({"u": [-1, 2]}), _sig(FeatureSpec("u", DataType.UINT8)), strict=True)
    with pytest.raises(DataValidationError, match=r"expects FLOAT \(float32.*Scale the values"):
        validate_input(pd.DataFrame({"f": [1e300]}), _sig(FeatureSpec("f", DataType.FLOAT)), strict=True)
    fits = pd.DataFrame({"f": [1.0, np.inf, np.nan]})
    assert validate_input(fits, _sig(FeatureSpec("f", DataType.FLOAT)), strict=True) is fits
    with pytest.raises(DataValidationError, match=r"declared not nullable.*1 null values"):
        validate_input(pd.DataFrame({"x": [1.0, None]}), _sig(FeatureSpec("x", DataType.DOUBLE, nullable=False)),
                       strict=True)


def test_validate_array_and_struct_features():
    sig = _sig(FeatureSpec("v", DataType.DOUBLE, shape=(2,)), FeatureGroupSpec("g", [FeatureSpec("k", DataType.INT64)]))
    ok = pd.DataFrame({"v": [[1.0, 2.0], np.array([3.0, 4.0])], "g": [{"k": 1}, None]})
    assert validate_input(ok, sig) is ok
    with pytest.raises(DataValidationError, match=r"expects shape \(2,\) in every row but row 1 .* has shape \(3,\)"):
        validate_input(pd.DataFrame({"v": [[1.0, 2.0], [1.0, 2.0, 3.0]], "g": [{"k": 1}] * 2}), sig)
    with pytest.raises(DataValidationError, match=r"'v' .*is an array feature with shape \(2,\).*scalar values"):
        validate_input(pd.DataFrame({"v": [1.0, 2.0], "g": [{"k": 1}] * 2}), sig)
    with pytest.raises(DataValidationError, match=r"'x' is a scalar feature \(DOUBLE\) but the column 'x' holds lists"):
        validate_input(pd.DataFrame({"x": [[1.0], [2.0]]}), _sig(FeatureSpec("x", DataType.DOUBLE)))


def test_validate_non_pandas_inputs():
    sig = _sig(FeatureSpec("x", DataType.DOUBLE))
    out = validate_input([1.0, 2.0], sig)
    assert list(out.columns) == ["x"] and out["x"].tolist() == [1.0, 2.0]
    out = validate_input({"X": [1.0]}, sig)
    assert list(out.columns) == ["x"]
    with pytest.raises(DataValidationError, match="is not supported"):
        validate_input(object(), sig)


def test_validate_categorical_and_arrow_backed_columns():
    pa = pytest.importorskip("pyarrow", reason="pyarrow-backed dtypes need pyarrow")
    df = pd.DataFrame(
        {
            "cat": pd.Categorical(["a", "b", "a"]),
            "af": pd.array([1.0, None, 2.0], dtype=pd.ArrowDtype(pa.float64())),
            "ai": pd.array([1, 2, 3], dtype=pd.ArrowDtype(pa.int64())),
        }
    )
    sig = _sig(*infer_features(df))
    assert [s.dtype for s in sig.inputs] == [DataType.STRING, DataType.DOUBLE, DataType.INT64]
    out = validate_input(df, sig)
    assert out["af"].dtype == np.float64 and np.isnan(out["af"].iloc[1])
    assert out["ai"].dtype == np.int64
    with pytest.raises(DataValidationError, match=r"expects DOUBLE but the column 'cat' has dtype category"):
        validate_input(df[["cat"]], _sig(FeatureSpec("cat", DataType.DOUBLE)))


def test_validate_object_columns_of_numbers_are_converted():
    df = pd.DataFrame({"f": pd.Series([1.5, None], dtype=object), "i": pd.Series([1, 2], dtype=object)})
    out = validate_input(df, _sig(FeatureSpec("f", DataType.DOUBLE), FeatureSpec("i", DataType.INT64)))
    assert out["f"].dtype == np.float64 and np.isnan(out["f"].iloc[1])
    assert out["i"].dtype == np.int64
    with pytest.raises(DataValidationError, match=r"expects INT64 but the column 'i' holds integers beyond"):
        validate_input(pd.DataFrame({"i": pd.Series([1, 2**70], dtype=object)}), _sig(FeatureSpec("i", DataType.INT64)))


def test_validate_duplicate_matches_are_reported():
    with pytest.raises(DataValidationError, match=r"'AGE' matches more than one column \['age', 'Age'\]"):
        validate_input(pd.DataFrame({"age": [1], "Age": [2], "INCOME": [1.0]}), NUM_SIG)


# ---------------------------------------------------------------------------------------------- params


PARAM_SIG = _sig(
    FeatureSpec("x", DataType.DOUBLE),
    params=[
        ParamSpec("temperature", DataType.DOUBLE, 1.0),
        ParamSpec("top_k", DataType.INT16, 10),
        ParamSpec("greedy", DataType.BOOL, False),
        ParamSpec("stop", DataType.STRING, ["\n"], shape=(-1,)),
    ],
)


def test_validate_params_defaults_coercion_and_errors():
    assert validate_params(None, PARAM_SIG) == {"temperature": 1.0, "top_k": 10, "greedy": False, "stop": ["\n"]}
    got = validate_params({"TEMPERATURE": 0, "top_k": "5", "greedy": "true", "stop": ("a", "b")}, PARAM_SIG)
    assert got == {"temperature": 0.0, "top_k": 5, "greedy": True, "stop": ["a", "b"]}
    assert isinstance(got["temperature"], float)
    assert validate_params({"top_k": None}, PARAM_SIG)["top_k"] == 10  # NULL means default
    with pytest.raises(InvalidArgumentError, match=(
        r"Unknown param 'temp'.*declares the params \['temperature', 'top_k', 'greedy', 'stop'\]"
    )):
        validate_params({"temp": 0.5}, PARAM_SIG)
    with pytest.raises(InvalidArgumentError, match=r"Param 'top_k' expects INT16.*'many'.*not an integer"):
        validate_params({"top_k": "many"}, PARAM_SIG)
    with pytest.raises(InvalidArgumentError, match=r"Param 'top_k' expects INT16.*outside the INT16 range"):
        validate_params({"top_k": 10**6}, PARAM_SIG)
    with pytest.raises(InvalidArgumentError, match=r"Param 'stop' expects STRING with shape \(-1,\).*scalar"):
        validate_params({"stop": "x"}, PARAM_SIG)
    with pytest.raises(InvalidArgumentError, match=r"declares the params \[none\]"):
        validate_params({"a": 1}, NUM_SIG)


# ---------------------------------------------------------------------------------------------- format_output


OUT2 = ModelSignature(
    inputs=[FeatureSpec("x", DataType.DOUBLE)],
    outputs=[FeatureSpec("output_feature_0", DataType.DOUBLE), FeatureSpec("output_feature_1", DataType.DOUBLE)],
)
OUT1 = ModelSignature(inputs=[FeatureSpec("x", DataType.DOUBLE)], outputs=[FeatureSpec("PRED", DataType.INT64)])


def test_format_output_numpy_and_lists():
    arr = np.random.rand(5, 2)
    out = format_output(arr, OUT2, n_rows=5)
    assert list(out.columns) == ["output_feature_0", "output_feature_1"]
    assert np.shares_memory(out.to_numpy(), arr)  # zero-copy
    one = format_output(np.array([1, 0, 1]), OUT1, n_rows=3)
    assert list(one.columns) == ["PRED"] and one["PRED"].tolist() == [1, 0, 1]
    assert format_output([1, 0], OUT1)["PRED"].tolist() == [1, 0]
    assert format_output(pd.Series([1, 0], name="whatever"), OUT1).columns.tolist() == ["PRED"]
    tensor = ModelSignature(inputs=[FeatureSpec("x", DataType.DOUBLE)],
                            outputs=[FeatureSpec("emb", DataType.DOUBLE, shape=(3,))])
    emb = format_output(np.zeros((2, 3)), tensor, n_rows=2)
    assert list(emb.columns) == ["emb"] and emb["emb"].iloc[0].shape == (3,)


def test_format_output_dataframes():
    named = pd.DataFrame({"output_feature_0": [1.0], "output_feature_1": [2.0]})
    assert format_output(named, OUT2) is named
    swapped = pd.DataFrame({"OUTPUT_FEATURE_1": [2.0], "output_feature_0": [1.0], "extra": [0]})
    out = format_output(swapped, OUT2)
    assert list(out.columns) == ["output_feature_0", "output_feature_1"] and out.iloc[0].tolist() == [1.0, 2.0]
    positional = format_output(pd.DataFrame([[1.0, 2.0]]), OUT2)
    assert list(positional.columns) == ["output_feature_0", "output_feature_1"]


def test_format_output_mismatches_name_method_expected_and_found():
    with pytest.raises(SignatureError, match=(
        r"Method predict_proba returned 3 columns .* but its signature declares 2 outputs "
        r"\['output_feature_0', 'output_feature_1'\]"
    )):
        format_output(np.zeros((4, 3)), OUT2, function_name="predict_proba")
    with pytest.raises(SignatureError, match=r"returned 2 rows for 5 input rows.*TABLE_FUNCTION"):
        format_output(np.zeros(2), OUT1, n_rows=5)
    with pytest.raises(SignatureError, match="returned None"):
        format_output(None, OUT1)


def test_format_output_list_of_arrays_for_multi_output_models():
    out = format_output([np.zeros(4), np.ones(4)], OUT2, n_rows=4)
    assert out["output_feature_1"].tolist() == [1.0] * 4


# ---------------------------------------------------------------------------------------------- properties


_column_strategies = {
    "int": st.lists(st.integers(-(2**62), 2**62), min_size=1, max_size=30),
    "float": st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=30),
    "bool": st.lists(st.booleans(), min_size=1, max_size=30),
    "str": st.lists(st.one_of(st.text(max_size=8), st.none()), min_size=1, max_size=30),
}


@st.composite
def _frames(draw):
    kinds = draw(st.lists(st.sampled_from(sorted(_column_strategies)), min_size=1, max_size=5))
    n = draw(st.integers(1, 30))
    cols = {}
    for i, kind in enumerate(kinds):
        values = draw(_column_strategies[kind])
        values = (values * n)[:n]
        if kind == "str" and all(v is None for v in values):
            values[0] = "x"
        name = draw(st.sampled_from([f"c{i}", f"Col {i}", f"col_{i}"]))
        cols[name] = pd.Series(values, dtype=object if kind == "str" and draw(st.booleans()) else None)
    return pd.DataFrame(cols)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=_frames(), limit=st.sampled_from([5, 100]))
def test_property_infer_then_validate_same_data_passes_and_round_trips(df, limit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # truncation warnings are expected with limit=5
        sig = infer_signature(df, np.zeros(len(df)), input_data_limit=limit)
    assert [s.name for s in sig.inputs] == list(df.columns)
    assert validate_input(df, sig, strict=True) is df
    # Upper-cased names still match (Snowflake identifier folding).
    upper = df.set_axis([c.upper() for c in df.columns], axis=1)
    out = validate_input(upper, sig)
    assert list(out.columns) == list(df.columns)
    assert _roundtrip(sig) == sig
    assert _roundtrip(sig).to_dict() == sig.to_dict()


@settings(max_examples=100, deadline=None)
@given(
    dtype=st.sampled_from(list(DataType)),
    shape=st.one_of(st.none(), st.lists(st.one_of(st.just(-1), st.integers(1, 5)), min_size=1, max_size=3)),
    nullable=st.booleans(),
    name=st.text(min_size=1, max_size=10),
)
def test_property_feature_spec_round_trip(dtype, shape, nullable, name):
    spec = FeatureSpec(name, dtype, shape=tuple(shape) if shape else None, nullable=nullable)
    assert FeatureSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
