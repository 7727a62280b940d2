"""Where log_model stages a package, and who removes a staging that a killed log_model left behind.

A package is saved into a staging folder named after its upload (`<upload_id>.staging`): inside the
store's own `tmp/` for a local store (its files are then renamed into `objects/`, not copied), under
`<home>/tmp` for any other store; never in TMPDIR, where nothing would ever remove it. The next log_model
and `check --repair` remove an abandoned staging once it is older than the grace period; the staging of
a live upload stays.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_mreg import Session
from jupyter_mreg.errors import MregError
from jupyter_mreg.registry import Registry
from jupyter_mreg.store import ArtifactStore, Catalog, check, pending_upload, remove_abandoned_staging, tables
from jupyter_mreg.store.catalog import utcnow
from tests.conftest import run_check
from tests.store.stores import files_in, open_store, write_raw

BLOB_BYTES = 4_000_000

# Logs V1, then V2 with a 4 MB artifact file, and SIGKILLs itself once V2's first file is stored: the
# moment where all of V2's package is staged and nothing of it is published.
KILLED_MIDWAY = textwrap.dedent("""
    import os, signal, sys
    import numpy as np, pandas as pd
    from jupyter_mreg import Session
    from jupyter_mreg.model import custom_model
    from jupyter_mreg.registry import Registry
    from jupyter_mreg.store.artifacts import ArtifactStore

    class WithBlob(custom_model.CustomModel):
        @custom_model.inference_api
        def predict(self, df: pd.DataFrame) -> pd.DataFrame:
            return pd.DataFrame({"n": [os.path.getsize(self.context.path("blob"))] * len(df)})

    home, artifacts_url, blobs, size = sys.argv[1], sys.argv[2] or None, sys.argv[3], int(sys.argv[4])
    session = Session.builder.configs({"home": home, "artifacts_url": artifacts_url}).create()
    reg = Registry(session, database_name="D", schema_name="S", create=True)
    X = pd.DataFrame({"a": np.arange(5.0)})

    def log(version):
        blob = os.path.join(blobs, f"{version}.bin")
        with open(blob, "wb") as f:
            f.write(os.urandom(size))
        reg.log_model(WithBlob(custom_model.ModelContext(blob=blob)), model_name="m", version_name=version,
                      sample_input_data=X)

    log("v1")
    original = ArtifactStore.put_file

    def killing(*args, **kwargs):
        result = original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    ArtifactStore.put_file = killing
    log("v2")
    print("not killed", flush=True)
