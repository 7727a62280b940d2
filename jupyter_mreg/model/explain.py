"""Explainability: the `explain` method a version gets when logged with `options={"enable_explainability":
True}` (off by default, as in Snowflake since 1.47), for every framework whose handler can explain.

`explain` takes the inputs of the method it explains (the first of the handler's `explain_methods` that is
logged) and returns one `<feature>_explanation` column per feature: SHAP values, DOUBLE, or for a model of more
than two classes a STRING holding a JSON object `{class: value}`. It is a TABLE_FUNCTION, as in Snowflake. The
handler computes the raw values (`ModelHandler.explanations`) with `tree_shap` or `model_shap` below; this
module plans the method at log time and shapes its output at run time. shap is imported only when values are
computed: never by `import jupyter_mreg`, nor by logging a tree model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jupyter_mreg.errors import InvalidArgumentError, MregError, NotSupportedError
from jupyter_mreg.model.signatures.frames import to_pandas
from jupyter_mreg.model.signatures.specs import FeatureSpec, ModelSignature
from jupyter_mreg.model.signatures.types import DataType
from jupyter_mreg.model.signatures.validate import validate_input
from jupyter_mreg.model.task import Task

EXPLAIN = "explain"
BACKGROUND_FILE = "explain/background.parquet"  # in the package, next to MANIFEST.yml
BACKGROUND_ROWS = 1000  # Snowflake's bound on the background data kept with a version
_CHECK_ROWS = 5  # rows explained at log time to check that shap can explain the model (as Snowflake does)
_REFUSED = "Explainability for this model is not supported. Please set `enable_explainability=False`"


@dataclass(frozen=True)
class Plan:
    """The `explain` method to log: its signature, its manifest record, and the background data to store."""

    signature: ModelSignature
    spec: dict  # MethodInfo.explain: {"algorithm": "shap", "explains": <method>, "background": <file> | None}
    background: pd.DataFrame | None


def plan(model: Any, handler: type, sigs: dict, sample_input_data: Any, task: Task, options: dict) -> Plan | None:
    """The explain method to add to the logged `sigs` ({method: ModelSignature}), or None when not asked for.
    Refused with Snowflake's messages when the framework cannot be explained (`NotSupportedError`), when no
    logged method can be explained, or when the handler needs background data and none was given."""
    if not options.get("enable_explainability"):
        return None
    if not handler.explain_methods:
        raise NotSupportedError(
            f"Explainability is not supported for {handler.name} model. jupyter_mreg explains scikit-learn, "
            "XGBoost, LightGBM and CatBoost models: log this one without options={'enable_explainability': True}.")
    explains = next((m for m in handler.explain_methods if m in sigs), None)
    if explains is None:
        raise InvalidArgumentError(
            f"Signature for target method None is missing or no method to explain: explain needs one of "
            f"{', '.join(handler.explain_methods)} among the logged methods, which are {', '.join(sigs)}. Add one "
            "to target_methods, or log without enable_explainability.")
    target = sigs[explains]
    background = None
    if handler.explain_needs_background:
        if sample_input_data is None:
            raise InvalidArgumentError(
                "Sample input data is required to enable explainability: SHAP compares each row with a sample of "
                f"typical inputs. Pass sample_input_data=<up to {BACKGROUND_ROWS} rows of the input> to log_model.")
        background = validate_input(to_pandas(sample_input_data).head(BACKGROUND_ROWS), target)
    try:
        names = handler.explained_features(model, [f.name for f in target.inputs])
        if background is not None:  # explain a few rows now: a model shap cannot explain is refused at log time
            check = to_columns(model, handler.explanations(model, background.head(_CHECK_ROWS), background))
            if check.shape[1] != len(names):
                raise ValueError(f"{check.shape[1]} explanation columns for {len(names)} features")
    except MregError:
        raise
    except Exception as exc:
        raise InvalidArgumentError(f"{_REFUSED} (shap: {type(exc).__name__}: {exc}).") from exc
    # As Snowflake: per-class values (a JSON object per cell) for more than two classes, else one number.
    dtype = DataType.STRING if task == Task.TABULAR_MULTI_CLASSIFICATION else DataType.DOUBLE
    signature = ModelSignature(inputs=target.inputs, outputs=[FeatureSpec(f"{n}_explanation", dtype) for n in names])
    stored = BACKGROUND_FILE if background is not None else None
    spec = {"algorithm": "shap", "explains": explains, "background": stored}
    return Plan(signature, spec, background)


def write_background(root: Path, plan: Plan) -> None:
    """Store the plan's background data in the package folder `root` (Parquet: reading it runs no code)."""
    if plan.background is not None:
        path = root / BACKGROUND_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        plan.background.to_parquet(path, index=False)


def run(handler: type, model: Any, frame: pd.DataFrame, spec: dict, package: Path | None) -> pd.DataFrame:
    """The explanations of `frame` (validated against the explain signature), one column per feature.
    `package` is the version's unpacked folder, where the background data is read from."""
    background = None
    if spec.get("background"):
        if package is None:
            raise InvalidArgumentError("This explain method needs its version's background data: run it through "
                                       "ModelVersion.run, which knows where the version's files are.")
        background = pd.read_parquet(package / spec["background"])
    return to_columns(model, handler.explanations(model, frame, background))


def to_columns(model: Any, values: Any) -> pd.DataFrame:
    """SHAP values as one column per feature: a (rows, features) array as is; per-class values (rows, features,
    classes) as the positive class's for two classes, else a JSON object `{class: value}` per cell, keyed by
    the model's `classes_` (positions when it has none), as Snowflake does."""
    values = np.asarray(values, dtype=np.float64)  # DOUBLE, as Snowflake returns them (XGBoost gives float32)
    if values.ndim != 3:
        return pd.DataFrame(values)
    classes = getattr(model, "classes_", None)
    keys = [str(c) for c in classes] if classes is not None else [str(i) for i in range(values.shape[2])]
    if len(keys) != values.shape[2]:
        raise ValueError(f"Model has {len(keys)} classes but explanations have {values.shape[2]}")
    if len(keys) <= 2:
        return pd.DataFrame(values[:, :, -1])
    cells = [[json.dumps(dict(zip(keys, map(float, per_class)))) for per_class in row] for row in values]
    return pd.DataFrame(cells, dtype=object)


def tree_shap(model: Any, data: Any) -> Any:
    """SHAP values of a tree ensemble by shap's TreeExplainer on the model's own trees (no background
    data): the raw output, i.e. margins (log-odds) for a classifier."""
    import shap

    # from_call: LightGBM's binary classifiers otherwise warn that the output format changed.
    return shap.TreeExplainer(model).shap_values(data, from_call=True)


def model_shap(predictor: Any, data: Any, background: Any, methods: tuple[str, ...]) -> Any:
    """SHAP values by the explainer shap chooses for `predictor` over `background` (tree, linear, exact or
    permutation); a model shap does not know is explained as a black box through the first of `methods` it has."""
    import shap

    try:
        return shap.Explainer(predictor, background)(data).values
    except TypeError:  # "The passed model is not callable and cannot be analyzed directly with the given masker"
        for name in methods:
            method = getattr(predictor, name, None)
            if callable(method):
                return shap.Explainer(method, np.asarray(background))(np.asarray(data)).values
        raise
