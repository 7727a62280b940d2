"""A registry on a read-only location (a read-only mount, a folder this user may not write) and a registry
opened with `read_only=True`: every read works (listings, metrics, load, run, `%%mreg` queries, SHOW), every
write raises `ReadOnlyError` before doing any work, and no file of the registry changes.

The locations are real: a read-only bind mount in a private mount namespace (`unshare -m`, as root), and a
registry made read-only with `chmod -R a-w` read by the unprivileged user `nobody` (`setpriv`). Root may write
into a chmod'ed folder, so the first case needs the mount; a plain user meets the second in practice.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap
from functools import cache
from pathlib import Path

import pytest

from jupyter_mreg import Session
from jupyter_mreg.errors import ReadOnlyError, StorageError
from jupyter_mreg.registry import Registry
from jupyter_mreg.sql import execute
from jupyter_mreg.store import Catalog, migrations

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_0_1 = ROOT / "tests" / "fixtures" / "registry_0_1"
NOBODY = 65534

# Shared by the process that builds the registry and the processes that read it read-only.
COMMON = textwrap.dedent("""
    import json, os, sys
    import numpy as np, pandas as pd
    from sklearn.linear_model import LogisticRegression
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry
    from jupyter_mreg.sql import execute

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})
    MODEL = LogisticRegression().fit(X, [0, 0, 0, 1, 1, 1])

    def reads(reg):
        model = reg.get_model("churn")
        mv = model.version("production")
        session = reg.session
        return {
            "models": reg.show_models()[["name", "default_version_name", "versions", "aliases", "comment"]]
                .to_dict("records"),
            "versions": model.show_versions()[["name", "aliases", "is_default_version", "comment", "metadata"]]
                .to_dict("records"),
            "functions": sorted(f["name"] for f in mv.show_functions()),
            "metrics": mv.show_metrics(),
            "predict": mv.load().predict(X).tolist(),
            "run": mv.run(X, function_name="predict_proba").round(9).values.tolist(),
            "sql": execute("SELECT a, MYDB.ML.CHURN!PREDICT(*):output_feature_0 AS p FROM X ORDER BY a", {"X": X},
                           session=session).to_dict("list"),
            "show": execute("SHOW MODELS IN SCHEMA MYDB.ML", {}, session=session)["name"].tolist(),
        }
""")

BUILD = COMMON + textwrap.dedent("""
    home, expected, state = sys.argv[1:4]
    session = Session.builder.configs({"home": home}).create()
    reg = Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    mv = reg.log_model(MODEL, model_name="churn", version_name="v1", sample_input_data=X, metrics={"accuracy": 0.9},
                       comment="first")
    mv.set_alias("production")
    with open(expected, "w") as f:
        json.dump(reads(reg), f, default=str)
    if state == "open":
        os._exit(0)  # a kernel still running (or killed): the -wal and -shm files stay, the -wal holds changes
    session.catalog.dispose()  # a clean close: the last connection checkpoints and removes -wal and -shm
""")

READ = COMMON + textwrap.dedent("""
    import jupyter_mreg.model.packaging.package as package

    def packaged(*args, **kwargs):
        raise AssertionError("log_model packaged the model before refusing to write")

    package.save_package = packaged
    home = sys.argv[1]
    session = Session.builder.configs({"home": home}).create()
    reg = Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    out = {"reads": reads(reg)}
    out.update(read_only=session.read_only, cache=str(session.cache_dir), writes={})
    mv = reg.get_model("churn").version("v1")
    writes = {
        "log_model": lambda: reg.log_model(MODEL, model_name="churn", version_name="v2", sample_input_data=X),
        "set_alias": lambda: mv.set_alias("staging"),
        "set_comment": lambda: setattr(mv, "comment", "changed"),
        "delete_model": lambda: reg.delete_model("churn"),
        "sql_alter": lambda: execute("ALTER MODEL MYDB.ML.CHURN SET COMMENT = 'changed'", {}, session=session),
    }
    for name, write in writes.items():
        try:
            write()
            out["writes"][name] = None
        except Exception as exc:
            out["writes"][name] = [type(exc).__name__, str(exc)]
    print(json.dumps(out, default=str))
