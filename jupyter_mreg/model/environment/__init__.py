"""The Python environment a model was built with, one job per module; callers import from here.

- `capturing`: the environment record, captured at save time (`capture`).
- `check`: the record compared with the running interpreter at load time (`check_environment`,
  `mismatch_message`).
- `export`: the files that rebuild it for a container (`requirements_txt`, `conda_yml`, `ModelEnvironment`).
- `requirements`: requirement and version text, shared by the three.
- `local_modules`: which imported modules are the user's own code rather than an installed distribution.
"""

from __future__ import annotations

from jupyter_mreg.model.environment import capturing as _capturing
from jupyter_mreg.model.environment import check as _check
from jupyter_mreg.model.environment.capturing import capture
from jupyter_mreg.model.environment.check import check_environment, installed_version, mismatch_message
from jupyter_mreg.model.environment.export import ModelEnvironment, conda_yml, requirements_txt
from jupyter_mreg.model.environment.requirements import normalize_name, parse_requirement

__all__ = ["ModelEnvironment", "capture", "check_environment", "clear_caches", "conda_yml", "installed_version",
           "mismatch_message", "normalize_name", "parse_requirement", "requirements_txt"]


def clear_caches() -> None:
    """Forget what was learnt about installed distributions (after installing packages in a session)."""
    _capturing.clear_caches()
    _check.clear_cache()
