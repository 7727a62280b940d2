"""`CodePath`: a `code_paths` entry that copies only part of a folder, as in snowflake-ml-python.

    CodePath("project/src")                        # code/src/
    CodePath("project/src", filter="utils")        # code/utils/
    CodePath("project/src", filter="lib/helpers")  # code/lib/helpers/

Checked and copied by `jupyter_mreg.model.packaging.files` when the model is logged.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodePath:
    """`root`: a file or folder (absolute, or relative to the current directory). `filter`: a relative path
    under a folder `root` to copy instead of all of it; it is also the destination under `code/`."""

    root: str
    filter: str | None = None

    def __post_init__(self) -> None:
        if self.filter == "":
            object.__setattr__(self, "filter", None)
