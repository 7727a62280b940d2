"""`python -m jupyter_mreg check [--repair]`: what a user sees on the command line."""

from __future__ import annotations

import subprocess
import sys

from jupyter_mreg import Session
from jupyter_mreg.registry import Registry
from tests.conftest import run_check


def test_check_reports_orphans_and_repair_removes_them(tmp_path, churn, pipe):
    home = tmp_path / "reg"
    session = Session.builder.configs({"home": str(home)}).create()
    reg = Registry(session=session, database_name="D", create=True)
    reg.log_model(pipe, model_name="m", version_name="v1", sample_input_data=churn[0].head())
    stray = tmp_path / "stray.bin"
    stray.write_bytes(b"left behind by an interrupted log_model")
    session.artifacts.put_file(stray)
    code, out = run_check(home)
    assert code == 0, out  # garbage is not damage
    assert "reclaimable: 1 object(s) no version uses (39 bytes)" in out
    assert f"check --repair --home {home}" in out, out
    code, out = run_check(home, "--repair")
    assert code == 0 and "repaired" in out, out
    code, out = run_check(home)
    assert code == 0 and "OK: nothing wrong." in out
    assert reg.get_model("m").version("v1").load() is not None


def test_check_refuses_a_folder_without_a_registry(tmp_path):
    code, out = run_check(tmp_path / "nothing")
    assert code == 2 and "No registry at" in out
    assert not (tmp_path / "nothing").exists()


def test_check_help():
    result = subprocess.run([sys.executable, "-m", "jupyter_mreg", "check", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--repair" in result.stdout
