"""`capture_sample_input_data`: one representative row of `sample_input_data` kept in the package, as
snowflake-ml-python keeps it (`sample_input_data.json`, pandas "split" form), so a version shows an example
of what its methods take. On by default; `options={"capture_sample_input_data": False}` opts out (e.g. for
sensitive data)."""

from __future__ import annotations

import datetime
import json
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from jupyter_mreg.model.packaging.json_values import plain
from jupyter_mreg.model.packaging.manifest import MethodInfo

SAMPLE_INPUT_FILE = "sample_input_data.json"
SCANNED_ROWS = 100  # the row with the fewest nulls among the first ones
MAX_TEXT = 1000  # longer text is cut, as Snowflake cuts it
MAX_ELEMENTS = 100  # a cell holding a larger tensor is not captured
_CUT = "... (truncated)"


def capture_sample_row(sample_input_data: Any, methods: list[MethodInfo], root: Path) -> list[MethodInfo]:
    """Write the row to `root/sample_input_data.json` and return `methods` with `sample_input_file_path` set on
    those whose inputs are its columns. A row no method takes, or one holding a large tensor, is not kept;
    data that cannot be read as a table gives a warning. Either way the version is logged all the same."""
    from jupyter_mreg.model.signatures.frames import to_pandas

    try:
        frame = to_pandas(sample_input_data).iloc[:SCANNED_ROWS].reset_index(drop=True)
        columns = [str(c) for c in frame.columns]
        takers = {m.name for m in methods if _input_names(m) == columns}
        if frame.empty or not takers:
            return methods
        row = [_cell(v) for v in frame.iloc[int(frame.isna().sum(axis=1).idxmin())].tolist()]
        if any(isinstance(v, list) and len(v) > MAX_ELEMENTS for v in row):
            return methods
        payload = {"dataframe_split": {"index": [0], "columns": columns, "data": [row]}}
        (root / SAMPLE_INPUT_FILE).write_text(json.dumps(payload), encoding="utf-8")
    except Exception as exc:  # best effort, as in Snowflake: an example row never stops a log_model
        warnings.warn(f"Could not capture a sample input row ({exc}); the version is logged without one.",
                      UserWarning, stacklevel=3)
        return methods
    return [replace(m, sample_input_file_path=SAMPLE_INPUT_FILE) if m.name in takers else m for m in methods]


def read_sample_row(text: str) -> Any:
    """The captured row (`sample_input_data.json`'s text) as a one-row pandas DataFrame."""
    import pandas as pd

    split = json.loads(text)["dataframe_split"]
    return pd.DataFrame(split["data"], columns=split["columns"])


def _input_names(method: MethodInfo) -> list[str]:
    return [str(spec.get("name")) for spec in method.signature.get("inputs", [])]


def _cell(value: Any) -> Any:
    """A cell as JSON: NaN and bytes become null, times ISO text, long text cut."""
    import pandas as pd

    value = plain(value)
    if isinstance(value, (bytes, bytearray)) or pd.isna(value) is True:  # (a list gives an array: not True)
        return None
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat(sep=" ") if isinstance(value, datetime.datetime) else value.isoformat()
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + _CUT
    if isinstance(value, list):
        return [_cell(v) for v in value]
    if isinstance(value, dict):
        return {k: _cell(v) for k, v in value.items()}
    return value
