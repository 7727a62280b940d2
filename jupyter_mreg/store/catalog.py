"""The catalog: a SQLAlchemy Core engine over the tables of `tables.py`, with short, explicit transactions.

SQLite (the default, a file next to the artifacts) runs in WAL mode: readers never block, writers queue
on the database's write lock for up to 60 s. PostgreSQL works by URL with the same code. Every catalog
access goes through `Catalog.read()` or `Catalog.write()`, one transaction each.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
import warnings
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from jupyter_mreg.errors import StorageError

from . import tables
from .migrations import LATEST_VERSION, check_supported, current_version, mreg_schema, upgrade

if TYPE_CHECKING:
    from .artifacts import ArtifactStore

BUSY_TIMEOUT_SECONDS = 60
_WRITE_OPTION = "jupyter_mreg_write"
_WRITER_LOCK_KEY = 0x6D726567  # "mreg": the PostgreSQL advisory lock every catalog writer takes


def utcnow() -> datetime:
    """Now, as the naive UTC datetime the catalog stores."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Take BEGIN away from pysqlite: it would start write transactions lazily (and fail on the lock
    # upgrade instead of waiting); our "begin" listener emits BEGIN / BEGIN IMMEDIATE instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _enable_wal(cursor: Any) -> None:
    # Switching a new database to WAL needs a moment of exclusive access; SQLite does not always run the
    # busy handler for it, so processes opening a brand-new catalog together retry here.
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    delay = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.fetchall()
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def _sqlite_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock at BEGIN, where busy_timeout makes a writer wait its turn; a deferred
    # transaction that reads first and writes later can fail at once with "database is locked".
    if conn.get_execution_options().get(_WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


_DAMAGE_FIX = (
    "Fix: stop every process that uses this registry, then restore catalog.db from a backup and delete the "
    "catalog.db-wal and catalog.db-shm files next to it (they belong to the damaged file); as a last resort, "
    "salvage what is still readable with `sqlite3 catalog.db .recover | sqlite3 recovered.db`, put "
    "recovered.db in place of catalog.db (again without the -wal and -shm files) and run "
    "`python -m jupyter_mreg check --verify`."
)


def _reason(exc: sa_exc.DBAPIError) -> str:
    """The database's own words for `exc`, on one line."""
    return " ".join(str(getattr(exc, "orig", None) or exc).split())


def _to_url(url: str) -> URL:
    text_url = str(url)
    if "://" not in text_url:  # a plain path to a SQLite file
        text_url = "sqlite:///" + os.path.abspath(os.path.expanduser(text_url))
    try:
        return make_url(text_url)
    except sa_exc.ArgumentError as exc:
        raise StorageError(
            f"{url!r} is not a catalog URL: {exc}. Fix: use sqlite:////absolute/path/catalog.db for a file "
            f"or postgresql://user@host:5432/database for a server."
        ) from exc


# One engine per catalog in a process, shared by every Session on it: an engine keeps the compiled form of
# each statement, and compiling them again for every new Session was most of the cost of a cold load().
# A SQLite engine is reused only while its file is the same file (not deleted and created again).
_engines: dict[str, tuple[Engine, Any]] = {}
_engines_lock = threading.Lock()


def _file_identity(parsed: URL) -> Any:
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return "server" if parsed.get_backend_name() != "sqlite" else None
    try:
        st = os.stat(database)
    except OSError:
        return None  # not created yet: the first Session creates it, with a new engine
    return (st.st_dev, st.st_ino)


def _shared_engine(parsed: URL, display: str) -> tuple[Engine, bool]:
    """(engine, created now) for `parsed`; see `_engines`. In-memory SQLite is never shared."""
    key = parsed.render_as_string(hide_password=False)
    identity = _file_identity(parsed)
    with _engines_lock:
        cached = _engines.get(key)
        if cached is not None and identity is not None and cached[1] == identity:
            return cached[0], False
        engine = _make_engine(parsed, display)
        # Shared once its schema is open (`_remember_identity`): a new file's identity is known only then.
        _engines[key] = (engine, None)
        return engine, True


def _remember_identity(parsed: URL, engine: Engine) -> None:
    key = parsed.render_as_string(hide_password=False)
    with _engines_lock:
        if key in _engines and _engines[key][0] is engine:
            _engines[key] = (engine, _file_identity(parsed))


def _forget_engine(parsed: URL, engine: Engine) -> None:
    key = parsed.render_as_string(hide_password=False)
    with _engines_lock:
        if key in _engines and _engines[key][0] is engine:
            del _engines[key]
    engine.dispose()


def _make_engine(parsed: URL, display: str) -> Engine:
    is_sqlite = parsed.get_backend_name() == "sqlite"
    options: dict[str, Any] = {}
    if is_sqlite:
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            parent = os.path.dirname(os.path.abspath(database))
            try:
                os.makedirs(parent, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"Cannot create the folder {parent!r} for the catalog at {display}: {exc}. "
                    f"Fix: choose a location you may write to."
                ) from exc
        options["connect_args"] = {"timeout": BUSY_TIMEOUT_SECONDS}
    else:
        options["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **options)
    except ImportError as exc:
        raise StorageError(
            f"Cannot use the catalog URL {display}: its database driver is not installed ({exc}). "
            f"Fix: install it in this environment (for postgresql:// URLs: pip install 'psycopg[binary]'; "
            f"for postgresql+psycopg2:// URLs: pip install psycopg2-binary)."
        ) from exc
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError) as exc:
        raise StorageError(
            f"Cannot use the catalog URL {display}: {exc}. Fix: use sqlite:////absolute/path/"
            f"catalog.db, or postgresql://user@host:5432/database."
        ) from exc
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    if hasattr(os, "register_at_fork"):
        # A forked child must not reuse the parent's pooled connections (a SQLite handle shared by two
        # processes can corrupt the file): it opens its own.
        ref = weakref.ref(engine)
        os.register_at_fork(after_in_child=lambda: _forget_pool(ref))
    return engine


def _forget_pool(ref: weakref.ref[Engine]) -> None:
    engine = ref()
    if engine is not None:
        engine.dispose(close=False)


class Catalog:
    """The registry's catalog at a SQLAlchemy URL; opening it creates or upgrades its schema.

    Use `with catalog.read() as conn:` and `with catalog.write() as conn:`; each is one transaction,
    committed on normal exit and rolled back on an exception. Keep write transactions short (no file
    I/O inside them): every other writer waits for them. Do not open a write inside a write in one
    thread: the inner one would wait for the outer forever, so it raises `StorageError` instead.
    """

    def __init__(self, url: str) -> None:
        self._url = str(url)
        parsed = _to_url(self._url)
        self._display = parsed.render_as_string(hide_password=True)
        self._is_sqlite = parsed.get_backend_name() == "sqlite"
        engine, fresh = _shared_engine(parsed, self._display)
        self._engine = engine
        self._write_engine = engine.execution_options(**{_WRITE_OPTION: True})
        self._local = threading.local()
        if not fresh and self._is_sqlite:
            return  # this process opened (and if needed upgraded) this very file already
        # A server's database may have been dropped and created again under the same URL: check it each time.
        try:
            self._open_schema()
        except BaseException:
            if fresh:
                _forget_engine(parsed, engine)
            raise
        if fresh:
            _remember_identity(parsed, engine)

    def _open_schema(self) -> None:
        with self.read() as conn:
            version = current_version(conn)
        check_supported(version, self._display)
        if version < LATEST_VERSION:
            with self._translate_errors():
                upgrade(self._write_engine, url=self._display)

    @property
    def url(self) -> str:
        """The URL the catalog was opened with."""
        return self._url

    @property
    def display_url(self) -> str:
        """The URL with its password hidden, for messages."""
        return self._display

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (reads); prefer `read()` / `write()`, which manage transactions."""
        return self._engine

    def __repr__(self) -> str:
        return f"Catalog({self._display!r})"

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            raise self._storage_error(exc) from exc
        except sa_exc.DatabaseError as exc:
            if type(exc) is not sa_exc.DatabaseError:  # constraint violations etc. are the caller's to handle
                raise
            raise self._storage_error(exc) from exc

    def _storage_error(self, exc: sa_exc.DBAPIError) -> StorageError:
        reason = _reason(exc)
        if "locked" in reason or "busy" in reason:
            fix = (
                f"Another process kept the catalog's write lock longer than this one waits "
                f"({BUSY_TIMEOUT_SECONDS} s), or a write was attempted inside Catalog.read(). Fix: find the "
                f"process that keeps a long write transaction open (or is stuck), end it, and retry; write "
                f"only inside Catalog.write()."
            )
        elif "not a database" in reason:
            fix = (
                "The file is not a SQLite database. Fix: point the registry at its catalog.db file, or "
                "restore that file from a backup."
            )
        elif "malformed" in reason:
            fix = f"The catalog {self._file()} is damaged. {_DAMAGE_FIX}"
        else:
            fix = (
                "Fix: check the URL (sqlite:////absolute/path/catalog.db, or "
                "postgresql://user@host:5432/database), that the database server is running and reachable, "
                "and that you may read and write the database."
            )
        return StorageError(f"Cannot use the catalog at {self._display}: {reason}. {fix}")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection inside one read transaction (SQLite: deferred, never blocks or is blocked)."""
        with self._translate_errors():
            with self._engine.connect() as conn, conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection inside one write transaction, committed on normal exit, rolled back on error.

        The write lock is taken at the start (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: an advisory lock):
        concurrent writers queue instead of failing.
        """
        if getattr(self._local, "writing", False):
            raise StorageError(
                f"A write transaction on the catalog at {self._display} is already open in this thread; a "
                f"second one would wait for the first forever. Fix: pass the open connection down instead "
                f"of calling Catalog.write() (or pending_upload) inside Catalog.write()."
            )
        self._local.writing = True
        try:
            with self._translate_errors():
                with self._write_engine.connect() as conn, conn.begin():
                    if conn.dialect.name == "postgresql":
                        # Same rule as SQLite's BEGIN IMMEDIATE: one writer at a time, so read-then-write
                        # steps (new model, free version name, metadata) need no retry logic above.
                        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_WRITER_LOCK_KEY})")
                    yield conn
        finally:
            self._local.writing = False

    def integrity_problems(self, *, full: bool = False) -> list[str]:
        """What SQLite's own check finds wrong in the catalog file: one line naming the file, the finding and
        the fix, or [] when the file is whole. Reads, never changes, the file.

        `PRAGMA quick_check` reads every page once and checks that each is well-formed; with `full=True`,
        `PRAGMA integrity_check` also checks every index against its table (slower on a large catalog).
        PostgreSQL has no such check a client can run (the server guards its own pages: data checksums,
        pg_amcheck), so this returns [] there. Raises `StorageError` when the catalog cannot be read for
        another reason (unreachable, locked).
        """
        if not self._is_sqlite:
            return []
        pragma = "integrity_check" if full else "quick_check"
        with self._translate_errors():
            try:
                with self._engine.connect() as conn, conn.begin():
                    found = [str(row) for row in conn.exec_driver_sql(f"PRAGMA {pragma}").scalars()]
            except sa_exc.DatabaseError as exc:  # the damage can be too bad for the check to get through
                found = [_reason(exc)]
                if not any(sign in found[0] for sign in ("malformed", "not a database")):
                    raise
        if found == ["ok"]:
            return []
        shown = "; ".join(" ".join(line.split()) for line in found[:3]) + ("; ..." if len(found) > 3 else "")
        return [f"catalog {self._file()} is damaged: SQLite's PRAGMA {pragma} says: {shown}. Nothing was "
                f"repaired or removed. {_DAMAGE_FIX}"]

    def _file(self) -> str:
        return _to_url(self._url).database or self._display

    def dispose(self) -> None:
        """Close every pooled connection (call before forking, or when done with the catalog). The next
        Catalog on this URL opens a new engine and checks the schema again."""
        _forget_engine(_to_url(self._url), self._engine)


# -- uploads: writes of artifact files in progress ---------------------------------------------


def lock_against_collection(conn: Connection) -> None:
    """Serialize this write transaction with garbage collection.

    SQLite's `BEGIN IMMEDIATE` already serializes all writers; on PostgreSQL this locks the schema rows
    until the transaction ends, so a publish and a collection never interleave.
    """
    conn.execute(select(mreg_schema.c.version).with_for_update())


@contextmanager
def pending_upload(catalog: Catalog, description: str = "") -> Iterator[str]:
    """Record a write of artifact files in progress; yield its id.

    The record is committed before the body runs, so garbage collection leaves alone the objects this
    upload writes (or reuses) until the version that references them is published. Publish with
    `finish_upload(conn, upload_id)` inside the `Catalog.write()` that inserts the version; the record
    is also removed when the block exits, normally or not. Do not call it inside `Catalog.write()`.
    """
    upload_id = str(uuid.uuid4())
    with catalog.write() as conn:
        lock_against_collection(conn)
        conn.execute(
            tables.uploads.insert().values(
                id=upload_id,
                started_on=utcnow(),
                host=socket.gethostname()[:255],
                pid=os.getpid(),
                description=description,
            )
        )
    try:
        yield upload_id
    finally:
        try:
            with catalog.write() as conn:
                conn.execute(tables.uploads.delete().where(tables.uploads.c.id == upload_id))
        except Exception as exc:  # noqa: BLE001 - never hide the body's outcome behind a cleanup failure
            warnings.warn(
                f"Could not remove the upload record {upload_id} from the catalog at {catalog.display_url}: "
                f"{exc}. "
                f"It is harmless; jupyter_mreg.store.check(..., repair=True) removes it once this process "
                f"has ended.",
                RuntimeWarning,
                stacklevel=3,
            )


def finish_upload(
    conn: Connection,
    upload_id: str,
    *,
    artifacts: ArtifactStore | None = None,
    shas: Iterable[str] = (),
) -> None:
    """End upload `upload_id` inside the caller's write transaction (the one that publishes the version).

    Call it first in that transaction: it takes the lock that keeps garbage collection out until the
    commit (on PostgreSQL, taking it first in every publish also keeps publishes from deadlocking each
    other). With `artifacts` and `shas`, it then checks that every object the version references is in
    the store, raising `StorageError` (and so rolling back the publish) if one was collected meanwhile:
    a published version always has all of its files.
    """
    lock_against_collection(conn)
    if artifacts is not None:
        missing = sorted({sha for sha in shas if not artifacts.exists(sha)})
        if missing:
            raise StorageError(
                f"{len(missing)} artifact object(s) of this upload are no longer in the artifact store at "
                f"{artifacts.url!r} (first: {missing[0]}): they were removed (by garbage collection of an "
                f"unreferenced object, or by hand) before the version was published. Nothing was "
                f"published. Fix: log the version again."
            )
    conn.execute(tables.uploads.delete().where(tables.uploads.c.id == upload_id))
