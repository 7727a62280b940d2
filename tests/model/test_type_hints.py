"""`jupyter_mreg.model.type_hints`: the aliases users annotate with, in step with what log_model accepts."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest

from jupyter_mreg.model import type_hints
from jupyter_mreg.model.handlers import all_handlers
from jupyter_mreg.model.packaging.options import COMMON_OPTIONS, METHOD_OPTIONS

SAVE_OPTIONS = {
    "custom": type_hints.CustomModelSaveOption, "sklearn": type_hints.SKLModelSaveOptions,
    "xgboost": type_hints.XGBModelSaveOptions, "lightgbm": type_hints.LGBMModelSaveOptions,
    "catboost": type_hints.CatBoostModelSaveOptions, "pytorch": type_hints.PyTorchSaveOptions,
    "tensorflow": type_hints.TensorflowSaveOptions, "keras": type_hints.KerasSaveOptions,
    "huggingface": type_hints.HuggingFaceSaveOptions,
    "sentence_transformers": type_hints.SentenceTransformersSaveOptions,
    "prophet": type_hints.ProphetSaveOptions, "mlflow": type_hints.MLFlowSaveOptions,
}


@pytest.mark.parametrize("handler", all_handlers(), ids=lambda h: h.name)
def test_save_options_name_exactly_what_the_handler_accepts(handler):
    accepted = (COMMON_OPTIONS | handler.extra_options) - {"_by_value_modules"}
    assert set(SAVE_OPTIONS[handler.name].__annotations__) == accepted


def test_method_options_and_handler_names():
    assert set(type_hints.ModelMethodSaveOptions.__annotations__) == METHOD_OPTIONS
    assert set(typing.get_args(type_hints.SupportedModelHandlerType)) == {h.name for h in all_handlers()}


def test_load_options_name_what_handlers_accept():
    declared = set().union(*(o.__annotations__ for o in typing.get_args(type_hints.ModelLoadOption)))
    assert declared == {"device", "use_gpu"}.union(*(h.load_options for h in all_handlers()))


def test_importing_type_hints_imports_no_framework():
    code = ("import sys; import jupyter_mreg.model.type_hints; "
            "print([m for m in ('numpy', 'pandas', 'torch', 'sklearn') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
