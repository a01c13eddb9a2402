#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: system packages, the sample video, the virtualenv.
#
#   bash scripts/setup.sh demo   the library alone: what `make demo` needs (no test tools)
#   bash scripts/setup.sh test   the library with its test, eval and docs extras (`make test`)
#
# Safe to run again: it skips what is already there. TensorFlow (the [convert] extra, 1.3 GB)
# is never installed here: scripts/setup_convert.sh puts it in its own .venv-convert.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-test}
VENV=${VENV:-.venv}
DATA=${DATA:-data}
PY=${PYTHON:-python3}

case "$MODE" in
    demo) extras="" ;;
    test) extras="[test,eval,docs,ray]" ;;
    *) echo "setup: unknown mode '$MODE' (demo or test)" >&2; exit 2 ;;
esac

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }

# 1. System packages: Debian's darknet ships the reference cfgs, coco.names and sample images
#    (the tests' Darknet parity checks use them; the demo does not).
if [ "$MODE" = test ] && [ ! -f /usr/share/darknet/cfg/yolov3.cfg ]; then
    echo "setup: installing Debian package darknet (reference cfgs and sample images)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq darknet >/dev/null
fi

# 2. The sample pedestrian video, taken out of Debian's opencv-doc without installing it.
mkdir -p "$DATA"
if [ ! -s "$DATA/vtest.avi" ]; then
    echo "setup: extracting vtest.avi from Debian package opencv-doc"
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download opencv-doc >/dev/null 2>&1) || {
        as_root apt-get update -qq && (cd "$tmp" && apt-get download opencv-doc >/dev/null 2>&1)
    }
    dpkg-deb --fsys-tarfile "$tmp"/opencv-doc_*.deb \
        | tar -x -C "$tmp" ./usr/share/doc/opencv-doc/examples/data/vtest.avi
    mv "$tmp/usr/share/doc/opencv-doc/examples/data/vtest.avi" "$DATA/vtest.avi.part"
    mv "$DATA/vtest.avi.part" "$DATA/vtest.avi"
    rm -rf "$tmp"
fi

# 3. The virtualenv with the library (editable). The test stamp also satisfies the demo.
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
have() { [ -f "$VENV/.deepsort-setup-$1" ] && [ "$(cat "$VENV/.deepsort-setup-$1")" = "$want" ]; }
if have "$MODE" || { [ "$MODE" = demo ] && have test; }; then
    exit 0
fi
echo "setup: creating $VENV and installing deepsort_lib$extras"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".$extras"
if [ "$MODE" = test ]; then
    # The original Deep SORT as packaged on PyPI, our reference peer. --no-deps: it would pull
    # opencv-python (GUI build) next to our headless OpenCV, and torch for an embedder we never use.
    "$VENV/bin/python" -m pip install -q --no-deps "deep-sort-realtime==1.3.2"
    # TrackEval (HOTA). --no-deps: it declares the GUI opencv-python and pycocotools, while the
    # HOTA metric needs only numpy and scipy.
    "$VENV/bin/python" -m pip install -q --no-deps "trackeval==1.3.0"
    # Ultralytics, for the interop tests only, without its dependencies: they would pull a
    # multi-GB CUDA torch, opencv-python 5 (no HOG) and setuptools >= 81 (no pkg_resources).
    # The CPU torch wheel comes from pip's find-links on our machines (about 0.8 GB).
    "$VENV/bin/python" -m pip install -q --no-deps torch==2.13.0 "torchvision==0.28.*" "ultralytics>=8.3"
fi
echo "$want" > "$VENV/.deepsort-setup-$MODE"
