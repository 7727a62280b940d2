"""The catalog: a SQLAlchemy Core engine over the tables of `tables.py`, with short, explicit transactions.

SQLite (the default, a file next to the artifacts) runs in WAL mode: readers never block, writers queue
on the database's write lock for up to 60 s. PostgreSQL works by URL with the same code. Every catalog
access goes through `Catalog.read()` or `Catalog.write()`, one transaction each.

`Catalog(url, read_only=True)` reads a catalog it may not (or must not) change: see `Catalog`.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import urllib.parse
import uuid
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from jupyter_mreg.errors import ReadOnlyError, StorageError

from . import tables
from .migrations import LATEST_VERSION, READABLE_SINCE, check_supported, current_version, mreg_schema, upgrade

if TYPE_CHECKING:
    from .artifacts import ArtifactStore

BUSY_TIMEOUT_SECONDS = 60
_WRITE_OPTION = "jupyter_mreg_write"
_WRITER_LOCK_KEY = 0x6D726567  # "mreg": the PostgreSQL advisory lock every catalog writer takes


def utcnow() -> datetime:
    """Now, as the naive UTC datetime the catalog stores."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _sqlite_connect(dbapi_connection: Any, connection_record: Any, *, read_only: bool = False) -> None:
    # Take BEGIN away from pysqlite: it would start write transactions lazily (and fail on the lock
    # upgrade instead of waiting); our "begin" listener emits BEGIN / BEGIN IMMEDIATE instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        if not read_only:  # switching the journal mode writes the file's header
            _enable_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_connect_read_only(dbapi_connection: Any, connection_record: Any) -> None:
    _sqlite_connect(dbapi_connection, connection_record, read_only=True)


