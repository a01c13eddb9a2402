"""The zero-download HOG people detector."""

from __future__ import annotations

import numpy as np
import pytest

from deepsort_lib.boxes import iou_matrix
from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.models.hog import HOGDetector, suppress_overlaps
from deepsort_lib.protocols import Detector


def test_is_a_detector() -> None:
    assert isinstance(HOGDetector(), Detector)


def test_finds_the_people_in_vtest(vtest_frames: list[np.ndarray]) -> None:
    detector = HOGDetector()
    counts = []
    for frame in vtest_frames[::5]:
        dets = detector.detect(frame)
        counts.append(len(dets))
        if len(dets):
            assert np.all((dets.scores > 0.5) & (dets.scores < 1))  # logistic of margin >= 0
            assert np.all(dets.class_ids == 0)
            # people in vtest are roughly 60-120 px tall once the context margin is trimmed
            assert np.all((dets.tlwh[:, 3] > 50) & (dets.tlwh[:, 3] < 200))
            assert np.all(dets.tlwh[:, 3] > dets.tlwh[:, 2])  # upright boxes
            xyxy = dets.xyxy
            assert (
                np.all(xyxy[:, :2] >= 0) and np.all(xyxy[:, 2] <= 768) and np.all(xyxy[:, 3] <= 576)
            )
            iou = iou_matrix(dets.tlwh, dets.tlwh)
            np.fill_diagonal(iou, 0)
            assert iou.max() < 0.65
    assert min(counts) >= 2 and sum(counts) >= 8


@pytest.mark.slow
def test_upscaling_finds_smaller_people(vtest_frames: list[np.ndarray]) -> None:
    native = HOGDetector(upscale=1.0)
    upscaled = HOGDetector(upscale=1.5)
    frames = vtest_frames[:10:3]
    n_native = sum(len(native.detect(f)) for f in frames)
    n_up = sum(len(upscaled.detect(f)) for f in frames)
    assert n_up > n_native


def test_blank_frame_has_no_detections() -> None:
    dets = HOGDetector().detect(np.zeros((256, 256, 3), np.uint8))
    assert len(dets) == 0 and dets.tlwh.shape == (0, 4)


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((64, 64), np.uint8),
        np.zeros((64, 64, 3), np.float32),
        [[0]],
        np.zeros((0, 5, 3), np.uint8),
    ],
)
def test_bad_frames_are_rejected(frame: object) -> None:
    with pytest.raises(InvalidInputError):
        HOGDetector().detect(frame)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"upscale": 0},
        {"scale": 1.0},
        {"win_stride": (4, 8)},
        {"max_overlap": 0},
        {"padding": (-1, 0)},
        {"group_threshold": -1},
    ],
)
def test_bad_parameters(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError):
        HOGDetector(**kwargs)


def test_suppression_drops_contained_and_overlapping_boxes() -> None:
    tlwh = np.array(
        [
            [0, 0, 40, 80],  # best
            [10, 10, 15, 30],  # inside the best: IoU small, overlap of the smaller box = 1
            [100, 0, 40, 80],  # far away
            [102, 2, 40, 80],  # nearly the same as the previous, lower score
        ],
        dtype=np.float64,
    )
    scores = np.array([0.9, 0.95, 0.8, 0.7])
    keep = suppress_overlaps(tlwh, scores, 0.65)
    assert keep.tolist() == [1, 2]  # the small box scores higher and wins over its container
    assert iou_matrix(tlwh[:1], tlwh[1:2])[0, 0] < 0.2  # plain IoU NMS would have kept both
    assert suppress_overlaps(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []
