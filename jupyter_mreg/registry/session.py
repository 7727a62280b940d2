"""`Session`: where the registry lives and who is using it, built like a Snowpark session.

    session = Session.builder.configs({"home": "/path/to/registry"}).create()
    session = Session.builder.getOrCreate()        # MREG_HOME, then ~/.mreg

The catalog (SQLAlchemy URL) and the artifact store (fsspec URL) default to `<home>/catalog.db` and
`<home>/artifacts`; both open on first use, so creating a session is cheap.
"""

from __future__ import annotations

import getpass
import os
import threading
from pathlib import Path
from typing import Any

from jupyter_mreg._lazy import lazy_module
from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.registry.identifiers import parse_identifier

store = lazy_module("jupyter_mreg.store")  # SQLAlchemy and fsspec load when a session first opens its storage

CONFIG_KEYS = ("home", "catalog_url", "artifacts_url", "role", "user", "database", "schema")
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
        self._catalog = None
        self._artifacts = None
        self._open_lock = threading.Lock()

    # --- storage, opened on first use ---------------------------------------------------------
    @property
    def catalog(self):
        """The catalog (`jupyter_mreg.store.Catalog`), created and migrated on first use."""
        with self._open_lock:
            if self._catalog is None:
                self._catalog = store.Catalog(self.catalog_url)
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
        """Where loaded versions are unpacked (a local folder even when artifacts are remote)."""
        return self.home / "cache"

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
        return f"Session(home={str(self.home)!r}, user={self._user!r}, role={self._role!r})"


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"
