#!/usr/bin/env bash
# The whole test suite as CI runs it. Exits non-zero on the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
echo "== ruff";  "$VENV/bin/ruff" check deepsort_lib tests benchmarks
echo "== mypy";  "$VENV/bin/mypy"
echo "== pytest"; "$VENV/bin/python" -m pytest tests -q
echo "== accuracy benchmark (reduced: one seed, peers in their own venv)"
bash scripts/setup_peers.sh
.venv-peers/bin/python -m pytest benchmarks/test_accuracy.py -q -p no:cacheprovider
