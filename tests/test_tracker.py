import copy
from typing import Any

import numpy as np
import pytest

from deepsort_lib import (
    ConfigurationError,
    Detection,
    Detections,
    InvalidInputError,
    Track,
    Tracker,
    TrackerConfig,
    TrackState,
)
from deepsort_lib.testing.synthetic import CrowdScenario


def box(x: float, y: float = 100.0, w: float = 40.0, h: float = 100.0) -> list[float]:
    return [x, y, w, h]


def frame(*xs: float, features: np.ndarray | None = None) -> Detections:
    return Detections.from_tlwh([box(x) for x in xs], features=features)


def test_track_is_confirmed_after_n_init_hits() -> None:
    tracker = Tracker(n_init=3)
    assert tracker.update(frame(100)) == []
    assert tracker.update(frame(102)) == []
    out = tracker.update(frame(104))
    assert [t.track_id for t in out] == [1]
    t = out[0]
    assert t.state is TrackState.CONFIRMED and t.hits == 3 and t.age == 3
    assert t.time_since_update == 0 and t.detection_index == 0


def test_tentative_track_deleted_on_first_miss() -> None:
    tracker = Tracker(n_init=3)
    tracker.update(frame(100))
    tracker.update(frame(102))
    tracker.update(Detections.empty())
    assert len(tracker) == 0
    out = tracker.update(frame(104))
    assert out == [] and tracker.tracks[0].track_id == 2  # a new id, never reused


def test_confirmed_track_survives_max_age_misses_then_dies() -> None:
    tracker = Tracker(n_init=1, max_age=5)
    tracker.update(frame(100))
    for _ in range(5):
        assert tracker.update([]) == []
        assert len(tracker) == 1
    tracker.update([])
    assert len(tracker) == 0


def test_return_tentative_and_output_max_misses() -> None:
    tracker = Tracker(return_tentative=True)
    out = tracker.update(frame(100))
    assert len(out) == 1 and out[0].is_tentative
    t2 = Tracker(n_init=1, output_max_misses=1)
    t2.update(frame(100))
    missed = t2.update([])
    assert len(missed) == 1 and missed[0].time_since_update == 1
    assert missed[0].detection_index is None
    assert t2.update([]) == []


def test_track_carries_detection_box_class_and_score() -> None:
    tracker = Tracker(n_init=1)
    dets = Detections.from_tlwh([box(500), box(100)], scores=[0.7, 0.9], class_ids=[2, 5])
    out = {t.detection_index: t for t in tracker.update(dets)}
    assert out[0].class_id == 2 and out[0].confidence == pytest.approx(0.7)
    np.testing.assert_allclose(out[1].detection_tlwh, box(100))
    np.testing.assert_allclose(out[1].tlwh, box(100))  # a new track's state is its detection
    # detection_index follows the input order, whatever the track order is.
    dets2 = Detections.from_tlwh([box(102), box(502)], class_ids=[5, 2])
    out2 = tracker.update(dets2)
    by_id = {t.track_id: t.detection_index for t in out2}
    assert by_id == {out[1].track_id: 0, out[0].track_id: 1}


def test_ids_follow_targets_through_a_crossing_with_appearance() -> None:
    tracker = Tracker(n_init=1)
    a, b = np.eye(2, dtype=np.float32)
    ids_a, ids_b = set(), set()
    for step in range(30):
        xa, xb = 100 + 10 * step, 400 - 10 * step
        dets = Detections.from_tlwh([box(xa), box(xb)], features=np.stack([a, b]))
        for t in tracker.update(dets):
            (ids_a if t.detection_index == 0 else ids_b).add(t.track_id)
    assert len(ids_a) == 1 and len(ids_b) == 1 and ids_a != ids_b


def test_motion_only_tracking_keeps_ids() -> None:
    scenario = CrowdScenario(
        num_targets=5,
        num_frames=60,
        feature_dim=0,
        speed=3,
        seed=2,
        false_positives_per_frame=0,
        burst_probability=0,
    )
    tracker = Tracker()
    owner: dict[int, set[int]] = {}
    for fr in scenario.frames():
        assert fr.detections.features is None
        for t in tracker.update(fr.detections):
            owner.setdefault(t.track_id, set()).add(int(fr.target_ids[t.detection_index]))
    assert owner and all(len(v) == 1 for v in owner.values())


def test_predict_only_step_moves_tracks_without_counting_misses() -> None:
    tracker = Tracker(n_init=1)
    for step in range(5):
        tracker.update(frame(100 + 10 * step))
    before = tracker.tracks[0]
    predicted = tracker.predict()
    assert len(predicted) == 1
    p = predicted[0]
    assert p.time_since_update == 0 and p.age == before.age + 1
    assert p.tlwh[0] > before.tlwh[0] + 5  # moved with its velocity
    assert p.detection_index is None
    out = tracker.update(frame(100 + 10 * 6))
    assert [t.track_id for t in out] == [before.track_id]


