"""scikit-learn estimators and pipelines (`model_type` "sklearn"), saved with cloudpickle as MLflow does.

Anything that subclasses `sklearn.base.BaseEstimator` is accepted, including `Pipeline`, `ColumnTransformer`
and meta-estimators; a user's own transformer classes inside them are pickled by reference, so their module
must be importable at load time: log it with `code_paths` (or `ext_modules` to pickle it by value).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar

from jupyter_mreg.errors import UnsupportedModelError
from jupyter_mreg.model.handlers.base import ModelHandler, has_method
from jupyter_mreg.model.task import Task

_MODEL_FILE = "model.pkl"


class Handler(ModelHandler):
    """scikit-learn `BaseEstimator` instances, `Pipeline` included."""

    name: ClassVar[str] = "sklearn"
    default_target_methods: ClassVar[tuple[str, ...]] = (
        "predict",
        "transform",
        "predict_proba",
        "predict_log_proba",
        "decision_function",
        "score_samples",
    )
    extra_options: ClassVar[frozenset[str]] = frozenset()
    # predict_proba first: it explains every class of a classifier.
    explain_methods: ClassVar[tuple[str, ...]] = ("predict_proba", "predict", "predict_log_proba")
    explain_needs_background: ClassVar[bool] = True

    @classmethod
    def can_handle(cls, model: Any) -> bool:
        if "sklearn" not in sys.modules:  # nothing can be an estimator if sklearn was never imported
            return False
        from sklearn.base import BaseEstimator

        if isinstance(model, type) or not isinstance(model, BaseEstimator):
            return False
        return any(has_method(model, m) for m in cls.default_target_methods)

    @classmethod
    def infer_task(cls, model: Any) -> Task:
        from sklearn.base import is_classifier, is_regressor

        final = _final_estimator(model)
        if final is None:
            return Task.UNKNOWN
        if is_classifier(final):
            classes = getattr(final, "classes_", None)
            if classes is None:
                classes = getattr(model, "classes_", None)
            if classes is None:
                return Task.UNKNOWN
            if isinstance(classes, list):  # multi-output classifiers keep one array of classes per output
                return Task.UNKNOWN
            try:
                n_classes = len(classes)
            except TypeError:
                return Task.UNKNOWN
            if n_classes == 0:
                return Task.UNKNOWN
            return Task.TABULAR_BINARY_CLASSIFICATION if n_classes <= 2 else Task.TABULAR_MULTI_CLASSIFICATION
        if is_regressor(final):
            return Task.TABULAR_REGRESSION
        return Task.UNKNOWN

    @classmethod
    def modules(cls, model: Any) -> list[str]:
        found: list[str] = []
        _collect_modules(model, found, set(), depth=0)
        tops: list[str] = []
        for module in found:
            top = module.split(".")[0]
            if top and top not in tops:
                tops.append(top)
        if "sklearn" not in tops:
            tops.insert(0, "sklearn")
        return tops

    @classmethod
    def save(cls, model: Any, path: Path, options: dict) -> dict:
        import cloudpickle
        import sklearn

        cls_ = type(model)
        try:
            data = cloudpickle.dumps(model)
        except Exception as exc:
            raise UnsupportedModelError(
                f"The {cls_.__qualname__} cannot be pickled ({type(exc).__name__}: {exc}): remove attributes "
                "that hold open files, locks, connections or generators from its steps before logging it."
            ) from exc
        (Path(path) / _MODEL_FILE).write_bytes(data)
        return {
            "file": _MODEL_FILE,
            "format": "cloudpickle",
            "class": f"{cls_.__module__}.{cls_.__qualname__}",
            "sklearn_version": sklearn.__version__,
            "by_value_modules": [m.__name__ for m in options.get("_by_value_modules") or ()],
        }

    @classmethod
    def load(cls, path: Path, meta: dict, options: dict) -> Any:
        import cloudpickle

        with open(Path(path) / meta.get("file", _MODEL_FILE), "rb") as f:
            return cloudpickle.load(f)

    @classmethod
    def invoke(cls, model: Any, method: str, data: Any, params: dict) -> Any:
        return getattr(model, method)(_as_fitted_input(model, data), **(params or {}))

    @classmethod
    def explained_features(cls, model: Any, names: list[str]) -> list[str]:
        for _, step in _leading_steps(model):  # a pipeline's final step sees the features its transforms make
            names = [str(n) for n in step.get_feature_names_out(names)]
        return names

    @classmethod
    def explanations(cls, model: Any, data: Any, background: Any) -> Any:
        from jupyter_mreg.model import explain

        predictor = _final_estimator(model)
        if predictor is None:
            raise ValueError("the pipeline's final step is 'passthrough': there is no estimator to explain")
        return explain.model_shap(predictor, _final_input(model, predictor, data),
                                  _final_input(model, predictor, background), cls.explain_methods)


def _final_estimator(model: Any) -> Any:
    """The step that decides what a (possibly nested) pipeline predicts; None for `"passthrough"`."""
    from sklearn.pipeline import Pipeline

    while isinstance(model, Pipeline):
        if not model.steps:
            return None
        model = model.steps[-1][1]
    if model is None or isinstance(model, str):
        return None
    return model


def _leading_steps(model: Any) -> list[tuple[str, Any]]:
    """The transforming steps of a pipeline, before its final estimator ("passthrough" ones left out); none
    for a plain estimator."""
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline):
        return []
    return [(name, step) for name, step in model.steps[:-1] if step is not None and step != "passthrough"]


def _final_input(model: Any, predictor: Any, data: Any) -> Any:
    """`data` as the pipeline's final estimator `predictor` receives it: through the transforming steps,
    dense, in the form the estimator was fitted on."""
    import pandas as pd

    steps = _leading_steps(model)
    if not steps:
        return _as_fitted_input(model, data)
    for _, step in steps:
        data = step.transform(data)
    if hasattr(data, "toarray"):  # a sparse matrix (one-hot encoding): shap explains dense arrays
        data = data.toarray()
    return _as_fitted_input(predictor, data if isinstance(data, pd.DataFrame) else pd.DataFrame(data))


def _collect_modules(obj: Any, found: list[str], seen: set[int], depth: int) -> None:
    """Modules of `obj`'s class and, through `get_params(deep=False)`, of every nested estimator, step
    and callable (e.g. the `func` of a FunctionTransformer): the code a loader must be able to import."""
    if depth > 50 or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, (list, tuple)):
        for item in obj:
            _collect_modules(item, found, seen, depth + 1)
        return
    if isinstance(obj, dict):
        for item in obj.values():
            _collect_modules(item, found, seen, depth + 1)
        return
    if obj is None or isinstance(obj, (str, bytes, int, float, bool, complex)):
        return
    get_params = getattr(obj, "get_params", None)
    if callable(get_params) and not isinstance(obj, type):
        found.append(type(obj).__module__)
        try:
            params = get_params(deep=False)
        except Exception:  # a hand-written estimator whose __init__ does not store its arguments
            params = {}
        # Fitted attributes (`estimators_`, `best_estimator_`, ...) are clones of these parameters: walking
        # them would add no module, only time (a forest holds hundreds of trees).
        for value in params.values():
            _collect_modules(value, found, seen, depth + 1)
        return
    if isinstance(obj, type) or callable(obj):
        module = getattr(obj, "__module__", None)
        if isinstance(module, str):
            found.append(module)


def _as_fitted_input(model: Any, data: Any) -> Any:
    """Give the estimator its input the way it was fitted.

    Fitted on a DataFrame (`feature_names_in_`): the DataFrame, columns in fit order when they are all
    present. Fitted on an array (`n_features_in_` but no names): the array, so sklearn does not warn that
    "X has feature names". Neither (a first step that records nothing): the DataFrame unchanged.
    """
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        return data
    try:
        names = getattr(model, "feature_names_in_", None)
    except Exception:
        names = None
    if names is not None:
        names = [str(n) for n in names]
        if list(map(str, data.columns)) != names and set(names) <= set(map(str, data.columns)):
            if all(isinstance(c, str) for c in data.columns):
                return data[names]
        return data
    try:
        n_features = getattr(model, "n_features_in_", None)
    except Exception:
        n_features = None
    if n_features is not None and n_features == data.shape[1]:
        return data.to_numpy()
    return data
