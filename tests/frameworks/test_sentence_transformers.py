"""The sentence_transformers handler: a tiny SentenceTransformer logged without a sample, encoded in a fresh
process with the original's embeddings, loaded back; params, load options, devices, environment."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach a hub; the subprocesses inherit it
sentence_transformers = pytest.importorskip(
    "sentence_transformers",
    reason="the sentence_transformers extra is not installed: pip install jupyter_mreg[sentence_transformers]")

from jupyter_mreg.errors import EnvironmentMismatchError, InvalidArgumentError, SignatureError  # noqa: E402
from jupyter_mreg.model.handlers import find_handler, get_handler  # noqa: E402
from jupyter_mreg.model.handlers.sentence_transformers import Handler  # noqa: E402
from jupyter_mreg.model.model_signature import DataType  # noqa: E402
from tests.frameworks import tiny_transformers as tt  # noqa: E402
from tests.frameworks.fresh import run_fresh  # noqa: E402

S = tt.SENTENCES


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return tt.sentence_transformer(tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    session = Session.builder.configs({"home": str(tmp_path_factory.mktemp("st") / "registry")}).create()
    yield Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    session.close()


@pytest.fixture(scope="module")
def mv(model, registry):
    return registry.log_model(model, model_name="embedder", version_name="v1",
                              options={"target_methods": ["encode", "encode_query"]})


def embeddings(frame: pd.DataFrame) -> np.ndarray:
    return np.stack(frame["output"].to_list())


def test_sentence_transformers_are_handled_before_torch(model):
    import torch

    assert find_handler(model) is Handler
    assert get_handler("sentence_transformers") is Handler
    assert not Handler.can_handle(torch.nn.Linear(2, 2))
    assert not Handler.can_handle(model[0])  # a module of it, not the SentenceTransformer
    assert not Handler.can_handle(object())


def test_signature_needs_no_sample(mv):
    functions = {f["name"]: f["signature"] for f in mv.show_functions()}
    assert list(functions) == ["ENCODE", "ENCODE_QUERY"]
    sig = functions["ENCODE"]
    assert [(f.name, f.dtype, f.shape) for f in sig.inputs] == [("sentence", DataType.STRING, None)]
    assert [(f.name, f.dtype, f.shape) for f in sig.outputs] == [("output", DataType.DOUBLE, (-1,))]
    assert {p.name: p.default_value for p in sig.params} == {
        "batch_size": 32, "truncate_dim": None, "normalize_embeddings": False, "prompt_name": None}


def test_fresh_process_encodes_like_the_original(model, mv, tmp_path):
    X = pd.DataFrame({"sentence": S})
    got = run_fresh(mv, X, tmp_path)
    np.testing.assert_allclose(embeddings(got["outputs"]["ENCODE"]), model.encode(S), atol=1e-6)
    np.testing.assert_allclose(embeddings(got["outputs"]["ENCODE_QUERY"]), model.encode_query(S), atol=1e-6)
    assert got["type"] == "sentence_transformers.sentence_transformer.model.SentenceTransformer"
    assert got["functions"] == ["ENCODE", "ENCODE_QUERY"]


def test_load_returns_a_sentence_transformer(model, mv):
    loaded = mv.load()
    assert type(loaded) is type(model)
    assert loaded.device.type == "cpu"
    np.testing.assert_allclose(loaded.encode(S), model.encode(S), atol=1e-6)


def test_unnamed_input_is_accepted_and_the_result_has_a_fresh_index(model, mv):
    out = mv.run(pd.Series(S, index=[5, 6, 7, 8]), function_name="encode")
    assert list(out.index) == [0, 1, 2, 3]  # as Snowflake's run: rows in input order, index 0..n-1
    np.testing.assert_allclose(embeddings(out), model.encode(S), atol=1e-6)


def test_params_reach_encode(model, mv):
    X = pd.DataFrame({"sentence": S})
    short = mv.run(X, function_name="encode", params={"truncate_dim": 8})
    assert embeddings(short).shape == (4, 8)
    np.testing.assert_allclose(embeddings(short), model.encode(S, truncate_dim=8), atol=1e-6)
    unit = mv.run(X, function_name="encode", params={"normalize_embeddings": True, "batch_size": 1})
    np.testing.assert_allclose(np.linalg.norm(embeddings(unit), axis=1), 1.0, atol=1e-6)


def test_load_options_truncate_dim_and_devices(mv):
    import torch

    loaded = mv.load(options={"truncate_dim": 16})
    assert loaded.truncate_dim == 16 and loaded.encode(S[:1]).shape == (1, 16)
    with pytest.raises(InvalidArgumentError, match="truncate_dim"):
        mv.load(options={"truncate_dim": 0})
    if torch.cuda.is_available():
        return
    with pytest.raises(EnvironmentMismatchError, match="force=True"):
        mv.load(options={"device": "cuda"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fallback = mv.load(options={"device": "cuda"}, force=True)
    assert fallback.device.type == "cpu" and any("CPU" in str(w.message) for w in caught)


def test_batch_size_option_and_method_checks(model, reg):
    mv = reg.log_model(model, model_name="small_batches", options={"batch_size": 2})
    assert {p.name: p.default_value for p in mv.show_functions()[0]["signature"].params}["batch_size"] == 2
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        reg.log_model(model, model_name="bad_batches", options={"batch_size": 0})
    with pytest.raises(SignatureError, match="encode"):
        reg.log_model(model, model_name="bad_method", options={"target_methods": ["forward"]})


def test_environment_lists_the_libraries(model, mv):
    assert Handler.modules(model)[:4] == ["sentence_transformers", "transformers", "tokenizers", "torch"]
    built = mv.manifest.environment["built_with"]
    assert {"sentence-transformers", "transformers", "tokenizers", "torch"} <= set(built)
    assert built["sentence-transformers"] == sentence_transformers.__version__
