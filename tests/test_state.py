"""Tracker state save/restore: bit-identical continuation, in this process and another."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deepsort_lib import Detections, Tracker
from deepsort_lib.errors import ConfigurationError, SourceError, StateError
from deepsort_lib.io.state import load_state, save_state
from deepsort_lib.streams import MultiStreamTracker, StreamFrame
from deepsort_lib.testing.synthetic import CrowdScenario
from deepsort_lib.tracking.track import Track
from tests.core_state import state_of

ROOT = Path(__file__).resolve().parent.parent
FRAMES = 70

# Every appearance store and the adaptive coasting statistics are covered by these settings.
SETTINGS: dict[str, dict[str, Any]] = {
    "original": {"preset": "original"},
    "recommended": {"preset": "recommended"},
    "strongsort": {"preset": "strongsort"},
    "botsort": {"preset": "botsort"},
    "flat-gallery": {"preset": "original", "nn_budget": None},
    "tentative-out": {"preset": "original", "return_tentative": True, "n_init": 2},
}


def _make(name: str) -> Tracker:
    options = dict(SETTINGS[name])
    return Tracker.from_preset(options.pop("preset"), **options)


def _frames(seed: int = 3, targets: int = 12) -> list[Detections]:
    scenario = CrowdScenario(
        num_targets=targets, num_frames=FRAMES, seed=seed, burst_probability=0.03
    )
    return [f.detections for f in scenario.frames()]


def _signature(tracks: list[Track]) -> list[tuple[Any, ...]]:
    return [
        (t.track_id, t.tlwh.tobytes(), int(t.state), t.hits, t.age, t.time_since_update)
        for t in tracks
    ]


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_restored_tracker_continues_bit_identically(name: str, tmp_path: Path) -> None:
    frames = _frames()
    stop = int(np.random.default_rng(len(name)).integers(5, FRAMES - 5))
    whole, first = _make(name), _make(name)
    expected = [_signature(whole.update(d)) for d in frames]
    for d in frames[:stop]:
        first.update(d)
    path = save_state(tmp_path / "state.npz", first.state_dict())
    resumed = Tracker.from_state(load_state(path))
    assert state_of(resumed) == state_of(first)
    got = [_signature(resumed.update(d)) for d in frames[stop:]]
    assert got == expected[stop:]
    assert state_of(resumed) == state_of(whole)
    assert len(whole) > 0 and any(expected[stop:])  # the comparison was not vacuous


_CHILD = textwrap.dedent(
    """
    import pickle, sys
    from deepsort_lib import Tracker
    from deepsort_lib.io.state import load_state
    from deepsort_lib.streams import MultiStreamTracker
    state_file, frames_file, out_file, kind = sys.argv[1:5]
    frames = pickle.load(open(frames_file, "rb"))
    state = load_state(state_file)
    if kind == "single":
        tracker = Tracker.from_state(state)
        out = [[(t.track_id, t.tlwh.tobytes()) for t in tracker.update(d)] for d in frames]
    else:
        tracker = MultiStreamTracker.from_state(state)
        out = []
        for batch in frames:
            result = tracker.update(batch)
            out.append({k: [(t.track_id, t.tlwh.tobytes()) for t in v] for k, v in result.items()})
    pickle.dump(out, open(out_file, "wb"))
    """
)


def _in_child(tmp_path: Path, state: dict[str, Any], frames: list[Any], kind: str) -> Any:
    import pickle

    state_file = save_state(tmp_path / f"{kind}.npz", state)
    frames_file, out_file = tmp_path / f"{kind}.frames", tmp_path / f"{kind}.out"
    frames_file.write_bytes(pickle.dumps(frames))
    subprocess.run(
        [sys.executable, "-c", _CHILD, str(state_file), str(frames_file), str(out_file), kind],
        check=True,
        cwd=ROOT,
    )
    return pickle.loads(out_file.read_bytes())


@pytest.mark.slow
def test_restored_in_another_process(tmp_path: Path) -> None:
    frames = _frames(seed=5)
    whole, first = Tracker.from_preset("recommended"), Tracker.from_preset("recommended")
    expected = [[(t.track_id, t.tlwh.tobytes()) for t in whole.update(d)] for d in frames]
    for d in frames[:33]:
        first.update(d)
    assert _in_child(tmp_path, first.state_dict(), frames[33:], "single") == expected[33:]


def _batches() -> list[list[StreamFrame]]:
    a, b, c = _frames(seed=1, targets=6), _frames(seed=2, targets=9), _frames(seed=4, targets=4)
    batches = []
    for i in range(FRAMES):
        batch = [StreamFrame("cam-a", i, a[i])]
        if i % 3:  # stream (2, "b") skips every third frame
            batch.append(StreamFrame((2, "b"), i, b[i]))
        if 10 <= i < 50:  # a stream that starts late and ends early
            batch.append(StreamFrame(7, float(i) / 25.0, c[i], reset=(i == 30)))
        batches.append(batch)
    return batches


def _sig(out: dict[Any, list[Track]]) -> dict[Any, list[tuple[int, bytes]]]:
    return {k: [(t.track_id, t.tlwh.tobytes()) for t in v] for k, v in out.items()}


def _multistream_run(stop: int) -> tuple[MultiStreamTracker, list[Any], list[Any]]:
    """A multi-stream tracker after ``stop`` batches, the batches and the uninterrupted output."""
    batches = _batches()
    whole = MultiStreamTracker(preset="recommended", global_ids=True)
    first = MultiStreamTracker(preset="recommended", global_ids=True)
    first.add_stream("cam-a", preset="original")
    whole.add_stream("cam-a", preset="original")
    expected = [_sig(whole.update(batch)) for batch in batches]
    for batch in batches[:stop]:
        first.update(batch)
    return first, batches, expected


def test_multistream_state_round_trip(tmp_path: Path) -> None:
    stop = 40
    first, batches, expected = _multistream_run(stop)
    path = save_state(tmp_path / "m.npz", first.state_dict())
    resumed = MultiStreamTracker.from_state(load_state(path))
    assert resumed.stream_ids == ["cam-a", (2, "b"), 7]
    assert resumed.tracker("cam-a").config == first.tracker("cam-a").config
    assert resumed.last_frame_index(7) == first.last_frame_index(7)
    assert state_of(resumed) == state_of(first)
    assert [_sig(resumed.update(batch)) for batch in batches[stop:]] == expected[stop:]


@pytest.mark.slow
def test_multistream_restored_in_another_process(tmp_path: Path) -> None:
    stop = 25
    first, batches, expected = _multistream_run(stop)
    assert _in_child(tmp_path, first.state_dict(), batches[stop:], "multi") == expected[stop:]


def test_unsaveable_stream_id_is_a_clear_error() -> None:
    class Camera:  # hashable, but not plain data
        pass

    mst = MultiStreamTracker()
    mst.add_stream(Camera())
    with pytest.raises(StateError, match="cannot be saved"):
        mst.state_dict()


def _saved(tmp_path: Path) -> tuple[Tracker, Path]:
    tracker = Tracker()
    for d in _frames()[:20]:
        tracker.update(d)
    return tracker, save_state(tmp_path / "s.npz", tracker.state_dict())


def test_bad_states_are_refused_and_change_nothing(tmp_path: Path) -> None:
    tracker, path = _saved(tmp_path)
    state = load_state(path)
    target = Tracker()
    target.update(_frames(seed=9)[0])
    before = state_of(target)
    newer = {**state, "version": 99}
    with pytest.raises(StateError, match="version 99 is not supported"):
        target.load_state_dict(newer)
    with pytest.raises(StateError, match=r"not a deepsort_lib\.tracker state"):
        target.load_state_dict({**state, "format": "something.else"})
    with pytest.raises(StateError, match="max_age"):
        Tracker(max_age=5).load_state_dict(state)
    short = {**state, "table": {**state["table"], "hits": state["table"]["hits"][:-1]}}
    with pytest.raises(StateError, match="rows"):
        target.load_state_dict(short)
    no_appearance = {**state, "appearance": {**state["appearance"], "type": "EmaAppearance"}}
    with pytest.raises(StateError, match="EmaAppearance"):
        target.load_state_dict(no_appearance)
    with pytest.raises(StateError, match="lacks 'next_id'"):
        target.load_state_dict({k: v for k, v in state.items() if k != "next_id"})
    with pytest.raises(StateError):
        MultiStreamTracker.from_state(state)  # a single tracker's state
    assert state_of(target) == before
    target.load_state_dict(state)  # the good one still loads
    assert state_of(target) == state_of(tracker)


def test_corrupt_files_are_state_errors(tmp_path: Path) -> None:
    _, path = _saved(tmp_path)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    plain = tmp_path / "plain.npz"
    np.savez(plain, x=np.arange(3))
    for bad in (truncated, garbage, plain):
        with pytest.raises(StateError):
            load_state(bad)
    with pytest.raises(SourceError, match="does not exist"):
        load_state(tmp_path / "missing.npz")


def test_save_is_atomic_and_refuses_objects(tmp_path: Path) -> None:
    _, path = _saved(tmp_path)
    good = path.read_bytes()
    with pytest.raises(StateError, match="Python objects"):
        save_state(path, {"format": "x", "bad": np.array([object()], dtype=object)})
    with pytest.raises(StateError, match="cannot be saved"):
        save_state(path, {"format": "x", "bad": {1, 2}})
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npz"]  # no temporary left
    roundtrip = load_state(save_state(tmp_path / "t.npz", {"t": (1, "a"), "f": [0.1, np.inf]}))
    assert roundtrip == {"t": (1, "a"), "f": [0.1, np.inf]}


def test_custom_appearance_model_without_state_is_a_configuration_error() -> None:
    class Plain:  # the AppearanceModel protocol, no state methods
        dim = None

        def add_tracks(self, features: Any, count: int) -> None: ...
        def update(self, rows: Any, features: Any) -> None: ...
        def keep(self, mask: Any) -> None: ...
        def distance(self, rows: Any, features: Any, pairs: Any = None) -> Any: ...
        def clear(self) -> None: ...

    with pytest.raises(ConfigurationError, match="cannot be saved"):
        Tracker(appearance_model=Plain()).state_dict()
