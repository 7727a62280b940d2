"""A `load()` killed while it unpacks a version leaves a half-written folder in the cache; the next load
removes it at once (it is named after its dead process), never the unpack of a process still running."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from jupyter_mreg import Session
from jupyter_mreg.registry import Registry

KILLED_LOAD = textwrap.dedent("""
    import os, signal, sys
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry
    from jupyter_mreg.store.artifacts import ArtifactStore

    original = ArtifactStore.get_file
    def killing(self, *args, **kwargs):  # the first file is written, then the process dies
        original(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
    ArtifactStore.get_file = killing
    Registry(Session({"home": sys.argv[1]}), database_name="D", create=True).get_model("m").version("v1").load()
""")


def test_hardening_an_interrupted_unpack_is_removed_by_the_next_load(tmp_path):
    home = tmp_path / "reg"
    reg = Registry(Session({"home": str(home)}), database_name="D", create=True)
    X = pd.DataFrame({"a": np.arange(10.0)})
    reg.log_model(LinearRegression().fit(X, X["a"]), model_name="m", version_name="v1", sample_input_data=X)
    result = subprocess.run([sys.executable, "-c", KILLED_LOAD, str(home)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == -9, result.stderr
    cache = home / "cache"
    (left,) = [p for p in cache.iterdir() if p.name.startswith(".unpack-")]
    assert any(left.rglob("*"))  # half a version: it must not stay
    running = cache / f".unpack-inprogress-p{os.getpid()}"  # an unpack this (living) process is doing
    running.mkdir()

    assert reg.get_model("m").version("v1").load().predict(X).round(6).tolist() == X["a"].tolist()
    assert not left.exists()
    assert running.exists()
