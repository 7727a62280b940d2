#!/usr/bin/env bash
# Set up, start a throwaway PostgreSQL for the catalog tests, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${MREG_TEST_POSTGRES_URL:-}" ]; then
    source scripts/postgres.sh
    start_test_postgres
fi
.venv/bin/python -m pytest "$@"
