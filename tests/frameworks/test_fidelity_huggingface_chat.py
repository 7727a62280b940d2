"""Chat models beyond Snowflake's basics: a text-generation pipeline with a chat template gets Snowflake's
OpenAI chat signature (`messages` in, chat completions out), and any text-generation pipeline logged with one
of the chat signatures answers the same way (a `role: content` prompt without a template)."""

from __future__ import annotations

import os

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing here may reach a hub
pytest.importorskip("transformers", reason="the huggingface extra is not installed: pip install jupyter_mreg[huggingface]")
torch = pytest.importorskip("torch", reason="the huggingface extra is not installed: pip install jupyter_mreg[huggingface]")

from tests.frameworks import tiny_transformers as tt  # noqa: E402

TEMPLATE = ("{% for m in messages %}{{ m['role'] }} {{ m['content'] }}\n{% endfor %}"
            "{% if add_generation_prompt %}the{% endif %}")
CHAT = [[{"role": "user", "content": "the movie was"}],
        [{"role": "system", "content": "bob"}, {"role": "user", "content": "i love paris"}]]
OUTPUTS = ["id", "object", "created", "model", "choices", "usage"]
SETTINGS = ["temperature", "max_completion_tokens", "stop", "n", "stream", "top_p", "frequency_penalty",
            "presence_penalty"]


def _chat_pipeline(template: str | None = TEMPLATE):
    pipe = tt.text_generation()
    pipe.tokenizer.chat_template = template
    pipe.model.name_or_path = "tiny-chat"
    return pipe


def _greedy(pipe, prompt: str, max_new_tokens: int) -> tuple[str, int, int]:
    """(text, prompt tokens, new tokens up to the end token) generated greedily from `prompt`."""
    tok = pipe.tokenizer
    ids = tok(prompt, return_tensors="pt")
    with torch.no_grad():
        out = pipe.model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False,
                                  pad_token_id=tok.eos_token_id)
    new = out[0][ids["input_ids"].shape[1]:].tolist()
    if tok.eos_token_id in new:
        new = new[: new.index(tok.eos_token_id) + 1]
    return tok.decode(new, skip_special_tokens=True), ids["input_ids"].shape[1], len(new)


def _check_completions(out, pipe, prompts, max_new_tokens):
    assert list(out.columns) == OUTPUTS
    assert len(out) == len(prompts)
    for row, prompt in zip(out.to_dict(orient="records"), prompts):
        text, n_prompt, n_new = _greedy(pipe, prompt, max_new_tokens)
        assert row["id"].startswith("chatcmpl-") and row["object"] == "chat.completion"
        assert row["model"] == "tiny-chat"
        assert float(row["created"]) > 1.7e9
        [choice] = row["choices"]
        assert choice["index"] == 0 and choice["logprobs"] is None
        assert choice["message"] == {"role": "assistant", "content": text}
        assert choice["finish_reason"] == ("length" if n_new == max_new_tokens else "stop")
        assert row["usage"] == {"completion_tokens": n_new, "prompt_tokens": n_prompt,
                                "total_tokens": n_prompt + n_new}


def test_fidelity_chat_template_pipeline_gets_the_openai_chat_signature(reg):
    from jupyter_mreg.model import openai_signatures

    mv = reg.log_model(_chat_pipeline(), model_name="chat", version_name="v1")
    sig = mv.show_functions()[0]["signature"]
    assert sig == openai_signatures.OPENAI_CHAT_WITH_PARAMS_SIGNATURE["__call__"]
    assert [f.name for f in sig.inputs] == ["messages"]
    assert [f.name for f in sig.outputs] == OUTPUTS
    assert {p.name: p.default_value for p in sig.params} == {
        "temperature": 1.0, "max_completion_tokens": 250, "stop": [], "n": 1, "stream": False, "top_p": 1.0,
        "frequency_penalty": 0.0, "presence_penalty": 0.0}


