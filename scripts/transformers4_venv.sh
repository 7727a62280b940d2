#!/usr/bin/env bash
# Create .venv-transformers4: jupyter_mreg with transformers 4.57, whose summarization, translation and
# question-answering pipelines transformers 5 removed. tests/frameworks/test_huggingface.py logs and runs those
# pipelines there when MREG_TEST_TRANSFORMERS4_PYTHON=<this venv>/bin/python:
#
#   bash scripts/transformers4_venv.sh
#   MREG_TEST_TRANSFORMERS4_PYTHON=.venv-transformers4/bin/python .venv/bin/python -m pytest tests/frameworks/test_huggingface.py
#
# Idempotent: a venv that already has the pinned versions is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${MREG_TRANSFORMERS4_VENV:-.venv-transformers4}"
PYTHON="${PYTHON:-python3.11}"
TORCH="torch==2.13.0"           # a CPU build this machine keeps on disk; unpinned, pip would fetch a CUDA build of GBs
TRANSFORMERS="transformers==4.57.6"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib.metadata as md, sys
ok = md.version("torch").startswith("2.13.0") and md.version("transformers") == "4.57.6"
import jupyter_mreg, pytest  # noqa: F401
sys.exit(0 if ok else 1)
EOF
then
    echo "$VENV is ready (torch 2.13.0, transformers 4.57.6)"
    exit 0
fi

# pip warns about every package missing from this machine's local index folders: noise, filtered out.
pip_install() {
    "$VENV/bin/python" -m pip install --quiet "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
pip_install --upgrade pip
# torch first and alone, so nothing later resolves it to another build.
pip_install "$TORCH"
pip_install "$TORCH" "$TRANSFORMERS"
# jupyter_mreg itself without extras (its core dependencies only), and pytest for running checks there.
pip_install "$TORCH" "$TRANSFORMERS" -e . pytest
"$VENV/bin/python" -c "import torch, transformers, jupyter_mreg; print('$VENV:', 'torch', torch.__version__, 'transformers', transformers.__version__)"
