"""The huggingface handler: pipelines of every supported task logged without a sample (the task gives the
signature), run in a fresh process with the same answers as the original pipeline, loaded back as the same
pipeline class and task; params, devices, errors; and, in a transformers 4 venv, the tasks transformers 5
removed (summarization, translation, question-answering)."""

from __future__ import annotations

import inspect
import json
import os
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach a hub; the subprocesses inherit it
transformers = pytest.importorskip(
    "transformers", reason="the huggingface extra is not installed: pip install jupyter_mreg[huggingface]")
pytest.importorskip("torch", reason="the huggingface extra is not installed: pip install jupyter_mreg[huggingface]")

import jupyter_mreg  # noqa: E402
from jupyter_mreg.errors import EnvironmentMismatchError, SignatureError  # noqa: E402
from jupyter_mreg.model.handlers import find_handler, get_handler  # noqa: E402
from jupyter_mreg.model.handlers.huggingface import Handler  # noqa: E402
from jupyter_mreg.model.model_signature import DataType, FeatureSpec, ModelSignature  # noqa: E402
from tests.frameworks import tiny_transformers as tt  # noqa: E402

REPO = Path(jupyter_mreg.__file__).resolve().parent.parent
S = tt.SENTENCES
MASKED = ["the movie was [MASK]", "i [MASK] this food", "what a [MASK] day", "bob and [MASK] love london"]
LABELS = [["happy", "sad"], ["happy", "sad"], ["city", "food", "day"], ["love"]]
TRANSFORMERS5 = int(transformers.__version__.split(".")[0]) >= 5
T4_ENV = "MREG_TEST_TRANSFORMERS4_PYTHON"


def plain(v):
    """numpy scalars / arrays as plain Python, so outputs compare (and cross venvs) as lists and dicts."""
    import numpy as np

    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


PLAIN = inspect.getsource(plain)  # the scripts run in other interpreters define it too

# One fresh process runs every version of a job (one interpreter start instead of one per pipeline).
FRESH = PLAIN + textwrap.dedent("""
    import pickle, sys
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    with open(sys.argv[1], "rb") as f:
        job = pickle.load(f)
    reg = Registry(session=Session.builder.configs({"home": job["home"]}).create(),
                   database_name="MYDB", schema_name="ML", create=True)
    out = {}
    for name, X in job["runs"].items():
        mv = reg.get_model(name).version("V1")
        df = mv.run(X)
        obj = mv.load()
        out[name] = {"output": {c: plain(df[c].tolist()) for c in df.columns},
                     "type": type(obj).__module__ + "." + type(obj).__qualname__,
                     "task": obj.task, "functions": [f["name"] for f in mv.show_functions()]}
    with open(sys.argv[2], "wb") as f:
        pickle.dump(out, f)
""")


