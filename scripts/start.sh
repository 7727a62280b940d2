#!/usr/bin/env bash
# Set up, then open JupyterLab on the demo notebooks with an embedded local registry in .mreg-demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export MREG_HOME="${MREG_HOME:-$PWD/.mreg-demo}"
extra=()
if [ "$(id -u)" = "0" ]; then extra+=(--allow-root); fi
# The Model Registry panel opens itself on this registry (MregServer.home; the sidebar header names it).
exec .venv/bin/jupyter lab --notebook-dir=notebooks --MregServer.home="$MREG_HOME" --MregServer.open_on_start=True \
    "${extra[@]}" "$@"
