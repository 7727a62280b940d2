"""Which handler takes which model, and that finding out imports no framework (`import jupyter_mreg` and
`log_model` of a scikit-learn model must not pay for importing torch or TensorFlow)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from jupyter_mreg.model.handlers import all_handlers

FRAMEWORKS = ("torch", "tensorflow", "keras", "xgboost", "lightgbm", "catboost", "prophet", "transformers",
              "sentence_transformers", "mlflow", "sklearn")


def test_every_framework_has_a_handler_in_priority_order():
    names = [h.name for h in all_handlers()]
    assert names == ["custom", "mlflow", "sentence_transformers", "huggingface", "xgboost", "lightgbm",
                     "catboost", "prophet", "keras", "tensorflow", "pytorch", "sklearn"]


def test_asking_every_handler_imports_no_framework(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        from jupyter_mreg.errors import UnsupportedModelError
        from jupyter_mreg.model.handlers import all_handlers, find_handler

        for model in (object(), 3.5, "not a model", {{"a": 1}}):
            try:
                find_handler(model)
            except UnsupportedModelError as exc:
                message = str(exc)
        assert "is not supported" in message and "pytorch" in message, message
        assert all(h.can_handle(object()) is False for h in all_handlers())
        print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
