"""Today's detector families at 640 on the CPU: OnnxDetector vs each family's own runtime.

Both sides run the same random-weight ONNX export (exact architecture, built offline by
Ultralytics from its yaml) on the same vtest frames, one family at a time, in one run:

- ``ours``: :class:`~deepsort_lib.models.onnx_detector.OnnxDetector` ``detect_batch`` (letterbox,
  one onnxruntime pass for the batch, decoding, NMS);
- ``ultralytics``: Ultralytics ``predict`` on the ONNX file (its AutoBackend on onnxruntime,
  its LetterBox and NMS), ``batch`` = the batch size, warmed up first.

Reported per family and batch size (1, 4, 8): ms per call, ms per frame, and the ratio
``ultralytics / ours`` (> 1: we are faster), medians of rounds that alternate between the two
sides. Both use onnxruntime's default threads (one per core).
Results: ``benchmarks/results/detectors.md``.

YOLOv5 and YOLOX have no runtime installed here (neither project is on the package mirror
with its model code), so they are timed on our side only, with their head layouts on a small
backbone (the forward pass is not theirs): their rows show pre/post-processing cost.

Run: ``.venv/bin/python -m pytest benchmarks/test_bench_detectors.py``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from benchmarks.conftest import ResultTable
from deepsort_lib.models.onnx_detector import OnnxDetector

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))
from family_heads import export_head_model  # noqa: E402
from ultralytics_models import export_ultralytics, torchvision_stand_in  # noqa: E402

VTEST = Path(__file__).resolve().parents[1] / "data" / "vtest.avi"
BATCHES = (1, 4, 8)
FAMILIES = {
    "yolov8n": ("yolov8n.yaml", {"dynamic": True}),
    "yolo11n nms=True": ("yolo11n.yaml", {"dynamic": True, "nms": True}),
    "yolo26n end2end": ("yolo26n.yaml", {"dynamic": True, "nms": False}),
    "rtdetr-l": ("rtdetr-l.yaml", {"dynamic": True}),
}
ROUNDS = {"rtdetr-l": 3}


def _frames(count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VTEST))
    frames = []
    for _ in range(count):
        ok, frame = capture.read()
        assert ok, f"cannot read {VTEST}"
        frames.append(frame)
    capture.release()
    return frames


def _interleaved_medians(
    first: Callable[[], Any], second: Callable[[], Any], rounds: int
) -> tuple[float, float]:
    """Median seconds of each, rounds alternating (load from other processes on this shared
    machine then falls on both sides alike); one warm-up call each."""
    first()
    second()
    a, b = [], []
    for _ in range(rounds):
        for run, times in ((first, a), (second, b)):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    return float(np.median(a)), float(np.median(b))


def _median_seconds(run: Callable[[], Any], rounds: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bench_detectors")
    models = {name: export_ultralytics(y, root, **kw) for name, (y, kw) in FAMILIES.items()}
    for kind in ("yolov5", "yolox"):
        models[kind] = export_head_model(kind, root / f"{kind}.onnx", dynamic_batch=True)
    return models


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_against_ultralytics(
    benchmark: Any, exports: dict[str, Path], results: ResultTable, family: str
) -> None:
    from ultralytics import RTDETR, YOLO

    path = exports[family]
    frames = _frames(max(BATCHES))
    ours = OnnxDetector(path)
    with torchvision_stand_in():
        theirs = RTDETR(str(path)) if "rtdetr" in family else YOLO(str(path), task="detect")
        rounds = ROUNDS.get(family, 5)
        for batch in BATCHES:
            chunk = frames[:batch]
            mine, peer = _interleaved_medians(
                lambda c=chunk: ours.detect_batch(c),
                lambda c=chunk, b=batch: theirs.predict(c, batch=b, verbose=False),
                rounds,
            )
            count = sum(len(d) for d in ours.detect_batch(chunk)) / batch
            results.add(
                "detectors",
                family=family,
                batch=batch,
                ours_ms_per_call=mine * 1e3,
                ours_ms_per_frame=mine * 1e3 / batch,
                ultralytics_ms_per_frame=peer * 1e3 / batch,
                ratio_ultralytics_over_ours=peer / mine,
                boxes_per_frame=count,
            )
    benchmark.group = f"{family} batch {BATCHES[-1]}"
    benchmark.pedantic(lambda: ours.detect_batch(frames), rounds=1, iterations=1)


@pytest.mark.parametrize("family", ["yolov5", "yolox"])
def test_heads_ours_only(
    benchmark: Any, exports: dict[str, Path], results: ResultTable, family: str
) -> None:
    frames = _frames(max(BATCHES))
    ours = OnnxDetector(exports[family], score_threshold=0.8)  # ~500 candidates, as in tests
    for batch in BATCHES:
        chunk = frames[:batch]
        mine = _median_seconds(lambda c=chunk: ours.detect_batch(c), 5)
        blob, boxes = ours.preprocess(chunk)
        outputs = ours.forward(blob)
        forward = _median_seconds(lambda b=blob: ours.forward(b), 5)
        pre = _median_seconds(lambda c=chunk: ours.preprocess(c), 5)
        post = _median_seconds(lambda o=outputs, x=boxes: ours.postprocess(o, x), 5)
        results.add(
            "detectors_heads",
            family=f"{family} head (small backbone)",
            batch=batch,
            ours_ms_per_call=mine * 1e3,
            ours_ms_per_frame=mine * 1e3 / batch,
            preprocess_ms_per_frame=pre * 1e3 / batch,
            forward_ms_per_frame=forward * 1e3 / batch,
            postprocess_ms_per_frame=post * 1e3 / batch,
            boxes_per_frame=sum(len(d) for d in ours.postprocess(outputs, boxes)) / batch,
        )
    benchmark.group = f"{family} head batch {BATCHES[-1]}"
    benchmark.pedantic(lambda: ours.detect_batch(frames), rounds=1, iterations=1)
