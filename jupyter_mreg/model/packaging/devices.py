"""`load(options=...)` checked, and the device a model is loaded on decided, the same way for every framework.

Every handler accepts `device` ("cpu", "cuda", "cuda:1", "mps") and Snowflake's `use_gpu`; a handler's own
`load_options` add to these. A GPU asked for where the framework sees none is refused with the two ways
out (the CPU, or `force=True`); with `force` the model loads on the CPU with a warning. A version logged
with `options={"use_gpu": True}` loads on the GPU when there is one, else on the CPU.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from jupyter_mreg.errors import EnvironmentMismatchError, InvalidArgumentError

COMMON_LOAD_OPTIONS = frozenset({"device", "use_gpu"})
_DEVICE = re.compile(r"^(cpu|mps|(cuda|gpu)(:\d+)?)$")


def resolve_load_options(options: dict | None, handler: type, recorded: dict, *, force: bool, what: str) -> dict:
    """A copy of `options`, checked, with `device` set; `recorded` are the options the version was logged with."""
    out = dict(options or {})
    known = COMMON_LOAD_OPTIONS | set(handler.load_options)
    unknown = sorted(str(k) for k in out if k not in known)
    if unknown:
        raise InvalidArgumentError(
            f"Unknown load option(s) {', '.join(repr(k) for k in unknown)} for {what} (a {handler.name} model). "
            f"Known load options: {', '.join(sorted(known))}."
        )
    device = _requested_device(out, what)
    if device is None:
        wants_gpu = bool(recorded.get("use_gpu"))
        device = "cuda" if wants_gpu and handler.gpu_available() else "cpu"
    elif device != "cpu" and not handler.gpu_available():
        message = (
            f"Cannot load {what} on device {device!r}: {handler.name} sees no GPU in this process (no CUDA "
            "device, or a CPU-only build of the framework)."
        )
        if not force:
            raise EnvironmentMismatchError(
                f"{message} Load it on the CPU with load(options={{'device': 'cpu'}}), or pass force=True to fall "
                "back to the CPU."
            )
        warnings.warn(f"{message} Loading it on the CPU because force=True.", RuntimeWarning, stacklevel=4)
        device = "cpu"
    out["device"] = device
    out.pop("use_gpu", None)
    return out


def _requested_device(options: dict, what: str) -> str | None:
    device: Any = options.get("device")
    use_gpu = options.get("use_gpu")
    if use_gpu is not None and not isinstance(use_gpu, bool):
        raise InvalidArgumentError(f"Load option use_gpu for {what} must be True or False, got {use_gpu!r}.")
    if device is None:
        return "cuda" if use_gpu else ("cpu" if use_gpu is False else None)
    text = str(device).strip().lower()
    if not _DEVICE.match(text):
        raise InvalidArgumentError(
            f"Load option device={device!r} for {what} is not a device: expected 'cpu', 'cuda', 'cuda:<n>' or "
            "'mps'."
        )
    if use_gpu is False and text != "cpu":
        raise InvalidArgumentError(f"Load options for {what} contradict each other: device={device!r} and use_gpu=False.")
    return text.replace("gpu", "cuda")
