#!/usr/bin/env bash
# Idempotent set-up of the TensorFlow converter's own virtualenv (default .venv-convert).
#
# `deepsort-convert mars` turns the original's TensorFlow frozen graph into ONNX; it needs the
# [convert] extra (tensorflow-cpu, tf2onnx: about 1.3 GB), which neither the demo nor the rest
# of the test suite uses, so it lives here, next to an editable install of the library.
# Its test runs with: .venv-convert/bin/python -m pytest tests/test_reid_tf_convert.py -m convert
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${CONVERT_VENV:-.venv-convert}
PY=${PYTHON:-python3}
stamp="$VENV/.deepsort-convert-setup"
want=$(cat pyproject.toml scripts/setup_convert.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
echo "setup_convert: creating $VENV and installing deepsort_lib[convert] with pytest"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[convert]" "pytest>=8" "hypothesis>=6"
echo "$want" > "$stamp"