def _postgres_connect_read_only(dbapi_connection: Any, connection_record: Any) -> None:
    # The server refuses every write of this connection's transactions, whatever statement slips through.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    finally:
        cursor.close()
    dbapi_connection.commit()  # a SET in a transaction that rolls back would be undone with it


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


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite catalog URL (or plain path); None for a server or an in-memory database."""
    return _sqlite_file(_to_url(url))


def _sqlite_file(parsed: URL) -> str | None:
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


# One engine per catalog and mode (read-write, read-only) in a process, shared by every Session on it: an
# engine keeps the compiled form of each statement, and compiling them again for every new Session was most
# of the cost of a cold load(). A SQLite engine is reused only while its file is the same file (not deleted
# and created again). A read-only engine is never handed to a read-write Catalog, nor the other way round.
_engines: dict[tuple[str, bool], tuple[Engine, Any]] = {}
_engines_lock = threading.Lock()


def _engine_key(parsed: URL, read_only: bool) -> tuple[str, bool]:
    return parsed.render_as_string(hide_password=False), read_only


def _file_identity(parsed: URL) -> Any:
    if parsed.get_backend_name() != "sqlite":
        return "server"
    database = _sqlite_file(parsed)
    if database is None:
        return None
    try:
        st = os.stat(database)
    except OSError:
        return None  # not created yet: the first Session creates it, with a new engine
    return (st.st_dev, st.st_ino)


def _shared_engine(parsed: URL, display: str, read_only: bool) -> tuple[Engine, bool]:
    """(engine, created now) for `parsed` in that mode; see `_engines`. In-memory SQLite is never shared."""
    key = _engine_key(parsed, read_only)
    identity = _file_identity(parsed)
    with _engines_lock:
        cached = _engines.get(key)
        if cached is not None and identity is not None and cached[1] == identity:
            return cached[0], False
        engine = _make_engine(parsed, display, read_only)
        # Shared once its schema is open (`_remember_identity`): a new file's identity is known only then.
        _engines[key] = (engine, None)
        return engine, True


def _remember_identity(parsed: URL, read_only: bool, engine: Engine) -> None:
    key = _engine_key(parsed, read_only)
    with _engines_lock:
        if key in _engines and _engines[key][0] is engine:
            _engines[key] = (engine, _file_identity(parsed))


def _forget_engine(parsed: URL, read_only: bool, engine: Engine) -> None:
    key = _engine_key(parsed, read_only)
    with _engines_lock:
        if key in _engines and _engines[key][0] is engine:
            del _engines[key]
    engine.dispose()


def _make_engine(parsed: URL, display: str, read_only: bool) -> Engine:
    is_sqlite = parsed.get_backend_name() == "sqlite"
    options: dict[str, Any] = {}
    if is_sqlite and read_only:
        options["creator"] = _sqlite_read_only_opener(parsed, display)
    elif is_sqlite:
        database = _sqlite_file(parsed)
        if database:
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
        event.listen(engine, "connect", _sqlite_connect_read_only if read_only else _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    elif read_only and parsed.get_backend_name() == "postgresql":
        event.listen(engine, "connect", _postgres_connect_read_only)
    if hasattr(os, "register_at_fork"):
        # A forked child must not reuse the parent's pooled connections (a SQLite handle shared by two
        # processes can corrupt the file): it opens its own.
        ref = weakref.ref(engine)
        os.register_at_fork(after_in_child=lambda: _forget_pool(ref))
    return engine


def _sqlite_read_only_opener(parsed: URL, display: str) -> Callable[[], sqlite3.Connection]:
    """A function that opens a SQLite catalog file read-only, chosen once by trying it.

    `mode=ro` first: it sees other processes' commits, whether still in the -wal file or not. A WAL
    database needs its -shm (and -wal) file for that; in a folder this process may not write, and with no
    -shm left there by a writer, SQLite cannot create it and refuses. With no -wal either, the file alone is
    the whole catalog, and we read it `immutable`: without locks, on the promise that nobody changes it
    while we read. Nobody can through a read-only mount; another machine writing the same share, or root in
    a folder merely without write permission, could, and this reader would then see stale or torn pages.
    """
    if (parsed.database or "").startswith("file:"):
        raise StorageError(f"Cannot open the catalog at {display} read-only: give its file as "
                           f"sqlite:////absolute/path/catalog.db, not as a SQLite file: URI.")
    database = _sqlite_file(parsed)
    if database is None or not os.path.isfile(database):
        raise _no_catalog(display)
    if not os.access(database, os.R_OK):
        raise StorageError(f"Cannot read the catalog at {display}: this user may not read {database}. Fix: ask "
                           f"its owner for read access.")
    uri = f"file:{urllib.parse.quote(os.path.abspath(database))}?mode=ro"

    def opener(query: str) -> Callable[[], sqlite3.Connection]:
        return lambda: sqlite3.connect(f"{uri}{query}", uri=True, timeout=BUSY_TIMEOUT_SECONDS,
                                       check_same_thread=False)

    probe = opener("")()
    try:
        probe.execute("SELECT count(*) FROM sqlite_master").fetchall()
        return opener("")
    except sqlite3.DatabaseError as exc:
        if not _cannot_make_shm(exc):
            raise StorageError(f"Cannot read the catalog at {display}: {exc}. Fix: point the registry at its "
                               f"catalog.db file, or restore that file from a backup.") from exc
    finally:
        probe.close()
    try:
        wal_size = os.path.getsize(database + "-wal")
    except OSError:
        wal_size = 0
    if wal_size:
        raise StorageError(
            f"Cannot read the catalog at {display} read-only: its last changes are still in "
            f"{os.path.basename(database)}-wal, and SQLite needs to create {os.path.basename(database)}-shm "
            f"next to it to read them, in a folder this process may not write. Fix: open the registry once "
            f"read-write (closing it folds the -wal into the catalog), or copy the catalog file with its -wal "
            f"file to a folder you may write and open the copy."
        )
    return opener("&immutable=1")


def _cannot_make_shm(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if code is None:
        return "unable to open" in str(exc) or "readonly" in str(exc)
    # SQLITE_CANTOPEN (a read-only mount), SQLITE_READONLY_CANTINIT and _DIRECTORY (no write permission)
    return code in (14, 1288, 1544)


def _no_catalog(display: str) -> StorageError:
    return StorageError(
        f"There is no catalog at {display}: a catalog opened read-only is never created. Fix: check the "
        f"path or URL (a registry's catalog is <home>/catalog.db); create a new registry by opening it "
        f"read-write where you may write."
    )


def _forget_pool(ref: weakref.ref[Engine]) -> None:
    engine = ref()
    if engine is not None:
        engine.dispose(close=False)


class Catalog:
    """The registry's catalog at a SQLAlchemy URL; opening it creates or upgrades its schema (unless read-only).

    Use `with catalog.read() as conn:` and `with catalog.write() as conn:`; each is one transaction,
    committed on normal exit and rolled back on an exception. Keep write transactions short (no file
    I/O inside them): every other writer waits for them. Do not open a write inside a write in one
    thread: the inner one would wait for the outer forever, so it raises `StorageError` instead.

    `read_only=True` opens an existing catalog without changing anything: it never creates a file,
    folder or table, never upgrades the schema, never switches the journal mode, and `write()` raises
    `ReadOnlyError`. A missing catalog (no file, or no tables in the database) and a catalog of an older
    schema (it must be upgraded once by a read-write open) raise `StorageError`. SQLite reads through a
    `mode=ro` connection (in a folder this process may not write, with no -shm file there, an `immutable` one);
    PostgreSQL runs every transaction READ ONLY.
    """

    def __init__(self, url: str, *, read_only: bool = False) -> None:
        self._url = str(url)
        self._read_only = bool(read_only)
        parsed = _to_url(self._url)
        self._display = parsed.render_as_string(hide_password=True)
        self._is_sqlite = parsed.get_backend_name() == "sqlite"
        engine, fresh = _shared_engine(parsed, self._display, self._read_only)
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
                _forget_engine(parsed, self._read_only, engine)
            raise
        if fresh:
            _remember_identity(parsed, self._read_only, engine)

    def _open_schema(self) -> None:
        with self.read() as conn:
            version = current_version(conn)
        check_supported(version, self._display)
        if version < READABLE_SINCE and self._read_only:
            if version == 0:
                raise _no_catalog(self._display)
            # Reading an older schema would need every query in two versions; one upgrade settles it.
            raise StorageError(
                f"The catalog at {self._display} has schema version {version}, and this jupyter_mreg reads "
                f"schema versions {READABLE_SINCE} to {LATEST_VERSION}: an older jupyter_mreg wrote it, and a "
                f"read-only open never upgrades it. Fix: open the registry once read-write with this jupyter_mreg "
                f"(or ask its owner to): that upgrades the catalog in place, and read-only opens work from then on."
            )
        if version < LATEST_VERSION and not self._read_only:
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
    def read_only(self) -> bool:
        """Whether the catalog was opened read-only (`write()` raises `ReadOnlyError`)."""
        return self._read_only

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (reads); prefer `read()` / `write()`, which manage transactions."""
        return self._engine

    def __repr__(self) -> str:
        return f"Catalog({self._display!r}{', read_only=True' if self._read_only else ''})"

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
            raise self._storage_error(exc) from exc
        except sa_exc.DatabaseError as exc:
            if type(exc) is not sa_exc.DatabaseError and not _refused_as_read_only(exc):
                raise  # constraint violations etc. are the caller's to handle
            raise self._storage_error(exc) from exc

    def _storage_error(self, exc: sa_exc.DBAPIError) -> StorageError:
        reason = _reason(exc)
        if _refused_as_read_only(exc):
            return self._read_only_error(reason)
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

    def _read_only_error(self, refusal: str = "") -> ReadOnlyError:
        why = ("it was opened read-only (Catalog(..., read_only=True))" if self._read_only else
               "the database refuses writes (a read-only file, folder or mount, or a read-only server)")
        said = f" ({refusal})" if refusal else ""
        return ReadOnlyError(
            f"Cannot change the catalog at {self._display}: {why}{said}. Nothing was changed. Fix: to change "
            f"it, open it read-write with write access to it; to read it, open it read-only."
        )

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
        if self._read_only:
            raise self._read_only_error()
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
        _forget_engine(_to_url(self._url), self._read_only, self._engine)


def _refused_as_read_only(exc: sa_exc.DBAPIError) -> bool:
    """Whether the database refused a write because the connection or the file is read-only."""
    orig = getattr(exc, "orig", None)
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)  # Python 3.11+
        if code is None:
            return "readonly database" in str(orig)
        return code & 0xFF == 8  # SQLITE_READONLY, whatever its extended code says about why
    # PostgreSQL's read_only_sql_transaction (psycopg 3 names it sqlstate, psycopg2 pgcode)
    return "25006" in (getattr(orig, "sqlstate", None), getattr(orig, "pgcode", None))


# -- uploads: writes of artifact files in progress ---------------------------------------------

UPLOADED = "uploaded_on"  # catalog_info: when this catalog first began an upload to its store


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
        _mark_uploaded(conn)
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


def _mark_uploaded(conn: Connection) -> None:
    """Note, once, that this catalog has uploaded to its store: objects an interrupted first upload left there
    are then this catalog's garbage, not a sign of a mistyped catalog beside another registry's store."""
    info = tables.catalog_info
    if conn.execute(select(info.c.name).where(info.c.name == UPLOADED)).first() is None:
        conn.execute(info.insert().values(name=UPLOADED, value=utcnow().isoformat()))


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
