"""The user-facing registry objects, with snowflake-ml-python's names.

    from jupyter_mreg.registry import Registry

The names load on first use (module `__getattr__`): `from jupyter_mreg import Session` goes through this
package and needs none of SQLAlchemy, the store or pandas, which `Model`, `ModelVersion` and `Registry` import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_mreg.registry.model import Model
    from jupyter_mreg.registry.model_version import ModelVersion
    from jupyter_mreg.registry.registry import Registry
    from jupyter_mreg.registry.session import Session

_LAZY = {
    "Model": "jupyter_mreg.registry.model",
    "ModelVersion": "jupyter_mreg.registry.model_version",
    "Registry": "jupyter_mreg.registry.registry",
    "Session": "jupyter_mreg.registry.session",
}

__all__ = ["Model", "ModelVersion", "Registry", "Session"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jupyter_mreg.registry' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