""")


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MREG_HOME", "XDG_CACHE_HOME")}
    env.update(PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1", **extra)
    return env


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder`: its SHA-256 (a folder: "dir")."""
    found = {}
    for path in sorted(folder.rglob("*")):
        rel = str(path.relative_to(folder))
        found[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def build(home: Path, expected: Path, state: str) -> dict:
    result = _run([sys.executable, "-c", BUILD, str(home), str(expected), state], env=_env())
    assert result.returncode == 0, result.stderr
    wal = {p.name for p in home.iterdir() if p.name.startswith("catalog.db-")}
    assert wal == ({"catalog.db-wal", "catalog.db-shm"} if state == "open" else set())
    if state == "open":
        assert (home / "catalog.db-wal").stat().st_size > 0  # changes not yet in catalog.db itself
    return json.loads(expected.read_text())


# --- how the reader is made read-only ---------------------------------------------------------------------
@cache
def _mount_available() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    probe = tempfile.mkdtemp()
    try:
        result = _run(["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$1" "$1" && ! touch "$1/x" 2>/dev/null',
                       "sh", probe])
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    return None if result.returncode == 0 else f"no read-only bind mount in a private mount namespace: {result.stderr}"


@cache
def _nobody_available() -> str | None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return "running as user nobody needs root and setpriv"
    result = _run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable, "-c",
                   "import jupyter_mreg.registry, sklearn"], env=_env(), cwd="/")
    return None if result.returncode == 0 else f"user nobody cannot run this Python and package: {result.stderr}"


def read_mounted(home: Path, scratch: Path, *args: str) -> subprocess.CompletedProcess:
    """`python args...` as root, with `home` a read-only bind mount (in a mount namespace of its own)."""
    script = 'mount --bind -o ro "$1" "$1" && shift && exec "$@"'
    return _run(["unshare", "-m", "sh", "-c", script, "sh", str(home), sys.executable, *args],
                env=_env(XDG_CACHE_HOME=str(scratch / "xdg")))


def read_as_nobody(home: Path, scratch: Path, *args: str) -> subprocess.CompletedProcess:
    """`python args...` as user nobody, with `home` made read-only for everyone (chmod -R a-w)."""
    for path in [home, *home.rglob("*")]:
        path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o222)
    nobody_home = scratch / "nobody"
    nobody_home.mkdir(exist_ok=True)
    os.chown(nobody_home, NOBODY, NOBODY)
    return _run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", sys.executable, *args],
                env=_env(HOME=str(nobody_home), USER="nobody"), cwd="/")


READERS = {"mount": (read_mounted, _mount_available), "nobody": (read_as_nobody, _nobody_available)}


@pytest.fixture(params=list(READERS))
def reader(request):
    """(name, how to run `python args...` on a registry made read-only that way); skips when this machine
    cannot make it read-only that way."""
    read, available = READERS[request.param]
    why_not = available()
    if why_not:
        pytest.skip(f"{request.param}: {why_not}")
    return request.param, read


