"""Wording shared by the signature code: name listings in errors, and warnings that point at the caller."""

from __future__ import annotations

import sys
import warnings
from typing import Any, Iterable

# How many values / columns an error message shows before it says "... and N more".
MAX_LISTED = 30

_OUR_MODULES = __name__.rpartition(".")[0] + "."


def listing(items: Iterable[Any]) -> str:
    """`['a', 'b', ... and N more]`: the reprs of the first MAX_LISTED items."""
    items = list(items)
    shown = ", ".join(repr(x) for x in items[:MAX_LISTED])
    more = f", ... and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return f"[{shown}{more}]"


def warn(message: str, category: type[Warning] = UserWarning, *, outside: str = _OUR_MODULES) -> None:
    """A warning pointing at the first caller whose module name does not start with `outside` (by default
    the signature code, so the user's or the registry's line; "jupyter_mreg." for the user's line)."""
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(outside):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
