"""Does the zero-download ClassicEncoder help the tracker over motion only? A rendered crowd.

The lead's seeded synthetic crowd (``deepsort_lib.testing.synthetic``: crossing targets, missed
detections, bursts of misses, false positives) is rendered as images: each target is a
crude pedestrian (head, shirt, trousers) in its own clothes colours on a textured
background, drawn far-to-near so people occlude each other. The same detections are tracked
motion-only and with ClassicEncoder features computed on the rendered frames; motmetrics
scores both against the ground truth. This is a best case for colour features (clothes are
uniformly coloured and lighting is constant), so read the gain as an upper bound.

Run: ``python -m pytest benchmarks/test_bench_classic_accuracy.py --benchmark-only -s``.
"""

from __future__ import annotations

from typing import Any

import cv2
import motmetrics as mm
import numpy as np
import pytest

from deepsort_lib.boxes import iou_matrix
from deepsort_lib.models.classic import ClassicEncoder
from deepsort_lib.testing.synthetic import CrowdScenario
from deepsort_lib.tracking.tracker import Tracker

SCENARIO = CrowdScenario(
    num_targets=14, num_frames=250, feature_dim=0, frame_size=(960, 540), speed=3.0, seed=4
)


def _render(true_tlwh: np.ndarray, clothes: np.ndarray, background: np.ndarray) -> np.ndarray:
    frame = background.copy()
    for k in np.argsort(true_tlwh[:, 1] + true_tlwh[:, 3]):  # far (higher up) first
        x, y, w, h = (int(v) for v in np.round(true_tlwh[k]))
        shirt, trousers = (tuple(int(c) for c in clothes[k, i]) for i in range(2))
        cv2.ellipse(frame, (x + w // 2, y + h // 10), (max(w // 4, 1), max(h // 10, 1)), 0, 0,
                    360, (120, 150, 200), -1)  # fmt: skip
        cv2.rectangle(frame, (x, y + h // 5), (x + w, y + h // 2), shirt, -1)
        cv2.rectangle(frame, (x + w // 8, y + h // 2), (x + w - w // 8, y + h), trousers, -1)
    return frame


def _score(encoder: ClassicEncoder | None, max_cosine_distance: float) -> dict[str, float]:
    rng = np.random.default_rng(0)
    clothes = rng.integers(0, 256, (SCENARIO.num_targets, 2, 3))
    width, height = SCENARIO.frame_size
    background = np.clip(rng.normal((90, 110, 100), 12, (height, width, 3)), 0, 255)
    background = cv2.GaussianBlur(background.astype(np.uint8), (5, 5), 0)
    tracker = Tracker(max_cosine_distance=max_cosine_distance)
    acc = mm.MOTAccumulator(auto_id=True)
    for frame in SCENARIO.frames():
        dets = frame.detections
        if encoder is not None:
            image = _render(frame.true_tlwh, clothes, background)
            dets = dets.with_features(encoder.encode(image, dets.tlwh))
        tracks = tracker.update(dets)
        hyp = np.array([t.tlwh for t in tracks]).reshape(-1, 4)
        # motmetrics' own iou_matrix uses np.asfarray, gone in NumPy 2: same rule, our IoU.
        dist = 1.0 - iou_matrix(frame.true_tlwh, hyp)
        dist[dist > 0.5] = np.nan
        acc.update(list(range(SCENARIO.num_targets)), [t.track_id for t in tracks], dist)
    summary = mm.metrics.create().compute(
        acc, metrics=["idf1", "mota", "num_switches", "num_fragmentations"]
    )
    return {k: float(v) for k, v in summary.iloc[0].items()}


@pytest.mark.benchmark(group="classic-accuracy")
@pytest.mark.parametrize(
    ("features", "max_cosine_distance"),
    [("motion-only", 0.2), ("classic", 0.2), ("classic", 0.1), ("classic", 0.3)],
)
def test_classic_vs_motion_only(benchmark: Any, features: str, max_cosine_distance: float) -> None:
    encoder = ClassicEncoder() if features == "classic" else None
    result = benchmark.pedantic(
        _score, args=(encoder, max_cosine_distance), rounds=1, iterations=1
    )
    benchmark.extra_info.update(
        {"features": features, "max_cosine_distance": max_cosine_distance}
        | {k: round(v, 4) for k, v in result.items()}
    )
    print(features, max_cosine_distance, {k: round(v, 4) for k, v in result.items()})
