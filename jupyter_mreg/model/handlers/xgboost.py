"""XGBoost models (`model_type` "xgboost"): the scikit-learn wrappers (`XGBModel` subclasses: XGBClassifier,
XGBRegressor, XGBRanker, XGBRF*) and raw `xgboost.Booster`s.

Stored in XGBoost's own UBJSON format (`model.ubj`), not as a pickle: the file runs no code when loaded and
later XGBoost releases read it. Loading instantiates the recorded class and calls `load_model`. XGBoost's file
leaves out some of a wrapper's hyperparameters, among them `missing`, which changes predictions; those that
are plain values are kept in `params.json` and set again at load (callables such as a custom objective cannot
be, and are listed in the metadata as `params_not_kept`).

A `Booster` predicts from an `xgboost.DMatrix`, which `invoke` builds. Both kinds get their columns in the
order they were trained on, and categorical features given as text become pandas categories (XGBoost ≥ 3.1
re-codes them with the categories it stored at training).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any, ClassVar

from jupyter_mreg.errors import InvalidArgumentError
from jupyter_mreg.model.handlers.base import ModelHandler, import_recorded_class
from jupyter_mreg.model.task import Task

_MODEL_FILE = "model.ubj"
_PARAMS_FILE = "params.json"

_gpu: bool | None = None  # whether this process's XGBoost can use a GPU (asked once)


class Handler(ModelHandler):
    """`xgboost.XGBModel` subclasses and `xgboost.Booster`."""

    name: ClassVar[str] = "xgboost"
    default_target_methods: ClassVar[tuple[str, ...]] = ("predict", "predict_proba")
    extra_options: ClassVar[frozenset[str]] = frozenset({"use_gpu", "cuda_version"})
    explain_methods: ClassVar[tuple[str, ...]] = ("predict", "predict_proba")

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        if "xgboost" not in sys.modules:  # nothing can be an XGBoost model if xgboost was never imported
            return False
        import xgboost

        return not isinstance(model, type) and isinstance(model, (xgboost.XGBModel, xgboost.Booster))

    @classmethod
    def infer_task(cls, model: Any) -> Task:
        import xgboost

        booster = _booster_or_none(model)
        if booster is None:  # not fitted: the number of classes is unknown
            return Task.UNKNOWN
        if isinstance(model, xgboost.XGBRanker):
            return Task.TABULAR_RANKING
        if isinstance(model, xgboost.XGBClassifier):
            n_classes = getattr(model, "n_classes_", None)
            if n_classes is None:
                return Task.UNKNOWN
            return Task.TABULAR_BINARY_CLASSIFICATION if n_classes <= 2 else Task.TABULAR_MULTI_CLASSIFICATION
        if isinstance(model, xgboost.XGBRegressor):
            return Task.TABULAR_REGRESSION
        return _task_of_objective(_config(booster)["learner"]["objective"]["name"])

    @classmethod
    def modules(cls, model: Any) -> list[str]:
        import xgboost

        tops = ["xgboost"]
        if isinstance(model, xgboost.XGBModel):
            tops.append("sklearn")  # the wrappers import scikit-learn
        own = type(model).__module__.split(".")[0]
        if own not in tops:  # a user's subclass
            tops.append(own)
        return tops

    @classmethod
    def gpu_available(cls) -> bool:
        global _gpu
        if _gpu is None:
            _gpu = _probe_gpu()
        return _gpu

    @classmethod
    def save(cls, model: Any, path: Path, options: dict) -> dict:
        import xgboost

        klass = type(model)
        booster = _booster_or_none(model)
        if booster is None:
            raise InvalidArgumentError(
                f"The {klass.__qualname__} is not fitted: call fit() on it before logging it."
            )
        model.save_model(str(Path(path) / _MODEL_FILE))
        meta: dict[str, Any] = {
            "file": _MODEL_FILE,
            "format": "ubj",
            "kind": "booster" if isinstance(model, xgboost.Booster) else "sklearn",
            "class": f"{klass.__module__}.{klass.__qualname__}",
            "module": klass.__module__,
            "qualname": klass.__qualname__,
            "xgboost_version": xgboost.__version__,
            "trained_on": _config(booster)["learner"]["generic_param"].get("device", "cpu"),
        }
        if isinstance(model, xgboost.XGBModel):
            kept, dropped = _plain_params(model.get_params(deep=False))
            (Path(path) / _PARAMS_FILE).write_text(json.dumps(kept), encoding="utf-8")
            meta["params_file"] = _PARAMS_FILE
            meta["params_not_kept"] = dropped
        return meta

    @classmethod
    def load(cls, path: Path, meta: dict, options: dict) -> Any:
        klass = import_recorded_class(meta, "xgboost")
        params = None
        if meta.get("params_file"):
            params = json.loads((Path(path) / meta["params_file"]).read_text(encoding="utf-8"))
        try:
            model = klass()
        except TypeError:  # a subclass whose __init__ needs its arguments
            model = klass(**(params or {}))
        model.load_model(str(Path(path) / meta.get("file", _MODEL_FILE)))
        if params:
            model.set_params(**params)
        _place(model, options.get("device", "cpu"), meta)
        return model

    @classmethod
    def invoke(cls, model: Any, method: str, data: Any, params: dict) -> Any:
        import xgboost

        booster = model if isinstance(model, xgboost.Booster) else model.get_booster()
        frame = _as_trained(booster, data)
        if isinstance(model, xgboost.Booster) and method == "predict":
            return model.predict(xgboost.DMatrix(frame, enable_categorical=True), **(params or {}))
        return getattr(model, method)(frame, **(params or {}))

    @classmethod
    def explanations(cls, model: Any, data: Any, background: Any) -> Any:
        from jupyter_mreg.model import explain

        return explain.tree_shap(model, _as_trained(_booster_or_none(model), data))


def _booster_or_none(model: Any) -> Any:
    """The model's Booster, or None when a wrapper is not fitted."""
    import xgboost

    if isinstance(model, xgboost.Booster):
        return model
    try:
        return model.get_booster()
    except Exception:  # sklearn's NotFittedError, or XGBoostError from older releases
        return None