""")


def _kill_log_model_midway(tmp_path: Path, artifacts_url: str = "") -> tuple[Path, Path]:
    """Run KILLED_MIDWAY with its own TMPDIR; return (registry home, that TMPDIR)."""
    home, scratch, blobs = tmp_path / "reg", tmp_path / "TMPDIR", tmp_path / "blobs"
    scratch.mkdir()
    blobs.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", KILLED_MIDWAY, str(home), artifacts_url, str(blobs), str(BLOB_BYTES)],
        env={**os.environ, "TMPDIR": str(scratch)}, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr
    return home, scratch


def _ours_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("mreg"))


def _staging_folders(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.staging")) if folder.is_dir() else []


def _tree_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _age(folder: Path, seconds: float) -> None:
    """Make every file and folder under `folder` (and itself) `seconds` old, as waiting would."""
    when = time.time() - seconds
    for path in [*folder.rglob("*"), folder]:
        os.utime(path, (when, when))


def _reg(home: Path, **config) -> Registry:
    return Registry(Session.builder.configs({"home": str(home), **config}).create(), database_name="D",
                    schema_name="S", create=True)


def _small_model():
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"a": np.arange(10.0)})
    return LinearRegression().fit(X, X["a"]), X


# -- a killed log_model --------------------------------------------------------------------------------


def test_a_killed_log_model_stages_in_the_store_and_the_next_log_model_removes_it(tmp_path):
    home, scratch = _kill_log_model_midway(tmp_path)
    assert _ours_in(scratch) == []  # nothing in TMPDIR, where nobody would ever remove it
    (staging,) = _staging_folders(home / "artifacts" / "tmp")
    assert _tree_size(staging) >= BLOB_BYTES  # the unpublished package, blob included
    report = check(Catalog(f"sqlite:///{home / 'catalog.db'}"), ArtifactStore(str(home / "artifacts")),
                   grace_seconds=0)
    (stale,) = report.stale_uploads
    assert staging.name == f"{stale.id}.staging"  # named after its upload, so check knows whose it is
    assert staging.name in report.stale_tmp

    reg = _reg(home)
    model, X = _small_model()
    reg.log_model(model, model_name="other", version_name="v1", sample_input_data=X)
    assert staging.exists()  # younger than the grace period: kept

    _age(staging, 3600)
    reg.log_model(model, model_name="other", version_name="v2", sample_input_data=X)
    assert not staging.exists()
    assert list((home / "artifacts" / "tmp").iterdir()) == []
    assert [v.version_name for v in reg.get_model("m").versions()] == ["V1"]
    assert reg.get_model("m").version("v1").run(pd.DataFrame({"a": [1.0]}))["n"].tolist() == [BLOB_BYTES]
    assert reg.get_model("other").version("v2").load() is not None


def test_check_repair_removes_an_abandoned_staging_folder_as_a_whole(tmp_path):
    home, scratch = _kill_log_model_midway(tmp_path)
    assert _ours_in(scratch) == []
    tmp = home / "artifacts" / "tmp"
    (staging,) = _staging_folders(tmp)
    code, out = run_check(home)
    assert code == 0 and "1 temporary file(s) or staging folder(s) left by interrupted uploads" in out, out
    assert staging.exists()  # garbage, reported as reclaimable: only --repair removes it
    code, out = run_check(home, "--repair")
    assert code == 0 and f"removed stale staging folder tmp/{staging.name}/" in out, out
    assert list(tmp.iterdir()) == []  # the folder itself too, not only its files
    code, out = run_check(home)
    assert code == 0 and "OK: nothing wrong." in out, out
    reg = _reg(home)
    assert reg.get_model("m").version("v1").run(pd.DataFrame({"a": [1.0]}))["n"].tolist() == [BLOB_BYTES]


def test_a_killed_log_model_to_a_remote_store_stages_under_the_registry_home(tmp_path):
    url = f"memory://mreg-test-{uuid.uuid4().hex}"  # the store dies with the process; the staging must not
    home, scratch = _kill_log_model_midway(tmp_path, url)
    assert _ours_in(scratch) == []
    (staging,) = _staging_folders(home / "tmp")
    assert _tree_size(staging) >= BLOB_BYTES
    # (check also finds V1's objects missing: they were in the killed process's memory.)
    code, out = run_check(home, "--artifacts-url", url)
    assert f"1 staging folder(s) left by interrupted uploads in {home / 'tmp'}" in out and staging.exists(), out
    code, out = run_check(home, "--artifacts-url", url, "--repair")
    assert f"repaired: removed abandoned staging folder {staging}" in out and not staging.exists(), out


def test_log_model_to_a_remote_store_removes_abandoned_staging_under_the_registry_home(tmp_path):
    home = tmp_path / "reg"
    reg = _reg(home, artifacts_url=f"memory://mreg-test-{uuid.uuid4().hex}")
    model, X = _small_model()
    reg.log_model(model, model_name="m", version_name="v1", sample_input_data=X)
    left = _staging(home / "tmp", str(uuid.uuid4()), age=0)  # as a killed log_model leaves it: no live record
    reg.log_model(model, model_name="m", version_name="v2", sample_input_data=X)
    assert [p.name for p in (home / "tmp").iterdir()] == [left]  # within the grace period
    _age(home / "tmp" / left, 3600)
    reg.log_model(model, model_name="m", version_name="v3", sample_input_data=X)
    assert list((home / "tmp").iterdir()) == []
    assert [v.version_name for v in reg.get_model("m").versions()] == ["V1", "V2", "V3"]


# -- a log_model that finishes ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["local", "memory"])
def test_a_finished_log_model_leaves_no_staging_anywhere(tmp_path, monkeypatch, where):
    scratch = tmp_path / "TMPDIR"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    home = tmp_path / "reg"
    config = {"artifacts_url": f"memory://mreg-test-{uuid.uuid4().hex}"} if where == "memory" else {}
    reg = _reg(home, **config)
    model, X = _small_model()
    mv = reg.log_model(model, model_name="m", version_name="v1", sample_input_data=X)
    assert list(scratch.iterdir()) == []
    assert not (home / "tmp").exists() or list((home / "tmp").iterdir()) == []
    if where == "local":
        assert list((home / "artifacts" / "tmp").iterdir()) == []
    assert mv.load().predict(X).tolist() == pytest.approx(X["a"].tolist())


# -- the store: moving a staged file in, staging folders in tmp/ -------------------------------------------


def _staged(store: ArtifactStore, upload_id: str, rel: str, data: bytes) -> Path:
    path = Path(store.local_tmp_dir) / f"{upload_id}.staging" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_put_file_with_move_renames_a_staged_file_into_place(tmp_path):
    store = ArtifactStore(str(tmp_path / "artifacts"))
    staged = _staged(store, "up1", "model/w.bin", b"weights")
    inode = staged.stat().st_ino
    os.utime(staged, (1e9, 1e9))  # e.g. a user file copied with its modification time
    staged.chmod(0o600)
    sha, size = store.put_file(staged, upload_id="up1", move=True)
    stored = os.stat(store.object_path(sha))
    assert (size, stored.st_ino) == (7, inode) and not staged.exists()  # the very file: no copy made
    assert time.time() - stored.st_mtime < 60  # "in use now", as a copy would be, so collection keeps it
    copied_sha, _ = store.put_file(_write(tmp_path / "c.bin", b"copied"))
    assert stat.S_IMODE(stored.st_mode) == stat.S_IMODE(os.stat(store.object_path(copied_sha)).st_mode)

    again = _staged(store, "up2", "w.bin", b"weights")  # content stored already: the staged file goes
    os.utime(store.object_path(sha), (1e9, 1e9))
    assert store.put_file(again, upload_id="up2", move=True) == (sha, 7)
    assert not again.exists() and os.stat(store.object_path(sha)).st_ino == inode
    assert time.time() - os.stat(store.object_path(sha)).st_mtime < 60
    assert files_in(store) == sorted([f"objects/{sha[:2]}/{sha}", f"objects/{copied_sha[:2]}/{copied_sha}"])


def test_put_tree_with_move_empties_the_staging_and_matches_a_copy(tmp_path):
    store = ArtifactStore(str(tmp_path / "artifacts"))
    for rel, data in {"MANIFEST.yml": b"manifest", "model/w.bin": b"weights"}.items():
        _staged(store, "up", rel, data)
        _write(tmp_path / "copy" / rel, data)
    staging = Path(store.local_tmp_dir) / "up.staging"
    moved = store.put_tree(staging, upload_id="up", move=True)
    assert moved == ArtifactStore(str(tmp_path / "other")).put_tree(tmp_path / "copy")
    assert [p for p in staging.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("kind", ["local", "fsspec-memory"])
def test_put_file_with_move_of_a_file_outside_the_store_copies_it_and_removes_it(tmp_path, kind):
    with open_store(kind, tmp_path) as store:
        src = _write(tmp_path / "outside" / "w.bin", b"weights")
        inode = src.stat().st_ino
        sha, _ = store.put_file(src, move=True)
        assert not src.exists() and store.verify(sha)
        if kind == "local":
            assert os.stat(store.object_path(sha)).st_ino != inode


def test_only_a_local_store_offers_its_tmp_folder(tmp_path):
    with open_store("local", tmp_path) as local, open_store("fsspec-memory", tmp_path) as memory:
        assert local.local_tmp_dir == os.path.join(str(tmp_path / "artifacts"), "tmp")
        assert memory.local_tmp_dir is None


def test_a_staging_folder_in_tmp_is_one_entry_and_is_deleted_whole(store, tmp_path):
    write_raw(store, "tmp/up.staging/MANIFEST.yml", b"m")
    write_raw(store, "tmp/up.staging/model/w.bin", b"w")
    write_raw(store, "tmp/up.1234", b"partial")
    assert sorted(name for name, _ in store.iter_tmp()) == ["up.1234", "up.staging"]
    assert store.delete_tmp("up.staging") is True
    assert store.delete_tmp("up.staging") is False
    assert [name for name, _ in store.iter_tmp()] == ["up.1234"]
    assert files_in(store) == ["tmp/up.1234"]


def test_an_empty_staging_folder_is_listed_and_deleted(tmp_path):
    store = ArtifactStore(str(tmp_path / "artifacts"))
    (Path(store.local_tmp_dir) / "up.staging" / "model").mkdir(parents=True)  # killed before a file was written
    assert [name for name, _ in store.iter_tmp()] == ["up.staging"]
    assert store.delete_tmp("up.staging") is True
    assert list(Path(store.local_tmp_dir).iterdir()) == []


# -- whose staging may go ----------------------------------------------------------------------------------


@pytest.fixture
def catalog(tmp_path):
    cat = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    yield cat
    cat.dispose()


def _record(catalog: Catalog, *, pid: int, host: str | None = None, age_seconds: float = 0) -> str:
    upload_id = str(uuid.uuid4())
    with catalog.write() as conn:
        conn.execute(tables.uploads.insert().values(
            id=upload_id, started_on=utcnow() - timedelta(seconds=age_seconds), host=host or socket.gethostname(),
            pid=pid, description="test"))
    return upload_id


def _dead_pid() -> int:
    return int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _staging(folder: Path, owner: str, age: float) -> str:
    name = f"{owner}.staging"
    _write(folder / name / "model" / "w.bin", b"w")
    _age(folder / name, age)
    return name


def test_only_abandoned_staging_older_than_the_grace_period_is_removed(catalog, tmp_path):
    folder = tmp_path / "tmp"
    with pending_upload(catalog, "a live upload") as live_id:
        live = _staging(folder, live_id, age=3600)
        other_host = _staging(folder, _record(catalog, pid=1, host="another-host", age_seconds=3600), age=3600)
        dead = _staging(folder, _record(catalog, pid=_dead_pid()), age=3600)
        day_old = _staging(folder, _record(catalog, pid=1, host="another-host", age_seconds=25 * 3600), age=3600)
        orphan = _staging(folder, str(uuid.uuid4()), age=3600)
        young_orphan = _staging(folder, str(uuid.uuid4()), age=0)
        _age(_write(folder / "not-a-staging", b"x"), 3600)
        assert remove_abandoned_staging(catalog, folder, grace_seconds=60, dry_run=True) == sorted(
            [dead, day_old, orphan])
        assert len(_staging_folders(folder)) == 6  # a dry run removes nothing
        assert remove_abandoned_staging(catalog, folder, grace_seconds=60) == sorted([dead, day_old, orphan])
        assert sorted(p.name for p in folder.iterdir()) == sorted([live, other_host, young_orphan, "not-a-staging"])
    assert remove_abandoned_staging(catalog, folder, grace_seconds=60) == [live]  # its upload has ended
    assert remove_abandoned_staging(catalog, tmp_path / "nowhere", grace_seconds=0) == []


def test_check_repair_keeps_the_staging_of_a_live_upload(tmp_path):
    home = tmp_path / "reg"
    reg = _reg(home)
    model, X = _small_model()
    reg.log_model(model, model_name="m", version_name="v1", sample_input_data=X)
    tmp = home / "artifacts" / "tmp"
    with pending_upload(reg.session.catalog, "a live upload") as live_id:
        live = _staging(tmp, live_id, age=3600)
        code, out = run_check(home, "--repair")
        assert code == 0 and (tmp / live).is_dir(), out
    code, out = run_check(home, "--repair")
    assert code == 0 and f"removed stale staging folder tmp/{live}/" in out and not (tmp / live).exists(), out


# -- what a handler fetches while saving ----------------------------------------------------------------------

# Logs a loaded MLflow PyFuncModel, which has no run or model id, so the mlflow handler writes its files
# again into a scratch folder; SIGKILLed as soon as that folder is there.
MLFLOW_KILLED = textwrap.dedent("""
    import os, signal, sys
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    import mlflow.pyfunc, mlflow.sklearn, numpy as np, pandas as pd, sklearn
    from sklearn.linear_model import LinearRegression
    import jupyter_mreg.model.handlers.mlflow as handler
    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

    home, folder = sys.argv[1], sys.argv[2]
    X = pd.DataFrame({"a": np.arange(10.0)})
    mlflow.sklearn.save_model(LinearRegression().fit(X, X["a"]), folder,
                              pip_requirements=[f"scikit-learn=={sklearn.__version__}"])
    loaded = mlflow.pyfunc.load_model(folder)
    reg = Registry(Session.builder.configs({"home": home}).create(), database_name="D", create=True)
    original = handler._pyfunc_folder

    def killing(*args, **kwargs):
        result = original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    handler._pyfunc_folder = killing
    reg.log_model(loaded, model_name="m", version_name="v1", sample_input_data=X)
    print("not killed", flush=True)
