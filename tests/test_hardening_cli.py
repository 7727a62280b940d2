"""A damaged catalog, and `python -m jupyter_mreg check` never answering with a traceback.

`check` runs SQLite's own integrity check of catalog.db (quick_check; integrity_check with --verify) and
reports damage with exit status 1 and one message that names the file and the fix; a failure to run at
all is one line on stderr with exit status 2. From Python, the same catalog raises `StorageError`.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from jupyter_mreg import Session
from jupyter_mreg.errors import StorageError
from jupyter_mreg.registry import Registry
from jupyter_mreg.store import ArtifactStore, Catalog
from tests.conftest import run_check


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jupyter_mreg", *args], capture_output=True, text=True,
                          timeout=120)


def _registry(home: Path) -> Registry:
    return Registry(Session.builder.configs({"home": str(home)}).create(), database_name="D", schema_name="S", create=True)


def _logged_registry(home: Path) -> None:
    """A registry with two versions, its catalog closed and its WAL checkpointed into catalog.db."""
    reg = _registry(home)
    X = pd.DataFrame({"a": np.arange(10.0)})
    for i in (1, 2):
        reg.log_model(LinearRegression().fit(X, X["a"] * i), model_name="m", version_name=f"v{i}",
                      sample_input_data=X)
    reg.session.catalog.dispose()
    con = sqlite3.connect(home / "catalog.db")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    wal = home / "catalog.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


def _damage_a_table_page(db: Path, table: str = "history") -> None:
    """Overwrite the page that holds `table`'s rows with garbage, as a bad disk sector would."""
    con = sqlite3.connect(db)
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    (page,) = con.execute("SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
    page_count = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    assert 1 < page < page_count  # a page in the middle, not the header page
    with open(db, "r+b") as f:
        f.seek((page - 1) * page_size)
        f.write(random.Random(page).randbytes(page_size))


def _artifact_files(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in (home / "artifacts").rglob("*") if p.is_file())


# -- a catalog.db that is not a database ------------------------------------------------------------------


def test_check_on_a_catalog_that_is_not_a_database_says_so_in_one_line(tmp_path):
    home = tmp_path / "reg"
    home.mkdir()
    (home / "catalog.db").write_text("these are my notes, not a database\n")
    result = _cli("check", "--home", str(home))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    (line,) = result.stderr.splitlines()
    assert str(home / "catalog.db") in line and "not a SQLite database" in line and "Fix:" in line

    debug = _cli("check", "--home", str(home), "--debug")
    assert debug.returncode == 2 and "Traceback" in debug.stderr  # for a bug report


def test_opening_a_catalog_that_is_not_a_database_from_python_raises_storage_error(tmp_path):
    home = tmp_path / "reg"
    home.mkdir()
    (home / "catalog.db").write_text("these are my notes, not a database\n")
    with pytest.raises(StorageError, match="not a SQLite database") as caught:
        _registry(home)
    assert str(home / "catalog.db") in str(caught.value)


# -- a catalog.db with a damaged page -----------------------------------------------------------------------


def test_check_reports_a_damaged_page_and_repair_removes_nothing(tmp_path):
    home = tmp_path / "reg"
    _logged_registry(home)
    ArtifactStore(str(home / "artifacts")).put_file(_write(tmp_path / "stray.bin", b"an orphan"))
    code, out = run_check(home)
    assert code == 0 and "reclaimable: 1 object(s)" in out and "is damaged" not in out, out  # before: only the orphan
    _damage_a_table_page(home / "catalog.db")
    before = _artifact_files(home)

    for args in ((), ("--verify",), ("--repair",)):
        code, out = run_check(home, *args)
        assert code == 1, out
        assert "Traceback" not in out
        assert f"catalog {home / 'catalog.db'} is damaged" in out, out
        assert "backup" in out and ".recover" in out, out
        assert "OK: nothing wrong." not in out
    assert _artifact_files(home) == before  # a damaged catalog is no basis for removing anything


def test_a_damaged_catalog_raises_storage_error_with_the_fix_from_python(tmp_path):
    home = tmp_path / "reg"
    _logged_registry(home)
    _damage_a_table_page(home / "catalog.db")
    reg = _registry(home)
    with pytest.raises(StorageError) as caught:
        reg.get_history()
    message = str(caught.value)
    assert f"{home / 'catalog.db'} is damaged" in message
    assert "backup" in message and ".recover" in message
    (line,) = Catalog(f"sqlite:///{home / 'catalog.db'}").integrity_problems()
    assert str(home / "catalog.db") in line and "quick_check" in line


def test_a_whole_catalog_has_no_integrity_problems(tmp_path):
    home = tmp_path / "reg"
    _logged_registry(home)
    catalog = Catalog(f"sqlite:///{home / 'catalog.db'}")
    assert catalog.integrity_problems() == [] and catalog.integrity_problems(full=True) == []


# -- other ways check could fail -------------------------------------------------------------------------------


def test_an_unreachable_artifact_store_is_one_line_not_a_traceback(tmp_path):
    home = tmp_path / "reg"
    _logged_registry(home)
    url = "ftp://127.0.0.1:1/store"  # nothing listens on port 1: the connection is refused
    result = _cli("check", "--home", str(home), "--artifacts-url", url)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert url in line and "Fix:" in line
    with pytest.raises(StorageError, match="refused"):
        ArtifactStore(url)


def test_check_help_still_works():
    result = _cli("check", "--help")
    assert result.returncode == 0, result.stderr
    for documented in ("--repair", "--verify", "--debug", "quick_check", "integrity_check", "PostgreSQL"):
        assert documented in result.stdout, documented


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
