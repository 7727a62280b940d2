"""The Python environment a model was built with: captured at save time, checked at load time, exported
as the files that rebuild it. Callers import what they need from here."""

from __future__ import annotations

from jupyter_mreg.model.environment.capturing import (capture, check_environment, clear_caches, conda_yml,
                                                      installed_version, mismatch_message, normalize_name,
                                                      parse_requirement, requirements_txt)
from jupyter_mreg.model.environment.model_environment import ModelEnvironment

__all__ = ["ModelEnvironment", "capture", "check_environment", "clear_caches", "conda_yml", "installed_version",
           "mismatch_message", "normalize_name", "parse_requirement", "requirements_txt"]
