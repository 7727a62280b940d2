"""The environment record of a model, captured at save time.

`capture` records the interpreter, the installed distributions the model's code comes from (plus their
direct requirements and the packages every package needs) and the user's declared dependencies. It runs
in-process from `importlib.metadata`, with per-process caches, so logging a model does not pay for a
`pip freeze`.
"""

from __future__ import annotations

import re
import sys
import warnings
from importlib import metadata as _md
from typing import Any, Iterable

from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.model.environment.local_modules import distributions_by_top_level, lives_outside_libraries
from jupyter_mreg.model.environment.requirements import NAME_RE, normalize_name, parse_requirement, version_allows

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

# Per-process caches. A module's distribution does not change while the module stays imported.
_module_dists: dict[str, tuple[str, ...]] = {}
_dist_info: dict[str, tuple[str, str] | None] = {}  # normalised name -> (normalised name, version) | None
_dist_raw_requires: dict[str, tuple[str, ...]] = {}  # normalised name -> its Requires-Dist lines
_dist_requires: dict[str, tuple[str, ...]] = {}  # normalised name -> names of its direct requirements


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
        match = NAME_RE.match(req)
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


def _warn_declared_vs_installed(declared: list[dict]) -> None:
    for item in declared:
        if not item["specifier"]:
            continue
        info = _dist(item["key"])
        if info is None:
            continue
        if not version_allows(item["specifier"], info[1]):
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


def clear_caches() -> None:
    """Forget what capture learnt about installed distributions (after installing packages in a session)."""
    _module_dists.clear()
    _dist_info.clear()
    _dist_raw_requires.clear()
    _dist_requires.clear()
    distributions_by_top_level.cache_clear()
