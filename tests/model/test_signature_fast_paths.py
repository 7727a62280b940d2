"""The fast paths of `validate_input` (a frame that already matches its signature) and `format_output` (one
1-D array for one output) give what the general paths give: the same frame, values and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mreg.errors import DataValidationError, SignatureError
from jupyter_mreg.model.model_signature import DataType, FeatureGroupSpec, FeatureSpec, ModelSignature
from jupyter_mreg.model.model_signature import format_output, validate_input
from jupyter_mreg.model.signatures.frames import to_frame
from jupyter_mreg.model.signatures.validate import _fits_as_is, _validate_frame

SIG = ModelSignature(
    inputs=[FeatureSpec("age", DataType.INT64), FeatureSpec("income", DataType.DOUBLE),
            FeatureSpec("tenure", DataType.FLOAT)],
    outputs=[FeatureSpec("output_feature_0", DataType.INT64)],
)
N = 4
AGE = np.array([30, 40, 50, 60], dtype=np.int64)
INCOME = np.array([1.0, 2.0, 3.0, 4.0])
TENURE = np.array([0.5, 1.5, 2.5, 3.5], dtype=np.float32)


def _frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


MATCHING = {
    "exact names, exact dtypes": _frame(age=AGE, income=INCOME, tenure=TENURE),
    "narrower numpy dtypes of the same family": _frame(age=AGE.astype(np.int8), income=AGE.astype(np.int32),
                                                       tenure=INCOME),
    "a named index": _frame(age=AGE, income=INCOME, tenure=TENURE).set_axis(list("abcd"), axis=0),
    "no rows": _frame(age=AGE[:0], income=INCOME[:0], tenure=TENURE[:0]),
    # Fits as is when lenient; strict validation reads the values (general path) and refuses them.
    "float32 out of range": _frame(age=AGE, income=INCOME, tenure=np.array([1e300] * N)),
}
OTHERS = {
    "extra columns": _frame(id=np.arange(N), age=AGE, income=INCOME, tenure=TENURE, city=list("wxyz")),
    "reordered columns": _frame(tenure=TENURE, age=AGE, income=INCOME),
    "names in another case": _frame(AGE=AGE, Income=INCOME, TENURE=TENURE),
    "float into an int feature": _frame(age=AGE + 0.5, income=INCOME, tenure=TENURE),
    "strings into a float feature": _frame(age=AGE, income=[str(v) for v in INCOME], tenure=TENURE),
    "nullable Int64 with a null": _frame(age=pd.array([30, None, 50, 60], dtype="Int64"), income=INCOME,
                                         tenure=TENURE),
    "object column of ints": _frame(age=pd.Series(list(AGE), dtype=object), income=INCOME, tenure=TENURE),
    "bool into an int feature": _frame(age=AGE > 40, income=INCOME, tenure=TENURE),
    "a missing column": _frame(age=AGE, income=INCOME),
    "two columns match one feature": _frame(age=AGE, AGE=AGE, income=INCOME, tenure=TENURE),
    "integer labels (positional)": _frame(age=AGE, income=INCOME, tenure=TENURE).set_axis([0, 1, 2], axis=1),
    "too many positional columns": pd.DataFrame(np.zeros((N, 4))),
}
CASES = {**MATCHING, **OTHERS}


def _general(data, strict: bool) -> pd.DataFrame:
    """validate_input without its fast path."""
    df, named = to_frame(data, "input_feature", DataValidationError)
    return _validate_frame(df, named, SIG, strict, "predict")


def _outcome(call):
    try:
        return "ok", call()
    except DataValidationError as exc:
        return "error", str(exc)


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
@pytest.mark.parametrize("name", list(CASES))
def test_validate_input_gives_what_the_general_path_gives(name, strict):
    data = CASES[name]
    fast_kind, fast = _outcome(lambda: validate_input(data, SIG, strict=strict, function_name="predict"))
    general_kind, general = _outcome(lambda: _general(data, strict))
    assert fast_kind == general_kind
    if fast_kind == "error":
        assert fast == general  # the same message, word for word
        return
    pd.testing.assert_frame_equal(fast, general)
    assert (fast is data) == (general is data)  # handed back untouched by both, or by neither


@pytest.mark.parametrize("name", list(MATCHING))
def test_a_matching_frame_takes_the_fast_path_and_comes_back_as_is(name):
    df = MATCHING[name]
    assert _fits_as_is(df, SIG.inputs)
    assert validate_input(df, SIG) is df


@pytest.mark.parametrize("name", list(OTHERS))
def test_any_other_frame_is_left_to_the_general_path(name):
    assert not _fits_as_is(OTHERS[name], SIG.inputs)


def test_the_general_path_keeps_its_errors():
    with pytest.raises(DataValidationError, match=(
            r"feature 'age' of method predict expects INT64 but the column 'age' has dtype float64")):
        validate_input(OTHERS["float into an int feature"], SIG, function_name="predict")
    with pytest.raises(DataValidationError, match=r"feature 'tenure' of method predict does not exist"):
        validate_input(OTHERS["a missing column"], SIG, function_name="predict")
    with pytest.raises(DataValidationError, match=r"expects FLOAT \(float32, range"):
        validate_input(MATCHING["float32 out of range"], SIG, strict=True, function_name="predict")
    out = validate_input(OTHERS["extra columns"], SIG)
    assert list(out.columns) == ["age", "income", "tenure"] and out["age"].tolist() == AGE.tolist()


def test_array_and_struct_features_are_never_fast():
    sig = ModelSignature(inputs=[FeatureSpec("v", DataType.DOUBLE, shape=(2,)),
                                 FeatureGroupSpec("g", [FeatureSpec("k", DataType.INT64)])],
                         outputs=[FeatureSpec("y", DataType.DOUBLE)])
    rows = pd.DataFrame({"v": [[1.0, 2.0], [3.0, 4.0, 5.0]], "g": [{"k": 1}, {"k": 2}]})
    assert not _fits_as_is(rows, sig.inputs)
    with pytest.raises(DataValidationError, match=r"expects shape \(2,\) in every row but row 1"):
        validate_input(rows, sig)


# ------------------------------------------------------------------------------------------- format_output

OUT1 = ModelSignature(inputs=SIG.inputs, outputs=[FeatureSpec("PRED", DataType.INT64)])
OUT2 = ModelSignature(inputs=SIG.inputs, outputs=[FeatureSpec("a", DataType.DOUBLE), FeatureSpec("b", DataType.DOUBLE)])


@pytest.mark.parametrize("values", [np.array([1, 0, 1]), np.array([0.25, 0.5, 1.0]), np.array([True, False, True]),
                                    np.array([3, 2, 1], dtype=np.uint8), np.array(["x", "y", "z"]),
                                    np.array([1, None, "z"], dtype=object)],
                         ids=["int", "float", "bool", "uint8", "str (general path)", "object (general path)"])
def test_one_array_for_one_output_is_the_general_paths_frame(values):
    fast = format_output(values, OUT1, n_rows=3)
    # The same values through the general path: a 2-D array of one column is numbered, then renamed.
    general = format_output(values.reshape(-1, 1), OUT1, n_rows=3)
    pd.testing.assert_frame_equal(fast, general)
    assert list(fast.columns) == ["PRED"] and isinstance(fast.index, pd.RangeIndex)
    if values.dtype.kind in "biuf":  # numbers are handed on without a copy
        assert np.shares_memory(fast["PRED"].to_numpy(), values)


def test_output_frames_do_not_share_their_labels():
    first = format_output(np.array([1, 0]), OUT1, n_rows=2)
    first.columns.name = "mine"  # Index names are mutable: a shared Index would leak this
    second = format_output(np.array([0, 1]), OUT1, n_rows=2)
    assert second.columns.name is None and list(second.columns) == ["PRED"]


def test_one_array_keeps_the_general_paths_errors():
    with pytest.raises(SignatureError, match=r"returned 2 rows for 5 input rows.*TABLE_FUNCTION"):
        format_output(np.zeros(2), OUT1, n_rows=5)
    # Two outputs declared, one column returned: not the fast path, and the same width error as before.
    with pytest.raises(SignatureError, match=r"returned 1 columns .* but its signature declares 2 outputs"):
        format_output(np.zeros(3), OUT2, n_rows=3)
    # A structured array's fields are named columns: the general path picks them by name.
    rec = np.array([(1.0, 2.0)], dtype=[("b", "f8"), ("a", "f8")])
    assert format_output(rec, OUT2, n_rows=1).iloc[0].tolist() == [2.0, 1.0]
