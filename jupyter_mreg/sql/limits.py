"""How big a `%%mreg` cell may be before it is refused."""

from __future__ import annotations

MAX_CELL_CHARS = 1_000_000
