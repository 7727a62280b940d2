"""Model signatures: what a model method takes and returns, as in `snowflake.ml.model.model_signature`.

Public: `DataType`, `FeatureSpec`, `FeatureGroupSpec`, `ParamSpec`, `ModelSignature`, `infer_signature`.
Internal helpers the rest of the package calls: `to_pandas`, `infer_features`, `validate_input`,
`validate_params`, `format_output`.

`validate_input` runs on every `run()`, so it only looks at dtypes for numeric and bool columns (never at
single values) and returns the caller's DataFrame unchanged when it already fits.

This module is the import path users and the package rely on; the code lives in
`jupyter_mreg.model.signatures`, one module per job.
"""

from __future__ import annotations

from jupyter_mreg.model.signatures.frames import to_pandas
from jupyter_mreg.model.signatures.infer import infer_features, infer_signature
from jupyter_mreg.model.signatures.output import format_output
from jupyter_mreg.model.signatures.specs import (
    BaseFeatureSpec,
    BaseParamSpec,
    FeatureGroupSpec,
    FeatureSpec,
    ModelSignature,
    ParamSpec,
)
from jupyter_mreg.model.signatures.types import DataType
from jupyter_mreg.model.signatures.validate import validate_input, validate_params

__all__ = [
    "DataType",
    "BaseFeatureSpec",
    "FeatureSpec",
    "FeatureGroupSpec",
    "BaseParamSpec",
    "ParamSpec",
    "ModelSignature",
    "infer_signature",
]
