#!/usr/bin/env bash
# Create .venv (once) and install jupyter_mreg with everything the demos, tests and benchmarks use.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch first, pinned: 2.13.0 is a CPU build this machine kind keeps on disk; left to the resolver, the
# frameworks that need torch would pull a CUDA build of several GB from PyPI.
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev]"
