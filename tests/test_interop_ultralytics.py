"""Ultralytics ``Results`` / ``Boxes`` in, against the real ultralytics package.

The objects are the package's own classes built from tensors (no model download): what
``model(frame)[0]`` returns. ultralytics is installed --no-deps with the CPU torch wheel in the
test environment (its own requirements would replace the headless OpenCV 4 with OpenCV 5).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ultralytics.engine.results import Boxes, Results

from deepsort_lib import InvalidInputError, Tracker
from deepsort_lib.interop import from_ultralytics

IMAGE = np.zeros((480, 640, 3), dtype=np.uint8)
NAMES = {0: "person", 2: "car"}
ROWS = torch.tensor(
    [[10.0, 20.0, 50.0, 120.0, 0.9, 0.0], [300.0, 200.0, 420.0, 260.0, 0.6, 2.0]],
)


def test_results_and_boxes_give_the_same_detections() -> None:
    results = Results(IMAGE, path="frame.jpg", names=NAMES, boxes=ROWS)
    for source in (results, results.boxes, [results]):
        dets = from_ultralytics(source)
        np.testing.assert_allclose(dets.xyxy, ROWS[:, :4].numpy())
        np.testing.assert_allclose(dets.scores, ROWS[:, 4].numpy(), rtol=1e-6)
        assert dets.class_ids.tolist() == [0, 2]


def test_tracked_boxes_with_ids_read_the_same() -> None:
    # Results of model.track() carry a 7th column (track id) before conf and cls.
    with_ids = torch.tensor([[10.0, 20.0, 50.0, 120.0, 7.0, 0.9, 0.0]])
    boxes = Boxes(with_ids, orig_shape=IMAGE.shape[:2])
    assert boxes.is_track
    dets = from_ultralytics(boxes)
    assert dets.class_ids.tolist() == [0] and dets.scores[0] == pytest.approx(0.9)


def test_empty_results_and_features() -> None:
    empty = Results(IMAGE, path="x.jpg", names=NAMES, boxes=torch.zeros((0, 6)))
    assert len(from_ultralytics(empty)) == 0
    assert from_ultralytics(empty, features=np.zeros((0, 8))).feature_dim == 8
    dets = from_ultralytics(Boxes(ROWS, IMAGE.shape[:2]), features=np.ones((2, 8)))
    assert dets.feature_dim == 8


def test_results_without_boxes_and_batches_are_errors() -> None:
    classification = Results(IMAGE, path="x.jpg", names=NAMES)  # .boxes is None
    with pytest.raises(InvalidInputError, match="no axis-aligned boxes"):
        from_ultralytics(classification)
    results = Results(IMAGE, path="x.jpg", names=NAMES, boxes=ROWS)
    with pytest.raises(InvalidInputError, match="2 Ultralytics results"):
        from_ultralytics([results, results])
    with pytest.raises(InvalidInputError, match="Results or Boxes"):
        from_ultralytics(object())


def test_tracking_from_ultralytics_results() -> None:
    tracker = Tracker(n_init=2)
    out = []
    for step in range(4):
        rows = ROWS.clone()
        rows[:, [0, 2]] += 4.0 * step
        out = tracker.update(from_ultralytics(Results(IMAGE, "f.jpg", NAMES, boxes=rows)))
    assert sorted(t.class_id for t in out) == [0, 2]
    assert {t.track_id for t in out} == {1, 2}
