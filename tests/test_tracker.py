from collections import Counter
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
from tests.core_state import state_of


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
    tracker = Tracker(n_init=1, max_age=5, output_max_misses=0)
    tracker.update(frame(100))
    for _ in range(5):
        assert tracker.update([]) == []
        assert len(tracker) == 1
    tracker.update([])
    assert len(tracker) == 0


@pytest.mark.parametrize("with_features", [True, False])
def test_track_missed_exactly_max_age_frames_gets_a_new_id(with_features: bool) -> None:
    # The original's cascade has depth max_age: a track missed max_age frames in a row is
    # not matched on the next one (it is deleted) and the detection starts a new track.
    def dets(x: float) -> Detections:
        return frame(x, features=np.array([[1.0, 0.0]], np.float32) if with_features else None)

    for misses, expected in ((4, 1), (5, 2)):
        tracker = Tracker(n_init=1, max_age=5)
        tracker.update(dets(100))
        for _ in range(misses):
            tracker.update(Detections.empty())
        assert [t.track_id for t in tracker.update(dets(100))] == [expected], misses


def test_default_output_rule_is_deep_sort_app() -> None:
    # Confirmed tracks missed for one frame are still reported, at their predicted box.
    tracker = Tracker(n_init=1)
    assert tracker.config.output_max_misses == 1
    tracker.update(frame(100))
    missed = tracker.update([])
    assert [(t.track_id, t.time_since_update, t.detection_index) for t in missed] == [(1, 1, None)]
    assert tracker.update([]) == []
    paper = Tracker(n_init=1, output_max_misses=0)
    paper.update(frame(100))
    assert paper.update([]) == []


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
            if t.detection_index is not None:
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


def _state(tracker: Tracker) -> Any:
    return state_of(tracker)


def _assert_same_state(a: Any, b: Any) -> None:
    assert a == b


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Detections.from_tlwh([box(100)], features=np.ones((1, 3))),  # wrong feature dim
        lambda: Detections.from_tlwh([[0, 0, np.nan, 10]]),
        lambda: Detections.from_tlwh([[0, 0, -5, 10]]),
        lambda: Detections.from_tlwh([[0, 0, 10]]),
        lambda: [Detection([0, 0, 1, 1]), "not a detection"],
        lambda: Detections.from_tlwh([["a", "b", "c", "d"]]),
        lambda: np.array([[100, 50, 140, 150, 0.9, 0]]),  # raw rows, box format unstated
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
    # The class-2 box overlaps track 1 almost perfectly, yet starts its own track.
    assert [(t.track_id, t.class_id) for t in out] == [(1, 1), (2, 2)]
    assert out[0].detection_index is None and out[1].detection_index == 0
    assert {t.track_id: t.time_since_update for t in tracker.tracks} == {1: 1, 2: 0}


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
    owners: dict[int, Counter[int]] = {}
    for fr in scenario.frames():
        for t in tracker.update(fr.detections):
            if t.detection_index is not None:
                target = int(fr.target_ids[t.detection_index])
                owners.setdefault(t.track_id, Counter())[target] += 1
    # Every identity follows one target and never a false positive (target -1)...
    assert all(len(c) == 1 and -1 not in c for c in owners.values()), owners
    # ...every target is tracked, and bursts of misses split a target at most a few times.
    assert {next(iter(c)) for c in owners.values()} == set(range(8))
    assert len(owners) <= 12


def test_zero_feature_rows_mean_no_appearance() -> None:
    tracker = Tracker(n_init=1)
    f = np.array([[1.0, 0.0]], dtype=np.float32)
    tracker.update(frame(100, features=f))
    # A zero row cannot match on appearance, but the IoU stage still takes it.
    out = tracker.update(frame(101, features=np.zeros((1, 2), np.float32)))
    assert [t.track_id for t in out] == [1]


def test_raw_rows_need_their_box_format() -> None:
    with pytest.raises(InvalidInputError, match="from_xyxy"):
        Tracker().update(np.array([[100, 50, 140, 150, 0.9, 0]]))
    out = Tracker(n_init=1).update(np.array([[100, 50, 140, 150, 0.9, 0]]), box_format="xyxy")
    np.testing.assert_allclose(out[0].tlwh, [100, 50, 40, 100])
    out = Tracker(n_init=1).update(np.array([[100, 50, 140, 150, 0.9, 0]]), box_format="tlwh")
    np.testing.assert_allclose(out[0].tlwh, [100, 50, 140, 150])


def test_classes_never_mix_by_default() -> None:
    # A "person" (0) track is not taken over by a "car" (2) box at the same place.
    tracker = Tracker(n_init=1)
    assert tracker.config.match_classes
    person = tracker.update(Detections.from_tlwh([box(100)], class_ids=[0]))[0]
    out = tracker.update(Detections.from_tlwh([box(101)], class_ids=[2]))
    by_id = {t.track_id: t.class_id for t in out}
    assert by_id == {person.track_id: 0, person.track_id + 1: 2}
    legacy = Tracker(n_init=1, match_classes=False)
    legacy.update(Detections.from_tlwh([box(100)], class_ids=[0]))
    assert [
        (t.track_id, t.class_id)
        for t in legacy.update(Detections.from_tlwh([box(101)], class_ids=[2]))
    ] == [(1, 2)]
