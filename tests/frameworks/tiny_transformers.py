"""Tiny random-weight Hugging Face pipelines and sentence-transformers models, built offline.

Nothing here downloads: every model comes from a small config with seeded random weights, and every tokenizer
from a word list (a `tokenizers` WordLevel model with a Whitespace pre-tokenizer). The outputs are nonsense but
deterministic, which is all a round trip needs. Works with transformers 4.4x-4.57 and 5.x, so the
transformers 4 check (`test_huggingface.py`) can build the same models in its own venv.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WORDS = (
    "the a an this that movie film book food service day night time place city house world people friend "
    "is was are be good bad great terrible fine nice awful happy sad love hate like and or but not very "
    "really quite i you we they it what who where when how paris london berlin alice bob capital of in "
    "on to from with"
).split()

SENTENCES = [
    "the movie was really good",
    "i hate this terrible food",
    "what a nice day in paris",
    "bob and alice love london",
]


def _seed(seed: int = 0) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def word_tokenizer(style: str = "bert", words: tuple[str, ...] | list[str] = WORDS) -> Any:
    """A fast tokenizer over `words`: style "bert" ([CLS] a [SEP] b [SEP], with [MASK]), "gpt2" (no special
    tokens around the text, </s> as end and pad) or "seq2seq" (text </s>, with <pad> and <s>)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    if style == "bert":
        specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    elif style == "gpt2":
        specials = ["</s>", "[UNK]"]
    elif style == "seq2seq":
        specials = ["<pad>", "<unk>", "<s>", "</s>"]
    else:
        raise ValueError(f"unknown tokenizer style {style!r}")
    vocab = {tok: i for i, tok in enumerate([*specials, *words])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=specials[1]))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")  # joins the words with spaces
    if style == "bert":
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
        return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                       cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                       model_max_length=64)
    if style == "gpt2":
        return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", eos_token="</s>", bos_token="</s>",
                                       pad_token="</s>", model_max_length=64)
    tok.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", vocab["</s>"])])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="</s>",
                                   bos_token="<s>", model_max_length=64)


def bert_config(tokenizer: Any, **kwargs: Any) -> Any:
    from transformers import BertConfig

    return BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=37, max_position_embeddings=64, pad_token_id=tokenizer.pad_token_id,
                      **kwargs)


def _pipeline(task: str, model: Any, tokenizer: Any, **kwargs: Any) -> Any:
    from transformers import pipeline

    model.eval()
    return pipeline(task, model=model, tokenizer=tokenizer, device="cpu", **kwargs)


def text_classification(seed: int = 0, **kwargs: Any) -> Any:
    """A 3-label sentiment classifier (NEGATIVE / NEUTRAL / POSITIVE)."""
    from transformers import BertForSequenceClassification

    _seed(seed)
    tok = word_tokenizer("bert")
    labels = ["NEGATIVE", "NEUTRAL", "POSITIVE"]
    config = bert_config(tok, id2label=dict(enumerate(labels)), label2id={v: i for i, v in enumerate(labels)})
    return _pipeline("text-classification", BertForSequenceClassification(config), tok, **kwargs)


def token_classification(seed: int = 0, **kwargs: Any) -> Any:
    """An NER tagger with IOB labels over PER / LOC."""
    from transformers import BertForTokenClassification

    _seed(seed)
    tok = word_tokenizer("bert")
    labels = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    config = bert_config(tok, id2label=dict(enumerate(labels)), label2id={v: i for i, v in enumerate(labels)})
    return _pipeline("token-classification", BertForTokenClassification(config), tok, **kwargs)


def fill_mask(seed: int = 0, **kwargs: Any) -> Any:
    from transformers import BertForMaskedLM

    _seed(seed)
    tok = word_tokenizer("bert")
    return _pipeline("fill-mask", BertForMaskedLM(bert_config(tok)), tok, **kwargs)


def feature_extraction(seed: int = 0, **kwargs: Any) -> Any:
    from transformers import BertModel

    _seed(seed)
    tok = word_tokenizer("bert")
    return _pipeline("feature-extraction", BertModel(bert_config(tok)), tok, **kwargs)


