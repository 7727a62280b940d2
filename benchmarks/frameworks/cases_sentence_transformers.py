"""Benchmark case for the sentence_transformers handler: a tiny SentenceTransformer (a 2-layer BERT with hidden
size 32, saved to a temporary folder, plus mean pooling), logged by us (no sample needed) and by
`mlflow.sentence_transformers` (with an input example, as its users do). The tokenizer and config builders
come from `cases_huggingface`."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .cases_huggingface import EXAMPLE, bert_config, word_tokenizer


def sentence_transformer() -> Any:
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertModel

    try:  # sentence-transformers 6 moved the module classes
        from sentence_transformers.sentence_transformer import modules
    except ImportError:
        from sentence_transformers import models as modules

    torch.manual_seed(0)
    folder = Path(tempfile.mkdtemp(prefix="mreg-bench-st-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    tok = word_tokenizer("bert")
    BertModel(bert_config(tok)).save_pretrained(folder)
    tok.save_pretrained(folder)
    word = modules.Transformer(str(folder), max_seq_length=32)
    dim = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
    return SentenceTransformer(modules=[word, modules.Pooling(dim(), pooling_mode="mean")], device="cpu")


def _mlflow_log(model: Any, sample: Any, registered_model_name: str) -> None:
    import mlflow

    mlflow.sentence_transformers.log_model(model, name="model", input_example=EXAMPLE,
                                           registered_model_name=registered_model_name)


def _mlflow_load(uri: str) -> Any:
    import mlflow

    return mlflow.sentence_transformers.load_model(uri)


def cases() -> list[dict]:
    import sentence_transformers  # noqa: F401  (ImportError: the runner lists the framework as skipped)

    return [{
        "framework": "sentence_transformers",
        "name": "SentenceTransformer (BERT, 2 layers, hidden 32, mean pooling)",
        "model": sentence_transformer(),
        "sample": None,
        "log_kwargs": {},
        "mlflow_log": _mlflow_log,
        "mlflow_load": _mlflow_load,
    }]
