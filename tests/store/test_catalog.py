"""The catalog: SQLite set-up, transactions, migrations, concurrency, upload records."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import threading

import pytest
from sqlalchemy import func, inspect, select, text

from jupyter_mreg.errors import StorageError
from jupyter_mreg.store import Catalog, finish_upload, pending_upload
from jupyter_mreg.store import migrations, tables
from jupyter_mreg.store.catalog import utcnow


def _url(path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def catalog(tmp_path):
    cat = Catalog(_url(tmp_path / "reg" / "catalog.db"))
    yield cat
    cat.dispose()


def _add_model(conn, name="CHURN", version="V1"):
    model_id = conn.execute(
        tables.models.insert().values(database_name="MYDB", schema_name="ML", name=name, created_on=utcnow())
    ).inserted_primary_key[0]
    version_id = conn.execute(
        tables.versions.insert().values(
            model_id=model_id, name=version, created_on=utcnow(), model_type="sklearn",
            task="TABULAR_BINARY_CLASSIFICATION", size=3,
        )
    ).inserted_primary_key[0]
    return model_id, version_id


# -- set-up ------------------------------------------------------------------------------------------


def test_opening_creates_folder_schema_and_sqlite_settings(tmp_path):
    path = tmp_path / "a" / "b" / "catalog.db"
    cat = Catalog(_url(path))
    try:
        assert path.is_file()
        assert cat.url == _url(path)
        with cat.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60000
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            names = set(inspect(conn).get_table_names())
            assert migrations.current_version(conn) == migrations.LATEST_VERSION == 3
        assert names == set(tables.metadata.tables) | {"mreg_schema"}
    finally:
        cat.dispose()


def test_a_plain_path_opens_a_sqlite_catalog(tmp_path):
    cat = Catalog(str(tmp_path / "plain" / "catalog.db"))
    try:
        assert (tmp_path / "plain" / "catalog.db").is_file()
        with cat.read() as conn:
            assert migrations.current_version(conn) == migrations.LATEST_VERSION
    finally:
        cat.dispose()


def test_write_commits_and_rolls_back_on_exception(catalog):
    with catalog.write() as conn:
        conn.execute(tables.history.insert().values(event_time=utcnow(), action="KEPT"))
    with pytest.raises(RuntimeError, match="boom"):
        with catalog.write() as conn:
            conn.execute(tables.history.insert().values(event_time=utcnow(), action="LOST"))
            raise RuntimeError("boom")
    with catalog.read() as conn:
        assert conn.execute(select(tables.history.c.action)).scalars().all() == ["KEPT"]


def test_write_takes_the_lock_at_begin_and_read_does_not(catalog, tmp_path):
    raw = sqlite3.connect(tmp_path / "reg" / "catalog.db", timeout=0, isolation_level=None)
    try:
        with catalog.write():
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                raw.execute("BEGIN IMMEDIATE")
        with catalog.read() as conn:
            conn.execute(select(tables.history.c.id)).all()
            raw.execute("BEGIN IMMEDIATE")  # a reader never holds the write lock
            raw.execute("ROLLBACK")
    finally:
        raw.close()


def test_nested_write_in_one_thread_raises_instead_of_hanging(catalog):
    with catalog.write():
        with pytest.raises(StorageError, match="already open in this thread"):
            with catalog.write():
                pass
        with pytest.raises(StorageError, match="already open"):
            with pending_upload(catalog):
                pass
    with catalog.write() as conn:  # the flag was reset
        conn.execute(tables.history.insert().values(event_time=utcnow(), action="OK"))


def test_writes_from_another_thread_wait_for_the_lock(catalog):
    inside = threading.Event()
    release = threading.Event()

    def hold():
        with catalog.write() as conn:
            conn.execute(tables.history.insert().values(event_time=utcnow(), action="FIRST"))
            inside.set()
            release.wait(5)

    t = threading.Thread(target=hold)
    t.start()
    inside.wait(5)
    threading.Timer(0.3, release.set).start()
    with catalog.write() as conn:  # blocks until the other commits, then sees its row
        n = conn.execute(select(func.count()).select_from(tables.history)).scalar()
        conn.execute(tables.history.insert().values(event_time=utcnow(), action="SECOND", details=str(n)))
    t.join()
    with catalog.read() as conn:
        rows = conn.execute(select(tables.history.c.action, tables.history.c.details).order_by("id")).all()
    assert [tuple(r) for r in rows] == [("FIRST", "{}"), ("SECOND", "1")]


def test_foreign_keys_cascade_from_models(catalog):
    with catalog.write() as conn:
        model_id, version_id = _add_model(conn)
        conn.execute(tables.version_files.insert().values(version_id=version_id, path="m.pkl", sha256="a" * 64, size=3))
        conn.execute(tables.aliases.insert().values(model_id=model_id, alias="PROD", version_id=version_id))
        conn.execute(tables.tags.insert().values(model_id=model_id, tag_name="MYDB.ML.STAGE", value="prod"))
    with catalog.write() as conn:
        conn.execute(tables.models.delete().where(tables.models.c.id == model_id))
    with catalog.read() as conn:
        for table in (tables.versions, tables.version_files, tables.aliases, tables.tags):
            assert conn.execute(select(func.count()).select_from(table)).scalar() == 0, table.name


def test_foreign_keys_are_enforced(catalog):
    import sqlalchemy.exc

    with pytest.raises(sqlalchemy.exc.IntegrityError):
        with catalog.write() as conn:
            conn.execute(tables.aliases.insert().values(model_id=999, alias="X", version_id=999))


# -- migrations --------------------------------------------------------------------------------------


def test_migrations_are_recorded_once_and_idempotent(tmp_path):
    url = _url(tmp_path / "catalog.db")
    Catalog(url).dispose()
    cat = Catalog(url)
    try:
        assert migrations.upgrade(cat._write_engine) == migrations.LATEST_VERSION
        with cat.read() as conn:
            assert conn.execute(text("SELECT version FROM mreg_schema")).scalars().all() == list(range(1, migrations.LATEST_VERSION + 1))
            assert migrations.current_version(conn) == migrations.LATEST_VERSION
    finally:
        cat.dispose()


def test_current_version_of_an_empty_database_is_zero(tmp_path):
    from sqlalchemy import create_engine

    engine = create_engine(_url(tmp_path / "empty.db"))
    with engine.connect() as conn:
        assert migrations.current_version(conn) == 0
    engine.dispose()


def test_a_catalog_newer_than_the_code_is_refused(tmp_path):
    url = _url(tmp_path / "catalog.db")
    cat = Catalog(url)
    with cat.write() as conn:
        conn.execute(text("INSERT INTO mreg_schema (version) VALUES (99)"))
    cat.dispose()
    with pytest.raises(StorageError) as info:
        Catalog(url)
    message = str(info.value)
    assert "schema version 99" in message
    assert f"up to {migrations.LATEST_VERSION}" in message
    assert "Upgrade jupyter_mreg" in message
    assert str(tmp_path / "catalog.db") in message


# -- bad URLs ----------------------------------------------------------------------------------------


def test_unknown_dialect_is_a_storage_error():
    with pytest.raises(StorageError, match="nosuchdb://x/y") as info:
        Catalog("nosuchdb://x/y")
    assert "sqlite:////" in str(info.value)


def test_unreachable_server_is_a_storage_error_without_password():
    with pytest.raises(StorageError) as info:
        Catalog("postgresql://mreg:secret@127.0.0.1:1/registry")
    message = str(info.value)
    assert "127.0.0.1:1/registry" in message
    assert "secret" not in message
    assert "Fix" in message


def test_a_database_that_cannot_be_opened_is_a_storage_error(tmp_path):
    (tmp_path / "catalog.db").mkdir()  # a folder where the file should be
    with pytest.raises(StorageError) as info:
        Catalog(_url(tmp_path / "catalog.db"))
    assert str(tmp_path / "catalog.db") in str(info.value)
    assert "unable to open database file" in str(info.value)
    assert "Fix" in str(info.value)


def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path):
    path = tmp_path / "catalog.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="not a database"):
        Catalog(_url(path))


def test_an_unwritable_parent_is_a_storage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="Cannot create the folder"):
        Catalog(_url(blocker / "sub" / "catalog.db"))


# -- 8 processes at once -----------------------------------------------------------------------------


def _writer(url: str, barrier, rows: int) -> None:
    barrier.wait()
    cat = Catalog(url)
    for i in range(rows):
        with cat.write() as conn:
            # Read, then write, in one transaction: only a lock taken at BEGIN makes this safe.
            seen = conn.execute(select(func.count()).select_from(tables.history)).scalar()
            conn.execute(
                tables.history.insert().values(
                    event_time=utcnow(), action="TEST", details=json.dumps({"pid": os.getpid(), "i": i, "seen": seen})
                )
            )
    cat.dispose()


def _eight_writers(url: str) -> None:
    """8 processes open the catalog at the same moment and each write 25 rows; all must exit cleanly."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(8)
    procs = [ctx.Process(target=_writer, args=(url, barrier, 25)) for _ in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
    assert [p.exitcode for p in procs] == [0] * 8


def test_eight_processes_open_a_new_catalog_and_write_at_once(tmp_path):
    url = _url(tmp_path / "new" / "catalog.db")
    _eight_writers(url)
    cat = Catalog(url)
    try:
        with cat.read() as conn:
            details = [json.loads(d) for d in conn.execute(select(tables.history.c.details)).scalars()]
            schema_rows = conn.execute(text("SELECT version FROM mreg_schema")).scalars().all()
    finally:
        cat.dispose()
    assert len(details) == 200
    assert sorted(d["seen"] for d in details) == list(range(200))  # writers were serialized
    per_pid: dict[int, int] = {}
    for d in details:
        per_pid[d["pid"]] = per_pid.get(d["pid"], 0) + 1
    assert sorted(per_pid.values()) == [25] * 8
    assert schema_rows == list(range(1, migrations.LATEST_VERSION + 1))  # each migration ran once


# -- upload records ----------------------------------------------------------------------------------


def _upload_ids(cat):
    with cat.read() as conn:
        return conn.execute(select(tables.uploads.c.id)).scalars().all()


def test_pending_upload_records_itself_before_the_body_and_removes_itself(catalog):
    import socket

    with pending_upload(catalog, "logging CHURN V1") as upload_id:
        with catalog.read() as conn:
            row = conn.execute(select(tables.uploads)).one()
        assert row.id == upload_id
        assert row.pid == os.getpid()
        assert row.host == socket.gethostname()
        assert row.description == "logging CHURN V1"
        assert abs((utcnow() - row.started_on).total_seconds()) < 60
    assert _upload_ids(catalog) == []


def test_pending_upload_removes_itself_on_exception(catalog):
    with pytest.raises(ValueError, match="failed"):
        with pending_upload(catalog):
            assert len(_upload_ids(catalog)) == 1
            raise ValueError("failed")
    assert _upload_ids(catalog) == []


def test_finish_upload_commits_with_the_version(catalog, store, tmp_path):  # store: once per backend
    src = tmp_path / "m.pkl"
    src.write_bytes(b"abc")
    with pending_upload(catalog) as upload_id:
        sha, size = store.put_file(src, upload_id=upload_id)
        with catalog.write() as conn:
            finish_upload(conn, upload_id, artifacts=store, shas=[sha])  # first: takes the collection lock
            _, version_id = _add_model(conn)
            conn.execute(
                tables.version_files.insert().values(version_id=version_id, path="m.pkl", sha256=sha, size=size)
            )
        assert _upload_ids(catalog) == []  # gone with the publish, before the block ends
    assert _upload_ids(catalog) == []


def test_finish_upload_refuses_to_publish_a_collected_object(catalog, store, tmp_path):  # store: once per backend
    src = tmp_path / "m.pkl"
    src.write_bytes(b"abc")
    with pending_upload(catalog) as upload_id:
        sha, _ = store.put_file(src, upload_id=upload_id)
        store.delete(sha)  # as if collected meanwhile
        with pytest.raises(StorageError, match=sha):
            with catalog.write() as conn:
                finish_upload(conn, upload_id, artifacts=store, shas=[sha])
                _add_model(conn)
        assert _upload_ids(catalog) == [upload_id]  # rolled back together
    with catalog.read() as conn:
        assert conn.execute(select(func.count()).select_from(tables.versions)).scalar() == 0


# -- PostgreSQL (scripts/test.sh starts a server) ------------------------------------------------------


def test_postgresql_catalog_from_eight_processes_at_once(empty_postgres):
    _eight_writers(empty_postgres)
    cat = Catalog(empty_postgres)
    try:
        with cat.read() as conn:
            assert conn.execute(select(func.count()).select_from(tables.history)).scalar() == 200
            assert conn.execute(text("SELECT version FROM mreg_schema")).scalars().all() == list(range(1, migrations.LATEST_VERSION + 1))
        with cat.write() as conn:
            model_id, _ = _add_model(conn)
        with cat.write() as conn:
            conn.execute(tables.models.delete().where(tables.models.c.id == model_id))
        with cat.read() as conn:
            assert conn.execute(select(func.count()).select_from(tables.versions)).scalar() == 0
    finally:
        cat.dispose()
