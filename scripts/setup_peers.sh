#!/usr/bin/env bash
# Idempotent set-up of the accuracy benchmark's PEER trackers in their own virtualenv.
#
# The peers never constrain the library's own dependencies: they live in $PEERS_VENV
# (default .venv-peers at the repo root), next to an editable install of deepsort_lib.
# Run the benchmark with:  .venv-peers/bin/python -m benchmarks.accuracy.run --seeds 5
#
# Known snags handled here (each pin says why):
# - norfair >= 2.2 requires numpy < 2; 2.1.1 works on numpy 2 and is installed --no-deps.
# - supervision removed ByteTrack in 0.31: pinned to 0.30.x.
# - roboflow `trackers` 2.6 asks for supervision >= 0.26 (0.30 satisfies it) and the GUI
#   opencv-python; installed --no-deps so the headless OpenCV 4.x of the library stays the
#   only cv2.
# - BoxMOT asks for opencv-python < 5, pandas < 3, torch/torchvision, timm, ...: it gets the
#   CPU torch wheel (never a multi-GB CUDA build) and, --no-deps, only what its trackers import.
# - deep-sort-realtime would pull opencv-python (GUI) and torch for an embedder we never use.
# - TrackEval (HOTA) asks for the GUI opencv-python and pycocotools: --no-deps, it needs only
#   numpy and scipy for the metrics we use.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${PEERS_VENV:-.venv-peers}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3

stamp="$VENV/.deepsort-peers-setup"
want=$(cat pyproject.toml scripts/setup_peers.sh | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "setup_peers: $VENV is up to date"
    exit 0
fi

echo "setup_peers: creating $VENV"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
pip() { "$VENV/bin/python" -m pip install -q "$@"; }

cons=$(mktemp)
trap 'rm -f "$cons"' EXIT
# Shared pins for every step below: BoxMOT needs pandas < 3, the library needs OpenCV < 5.
# torch is pinned to the CPU wheel so that no later step can resolve a CUDA build.
printf '%s\n' "pandas<3" "opencv-python-headless<5" "torch==2.13.0+cpu" > "$cons"

pip --upgrade pip
# CPU-only torch first, so nothing later can resolve the CUDA build. The +cpu wheel is served
# from a local wheel directory on our machines (pip's find-links); elsewhere use
# PIP_EXTRA_INDEX_URL pointing at the PyTorch CPU index.
pip "torch==2.13.0+cpu"
pip -c "$cons" -e ".[eval,test]"
pip -c "$cons" "threadpoolctl>=3" "tabulate"

# Peers.
pip --no-deps "deep-sort-realtime==1.3.2"
pip --no-deps "norfair==2.1.1"
pip -c "$cons" "rich>=13"
pip -c "$cons" "supervision==0.30.*"
pip --no-deps "trackers==2.6.1"
pip -c "$cons" "pydeprecate>=0.8" "requests>=2.28"
pip --no-deps "trackeval==1.3.0"
# BoxMOT and only the dependencies its StrongSORT / BoT-SORT trackers import when given
# precomputed embeddings: no re-ID backbones (timm, torchvision), no model downloaders
# (gdown, huggingface-hub), no GUI OpenCV, no CUDA.
pip --no-deps "boxmot==25.0.0"
pip -c "$cons" "lapx>=0.5.5,<1" "filterpy>=1.4.5" "platformdirs>=4.3,<5" "click>=8.1.8" \
    "typing-extensions>=4.12.2" "tqdm>=4.67.1" "pandas>=2,<3"

echo "$want" > "$stamp"
echo "setup_peers: done ($VENV)"
