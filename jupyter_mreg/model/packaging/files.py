"""The user's own files in a package: `code_paths` copied to `code/` and `user_files` to `user_files/` at
save; at load, the `code/` folders put at the front of `sys.path` so the model's own modules import."""

from __future__ import annotations

import glob
import importlib
import os
import shutil
import sys
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

from jupyter_mreg.errors import InvalidArgumentError, PathNotFoundError
from jupyter_mreg.model.packaging.manifest import Manifest, read_manifest

CODE_DIR = "code"
USER_FILES_DIR = "user_files"
RESERVED_MODULE = "jupyter_mreg"  # a code path of this name would hide the library that loads the model
_IGNORE_IN_COPIES = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")


def copy_code_paths(code_paths: Any, root: Path) -> list[str]:
    """Copy each of `code_paths` (a path, or a `CodePath(root, filter)`-like object) into `root/code/`;
    return their paths relative to `root`, as the manifest records them. Every entry is checked before
    anything is copied: a missing one is a `PathNotFoundError` (a FileNotFoundError), two that land on the
    same path or module name are a conflict, with Snowflake's wording where it has one."""
    if not code_paths:
        return []
    if isinstance(code_paths, (str, os.PathLike)) or _is_code_path(code_paths):
        code_paths = [code_paths]
    entries = [_source_of(entry) for entry in code_paths]
    seen: dict[PurePosixPath, Path] = {}
    for src, rel in entries:
        if rel in seen:
            raise InvalidArgumentError(
                f"Destination path conflict: '{rel}' is targeted by both '{seen[rel]}' and '{src}'. Fix: rename "
                "one, or give their common parent folder instead.")
        seen[rel] = src
    _refuse_module_conflicts(entries)
    dest = root / CODE_DIR
    for src, rel in entries:
        target = dest / Path(*rel.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy(src, target)
    return [f"{CODE_DIR}/{rel.as_posix()}" for _, rel in entries]


def _refuse_module_conflicts(entries: list[tuple[Path, PurePosixPath]]) -> None:
    """Refuse two code paths that give the same top-level module name (`util.py` and `util/`, or a module
    of a plain folder, which goes on sys.path, and another entry): one would hide the other at import."""
    owner: dict[str, Path] = {}
    for src, rel in entries:
        for name in _module_names(src, rel):
            if name == RESERVED_MODULE:
                raise InvalidArgumentError(
                    f"`{RESERVED_MODULE}` is a reserved name and you cannot contain that into code path "
                    f"({src}): it would hide the installed jupyter_mreg. Fix: rename it.")
            if name in owner and owner[name] != src:
                raise InvalidArgumentError(
                    f"Module name conflict: the module '{name}' is provided by both '{owner[name]}' and '{src}', "
                    "so one would hide the other when the model is loaded. Fix: rename one.")
            owner[name] = src


def _module_names(src: Path, rel: PurePosixPath) -> set[str]:
    """The top-level module names a code path copied to `code/<rel>` makes importable."""
    if len(rel.parts) > 1:  # CodePath filters under one folder merge into one namespace package
        return set()
    if src.is_file():
        return {rel.stem} if rel.suffix == ".py" else set()
    names = {rel.name}
    if not (src / "__init__.py").exists():  # a plain folder goes on sys.path itself (`code_search_paths`)
        # its modules and packages; plain subfolders are namespace packages, which merge instead of hiding
        names |= {child.stem if child.is_file() else child.name for child in src.iterdir()
                  if (child.is_file() and child.suffix == ".py") or (child / "__init__.py").is_file()}
    return names


def copy_user_files(user_files: Any, root: Path) -> dict[str, list[str]]:
    """Copy `user_files` (`{subdirectory: [paths or glob patterns]}`) into `root/user_files/<subdirectory>/`;
    return `{subdirectory: [paths relative to root]}`, as the manifest records them."""
    if not user_files:
        return {}
    dest = root / USER_FILES_DIR
    if not isinstance(user_files, dict):
        raise InvalidArgumentError(
            f"user_files must be a dict {{subdirectory: [paths or glob patterns]}}, got {type(user_files).__name__}."
        )
    recorded: dict[str, list[str]] = {}
    for subdir, patterns in user_files.items():
        sub = PurePosixPath(str(subdir).replace("\\", "/").strip("/")) if subdir else PurePosixPath()
        if sub.is_absolute() or ".." in sub.parts:
            raise InvalidArgumentError(f"user_files subdirectory {subdir!r} must be a relative path without '..'.")
        if isinstance(patterns, (str, os.PathLike)):
            patterns = [patterns]
        folder = dest / Path(*sub.parts) if sub.parts else dest
        folder.mkdir(parents=True, exist_ok=True)
        files: list[str] = []
        for pattern in patterns:
            text = os.path.expanduser(os.fspath(pattern))
            if glob.has_magic(text):
                matches = sorted(glob.glob(text, recursive=True))
                if not matches:
                    raise InvalidArgumentError(f"user_files[{subdir!r}] pattern {text!r} matches no file.")
            else:
                if not os.path.exists(text):
                    raise InvalidArgumentError(
                        f"user_files[{subdir!r}] entry {text!r} does not exist (current directory: {os.getcwd()})."
                    )
                matches = [text]
            for match in matches:
                src = Path(match)
                target = folder / src.resolve().name
                rel = (PurePosixPath(USER_FILES_DIR) / sub / target.name).as_posix()
                if target.exists():
                    if rel in files:
                        continue  # the same file named twice (a path and a pattern that matches it)
                    raise InvalidArgumentError(
                        f"Two user_files[{subdir!r}] entries are named {target.name!r}: put them in different "
                        "subdirectories."
                    )
                _copy(src, target)
                files.append(rel)
        recorded[sub.as_posix() if sub.parts else ""] = files
    return recorded


def _is_code_path(entry: Any) -> bool:
    return getattr(entry, "root", None) is not None and not isinstance(entry, (str, PurePath))


def _source_of(entry: Any) -> tuple[Path, PurePosixPath]:
    """(absolute source path, destination relative to code/) for a code path: a str/PathLike keeps its
    basename; a `CodePath(root, filter)`-like object copies `root/filter` to `code/<filter>`. The checks and
    their messages are Snowflake's (a filter must stay inside its root)."""
    if not _is_code_path(entry):
        if not isinstance(entry, (str, os.PathLike)):
            raise InvalidArgumentError(f"code_paths entries must be file or folder paths or CodePath, got {entry!r}.")
        src = _absolute(entry)
        if not src.exists():
            raise PathNotFoundError(f"Code path '{os.fspath(entry)}' does not exist (resolved to {src}). "
                                    f"Fix: check the path (current directory: {os.getcwd()}).")
        return src, PurePosixPath(src.name)
    root, filt = entry.root, getattr(entry, "filter", None) or None
    if filt is not None:
        filt = str(filt)
        if any(c in filt for c in "*?[]"):
            raise InvalidArgumentError(
                f"CodePath: Wildcards are not supported in filter. Got '{filt}'. Use exact paths only.")
        if filt.startswith("~"):
            raise InvalidArgumentError(f"CodePath: filter must be a relative path, got home directory path '{filt}'.")
        if os.path.isabs(filt):
            raise InvalidArgumentError(f"CodePath: filter must be a relative path, got absolute path '{filt}'.")
    src = _absolute(root)
    if not src.exists():
        raise PathNotFoundError(f"CodePath: root '{root}' does not exist (resolved to {src}).")
    if filt is None:
        return src, PurePosixPath(src.name)
    if src.is_file():
        raise InvalidArgumentError(
            f"CodePath: cannot apply filter to a file root. Root '{root}' is a file. Use filter only with "
            "directory roots.")
    rel = PurePosixPath(os.path.normpath(filt).replace(os.sep, "/"))
    if rel.parts[:1] == ("..",) or rel == PurePosixPath("."):
        raise InvalidArgumentError(
            f"CodePath: filter '{filt}' escapes root directory '{root}'. Relative paths must stay within root.")
    if not (src / Path(*rel.parts)).exists():
        raise PathNotFoundError(f"CodePath: filter '{filt}' under root '{root}' does not exist "
                                f"(resolved to {src / Path(*rel.parts)}).")
    return src / Path(*rel.parts), rel


def _absolute(path: Any) -> Path:
    """`path` with `~` expanded, absolute and normalised (`..` folded, as the destination name needs)."""
    return Path(os.path.normpath(os.path.abspath(os.path.expanduser(os.fspath(path)))))


def _copy(src: Path, target: Path) -> None:
    if src.is_dir():
        shutil.copytree(src, target, ignore=_IGNORE_IN_COPIES)
    else:
        shutil.copy2(src, target)


def code_search_paths(path: str | os.PathLike, manifest: Manifest | None = None) -> list[str]:
    """The folders `load_package` puts at the front of `sys.path`: `code/`, and each code path folder in it
    that is not itself a package (a folder of modules is imported by its modules' names)."""
    root = Path(path)
    code = root / CODE_DIR
    if not code.is_dir():
        return []
    out = [str(code.resolve())]
    for rel in manifest.code_paths if manifest is not None else []:
        folder = root / rel
        if folder.is_dir() and not (folder / "__init__.py").exists():
            resolved = str(folder.resolve())
            if resolved not in out:
                out.append(resolved)
    return out


def activate_code_paths(path: str | os.PathLike, manifest: Manifest | None = None) -> list[str]:
    """Put the package's code folders at the front of `sys.path` (idempotent); return them."""
    folders = code_search_paths(path, manifest if manifest is not None else read_manifest(path))
    if not folders:
        return []
    if sys.path[: len(folders)] != folders:
        for folder in folders:
            while folder in sys.path:
                sys.path.remove(folder)
        sys.path[0:0] = folders
        importlib.invalidate_caches()
    return folders
