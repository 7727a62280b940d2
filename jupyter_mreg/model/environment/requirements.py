"""Requirement and version text: `[channel::]name[extras][specifier][; marker]` parsed and normalised, PEP 503
names, and the version comparisons capture, check and export share."""

from __future__ import annotations

import re

from jupyter_mreg.errors import InvalidArgumentError

NAME_RE = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")  # the name a requirement starts with
_RELEASE_RE = re.compile(r"^\s*v?(\d+(?:\.\d+)*)")
_SPEC_ORDER = {"===": 0, "==": 0, "~=": 1, ">=": 2, ">": 3, "<=": 4, "<": 5, "!=": 6}


def normalize_name(name: str) -> str:
    """PEP 503 name: lower case, runs of `-`, `_`, `.` become one `-` (`autogluon.tabular` -> `autogluon-tabular`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


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
            relaxed = relaxed_pins(spec.version)
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


def version_allows(specifier: str, version: str) -> bool:
    """True if `version` is inside `specifier` (pre-releases included), or either cannot be read."""
    try:
        from packaging.specifiers import SpecifierSet

        return SpecifierSet(specifier).contains(version, prereleases=True)
    except Exception:
        return True


def release_tuple(version: str) -> tuple[int, ...]:
    """The numeric release of a version (`"1.5.0rc1"` -> `(1, 5, 0)`); `()` when it has none."""
    match = _RELEASE_RE.match(str(version))
    if not match:
        return ()
    return tuple(int(p) for p in match.group(1).split("."))


def relaxed_pins(version: str) -> list[str]:
    """`==x.y.z` relaxed to `[">=x.y", "<x+1"]`; `[]` when `version` has no numeric release."""
    release = release_tuple(version)
    if not release:
        return []
    minor = release[1] if len(release) > 1 else 0
    return [f">={release[0]}.{minor}", f"<{release[0] + 1}"]