def _config(booster: Any) -> dict:
    return json.loads(booster.save_config())


def _task_of_objective(objective: str) -> Task:
    """The task an XGBoost objective name (`binary:logistic`, `multi:softprob`, `rank:ndcg`, ...) implies."""
    family = objective.split(":")[0]
    return {
        "binary": Task.TABULAR_BINARY_CLASSIFICATION,
        "multi": Task.TABULAR_MULTI_CLASSIFICATION,
        "rank": Task.TABULAR_RANKING,
        "reg": Task.TABULAR_REGRESSION,
        "count": Task.TABULAR_REGRESSION,
    }.get(family, Task.UNKNOWN)


def _plain_params(params: dict) -> tuple[dict, list[str]]:
    """The params whose values are plain JSON (numpy scalars as Python ones), and the names of the others."""
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for key, value in params.items():
        ok, plain = _plain(value)
        if ok:
            kept[key] = plain
        else:
            dropped.append(key)
    return kept, sorted(dropped)


def _plain(value: Any) -> tuple[bool, Any]:
    if value is None or isinstance(value, (bool, int, float, str)):  # NaN too: json writes and reads it
        return True, value
    item = getattr(value, "item", None)
    if type(value).__module__ == "numpy" and callable(item) and getattr(value, "ndim", 1) == 0:
        return _plain(item())
    if isinstance(value, (list, tuple)):
        out = [_plain(v) for v in value]
        return all(ok for ok, _ in out), [v for _, v in out]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        pairs = {k: _plain(v) for k, v in value.items()}
        return all(ok for ok, _ in pairs.values()), {k: v for k, (_, v) in pairs.items()}
    return False, None



def _place(model: Any, device: str, meta: dict) -> None:
    """Set XGBoost's `device` parameter: the GPU asked for, or the CPU for a model trained on a GPU."""
    import xgboost

    if isinstance(model, xgboost.Booster):
        if device != "cpu":
            model.set_param({"device": device})
        return
    current = str(model.get_params().get("device") or meta.get("trained_on") or "cpu")
    if device != "cpu" or current != "cpu":
        model.set_params(device=device)


def _as_trained(booster: Any, frame: Any) -> Any:
    """The frame with the booster's feature order, and text columns of categorical features as categories."""
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        return frame
    names = booster.feature_names
    if names and list(frame.columns) != names:
        if set(names) <= set(frame.columns):
            frame = frame[names]
        elif list(frame.columns) == [f"input_feature_{i}" for i in range(len(names))]:
            # Logged with an unnamed sample (numpy): the columns are the fitted features by position.
            frame = frame.set_axis(names, axis=1)
    types = booster.feature_types
    if names and types and "c" in types:
        to_convert = [n for n, t in zip(names, types)
                      if t == "c" and n in frame.columns and not isinstance(frame[n].dtype, pd.CategoricalDtype)]
        if to_convert:
            frame = frame.copy(deep=False)  # never write into the caller's frame
            for n in to_convert:
                frame[n] = frame[n].astype("category")
    return frame


def _probe_gpu() -> bool:
    """True if XGBoost was built with CUDA and a tiny training run stays on a GPU (it falls back silently)."""
    import numpy as np
    import xgboost

    if not xgboost.build_info().get("USE_CUDA"):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "No visible GPU is found, setting device to CPU."
            data = xgboost.DMatrix(np.array([[0.0], [1.0]]), label=np.array([0.0, 1.0]))
            booster = xgboost.train({"device": "cuda", "tree_method": "hist"}, data, num_boost_round=1)
        return str(_config(booster)["learner"]["generic_param"].get("device", "cpu")).startswith("cuda")
    except Exception:
        return False

