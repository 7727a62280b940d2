"""Type aliases for annotating code that logs and loads models, as in `snowflake.ml.model.type_hints`.

Only names that mean something here are defined (no Snowpark types, no Snowflake-only options). Framework
types are forward references, so importing this module imports no framework.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal, Sequence, TypedDict, TypeVar, Union

if TYPE_CHECKING:
    import catboost
    import keras
    import lightgbm
    import mlflow
    import numpy as np
    import pandas as pd
    import prophet
    import sentence_transformers
    import sklearn.base
    import tensorflow
    import torch
    import transformers
    import xgboost

    import jupyter_mreg.model.custom_model

_SupportedBuiltins = Union[int, float, bool, str, bytes, dict, list, tuple]
_SupportedArrayLike = Union["np.ndarray", "torch.Tensor", "tensorflow.Tensor", "tensorflow.Variable"]

SupportedLocalDataType = Union["pd.DataFrame", "pd.Series", _SupportedArrayLike, Sequence[_SupportedArrayLike],
                               Sequence[_SupportedBuiltins], dict]
"""Data a method takes or `sample_input_data` may be: a DataFrame, array, tensor(s), list of rows or dict of columns."""

SupportedDataType = SupportedLocalDataType
"""Data a method takes: here every data type is local (there is no Snowpark DataFrame)."""

CustomModelType = TypeVar("CustomModelType", bound="jupyter_mreg.model.custom_model.CustomModel")
"""A subclass of `custom_model.CustomModel`."""

SupportedModelType = Union[
    "jupyter_mreg.model.custom_model.CustomModel",
    "sklearn.base.BaseEstimator",
    "xgboost.XGBModel",
    "xgboost.Booster",
    "lightgbm.LGBMModel",
    "lightgbm.Booster",
    "catboost.CatBoost",
    "torch.nn.Module",
    "torch.jit.ScriptModule",
    "tensorflow.Module",
    "keras.Model",
    "transformers.Pipeline",
    "sentence_transformers.SentenceTransformer",
    "prophet.Prophet",
    "mlflow.pyfunc.PyFuncModel",
    str,  # an MLflow model folder or `runs:/` / `models:/` URI
    os.PathLike,
]
"""A model `log_model` accepts; each kind has one handler in `jupyter_mreg/model/handlers/`."""

SupportedModelHandlerType = Literal["catboost", "custom", "huggingface", "keras", "lightgbm", "mlflow", "prophet",
                                    "pytorch", "sentence_transformers", "sklearn", "tensorflow", "xgboost"]
"""A version's `model_type`: the name of the handler that saved it."""

SupportedTargetPlatformType = Literal["WAREHOUSE", "SNOWPARK_CONTAINER_SERVICES"]
"""An entry of `target_platforms` (case-insensitive; an enum whose value is one of these also works)."""

CodePathLike = Union[str, os.PathLike]
"""An entry of `code_paths`: a file or folder (an object with `root` and `filter`, like Snowflake's CodePath, too)."""

FunctionType = Literal["FUNCTION", "TABLE_FUNCTION"]
"""How a method is exposed to SQL: one output row per input row, or a table function."""

Volatility = Literal["IMMUTABLE", "VOLATILE"]
"""Whether a method gives the same output for the same input (IMMUTABLE) or may not (VOLATILE)."""


class ModelMethodSaveOptions(TypedDict, total=False):
    """Options for one method, in `options["method_options"][method]`."""

    case_sensitive: bool
    max_batch_size: int
    function_type: FunctionType
    volatility: Volatility


class BaseModelSaveOption(TypedDict, total=False):
    """`log_model(options=...)` every model type accepts."""

    target_methods: Sequence[str]
    relax_version: bool
    function_type: FunctionType
    volatility: Volatility
    method_options: dict[str, ModelMethodSaveOptions]
    embed_local_ml_library: bool
    enable_explainability: bool
    save_location: str
    capture_sample_input_data: bool
    model_init_once: bool


class CustomModelSaveOption(BaseModelSaveOption, total=False):
    """Options for a `CustomModel`."""


class SKLModelSaveOptions(BaseModelSaveOption, total=False):
    """Options for a scikit-learn estimator or pipeline."""


class XGBModelSaveOptions(BaseModelSaveOption, total=False):
    """Options for an XGBoost model."""

    use_gpu: bool
    cuda_version: str


class LGBMModelSaveOptions(BaseModelSaveOption, total=False):
    """Options for a LightGBM model."""

    use_gpu: bool


class CatBoostModelSaveOptions(BaseModelSaveOption, total=False):
    """Options for a CatBoost model."""

    use_gpu: bool
    cuda_version: str


class PyTorchSaveOptions(BaseModelSaveOption, total=False):
    """Options for a torch `nn.Module` (TorchScript modules included)."""

    multiple_inputs: bool
    use_gpu: bool
    cuda_version: str


class TensorflowSaveOptions(PyTorchSaveOptions, total=False):
    """Options for a TensorFlow module."""


class KerasSaveOptions(PyTorchSaveOptions, total=False):
    """Options for a Keras 3 model."""


class HuggingFaceSaveOptions(BaseModelSaveOption, total=False):
    """Options for a transformers pipeline."""


class SentenceTransformersSaveOptions(BaseModelSaveOption, total=False):
    """Options for a SentenceTransformer."""

    batch_size: int


class ProphetSaveOptions(BaseModelSaveOption, total=False):
    """Options for a Prophet model: the input's date and target columns."""

    date_column: str
    target_column: str


class MLFlowSaveOptions(BaseModelSaveOption, total=False):
    """Options for an MLflow model."""

    model_uri: str
    ignore_mlflow_metadata: bool
    ignore_mlflow_dependencies: bool


ModelSaveOption = Union[
    BaseModelSaveOption, CustomModelSaveOption, SKLModelSaveOptions, XGBModelSaveOptions, LGBMModelSaveOptions,
    CatBoostModelSaveOptions, PyTorchSaveOptions, TensorflowSaveOptions, KerasSaveOptions, HuggingFaceSaveOptions,
    SentenceTransformersSaveOptions, ProphetSaveOptions, MLFlowSaveOptions,
]
"""`log_model(options=...)` for any model type."""


class BaseModelLoadOption(TypedDict, total=False):
    """`ModelVersion.load(options=...)` every model type accepts: the device to load on."""

    device: str
    use_gpu: bool


class PyTorchLoadOptions(BaseModelLoadOption, total=False):
    """Load options for a torch module: `torchscript=True` loads the TorchScript copy."""

    torchscript: bool


class HuggingFaceLoadOptions(BaseModelLoadOption, total=False):
    """Load options for a transformers pipeline."""

    device_map: Any


class SentenceTransformersLoadOptions(BaseModelLoadOption, total=False):
    """Load options for a SentenceTransformer."""

    truncate_dim: int


ModelLoadOption = Union[BaseModelLoadOption, PyTorchLoadOptions, HuggingFaceLoadOptions,
                        SentenceTransformersLoadOptions]
"""`ModelVersion.load(options=...)` for any model type."""
