"""Eight processes logging into one registry at once lose nothing and never duplicate a version name."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from jupyter_mreg import Session
from jupyter_mreg.registry import Registry

WRITER = textwrap.dedent("""
    import json, sys
    import numpy as np, pandas as pd
    from sklearn.linear_model import LinearRegression
    from jupyter_mreg import Session
    from jupyter_mreg.errors import AlreadyExistsError
    from jupyter_mreg.registry import Registry

    home, worker, catalog_url = sys.argv[1], int(sys.argv[2]), sys.argv[3] or None
    config = {"home": home, "user": f"w{worker}", "catalog_url": catalog_url}
    reg = Registry(Session.builder.configs(config).create(), database_name="D", create=True)
    X = pd.DataFrame({"a": np.arange(20.0) + worker})
    model = LinearRegression().fit(X, X["a"] * worker)
    won, lost, auto = [], [], []
    for i in range(5):
        try:  # every worker races for the same explicit names
            reg.log_model(model, model_name="shared", version_name=f"v{i}", sample_input_data=X, comment=str(worker))
            won.append(f"V{i}")
        except AlreadyExistsError:
            lost.append(f"V{i}")
        auto.append(reg.log_model(model, model_name="shared", sample_input_data=X, comment=str(worker)).version_name)
    print(json.dumps({"worker": worker, "won": won, "lost": lost, "auto": auto}))
""")


@pytest.mark.parametrize("catalog", ["sqlite", "postgresql"])
def test_eight_concurrent_writers(tmp_path, catalog, request):
    home = tmp_path / "reg"
    catalog_url = request.getfixturevalue("empty_postgres") if catalog == "postgresql" else ""
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(home), str(w), catalog_url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w in range(8)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    won = [name for r in results for name in r["won"]]
    auto = [name for r in results for name in r["auto"]]
    assert sorted(won) == [f"V{i}" for i in range(5)]  # each explicit name won exactly once
    assert len(auto) == 40 and len(set(auto)) == 40
    reg = Registry(Session.builder.configs({"home": str(home), "catalog_url": catalog_url or None}).create(),
                   database_name="D", create=True)
    versions = reg.get_model("shared").show_versions()
    assert len(versions) == 45 and versions["name"].is_unique
    assert set(versions["name"]) == set(won) | set(auto)
    # each version holds the model its writer logged
    for r in results:
        for name in r["won"][:1] + r["auto"][:1]:
            mv = reg.get_model("shared").version(name)
            assert mv.comment == str(r["worker"])
    assert set(reg.get_history()["user"]) >= {f"w{w}" for w in range(8)}
