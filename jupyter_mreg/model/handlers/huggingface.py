"""Hugging Face `transformers.Pipeline` objects (`model_type` "huggingface"), stored with `save_pretrained`.

The one method is `__call__`; its signature comes from the pipeline's task, as in Snowflake's
`huggingface_pipeline` handler, so no sample is needed (a sample, if given, is not used): text-classification,
token-classification (ner), fill-mask, feature-extraction, zero-shot-classification, text-generation, and, with
transformers 4 (5 removed them), summarization, translation, text2text-generation and question-answering.
Another task needs `signatures=`. Call options (top_k, max_new_tokens, ...) are the signature's params.

A text-generation pipeline whose tokenizer has a chat template is a chat model, as in Snowflake: its signature
is `openai_signatures.OPENAI_CHAT_WITH_PARAMS_SIGNATURE` (a `messages` column in, one OpenAI chat completion
per row out, see `handlers.hf_chat`); one without a template takes text (`inputs`), unless logged with one of
the chat signatures (its prompt is then the messages as `role: content` lines).

Stored as `save_pretrained` writes it (config, safetensors weights, tokenizer files) under `pipeline/`, plus
`pipeline_state.pkl`: the arguments the pipeline was built with (`top_k=`, `aggregation_strategy=`, generation
settings, batch size), which decide what it returns and are not in the model files. Loading rebuilds the model
and tokenizer classes from those files and calls `transformers.pipeline(task, ..., device=)`, so it runs on the
device asked for; `device_map` (accelerate) is a load option too.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

from jupyter_mreg.errors import EnvironmentMismatchError, InferenceError, SignatureError
from jupyter_mreg.model import openai_signatures
from jupyter_mreg.model.handlers import hf_chat, pytorch
from jupyter_mreg.model.handlers.base import ModelHandler
from jupyter_mreg.model.signatures.specs import FeatureGroupSpec, FeatureSpec, ModelSignature, ParamSpec
from jupyter_mreg.model.signatures.types import DataType

_DIR = "pipeline"
_STATE_FILE = "pipeline_state.pkl"
_METHOD = "__call__"
# Pipeline attributes set from the constructor's keyword arguments: what `pipeline(task, top_k=3, ...)` changed.
_STATE_ATTRS = ("_batch_size", "_num_workers", "_preprocess_params", "_forward_params", "_postprocess_params",
                "_generate_kwargs", "generation_config", "binary_output", "prefix")

_ALIASES = {"sentiment-analysis": "text-classification", "ner": "token-classification"}
# The class a pipeline was built as names its task when `task` is empty (a pipeline made by its constructor).
_CLASS_TASKS = {
    "TextClassificationPipeline": "text-classification",
    "TokenClassificationPipeline": "token-classification",
    "FillMaskPipeline": "fill-mask",
    "FeatureExtractionPipeline": "feature-extraction",
    "ZeroShotClassificationPipeline": "zero-shot-classification",
    "TextGenerationPipeline": "text-generation",
    "SummarizationPipeline": "summarization",
    "TranslationPipeline": "translation",
    "Text2TextGenerationPipeline": "text2text-generation",
    "QuestionAnsweringPipeline": "question-answering",
}
_REMOVED_IN_5 = ("summarization", "translation", "text2text-generation", "question-answering")

_S, _D, _I, _B = DataType.STRING, DataType.DOUBLE, DataType.INT64, DataType.BOOL
# Generation settings every generating task takes per call; None = the pipeline's own setting.
_GENERATION_PARAMS = (("max_new_tokens", _I), ("min_new_tokens", _I), ("num_beams", _I), ("do_sample", _B),
                      ("temperature", _D), ("top_k", _I), ("top_p", _D), ("repetition_penalty", _D))


class Handler(ModelHandler):
    """`transformers.Pipeline` instances of a supported task (or any task, given `signatures=`)."""

    name: ClassVar[str] = "huggingface"
    default_target_methods: ClassVar[tuple[str, ...]] = (_METHOD,)
    load_options: ClassVar[frozenset[str]] = frozenset({"device_map"})

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        if "transformers" not in sys.modules:
            return False
        import transformers

        return isinstance(model, transformers.Pipeline)

    @classmethod
    def target_methods(cls, model: Any, options: dict) -> list[str]:
        methods = super().target_methods(model, options)
        others = [m for m in methods if m != _METHOD]
        if others:
            raise SignatureError(
                f"A {type(model).__name__} exposes only {_METHOD!r} (the pipeline call), but target_methods names "
                f"{others}. Remove target_methods, or set it to ['{_METHOD}']."
            )
        return methods

    @classmethod
    def known_signatures(cls, model: Any, methods: list[str], options: dict) -> dict | None:
        task = pipeline_task(model)
        sig = task_signature(task, model)
        if sig is None:
            raise SignatureError(
                f"The {type(model).__name__} has task {task or '(none)'!r}, whose signature jupyter_mreg does not "
                f"know. Supported tasks: {', '.join(sorted(_SIGNATURES))}. For another task pass "
                "signatures={'__call__': ModelSignature(inputs=[...], outputs=[...])}: the pipeline is then called "
                "with the first input column as a list of values (or with one dict per row for several inputs)."
            )
        return {m: sig for m in methods}

    @classmethod
    def gpu_available(cls) -> bool:
        return pytorch.Handler.gpu_available()  # pipelines here run on torch

    @classmethod
    def modules(cls, model: Any) -> list[str]:
        mods = ["transformers"]
        if getattr(model, "tokenizer", None) is not None:
            mods.append("tokenizers")
        inner = getattr(model, "model", None)
        is_tf = getattr(model, "framework", "pt") == "tf" or type(inner).__name__.startswith("TF")
        mods.append("tensorflow" if is_tf else "torch")
        if getattr(inner, "hf_device_map", None) is not None:
            mods.append("accelerate")
        for part in ("model", "tokenizer"):  # a user's own subclass (custom code) must be importable too
            top = type(getattr(model, part, None)).__module__.split(".")[0]
            if top not in (*mods, "builtins"):
                mods.append(top)
        top = type(model).__module__.split(".")[0]
        if top not in mods:
            mods.append(top)
        return mods

    @classmethod
    def save(cls, model: Any, path: Path, options: dict) -> dict:
        import cloudpickle
        import transformers

        folder = Path(path) / _DIR
        with quiet_transformers(transformers):
            model.save_pretrained(str(folder))
        state = {k: model.__dict__[k] for k in _STATE_ATTRS if k in model.__dict__}
        (Path(path) / _STATE_FILE).write_bytes(cloudpickle.dumps(state))
        inner = model.model

        def qualname(obj: Any) -> str | None:
            return None if obj is None else f"{type(obj).__module__}.{type(obj).__qualname__}"

        return {
            "format": "save_pretrained",
            "dir": _DIR,
            "state_file": _STATE_FILE,
            "task": getattr(model, "task", "") or "",
            "canonical_task": pipeline_task(model),
            "pipeline_class": qualname(model),
            "model_class": qualname(inner),
            "tokenizer_class": qualname(getattr(model, "tokenizer", None)),
            "feature_extractor_class": qualname(getattr(model, "feature_extractor", None)),
            "image_processor_class": qualname(getattr(model, "image_processor", None)),
            "dtype": str(getattr(inner, "dtype", "")).replace("torch.", "") or None,
            "name_or_path": str(getattr(inner, "name_or_path", "") or ""),
            "transformers_version": transformers.__version__,
        }

    @classmethod
    def load(cls, path: Path, meta: dict, options: dict) -> Any:
        import cloudpickle
        import transformers

        task = meta.get("canonical_task") or ""
        major = int(transformers.__version__.split(".")[0])
        if task in _REMOVED_IN_5 and major >= 5:
            raise EnvironmentMismatchError(
                f"This {task} pipeline was logged with transformers {meta.get('transformers_version')}, and "
                f"transformers {transformers.__version__} has no {task} pipeline any more (removed in 5.0). Load "
                "it in an environment with transformers<5, e.g. pip install 'transformers>=4.40,<5'."
            )
        folder = str(Path(path) / meta.get("dir", _DIR))
        device_map = options.get("device_map")
        model_kwargs: dict[str, Any] = {"local_files_only": True}
        if meta.get("dtype") and not str(meta.get("model_class", "")).split(".")[-1].startswith("TF"):
            import torch

            dtype = getattr(torch, meta["dtype"], None)
            if isinstance(dtype, torch.dtype):
                # transformers 4.56 renamed torch_dtype to dtype.
                model_kwargs["dtype" if _version(transformers.__version__) >= (4, 56) else "torch_dtype"] = dtype
        if device_map is not None:
            model_kwargs["device_map"] = device_map
        try:
            with quiet_transformers(transformers):
                model = _class(meta.get("model_class"), transformers.AutoModel).from_pretrained(folder, **model_kwargs)
        except (ImportError, ValueError) as exc:
            if device_map is not None and "accelerate" in str(exc).lower():
                raise EnvironmentMismatchError(
                    f"Load option device_map={device_map!r} needs the accelerate package, which cannot be used "
                    f"here ({exc}). Install it (pip install accelerate), or load with options={{'device': ...}}."
                ) from exc
            raise
        parts: dict[str, Any] = {}
        for key, auto in (("tokenizer", "AutoTokenizer"), ("feature_extractor", "AutoFeatureExtractor"),
                          ("image_processor", "AutoImageProcessor")):
            if meta.get(f"{key}_class"):
                loader = _class(meta[f"{key}_class"], getattr(transformers, auto))
                with quiet_transformers(transformers):
                    parts[key] = loader.from_pretrained(folder, local_files_only=True)
        if device_map is None:
            parts["device"] = options.get("device", "cpu")
        pipeline_class = _class(meta.get("pipeline_class"), None)
        name = meta.get("task") or task
        if name and _known_task(transformers, name):
            pipe = transformers.pipeline(name, model=model, pipeline_class=pipeline_class, **parts)
        elif pipeline_class is not None:  # a task of the user's own (logged with `signatures=`): build the class
            pipe = pipeline_class(model=model, task=name, **parts)
        else:
            raise EnvironmentMismatchError(
                f"This pipeline was logged as a {meta.get('pipeline_class')} with task {name!r}, which neither "
                f"transformers {transformers.__version__} nor an importable class provides. Install the "
                f"transformers version it was logged with ({meta.get('transformers_version')})."
            )
        state_file = Path(path) / meta.get("state_file", _STATE_FILE)
        if state_file.exists():
            with open(state_file, "rb") as f:
                pipe.__dict__.update(cloudpickle.load(f))
        pipe.task = meta.get("task", pipe.task)
        if "name_or_path" in meta:  # the name it was logged with, not the package folder it is read from
            pipe.model.name_or_path = meta["name_or_path"]
        return pipe

    @classmethod
    def invoke(cls, model: Any, method: str, data: Any, params: dict) -> Any:
        task = pipeline_task(model)
        call = _CALLS.get(task, _call_generic)
        kwargs = {k: _native(v) for k, v in (params or {}).items() if v is not None}
        return call(getattr(model, method), model, data, kwargs)


def pipeline_task(pipe: Any) -> str:
    """The pipeline's task in canonical form (`translation_en_to_fr` → `translation`, `ner` →
    `token-classification`); from its class when built without a task; "" when unknown."""
    task = str(getattr(pipe, "task", "") or "")
    if task.startswith("translation"):
        return "translation"
    task = _ALIASES.get(task, task)
    if task:
        return task
    for klass in type(pipe).__mro__:
        if klass.__name__ in _CLASS_TASKS:
            return _CLASS_TASKS[klass.__name__]
    return ""


def task_signature(task: str, pipe: Any) -> ModelSignature | None:
    """The `__call__` signature of a pipeline of `task` (None for a task without one); `pipe`'s construction
    arguments choose between variants (e.g. `top_k=` makes text-classification return a list per row)."""
    build = _SIGNATURES.get(task)
    return None if build is None else build(pipe)


# ------------------------------------------------------------------------------------------------ signatures


def _post(pipe: Any) -> dict:
    return dict(getattr(pipe, "_postprocess_params", None) or {})


def _params(*specs: tuple[str, DataType], **defaults: Any) -> list[ParamSpec]:
    return [ParamSpec(name, dtype, defaults.get(name)) for name, dtype in specs]


def _text_classification_lists(pipe: Any) -> bool:
    # The pipeline returns one dict per text unless built with `top_k=` (then a list of label/score dicts).
    post = _post(pipe)
    return not (post.get("top_k", 1) == 1 and post.get("_legacy", True))


def _sig_text_classification(pipe: Any) -> ModelSignature:
    inputs = [FeatureSpec("text", _S)]
    if _text_classification_lists(pipe):
        top_k = _post(pipe).get("top_k")
        return ModelSignature(
            inputs=inputs,
            outputs=[FeatureGroupSpec("labels", [FeatureSpec("label", _S), FeatureSpec("score", _D)], shape=(-1,))],
            params=_params(("top_k", _I), ("function_to_apply", _S), top_k=top_k),
        )
    return ModelSignature(inputs=inputs, outputs=[FeatureSpec("label", _S), FeatureSpec("score", _D)],
                          params=_params(("function_to_apply", _S)))


def _aggregated(pipe: Any) -> bool:
    strategy = _post(pipe).get("aggregation_strategy")
    return strategy is not None and str(getattr(strategy, "value", strategy)).lower() != "none"


def _sig_token_classification(pipe: Any) -> ModelSignature:
    if _aggregated(pipe):  # grouped entities carry `entity_group` and no token `index`
        specs = [FeatureSpec("entity_group", _S), FeatureSpec("score", _D), FeatureSpec("word", _S),
                 FeatureSpec("start", _I), FeatureSpec("end", _I)]
    else:
        specs = [FeatureSpec("word", _S), FeatureSpec("score", _D), FeatureSpec("entity", _S),
                 FeatureSpec("index", _I), FeatureSpec("start", _I), FeatureSpec("end", _I)]
    return ModelSignature(inputs=[FeatureSpec("inputs", _S)],
                          outputs=[FeatureGroupSpec("outputs", specs, shape=(-1,))])


def _sig_fill_mask(pipe: Any) -> ModelSignature:
    specs = [FeatureSpec("sequence", _S), FeatureSpec("score", _D), FeatureSpec("token", _I),
             FeatureSpec("token_str", _S)]
    return ModelSignature(inputs=[FeatureSpec("inputs", _S)], outputs=[FeatureGroupSpec("outputs", specs, shape=(-1,))],
                          params=_params(("top_k", _I), top_k=_post(pipe).get("top_k")))


def _sig_feature_extraction(pipe: Any) -> ModelSignature:
    # One (tokens × hidden size) matrix per text: the last hidden state, as the pipeline returns it.
    return ModelSignature(inputs=[FeatureSpec("inputs", _S)], outputs=[FeatureSpec("outputs", _D, shape=(-1, -1))],
                          params=_params(("truncation", _B)))


def _sig_zero_shot(pipe: Any) -> ModelSignature:
    return ModelSignature(
        inputs=[FeatureSpec("sequences", _S), FeatureSpec("candidate_labels", _S, shape=(-1,))],
        outputs=[FeatureSpec("sequence", _S), FeatureSpec("labels", _S, shape=(-1,)),
                 FeatureSpec("scores", _D, shape=(-1,))],
        params=_params(("hypothesis_template", _S), ("multi_label", _B)),
    )


def _sig_text_generation(pipe: Any) -> ModelSignature:
    if getattr(getattr(pipe, "tokenizer", None), "chat_template", None):
        return openai_signatures._OPENAI_CHAT_SIGNATURE_WITH_PARAMS_SPEC
    return ModelSignature(
        inputs=[FeatureSpec("inputs", _S)],
        outputs=[FeatureGroupSpec("outputs", [FeatureSpec("generated_text", _S)], shape=(-1,))],
        params=_params(*_GENERATION_PARAMS, ("return_full_text", _B)),
    )


def _sig_summarization(pipe: Any) -> ModelSignature:
    return ModelSignature(inputs=[FeatureSpec("documents", _S)], outputs=[FeatureSpec("summary_text", _S)],
                          params=_params(*_GENERATION_PARAMS))


def _sig_translation(pipe: Any) -> ModelSignature:
    return ModelSignature(inputs=[FeatureSpec("inputs", _S)], outputs=[FeatureSpec("translation_text", _S)],
                          params=_params(*_GENERATION_PARAMS, ("src_lang", _S), ("tgt_lang", _S)))


def _sig_text2text(pipe: Any) -> ModelSignature:
    return ModelSignature(inputs=[FeatureSpec("inputs", _S)], outputs=[FeatureSpec("generated_text", _S)],
                          params=_params(*_GENERATION_PARAMS))


def _qa_lists(pipe: Any) -> bool:
    post = _post(pipe)
    return post.get("top_k", 1) != 1 or post.get("topk", 1) != 1


_QA_FIELDS = (("score", _D), ("start", _I), ("end", _I), ("answer", _S))


def _sig_question_answering(pipe: Any) -> ModelSignature:
    inputs = [FeatureSpec("question", _S), FeatureSpec("context", _S)]
    common = (("max_answer_len", _I), ("doc_stride", _I), ("handle_impossible_answer", _B))
    if _qa_lists(pipe):
        group = FeatureGroupSpec("answers", [FeatureSpec(n, t) for n, t in _QA_FIELDS], shape=(-1,))
        return ModelSignature(inputs=inputs, outputs=[group],
                              params=_params(("top_k", _I), *common, top_k=_post(pipe).get("top_k")))
    return ModelSignature(inputs=inputs, outputs=[FeatureSpec(n, t) for n, t in _QA_FIELDS], params=_params(*common))


_SIGNATURES: dict[str, Callable[[Any], ModelSignature]] = {
    "text-classification": _sig_text_classification,
    "token-classification": _sig_token_classification,
    "fill-mask": _sig_fill_mask,
    "feature-extraction": _sig_feature_extraction,
    "zero-shot-classification": _sig_zero_shot,
    "text-generation": _sig_text_generation,
    "summarization": _sig_summarization,
    "translation": _sig_translation,
    "text2text-generation": _sig_text2text,
    "question-answering": _sig_question_answering,
}


# ------------------------------------------------------------------------------------------------ calls
# Each takes (bound method, pipeline, validated frame, params without Nones) and returns a DataFrame with the
# signature's output columns, one row per input row.


def _column(frame: Any, name: str) -> list:
    col = frame[name] if name in frame.columns else frame.iloc[:, 0]
    return [None if _isna(v) else v for v in col.tolist()]


def _isna(v: Any) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def _per_row(result: Any, n: int, row: type) -> list:
    """The pipeline's result as one item per input: pipelines drop the outer list for a single input
    (a bare dict, or a flat list of dicts where a list per input was expected)."""
    if n == 1:
        if row is dict and isinstance(result, dict):
            return [result]
        if row is list and isinstance(result, list) and (not result or not isinstance(result[0], list)):
            return [result]
    if not isinstance(result, list) or len(result) != n:
        size = len(result) if isinstance(result, (list, dict)) else "?"
        raise InferenceError(
            f"The pipeline returned a {type(result).__name__} of length {size} for {n} inputs, expected one result "
            "per input. If it was logged with `signatures=`, make them match what the pipeline returns."
        )
    return result


def _records(items: list, names: list[str]) -> Any:
    import pandas as pd

    return pd.DataFrame({n: [_native(item.get(n)) for item in items] for n in names})


def _lists(items: list, name: str) -> Any:
    import pandas as pd

    return pd.DataFrame({name: [_native(list(item)) for item in items]})


def _call_text_classification(call: Callable, pipe: Any, frame: Any, kwargs: dict) -> Any:
    texts = _column(frame, "text")
    if "text_pair" in frame.columns:  # a signature with a `text_pair` input: sentence-pair classification
        pairs = _column(frame, "text_pair")
        inputs: list = [t if p is None else {"text": t, "text_pair": p} for t, p in zip(texts, pairs)]
    else:
        inputs = texts
    if _text_classification_lists(pipe):
        kwargs.setdefault("top_k", _post(pipe).get("top_k"))
        return _lists(_per_row(call(inputs, **kwargs), len(inputs), list), "labels")
    return _records(_per_row(call(inputs, **kwargs), len(inputs), dict), ["label", "score"])


def _call_feature_extraction(call: Callable, pipe: Any, frame: Any, kwargs: dict) -> Any:
    import numpy as np
    import pandas as pd

    texts = _column(frame, "inputs")
    rows = _per_row(call(texts, **kwargs), len(texts), list)
    # Each row is [1 × tokens × hidden] (a batch of one): keep the matrix.
    out = []
    for r in rows:
        arr = np.asarray(r.cpu() if hasattr(r, "cpu") else r, dtype=np.float64)
        out.append(arr[0] if arr.ndim == 3 and arr.shape[0] == 1 else arr)
    return pd.DataFrame({"outputs": out})


def _call_zero_shot(call: Callable, pipe: Any, frame: Any, kwargs: dict) -> Any:
    texts = _column(frame, "sequences")
    labels = [tuple(str(x) for x in (v if v is not None else ())) for v in _column(frame, "candidate_labels")]
    results: list = [None] * len(texts)
    # Rows that share their candidate labels go to the pipeline together (one call per label set).
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(labels):
        groups.setdefault(key, []).append(i)
    for key, rows in groups.items():
        out = _per_row(call([texts[i] for i in rows], candidate_labels=list(key), **kwargs), len(rows), dict)
        for i, r in zip(rows, out):
            results[i] = r
    return _records(results, ["sequence", "labels", "scores"])


def _list_per_text(column: str, output: str) -> Callable:
    """Tasks that answer each text with a list (entities, mask fillings, generated sequences)."""

    def run(call: Callable, pipe: Any, frame: Any, kwargs: dict) -> Any:
        texts = _column(frame, column)
        return _lists(_per_row(call(texts, **kwargs), len(texts), list), output)

    return run


def _single_text(column: str, output: str) -> Callable:
    def run(call: Callable, pipe: Any, frame: Any, kwargs: dict) -> Any:
        texts = _column(frame, column)
        rows = _per_row(call(texts, **kwargs), len(texts), dict)
        # num_return_sequences > 1 gives a list per input: keep the first, as the signature has one value.
        return _records([r[0] if isinstance(r, list) else r for r in rows], [output])

    return run


def _call_question_answering(call: Callable, pipe: Any, frame: Any, kwargs: dict) -> Any:
    questions, contexts = _column(frame, "question"), _column(frame, "context")
    names = [n for n, _ in _QA_FIELDS]
    if _qa_lists(pipe):
        kwargs.setdefault("top_k", _post(pipe).get("top_k"))
        result = call(question=questions, context=contexts, **kwargs)
        if len(questions) == 1 and isinstance(result, list) and result and isinstance(result[0], dict):
            result = [result]
        rows = _per_row(result, len(questions), list)
        return _lists([[{n: a.get(n) for n in names} for a in r] for r in rows], "answers")
    return _records(_per_row(call(question=questions, context=contexts, **kwargs), len(questions), dict), names)


def _call_text_generation(call: Callable, pipe: Any, frame: Any, kwargs: dict) -> Any:
    """Chat completions for a `messages` column (the chat signatures), else text continued per input."""
    if "messages" not in frame.columns:
        return _list_per_text("inputs", "outputs")(call, pipe, frame, kwargs)
    columns = [c for c in openai_signatures.SETTING_NAMES if c in frame.columns]
    # As Snowflake: the settings come from the params when there are any, else from the row's columns.
    settings = [kwargs] * len(frame) if kwargs else [
        {c: v for c, v in zip(columns, row) if not _isna(v)} for row in frame[columns].itertuples(index=False)]
    return hf_chat.chat_completions(pipe, _native(frame["messages"].tolist()), _native(settings))


def _call_generic(call: Callable, pipe: Any, frame: Any, kwargs: dict) -> Any:
    """A task without a known signature (logged with `signatures=`): one column → a list of values, several →
    one dict per row; a list of dicts comes back as their columns."""
    import pandas as pd

    if frame.shape[1] == 1:
        inputs: list = _column(frame, str(frame.columns[0]))
    else:
        inputs = [{k: _native(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]
    rows = call(inputs, **kwargs)
    if len(inputs) == 1 and not (isinstance(rows, list) and len(rows) == 1):
        rows = [rows]  # the outer list dropped for a single input
    if rows and all(isinstance(r, dict) for r in rows):
        return pd.DataFrame.from_records([_native(r) for r in rows])
    return pd.DataFrame({0: [_native(r) for r in rows]})


_CALLS: dict[str, Callable] = {
    "text-classification": _call_text_classification,
    "token-classification": _list_per_text("inputs", "outputs"),
    "fill-mask": _list_per_text("inputs", "outputs"),
    "feature-extraction": _call_feature_extraction,
    "zero-shot-classification": _call_zero_shot,
    "text-generation": _call_text_generation,
    "summarization": _single_text("documents", "summary_text"),
    "translation": _single_text("inputs", "translation_text"),
    "text2text-generation": _single_text("inputs", "generated_text"),
    "question-answering": _call_question_answering,
}


# ------------------------------------------------------------------------------------------------ helpers


def _native(v: Any) -> Any:
    """numpy scalars and arrays (and containers of them) as plain Python values: pipelines mix both, and
    Hugging Face's own argument checks reject numpy integers."""
    import numpy as np

    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, list):
        return [_native(x) for x in v]
    if isinstance(v, tuple):
        return [_native(x) for x in v]
    if isinstance(v, dict):
        return {k: _native(x) for k, x in v.items()}
    return v


def _known_task(transformers: Any, task: str) -> bool:
    try:
        transformers.pipelines.check_task(task)
    except KeyError:
        return False
    return True


def _class(qualname: str | None, default: Any) -> Any:
    """The class at `module.Qualname`; `default` when none was recorded or this transformers lacks it (classes
    move and get renamed between versions). A class from the user's own module must import: that error stands."""
    if not qualname:
        return default
    import importlib

    module, _, name = qualname.rpartition(".")
    try:
        obj: Any = importlib.import_module(module)
    except ModuleNotFoundError:
        if module.split(".")[0] == "transformers":
            return default
        raise
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return default
    return obj


@contextmanager
def quiet_transformers(transformers: Any) -> Iterator[None]:
    """No progress bars while writing or reading the weights: a log or load is one step for the user."""
    logging = transformers.utils.logging
    was_enabled = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging.enable_progress_bar()


def _version(text: str) -> tuple[int, ...]:
    out = []
    for part in text.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)
