"""jupyter_mreg: a model registry that lives in Jupyter, with the Snowflake Model Registry's API.

    from jupyter_mreg import Session
    from jupyter_mreg.registry import Registry

Public names are imported lazily so `import jupyter_mreg` stays cheap: frameworks, SQLAlchemy and pandas
load only when a registry is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from jupyter_mreg.errors import MregError

from jupyter_mreg._version import __version__

_LAZY = {
    "Session": "jupyter_mreg.registry.session",
    "Registry": "jupyter_mreg.registry.registry",
    "Model": "jupyter_mreg.registry.model",
    "ModelVersion": "jupyter_mreg.registry.model_version",
    "custom_model": "jupyter_mreg.model.custom_model",
    "model_signature": "jupyter_mreg.model.model_signature",
    "Task": "jupyter_mreg.model.task",
}

__all__ = ["MregError", "__version__", "load_ipython_extension", *_LAZY]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext jupyter_mreg`: register the `%%mreg` / `%mreg` SQL magics (`jupyter_mreg.sql.magic`)."""
    from jupyter_mreg.sql.magic import MregMagic  # IPython, the SQL engine and pandas load only here

    ipython.register_magics(MregMagic)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module = importlib.import_module(_LAZY[name])
        value = module if module.__name__.endswith(name) else getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jupyter_mreg' has no attribute {name!r}")
