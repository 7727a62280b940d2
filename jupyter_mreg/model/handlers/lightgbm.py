"""LightGBM models (`model_type` "lightgbm"): the scikit-learn wrappers (`LGBMModel` subclasses: LGBMClassifier,
LGBMRegressor, LGBMRanker) and raw `lightgbm.Booster`s.

The trees are stored as LightGBM model text (`model.txt`), which rebuilds a Booster on its own. A wrapper
cannot be rebuilt from it (its classes, label encoder, fitted state and hyperparameters are not in the text),
so it is also pickled without its booster (`wrapper.pkl`: a shallow copy whose booster is None) and the
booster read from the text is attached again at load; predictions, `classes_` and feature names come out
exactly as before. The pickle is small, but loading it runs code: load only from registries you trust.

`invoke` hands LightGBM its columns in the order they were trained on (LightGBM matches them by position), and
turns text columns of pandas-categorical features back into categories with the training categories.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any, ClassVar

from jupyter_mreg.errors import InvalidArgumentError, UnsupportedModelError
from jupyter_mreg.model.handlers.base import ModelHandler, import_recorded_class
from jupyter_mreg.model.task import Task

_MODEL_FILE = "model.txt"
_WRAPPER_FILE = "wrapper.pkl"
_DEVICE_KEYS = ("device_type", "device")  # LightGBM's name for the parameter and its alias

# Resolved objective names (the first word of the model's `objective`) and the task each implies.
_OBJECTIVE_TASKS = {
    "binary": Task.TABULAR_BINARY_CLASSIFICATION,
    "multiclass": Task.TABULAR_MULTI_CLASSIFICATION,
    "multiclassova": Task.TABULAR_MULTI_CLASSIFICATION,
    "lambdarank": Task.TABULAR_RANKING,
    "rank_xendcg": Task.TABULAR_RANKING,
    **{name: Task.TABULAR_REGRESSION for name in (
        "regression", "regression_l1", "huber", "fair", "poisson", "quantile", "mape", "gamma", "tweedie")},
}

_gpu_device_type: str | None | bool = False  # False: not probed yet; None: no GPU; else "cuda" or "gpu"


class Handler(ModelHandler):
    """`lightgbm.LGBMModel` subclasses and `lightgbm.Booster`."""

    name: ClassVar[str] = "lightgbm"
    default_target_methods: ClassVar[tuple[str, ...]] = ("predict", "predict_proba")
    extra_options: ClassVar[frozenset[str]] = frozenset({"use_gpu"})
    explain_methods: ClassVar[tuple[str, ...]] = ("predict", "predict_proba")

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        if "lightgbm" not in sys.modules:  # nothing can be a LightGBM model if lightgbm was never imported
            return False
        import lightgbm

        return not isinstance(model, type) and isinstance(model, (lightgbm.LGBMModel, lightgbm.Booster))

    @classmethod
    def infer_task(cls, model: Any) -> Task:
        import lightgbm

        booster = _booster_or_none(model)
        if booster is None:  # not fitted: the number of classes is unknown
            return Task.UNKNOWN
        if isinstance(model, lightgbm.LGBMRanker):
            return Task.TABULAR_RANKING
        if isinstance(model, lightgbm.LGBMClassifier):
            n_classes = model.n_classes_
            return Task.TABULAR_BINARY_CLASSIFICATION if n_classes <= 2 else Task.TABULAR_MULTI_CLASSIFICATION
        if isinstance(model, lightgbm.LGBMRegressor):
            return Task.TABULAR_REGRESSION
        objective = str(booster.dump_model(num_iteration=1).get("objective", "")).split(" ")[0]
        return _OBJECTIVE_TASKS.get(objective, Task.UNKNOWN)

    @classmethod
    def modules(cls, model: Any) -> list[str]:
        import lightgbm

        tops = ["lightgbm"]
        if isinstance(model, lightgbm.LGBMModel):
            tops.append("sklearn")  # the wrappers import scikit-learn
            # The pickled wrapper refers to its callables (a custom objective or metric) by module.
            for value in model.get_params(deep=False).values():
                module = getattr(value, "__module__", None) if callable(value) else None
                if isinstance(module, str):
                    tops.append(module)
        tops.append(type(model).__module__)  # a user's subclass
        return list(dict.fromkeys(m.split(".")[0] for m in tops))

    @classmethod
    def gpu_available(cls) -> bool:
        return _gpu() is not None

    @classmethod
    def save(cls, model: Any, path: Path, options: dict) -> dict:
        import cloudpickle
        import lightgbm

        klass = type(model)
        booster = _booster_or_none(model)
        if booster is None:
            raise InvalidArgumentError(f"The {klass.__qualname__} is not fitted: call fit() on it before logging it.")
        # num_iteration=None keeps the trees up to the best iteration when early stopping found one: what
        # predict() uses by default, so the reloaded model predicts the same.
        booster.save_model(str(Path(path) / _MODEL_FILE))
        meta: dict[str, Any] = {
            "file": _MODEL_FILE,
            "format": "lightgbm_text",
            "kind": "booster" if isinstance(model, lightgbm.Booster) else "sklearn",
            "class": f"{klass.__module__}.{klass.__qualname__}",
            "module": klass.__module__,
            "qualname": klass.__qualname__,
            "lightgbm_version": lightgbm.__version__,
        }
        if isinstance(model, lightgbm.LGBMModel):
            if not hasattr(model, "_Booster"):
                raise UnsupportedModelError(
                    f"This lightgbm {lightgbm.__version__} keeps the booster of a {klass.__qualname__} where "
                    "jupyter_mreg does not look for it (`_Booster`): log model.booster_ instead, or use lightgbm 4."
                )
            shell = copy.copy(model)  # a new __dict__: the user's model keeps its booster
            shell._Booster = None
            try:
                data = cloudpickle.dumps(shell)
            except Exception as exc:
                raise UnsupportedModelError(
                    f"The {klass.__qualname__} cannot be pickled ({type(exc).__name__}: {exc}): remove attributes "
                    "or parameters that hold open files, locks or connections before logging it."
                ) from exc
            (Path(path) / _WRAPPER_FILE).write_bytes(data)
            meta["wrapper_file"] = _WRAPPER_FILE
            meta["wrapper_format"] = "cloudpickle"
        return meta

    @classmethod
    def load(cls, path: Path, meta: dict, options: dict) -> Any:
        import lightgbm

        model_file = str(Path(path) / meta.get("file", _MODEL_FILE))
        if meta.get("kind") == "sklearn":
            import cloudpickle

            with open(Path(path) / meta.get("wrapper_file", _WRAPPER_FILE), "rb") as f:
                model = cloudpickle.load(f)
            model._Booster = lightgbm.Booster(model_file=model_file)
        else:
            klass = import_recorded_class(meta, "lightgbm")
            model = klass(model_file=model_file)
        _place(model, options.get("device", "cpu"))
        return model

    @classmethod
    def invoke(cls, model: Any, method: str, data: Any, params: dict) -> Any:
        import lightgbm

        booster = model if isinstance(model, lightgbm.Booster) else model.booster_
        return getattr(model, method)(_as_trained(booster, data), **(params or {}))

    @classmethod
    def explanations(cls, model: Any, data: Any, background: Any) -> Any:
        from jupyter_mreg.model import explain

        return explain.tree_shap(model, _as_trained(_booster_or_none(model), data))


def _booster_or_none(model: Any) -> Any:
    """The model's Booster, or None when a wrapper is not fitted."""
    import lightgbm

    if isinstance(model, lightgbm.Booster):
        return model
    try:
        return model.booster_
    except Exception:  # LGBMNotFittedError
        return None



