"""The environment record exported for containers: the files that rebuild it (a pip `requirements.txt` and
a conda `environment.yml`), and `ModelEnvironment`, what a version needs to run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.model.environment.requirements import NAME_RE, normalize_name, parse_requirement, relaxed_pins


def _pin(name: str, version: str, relax: bool) -> str:
    relaxed = relaxed_pins(version) if relax else []
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
        match = NAME_RE.match(line)
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


@dataclass(frozen=True)
class ModelEnvironment:
    """The Python version, what the model was built with, what the user declared, and the two files.

    `built_with` maps each distribution the model's code comes from to the version installed when it was
    logged; `pip_requirements` / `conda_dependencies` are what the user declared for serving.
    """

    python_version: str
    built_with: dict[str, str] = field(default_factory=dict)
    pip_requirements: list[str] = field(default_factory=list)
    conda_dependencies: list[str] = field(default_factory=list)
    relax_version: bool = False
    requirements_txt: str = ""
    environment_yml: str = ""

    @classmethod
    def from_record(cls, env: dict) -> ModelEnvironment:
        return cls(
            python_version=str(env.get("python_version", "")),
            built_with=dict(env.get("built_with") or {}),
            pip_requirements=list(env.get("pip_requirements") or []),
            conda_dependencies=list(env.get("conda_dependencies") or []),
            relax_version=bool(env.get("relax_version")),
            requirements_txt=requirements_txt(env),
            environment_yml=conda_yml(env),
        )

    def write(self, folder: str | os.PathLike) -> list[Path]:
        """Write `requirements.txt` and `environment.yml` into `folder` (created if missing); their paths."""
        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        files = [root / "requirements.txt", root / "environment.yml"]
        files[0].write_text(self.requirements_txt, encoding="utf-8")
        files[1].write_text(self.environment_yml, encoding="utf-8")
        return files

    def __str__(self) -> str:
        return self.requirements_txt

    def _repr_markdown_(self) -> str:
        return (f"**Python {self.python_version}**\n\n`requirements.txt`\n```\n{self.requirements_txt}```\n\n"
                f"`environment.yml`\n```yaml\n{self.environment_yml}```")
