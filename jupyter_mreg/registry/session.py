"""`Session`: where the registry lives and who is using it, built like a Snowpark session.

    session = Session.builder.configs({"home": "/path/to/registry"}).create()
    session = Session.builder.getOrCreate()        # MREG_HOME, then ~/.mreg

The catalog (SQLAlchemy URL) and the artifact store (fsspec URL) default to `<home>/catalog.db` and
`<home>/artifacts`; both open on first use, so creating a session is cheap.

A registry this process may not write (config `"read_only": True`, or its catalog or artifact folder on a
read-only mount or without write permission) opens read-only: every read works, every change raises
`ReadOnlyError` before doing anything, and loaded versions unpack into a per-user cache outside the home.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from jupyter_mreg._lazy import lazy_module
from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.registry.identifiers import parse_identifier

store = lazy_module("jupyter_mreg.store")  # SQLAlchemy and fsspec load when a session first opens its storage

CONFIG_KEYS = ("home", "catalog_url", "artifacts_url", "role", "user", "database", "schema", "read_only",
               "create_schemas")
DEFAULT_ROLE = "PUBLIC"

_active: Session | None = None
_active_lock = threading.Lock()


def default_home() -> Path:
    """`MREG_HOME`, else `~/.mreg`."""
    return Path(os.environ.get("MREG_HOME") or Path.home() / ".mreg").expanduser()


class SessionBuilder:
    """Collects configuration, then `create()`s a session or returns the active one."""

    def __init__(self) -> None:
        self._options: dict[str, Any] = {}

    def configs(self, options: dict[str, Any]) -> SessionBuilder:
        unknown = sorted(set(options) - set(CONFIG_KEYS))
        if unknown:
            raise InvalidArgumentError(
                f"Session config has unknown key(s) {unknown}: expected some of {list(CONFIG_KEYS)}. A local "
                "registry needs no account or password; point `home` at the folder that holds it."
            )
        self._options.update(options)
        return self

    def config(self, key: str, value: Any) -> SessionBuilder:
        return self.configs({key: value})

    def create(self) -> Session:
        global _active
        session = Session(self._options)
        with _active_lock:
            _active = session
        return session

    def getOrCreate(self) -> Session:  # noqa: N802 - Snowpark's name
        with _active_lock:
            if _active is not None and not self._options:
                return _active
        return self.create()


class _BuilderDescriptor:
    def __get__(self, obj: object, owner: type) -> SessionBuilder:
        return SessionBuilder()


class Session:
    """A connection to one local registry home, with a current user, role, database and schema."""

    builder = _BuilderDescriptor()

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        options = dict(options or {})
        home = options.get("home")
        self.home = Path(home).expanduser().resolve() if home else default_home().resolve()
        self.catalog_url: str = options.get("catalog_url") or f"sqlite:///{self.home / 'catalog.db'}"
        self.artifacts_url: str = str(options.get("artifacts_url") or self.home / "artifacts")
        self._user: str = options.get("user") or _current_user()
        self._role = parse_identifier(options.get("role") or DEFAULT_ROLE, "Role")
        self._database = parse_identifier(options["database"], "Database") if options.get("database") else None
        self._schema = parse_identifier(options["schema"], "Schema") if options.get("schema") else None
        read_only, create_schemas = (options.get(key, False) for key in ("read_only", "create_schemas"))
        for key, value in (("read_only", read_only), ("create_schemas", create_schemas)):
            if not isinstance(value, bool):
                raise InvalidArgumentError(f"Session config {key} must be True or False, found {value!r}.")
        # Snowflake code names databases that a fresh local registry lacks: with this, `Registry(session, ...)`
        # creates them, so such code runs after changing only the session line.
        self.create_schemas: bool = create_schemas
        # None: not decided yet (on first use: the folders are looked at then); "": writable; else why not
        self._read_only_reason: str | None = (
            f'it was opened with "read_only": True in its Session config. Fix: to change it, create a '
            f'Session without "read_only" (that needs write access to {self.home})' if read_only else None)
        self._cache_dir: Path | None = None
        self._catalog = None
        self._artifacts = None
        self._open_lock = threading.Lock()

    # --- storage, opened on first use ---------------------------------------------------------
    @property
    def read_only(self) -> bool:
        """Whether this session may not change its registry: opened with config `"read_only": True`, or its
        catalog file or folder, or local artifact folder, is one this process may not write (a read-only
        mount, no write permission). Decided on first use; see `read_only_reason`."""
        return bool(self.read_only_reason)

    @property
    def read_only_reason(self) -> str:
        """Why this session may not change its registry, and the fix, as a sentence; "" when it may."""
        if self._read_only_reason is None:
            self._read_only_reason = self._unwritable_reason()
        return self._read_only_reason

    def _unwritable_reason(self) -> str:
        catalog_file = store.sqlite_path(self.catalog_url)
        places = [catalog_file and os.path.dirname(catalog_file), catalog_file, _local_path(self.artifacts_url)]
        for place in filter(None, places):
            why = _unwritable(Path(place))
            if why:
                return (f"{why}. Fix: to change it, ask for write access to {place}, or copy the registry to a "
                        f"folder you may write and open the copy (Session config "
                        f'{{"home": "<the copy>"}})')
        return ""

    @property
    def catalog(self):
        """The catalog (`jupyter_mreg.store.Catalog`), created and migrated on first use (read-only: opened,
        never created or migrated)."""
        with self._open_lock:
            if self._catalog is None:
                self._catalog = store.Catalog(self.catalog_url, read_only=self.read_only)
            return self._catalog

    @property
    def artifacts(self):
        """The content-addressed artifact store (`jupyter_mreg.store.ArtifactStore`)."""
        with self._open_lock:
            if self._artifacts is None:
                self._artifacts = store.ArtifactStore(self.artifacts_url)
            return self._artifacts

    @property
    def cache_dir(self) -> Path:
        """Where loaded versions are unpacked (a local folder even when artifacts are remote): `<home>/cache`,
        or, when the session is read-only or the home not writable, a per-user cache outside the home."""
        if self._cache_dir is None:
            inside = not self.read_only and not _unwritable(self.home)
            self._cache_dir = self.home / "cache" if inside else _user_cache_dir(self.home)
        return self._cache_dir

    @property
    def staging_dir(self) -> Path:
        """Where log_model saves a package before storing it when the artifact store is not a local folder
        (a local store has its own `tmp/`, on the same disk, so files are renamed rather than copied)."""
        return self.home / "tmp"

    # --- Snowpark-style context ---------------------------------------------------------------
    def get_current_user(self) -> str:
        return self._user

    def get_current_role(self) -> str:
        return self._role

    def get_current_database(self) -> str | None:
        return self._database

    def get_current_schema(self) -> str | None:
        return self._schema

    def use_role(self, role: str) -> None:
        self._role = parse_identifier(role, "Role")

    def use_database(self, database: str) -> None:
        self._database = parse_identifier(database, "Database")

    def use_schema(self, schema: str) -> None:
        self._schema = parse_identifier(schema, "Schema")

    def close(self) -> None:
        """Let go of the catalog. Its connections stay pooled for the other sessions of this process on the
        same catalog (one engine per catalog and process): the next Session opens no new connection."""
        self._catalog = None

    def __repr__(self) -> str:
        read_only = ", read_only=True" if self.read_only else ""
        return f"Session(home={str(self.home)!r}, user={self._user!r}, role={self._role!r}{read_only})"


def _unwritable(path: Path) -> str:
    """Why this process may not create or change files in `path` (a folder, or a file; when it does not exist
    yet, the nearest folder above it that does), or "" when it may. Looks without writing anything."""
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:  # refuses root too, which permissions do not
            return f"{path} is on a read-only file system"
    except (OSError, AttributeError):  # no statvfs (Windows): permissions tell
        pass
    wanted = os.W_OK | (os.X_OK if path.is_dir() else 0)
    if not os.access(path, wanted, effective_ids=os.access in os.supports_effective_ids):
        return f"user {_effective_user()} may not write to {path}"
    return ""


def _user_cache_dir(home: Path) -> Path:
    """A folder of this user's own for versions loaded from the registry at `home`, outside it:
    `$XDG_CACHE_HOME/jupyter_mreg/<hash of home>` (`~/.cache/...`), else one under the temp folder."""
    tag = hashlib.sha256(str(home).encode()).hexdigest()[:16]
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    try:
        folder = base / "jupyter_mreg" / tag
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    except (OSError, RuntimeError):  # no home folder, or not writable (e.g. user nobody)
        pass
    # A folder in the shared temp folder must be this user's own and closed to others (loading unpickles
    # what it finds there); otherwise this process makes a fresh one.
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    shared = Path(tempfile.gettempdir()) / f"jupyter_mreg-{uid if uid is not None else _current_user()}"
    try:
        shared.mkdir(mode=0o700, exist_ok=True)
        st = shared.lstat()
        if shared.is_symlink() or (uid is not None and (st.st_uid != uid or st.st_mode & 0o077)):
            raise PermissionError(f"{shared} is not this user's own folder")
    except OSError:
        shared = Path(tempfile.mkdtemp(prefix="jupyter_mreg-"))
    folder = shared / tag
    folder.mkdir(exist_ok=True)
    return folder


def _local_path(url: str) -> str | None:
    """The local folder of an artifact store URL (a plain path, file:// or local://); None when remote."""
    for prefix in ("file://", "local://"):
        if url.startswith(prefix):
            return url[len(prefix):]
    return None if "://" in url else url


def _effective_user() -> str:
    """The name of the user this process acts as (the login name may differ, e.g. under sudo or setpriv)."""
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, AttributeError):
        return _current_user()


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"
