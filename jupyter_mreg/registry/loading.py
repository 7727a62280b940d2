"""Unpack a version's files from the artifact store and load its model, verifying every hash.

Loaded objects are cached per process, keyed by the version's identity, so repeated `run()` calls pay the
load once. The environment check happens before anything is unpickled.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from functools import partial
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

from jupyter_mreg._process import pid_alive
from jupyter_mreg.errors import EnvironmentMismatchError
from jupyter_mreg.model import environment
from jupyter_mreg.model.packaging.manifest import Manifest
from jupyter_mreg.model.packaging.package import load_package

_CACHE_SIZE = 8
_cache: OrderedDict[tuple, Any] = OrderedDict()
_cache_lock = threading.Lock()
_unpack_lock = threading.Lock()


def unpack(session: Any, files: dict[str, tuple[str, int]], dest: Path) -> Path:
    """Copy a version's files into `dest` (which must not exist yet), verifying each hash.

    Written to a temporary sibling first and renamed, so an interrupted unpack never looks complete.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Named after this process, like the cache's folders: one a killed process left goes at the next sweep.
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", suffix=f"-p{os.getpid()}", dir=dest.parent))
    try:
        session.artifacts.materialize(files, staging)
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


def check_environment(manifest: Manifest, *, force: bool, what: str) -> None:
    """Refuse (or, with `force`, warn) when the running environment differs from the recorded one."""
    errors, notes = environment.check_environment(manifest.environment)
    for note in notes:
        warnings.warn(f"{what}: {note}", RuntimeWarning, stacklevel=3)
    if errors:
        message = f"Unable to load {what}: " + environment.mismatch_message(errors)
        if not force:
            raise EnvironmentMismatchError(message)
        warnings.warn(message + " Loading anyway because force=True.", RuntimeWarning, stacklevel=3)


def load_version(session: Any, key: tuple, files: Callable[[], dict[str, tuple[str, int]]], manifest: Manifest, *,
                 what: str, force: bool = False, options: dict | None = None, use_cache: bool = True) -> Any:
    """The version's original Python object; `key` identifies the version (it is immutable), `files`
    gives its file list (asked only when the object is not cached)."""
    cache_key = (session.catalog_url, *key, repr(sorted((options or {}).items())))
    if use_cache:
        with _cache_lock:
            if cache_key in _cache:
                _cache.move_to_end(cache_key)
                return _cache[cache_key]
    check_environment(manifest, force=force, what=what)
    with _unpack_lock:  # two threads loading the same version would race for its folder
        obj = _unpack_and_load(session, key, files, manifest, options, partial(load_package, force=force, what=what))
    if use_cache:
        with _cache_lock:
            _cache[cache_key] = obj
            while len(_cache) > _CACHE_SIZE:
                _cache.popitem(last=False)
    return obj


def version_folder(session: Any, key: tuple) -> Path:
    """Where this process unpacks the version `key` to load it; it stays while the process runs."""
    # One folder per version and process: objects loaded from it may keep reading it (code paths, lazily
    # loaded weights), so it stays while it is intact, and another kernel may be using its own copy.
    return session.cache_dir / f"{'-'.join(str(k) for k in key)}-p{os.getpid()}"


def _unpack_and_load(session: Any, key: tuple, files: Callable, manifest: Manifest, options: dict | None,
                     load_package: Callable) -> Any:
    folder = version_folder(session, key)
    listing = files()
    if folder.exists() and not _intact(folder, listing):
        stale = folder.with_name(f".stale-{uuid.uuid4().hex}")  # changed on disk: replace it
        folder.rename(stale)
        threading.Thread(target=shutil.rmtree, args=(stale,), kwargs={"ignore_errors": True}, daemon=True).start()
    if not folder.exists():
        unpack(session, listing, folder)
    obj = load_package(folder, options=options, manifest=manifest)
    _sweep_dead_processes(session.cache_dir)
    return obj


def _intact(folder: Path, files: dict[str, tuple[str, int]]) -> bool:
    """True when `folder` holds exactly the version's files with their recorded hashes."""
    for path, (sha, size) in files.items():
        file = folder / path
        try:
            if file.stat().st_size != size:
                return False
            digest = hashlib.sha256()
            with open(file, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            if digest.hexdigest() != sha:
                return False
        except OSError:
            return False
    return True


def _sweep_dead_processes(cache_dir: Path) -> None:
    """Remove unpacked folders left by processes that have exited, and leftovers of interrupted work."""
    for entry in cache_dir.iterdir():
        match = re.search(r"-p(\d+)$", entry.name)
        dead = match is not None and not pid_alive(int(match.group(1)))
        # (an older release's unpack folder has no process in its name: an hour without change ends it)
        interrupted = entry.name.startswith(".unpack-") and not match and time.time() - entry.stat().st_mtime > 3600
        if dead or interrupted or entry.name.startswith(".stale-"):
            shutil.rmtree(entry, ignore_errors=True)