def test_fidelity_chat_run_returns_one_chat_completion_per_conversation(reg):
    pipe = _chat_pipeline()
    mv = reg.log_model(pipe, model_name="chat", version_name="v1")
    out = mv.run(pd.DataFrame({"messages": CHAT}), params={"temperature": 0.0, "max_completion_tokens": 4})
    prompts = [pipe.tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in CHAT]
    _check_completions(out, pipe, prompts, 4)


def test_fidelity_content_parts_keep_their_text(reg):
    pipe = _chat_pipeline()
    mv = reg.log_model(pipe, model_name="chat", version_name="v1")
    parts = [[{"role": "user", "content": [{"type": "text", "text": "the movie was"},
                                           {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}]]
    out = mv.run(pd.DataFrame({"messages": parts}), params={"temperature": 0.0, "max_completion_tokens": 3})
    with_text = mv.run(pd.DataFrame({"messages": CHAT[:1]}), params={"temperature": 0.0, "max_completion_tokens": 3})
    assert out["choices"][0] == with_text["choices"][0]


def test_fidelity_chat_signature_without_a_template_prompts_with_role_lines(reg):
    from jupyter_mreg.model import openai_signatures

    pipe = _chat_pipeline(template=None)
    mv = reg.log_model(pipe, model_name="plain_chat", version_name="v1",
                       signatures=openai_signatures.OPENAI_CHAT_WITH_PARAMS_SIGNATURE_WITH_CONTENT_FORMAT_STRING)
    out = mv.run(pd.DataFrame({"messages": CHAT}), params={"temperature": 0.0, "max_completion_tokens": 4})
    prompts = ["user: the movie was\nassistant:", "system: bob\nuser: i love paris\nassistant:"]
    _check_completions(out, pipe, prompts, 4)


def test_fidelity_chat_settings_as_columns_without_params(reg):
    from jupyter_mreg.model import openai_signatures

    pipe = _chat_pipeline()
    mv = reg.log_model(pipe, model_name="column_chat", version_name="v1",
                       signatures=openai_signatures.OPENAI_CHAT_SIGNATURE_WITH_CONTENT_FORMAT_STRING)
    frame = pd.DataFrame({"messages": CHAT, "temperature": [0.0, 0.0], "max_completion_tokens": [2, 3],
                          "stop": [[], []], "n": [1, 1], "stream": [False, False], "top_p": [1.0, 1.0],
                          "frequency_penalty": [0.0, 0.0], "presence_penalty": [0.0, 0.0]})
    out = mv.run(frame)
    prompts = [pipe.tokenizer.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in CHAT]
    _check_completions(out.iloc[:1], pipe, prompts[:1], 2)
    _check_completions(out.iloc[1:], pipe, prompts[1:], 3)


def test_fidelity_n_choices_and_stop_strings(reg):
    pipe = _chat_pipeline()
    mv = reg.log_model(pipe, model_name="chat", version_name="v1")
    torch.manual_seed(0)
    out = mv.run(pd.DataFrame({"messages": CHAT[:1]}), params={"n": 3, "max_completion_tokens": 5})
    choices = out["choices"][0]
    assert [c["index"] for c in choices] == [0, 1, 2]
    assert all(c["message"]["role"] == "assistant" for c in choices)
    usage = out["usage"][0]
    assert 3 <= usage["completion_tokens"] <= 15  # the three choices' tokens together
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    text, _, _ = _greedy(pipe, pipe.tokenizer.apply_chat_template(CHAT[0], tokenize=False,
                                                                  add_generation_prompt=True), 6)
    stop = text.split()[2]  # a word the greedy answer reaches: cut there, the reason is "stop"
    cut = mv.run(pd.DataFrame({"messages": CHAT[:1]}),
                 params={"temperature": 0.0, "max_completion_tokens": 6, "stop": [stop]})["choices"][0][0]
    assert cut["message"]["content"] == text[: text.find(stop)]
    assert cut["finish_reason"] == "stop"


def test_fidelity_loaded_chat_pipeline_keeps_its_template_and_name(reg):
    mv = reg.log_model(_chat_pipeline(), model_name="chat", version_name="v1")
    loaded = mv.load()
    assert loaded.tokenizer.chat_template == TEMPLATE
    assert loaded.model.name_or_path == "tiny-chat"
