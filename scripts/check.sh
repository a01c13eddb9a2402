#!/usr/bin/env bash
# The test suite in stages. `bash scripts/check.sh` runs everything CI runs (`make test`);
# `bash scripts/check.sh fast` is the inner loop (`make check`): lint, types, fast tests.
# Exits non-zero on the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
WHAT=${1:-all}
PYTEST=("$VENV/bin/python" -m pytest -q -p no:cacheprovider)
# pytest keeps its assertion-rewritten test modules as bytecode in __pycache__ (git-ignored);
# an environment that forbids bytecode makes every run rewrite them all again (5 s of `make
# check` on the 2-core host).
unset PYTHONDONTWRITEBYTECODE

echo "== ruff";  "$VENV/bin/ruff" check deepsort_lib tests benchmarks
echo "== mypy";  "$VENV/bin/mypy"
echo "== fast tests"; "${PYTEST[@]}" tests -m "not slow and not convert"
[ "$WHAT" = fast ] && exit 0

echo "== slow tests (real models, videos, docs build, notebook)"
"${PYTEST[@]}" tests -m "slow and not convert"
echo "== TensorFlow converter tests (own venv: .venv-convert)"
bash scripts/setup_convert.sh
.venv-convert/bin/python -m pytest -q -p no:cacheprovider tests/test_reid_tf_convert.py -m convert
echo "== accuracy benchmark (reduced: peers in their own venv)"
bash scripts/setup_peers.sh
.venv-peers/bin/python -m pytest benchmarks/test_accuracy.py -q -p no:cacheprovider
echo "== re-entry benchmark (reduced: our trackers, accuracy targets only)"
.venv-peers/bin/python -m pytest benchmarks/test_reentry.py -k "not update_time" -q -p no:cacheprovider
