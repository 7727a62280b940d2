#!/usr/bin/env bash
# Set up (both venvs), start a throwaway PostgreSQL for the catalog tests, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# A second venv with transformers 4, for the pipelines transformers 5 removed (summarization, translation,
# question-answering): the Hugging Face tests log and run those there.
if [ -z "${MREG_TEST_TRANSFORMERS4_PYTHON:-}" ]; then
    bash scripts/transformers4_venv.sh
    export MREG_TEST_TRANSFORMERS4_PYTHON="$PWD/.venv-transformers4/bin/python"
fi
if [ -z "${MREG_TEST_POSTGRES_URL:-}" ]; then
    source scripts/postgres.sh
    start_test_postgres
fi
.venv/bin/python -m pytest "$@"
