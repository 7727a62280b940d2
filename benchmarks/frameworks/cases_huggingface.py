"""Benchmark cases for the huggingface handler: tiny random-weight pipelines, logged by us (the task gives the
signature: no sample) and by `mlflow.transformers` (with an input example, as its users do).

The builders live here, not in `tests/` (benchmarks never import tests): a word-list tokenizer and BERT / GPT-2
configs small enough to build in a blink, with seeded weights. `tests/frameworks/tiny_transformers.py` holds
the fuller set the tests use.
"""

from __future__ import annotations

from typing import Any

WORDS = ("the a this movie film food day night is was good bad great terrible nice awful happy sad love hate "
         "i you we it what not very really and or but of in to paris london").split()
EXAMPLE = ["the movie was really good", "i hate this terrible food"]


def word_tokenizer(style: str = "bert") -> Any:
    """A fast tokenizer over WORDS: "bert" ([CLS] text [SEP], with [PAD] and [MASK]) or "gpt2" (plain text)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] if style == "bert" else ["</s>", "[UNK]"]
    vocab = {tok: i for i, tok in enumerate([*specials, *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")
    if style == "bert":
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
        return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                       sep_token="[SEP]", mask_token="[MASK]", model_max_length=64)
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", eos_token="</s>", bos_token="</s>",
                                   pad_token="</s>", model_max_length=64)


def bert_config(tokenizer: Any, **kwargs: Any) -> Any:
    from transformers import BertConfig

    return BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=37, max_position_embeddings=64, pad_token_id=tokenizer.pad_token_id, **kwargs)


def text_classifier() -> Any:
    import torch
    from transformers import BertForSequenceClassification, pipeline

    torch.manual_seed(0)
    tok = word_tokenizer("bert")
    labels = ["NEGATIVE", "POSITIVE"]
    config = bert_config(tok, id2label=dict(enumerate(labels)), label2id={v: i for i, v in enumerate(labels)})
    return pipeline("text-classification", model=BertForSequenceClassification(config).eval(), tokenizer=tok,
                    device="cpu")


def text_generator() -> Any:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, pipeline

    torch.manual_seed(0)
    tok = word_tokenizer("gpt2")
    config = GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id)
    return pipeline("text-generation", model=GPT2LMHeadModel(config).eval(), tokenizer=tok, device="cpu",
                    do_sample=False, max_new_tokens=6)


def pinned(*dists: str) -> list[str]:
    """`name==installed version` for each distribution."""
    from importlib.metadata import version

    return [f"{d}=={version(d)}" for d in dists]


def _mlflow_log(model: Any, sample: Any, registered_model_name: str) -> None:
    import mlflow

    # MLflow's default requirements for a torch pipeline import torchvision, which this environment lacks (the
    # log fails): a user lists the requirements, which also spares MLflow's requirement inference subprocess.
    mlflow.transformers.log_model(transformers_model=model, name="model", input_example=EXAMPLE,
                                  registered_model_name=registered_model_name,
                                  pip_requirements=pinned("transformers", "tokenizers", "torch"))


def _mlflow_load(uri: str) -> Any:
    import mlflow

    return mlflow.transformers.load_model(uri)


def cases() -> list[dict]:
    import transformers  # noqa: F401  (ImportError: the runner lists the framework as skipped)

    common = {"framework": "huggingface", "sample": None, "log_kwargs": {}, "mlflow_log": _mlflow_log,
              "mlflow_load": _mlflow_load, "mlflow_flavor": "mlflow.transformers"}
    return [
        {**common, "name": "text-classification pipeline (BERT, 2 layers, hidden 32)", "model": text_classifier()},
        {**common, "name": "text-generation pipeline (GPT-2, 2 layers, hidden 32)", "model": text_generator()},
    ]
