"""The user-facing registry objects, with snowflake-ml-python's names.

    from jupyter_mreg.registry import Registry
"""

from __future__ import annotations

from jupyter_mreg.registry.model import Model
from jupyter_mreg.registry.model_version import ModelVersion
from jupyter_mreg.registry.registry import Registry
from jupyter_mreg.registry.session import Session

__all__ = ["Model", "ModelVersion", "Registry", "Session"]
