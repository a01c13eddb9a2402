"""MultiStreamTracker: N streams give exactly the tracks of N independent Trackers."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pytest
from streams_scenes import walking_scene

from deepsort_lib import Detections, Tracker, TrackerConfig
from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.streams import GlobalIdAllocator, MultiStreamTracker, StreamFrame
from deepsort_lib.tracking.track import Track

Row = tuple[int, tuple[float, ...], int, float, int | None]


def _rows(tracks: Sequence[Track]) -> list[Row]:
    """Everything a track reports, bit for bit (ids, boxes, class, score, detection row)."""
    return [
        (t.track_id, tuple(t.tlwh.tolist()), t.class_id, t.confidence, t.detection_index)
        for t in tracks
    ]


def _total_tracks(out: dict[Hashable, list[Track]]) -> int:
    return sum(len(v) for v in out.values())


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["original", "strongsort", "botsort"])
def test_n_streams_equal_n_independent_trackers(preset: str) -> None:
    scenes = {f"cam{i}": walking_scene(seed=i, n_frames=120) for i in range(4)}
    mst = MultiStreamTracker(preset=preset)
    alone = {sid: Tracker.from_preset(preset) for sid in scenes}
    total = 0
    for f in range(120):
        out = mst.update([StreamFrame(sid, f + 1, frames[f]) for sid, frames in scenes.items()])
        assert list(out) == list(scenes)
        for sid, frames in scenes.items():
            assert _rows(out[sid]) == _rows(alone[sid].update(frames[f])), (sid, f)
        total += _total_tracks(out)
    assert total > 500  # the scenes do produce tracks to compare


def test_per_stream_configs_and_tuple_entries() -> None:
    scenes = [walking_scene(seed=10 + i, n_frames=80) for i in range(3)]
    mst = MultiStreamTracker(auto_add=False)
    mst.add_stream(0)
    mst.add_stream(1, preset="strongsort", max_age=5)
    mst.add_stream(2, TrackerConfig(n_init=1), nn_budget=10)
    alone = [
        Tracker(),
        Tracker.from_preset("strongsort", max_age=5),
        Tracker(n_init=1, nn_budget=10),
    ]
    assert mst.tracker(1).config.max_age == 5 and mst.tracker(2).config.nn_budget == 10
    for f in range(80):
        # Tuples with separate features, as (stream, index, detections, features).
        batch = [(i, f, s[f].with_features(None), s[f].features) for i, s in enumerate(scenes)]
        out = mst.update(batch)
        for i in range(3):
            assert _rows(out[i]) == _rows(alone[i].update(scenes[i][f])), (i, f)


def test_streams_added_removed_reset_and_skipping_mid_run() -> None:
    n = 150
    a, b, c = (walking_scene(seed=s, n_frames=n) for s in (21, 22, 23))
    mst = MultiStreamTracker()
    ref_a, ref_b, ref_c = Tracker(), Tracker(), Tracker()
    checked = 0
    for f in range(n):
        batch = []
        expect: dict[str, list[Row]] = {}
        # a: every frame, reset at frame 70 (flag in the batch entry).
        reset = f == 70
        if reset:
            ref_a.reset()
        batch.append(StreamFrame("a", f, a[f], reset=reset))
        expect["a"] = _rows(ref_a.update(a[f]))
        # b: only every third frame (a stream skipping frames), removed after frame 100.
        if f % 3 == 0 and f <= 100:
            batch.append(StreamFrame("b", f, b[f]))
            expect["b"] = _rows(ref_b.update(b[f]))
        # c: joins at frame 40.
        if f >= 40:
            batch.append(StreamFrame("c", f, c[f - 40]))
            expect["c"] = _rows(ref_c.update(c[f - 40]))
        out = mst.update(batch)
        assert {k: _rows(v) for k, v in out.items()} == expect, f
        checked += sum(len(v) for v in expect.values())
        if f == 100:
            mst.remove_stream("b")
            assert "b" not in mst
        if f == 120:
            mst.reset_stream("c")
            ref_c.reset()
    assert mst.stream_ids == ["a", "c"]
    assert checked > 300
    # A removed stream can come back, as a fresh stream with ids from 1.
    out = mst.update([StreamFrame("b", 1, Detections.from_tlwh([[0, 0, 10, 20]]))])
    assert out["b"] == [] and len(mst.tracker("b")) == 1


def test_reset_keeps_ids_counting_up() -> None:
    mst = MultiStreamTracker(n_init=1)
    box = Detections.from_tlwh([[10, 10, 20, 40]])
    first = mst.update([("s", 1, box)])["s"][0].track_id
    again = mst.update([StreamFrame("s", 1, box, reset=True)])["s"][0].track_id
    assert (first, again) == (1, 2)
    assert mst.last_frame_index("s") == 1


def test_detections_none_predicts() -> None:
    frames = walking_scene(seed=5, n_frames=60)
    mst = MultiStreamTracker()
    ref = Tracker()
    for f in range(60):
        dets = frames[f] if f % 2 == 0 else None
        out = mst.update([StreamFrame(0, f, dets)])[0]
        expect = ref.update(frames[f]) if dets is not None else ref.predict()
        assert _rows(out) == _rows(expect)


def test_gap_policy_predict_matches_tracker_predicting_missing_frames() -> None:
    frames = walking_scene(seed=8, n_frames=90)
    mst = MultiStreamTracker(on_gap="predict")
    ref = Tracker()
    last = None
    for f in range(0, 90, 4):  # frames 1, 2, 3 of every 4 are missing
        if last is not None:
            for _ in range(f - last - 1):
                ref.predict()
        assert _rows(mst.update([StreamFrame("x", f, frames[f])])["x"]) == _rows(
            ref.update(frames[f])
        )
        last = f
    # With "ignore" the same calls differ from the predicting reference (the gap matters).
    plain = MultiStreamTracker()
    differs = False
    ref2 = Tracker()
    for f in range(0, 90, 4):
        if f:
            for _ in range(3):
                ref2.predict()
        got = plain.update([StreamFrame("x", f, frames[f])])["x"]
        differs |= _rows(got) != _rows(ref2.update(frames[f]))
    assert differs


@pytest.mark.slow
def test_global_ids_unique_across_streams_and_consistent() -> None:
    scenes = [walking_scene(seed=30 + i, n_frames=100) for i in range(3)]
    mst = MultiStreamTracker(global_ids=True)
    local = MultiStreamTracker()
    seen: dict[int, tuple[int, int]] = {}
    for f in range(100):
        batch = [StreamFrame(i, f, s[f]) for i, s in enumerate(scenes)]
        out, ref = mst.update(batch), local.update(batch)
        for i in range(3):
            assert len(out[i]) == len(ref[i])
            for g, t in zip(out[i], ref[i], strict=True):
                # Same tracks, same boxes; only the id is translated, one to one.
                assert np.array_equal(g.tlwh, t.tlwh)
                assert seen.setdefault(g.track_id, (i, t.track_id)) == (i, t.track_id)
                assert mst.ids is not None and mst.ids.lookup(g.track_id) == (i, t.track_id)
    assert len(seen) > 12
    assert sorted(seen) == list(range(1, len(seen) + 1))  # dense, from 1, in first-seen order


@pytest.mark.slow
def test_global_id_table_is_pruned_to_live_tracks() -> None:
    frames = walking_scene(seed=3, n_frames=600, n_ids=8, false_positives=1.0)
    mst = MultiStreamTracker(global_ids=True, max_age=5, return_tentative=True)
    for f, dets in enumerate(frames):
        mst.update([StreamFrame("s", f, dets)])
    assert mst.ids is not None
    live = len(mst.tracker("s"))
    assert mst.ids.next_id > 100  # many ids were handed out...
    assert mst.ids.pairs("s") <= 2 * live + 40  # ...but only live ones are remembered


def test_global_ids_survive_remove_and_reset_without_reuse() -> None:
    alloc = GlobalIdAllocator()
    assert [alloc.global_id("a", 1), alloc.global_id("b", 1), alloc.global_id("a", 1)] == [1, 2, 1]
    alloc.forget_stream("a")
    assert alloc.lookup(1) is None and alloc.global_id("a", 1) == 3
    alloc.prune("b", [])
    assert alloc.pairs("b") == 0 and alloc.global_id("b", 1) == 4


def _state(mst: MultiStreamTracker) -> list[tuple[Hashable, list[Row], int | float | None]]:
    return [(s, _rows(mst.tracker(s).tracks), mst.last_frame_index(s)) for s in mst]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            [StreamFrame("a", 2, Detections.empty()), StreamFrame("a", 3, Detections.empty())],
            "twice",
        ),
        ([StreamFrame("a", 1, Detections.empty())], "does not come after"),
        ([StreamFrame("a", 2.5, Detections.empty()), StreamFrame("c", "x", None)], "frame_index"),
        ([StreamFrame("a", float("nan"), None)], "finite"),
        ([StreamFrame("a", 2, np.zeros((1, 4)))], "Detections.from_tlwh"),  # type: ignore[arg-type]
        (
            [StreamFrame("a", 2, Detections.from_tlwh([[0, 0, 5, 5]], features=[[1.0, 0.0]]))],
            "dimension",
        ),
        ([StreamFrame("a", 2, None, features=np.zeros((0, 4)))], "without detections"),
        ([StreamFrame("a", 2, Detections.empty(), camera_motion=np.eye(3))], "camera_motion"),
        ([StreamFrame(["unhashable"], 2, None)], "hashable"),
        ([("a", 2)], "StreamFrame"),
    ],
)
def test_a_bad_batch_changes_no_stream(bad: list[StreamFrame], message: str) -> None:
    mst = MultiStreamTracker(n_init=1)
    feats = np.eye(4, dtype=np.float32)[:2]
    mst.update(
        [
            StreamFrame(
                "a", 1, Detections.from_tlwh([[0, 0, 10, 20], [50, 0, 10, 20]], features=feats)
            ),
            StreamFrame("b", 1, Detections.from_tlwh([[0, 0, 10, 20]], features=feats[:1])),
        ]
    )
    before = _state(mst)
    # The good entry first: it must not be applied either.
    with pytest.raises(InvalidInputError, match=message):
        mst.update(
            [StreamFrame("b", 5, Detections.from_tlwh([[1, 1, 10, 20]], features=feats[:1])), *bad]
        )
    assert _state(mst) == before


def test_unknown_streams_and_bad_settings() -> None:
    mst = MultiStreamTracker(auto_add=False)
    with pytest.raises(InvalidInputError, match="add_stream"):
        mst.update([StreamFrame("x", 1, None)])
    mst.add_stream("x")
    with pytest.raises(ConfigurationError, match="already exists"):
        mst.add_stream("x")
    with pytest.raises(ConfigurationError, match="no stream"):
        mst.remove_stream("y")
    with pytest.raises(ConfigurationError, match="no stream"):
        mst.reset_stream(["y"])  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="unknown preset"):
        mst.add_stream("z", preset="nope")
    with pytest.raises(ConfigurationError, match="not both"):
        mst.add_stream("z", tracker=Tracker(), max_age=3)
    with pytest.raises(ConfigurationError, match="on_gap"):
        MultiStreamTracker(on_gap="skip")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="unknown tracker option"):
        MultiStreamTracker(max_agee=3)
    own = Tracker(n_init=1)
    assert mst.add_stream("z", tracker=own) is own
    assert len(mst) == 2 and list(mst) == ["x", "z"]


def test_importing_the_tracker_side_loads_no_opencv() -> None:
    import subprocess
    import sys

    code = (
        "import sys, deepsort_lib.streams as s; s.MultiStreamTracker(); "
        "print('cv2' in sys.modules, 'onnxruntime' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_the_trackers_detection_cap_is_checked_before_any_stream_moves() -> None:
    from dataclasses import dataclass, fields

    if "max_detections" in {f.name for f in fields(TrackerConfig)}:
        capped = TrackerConfig(max_detections=3)  # type: ignore[call-arg]
    else:  # a tracker core without the cap: give its config one

        @dataclass(frozen=True)
        class Capped(TrackerConfig):
            max_detections: int = 3

        capped = Capped()
    mst = MultiStreamTracker(n_init=1)
    mst.add_stream("small", tracker=Tracker(capped))
    box = Detections.from_tlwh([[0, 0, 10, 20]])
    mst.update([("big", 1, box), ("small", 1, box)])
    before = _state(mst)
    four = Detections.from_tlwh([[i * 20.0, 0, 10, 20] for i in range(4)])
    with pytest.raises(InvalidInputError, match="max_detections=3"):
        mst.update([("big", 2, four), ("small", 2, four)])
    assert _state(mst) == before
