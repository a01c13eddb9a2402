"""Reliability of Tracker.update on hostile input (issue 15): rejected calls change nothing."""

from __future__ import annotations

import copy
import threading
from typing import Any

import numpy as np
import pytest

from deepsort_lib import (
    ConcurrentUseError,
    CostContext,
    Detections,
    InvalidInputError,
    Tracker,
)
from deepsort_lib.testing.synthetic import CrowdScenario
from tests.core_state import state_of


def _box(x: float) -> list[float]:
    return [x, 100.0, 40.0, 100.0]


def _run(stream: list[Detections], **options: Any) -> list[list[tuple[int, Any, Any]]]:
    tracker = Tracker(**options)
    return [
        [(t.track_id, t.detection_index, tuple(np.round(t.tlwh, 6))) for t in tracker.update(d)]
        for d in stream
    ]


def test_zero_feature_row_picks_up_a_track_that_missed_a_frame() -> None:
    look = np.array([[1.0, 0.0]], np.float32)
    for tail in (None, np.zeros((1, 2), np.float32)):
        tracker = Tracker(n_init=1)
        tracker.update(Detections.from_tlwh([_box(100)], features=look))
        tracker.update(Detections.from_tlwh([_box(102)], features=look))
        tracker.update(Detections.empty(2))
        out = tracker.update(Detections.from_tlwh([_box(106)], features=tail))
        assert [t.track_id for t in out] == [1], tail


@pytest.mark.parametrize("preset", ["original", "strongsort", "botsort"])
def test_all_zero_features_behave_exactly_like_none(preset: str) -> None:
    frames = [f.detections for f in CrowdScenario(num_targets=6, num_frames=80, seed=4).frames()]
    none = [d.with_features(None) for d in frames]
    zero = [d.with_features(np.zeros((len(d), 8), np.float32)) for d in frames]
    opts = {"n_init": 3} if preset == "original" else {}
    tracker_a, tracker_b = Tracker.from_preset(preset, **opts), Tracker.from_preset(preset)
    for a, b in zip(none, zero, strict=True):
        got_a = [(t.track_id, t.detection_index) for t in tracker_a.update(a)]
        got_b = [(t.track_id, t.detection_index) for t in tracker_b.update(b)]
        assert got_a == got_b


def test_zero_rows_mixed_with_features_fall_back_to_motion_for_those_rows() -> None:
    frames = list(CrowdScenario(num_targets=6, num_frames=80, seed=4, feature_dim=8).frames())
    rng = np.random.default_rng(0)
    ids: dict[int, set[int]] = {}
    tracker = Tracker()
    for fr in frames:
        feats = np.array(fr.detections.features)
        feats[rng.random(len(feats)) < 0.3] = 0.0
        for t in tracker.update(fr.detections.with_features(feats)):
            if t.detection_index is not None:
                ids.setdefault(t.track_id, set()).add(int(fr.target_ids[t.detection_index]))
    assert all(len(v) == 1 for v in ids.values())
    assert len(ids) <= 9  # 6 targets, a few splits at most


def _tracked() -> Tracker:
    tracker = Tracker(n_init=1)
    feats = np.eye(4, dtype=np.float32)[:2]
    tracker.update(Detections.from_tlwh([_box(100), _box(300)], features=feats))
    tracker.update(Detections.from_tlwh([_box(102), _box(302)], features=feats))
    return tracker


