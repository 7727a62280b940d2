"""check() and collect_garbage(): orphans, uploads in progress, stale records, missing and corrupt objects.

`store` is an artifact store on each backend in turn (tests/store/conftest.py).
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from jupyter_mreg.store import Catalog, check, collect_garbage, finish_upload, pending_upload
from jupyter_mreg.store import tables
from jupyter_mreg.store.catalog import utcnow
from tests.store.stores import files_in, set_mtime, tamper, write_raw


@pytest.fixture
def catalog(tmp_path):
    """A catalog in use: it once held a version (a catalog that never did refuses collection, see
    test_hardening_collection.py)."""
    cat = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    with cat.write() as conn:
        conn.execute(tables.history.insert().values(event_time=utcnow(), action="DROP_VERSION", model_name="OLD",
                                                    version_name="V0", details="{}"))
    yield cat
    cat.dispose()


def _put(store, tmp_path, data: bytes, *, age: float = 0, upload_id=None):
    src = tmp_path / f"src-{uuid.uuid4().hex}"
    src.write_bytes(data)
    sha, size = store.put_file(src, upload_id=upload_id)
    if age:
        set_mtime(store, store.object_path(sha), time.time() - age)
    return sha, size


def _publish(conn, files: dict, *, model="CHURN", version="V1"):
    """Insert a model (if new), a version and its files directly, as the registry would."""
    m = tables.models
    model_id = conn.execute(select(m.c.id).where(m.c.name == model)).scalar()
    if model_id is None:
        model_id = conn.execute(
            m.insert().values(database_name="MYDB", schema_name="ML", name=model, created_on=utcnow())
        ).inserted_primary_key[0]
    version_id = conn.execute(
        tables.versions.insert().values(
            model_id=model_id, name=version, created_on=utcnow(), model_type="sklearn",
            task="TABULAR_REGRESSION", size=sum(size for _, size in files.values()),
        )
    ).inserted_primary_key[0]
    for path, (sha, size) in files.items():
        conn.execute(tables.version_files.insert().values(version_id=version_id, path=path, sha256=sha, size=size))
    return version_id


def _add_upload(catalog, *, pid, host=None, age_seconds=0.0):
    upload_id = str(uuid.uuid4())
    with catalog.write() as conn:
        conn.execute(
            tables.uploads.insert().values(
                id=upload_id, started_on=utcnow() - timedelta(seconds=age_seconds),
                host=host or socket.gethostname(), pid=pid, description="test",
            )
        )
    return upload_id


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


def _upload_ids(catalog):
    with catalog.read() as conn:
        return set(conn.execute(select(tables.uploads.c.id)).scalars())


# -- clean --------------------------------------------------------------------------------------------


def test_a_consistent_registry_is_ok(catalog, store, tmp_path):
    with pending_upload(catalog) as upload_id:
        files = store.put_tree(_tree(tmp_path), upload_id=upload_id)
        with catalog.write() as conn:
            finish_upload(conn, upload_id, artifacts=store, shas=[sha for sha, _ in files.values()])
            _publish(conn, files)
    report = check(catalog, store, verify=True)
    assert report.ok and report.problems == []
    assert (report.orphaned_objects, report.missing_objects, report.corrupt_objects) == ([], [], [])
    assert (report.stale_uploads, report.stale_tmp, report.repaired) == ([], [], [])


def _tree(tmp_path):
    folder = tmp_path / "pkg"
    (folder / "model").mkdir(parents=True)
    (folder / "MANIFEST.yml").write_bytes(b"manifest")
    (folder / "model" / "w.bin").write_bytes(b"weights")
    return folder


# -- orphans ------------------------------------------------------------------------------------------


def test_an_orphan_is_found_and_repaired(catalog, store, tmp_path):
    kept, kept_size = _put(store, tmp_path, b"used")
    orphan, _ = _put(store, tmp_path, b"unused")
    with catalog.write() as conn:
        _publish(conn, {"m.bin": (kept, kept_size)})
    report = check(catalog, store)
    assert report.orphaned_objects == [orphan] and report.orphaned_bytes == len(b"unused")
    assert report.ok and report.problems == []  # garbage, not damage
    assert report.reclaimable == "1 object(s) no version uses (6 bytes)"
    assert store.exists(orphan)  # reporting removes nothing

    repaired = check(catalog, store, repair=True)
    assert repaired.orphaned_objects == [orphan]
    assert repaired.repaired == [f"removed orphaned object {orphan}"]
    assert repaired.ok and repaired.reclaimable == ""
    assert not store.exists(orphan) and store.exists(kept)
    assert check(catalog, store).ok


def test_a_live_upload_protects_fresh_objects(catalog, store, tmp_path):
    with pending_upload(catalog, "logging CHURN V2") as upload_id:
        fresh, _ = _put(store, tmp_path, b"being uploaded", upload_id=upload_id)
        report = check(catalog, store, repair=True)
        assert report.orphaned_objects == [] and report.repaired == [] and report.ok
        assert collect_garbage(catalog, store, grace_seconds=0) == 0
        assert store.exists(fresh)
    # The upload ended without publishing: now the object is garbage.
    report = check(catalog, store, repair=True)
    assert report.orphaned_objects == [fresh] and not store.exists(fresh)


def test_an_upload_reusing_an_old_object_protects_it(catalog, store, tmp_path):
    old, _ = _put(store, tmp_path, b"shared content", age=3600)
    with pending_upload(catalog) as upload_id:
        _put(store, tmp_path, b"shared content", upload_id=upload_id)  # dedup: refreshes the mtime
        assert check(catalog, store, repair=True).orphaned_objects == []
        assert store.exists(old)


def test_old_orphans_go_even_while_an_upload_runs(catalog, store, tmp_path):
    old, _ = _put(store, tmp_path, b"left by a deleted version", age=3600)
    with pending_upload(catalog) as upload_id:
        fresh, _ = _put(store, tmp_path, b"new", upload_id=upload_id)
        report = check(catalog, store, repair=True)
        assert report.orphaned_objects == [old]
        assert not store.exists(old) and store.exists(fresh)


def test_a_live_upload_on_another_host_protects_fresh_objects(catalog, store, tmp_path):
    _add_upload(catalog, pid=1, host="some-other-host")
    fresh, _ = _put(store, tmp_path, b"fresh")
    report = check(catalog, store, repair=True)
    assert report.orphaned_objects == [] and report.stale_uploads == []
    assert store.exists(fresh)


# -- uploads and temporary files ----------------------------------------------------------------------


def test_an_upload_of_a_dead_process_is_stale_and_removed(catalog, store, tmp_path):
    pid = _dead_pid()
    stale_id = _add_upload(catalog, pid=pid)
    live_id = _add_upload(catalog, pid=os.getpid())
    report = check(catalog, store)
    assert [u.id for u in report.stale_uploads] == [stale_id]
    assert report.stale_uploads[0].pid == pid
    assert f"process {pid}" in report.stale_uploads[0].reason
    assert report.ok and report.reclaimable == "1 record(s) of interrupted uploads"

    repaired = check(catalog, store, repair=True)
    assert repaired.ok
    assert any(stale_id in line for line in repaired.repaired)
    assert _upload_ids(catalog) == {live_id}


def test_an_upload_older_than_a_day_is_stale_wherever_it_runs(catalog, store, tmp_path):
    old_id = _add_upload(catalog, pid=1, host="some-other-host", age_seconds=25 * 3600)
    recent_id = _add_upload(catalog, pid=1, host="some-other-host", age_seconds=3600)
    report = check(catalog, store, repair=True)
    assert [u.id for u in report.stale_uploads] == [old_id]
    assert "24 h" in report.stale_uploads[0].reason
    assert _upload_ids(catalog) == {recent_id}


def test_a_stale_upload_does_not_protect_objects(catalog, store, tmp_path):
    _add_upload(catalog, pid=_dead_pid())
    fresh, _ = _put(store, tmp_path, b"written by a crashed upload")
    report = check(catalog, store, repair=True)
    assert report.orphaned_objects == [fresh] and not store.exists(fresh)
    assert report.ok


def _tmp_file(store, name, age):
    set_mtime(store, write_raw(store, f"tmp/{name}", b"partial"), time.time() - age)
    return name


def test_stale_temporary_files_are_found_and_removed(catalog, store, tmp_path):
    live_id = _add_upload(catalog, pid=os.getpid(), age_seconds=7200)
    dead_id = str(uuid.uuid4())  # an upload that no longer exists
    crashed = _tmp_file(store, f"{dead_id}.{uuid.uuid4().hex}", age=3600)
    anonymous_old = _tmp_file(store, uuid.uuid4().hex, age=3 * 3600)  # before the live upload
    young = _tmp_file(store, uuid.uuid4().hex, age=0)
    owned = _tmp_file(store, f"{live_id}.{uuid.uuid4().hex}", age=3600)
    report = check(catalog, store)
    assert sorted(report.stale_tmp) == sorted([crashed, anonymous_old])
    assert check(catalog, store, repair=True).ok
    assert [f for f in files_in(store) if f.startswith("tmp/")] == sorted([f"tmp/{young}", f"tmp/{owned}"])


# -- missing and corrupt objects ---------------------------------------------------------------------


def test_a_missing_object_is_reported_with_its_versions(catalog, store, tmp_path):
    present, present_size = _put(store, tmp_path, b"present")
    missing = hashlib.sha256(b"never stored").hexdigest()
    with catalog.write() as conn:
        _publish(conn, {"MANIFEST.yml": (present, present_size), "model/w.bin": (missing, 12)}, version="V1")
        _publish(conn, {"model/w.bin": (missing, 12)}, version="V2")
    report = check(catalog, store, repair=True)
    assert report.missing_objects == [missing]
    assert [(u.model, u.version, u.path) for u in report.used_by[missing]] == [
        ("CHURN", "V1", "model/w.bin"), ("CHURN", "V2", "model/w.bin"),
    ]
    assert not report.ok and report.repaired == []
    (line,) = report.problems
    assert missing in line
    assert "model MYDB.ML.CHURN version V1 (file 'model/w.bin')" in line
    assert "model MYDB.ML.CHURN version V2" in line
    assert "Repair cannot fix this" in line and "backup" in line
    assert store.exists(present)


def test_a_changed_size_is_corrupt_without_reading_and_a_changed_byte_with_verify(catalog, store, tmp_path):
    grown, grown_size = _put(store, tmp_path, b"grows")
    flipped, flipped_size = _put(store, tmp_path, b"flips")
    with catalog.write() as conn:
        _publish(conn, {"a.bin": (grown, grown_size), "b.bin": (flipped, flipped_size)})
    tamper(store, grown, lambda old: old + b"!")
    tamper(store, flipped, lambda old: b"F" + old[1:])
    assert check(catalog, store).corrupt_objects == [grown]
    report = check(catalog, store, verify=True, repair=True)
    assert sorted(report.corrupt_objects) == sorted([grown, flipped])
    assert not report.ok
    assert any(flipped in line and "CHURN version V1 (file 'b.bin')" in line and "corrupt" in line
               for line in report.problems)
    assert store.exists(grown) and store.exists(flipped)  # repair never removes referenced objects


# -- garbage collection --------------------------------------------------------------------------------


def test_collect_garbage_removes_old_unreferenced_objects(catalog, store, tmp_path):
    used, used_size = _put(store, tmp_path, b"used", age=3600)
    old, _ = _put(store, tmp_path, b"old garbage", age=3600)
    young, _ = _put(store, tmp_path, b"young garbage")
    with catalog.write() as conn:
        _publish(conn, {"m.bin": (used, used_size)})
    assert collect_garbage(catalog, store, grace_seconds=60) == 1
    assert store.exists(used) and not store.exists(old) and store.exists(young)


def test_collect_garbage_waits_for_live_uploads(catalog, store, tmp_path):
    old, _ = _put(store, tmp_path, b"old garbage", age=3600)
    with pending_upload(catalog):
        assert collect_garbage(catalog, store) == 0
        assert store.exists(old)
    assert collect_garbage(catalog, store) == 1
    assert not store.exists(old)


def test_collect_garbage_after_deleting_a_version(catalog, store, tmp_path):
    shared, shared_size = _put(store, tmp_path, b"shared", age=3600)
    own, own_size = _put(store, tmp_path, b"only V1", age=3600)
    with catalog.write() as conn:
        v1 = _publish(conn, {"a.bin": (shared, shared_size), "b.bin": (own, own_size)}, version="V1")
        _publish(conn, {"a.bin": (shared, shared_size)}, version="V2")
    with catalog.write() as conn:
        conn.execute(tables.versions.delete().where(tables.versions.c.id == v1))
    assert collect_garbage(catalog, store) == 1
    assert store.exists(shared) and not store.exists(own)
    assert check(catalog, store, verify=True).ok
