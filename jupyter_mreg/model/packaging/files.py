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

from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.model.packaging.manifest import Manifest, read_manifest

CODE_DIR = "code"
USER_FILES_DIR = "user_files"
_IGNORE_IN_COPIES = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", ".DS_Store")


def copy_code_paths(code_paths: Any, root: Path) -> list[str]:
    """Copy each of `code_paths` (a path, or a `CodePath(root, filter)`-like object) into `root/code/`;
    return their paths relative to `root`, as the manifest records them."""
    if not code_paths:
        return []
    dest = root / CODE_DIR
    if isinstance(code_paths, (str, os.PathLike)):
        code_paths = [code_paths]
    recorded: list[str] = []
    for entry in code_paths:
        src, rel = _source_of(entry)
        if not src.exists():
            raise InvalidArgumentError(
                f"code_paths entry {str(src)!r} does not exist (current directory: {os.getcwd()})."
            )
        target = dest / Path(*rel.parts)
        if target.exists():
            raise InvalidArgumentError(
                f"Two code_paths entries would both be copied to code/{rel}: rename one, or give their common "
                "parent folder instead."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy(src, target)
        recorded.append(f"{CODE_DIR}/{rel.as_posix()}")
    return recorded


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


def _source_of(entry: Any) -> tuple[Path, PurePosixPath]:
    """(source path, destination relative to code/) for a code path: a str/PathLike keeps its basename; a
    `CodePath(root, filter)`-like object copies `root/filter` to `code/<filter>`."""
    root = getattr(entry, "root", None)
    if root is not None and not isinstance(entry, (str, PurePath)):
        filt = getattr(entry, "filter", None)
        src = Path(root).expanduser()
        if filt:
            rel = PurePosixPath(str(filt).replace(os.sep, "/").strip("/"))
            if rel.is_absolute() or ".." in rel.parts:
                raise InvalidArgumentError(f"CodePath filter {filt!r} must be a relative path inside its root.")
            return src / rel, rel
        return src, PurePosixPath(src.resolve().name)
    if not isinstance(entry, (str, os.PathLike)):
        raise InvalidArgumentError(f"code_paths entries must be file or folder paths, got {entry!r}.")
    src = Path(entry).expanduser()
    return src, PurePosixPath(src.resolve().name)


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
