"""SharedIdentityStreams: one identity memory for the streams of a MultiStreamTracker."""

from __future__ import annotations

import numpy as np
import pytest

from deepsort_lib import Detections
from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.streams import MultiStreamTracker, StreamFrame
from deepsort_lib.streams.identity import SharedIdentityStreams
from deepsort_lib.tracking.identity import IdentityMemory

D = 64
LOOKS = np.random.default_rng(0).normal(size=(4, D))


def _dets(people: list[tuple[int, float]], rng: np.random.Generator) -> Detections:
    """One 50x150 box per (person, x); features: the person's look plus noise."""
    boxes = [[x, 100.0, x + 50.0, 250.0] for _, x in people]
    feats = [LOOKS[p] + 0.3 * rng.normal(size=D) / np.sqrt(D) for p, _ in people]
    return Detections.from_xyxy(
        np.array(boxes).reshape(-1, 4),
        np.full(len(people), 0.9),
        features=np.array(feats).reshape(-1, D),
    )


def _two_cameras(min_transit: float, frames: int = 400) -> dict[str, set[int]]:
    """Person 0 in camera a for the first 2 s, in camera b from 10 s on (25 fps); person 1
    in camera b throughout. Returns the global ids each (camera, person) got."""
    rng = np.random.default_rng(1)
    shared = SharedIdentityStreams(
        MultiStreamTracker(),
        IdentityMemory(retention=60.0, min_transit=min_transit),
        fps=25.0,
    )
    ids: dict[str, set[int]] = {"a0": set(), "b0": set(), "b1": set()}
    for f in range(frames):
        t = f / 25.0
        a = [(0, 100.0 + f)] if t < 2.0 else []
        b = [(1, 400.0)] + ([(0, 300.0 - (f - 250))] if t > 10.0 else [])
        out = shared.update([("a", f, _dets(a, rng)), ("b", f, _dets(b, rng))])
        for cam, people in (("a", a), ("b", b)):
            for tr in out[cam]:
                assert tr.camera == cam
                if tr.detection_index is not None:
                    ids[f"{cam}{people[tr.detection_index][0]}"].add(tr.track_id)
    return ids


def test_the_same_person_in_another_camera_after_min_transit_keeps_one_global_id() -> None:
    ids = _two_cameras(min_transit=5.0)
    assert len(ids["a0"]) == 1 and ids["b0"] == ids["a0"]
    assert ids["b1"].isdisjoint(ids["a0"])


def test_before_min_transit_another_camera_does_not_continue_the_identity() -> None:
    ids = _two_cameras(min_transit=20.0)  # the 8 s transit is too short
    assert len(ids["a0"]) == 1 and ids["b0"] and ids["b0"].isdisjoint(ids["a0"])


def _batches(n: int) -> list[list[StreamFrame]]:
    rng = np.random.default_rng(3)
    out = []
    for f in range(n):
        a = [(0, 50.0 + 2 * f), (1, 400.0)] if f < 60 or f > 90 else [(1, 400.0)]
        b = [(2, 600.0 - f)] + ([(3, 100.0)] if f % 50 < 40 else [])
        out.append([StreamFrame("a", f, _dets(a, rng)), StreamFrame("b", f, _dets(b, rng))])
    return out


def test_local_ids_and_boxes_are_those_of_a_plain_multi_stream_tracker() -> None:
    plain = MultiStreamTracker()
    # A fixed threshold no pair can meet, nothing reachable and no splits: nothing is ever
    # re-identified (the scene's features are exact copies: distance 0 meets threshold 0).
    memory = IdentityMemory(
        max_cosine_distance=0.0,
        calibrate=False,
        max_speed=0.0,
        position_slack=0.0,
        min_transit=1e9,
    )
    shared = SharedIdentityStreams(MultiStreamTracker(), memory, split_distance=None)
    pairs: dict[int, tuple[str, int]] = {}
    for batch in _batches(150):
        want = plain.update(batch)
        got = shared.update(batch)
        assert set(want) == set(got)
        for sid in want:
            assert [t.track_id for t in want[sid]] == [t.local_id for t in got[sid]]
            assert [t.tlwh.tolist() for t in want[sid]] == [t.tlwh.tolist() for t in got[sid]]
            for t in got[sid]:
                assert not t.reidentified
                assert pairs.setdefault(t.track_id, (str(sid), t.local_id)) == (sid, t.local_id)
    # One global id per (stream, local id) and vice versa.
    assert len(set(pairs.values())) == len(pairs) > 4


def test_float_timestamps_are_the_clock_and_fps_divides_frame_numbers() -> None:
    dets = _dets([(0, 10.0)], np.random.default_rng(0))
    seconds = SharedIdentityStreams(MultiStreamTracker(n_init=1))
    seconds.update([("a", 2.5, dets)])
    assert seconds.reentry("a").now == 1.0  # the wrapper's own frame clock...
    assert seconds.reentry("a")._locals[1].first_time == 2.5  # ...but the memory sees 2.5 s
    frames = SharedIdentityStreams(MultiStreamTracker(n_init=1), fps=10.0)
    frames.update([("a", 25, dets)])
    assert frames.reentry("a")._locals[1].first_time == 2.5


def test_bad_configuration_and_batches_change_nothing() -> None:
    with pytest.raises(ConfigurationError):
        SharedIdentityStreams(MultiStreamTracker(global_ids=True))
    with pytest.raises(ConfigurationError):
        SharedIdentityStreams(fps=0.0)
    with pytest.raises(ConfigurationError):
        SharedIdentityStreams(split_distance=-1.0)
    shared = SharedIdentityStreams(MultiStreamTracker(n_init=1))
    dets = _dets([(0, 10.0)], np.random.default_rng(0))
    shared.update([(1, 1, dets)])
    with pytest.raises(InvalidInputError):  # 1 and "1" would both be camera "1"
        shared.update([(1, 2, dets), ("1", 2, dets)])
    with pytest.raises(InvalidInputError):  # frame numbers must increase
        shared.update([(1, 1, dets)])
    assert shared.streams.last_frame_index(1) == 1 and list(shared) == [1]
    with pytest.raises(InvalidInputError):
        shared.update([(1, 2)])  # type: ignore[list-item]
    shared.remove_stream(1)
    assert len(shared) == 0
    with pytest.raises(ConfigurationError):
        shared.reentry(1)
