"""A tiny stand-in tracker for pipeline tests that must not depend on the real tracker's
behaviour (greedy IoU matching, no Kalman filter): it records what the pipeline calls."""

from __future__ import annotations

import numpy as np

from deepsort_lib.boxes import Detections, iou_matrix
from deepsort_lib.tracking.track import Track, TrackState


class RecordingTracker:
    """Greedy IoU tracker that logs ``update`` / ``predict`` calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.seen: list[Detections] = []
        self._boxes = np.zeros((0, 4))
        self._ids: list[int] = []
        self._next = 1

    def _track(self, tid: int, box: np.ndarray, index: int | None) -> Track:
        return Track(
            tid,
            box,
            box,
            0,
            1.0,
            TrackState.CONFIRMED,
            1,
            1,
            0 if index is not None else 1,
            index,
            np.zeros(8),
            np.eye(8),
        )

    def update(self, detections: Detections) -> list[Track]:
        self.calls.append("update")
        self.seen.append(detections)
        iou = iou_matrix(detections.tlwh, self._boxes)
        ids = []
        used: set[int] = set()
        for row in range(len(detections)):
            col = int(np.argmax(iou[row])) if iou.shape[1] else -1
            if col >= 0 and iou[row, col] > 0.3 and col not in used:
                used.add(col)
                ids.append(self._ids[col])
            else:
                ids.append(self._next)
                self._next += 1
        self._boxes, self._ids = detections.tlwh.copy(), ids
        return [self._track(t, b, i) for i, (t, b) in enumerate(zip(ids, self._boxes, strict=True))]

    def predict(self) -> list[Track]:
        self.calls.append("predict")
        return [self._track(t, b, None) for t, b in zip(self._ids, self._boxes, strict=True)]