@pytest.fixture
def shared_dir():
    """A folder user nobody may enter (pytest's own tmp folders are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="mreg-readonly-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(stat.S_IMODE(path.stat().st_mode) | 0o700)
    shutil.rmtree(folder)


@pytest.mark.parametrize("state", ["open", "closed"])
def test_hardening_read_only_location_reads_and_refuses_writes(reader, state, shared_dir, tmp_path):
    kind, read = reader
    home = shared_dir / "registry"
    expected = build(home, tmp_path / "expected.json", state)
    before = snapshot(home)

    result = read(home, shared_dir, "-c", READ, str(home))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])

    assert out["read_only"] is True
    assert out["reads"] == expected
    assert out["reads"]["metrics"] == {"accuracy": 0.9} and out["reads"]["show"] == ["CHURN"]
    cache = Path(out["cache"])
    assert home not in cache.parents and shared_dir in cache.parents  # the per-user cache, outside the home
    assert any(cache.iterdir())  # load() unpacked the version there
    why = "read-only file system" if kind == "mount" else "may not write"
    for name, error in out["writes"].items():
        assert error is not None, f"{name} succeeded on a read-only registry"
        error_type, message = error
        assert error_type == "ReadOnlyError", (name, error)
        assert f"The registry at {home} is read-only" in message and why in message and "Fix:" in message, message
    assert snapshot(home) == before  # not one byte of the registry changed, nothing was added


def test_hardening_read_only_location_check_reports_and_refuses_repair(reader, shared_dir, tmp_path):
    _, read = reader
    home = shared_dir / "registry"
    build(home, tmp_path / "expected.json", "closed")
    before = snapshot(home)
    checked = read(home, shared_dir, "-m", "jupyter_mreg", "check", "--home", str(home))
    assert checked.returncode == 0 and "OK: nothing wrong." in checked.stdout, checked.stderr
    repaired = read(home, shared_dir, "-m", "jupyter_mreg", "check", "--repair", "--home", str(home))
    assert repaired.returncode == 2 and "Traceback" not in repaired.stderr, repaired.stderr
    assert f"Cannot repair the registry at {home}: it is read-only" in repaired.stderr
    assert snapshot(home) == before


# --- read_only=True on a writable folder, in this process -------------------------------------------------
@pytest.fixture
def built(tmp_path):
    """A closed registry (no -wal/-shm) and what its reads return."""
    home = tmp_path / "registry"
    return home, build(home, tmp_path / "expected.json", "closed")


def _ro_session(home: Path) -> Session:
    return Session.builder.configs({"home": str(home), "read_only": True}).create()


def _allowed_new_files(before: dict, after: dict) -> None:
    """Every file there before is unchanged; the only new entries may be SQLite's own coordination files,
    which any reader of a WAL database makes when no other process has them open: an empty -wal (no change
    to the catalog) and the -shm index."""
    assert {k: v for k, v in after.items() if k in before} == before
    added = set(after) - set(before)
    assert added <= {"catalog.db-wal", "catalog.db-shm"}, added
    if "catalog.db-wal" in added:
        assert after["catalog.db-wal"] == hashlib.sha256(b"").hexdigest()


def test_hardening_read_only_config_reads_and_refuses_writes(built, monkeypatch, tmp_path):
    home, expected = built
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    before = snapshot(home)
    session = _ro_session(home)
    assert session.read_only is True
    reg = Registry(session=session, database_name="MYDB", schema_name="ML", create=True)
    mv = reg.get_model("churn").version("production")
    assert mv.show_metrics() == {"accuracy": 0.9}
    assert reg.show_models()["name"].tolist() == ["CHURN"]
    assert mv.load().predict(_X()).tolist() == expected["predict"]
    assert mv.run(_X(), function_name="predict_proba").round(9).values.tolist() == expected["run"]
    assert execute("SELECT a, MYDB.ML.CHURN!PREDICT(*):output_feature_0 AS p FROM X ORDER BY a", {"X": _X()},
                   session=session).to_dict("list") == expected["sql"]
    assert session.cache_dir.is_relative_to(tmp_path / "xdg")

    from jupyter_mreg.model.packaging import package

    monkeypatch.setattr(package, "save_package", lambda *a, **k: pytest.fail("packaged before refusing"))
    for write in (lambda: reg.log_model(object(), model_name="other", version_name="v1"),
                  lambda: mv.set_alias("staging"),
                  lambda: reg.get_model("churn").set_tag("owner", "me"),
                  lambda: execute("ALTER MODEL MYDB.ML.CHURN SET COMMENT = 'changed'", {}, session=session),
                  lambda: execute("DROP MODEL MYDB.ML.CHURN", {}, session=session)):
        with pytest.raises(ReadOnlyError) as caught:
            write()
        message = str(caught.value)
        assert f"The registry at {home} is read-only" in message and "read_only" in message and "Fix:" in message
    session.close()
    _allowed_new_files(before, snapshot(home))  # no cache folder in the home either


def test_hardening_read_only_cache_without_a_user_cache_is_a_private_temp_folder(built, monkeypatch, tmp_path):
    home, _ = built
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # no cache folder can be made there
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    planted = tmp_path / "tmp" / f"jupyter_mreg-{os.geteuid()}"
    planted.mkdir()
    planted.chmod(0o777)  # anyone could put files there for load() to unpickle: not used
    cache = _ro_session(home).cache_dir
    assert cache.parent.parent == tmp_path / "tmp" and cache.parent != planted
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    planted.chmod(0o700)  # this user's own and closed to others: used
    assert _ro_session(home).cache_dir.parent == planted


def test_hardening_read_only_registry_on_a_missing_schema_creates_nothing(built, monkeypatch, tmp_path):
    home, _ = built
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    before = snapshot(home)
    session = _ro_session(home)
    reg = Registry(session=session, database_name="OTHER", schema_name="S", create=True)  # a writable one creates it
    assert reg.show_models().empty and reg.models() == []
    assert execute("SHOW MODELS IN ACCOUNT", {}, session=session)["name"].tolist() == ["CHURN"]
    _allowed_new_files(before, snapshot(home))


def test_hardening_read_only_magic_shows_the_error_cleanly(built, monkeypatch, tmp_path):
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    home, _ = built
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_mreg")
    shell.user_ns["ro"] = _ro_session(home)
    try:
        with capture_output() as captured:
            result = shell.run_cell("%%mreg -s ro\nALTER MODEL MYDB.ML.CHURN SET COMMENT = 'x'")
    finally:
        del shell.user_ns["ro"]
    assert isinstance(result.error_in_exec, UsageError)
    shown = captured.stdout + captured.stderr
    assert f"The registry at {home} is read-only" in shown and "Traceback" not in shown


def _X():
    import pandas as pd

    return pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]})


# --- the catalog alone --------------------------------------------------------------------------------------
def test_hardening_read_only_catalog_never_creates_a_missing_one(tmp_path):
    path = tmp_path / "nothing" / "catalog.db"
    with pytest.raises(StorageError, match="no catalog at") as caught:
        Catalog(f"sqlite:///{path}", read_only=True)
    assert str(path) in str(caught.value)
    assert not path.parent.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()  # a database without a catalog in it
    with pytest.raises(StorageError, match="no catalog at"):
        Catalog(f"sqlite:///{empty}", read_only=True)
    assert empty.stat().st_size == 0


def test_hardening_read_only_catalog_reads_and_write_raises(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    writable = Catalog(url)
    with writable.write() as conn:
        conn.exec_driver_sql("INSERT INTO databases (name, created_on) VALUES ('D', '2024-01-01')")
    reader = Catalog(url, read_only=True)  # the same URL in the same process: its own engine
    with reader.read() as conn:
        assert conn.exec_driver_sql("SELECT name FROM databases").scalars().all() == ["D"]
    with pytest.raises(ReadOnlyError):  # even a write slipped into a read transaction is refused
        with reader.read() as conn:
            conn.exec_driver_sql("INSERT INTO databases (name, created_on) VALUES ('E', '2024-01-01')")
    with pytest.raises(ReadOnlyError, match="read-only"):
        with reader.write():
            pass
    with writable.write() as conn:  # the read-write catalog on the same URL still writes
        conn.exec_driver_sql("INSERT INTO databases (name, created_on) VALUES ('F', '2024-01-01')")
    with reader.read() as conn:
        assert conn.exec_driver_sql("SELECT name FROM databases ORDER BY name").scalars().all() == ["D", "F"]
    reader.dispose()
    writable.dispose()


def test_hardening_read_only_catalog_of_an_older_schema_says_upgrade_once(tmp_path):
    copy = tmp_path / "registry"
    shutil.copytree(FIXTURE_0_1, copy)
    before = snapshot(copy)
    with pytest.raises(StorageError) as caught:
        Catalog(f"sqlite:///{copy / 'catalog.db'}", read_only=True)
    message = str(caught.value)
    assert "schema version 1" in message and f"reads schema versions {migrations.READABLE_SINCE} to" in message
    assert "read-write" in message and "Fix:" in message
    assert snapshot(copy) == before  # not upgraded, no -wal or -shm: the 0.1 catalog is not in WAL mode


def test_hardening_read_only_catalog_of_a_newer_schema_says_upgrade_jupyter_mreg(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    Catalog(url).dispose()
    with sqlite3.connect(tmp_path / "catalog.db") as db:
        db.execute("INSERT INTO mreg_schema (version) VALUES (?)", (migrations.LATEST_VERSION + 1,))
    db.close()
    with pytest.raises(StorageError, match="pip install -U jupyter_mreg"):
        Catalog(url, read_only=True)


def test_hardening_read_only_postgres_catalog(empty_postgres):
    with pytest.raises(StorageError, match="no catalog at"):
        Catalog(empty_postgres, read_only=True)
    writable = Catalog(empty_postgres)
    with writable.write() as conn:
        conn.exec_driver_sql("INSERT INTO databases (name, created_on) VALUES ('D', '2024-01-01')")
    reader = Catalog(empty_postgres, read_only=True)
    with reader.read() as conn:
        assert conn.exec_driver_sql("SELECT name FROM databases").scalars().all() == ["D"]
    with pytest.raises(ReadOnlyError, match="read-only"):  # the server refuses: a READ ONLY transaction
        with reader.read() as conn:
            conn.exec_driver_sql("INSERT INTO databases (name, created_on) VALUES ('E', '2024-01-01')")
    with pytest.raises(ReadOnlyError):
        with reader.write():
            pass
    reader.dispose()
    writable.dispose()


def test_hardening_read_only_reads_a_catalog_of_the_previous_schema(built, monkeypatch, tmp_path):
    """A catalog the previous release wrote (schema 2: before `catalog_info` and `freed_objects`) is read
    read-only as it is, not refused for want of an upgrade that only adds tables reads do without."""
    home, expected = built
    with sqlite3.connect(home / "catalog.db") as db:
        db.execute("DROP TABLE catalog_info")
        db.execute("DROP TABLE freed_objects")
        db.execute("DELETE FROM mreg_schema WHERE version > 2")
    db.close()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    before = snapshot(home)
    session = _ro_session(home)
    mv = Registry(session=session, database_name="MYDB", schema_name="ML", create=True).get_model("churn").version("production")
    assert mv.load().predict(_X()).tolist() == expected["predict"]
    session.close()
    _allowed_new_files(before, snapshot(home))
