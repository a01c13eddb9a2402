"""Saving and restoring a ReentryTracker and its IdentityMemory (tracking/reentry_state.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deepsort_lib import Detections, Tracker
from deepsort_lib.errors import ConfigurationError, StateError
from deepsort_lib.io.state import load_state, save_state
from deepsort_lib.tracking.identity import IdentityMemory, LostIdentity
from deepsort_lib.tracking.reentry import ReentryTracker
from deepsort_lib.tracking.reentry_state import memory_state, restore_memory
from tests.fakes import RecordingTracker

D = 16


def _scene(frames: int = 160, people: int = 5) -> list[Detections]:
    """People walking right; person i is away for frames [20 + 12 i, 60 + 12 i) and comes
    back 150 px further on; one swap-like crossing where two of them meet."""
    rng = np.random.default_rng(7)
    looks = rng.normal(size=(people, D))
    out = []
    for f in range(frames):
        boxes, feats = [], []
        for i in range(people):
            if 20 + 12 * i <= f < 60 + 12 * i:
                continue
            x = 30.0 + 120 * i + 1.5 * f + (150.0 if f >= 60 + 12 * i else 0.0)
            boxes.append([x, 100.0 + 40 * (i % 2), 40.0, 100.0])
            g = looks[i] + 0.3 * rng.normal(size=D) / np.sqrt(D)
            feats.append(g / np.linalg.norm(g))
        out.append(
            Detections.from_tlwh(
                np.array(boxes).reshape(-1, 4),
                np.full(len(boxes), 0.9),
                None,
                np.array(feats, np.float32).reshape(-1, D),
            )
        )
    return out


def _wrapper() -> ReentryTracker:
    memory = IdentityMemory(retention=200, max_speed=10.0)
    return ReentryTracker(Tracker(max_age=10, n_init=2), memory, camera="cam", fps=None)


def _rows(tracks: list[Any]) -> list[tuple[Any, ...]]:
    return [(t.track_id, t.local_id, t.reidentified, t.camera, t.tlwh.tobytes()) for t in tracks]


def test_a_restored_wrapper_continues_bit_identically(tmp_path: Path) -> None:
    frames = _scene()
    cut = 70  # three people are away, one has just come back
    live = _wrapper()
    for dets in frames[:cut]:
        live.update(dets)
    assert len(live.memory) > 0  # the saved state holds lost identities
    path = save_state(tmp_path / "reentry.npz", live.state_dict())
    restored = ReentryTracker.from_state(load_state(path))
    assert restored.memory.next_id == live.memory.next_id
    recovered = 0
    for dets in frames[cut:]:
        expected, got = live.update(dets), restored.update(dets)
        assert _rows(got) == _rows(expected)
        recovered += sum(t.reidentified for t in got)
    assert recovered > 0  # identities lost before the cut came back after it


def test_a_memory_round_trip_keeps_entries_settings_and_numbering() -> None:
    memory = IdentityMemory(retention=50, capacity=7, max_speed=0.5, min_transit=3.0)
    for _ in range(4):
        memory.new_id()
    rng = np.random.default_rng(0)
    memory.add(LostIdentity(2, "a", 0, 10.0, np.array([1.0, 2, 3, 4]), rng.random((2, D))))
    memory.add(LostIdentity(3, "b", 1, 12.5, np.array([5.0, 6, 7, 8]), rng.random((1, D))))
    copy = restore_memory(memory_state(memory))
    assert (copy.retention, copy.capacity, copy.max_speed, copy.min_transit) == (50, 7, 0.5, 3)
    for a, b in zip(memory.entries, copy.entries, strict=True):
        assert (a.global_id, a.camera, a.class_id, a.last_time) == (
            b.global_id,
            b.camera,
            b.class_id,
            b.last_time,
        )
        np.testing.assert_array_equal(a.last_tlwh, b.last_tlwh)
        np.testing.assert_array_equal(np.asarray(a.summary, np.float32), b.summary)
    assert copy.new_id() == memory.new_id() == 5
    empty = restore_memory(memory_state(IdentityMemory()))
    assert len(empty) == 0 and empty.new_id() == 1


def test_a_shared_memory_can_be_given_on_restore() -> None:
    live = _wrapper()
    for dets in _scene()[:40]:
        live.update(dets)
    shared = IdentityMemory()
    assert ReentryTracker.from_state(live.state_dict(), memory=shared).memory is shared


def test_foreign_or_corrupt_states_are_state_errors() -> None:
    live = _wrapper()
    for dets in _scene()[:40]:
        live.update(dets)
    state = live.state_dict()
    with pytest.raises(StateError, match=r"deepsort_lib\.reentry"):
        ReentryTracker.from_state(state["tracker"])
    broken = memory_state(live.memory)
    broken["entries"]["summary_rows"] = broken["entries"]["summary_rows"] + 1
    with pytest.raises(StateError, match="summary rows"):
        restore_memory(broken)
    with pytest.raises(StateError, match="corrupt"):
        ReentryTracker.from_state({**state, "recent": 0})


def test_an_inner_tracker_without_state_cannot_be_saved() -> None:
    with pytest.raises(ConfigurationError, match="RecordingTracker has no state_dict"):
        ReentryTracker(RecordingTracker()).state_dict()


def test_a_track_waiting_to_ask_again_keeps_its_mark_and_older_states_load(
    tmp_path: Path,
) -> None:
    live = _wrapper()
    for dets in _scene()[:30]:
        live.update(dets)
    lid = next(iter(live._locals))
    live._locals[lid].reask_at = 3  # refused while a camera pair warmed up
    state = live.state_dict()
    path = save_state(tmp_path / "reentry.npz", state)
    assert ReentryTracker.from_state(load_state(path))._locals[lid].reask_at == 3
    for track in state["tracks"]:
        del track["reask_at"]  # saved before tracks could ask again
    assert ReentryTracker.from_state(state)._locals[lid].reask_at is None
