"""`ModelEnvironment`: what a version needs to run, as the files that build it (a pip `requirements.txt`
and a conda `environment.yml`), read from the environment record its manifest keeps."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_mreg.model.environment import capturing as environment


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
            requirements_txt=environment.requirements_txt(env),
            environment_yml=environment.conda_yml(env),
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
