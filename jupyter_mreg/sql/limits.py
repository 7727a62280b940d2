"""How big and how deep a `%%mreg` cell may be before it is refused, unparsed.

sqlglot's parser and generator recurse once per level of nesting (about 25 Python frames per parenthesis)
and hold the whole tree in memory (a 1 MB cell of one long IN list takes about 15 s and 800 MB to run), so
a cell is measured first: its size in characters, and the depth of its parentheses, brackets and braces
outside strings and comments. Both limits can be changed per call (`execute(..., max_cell_chars=...,
max_nesting_depth=...)`) or for a notebook (`%config MregMagic.max_cell_chars = ...`,
`%config MregMagic.max_nesting_depth = ...`).
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from jupyter_mreg.sql.errors import SqlError

MAX_CELL_CHARS = 1_000_000
MAX_NESTING_DEPTH = 256

# Python frames sqlglot spends per level of nesting (measured: 11 for subqueries, 20 for parentheses, 24 for
# nested function calls), with room to spare.
_FRAMES_PER_LEVEL = 40
_FRAMES_SPARE = 300


def check_size(text: str, max_chars: int, what: str = "The cell") -> None:
    if len(text) > max_chars:
        raise SqlError(f"{what} has {len(text):,} characters; %%mreg reads at most {max_chars:,} "
                       f"(MAX_CELL_CHARS). Put long lists of values in a DataFrame and join it, or raise the limit: "
                       "%config MregMagic.max_cell_chars = N (execute(..., max_cell_chars=N)).")


def too_deep(text: str, position: int, max_depth: int) -> SqlError:
    return SqlError(f"This statement nests parentheses more than {max_depth} deep (MAX_NESTING_DEPTH); %%mreg "
                    "does not read it. Use CTEs (WITH ...) to flatten it, or raise the limit: "
                    "%config MregMagic.max_nesting_depth = N (execute(..., max_nesting_depth=N)).",
                    sql=text, position=position)


def too_complex(text: str, offset: int) -> SqlError:
    """A statement whose tree outgrew Python's recursion limit (deep nesting without parentheses, such as
    NOT NOT ... or a very long chain of operators)."""
    return SqlError("This statement is nested too deeply for %%mreg to read (Python's recursion limit was "
                    "reached): use CTEs (WITH ...) or a DataFrame to make it flatter.", sql=text, position=offset)


@contextmanager
def recursion_budget(depth: int) -> Iterator[None]:
    """Let sqlglot recurse deep enough for a statement whose nesting is `depth` (already checked against the
    limit): raise Python's recursion limit for the duration when the default is too low, then put it back."""
    frame, used = sys._getframe(), 0
    while frame is not None:
        frame, used = frame.f_back, used + 1
    needed = used + depth * _FRAMES_PER_LEVEL + _FRAMES_SPARE
    before = sys.getrecursionlimit()
    if needed <= before:
        yield
        return
    sys.setrecursionlimit(needed)
    try:
        yield
    finally:
        if sys.getrecursionlimit() == needed:  # another thread may have changed it since: leave theirs
            sys.setrecursionlimit(before)
