"""Every Python block of the README runs as written: the reader's own objects (`pipe`, `X_train`, `input_df`)
are a fitted pipeline and its data, and the registry path is a temporary folder."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_python_blocks():
    assert BLOCKS, "README.md has no ```python block: this test would check nothing"


def test_every_readme_python_block_runs_as_written(tmp_path, churn, pipe):
    X_train, _ = churn
    namespace = {"pipe": pipe, "X_train": X_train, "input_df": X_train.tail(50)}
    for block in BLOCKS:
        code = block.replace("/path/to/registry", str(tmp_path / "registry"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the block pins scikit-learn==1.5.0 on purpose
            exec(compile(code, str(README), "exec"), namespace)
    # What the first block leaves: one version of the model, and the predictions of `run`.
    assert [v.version_name for v in namespace["reg"].get_model("customer_churn").versions()] == ["V1"]
    out = namespace["mv"].run(namespace["input_df"], function_name="predict")
    assert out.index.equals(pd.RangeIndex(50))
    assert (out["output_feature_0"].to_numpy() == pipe.predict(namespace["input_df"])).all()
