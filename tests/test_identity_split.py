"""ReentryTracker's online appearance-switch split (``split_distance``)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from deepsort_lib import Detections
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.tracking.identity import IdentityMemory
from deepsort_lib.tracking.reentry import ReentryTracker
from deepsort_lib.tracking.track_appearance import TrackAppearance
from tests.fakes import RecordingTracker

D = 32
RNG = np.random.default_rng(5)
LOOKS = RNG.normal(size=(3, D))
LOOKS /= np.linalg.norm(LOOKS, axis=1, keepdims=True)


def _feature(person: int, rng: np.random.Generator, noise: float = 0.3) -> np.ndarray:
    g = LOOKS[person] + noise * rng.normal(size=D) / np.sqrt(D)
    out: np.ndarray = g / np.linalg.norm(g)
    return out


def _frame(items: list[tuple[int, float]], rng: np.random.Generator) -> Detections:
    """Detections of (person, x) pairs, all 40x100 at y = 100."""
    boxes = np.array([[x, 100.0, 40.0, 100.0] for _, x in items]).reshape(-1, 4)
    feats = np.array([_feature(p, rng) for p, _ in items], np.float32).reshape(-1, D)
    return Detections.from_tlwh(boxes, np.ones(len(items)), None, feats)


def _switch_scene(split: float | None) -> dict[str, set[int]]:
    """Person 0 at x=100 for 40 frames; then person 1 in the same box (the inner IoU tracker
    keeps its id: a switch); from frame 80 person 0 again, far away (a new inner track)."""
    rng = np.random.default_rng(0)
    memory = IdentityMemory(retention=500, max_speed=10.0)
    tracker = ReentryTracker(RecordingTracker(), memory, split_distance=split)
    ids: dict[str, set[int]] = {"0 before": set(), "1": set(), "0 after": set()}
    for f in range(120):
        items = [(0 if f < 40 else 1, 100.0)] + ([(0, 500.0)] if f >= 80 else [])
        for t in tracker.update(_frame(items, rng)):
            assert t.detection_index is not None
            person, _ = items[t.detection_index]
            key = "1" if person == 1 else ("0 before" if f < 40 else "0 after")
            if person == 1 and f < 55:
                continue  # the split shows once the recent window holds mostly person 1
            ids[key].add(t.track_id)
    return ids


def test_a_switch_of_the_inner_track_gives_the_new_person_a_new_id() -> None:
    ids = _switch_scene(0.4)
    assert len(ids["0 before"]) == 1 and len(ids["1"]) == 1
    assert ids["1"].isdisjoint(ids["0 before"])
    # The identity the inner track carried is claimable again: person 0 gets it back.
    assert ids["0 after"] == ids["0 before"]


def test_without_split_the_switch_carries_the_identity_onto_the_other_person() -> None:
    ids = _switch_scene(None)
    assert ids["1"] == ids["0 before"]
    assert ids["0 after"].isdisjoint(ids["0 before"])


@pytest.mark.parametrize("noise", [0.2, 0.6, 1.0])
def test_noisy_features_of_one_person_never_split(noise: float) -> None:
    rng = np.random.default_rng(1)
    local = TrackAppearance(0.0, np.zeros(4), 0.0, np.zeros(4), 0, deque(maxlen=10))
    for f in range(500):
        unit = _feature(2, rng, noise).astype(np.float32)
        assert local.observe(float(f), np.zeros(4), 0, unit, 0.4) is None


def test_split_returns_the_earlier_part_and_restarts_where_the_person_changed() -> None:
    rng = np.random.default_rng(2)
    local = TrackAppearance(0.0, np.zeros(4), 0.0, np.zeros(4), 0, deque(maxlen=10))
    part = None
    f = 0
    for f in range(100):
        person = 0 if f < 50 else 1
        box = np.array([f, 0.0, 1.0, 1.0])
        part = local.observe(float(f), box, 0, _feature(person, rng).astype(np.float32), 0.4)
        if part is not None:
            break
    assert part is not None and 50 < f < 60
    # The earlier part looks like person 0; the track now starts at the change (frame 50).
    assert float(part.summary[0] @ LOOKS[0]) > 0.9
    assert part.last_time == local.first_time == 50.0
    assert local.feature_count == f - 49
    assert float(local.summary()[0] @ LOOKS[1]) > 0.9


def test_a_track_mostly_on_its_current_person_keeps_its_identity() -> None:
    # 7 frames of person 0, then person 1: the switch shows only once person 1 fills the
    # recent window and more, so most of the track is person 1: no split, and the track's
    # appearance is person 1's from then on.
    rng = np.random.default_rng(3)
    local = TrackAppearance(0.0, np.zeros(4), 0.0, np.zeros(4), 0, deque(maxlen=10))
    for f in range(60):
        person = 0 if f < 7 else 1
        unit = _feature(person, rng).astype(np.float32)
        assert local.observe(float(f), np.zeros(4), 0, unit, 0.4) is None
    assert local.feature_count == 53
    assert all(float(row @ LOOKS[1]) > 0.9 for row in local.summary())


def test_a_passing_swap_gives_the_track_its_identity_back() -> None:
    # Person 0 for 40 frames, person 1 in the same box for 15 (a crossing), person 0 again:
    # the split gives person 1 another id, and person 0 takes its own id back.
    rng = np.random.default_rng(4)
    tracker = ReentryTracker(RecordingTracker(), IdentityMemory(retention=500), split_distance=0.4)
    ids = []
    for f in range(120):
        person = 1 if 40 <= f < 55 else 0
        (track,) = tracker.update(_frame([(person, 100.0)], rng))
        ids.append(track.track_id)
    first = ids[0]
    assert len(set(ids)) == 2  # one other id, for part of the swap
    assert set(ids[:40]) == {first} and set(ids[-40:]) == {first}
    assert sum(i != first for i in ids) < 30


def test_bad_split_distance_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        ReentryTracker(RecordingTracker(), split_distance=0.0)
    with pytest.raises(ConfigurationError):
        ReentryTracker(RecordingTracker(), split_distance=3.0)


def test_a_track_first_met_while_coasting_starts_where_it_is_seen() -> None:
    # Created from a predicted box at t=5 (its state was dropped while it coasted), first
    # matched at t=9: it starts at 9, so it can continue an identity lost at t=7.
    local = TrackAppearance(5.0, np.zeros(4), 5.0, np.zeros(4), 0, deque(maxlen=10))
    box = np.array([1.0, 2.0, 3.0, 4.0])
    local.observe(9.0, box, 0, LOOKS[0].astype(np.float32))
    assert local.first_time == 9.0 and local.first_tlwh.tolist() == box.tolist()
    local.observe(10.0, box + 1, 0, LOOKS[0].astype(np.float32))
    assert local.first_time == 9.0
