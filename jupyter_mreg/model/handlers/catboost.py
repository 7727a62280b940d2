"""CatBoost models (`model_type` "catboost"): `catboost.CatBoost` and its subclasses CatBoostClassifier,
CatBoostRegressor and CatBoostRanker.

Stored in CatBoost's own binary format (`model.cbm`), not as a pickle: the file keeps the trees, which
features are categorical, the class names and the training parameters. Loading instantiates the recorded
class and calls `load_model`. `invoke` hands CatBoost its columns in the order they were trained on
(CatBoost matches them by position); categorical features may come as text or as pandas categories.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar

from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.model.handlers.base import ModelHandler, import_recorded_class
from jupyter_mreg.model.task import Task

_MODEL_FILE = "model.cbm"

# Loss functions (without their `:param=value` part) and the task each implies, for a plain `CatBoost`.
_LOSS_TASKS = {
    "Logloss": Task.TABULAR_BINARY_CLASSIFICATION,
    "CrossEntropy": Task.TABULAR_BINARY_CLASSIFICATION,
    "MultiClass": Task.TABULAR_MULTI_CLASSIFICATION,
    "MultiClassOneVsAll": Task.TABULAR_MULTI_CLASSIFICATION,
    **{name: Task.TABULAR_RANKING for name in (
        "YetiRank", "YetiRankPairwise", "PairLogit", "PairLogitPairwise", "QueryRMSE", "QuerySoftMax",
        "QueryCrossEntropy", "StochasticFilter", "StochasticRank", "LambdaMart")},
    **{name: Task.TABULAR_REGRESSION for name in (
        "RMSE", "MAE", "Quantile", "MultiQuantile", "LogLinQuantile", "Expectile", "Poisson", "MAPE", "Lq",
        "Huber", "Tweedie", "LogCosh", "Cox", "RMSEWithUncertainty", "MultiRMSE", "SurvivalAft")},
}

_gpus: int | None = None  # how many GPUs CatBoost sees in this process (asked once)


class Handler(ModelHandler):
    """`catboost.CatBoost` and its subclasses."""

    name: ClassVar[str] = "catboost"
    default_target_methods: ClassVar[tuple[str, ...]] = ("predict", "predict_proba")
    extra_options: ClassVar[frozenset[str]] = frozenset({"use_gpu", "cuda_version"})
    explain_methods: ClassVar[tuple[str, ...]] = ("predict", "predict_proba")

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        if "catboost" not in sys.modules:  # nothing can be a CatBoost model if catboost was never imported
            return False
        import catboost

        return not isinstance(model, type) and isinstance(model, catboost.CatBoost)

    @classmethod
    def infer_task(cls, model: Any) -> Task:
        import catboost

        if not model.is_fitted():
            return Task.UNKNOWN
        if isinstance(model, catboost.CatBoostRanker):
            return Task.TABULAR_RANKING
        if isinstance(model, catboost.CatBoostClassifier):
            n_classes = len(model.classes_)
            return Task.TABULAR_BINARY_CLASSIFICATION if n_classes <= 2 else Task.TABULAR_MULTI_CLASSIFICATION
        if isinstance(model, catboost.CatBoostRegressor):
            return Task.TABULAR_REGRESSION
        try:
            loss = model.get_all_params().get("loss_function")
        except Exception:  # an older model file without the training parameters
            loss = model.get_params().get("loss_function")
        return _LOSS_TASKS.get(str(loss or "").split(":")[0], Task.UNKNOWN)

    @classmethod
    def modules(cls, model: Any) -> list[str]:
        return list(dict.fromkeys(["catboost", type(model).__module__.split(".")[0]]))

    @classmethod
    def gpu_available(cls) -> bool:
        global _gpus
        if _gpus is None:
            try:
                from catboost.utils import get_gpu_device_count

                _gpus = int(get_gpu_device_count())
            except Exception:  # a build without CUDA
                _gpus = 0
        return _gpus > 0

    @classmethod
    def save(cls, model: Any, path: Path, options: dict) -> dict:
        import catboost

        klass = type(model)
        if not model.is_fitted():
            raise InvalidArgumentError(f"The {klass.__qualname__} is not fitted: call fit() on it before logging it.")
        model.save_model(str(Path(path) / _MODEL_FILE), format="cbm")
        return {
            "file": _MODEL_FILE,
            "format": "cbm",
            "class": f"{klass.__module__}.{klass.__qualname__}",
            "module": klass.__module__,
            "qualname": klass.__qualname__,
            "catboost_version": catboost.__version__,
        }

    @classmethod
    def load(cls, path: Path, meta: dict, options: dict) -> Any:
        klass = import_recorded_class(meta, "catboost")
        model = klass()
        model.load_model(str(Path(path) / meta.get("file", _MODEL_FILE)), format="cbm")
        _place(model, options.get("device", "cpu"))
        return model

    @classmethod
    def invoke(cls, model: Any, method: str, data: Any, params: dict) -> Any:
        return getattr(model, method)(_as_trained(model, data), **(params or {}))

    @classmethod
    def explanations(cls, model: Any, data: Any, background: Any) -> Any:
        from jupyter_mreg.model import explain

        return explain.tree_shap(model, _as_trained(model, data))


def _as_trained(model: Any, frame: Any) -> Any:
    """The frame's columns in the order the model was trained on (CatBoost matches them by position)."""
    import pandas as pd

    if isinstance(frame, pd.DataFrame):
        names = list(model.feature_names_ or [])
        if names and list(frame.columns) != names and set(names) <= set(frame.columns):
            return frame[names]
    return frame


def _place(model: Any, device: str) -> None:
    """Record the device in CatBoost's `task_type`/`devices` parameters (used when the model is trained
    further): the GPU asked for, or the CPU for a model trained on a GPU. Predictions run on the CPU, as
    CatBoost's `predict` does by default."""
    # A fitted CatBoost refuses set_params(); its parameter dict is what set_params would change.
    init = getattr(model, "_init_params", None)
    if not isinstance(init, dict):
        return
    if device == "cpu":
        if str(init.get("task_type", "CPU")).upper() != "CPU":
            init["task_type"] = "CPU"
            init.pop("devices", None)
        return
    init["task_type"] = "GPU"
    init["devices"] = device.split(":")[1] if ":" in device else "0"
