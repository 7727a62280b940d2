"""OpenAI-style chat signatures, as `snowflake.ml.model.openai_signatures` defines them.

A chat model's `__call__` takes a `messages` column, one conversation per row (a list of
`{"role": ..., "content": ...}`), and returns one OpenAI chat completion per row: `id`, `object`, `created`,
`model`, `choices` (a list of `{index, message: {content, name, role}, logprobs, finish_reason}`) and `usage`
(`{completion_tokens, prompt_tokens, total_tokens}`). A Hugging Face text-generation pipeline whose tokenizer
has a chat template gets `OPENAI_CHAT_WITH_PARAMS_SIGNATURE` by default, as in Snowflake; pass another of these
as `signatures=` to choose.

The `..._WITH_CONTENT_FORMAT_STRING` variants take `content` as a string; the others as a list of content
parts (`{"type": "text", "text": ...}`; only text parts are read here). In the `..._WITH_PARAMS` variants the
generation settings are params (`run(..., params={"max_completion_tokens": 50})`), in the others input
columns. Snowflake's `response_format` (structured output) is left out: jupyter_mreg has no ParamGroupSpec.
"""

from __future__ import annotations

from jupyter_mreg.model.signatures.specs import FeatureGroupSpec, FeatureSpec, ModelSignature, ParamSpec
from jupyter_mreg.model.signatures.types import DataType

_S, _D = DataType.STRING, DataType.DOUBLE

_CONTENT_PARTS = FeatureGroupSpec("content", [
    FeatureSpec("type", _S),
    FeatureSpec("text", _S),
    FeatureGroupSpec("image_url", [FeatureSpec("url", _S), FeatureSpec("detail", _S)]),
    FeatureGroupSpec("video_url", [FeatureSpec("url", _S)]),
    FeatureGroupSpec("input_audio", [FeatureSpec("data", _S), FeatureSpec("format", _S)]),
], shape=(-1,))


def _messages(content: FeatureSpec | FeatureGroupSpec) -> FeatureGroupSpec:
    return FeatureGroupSpec("messages", [content, FeatureSpec("name", _S), FeatureSpec("role", _S),
                                         FeatureSpec("title", _S)], shape=(-1,))


# (name, type, default when a param, shape): the generation settings, as columns or as params.
_SETTINGS = (("temperature", _D, 1.0, None), ("max_completion_tokens", DataType.INT64, 250, None),
             ("stop", _S, [], (-1,)), ("n", DataType.INT32, 1, None), ("stream", DataType.BOOL, False, None),
             ("top_p", _D, 1.0, None), ("frequency_penalty", _D, 0.0, None), ("presence_penalty", _D, 0.0, None))
SETTING_NAMES = tuple(name for name, *_ in _SETTINGS)

_OUTPUTS = [
    FeatureSpec("id", _S),
    FeatureSpec("object", _S),
    FeatureSpec("created", DataType.FLOAT),
    FeatureSpec("model", _S),
    FeatureGroupSpec("choices", [
        FeatureSpec("index", DataType.INT32),
        FeatureGroupSpec("message", [FeatureSpec("content", _S), FeatureSpec("name", _S), FeatureSpec("role", _S)]),
        FeatureSpec("logprobs", _S),
        FeatureSpec("finish_reason", _S),
    ], shape=(-1,)),
    FeatureGroupSpec("usage", [FeatureSpec("completion_tokens", DataType.INT32),
                               FeatureSpec("prompt_tokens", DataType.INT32),
                               FeatureSpec("total_tokens", DataType.INT32)]),
]


def _signature(content: FeatureSpec | FeatureGroupSpec, with_params: bool) -> ModelSignature:
    if with_params:
        return ModelSignature(inputs=[_messages(content)], outputs=list(_OUTPUTS),
                              params=[ParamSpec(n, t, d, shape=s) for n, t, d, s in _SETTINGS])
    return ModelSignature(inputs=[_messages(content), *(FeatureSpec(n, t, shape=s) for n, t, _, s in _SETTINGS)],
                          outputs=list(_OUTPUTS))


_OPENAI_CHAT_SIGNATURE_SPEC = _signature(_CONTENT_PARTS, with_params=False)
_OPENAI_CHAT_SIGNATURE_SPEC_WITH_CONTENT_FORMAT_STRING = _signature(FeatureSpec("content", _S), with_params=False)
_OPENAI_CHAT_SIGNATURE_WITH_PARAMS_SPEC = _signature(_CONTENT_PARTS, with_params=True)
_OPENAI_CHAT_SIGNATURE_WITH_PARAMS_SPEC_WITH_CONTENT_FORMAT_STRING = _signature(FeatureSpec("content", _S),
                                                                               with_params=True)
_OPENAI_CHAT_SIGNATURE_SPECS = (
    _OPENAI_CHAT_SIGNATURE_SPEC,
    _OPENAI_CHAT_SIGNATURE_SPEC_WITH_CONTENT_FORMAT_STRING,
    _OPENAI_CHAT_SIGNATURE_WITH_PARAMS_SPEC,
    _OPENAI_CHAT_SIGNATURE_WITH_PARAMS_SPEC_WITH_CONTENT_FORMAT_STRING,
)

OPENAI_CHAT_SIGNATURE = {"__call__": _OPENAI_CHAT_SIGNATURE_SPEC}
OPENAI_CHAT_SIGNATURE_WITH_CONTENT_FORMAT_STRING = {"__call__": _OPENAI_CHAT_SIGNATURE_SPEC_WITH_CONTENT_FORMAT_STRING}
OPENAI_CHAT_WITH_PARAMS_SIGNATURE = {"__call__": _OPENAI_CHAT_SIGNATURE_WITH_PARAMS_SPEC}
OPENAI_CHAT_WITH_PARAMS_SIGNATURE_WITH_CONTENT_FORMAT_STRING = {
    "__call__": _OPENAI_CHAT_SIGNATURE_WITH_PARAMS_SPEC_WITH_CONTENT_FORMAT_STRING}


def is_chat_signature(signature: ModelSignature) -> bool:
    """True for one of the chat signatures above (compared by value, as a recorded signature is read back)."""
    return any(signature == spec for spec in _OPENAI_CHAT_SIGNATURE_SPECS)