def run_fresh_many(python: str, home: str, runs: dict, tmp: Path) -> dict:
    """`{model name: {"output": {column: values}, "type", "task", "functions"}}` from a new process of `python`,
    started in another folder so nothing of the test's is importable there."""
    job, out = tmp / "fresh_job.pkl", tmp / "fresh_out.pkl"
    with open(job, "wb") as f:
        pickle.dump({"home": home, "runs": runs}, f)
    workdir = tmp / "elsewhere"
    workdir.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([python, "-c", FRESH, str(job), str(out)], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"fresh process failed:\n{done.stderr[-4000:]}"
    with open(out, "rb") as f:
        return pickle.load(f)


def assert_same(got, want, path="output"):
    """Equal structure and values; floats to 1e-6 (the same weights on the same CPU)."""
    if isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-6, abs=1e-6), path
    elif isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), f"{path}: keys {got!r} != {want!r}"
        for k in want:
            assert_same(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: {got!r:.200} != {want!r:.200}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{path}[{i}]")
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


def columns(**cols) -> dict:
    return {k: plain(v) for k, v in cols.items()}


def records(rows: list[dict], *names: str) -> dict:
    """One column per name from a list of dicts (one dict per input)."""
    return {n: plain([r[n] for r in rows]) for n in names}


# name: (builder, input frame, the outputs by calling the original pipeline directly, Snowflake's inputs → outputs)
CASES = {
    "text_classification": (
        tt.text_classification, pd.DataFrame({"text": S}),
        lambda p: records(p(S), "label", "score"),
        (["text"], ["label", "score"])),
    "text_classification_top_k": (
        lambda: tt.text_classification(top_k=2), pd.DataFrame({"text": S}),
        lambda p: columns(labels=p(S)), (["text"], ["labels"])),
    "token_classification": (
        tt.token_classification, pd.DataFrame({"inputs": S}),
        lambda p: columns(outputs=p(S)), (["inputs"], ["outputs"])),
    "ner_grouped": (
        lambda: tt.token_classification(aggregation_strategy="simple"), pd.DataFrame({"inputs": S}),
        lambda p: columns(outputs=p(S)), (["inputs"], ["outputs"])),
    "fill_mask": (
        lambda: tt.fill_mask(top_k=3), pd.DataFrame({"inputs": MASKED}),
        lambda p: columns(outputs=p(MASKED)), (["inputs"], ["outputs"])),
    "feature_extraction": (
        tt.feature_extraction, pd.DataFrame({"inputs": S}),
        lambda p: columns(outputs=[r[0] for r in p(S)]), (["inputs"], ["outputs"])),
    "zero_shot": (
        tt.zero_shot, pd.DataFrame({"sequences": S, "candidate_labels": LABELS}),
        lambda p: records([p(s, candidate_labels=c) for s, c in zip(S, LABELS)], "sequence", "labels", "scores"),
        (["sequences", "candidate_labels"], ["sequence", "labels", "scores"])),
    "text_generation": (
        tt.text_generation, pd.DataFrame({"inputs": S}),
        lambda p: columns(outputs=p(S)), (["inputs"], ["outputs"])),
}


@pytest.fixture(scope="module")
def pipes():
    return {name: case[0]() for name, case in CASES.items()}


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    home = tmp_path_factory.mktemp("hf") / "registry"
    session = Session.builder.configs({"home": str(home)}).create()
    yield Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    session.close()


@pytest.fixture(scope="module")
def logged(pipes, registry):
    """Every case logged without sample_input_data."""
    return {name: registry.log_model(pipes[name], model_name=name, version_name="v1") for name in CASES}


@pytest.fixture(scope="module")
def fresh(logged, registry, tmp_path_factory):
    runs = {name: CASES[name][1] for name in CASES}
    return run_fresh_many(sys.executable, str(registry.session.home), runs, tmp_path_factory.mktemp("fresh"))


# ------------------------------------------------------------------------------------------ what is accepted


def test_pipelines_are_handled_and_other_objects_are_not(pipes):
    for pipe in pipes.values():
        assert find_handler(pipe) is Handler
    assert get_handler("huggingface") is Handler
    assert not Handler.can_handle(pipes["fill_mask"].model)  # the bare model is a torch module, not a pipeline
    assert not Handler.can_handle(pipes["fill_mask"].tokenizer)
    assert not Handler.can_handle(transformers.TextClassificationPipeline)  # the class
    assert not Handler.can_handle(object())


# ------------------------------------------------------------------------------------------ signatures


@pytest.mark.parametrize("name", list(CASES))
def test_signature_comes_from_the_task(logged, name):
    (fn,) = logged[name].show_functions()
    assert fn["name"] == "__CALL__" and fn["target_method"] == "__call__"
    sig = fn["signature"]
    inputs, outputs = CASES[name][3]
    assert [f.name for f in sig.inputs] == inputs
    assert [f.name for f in sig.outputs] == outputs
    assert logged[name].get_model_task().value == "UNKNOWN"


def test_signature_types_mirror_snowflake(logged):
    def sig(name):
        return logged[name].show_functions()[0]["signature"]

    tc = sig("text_classification")
    assert [(f.dtype, f.shape) for f in tc.inputs + tc.outputs] == [
        (DataType.STRING, None), (DataType.STRING, None), (DataType.DOUBLE, None)]
    labels = sig("text_classification_top_k").outputs[0]
    assert labels.shape == (-1,) and [s.name for s in labels.specs] == ["label", "score"]
    ner = sig("token_classification").outputs[0]
    assert [(s.name, s.dtype) for s in ner.specs] == [
        ("word", DataType.STRING), ("score", DataType.DOUBLE), ("entity", DataType.STRING),
        ("index", DataType.INT64), ("start", DataType.INT64), ("end", DataType.INT64)]
    grouped = sig("ner_grouped").outputs[0]
    assert [s.name for s in grouped.specs] == ["entity_group", "score", "word", "start", "end"]
    fm = sig("fill_mask").outputs[0]
    assert [(s.name, s.dtype) for s in fm.specs] == [
        ("sequence", DataType.STRING), ("score", DataType.DOUBLE), ("token", DataType.INT64),
        ("token_str", DataType.STRING)]
    assert sig("feature_extraction").outputs[0].shape == (-1, -1)
    zs = sig("zero_shot")
    assert [(f.name, f.dtype, f.shape) for f in zs.inputs + zs.outputs] == [
        ("sequences", DataType.STRING, None), ("candidate_labels", DataType.STRING, (-1,)),
        ("sequence", DataType.STRING, None), ("labels", DataType.STRING, (-1,)), ("scores", DataType.DOUBLE, (-1,))]
    tg = sig("text_generation")
    assert [s.name for s in tg.outputs[0].specs] == ["generated_text"] and tg.outputs[0].shape == (-1,)
    assert {"max_new_tokens", "do_sample", "temperature", "top_p", "return_full_text"} <= {p.name for p in tg.params}
    assert {p.name: p.default_value for p in sig("fill_mask").params} == {"top_k": 3}
    assert {p.name for p in tc.params} == {"function_to_apply"}


def test_a_sample_is_optional_and_does_not_change_the_signature(pipes, reg):
    mv = reg.log_model(pipes["text_classification"], model_name="with_sample",
                       sample_input_data=pd.DataFrame({"review": ["a", "b"]}))
    assert [f.name for f in mv.show_functions()[0]["signature"].inputs] == ["text"]


# ------------------------------------------------------------------------------------------ round trip


@pytest.mark.parametrize("name", list(CASES))
def test_fresh_process_gives_the_original_pipelines_answers(pipes, fresh, name):
    pipe = pipes[name]
    got = fresh[name]
    assert_same(got["output"], CASES[name][2](pipe))
    assert got["type"] == f"{type(pipe).__module__}.{type(pipe).__qualname__}"
    assert got["task"] == pipe.task
    assert got["functions"] == ["__CALL__"]


def test_run_in_process_keeps_row_order_on_a_fresh_index(pipes, logged):
    X = pd.DataFrame({"text": S}, index=[10, 11, 12, 13])
    out = logged["text_classification"].run(X)
    assert list(out.index) == [0, 1, 2, 3]  # as Snowflake's run: rows in input order, index 0..n-1
    assert_same(plain(out["label"].tolist()), [r["label"] for r in pipes["text_classification"](S)])
    one = logged["fill_mask"].run(pd.DataFrame({"inputs": MASKED[:1]}))  # one input: pipelines drop a list level
    assert_same(plain(one["outputs"].tolist()), [plain(pipes["fill_mask"](MASKED[0]))])


def test_load_gives_the_same_pipeline_with_its_arguments(pipes, logged):
    for name in ("text_classification_top_k", "ner_grouped", "text_generation"):
        pipe, loaded = pipes[name], logged[name].load()
        assert type(loaded) is type(pipe) and loaded.task == pipe.task
        assert type(loaded.model) is type(pipe.model) and loaded.device.type == "cpu"
        assert loaded._postprocess_params == pipe._postprocess_params
    assert_same(plain(logged["text_generation"].load()(S[:2])), plain(pipes["text_generation"](S[:2])))


def test_a_pipeline_built_by_its_constructor_has_its_class_task(pipes, reg):
    base = pipes["text_classification"]
    pipe = transformers.TextClassificationPipeline(model=base.model, tokenizer=base.tokenizer, device="cpu")
    assert not pipe.task
    mv = reg.log_model(pipe, model_name="constructed")
    assert [f.name for f in mv.show_functions()[0]["signature"].outputs] == ["label", "score"]
    loaded = mv.load()
    assert type(loaded) is transformers.TextClassificationPipeline and loaded.task == pipe.task
    assert_same(plain(mv.run(pd.DataFrame({"text": S}))["label"].tolist()), [r["label"] for r in base(S)])


# ------------------------------------------------------------------------------------------ params


def test_params_are_passed_to_the_pipeline(pipes, logged):
    gen = pipes["text_generation"]
    out = logged["text_generation"].run(pd.DataFrame({"inputs": S[:2]}),
                                        params={"max_new_tokens": 2, "min_new_tokens": 2})
    assert_same(plain(out["outputs"].tolist()), plain(gen(S[:2], max_new_tokens=2, min_new_tokens=2)))
    assert out["outputs"][0][0]["generated_text"] != gen(S[:1])[0][0]["generated_text"]

    fm = logged["fill_mask"].run(pd.DataFrame({"inputs": MASKED}), params={"top_k": 2})
    assert [len(r) for r in fm["outputs"]] == [2, 2, 2, 2]

    tc = logged["text_classification"].run(pd.DataFrame({"text": S}), params={"function_to_apply": "none"})
    raw = pipes["text_classification"](S, function_to_apply="none")
    assert_same(plain(tc["score"].tolist()), [r["score"] for r in raw])
    assert tc["score"].max() != pytest.approx(pipes["text_classification"](S)[0]["score"])  # logits, not softmax

    top1 = logged["text_classification_top_k"].run(pd.DataFrame({"text": S}), params={"top_k": 1})
    assert [len(r) for r in top1["labels"]] == [1, 1, 1, 1]


def test_text_pairs_with_a_signature_that_declares_them(pipes, reg):
    pipe = pipes["text_classification"]
    sig = ModelSignature(inputs=[FeatureSpec("text", DataType.STRING), FeatureSpec("text_pair", DataType.STRING)],
                         outputs=[FeatureSpec("label", DataType.STRING), FeatureSpec("score", DataType.DOUBLE)])
    mv = reg.log_model(pipe, model_name="pairs", signatures={"__call__": sig})
    out = mv.run(pd.DataFrame({"text": S[:2], "text_pair": S[2:]}))
    want = pipe([{"text": a, "text_pair": b} for a, b in zip(S[:2], S[2:])])
    assert_same(plain(out["score"].tolist()), [r["score"] for r in want])
    assert out["score"][0] != pytest.approx(pipe(S[0])[0]["score"], rel=1e-9)  # the pair changed the answer


# ------------------------------------------------------------------------------------------ errors


def test_an_unknown_task_asks_for_signatures(reg):
    pipe = tt.text_classification()
    pipe.task = "my-review-scorer"
    with pytest.raises(SignatureError) as err:
        reg.log_model(pipe, model_name="unknown_task")
    msg = str(err.value)
    assert "my-review-scorer" in msg and "text-classification" in msg and "signatures=" in msg

    sig = ModelSignature(inputs=[FeatureSpec("review", DataType.STRING)],
                         outputs=[FeatureSpec("label", DataType.STRING), FeatureSpec("score", DataType.DOUBLE)])
    mv = reg.log_model(pipe, model_name="unknown_task", signatures={"__call__": sig})
    out = mv.run(pd.DataFrame({"review": S}))
    assert_same(plain(out["label"].tolist()), [r["label"] for r in pipe(S)])
    loaded = mv.load()
    assert loaded.task == "my-review-scorer" and type(loaded) is type(pipe)


def test_only_the_call_method_can_be_logged(pipes, reg):
    with pytest.raises(SignatureError, match="__call__"):
        reg.log_model(pipes["fill_mask"], model_name="predict", options={"target_methods": ["predict"]})


def test_removed_tasks_are_refused_by_transformers5(tmp_path):
    if not TRANSFORMERS5:
        pytest.skip("only transformers 5 removed the summarization pipeline; under transformers 4 it loads "
                    "(tested by test_transformers4_summarization_translation_question_answering)")
    with pytest.raises(EnvironmentMismatchError, match=r"transformers<5"):
        Handler.load(tmp_path, {"canonical_task": "summarization", "transformers_version": "4.57.6"},
                     {"device": "cpu"})


# ------------------------------------------------------------------------------------------ devices, environment


def test_cuda_is_refused_without_a_gpu_and_force_falls_back(logged):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this checks the refusal on a machine without a GPU; here torch sees one, so cuda loads")
    mv = logged["fill_mask"]
    with pytest.raises(EnvironmentMismatchError, match="force=True"):
        mv.load(options={"device": "cuda"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipe = mv.load(options={"device": "cuda"}, force=True)
    assert pipe.device.type == "cpu" and any("CPU" in str(w.message) for w in caught)
    assert Handler.gpu_available() is False


def test_device_map_is_a_load_option(logged):
    import importlib.util

    mv = logged["text_classification"]
    if importlib.util.find_spec("accelerate") is None:
        with pytest.raises(EnvironmentMismatchError, match="accelerate"):
            mv.load(options={"device_map": "cpu"})
    else:
        pipe = mv.load(options={"device_map": "cpu"})
        assert pipe.model.hf_device_map


def test_environment_lists_transformers_torch_tokenizers(pipes, logged):
    assert Handler.modules(pipes["text_generation"])[:3] == ["transformers", "tokenizers", "torch"]
    built = logged["text_generation"].manifest.environment["built_with"]
    assert {"transformers", "torch", "tokenizers"} <= set(built)
    assert built["transformers"] == transformers.__version__


# ------------------------------------------------------------------------------------------ transformers 4

# Runs in the transformers 4 venv: builds the pipelines, logs them, and writes what the originals answer.
LOG4 = PLAIN + textwrap.dedent("""
    import json, pickle, sys
    import pandas as pd
    sys.path.insert(0, sys.argv[1])
    from tests.frameworks import tiny_transformers as tt
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    S = tt.SENTENCES
    Q = ["who loves london", "what was good", "where is the food", "what a day"]
    reg = Registry(session=Session.builder.configs({"home": sys.argv[2]}).create(),
                   database_name="MYDB", schema_name="ML", create=True)
    cases = {
        "summarization_bart": (tt.summarization(arch="bart"), pd.DataFrame({"documents": S}),
                               lambda p: {"summary_text": [r["summary_text"] for r in p(S)]}),
        "summarization_t5": (tt.summarization(arch="t5"), pd.DataFrame({"documents": S}),
                             lambda p: {"summary_text": [r["summary_text"] for r in p(S)]}),
        "translation": (tt.translation(), pd.DataFrame({"inputs": S}),
                        lambda p: {"translation_text": [r["translation_text"] for r in p(S)]}),
        "question_answering": (tt.question_answering(), pd.DataFrame({"question": Q, "context": S}),
                               lambda p: {k: [r[k] for r in p(question=Q, context=S)]
                                          for k in ("score", "start", "end", "answer")}),
        "question_answering_top_k": (tt.question_answering(top_k=2), pd.DataFrame({"question": Q, "context": S}),
                                     lambda p: {"answers": p(question=Q, context=S)}),
    }
    expected = {}
    for name, (pipe, X, answer) in cases.items():
        mv = reg.log_model(pipe, model_name=name, version_name="v1")
        sig = mv.show_functions()[0]["signature"]
        expected[name] = {"output": plain(answer(pipe)), "task": pipe.task,
                          "type": type(pipe).__module__ + "." + type(pipe).__qualname__,
                          "inputs": [f.name for f in sig.inputs], "outputs": [f.name for f in sig.outputs],
                          "params": [p.name for p in sig.params]}
    with open(sys.argv[3], "w") as f:
        json.dump({"expected": expected, "transformers": __import__("transformers").__version__}, f)
    with open(sys.argv[4], "wb") as f:
        pickle.dump({name: case[1] for name, case in cases.items()}, f)
""")


def test_transformers4_summarization_translation_question_answering(tmp_path):
    python = os.environ.get(T4_ENV)
    if not python:
        pytest.skip(f"set {T4_ENV} to the python of the venv that scripts/transformers4_venv.sh creates "
                    "(transformers 4.57, which still has the summarization, translation and question-answering "
                    "pipelines): bash scripts/transformers4_venv.sh")
    home = str(tmp_path / "registry")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([python, "-c", LOG4, str(REPO), home, str(tmp_path / "expected.json"),
                           str(tmp_path / "inputs.pkl")], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"logging in {python} failed:\n{done.stderr[-4000:]}"
    logged = json.loads((tmp_path / "expected.json").read_text())
    assert logged["transformers"].startswith("4.")
    expected = logged["expected"]
    assert expected["summarization_bart"]["inputs"] == ["documents"]
    assert expected["summarization_bart"]["outputs"] == ["summary_text"]
    assert "max_new_tokens" in expected["summarization_bart"]["params"]
    assert (expected["translation"]["inputs"], expected["translation"]["outputs"]) == (["inputs"], ["translation_text"])
    assert expected["question_answering"]["inputs"] == ["question", "context"]
    assert expected["question_answering"]["outputs"] == ["score", "start", "end", "answer"]
    assert expected["question_answering_top_k"]["outputs"] == ["answers"]

    # The inputs stay a pickle of that venv's pandas; this process only passes the file on.
    runs_file = tmp_path / "inputs.pkl"
    job = {"home": home, "runs": None}
    fresh_dir = tmp_path / "fresh"
    fresh_dir.mkdir()
    script = FRESH.replace('pickle.load(f)\n', 'pickle.load(f)\nwith open(job["runs_file"], "rb") as f:\n'
                           '    job["runs"] = pickle.load(f)\n', 1)
    with open(fresh_dir / "job.pkl", "wb") as f:
        pickle.dump({**job, "runs_file": str(runs_file)}, f)
    done = subprocess.run([python, "-c", script, str(fresh_dir / "job.pkl"), str(fresh_dir / "out.pkl")],
                          cwd=fresh_dir, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"fresh process of {python} failed:\n{done.stderr[-4000:]}"
    with open(fresh_dir / "out.pkl", "rb") as f:
        fresh = pickle.load(f)
    for name, want in expected.items():
        assert_same(fresh[name]["output"], want["output"], name)
        assert fresh[name]["type"] == want["type"] and fresh[name]["task"] == want["task"], name
    assert fresh["translation"]["task"] == "translation_en_to_fr"
    assert all(t.strip() for t in fresh["summarization_t5"]["output"]["summary_text"])
