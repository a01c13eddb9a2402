"""HOG people detector settings on vtest.avi: time per frame and what is found.

vtest.avi has no ground truth, so "found" is the number of boxes per frame and their median
height; its people are about 60-120 px tall and at most about 8 are in view. The default
(``upscale=1.5, scale=1.1``) is compared with OpenCV's usual call (no upscaling,
``scale=1.05``) and two other points.

Run: ``pytest benchmarks/test_bench_hog.py --benchmark-only -s``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from benchmarks.conftest import ResultTable
from deepsort_lib.models.hog import HOGDetector

VTEST = Path(__file__).resolve().parents[1] / "data" / "vtest.avi"
SETTINGS = {
    "opencv-usual": {"upscale": 1.0, "scale": 1.05},
    "default": {"upscale": 1.5, "scale": 1.1},
    "upscale-1.5-fine": {"upscale": 1.5, "scale": 1.05},
    "upscale-2": {"upscale": 2.0, "scale": 1.1},
}


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(VTEST))
    out = []
    for index in range(100):
        ok, frame = capture.read()
        assert ok
        if index % 10 == 0:
            out.append(frame)
    capture.release()
    return out


@pytest.mark.benchmark(group="hog-vtest")
@pytest.mark.parametrize("name", list(SETTINGS))
def test_hog_setting(
    name: str, frames: list[np.ndarray], benchmark: Any, results: ResultTable
) -> None:
    detector = HOGDetector(**SETTINGS[name])

    def run() -> list[Any]:
        return [detector.detect(frame) for frame in frames]

    start = time.perf_counter()
    found = benchmark.pedantic(run, rounds=1, iterations=1)
    per_frame_ms = 1000 * (time.perf_counter() - start) / len(frames)
    counts = [len(d) for d in found]
    heights = np.concatenate([d.tlwh[:, 3] for d in found])
    row = {
        "setting": name,
        **{k: float(v) for k, v in SETTINGS[name].items()},
        "ms_per_frame": per_frame_ms,
        "boxes_per_frame": float(np.mean(counts)),
        "min_boxes": int(min(counts)),
        "median_height_px": float(np.median(heights)) if len(heights) else 0.0,
    }
    results.add("hog_vtest", **row)
    print(f"\n{row}")
    assert all(c >= 0 for c in counts)
