"""The batched tracking core (streams/batched.py): many streams advanced in one pass give, bit
for bit, the tracks and the saved state of independent Trackers, for every preset."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from streams_scenes import walking_scene

from deepsort_lib import Detections, Tracker, TrackerConfig
from deepsort_lib.errors import ConcurrentUseError, InvalidInputError
from deepsort_lib.streams import MultiStreamTracker, StreamFrame, batched_matching
from deepsort_lib.streams import batched as batched_module
from deepsort_lib.streams.batched import can_batch
from deepsort_lib.streams.batched_matching import BatchMatches, appearance_margin
from deepsort_lib.tracking.config import PRESETS
from deepsort_lib.tracking.track import Track
from tests.core_state import state_of

#: Every preset, plus settings that reach the other code paths (flat gallery, tentative
#: output, position-only gate, one-frame confirmation, classes kept apart or not).
SETTINGS: dict[str, dict[str, Any]] = {
    **{name: {"preset": name} for name in PRESETS},
    "flat-gallery": {"preset": "original", "nn_budget": None},
    "tentative-out": {"preset": "original", "return_tentative": True, "n_init": 2},
    "position-gate": {"preset": "strongsort", "gating_only_position": True, "n_init": 1},
    "short-memory": {"preset": "botsort", "max_age": 4, "match_classes": False},
}


def _tracker(name: str) -> Tracker:
    options = dict(SETTINGS[name])
    return Tracker.from_preset(options.pop("preset"), **options)


def _everything(tracks: Sequence[Track]) -> list[tuple[Any, ...]]:
    """Every field of every track, arrays as bytes."""
    return [
        (
            t.track_id,
            t.tlwh.tobytes(),
            t.detection_tlwh.tobytes(),
            t.class_id,
            t.confidence,
            int(t.state),
            t.hits,
            t.age,
            t.time_since_update,
            t.detection_index,
            None if t.mean is None else t.mean.tobytes(),
            None if t.covariance is None else t.covariance.tobytes(),
        )
        for t in tracks
    ]


def _scenes(count: int, frames: int) -> list[list[Detections]]:
    """Differing scenes: crowd size, turnover, classes, no features, zero-feature rows."""
    scenes = []
    rng = np.random.default_rng(7)
    for i in range(count):
        scene = walking_scene(
            seed=100 + i, n_frames=frames, n_ids=3 + 4 * (i % 4), mean_life=25 + 10 * (i % 3)
        )
        if i % 5 == 3:  # two classes
            scene = [Detections(d.tlwh, d.scores, np.arange(len(d)) % 2, d.features) for d in scene]
        if i % 7 == 4:  # no appearance at all
            scene = [d.with_features(None) for d in scene]
        elif i % 6 == 5:  # some detections without appearance (all-zero rows)
            out = []
            for d in scene:
                feats = np.array(d.features)
                feats[rng.uniform(size=len(d)) < 0.2] = 0.0
                out.append(d.with_features(feats))
            scene = out
        scenes.append(scene)
    return scenes


class _Spy:
    """Counts the streams the batched matcher resolved itself and those it handed back, and
    the sub-problems it gave the exact solver (a real choice between pairs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.resolved = self.handed_back = self.solved = 0
        real = batched_module.match_streams
        for name in ("min_cost_matching", "matching_cascade"):
            solver = getattr(batched_matching, name)

            def counted(*args: Any, _solver: Any = solver) -> Any:
                self.solved += 1
                return _solver(*args)

            monkeypatch.setattr(batched_matching, name, counted)

        def spy(batch: Any, *args: Any) -> BatchMatches:
            result = real(batch, *args)
            self.resolved += batch.n_streams - result.handed_back
            self.handed_back += result.handed_back
            return result

        monkeypatch.setattr(batched_module, "match_streams", spy)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_batched_core_equals_independent_trackers(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = _Spy(monkeypatch)
    n_streams, n_frames = 12, 90
    scenes = _scenes(n_streams, n_frames)
    options = dict(SETTINGS[name])
    mst = MultiStreamTracker(preset=options.pop("preset"), **options)
    alone: dict[int, Tracker] = {}
    rng = np.random.default_rng(len(name))
    compared = 0
    for f in range(n_frames):
        batch = []
        expected: dict[int, list[tuple[Any, ...]]] = {}
        for s in range(n_streams):
            joins = 5 * (s % 4)  # streams join at different frames
            if f < joins or (s % 4 == 1 and f % 3 == 1):  # late, or skipping frames
                continue
            if s == 2 and f == 60:  # removed mid-run, back later as a fresh stream
                mst.remove_stream(s)
                del alone[s]
                continue
            reset = s % 5 == 0 and f == 45
            motion = None
            if s % 4 == 2 and f % 2 == 0:  # a panning camera on some frames
                motion = np.array([[1.0, 0.001, rng.normal(0, 3)], [0.0, 1.0, rng.normal(0, 2)]])
            dets = scenes[s][f - joins]
            batch.append(StreamFrame(s, f, dets, reset=reset, camera_motion=motion))
            ref = alone.setdefault(s, _tracker(name))
            if reset:
                ref.reset()
            expected[s] = _everything(ref.update(dets, camera_motion=motion))
        out = mst.update(batch)
        assert {s: _everything(v) for s, v in out.items()} == expected, f
        compared += sum(len(v) for v in expected.values())
    assert compared > 2000
    # The saved state of every stream is the lone tracker's, byte for byte.
    for s, ref in alone.items():
        assert state_of(mst.tracker(s).state_dict()) == state_of(ref.state_dict()), s
    # Every way through the matcher was taken: resolved in the batch (most streams), solved
    # in the batch on the lone matrix, handed back to the stream's own matcher.
    assert spy.resolved > spy.handed_back > 0
    assert spy.solved > 0


@pytest.mark.parametrize("batched", [True, False])
def test_bad_input_for_one_stream_moves_no_stream(batched: bool) -> None:
    scenes = _scenes(6, 12)
    mst = MultiStreamTracker(preset="recommended", batched=batched)
    for f in range(10):
        mst.update([StreamFrame(s, f, scenes[s][f]) for s in range(6)])
    before = state_of(mst.state_dict())
    good = [StreamFrame(s, 10, scenes[s][10]) for s in range(5)]
    wrong_dim = Detections.from_tlwh([[5, 5, 20, 40]], features=np.ones((1, 3)))
    too_many = Detections.from_tlwh(np.tile([[5.0, 5, 20, 40]], (2001, 1)))
    for bad in (
        StreamFrame(5, 10, wrong_dim),
        StreamFrame(5, 10, too_many),
        StreamFrame(5, 10, scenes[5][10], camera_motion=np.ones((3, 3))),
        # Finite but absurd maps (a zoom of 1e160 overflowed the states once the streams
        # before it had moved): refused with the input.
        StreamFrame(5, 10, scenes[5][10], camera_motion=[[1e160, 0, 0], [0, 1e160, 0]]),
        StreamFrame(5, 10, scenes[5][10], camera_motion=[[1, 0, 1e300], [0, 1, 0]]),
        StreamFrame(5, 9, scenes[5][10]),
    ):
        with pytest.raises(InvalidInputError):
            mst.update([*good, bad])
        assert state_of(mst.state_dict()) == before
    # A restored tracker's feature length is checked too, before any stream moves.
    restored = Tracker.from_state(mst.tracker(0).state_dict())
    mst.add_stream("restored", tracker=restored)
    before = state_of(mst.state_dict())
    with pytest.raises(InvalidInputError, match="dimension"):
        mst.update([*good, StreamFrame("restored", 1, wrong_dim)])
    assert state_of(mst.state_dict()) == before


def test_batched_and_one_by_one_agree_and_unbatchable_trackers_run_alone() -> None:
    scenes = _scenes(8, 40)
    batched = MultiStreamTracker()
    looped = MultiStreamTracker(batched=False)
    for mst in (batched, looped):
        mst.add_stream("filterpy", kalman_backend="filterpy")
    assert not can_batch(batched.tracker("filterpy"))
    assert can_batch(batched.tracker("filterpy").__class__())
    for f in range(40):
        batch = [StreamFrame(s, f, scenes[s][f]) for s in range(8)]
        batch.append(StreamFrame("filterpy", f, scenes[0][f]))
        a, b = batched.update(batch), looped.update(batch)
        assert {k: _everything(v) for k, v in a.items()} == {
            k: _everything(v) for k, v in b.items()
        }
    # The filterpy stream gives the same tracks as the numpy stream on the same scene (to
    # 1e-9, as the two filters agree), through its own update.
    assert [t.track_id for t in a["filterpy"]] == [t.track_id for t in a[0]]


def test_appearance_margin_covers_float32_rounding() -> None:
    rng = np.random.default_rng(0)
    for dim in (16, 128, 512):
        x = rng.normal(size=(2000, dim)).astype(np.float32)
        y = rng.normal(size=(2000, dim)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        y /= np.linalg.norm(y, axis=1, keepdims=True)
        exact = np.einsum("md,md->m", x.astype(np.float64), y.astype(np.float64))
        pairwise = np.einsum("md,md->m", x, y)
        gemm = np.diag(x[:50] @ y[:50].T)
        assert np.abs(pairwise - exact).max() < appearance_margin(dim) / 2
        assert np.abs(gemm - exact[:50]).max() < appearance_margin(dim) / 2


def test_a_tracker_held_elsewhere_is_a_concurrent_use_error() -> None:
    scenes = _scenes(3, 3)
    mst = MultiStreamTracker()
    mst.update([StreamFrame(s, 0, scenes[s][0]) for s in range(3)])
    with mst.tracker(1).exclusive(), pytest.raises(ConcurrentUseError):
        mst.update([StreamFrame(s, 1, scenes[s][1]) for s in range(3)])
    # Released again: the next batch goes through.
    out = mst.update([StreamFrame(s, 2, scenes[s][2]) for s in range(3)])
    assert list(out) == [0, 1, 2]


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_random_settings_equal_independent_trackers(seed: int) -> None:
    """Random settings (every option the engine reads), crowds, classes, empty frames and
    streams absent from some batches: tracks and saved states equal lone Trackers'."""
    rng = np.random.default_rng(seed)
    pick = rng.choice
    config = TrackerConfig(
        max_cosine_distance=float(pick([0.1, 0.2, 0.45, 0.9])),
        nn_budget=[None, 1, 5, 100, 300][rng.integers(5)],
        max_iou_distance=float(pick([0.3, 0.7, 1.0])),
        max_age=int(rng.integers(1, 40)),
        n_init=int(rng.integers(1, 4)),
        gating_only_position=bool(rng.integers(2)),
        gating_threshold=[None, 2.0, 50.0][rng.integers(3)],
        return_tentative=bool(rng.integers(2)),
        output_max_misses=int(rng.integers(0, 4)),
        match_classes=bool(rng.integers(2)),
        appearance=["gallery", "ema"][rng.integers(2)],
        nsa_kalman=bool(rng.integers(2)),
        matching=["cascade", "global"][rng.integers(2)],
        measurement=["xyah", "xywh"][rng.integers(2)],
        high_score_threshold=[None, 0.5, 0.7][rng.integers(3)],
        freeze_lost_size=bool(rng.integers(2)),
        adaptive_coasting=bool(rng.integers(2)),
    )
    n_streams, n_frames = 5, 40
    scenes = []
    for _ in range(n_streams):
        scene = walking_scene(
            seed=int(rng.integers(10**6)),
            n_frames=n_frames,
            n_ids=int(rng.integers(1, 20)),
            false_positives=float(rng.uniform(0, 3)),
            miss_rate=float(rng.uniform(0, 0.4)),
        )
        if rng.uniform() < 0.3:
            scene = [
                Detections(d.tlwh, d.scores, rng.integers(0, 3, len(d)), d.features) for d in scene
            ]
        if rng.uniform() < 0.2:
            scene = [d.with_features(None) for d in scene]
        scenes.append([Detections.empty() if rng.uniform() < 0.1 else d for d in scene])
    mst = MultiStreamTracker(config)
    alone = [Tracker(config) for _ in range(n_streams)]
    for f in range(n_frames):
        batch = [StreamFrame(s, f, scenes[s][f]) for s in range(n_streams) if rng.uniform() < 0.9]
        out = mst.update(batch)
        for entry in batch:
            expected = _everything(alone[entry.stream_id].update(entry.detections))
            assert _everything(out[entry.stream_id]) == expected, (f, entry.stream_id, config)
    for s, ref in enumerate(alone):
        if s in mst:
            assert state_of(mst.tracker(s).state_dict()) == state_of(ref.state_dict()), s
