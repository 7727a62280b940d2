"""The demo notebooks run clean from top to bottom, on a fresh registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))

# Text some notebooks must show once run (checked in their outputs, in this order of cells).
EXPECTED_OUTPUTS = {
    "sql_magic": [
        "showing 10 of 323 rows",                      # the headline query, limited display
        "churn_risk",                                  # PREDICT_PROBA ...:output_feature_1::FLOAT
        "CUSTOMER_CHURN",                              # SHOW MODELS
        "Statement executed successfully.",            # ALTER MODEL ... SET ALIAS
        "True",                                        # the Python API sees the alias
        "Did you mean CUSTOMER_CHURN?\n  line 2, column 12:",  # the deliberate mistake
    ],
}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_notebook_executes(notebook, tmp_path):
    env = {**os.environ, "MREG_HOME": str(tmp_path / "registry")}
    result = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--output-dir",
         str(tmp_path), "--ExecutePreprocessor.timeout=300", str(notebook)],
        check=False, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / notebook.name).is_file()
    cells = json.loads((tmp_path / notebook.name).read_text())["cells"]
    shown = [_text(cell) for cell in cells if cell["cell_type"] == "code"]
    position = 0
    for expected in EXPECTED_OUTPUTS.get(notebook.stem, []):
        found = next((i for i in range(position, len(shown)) if expected in shown[i]), None)
        assert found is not None, f"{expected!r} not shown after code cell {position}"
        position = found


def _text(cell: dict) -> str:
    """A code cell's outputs as text (text/plain of results, streams, errors)."""
    parts = []
    for output in cell.get("outputs", []):
        if "data" in output:
            parts.append("".join(output["data"].get("text/plain", "")))
        parts.append("".join(output.get("text", "")))
        parts.append(output.get("evalue", ""))
    return "\n".join(parts)