def _place(model: Any, device: str) -> None:
    """Set LightGBM's `device_type` (used when the model is trained further): the GPU asked for, or the CPU
    for a model trained on a GPU. LightGBM always predicts on the CPU."""
    import lightgbm

    params = model.params if isinstance(model, lightgbm.Booster) else model.get_params(deep=False)
    if device == "cpu":
        changes = {k: "cpu" for k in _DEVICE_KEYS if str(params.get(k) or "cpu").lower() != "cpu"}
    else:
        changes = {"device_type": _gpu() or "cuda"}
        if ":" in device:
            changes["gpu_device_id"] = int(device.split(":")[1])
    if not changes:
        return
    if isinstance(model, lightgbm.Booster):
        model.params.update(changes)
    else:
        model.set_params(**changes)


def _as_trained(booster: Any, frame: Any) -> Any:
    """The frame in the booster's feature order, text columns of pandas-categorical features as categories."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        return frame
    names = booster.feature_name()
    if list(frame.columns) != names and set(names) <= set(frame.columns):
        frame = frame[names]
    categories = booster.pandas_categorical
    if not categories:
        return frame
    is_cat = [isinstance(dtype, pd.CategoricalDtype) for dtype in frame.dtypes]
    if sum(is_cat) == len(categories):  # LightGBM sets the training categories on them itself
        return frame
    columns = _categorical_columns(booster, frame, len(categories))
    if columns is None:
        return frame  # LightGBM will say which columns do not match
    frame = frame.copy(deep=False)  # never write into the caller's frame
    for column, cats in zip(columns, categories):
        if not isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = pd.Categorical(frame[column], categories=cats)
    return frame


def _categorical_columns(booster: Any, frame: Any, count: int) -> list | None:
    """The `count` columns that were pandas categories at training, in order; None when that is unclear.

    They are the model's categorical features when it has no others; otherwise the columns holding text or
    categories (a text column cannot be a numeric feature)."""
    import pandas as pd
    from pandas.api import types as pdt

    infos = booster.dump_model(num_iteration=1).get("feature_infos", {})
    categorical = [c for c in frame.columns if infos.get(str(c), {}).get("values")]
    if len(categorical) == count:
        return categorical
    texty = [c for c in frame.columns
             if isinstance(frame[c].dtype, pd.CategoricalDtype) or not (
                 pdt.is_numeric_dtype(frame[c].dtype) or pdt.is_bool_dtype(frame[c].dtype))]
    return texty if len(texty) == count else None


def _gpu() -> str | None:
    """"cuda" or "gpu" (OpenCL): the device type this LightGBM can train on, found by a tiny run; None for none."""
    global _gpu_device_type
    if _gpu_device_type is False:
        import numpy as np
        import lightgbm

        _gpu_device_type = None
        x, y = np.arange(8.0).reshape(-1, 1), np.arange(8.0)
        for device_type in ("cuda", "gpu"):
            try:
                lightgbm.train({"device_type": device_type, "verbose": -1, "min_data_in_leaf": 1, "min_data_in_bin": 1},
                               lightgbm.Dataset(x, label=y), num_boost_round=1)
            except Exception:  # LightGBMError: not built with it, or no device
                continue
            _gpu_device_type = device_type
            break
    return _gpu_device_type  # type: ignore[return-value]
