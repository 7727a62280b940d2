"""Hostile input through the `%%mreg` magic itself: file access is a per-cell or per-notebook choice."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.sql.test_magic import run

REFUSED = "%%mreg did not let this query read"


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "ids.csv"
    pd.DataFrame({"id": [1, 2]}).to_csv(path, index=False)
    return path


def test_hardening_allow_file_access_flag_opens_one_cell(ip, csv):
    result, shown = run(ip, f"%%mreg --allow-file-access -o out\nSELECT COUNT(*) AS n FROM read_csv('{csv}')")
    assert result.error_in_exec is None and int(ip.user_ns["out"]["n"][0]) == 2
    result, shown = run(ip, f"%%mreg out2 <<\nSELECT COUNT(*) AS n FROM read_csv('{csv}')")
    assert REFUSED in shown and "%%mreg --allow-file-access" in shown and "out2" not in ip.user_ns
    assert "Traceback" not in shown and "line 2, column 36:" in shown  # the short error, at the path
    result, _ = run(ip, f"x = %mreg --allow-file-access SELECT COUNT(*) AS n FROM read_csv('{csv}')")
    assert result.error_in_exec is None and int(ip.user_ns["x"]["n"][0]) == 2


def test_hardening_allow_file_access_setting_opens_every_cell(ip, csv):
    run(ip, "%config MregMagic.allow_file_access = True")
    result, _ = run(ip, f"%%mreg -o out\nSELECT n.id FROM new_customers n JOIN read_csv('{csv}') f ON n.id = f.id")
    assert result.error_in_exec is None and sorted(ip.user_ns["out"]["id"]) == [1, 2]
    run(ip, "%config MregMagic.allow_file_access = False")
    _, shown = run(ip, f"%%mreg\nSELECT * FROM read_csv('{csv}')")
    assert REFUSED in shown


def test_hardening_allow_file_access_is_documented(ip):
    from jupyter_mreg.sql.magic import MregMagic

    assert "--allow-file-access" in MregMagic.mreg.__doc__
    assert "allow_file_access" in MregMagic.class_traits(config=True)
    _, shown = run(ip, "%mreg --allow-file-acces SELECT 1")
    assert "%mreg has no option --allow-file-acces" in shown and "--allow-file-access." in shown


def test_hardening_input_limits_are_settings(ip):
    run(ip, "%config MregMagic.max_nesting_depth = 2")
    _, shown = run(ip, "%%mreg\nSELECT ((1)) AS a, (((2))) AS b")
    assert "nests parentheses more than 2 deep" in shown and "line 2, column 22:" in shown
    run(ip, "%config MregMagic.max_cell_chars = 10")
    _, shown = run(ip, "%mreg SELECT 12345 AS a")
    assert "%%mreg reads at most 10 (MAX_CELL_CHARS)" in shown and "%config MregMagic.max_cell_chars" in shown
