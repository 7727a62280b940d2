"""kill -9 at random moments of log_model leaves whole versions or none, and `check --repair` tidies up."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
import time

import pytest

from jupyter_mreg import Session
from jupyter_mreg.registry import Registry
from tests.conftest import run_check

WRITER = textwrap.dedent("""
    import os, sys
    import numpy as np, pandas as pd
    from sklearn.linear_model import LogisticRegression
    from jupyter_mreg import Session
    from jupyter_mreg.model import custom_model
    from jupyter_mreg.registry import Registry

    class WithBlob(custom_model.CustomModel):
        @custom_model.inference_api
        def predict(self, df: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame({"n": [os.path.getsize(self.context.path("blob"))] * len(df)})

    home, run = sys.argv[1], int(sys.argv[2])
    reg = Registry(Session.builder.configs({"home": home}).create(), database_name="D", schema_name="S", create=True)
    X = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 3})
    lr = LogisticRegression().fit(X, (X["a"] > 20).astype(int))
    print("ready", flush=True)
    for i in range(1000):
        blob = os.path.join(home, f"blob-{run}-{i}.bin")
        with open(blob, "wb") as f:
            f.write(os.urandom(3_000_000))  # new content each time: every log writes a new object
        reg.log_model(WithBlob(custom_model.ModelContext(blob=blob)), model_name="blobs", sample_input_data=X)
        reg.log_model(lr, model_name="lr", sample_input_data=X, metrics={"i": i})
        os.remove(blob)
""")


def _visible_versions_load(home):
    reg = Registry(Session.builder.configs({"home": str(home)}).create(), database_name="D", schema_name="S", create=True)
    count = 0
    for model in reg.models():
        for mv in model.versions():
            mv.load()
            count += 1
    return count


def test_kill_9_at_random_points_of_log_model(tmp_path):
    rng = random.Random(20261121)
    home = tmp_path / "reg"
    home.mkdir()
    loaded = 0
    for run in range(20):
        child = subprocess.Popen([sys.executable, "-c", WRITER, str(home), str(run)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert child.stdout.readline().strip() == "ready", child.stderr.read()
        time.sleep(rng.uniform(0.0, 0.6))
        child.kill()
        child.wait()
        loaded = _visible_versions_load(home)
        code, out = run_check(home, "--repair")
        assert code == 0, out
        code, out = run_check(home)
        assert code == 0 and "OK: nothing wrong." in out, out
    assert loaded > 0  # the writers did get versions in, and every one of them loads


# A kill at each step that matters, chosen by wrapping that step in the child (no hooks in the package).
PHASES = {
    "after the first object is stored": "jupyter_mreg.store.artifacts.ArtifactStore.put_file",
    "after every file is stored, before the catalog": "jupyter_mreg.store.artifacts.ArtifactStore.put_tree",
    "inside the catalog transaction, before commit": "jupyter_mreg.registry.changes._Transaction.record",
}
KILL_AT = textwrap.dedent("""
    import importlib, os, signal, sys
    import numpy as np, pandas as pd
    from sklearn.linear_model import LinearRegression
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    home, target = sys.argv[1], sys.argv[2]
    module_name, cls_name, method_name = target.rsplit(".", 2)
    cls = getattr(importlib.import_module(module_name), cls_name)
    original = getattr(cls, method_name)
    reg = Registry(Session.builder.configs({"home": home}).create(), database_name="D", schema_name="S", create=True)
    X = pd.DataFrame({"a": np.arange(10.0)})
    model = LinearRegression().fit(X, X["a"])
    if sys.argv[3:] != ["first"]:
        reg.log_model(model, model_name="m", version_name="v1", sample_input_data=X)  # one version that must survive

    def killing(*args, **kwargs):
        original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(cls, method_name, killing)
    other = LinearRegression().fit(X, X["a"] * 2)  # different files from v1's
    reg.log_model(other, model_name="m", version_name="v2", sample_input_data=X)
    print("not killed", flush=True)
""")


@pytest.mark.parametrize("phase", list(PHASES))
def test_kill_9_at_each_step_of_publishing(tmp_path, phase):
    home = tmp_path / "reg"
    result = subprocess.run([sys.executable, "-c", KILL_AT, str(home), PHASES[phase]], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == -9, result.stdout + result.stderr
    reg = Registry(Session.builder.configs({"home": str(home)}).create(), database_name="D", schema_name="S", create=True)
    assert [v.version_name for v in reg.get_model("m").versions()] == ["V1"]  # v2 left no visible trace
    assert reg.get_model("m").version("v1").load() is not None
    history = reg.get_history()
    assert "V2" not in set(history["version_name"].dropna())
    code, out = run_check(home)  # what the killed process left is garbage, not damage
    assert code == 0 and "reclaimable: " in out and "1 record(s) of interrupted uploads" in out, out
    if phase != "after the first object is stored":  # (that object may be one v1 shares, e.g. env files)
        assert "object(s) no version uses" in out, out
    code, out = run_check(home, "--repair")
    assert code == 0 and "repaired" in out, out
    code, out = run_check(home)
    assert code == 0 and "OK: nothing wrong." in out, out
    # and the registry takes the version afterwards
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"a": np.arange(10.0)})
    reg.log_model(LinearRegression().fit(X, X["a"]), model_name="m", version_name="v2", sample_input_data=X)


def test_hardening_kill_9_in_the_first_log_model_of_a_new_registry(tmp_path):
    """The first upload of a new registry, killed, leaves objects that no version references: garbage of this
    catalog, which `check --repair` removes (it used to be taken for a mistyped catalog beside another
    registry's store, exit 1, and the registry could not be tidied without --allow-empty-catalog)."""
    home = tmp_path / "reg"
    result = subprocess.run([sys.executable, "-c", KILL_AT, str(home), PHASES["after every file is stored, before the catalog"],
                             "first"], capture_output=True, text=True, timeout=120)
    assert result.returncode == -9, result.stdout + result.stderr
    code, out = run_check(home)
    assert code == 0 and "object(s) no version uses" in out and "never held a version" not in out, out
    code, out = run_check(home, "--repair")
    assert code == 0 and "removed orphaned object" in out, out
    code, out = run_check(home)
    assert code == 0 and "OK: nothing wrong." in out, out
