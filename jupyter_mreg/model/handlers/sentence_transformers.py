"""sentence-transformers `SentenceTransformer` models (`model_type` "sentence_transformers"), stored with the
library's own `save`.

The method is `encode` (and, named in `target_methods`, `encode_query` / `encode_document` of
sentence-transformers ≥ 5). As in Snowflake, the signature needs no sample: one STRING input `sentence`, one
output `output` holding each text's embedding (DOUBLE array); `batch_size`, `truncate_dim`,
`normalize_embeddings` and `prompt_name` are params. The folder `save` writes (modules.json, the transformer's
config, safetensors weights and tokenizer, the pooling config) loads back with `SentenceTransformer(folder,
device=...)`, on the device asked for; `truncate_dim` is a load option too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar

from jupyter_mreg.errors import InvalidArgumentError, SignatureError
from jupyter_mreg.model.handlers import pytorch
from jupyter_mreg.model.handlers.base import ModelHandler
from jupyter_mreg.model.handlers.huggingface import quiet_transformers
from jupyter_mreg.model.signatures.specs import FeatureSpec, ModelSignature, ParamSpec
from jupyter_mreg.model.signatures.types import DataType

_DIR = "model"
_METHODS = ("encode", "encode_query", "encode_document")
_DEFAULT_BATCH_SIZE = 32


class Handler(ModelHandler):
    """`sentence_transformers.SentenceTransformer` instances."""

    name: ClassVar[str] = "sentence_transformers"
    default_target_methods: ClassVar[tuple[str, ...]] = ("encode",)
    extra_options: ClassVar[frozenset[str]] = frozenset({"batch_size"})
    load_options: ClassVar[frozenset[str]] = frozenset({"truncate_dim"})

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        if "sentence_transformers" not in sys.modules:
            return False
        from sentence_transformers import SentenceTransformer

        return isinstance(model, SentenceTransformer)

    @classmethod
    def target_methods(cls, model: Any, options: dict) -> list[str]:
        methods = super().target_methods(model, options)
        others = [m for m in methods if m not in _METHODS]
        if others:
            raise SignatureError(
                f"A SentenceTransformer can expose {', '.join(_METHODS)}, but target_methods names {others}. "
                "Remove them from target_methods."
            )
        return methods

    @classmethod
    def known_signatures(cls, model: Any, methods: list[str], options: dict) -> dict | None:
        batch_size = _batch_size(options)
        sig = ModelSignature(
            inputs=[FeatureSpec("sentence", DataType.STRING)],
            # -1: `truncate_dim` may shorten the embedding per call.
            outputs=[FeatureSpec("output", DataType.DOUBLE, shape=(-1,))],
            params=[
                ParamSpec("batch_size", DataType.INT64, batch_size),
                ParamSpec("truncate_dim", DataType.INT64, None),
                ParamSpec("normalize_embeddings", DataType.BOOL, False),
                ParamSpec("prompt_name", DataType.STRING, None),
            ],
        )
        return {m: sig for m in methods}

    @classmethod
    def gpu_available(cls) -> bool:
        return pytorch.Handler.gpu_available()  # it runs on torch

    @classmethod
    def modules(cls, model: Any) -> list[str]:
        mods = ["sentence_transformers", "transformers", "tokenizers", "torch"]
        for module in model.children() if hasattr(model, "children") else ():
            top = type(module).__module__.split(".")[0]  # a user's own module class must import at load time
            if top not in mods:
                mods.append(top)
        return mods

    @classmethod
    def save(cls, model: Any, path: Path, options: dict) -> dict:
        import sentence_transformers
        import transformers

        folder = Path(path) / _DIR
        with quiet_transformers(transformers):
            model.save(str(folder))
        return {
            "format": "sentence_transformers",
            "dir": _DIR,
            "class": f"{type(model).__module__}.{type(model).__qualname__}",
            "truncate_dim": getattr(model, "truncate_dim", None),
            "batch_size": _batch_size(options),
            "sentence_transformers_version": sentence_transformers.__version__,
        }

    @classmethod
    def load(cls, path: Path, meta: dict, options: dict) -> Any:
        import transformers
        from sentence_transformers import SentenceTransformer

        truncate_dim = options.get("truncate_dim", meta.get("truncate_dim"))
        if truncate_dim is not None and (isinstance(truncate_dim, bool) or not isinstance(truncate_dim, int)
                                         or truncate_dim <= 0):
            raise InvalidArgumentError(
                f"Load option truncate_dim must be a positive integer (the embedding size to keep), got "
                f"{truncate_dim!r}."
            )
        with quiet_transformers(transformers):
            return SentenceTransformer(str(Path(path) / meta.get("dir", _DIR)), device=options.get("device", "cpu"),
                                       truncate_dim=truncate_dim, local_files_only=True)

    @classmethod
    def invoke(cls, model: Any, method: str, data: Any, params: dict) -> Any:
        import numpy as np
        import pandas as pd

        kwargs = {k: v for k, v in (params or {}).items() if v is not None}
        kwargs.setdefault("batch_size", _DEFAULT_BATCH_SIZE)
        texts = data.iloc[:, 0].tolist()
        emb = getattr(model, method)(texts, convert_to_numpy=True, show_progress_bar=False, **kwargs)
        emb = np.asarray(emb, dtype=np.float64)
        return pd.DataFrame({"output": list(emb)}, index=data.index)


def _batch_size(options: dict) -> int:
    value = options.get("batch_size", _DEFAULT_BATCH_SIZE)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidArgumentError(
            f"Option batch_size for a SentenceTransformer must be a positive integer (texts encoded at once), got "
            f"{value!r}."
        )
    return value