BAD_INPUTS = {
    "feature 1e39 (inf in float32)": lambda: Detections.from_tlwh(
        [_box(104), _box(304)], features=np.array([[1e39, 0, 0, 0], [0, 1, 0, 0]])
    ),
    "feature value beyond 1e15": lambda: Detections.from_tlwh(
        [_box(104)], features=np.full((1, 4), 1e16)
    ),
    "class id 1e30": lambda: Detections.from_tlwh([_box(104)], class_ids=[1e30]),
    "class id uint64 max": lambda: Detections.from_tlwh(
        [_box(104)], class_ids=np.array([2**64 - 1], dtype=np.uint64)
    ),
    "box height 1e154": lambda: Detections.from_tlwh([[104, 100, 40, 1e154]]),
    "box x 1e300": lambda: Detections.from_tlwh([[1e300, 100, 40, 100]]),
    "complex boxes": lambda: Detections.from_tlwh(np.array([[104, 100, 40, 100 + 1j]])),
    "complex features": lambda: Detections.from_tlwh(
        [_box(104)], features=np.array([[1, 0, 0, 1j]])
    ),
    "complex scores": lambda: Detections.from_tlwh([_box(104)], scores=[0.5 + 0.5j]),
    "complex class ids": lambda: Detections.from_tlwh([_box(104)], class_ids=[1 + 1j]),
    "string boxes": lambda: Detections.from_tlwh(np.array([["104", "100", "40", "100"]])),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_out_of_range_input_is_rejected_and_changes_nothing(name: str) -> None:
    tracker, twin = _tracked(), _tracked()
    before = state_of(tracker)
    with pytest.raises(InvalidInputError):
        tracker.update(BAD_INPUTS[name]())
    assert state_of(tracker) == before
    good = Detections.from_tlwh([_box(104), _box(304)], features=np.eye(4, dtype=np.float32)[:2])
    assert [t.track_id for t in tracker.update(good)] == [t.track_id for t in twin.update(good)]


def test_large_but_sane_values_are_accepted() -> None:
    dets = Detections.from_tlwh(
        [[-5e7, 1e7, 1e5, 2e5]], class_ids=[2**52], features=[[1e14, 0, 0, 1.0]]
    )
    out = Tracker(n_init=1).update(dets)
    assert out[0].class_id == 2**52 and np.all(np.isfinite(out[0].covariance))


def test_more_than_max_detections_is_refused_before_any_change() -> None:
    tracker = _tracked()
    before = state_of(tracker)
    rng = np.random.default_rng(0)
    many = Detections.from_tlwh(
        np.column_stack([rng.uniform(0, 5000, (2001, 2)), np.full((2001, 2), 20.0)])
    )
    with pytest.raises(InvalidInputError, match="max_detections=2000"):
        tracker.update(many)
    assert state_of(tracker) == before
    assert len(Tracker(max_detections=3000).update(many)) == 0  # allowed when raised


class _Blocking:
    """A cost that parks the first update inside the tracker until released."""

    max_distance = 1.0

    def __init__(self) -> None:
        self.inside = threading.Event()
        self.release = threading.Event()

    def __call__(self, context: CostContext) -> np.ndarray:
        self.inside.set()
        assert self.release.wait(10)
        return np.zeros((len(context.track_ids), len(context.detection_tlwh)))


@pytest.mark.parametrize("call", ["update", "predict", "reset"])
def test_second_thread_gets_a_clear_error_and_changes_nothing(call: str) -> None:
    cost = _Blocking()
    tracker = Tracker(n_init=1, association_cost=cost)
    tracker.update(Detections.from_tlwh([_box(100)]))
    worker = threading.Thread(target=tracker.update, args=(Detections.from_tlwh([_box(102)]),))
    worker.start()
    assert cost.inside.wait(10)
    before = state_of(tracker)
    try:
        with pytest.raises(ConcurrentUseError, match="another thread"):
            if call == "update":
                tracker.update(Detections.from_tlwh([_box(500)]))
            else:
                getattr(tracker, call)()
        assert state_of(tracker) == before
    finally:
        cost.release.set()
        worker.join(10)
    assert [t.track_id for t in tracker.tracks] == [1]
    assert tracker.tracks[0].time_since_update == 0  # the first thread's update completed


def test_tracker_copies_and_pickles_with_its_own_lock() -> None:
    import pickle

    tracker = _tracked()
    for twin in (copy.deepcopy(tracker), pickle.loads(pickle.dumps(tracker))):
        good = Detections.from_tlwh(
            [_box(104), _box(304)], features=np.eye(4, dtype=np.float32)[:2]
        )
        assert [t.track_id for t in twin.update(good)] == [1, 2]
        assert twin._lock is not tracker._lock


def test_sparse_gating_and_iou_equal_the_dense_ones() -> None:
    from deepsort_lib.boxes import iou_matrix, iou_pairs, overlapping_pairs, tlwh_to_xyah
    from deepsort_lib.tracking.kalman import BoxKalmanModel

    rng = np.random.default_rng(5)
    a = np.column_stack([rng.uniform(0, 3000, (400, 2)), rng.uniform(10, 120, (400, 2))])
    b = np.column_stack([rng.uniform(0, 3000, (500, 2)), rng.uniform(10, 120, (500, 2))])
    i, j = overlapping_pairs(a, b, 10**9)  # type: ignore[misc]
    dense = iou_matrix(a, b)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == set(
        zip(*np.nonzero(dense > 0), strict=True)
    )
    np.testing.assert_array_equal(iou_pairs(a[i], b[j]), dense[i, j])
    model = BoxKalmanModel()
    means, covs = model.initiate(tlwh_to_xyah(a))
    means, covs = model.predict(means, covs)
    near = a[rng.integers(0, 400, 500)] + rng.normal(0, 3, (500, 4)) * [1, 1, 0.1, 0.1]
    meas = tlwh_to_xyah(near)
    full = model.gating_distance(means, covs, meas)
    sparse = model.gating_distance(means, covs, meas, threshold=9.4877)
    inside = full <= 9.4877
    assert inside.any()
    np.testing.assert_array_equal(sparse <= 9.4877, inside)
    np.testing.assert_allclose(sparse[inside], full[inside], rtol=1e-12)


def test_a_frame_of_max_detections_stays_bounded() -> None:
    import tracemalloc

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 20000, (2000, 2))
    tracker = Tracker(n_init=1)
    for shift in range(2):
        dets = Detections.from_tlwh(np.column_stack([xy + shift, np.full((2000, 2), 30.0)]))
        tracemalloc.start()
        tracker.update(dets)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 150 * 2**20, peak  # dense T x N x 4 gating alone would be 256 MB
    assert len(tracker) == 2000 and tracker._next_id == 2001  # every box kept its track
