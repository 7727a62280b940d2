"""OpenAI-style chat completions from a Hugging Face text-generation pipeline (the `messages` signatures of
`model.openai_signatures`), answering as Snowflake's HuggingFace chat wrapper does.

Each row's conversation becomes one prompt: the tokenizer's chat template when it has one, else the
messages as `role: content` lines and a last `assistant:` line (Snowflake calls the template regardless,
which recent transformers refuse without one). Content given as parts keeps its text parts, each as its own
message of the same role. Generation follows Snowflake's mapping of the OpenAI settings: `temperature` 0 is
greedy decoding, above 0 sampling (with `top_p`); `max_completion_tokens` caps the new tokens (1024 when
unset); `frequency_penalty` p > 0 becomes `repetition_penalty` 1 + p; `n` > 1 samples n choices; `stop`
strings end a choice and are cut from its text. `stream` and `presence_penalty` are not supported and are
ignored, with a warning when set.
"""

from __future__ import annotations

import time
import uuid
import warnings
from typing import Any

import pandas as pd

_DEFAULT_MAX_TOKENS = 1024  # Snowflake's, when max_completion_tokens is not given


def chat_completions(pipe: Any, conversations: list, settings: list[dict]) -> pd.DataFrame:
    """One chat completion per conversation (a list of message dicts, plain Python values), generated with
    that row's settings (a dict of some of `openai_signatures.SETTING_NAMES`)."""
    rows = [_completion(pipe, messages, row) for messages, row in zip(conversations, settings)]
    return pd.DataFrame.from_records(rows, columns=["id", "object", "created", "model", "choices", "usage"])


def prompt(tokenizer: Any, messages: Any) -> str:
    """The conversation as one prompt string (see the module docstring)."""
    flat = []
    for message in messages or []:
        role = message.get("role") or "user"
        content = message.get("content")
        if isinstance(content, list):
            flat.extend({"role": role, "content": part.get("text") or ""} for part in content
                        if isinstance(part, dict) and part.get("type") == "text")
        else:
            flat.append({"role": role, "content": "" if content is None else str(content)})
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(flat, tokenize=False, add_generation_prompt=True)
    return "".join(f"{m['role']}: {m['content']}\n" for m in flat) + "assistant:"


def _completion(pipe: Any, messages: Any, settings: dict) -> dict:
    import torch
    import transformers

    model, tokenizer = pipe.model, pipe.tokenizer
    inputs = tokenizer(prompt(tokenizer, messages), return_tensors="pt").to(model.device)
    prompt_tokens = int(inputs["input_ids"].shape[1])
    config = _generation_config(transformers, tokenizer, settings)
    stop = [s for s in (settings.get("stop") or []) if s]
    extra = {"stopping_criteria": transformers.StoppingCriteriaList([_StopStrings(stop, tokenizer, prompt_tokens)])
             } if stop else {}
    with torch.no_grad():
        output = model.generate(**inputs, generation_config=config, **extra)
    choices, completion_tokens = [], 0
    for index, ids in enumerate(output):
        new = _strip_padding(ids[prompt_tokens:].tolist(), config.pad_token_id, config.eos_token_id)
        text = tokenizer.decode(new, skip_special_tokens=True)
        cut = min((text.find(s) for s in stop if s in text), default=-1)
        finish = "stop" if cut >= 0 or len(new) < config.max_new_tokens or (
            new and new[-1] == config.eos_token_id) else "length"
        choices.append({"index": index, "message": {"role": "assistant", "content": text[:cut] if cut >= 0 else text},
                        "logprobs": None, "finish_reason": finish})
        completion_tokens += len(new)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": str(getattr(model, "name_or_path", "") or ""),
        "choices": choices,
        "usage": {"completion_tokens": completion_tokens, "prompt_tokens": prompt_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def _generation_config(transformers: Any, tokenizer: Any, settings: dict) -> Any:
    temperature = settings.get("temperature")
    temperature = 1.0 if temperature is None else float(temperature)
    max_tokens = settings.get("max_completion_tokens")
    n = int(settings.get("n") or 1)
    eos = tokenizer.eos_token_id
    config = transformers.GenerationConfig(
        max_new_tokens=int(max_tokens) if max_tokens is not None else _DEFAULT_MAX_TOKENS,
        pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos,
        eos_token_id=eos, do_sample=temperature > 0 or n > 1, num_return_sequences=n)
    if config.do_sample:  # n > 1 with temperature 0 samples at 1.0, as Snowflake forces
        config.temperature = temperature if temperature > 0 else 1.0
        if settings.get("top_p") is not None:
            config.top_p = float(settings["top_p"])
    penalty = settings.get("frequency_penalty")
    if penalty:
        config.repetition_penalty = 1.0 + max(float(penalty), 0.0)
    for name in ("stream", "presence_penalty"):
        if settings.get(name):
            warnings.warn(f"Chat setting {name}={settings[name]!r} is not supported for a Hugging Face pipeline "
                          "and is ignored.", UserWarning, stacklevel=5)
    return config


def _strip_padding(ids: list[int], pad: Any, eos: Any) -> list[int]:
    """The new tokens up to and including the first end-of-sequence (shorter choices are padded after it)."""
    if eos is not None and eos in ids:
        return ids[: ids.index(eos) + 1]
    while ids and pad is not None and ids[-1] == pad:
        ids = ids[:-1]
    return ids


class _StopStrings:
    """Ends generation once every sequence's new text holds a stop string."""

    def __init__(self, stop: list[str], tokenizer: Any, prompt_tokens: int) -> None:
        self.stop, self.tokenizer, self.start = stop, tokenizer, prompt_tokens

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        done = [any(s in self.tokenizer.decode(row[self.start:], skip_special_tokens=True) for s in self.stop)
                for row in input_ids]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)
