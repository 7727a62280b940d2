"""The environment record compared with the running interpreter at load time.

`check_environment` lists the differences; `mismatch_message` turns them into one message with the fix.
"""

from __future__ import annotations

import os
import re
import sys
from importlib import metadata as _md

from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.model.environment.requirements import (normalize_name, parse_requirement, release_tuple,
                                                         version_allows)

def installed_version(name: str) -> str | None:
    """The installed version of a distribution right now.

    Read from the `<name>-<version>.dist-info` folder names on `sys.path` (parsing each METADATA file costs
    about 1 ms a package), cached until a `sys.path` folder changes, so a `pip install` in the kernel between
    two loads is seen. Anything not found that way (egg-info, unusual layouts) asks importlib.metadata.
    """
    version = _dist_info_versions().get(normalize_name(name))
    if version is not None:
        return version
    try:
        return _md.version(name)
    except (_md.PackageNotFoundError, ValueError):
        return None


_dist_info_cache: tuple[tuple, dict[str, str]] | None = None


def _dist_info_versions() -> dict[str, str]:
    global _dist_info_cache
    stamp = []
    for folder in sys.path:
        try:
            stamp.append((folder, os.stat(folder or ".").st_mtime_ns))
        except OSError:
            continue
    stamp_key = tuple(stamp)
    if _dist_info_cache is not None and _dist_info_cache[0] == stamp_key:
        return _dist_info_cache[1]
    versions: dict[str, str] = {}
    for folder, _ in stamp:
        try:
            entries = os.scandir(folder or ".")
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.name.endswith(".dist-info"):
                    name, _, version = entry.name[: -len(".dist-info")].rpartition("-")
                    if name and version:
                        versions.setdefault(normalize_name(name), version)  # first on sys.path wins, as import does
    _dist_info_cache = (stamp_key, versions)
    return versions


def check_environment(env: dict) -> tuple[list[str], list[str]]:
    """Compare an environment record with the running interpreter: `(errors, warnings)`, one line each.

    Errors: a different Python major.minor; a package of `built_with` missing or at a different
    major.minor (`scikit-learn: built with 1.5.0, installed 1.9.1`). Warnings: patch-level (or build-tag)
    differences, and declared dependencies that are missing or outside their declared range.
    """
    errors: list[str] = []
    warns: list[str] = []
    running = "%d.%d.%d" % sys.version_info[:3]
    built_python = env.get("python") or env.get("python_version")
    if built_python:
        built_py = str(built_python)
        b, r = release_tuple(built_py), release_tuple(running)
        if b[:2] != r[:2]:
            errors.append(f"python: built with {built_py}, running {running}")
        elif b != r[: len(b)]:
            warns.append(f"python: built with {built_py}, running {running} (patch-level difference)")
    built_with = env.get("built_with") or {}
    for name, version in sorted(built_with.items()):
        version = str(version)
        installed = installed_version(name)
        if installed is None:
            errors.append(f"{name}: built with {version}, not installed")
            continue
        b, i = release_tuple(version), release_tuple(installed)
        if b[:2] != i[:2]:
            errors.append(f"{name}: built with {version}, installed {installed}")
        elif version != installed:
            warns.append(f"{name}: built with {version}, installed {installed} (patch-level difference)")
    covered = {normalize_name(n) for n in built_with}
    for arg, conda in (("pip_requirements", False), ("conda_dependencies", True)):
        for text in env.get(arg) or []:
            try:
                item = parse_requirement(text, conda=conda, arg=arg)
            except InvalidArgumentError:
                continue
            if item["key"] in covered:
                continue
            covered.add(item["key"])
            installed = installed_version(item["key"])
            if installed is None:
                warns.append(f"{item['key']}: declared as {text!r}, not installed")
            elif item["specifier"] and not version_allows(item["specifier"], installed):
                warns.append(f"{item['key']}: declared as {text!r}, installed {installed}")
    return errors, warns



_ERROR_LINE = re.compile(r"^(?P<name>[^:\s]+): built with (?P<version>[^,\s]+),")


def mismatch_message(errors: list[str]) -> str:
    """One message listing every difference and the two ways out: install what the model was built
    with (a ready-to-run `pip install` line), or `load(force=True)`."""
    # Callers prefix "Unable to load <model version>: ", so the message starts in lower case.
    lines = ["the running environment differs from the one this model was built with:"]
    lines += [f"  - {e}" for e in errors]
    pins: list[str] = []
    python: str | None = None
    for error in errors:
        match = _ERROR_LINE.match(error)
        if not match:
            continue
        if match.group("name") == "python":
            python = ".".join(match.group("version").split(".")[:2])
        else:
            pins.append(f'"{match.group("name")}=={match.group("version")}"')
    lines.append("To fix it, do one of:")
    if pins:
        lines.append("  - install the versions it was built with, then restart the kernel:")
        lines.append("        pip install " + " ".join(pins))
    if python:
        lines.append(f"  - run it with Python {python} (the version it was built with)")
    lines.append("  - load it anyway, accepting that it may fail or predict differently: load(force=True)")
    return "\n".join(lines)



def clear_cache() -> None:
    """Forget the installed versions read from `sys.path` (they are re-read when a folder changes anyway)."""
    global _dist_info_cache
    _dist_info_cache = None
