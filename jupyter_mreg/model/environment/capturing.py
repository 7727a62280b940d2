"""The Python environment a model was built with: capture it at save time, check it at load time.

`capture` records the interpreter, the installed distributions the model's code comes from (plus their
direct requirements and the packages every package needs) and the user's declared dependencies. It runs
in-process from `importlib.metadata`, with per-process caches, so logging a model does not pay for a
`pip freeze`. `check_environment` compares that record with the running interpreter; `mismatch_message`
turns the differences into one message with the fix.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from importlib import metadata as _md
from typing import Any, Iterable

from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.model.environment.local_modules import distributions_by_top_level, lives_outside_libraries

# Distributions every package needs to be loaded (cloudpickle files, pandas in, numpy out).
ALWAYS = ("cloudpickle", "numpy", "pandas")

# Import names whose distribution is named differently; each tuple is tried in order, first installed wins.
# A miss falls back to `distributions_by_top_level()`, which is slow, so common ones go here.
_ALIASES: dict[str, tuple[str, ...]] = {
    "sklearn": ("scikit-learn",),
    "skimage": ("scikit-image",),
    "yaml": ("PyYAML",),
    "cv2": ("opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless"),
    "PIL": ("pillow",),
    "bs4": ("beautifulsoup4",),
    "dateutil": ("python-dateutil",),
    "dotenv": ("python-dotenv",),
    "attr": ("attrs",),
    "jwt": ("PyJWT",),
    "zmq": ("pyzmq",),
    "git": ("GitPython",),
    "umap": ("umap-learn",),
    "Bio": ("biopython",),
    "Crypto": ("pycryptodome",),
    "OpenSSL": ("pyOpenSSL",),
    "faiss": ("faiss-cpu", "faiss-gpu"),
    "xgboost": ("xgboost", "xgboost-cpu"),
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel"),
    "mlflow": ("mlflow", "mlflow-skinny"),
    "tf_keras": ("tf-keras",),
    "google": (),  # a namespace shared by many distributions: always resolved by the full scan
    "snowflake": (),
}

_NAME_RE = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_RELEASE_RE = re.compile(r"^\s*v?(\d+(?:\.\d+)*)")
_SPEC_ORDER = {"===": 0, "==": 0, "~=": 1, ">=": 2, ">": 3, "<=": 4, "<": 5, "!=": 6}

# Per-process caches. A module's distribution does not change while the module stays imported.
_module_dists: dict[str, tuple[str, ...]] = {}
_dist_info: dict[str, tuple[str, str] | None] = {}  # normalised name -> (normalised name, version) | None
_dist_raw_requires: dict[str, tuple[str, ...]] = {}  # normalised name -> its Requires-Dist lines
_dist_requires: dict[str, tuple[str, ...]] = {}  # normalised name -> names of its direct requirements


def normalize_name(name: str) -> str:
    """PEP 503 name: lower case, runs of `-`, `_`, `.` become one `-` (`autogluon.tabular` -> `autogluon-tabular`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


# ---------------------------------------------------------------------------------------------- capture


def capture(
    modules: Iterable[str],
    *,
    conda_dependencies: Iterable[str] | None = None,
    pip_requirements: Iterable[str] | None = None,
    python_version: str | None = None,
    relax_version: bool = False,
) -> dict:
    """The environment record of a model whose code comes from `modules` (top-level import names).

    Returns `{"python", "python_version", "built_with", "conda_dependencies", "pip_requirements",
    "relax_version"}`. `built_with` maps installed distributions (PEP 503 names) to their versions: those
    providing `modules`, their direct requirements, and always cloudpickle, numpy and pandas. Modules with
    no installed distribution (the user's own files, `__main__`) are skipped: ship them with `code_paths`.
    Declared dependencies are validated and normalised; `relax_version=True` records `==x.y.z` as
    `>=x.y,<x+1`. An invalid requirement string raises `InvalidArgumentError` naming it.
    """
    built: dict[str, str] = {}
    roots: list[str] = []
    for module in modules:
        top = str(module).split(".")[0]
        for dist in _dists_for_module(top):
            info = _dist(dist)
            if info is not None and info[0] not in built:
                built[info[0]] = info[1]
                roots.append(info[0])
    for root in roots:
        for req in _requires(root):
            info = _dist(req)
            if info is not None:
                built.setdefault(info[0], info[1])
    for name in ALWAYS:
        info = _dist(name)
        if info is not None:
            built.setdefault(info[0], info[1])

    conda = _declared(conda_dependencies, "conda_dependencies", conda=True, relax=relax_version)
    pip = _declared(pip_requirements, "pip_requirements", conda=False, relax=relax_version)
    _warn_declared_vs_installed(conda + pip)
    running = "%d.%d.%d" % sys.version_info[:3]
    return {
        "python": running,
        "python_version": _python_version(python_version) if python_version is not None else running.rsplit(".", 1)[0],
        "built_with": dict(sorted(built.items())),
        "conda_dependencies": [d["record"] for d in conda],
        "pip_requirements": [d["record"] for d in pip],
        "relax_version": bool(relax_version),
    }


def _dists_for_module(top: str) -> tuple[str, ...]:
    cached = _module_dists.get(top)
    if cached is not None:
        return cached
    result: tuple[str, ...] = ()
    if top and top not in ("__main__", "builtins", "__mp_main__") and top not in sys.stdlib_module_names:
        candidates = _ALIASES.get(top, (top,))
        for candidate in candidates:
            if _dist(candidate) is not None:
                result = (candidate,)
                break
        else:
            if not lives_outside_libraries(top):  # a user's own file or folder: skip the slow scan
                result = tuple(distributions_by_top_level().get(top, ()))
    _module_dists[top] = result
    return result


def _dist(name: str) -> tuple[str, str] | None:
    """(normalised name, version) of an installed distribution, cached; None if not installed."""
    key = normalize_name(name)
    if key in _dist_info:
        return _dist_info[key]
    info: tuple[str, str] | None = None
    try:
        meta = _md.distribution(name).metadata  # parsed once: `.version`/`.requires` would each re-parse
    except (_md.PackageNotFoundError, ValueError):
        meta = None
    if meta is not None and meta["Version"]:
        info = (normalize_name(meta["Name"] or name), str(meta["Version"]))
        _dist_raw_requires[info[0]] = tuple(meta.get_all("Requires-Dist") or ())
        _dist_info[info[0]] = info
    _dist_info[key] = info
    return info


def _requires(name: str) -> tuple[str, ...]:
    info = _dist(name)
    if info is None:
        return ()
    found = _dist_requires.get(info[0])
    if found is None:  # parsed on demand: only the model's own distributions need it
        found = _dist_requires[info[0]] = _direct_requirements(list(_dist_raw_requires.get(info[0], ())))
    return found


def _direct_requirements(lines: list[str]) -> tuple[str, ...]:
    """Names of the unconditional requirements (no extra, markers true here) of a distribution."""
    names: list[str] = []
    for line in lines:
        req, _, marker = line.partition(";")
        marker = marker.strip()
        if marker:
            if "extra" in marker:  # optional dependency
                continue
            if not _marker_holds(marker):
                continue
        match = _NAME_RE.match(req)
        if match:
            names.append(match.group(1))
    return tuple(names)


def _marker_holds(marker: str) -> bool:
    try:
        from packaging.markers import Marker

        return bool(Marker(marker).evaluate())
    except Exception:  # no `packaging`, or a marker it cannot read: keep the requirement
        return True


# ---------------------------------------------------------------------------------- declared dependencies


def _declared(values: Iterable[str] | None, arg: str, *, conda: bool, relax: bool) -> list[dict]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out: list[dict] = []
    by_name: dict[str, dict] = {}
    for value in values:
        if not isinstance(value, str):
            raise InvalidArgumentError(
                f"Invalid requirement {value!r} in {arg}: expected a string like "
                f"{'conda-forge::scikit-learn==1.5.0' if conda else 'scikit-learn==1.5.0'}."
            )
        parsed = parse_requirement(value, conda=conda, relax=relax, arg=arg)
        previous = by_name.get(parsed["key"])
        if previous is not None:
            if previous["record"] != parsed["record"]:
                raise InvalidArgumentError(
                    f"{arg} names the package {parsed['name']!r} twice, as {previous['text']!r} and "
                    f"{value!r}: keep one."
                )
            continue
        by_name[parsed["key"]] = parsed
        out.append(parsed)
    return out


def parse_requirement(text: str, *, conda: bool = False, relax: bool = False, arg: str = "requirement") -> dict:
    """Parse `[channel::]name[extras][specifier][; marker]`.

    Returns `{"text", "channel", "name", "key", "specifier", "record"}`: `key` is the PEP 503 name used for
    comparisons, `record` the normalised string kept in the environment record (the channel kept; pip names
    PEP 503-normalised; conda names lower-cased but otherwise literal, since conda names are not
    normalised). Raises `InvalidArgumentError` naming the string when it is not a valid requirement.
    """
    from packaging.requirements import InvalidRequirement, Requirement

    raw = text.strip()
    channel = ""
    body = raw
    if conda and "::" in raw:
        channel, _, body = raw.rpartition("::")
        channel = channel.strip()
        body = body.strip()
        if not channel:
            raise _bad_requirement(text, arg, conda, "the channel before '::' is empty")
    if conda:
        # conda's `name=1.2` means 1.2.*; pip syntax has no single `=`.
        single = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*=\s*([0-9][^=<>!~,;\s]*)$", body)
        if single:
            version = single.group(2)
            body = f"{single.group(1)}=={version}" + ("" if "*" in version else ".*")
    try:
        req = Requirement(body)
    except InvalidRequirement as err:
        raise _bad_requirement(text, arg, conda, str(err).splitlines()[0]) from None
    key = normalize_name(req.name)
    specs = sorted(req.specifier, key=lambda s: (_SPEC_ORDER.get(s.operator, 9), s.version))
    spec_strs: list[str] = []
    for spec in specs:
        if relax and spec.operator == "==" and "*" not in spec.version:
            relaxed = _relaxed(spec.version)
            if relaxed:
                spec_strs += relaxed
                continue
        spec_strs.append(str(spec))
    spec_text = ",".join(dict.fromkeys(spec_strs))
    name = req.name.lower() if conda else key
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    record = f"{name}{extras}"
    if req.url:
        record += f" @ {req.url}"
    else:
        record += spec_text
    if req.marker is not None:
        record += f"; {req.marker}"
    if channel:
        record = f"{channel}::{record}"
    return {"text": text, "channel": channel, "name": req.name, "key": key, "specifier": spec_text,
            "record": record}


def _bad_requirement(text: str, arg: str, conda: bool, why: str) -> InvalidArgumentError:
    example = "conda-forge::scikit-learn==1.5.0" if conda else "scikit-learn>=1.5,<2"
    return InvalidArgumentError(
        f"Invalid requirement {text!r} in {arg}: {why}. Expected "
        f"{'[channel::]' if conda else ''}name[version specifier], e.g. {example!r}."
    )


def _warn_declared_vs_installed(declared: list[dict]) -> None:
    for item in declared:
        if not item["specifier"]:
            continue
        info = _dist(item["key"])
        if info is None:
            continue
        if not _allows(item["specifier"], info[1]):
            warnings.warn(
                f"Dependency {item['text']!r} is declared, but {info[0]} {info[1]} is installed: the model is "
                f"built with {info[1]}, which the declared requirement excludes. Where the declared version is "
                f"what gets installed (an image built from this version's environment), loading may fail or the "
                f"model may predict differently, because objects saved by {info[0]} {info[1]} are not promised to "
                f"work with other versions. Declare {info[0]}=={info[1]} (or a range that contains it), or log "
                f"the model from an environment that has the declared version.",
                UserWarning,
                stacklevel=3,
            )


def _python_version(value: Any) -> str:
    text = str(value).strip() if isinstance(value, str) else None
    if text is None or not re.fullmatch(r"\d+\.\d+(\.\d+)?", text):
        raise InvalidArgumentError(
            f"Invalid python_version {value!r}: expected a string like '3.11' (major.minor)."
        )
    return ".".join(text.split(".")[:2])


# ------------------------------------------------------------------------------------------------ check


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
        b, r = _release(built_py), _release(running)
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
        b, i = _release(version), _release(installed)
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
            elif item["specifier"] and not _allows(item["specifier"], installed):
                warns.append(f"{item['key']}: declared as {text!r}, installed {installed}")
    return errors, warns


def _allows(specifier: str, version: str) -> bool:
    """True if `version` is inside `specifier` (pre-releases included), or either cannot be read."""
    try:
        from packaging.specifiers import SpecifierSet

        return SpecifierSet(specifier).contains(version, prereleases=True)
    except Exception:
        return True


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


# ------------------------------------------------------------------------------------------------ files


def _pin(name: str, version: str, relax: bool) -> str:
    relaxed = _relaxed(version) if relax else []
    return name + ",".join(relaxed) if relaxed else f"{name}=={version}"


def requirements_txt(env: dict) -> str:
    """`requirements.txt` for the environment: declared pip requirements, then the `built_with` pins
    (relaxed to `>=x.y,<x+1` when the record says `relax_version`) of packages not declared."""
    declared = list(env.get("pip_requirements") or [])
    keys = _keys(declared, conda=False)
    lines = [f"# Python {env.get('python_version', '')} environment of a model saved by jupyter_mreg"]
    lines += declared
    relax = bool(env.get("relax_version"))
    lines += [_pin(n, v, relax) for n, v in sorted((env.get("built_with") or {}).items())
              if normalize_name(n) not in keys]
    return "\n".join(lines) + "\n"


def conda_yml(env: dict) -> str:
    """`conda.yml` for the environment: python, the declared conda dependencies, and a pip section with
    `requirements_txt`'s lines for the packages conda does not already provide."""
    import yaml

    conda = list(env.get("conda_dependencies") or [])
    conda_keys = _keys(conda, conda=True)
    pip_lines = []
    for line in requirements_txt(env).splitlines():
        if not line or line.startswith("#"):
            continue
        match = _NAME_RE.match(line)
        if match and normalize_name(match.group(1)) in conda_keys:
            continue
        pip_lines.append(line)
    deps: list[Any] = [f"python={env.get('python_version', '')}"] + conda + ["pip"]
    if pip_lines:
        deps.append({"pip": pip_lines})
    doc = {"name": "jupyter-mreg-model", "channels": ["conda-forge", "nodefaults"], "dependencies": deps}
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


def _keys(requirements: list[str], *, conda: bool) -> set[str]:
    """The PEP 503 names of recorded requirements (ones that cannot be parsed are left out)."""
    keys = set()
    for text in requirements:
        try:
            keys.add(parse_requirement(text, conda=conda)["key"])
        except InvalidArgumentError:
            pass
    return keys


def _release(version: str) -> tuple[int, ...]:
    match = _RELEASE_RE.match(str(version))
    if not match:
        return ()
    return tuple(int(p) for p in match.group(1).split("."))


def _relaxed(version: str) -> list[str]:
    """`==x.y.z` relaxed to `[">=x.y", "<x+1"]`; `[]` when `version` has no numeric release."""
    release = _release(version)
    if not release:
        return []
    minor = release[1] if len(release) > 1 else 0
    return [f">={release[0]}.{minor}", f"<{release[0] + 1}"]


def clear_caches() -> None:
    """Forget what was learnt about installed distributions (after installing packages in a session)."""
    global _dist_info_cache
    _dist_info_cache = None
    _module_dists.clear()
    _dist_info.clear()
    _dist_raw_requires.clear()
    _dist_requires.clear()
    distributions_by_top_level.cache_clear()