def _state(tracker: Tracker) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in vars(tracker).items() if k != "kalman"})


def _assert_same_state(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        va, vb = a[key], b[key]
        if isinstance(va, np.ndarray):
            np.testing.assert_array_equal(va, vb)
        elif hasattr(va, "__dict__"):
            _assert_same_state(vars(va), vars(vb))
        else:
            assert va == vb, key


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Detections.from_tlwh([box(100)], features=np.ones((1, 3))),  # wrong feature dim
        lambda: np.array([[0, 0, np.nan, 10]]),
        lambda: np.array([[0, 0, -5, 10]]),
        lambda: np.array([[0, 0, 10]]),
        lambda: [Detection([0, 0, 1, 1]), "not a detection"],
        lambda: np.array([["a", "b", "c", "d"]]),
    ],
)
def test_rejected_update_leaves_tracker_unchanged(bad: Any) -> None:
    feats = np.eye(4, dtype=np.float32)[:2]
    tracker, twin = Tracker(n_init=1), Tracker(n_init=1)
    for t in (tracker, twin):
        t.update(Detections.from_tlwh([box(100), box(300)], features=feats))
    before = _state(tracker)
    with pytest.raises(InvalidInputError):
        tracker.update(bad())
    _assert_same_state(before, _state(tracker))
    nxt = Detections.from_tlwh([box(104), box(304)], features=feats)
    got = [(t.track_id, tuple(t.tlwh)) for t in tracker.update(nxt)]
    want = [(t.track_id, tuple(t.tlwh)) for t in twin.update(nxt)]
    assert got == want


def test_rejected_camera_motion_leaves_tracker_unchanged() -> None:
    tracker = Tracker(n_init=1)
    tracker.update(frame(100))
    before = _state(tracker)
    with pytest.raises(InvalidInputError):
        tracker.update(frame(100), camera_motion=np.eye(3))
    _assert_same_state(before, _state(tracker))


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        Tracker(max_age=0)
    with pytest.raises(ConfigurationError):
        Tracker(not_an_option=1)
    with pytest.raises(ConfigurationError):
        Tracker.from_preset("nope")
    with pytest.raises(ConfigurationError):
        TrackerConfig(high_score_threshold=0.1, low_score_threshold=0.5)
    assert isinstance(ConfigurationError("x"), ValueError)


def test_reset_forgets_tracks_but_not_ids() -> None:
    tracker = Tracker(n_init=1)
    tracker.update(frame(100, 300))
    tracker.reset()
    assert len(tracker) == 0
    out = tracker.update(frame(100))
    assert out[0].track_id == 3


def test_match_classes_keeps_classes_apart() -> None:
    tracker = Tracker(n_init=1, match_classes=True)
    tracker.update(Detections.from_tlwh([box(100)], class_ids=[1]))
    out = tracker.update(Detections.from_tlwh([box(101)], class_ids=[2]))
    assert out == [] or out[0].track_id != 1
    assert {t.track_id for t in tracker.tracks} == {1, 2}


def test_filterpy_backend_gives_the_same_tracks() -> None:
    scenario = CrowdScenario(num_targets=6, num_frames=80, feature_dim=16, seed=5)
    fast, ref = Tracker(), Tracker(kalman_backend="filterpy")
    for fr in scenario.frames():
        a = [(t.track_id, t.detection_index) for t in fast.update(fr.detections)]
        b = [(t.track_id, t.detection_index) for t in ref.update(fr.detections)]
        assert a == b
    for ta, tb in zip(fast.tracks, ref.tracks, strict=True):
        np.testing.assert_allclose(ta.mean, tb.mean, rtol=1e-9)


def test_track_repr_and_xyxy() -> None:
    t = Tracker(n_init=1).update(frame(100))[0]
    assert isinstance(t, Track) and "id=1" in repr(t)
    np.testing.assert_allclose(t.xyxy, [100, 100, 140, 200])


@pytest.mark.parametrize("preset", ["original", "strongsort", "botsort"])
def test_presets_track_a_crowd(preset: str) -> None:
    scenario = CrowdScenario(num_targets=8, num_frames=60, seed=11)
    tracker = Tracker.from_preset(preset)
    ids = set()
    for fr in scenario.frames():
        ids |= {t.track_id for t in tracker.update(fr.detections)}
    assert 8 <= len(ids) <= 30


def test_zero_feature_rows_mean_no_appearance() -> None:
    tracker = Tracker(n_init=1)
    f = np.array([[1.0, 0.0]], dtype=np.float32)
    tracker.update(frame(100, features=f))
    # A zero row cannot match on appearance, but the IoU stage still takes it.
    out = tracker.update(frame(101, features=np.zeros((1, 2), np.float32)))
    assert [t.track_id for t in out] == [1]