""")


def test_a_killed_log_model_of_a_loaded_mlflow_model_leaves_nothing_in_tmpdir(tmp_path):
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed: pip install jupyter_mreg[mlflow]")
    home, scratch = tmp_path / "reg", tmp_path / "TMPDIR"
    scratch.mkdir()
    result = subprocess.run([sys.executable, "-c", MLFLOW_KILLED, str(home), str(tmp_path / "mlflow-model")],
                            env={**os.environ, "TMPDIR": str(scratch)}, capture_output=True, text=True, timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr
    assert _ours_in(scratch) == []
    (staging,) = _staging_folders(home / "artifacts" / "tmp")
    assert [p.name for p in staging.glob("mreg-mlflow-*/resaved/MLmodel")] != []  # the re-saved model is here
    code, out = run_check(home, "--repair")
    assert code == 0 and f"removed stale staging folder tmp/{staging.name}/" in out, out
    assert list((home / "artifacts" / "tmp").iterdir()) == []


def test_a_failed_log_model_of_a_loaded_mlflow_model_does_not_spoil_the_next_one(tmp_path, monkeypatch):
    # The handler keeps what it fetched for the whole log_model; the failed one's staging, with that
    # scratch inside, is gone when the next log_model of the same object asks for it again.
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed: pip install jupyter_mreg[mlflow]")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow.pyfunc
    import mlflow.sklearn
    import sklearn

    model, X = _small_model()
    mlflow.sklearn.save_model(model, str(tmp_path / "mlflow-model"),
                              pip_requirements=[f"scikit-learn=={sklearn.__version__}"])
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "mlflow-model"))
    reg = _reg(tmp_path / "reg")
    with pytest.raises(MregError, match="nowhere"):
        reg.log_model(loaded, model_name="m", version_name="v1", sample_input_data=X,
                      code_paths=[str(tmp_path / "nowhere")])
    mv = reg.log_model(loaded, model_name="m", version_name="v1", sample_input_data=X)
    assert mv.run(X)["output_feature_0"].tolist() == pytest.approx(X["a"].tolist())
    assert list((tmp_path / "reg" / "artifacts" / "tmp").iterdir()) == []