def zero_shot(seed: int = 0, **kwargs: Any) -> Any:
    """An NLI sequence classifier whose labels are entailment / neutral / contradiction."""
    from transformers import BertForSequenceClassification

    _seed(seed)
    tok = word_tokenizer("bert")
    labels = ["contradiction", "neutral", "entailment"]
    config = bert_config(tok, id2label=dict(enumerate(labels)), label2id={v: i for i, v in enumerate(labels)})
    return _pipeline("zero-shot-classification", BertForSequenceClassification(config), tok, **kwargs)


# Greedy decoding of exactly this many tokens: deterministic, and never an empty answer. Given to the pipeline
# (not the model's generation config) so that a round trip must keep the pipeline's own arguments.
GREEDY = {"do_sample": False, "num_beams": 1, "max_new_tokens": 6, "min_new_tokens": 6}


def text_generation(seed: int = 0, **kwargs: Any) -> Any:
    from transformers import GPT2Config, GPT2LMHeadModel

    _seed(seed)
    tok = word_tokenizer("gpt2")
    config = GPT2Config(vocab_size=len(tok), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                        bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id,
                        pad_token_id=tok.eos_token_id)
    return _pipeline("text-generation", GPT2LMHeadModel(config), tok, **{**GREEDY, **kwargs})


def _no_specials(tok: Any) -> dict:
    """Random weights favour padding and unknown tokens, which decode to nothing: forbid them."""
    return {"suppress_tokens": [tok.pad_token_id, tok.bos_token_id, tok.unk_token_id]}


def _bart(seed: int) -> tuple[Any, Any]:
    from transformers import BartConfig, BartForConditionalGeneration

    _seed(seed)
    tok = word_tokenizer("seq2seq")
    config = BartConfig(vocab_size=len(tok), d_model=32, encoder_layers=2, decoder_layers=2,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=37,
                        decoder_ffn_dim=37, max_position_embeddings=64, pad_token_id=tok.pad_token_id,
                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                        decoder_start_token_id=tok.eos_token_id, forced_bos_token_id=None,
                        forced_eos_token_id=None)
    return BartForConditionalGeneration(config), tok


def _t5(seed: int) -> tuple[Any, Any]:
    from transformers import T5Config, T5ForConditionalGeneration

    _seed(seed)
    tok = word_tokenizer("seq2seq")
    config = T5Config(vocab_size=len(tok), d_model=32, d_kv=16, d_ff=37, num_layers=2, num_decoder_layers=2,
                      num_heads=2, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                      decoder_start_token_id=tok.pad_token_id)
    return T5ForConditionalGeneration(config), tok


def summarization(seed: int = 0, arch: str = "bart", **kwargs: Any) -> Any:
    """transformers 4 only (5 removed the pipeline)."""
    model, tok = (_bart if arch == "bart" else _t5)(seed)
    return _pipeline("summarization", model, tok, **{**GREEDY, **_no_specials(tok), **kwargs})


def translation(seed: int = 0, arch: str = "t5", **kwargs: Any) -> Any:
    """English to French; transformers 4 only (5 removed the pipeline)."""
    model, tok = (_bart if arch == "bart" else _t5)(seed)
    return _pipeline("translation_en_to_fr", model, tok, **{**GREEDY, **_no_specials(tok), **kwargs})


def question_answering(seed: int = 0, **kwargs: Any) -> Any:
    """transformers 4 only (5 removed the pipeline)."""
    from transformers import BertForQuestionAnswering

    _seed(seed)
    tok = word_tokenizer("bert")
    return _pipeline("question-answering", BertForQuestionAnswering(bert_config(tok)), tok, **kwargs)


def sentence_transformer(folder: str | Path, seed: int = 0, **kwargs: Any) -> Any:
    """A SentenceTransformer made of a tiny BertModel (saved to `folder`) and mean pooling."""
    from sentence_transformers import SentenceTransformer
    from transformers import BertModel

    try:  # sentence-transformers 6 moved the module classes
        from sentence_transformers.sentence_transformer import modules
    except ImportError:
        from sentence_transformers import models as modules

    _seed(seed)
    folder = Path(folder)
    tok = word_tokenizer("bert")
    bert = BertModel(bert_config(tok))
    bert.save_pretrained(folder)
    tok.save_pretrained(folder)
    word = modules.Transformer(str(folder), max_seq_length=32)
    dim = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
    pooling = modules.Pooling(dim(), pooling_mode="mean")
    return SentenceTransformer(modules=[word, pooling], device="cpu", **kwargs)
