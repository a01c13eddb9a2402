"""Chunk planning, id stitching and per-chunk checkpoints (no Ray needed)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from deepsort_lib import Tracker
from deepsort_lib.distributed.checkpoint import CheckpointStore, job_key
from deepsort_lib.distributed.chunks import (
    DEFAULT_CHUNK_FRAMES,
    DEFAULT_OVERLAP,
    Chunk,
    ChunkTracks,
    link_boundary,
    plan_chunks,
    stitch,
    track_in_chunks,
)
from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.io.mot import MotData
from deepsort_lib.testing.synthetic import CrowdScenario

# -- planning ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "c", "o"), [(1, 10, 2), (10, 10, 2), (11, 10, 2), (95, 10, 5), (1000, 100, 0), (7, 4, 2)]
)
def test_plan_covers_every_frame_once(n: int, c: int, o: int) -> None:
    plan = plan_chunks(n, c, o)
    kept = np.concatenate([np.arange(ch.keep_start, ch.stop + 1) for ch in plan])
    np.testing.assert_array_equal(kept, np.arange(1, n + 1))
    for before, after in itertools.pairwise(plan):
        assert after.start == before.stop - o + 1  # the shared frames
        assert after.keep_start == before.stop + 1
    assert all(ch.num_frames <= c for ch in plan)
    assert plan[0].start == 1 and plan[-1].stop == n


def test_plan_aligns_chunk_starts_and_refuses_bad_values() -> None:
    plan = plan_chunks(100, 30, 6, align=3)
    assert all((ch.start - 1) % 3 == 0 for ch in plan)
    with pytest.raises(ConfigurationError, match="multiple of 5"):
        plan_chunks(100, 30, 6, align=5)
    with pytest.raises(ConfigurationError, match="at most half"):
        plan_chunks(100, 30, 16)
    for bad in ((0, 10, 1), (10, 0, 0), (10, 10, -1), (10, 2.5, 0), (True, 10, 1)):
        with pytest.raises(ConfigurationError):
            plan_chunks(*bad)  # type: ignore[arg-type]


# -- stitching on hand-made tracks ------------------------------------------------------------


def _tracks(
    frames: range, ids: list[int], x: list[float], features: list[np.ndarray] | None = None
) -> ChunkTracks:
    """One row per id per frame; id ``i`` sits at ``x[i]`` (boxes 20 wide, far apart)."""
    rows_f, rows_id, rows_box, rows_feat = [], [], [], []
    for f in frames:
        for k, (tid, left) in enumerate(zip(ids, x, strict=True)):
            rows_f.append(f)
            rows_id.append(tid)
            rows_box.append([left, 10.0, 20.0, 40.0])
            if features is not None:
                rows_feat.append(features[k])
    data = MotData.from_arrays(rows_f, rows_id, rows_box)
    return ChunkTracks(data, None if features is None else np.array(rows_feat, np.float32))


def test_stitch_links_permuted_ids_and_numbers_new_ones_after_the_largest() -> None:
    plan = plan_chunks(30, 20, 5)  # chunk 0: 1..20, chunk 1: 16..30 (kept from 21)
    first = _tracks(range(1, 21), [3, 8], [0.0, 100.0])
    # The later chunk numbers the same two people 1 and 2, the other way round, plus one new
    # person (id 5) who appears after the cut.
    second_a = _tracks(range(16, 31), [1, 2], [100.0, 0.0])
    second_b = _tracks(range(24, 31), [5], [300.0])
    second = ChunkTracks(
        MotData(
            *(
                np.concatenate([getattr(second_a.rows, k), getattr(second_b.rows, k)])
                for k in ("frames", "ids", "tlwh", "scores", "extra")
            )
        )
    )
    result = stitch(plan, [first, second])
    assert result.boundaries[0].links == [(3, 2, 1.0), (8, 1, 1.0)]
    assert result.boundaries[0].new_ids == [5]
    assert result.id_maps[1] == {2: 3, 1: 8, 5: 9}
    rows = result.rows
    # Every frame once: 2 rows per frame, plus the newcomer from frame 24 on.
    assert len(rows) == 2 * 30 + 7
    for frame in range(1, 31):
        assert sorted(rows.ids[rows.frames == frame]) == ([3, 8] if frame < 24 else [3, 8, 9])
    at_left = rows.ids[rows.tlwh[:, 0] == 0.0]
    assert set(at_left.tolist()) == {3}  # the person at x=0 keeps id 3 across the cut


def test_stitch_refuses_rows_outside_their_chunk_and_a_wrong_count() -> None:
    plan = plan_chunks(30, 20, 5)
    with pytest.raises(InvalidInputError, match="chunk 1"):
        stitch(plan, [_tracks(range(1, 21), [1], [0.0]), _tracks(range(10, 31), [1], [0.0])])
    with pytest.raises(InvalidInputError, match="2 chunks but 1"):
        stitch(plan, [_tracks(range(1, 21), [1], [0.0])])


def test_appearance_breaks_an_iou_tie() -> None:
    # Two tracks on the same box in the shared frames: IoU cannot tell them apart.
    red, blue = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)
    earlier = _tracks(range(1, 6), [1, 2], [0.0, 0.0], [red, blue])
    later = _tracks(range(1, 6), [7, 9], [0.0, 0.0], [blue, red])
    links = sorted(link_boundary(earlier, later))
    assert [(a, b) for a, b, _ in links] == [(1, 9), (2, 7)]
    swapped = sorted(link_boundary(earlier, _tracks(range(1, 6), [7, 9], [0.0, 0.0], [red, blue])))
    assert [(a, b) for a, b, _ in swapped] == [(1, 7), (2, 9)]


def test_links_need_enough_shared_presence() -> None:
    earlier = _tracks(range(1, 21), [1], [0.0])
    brief = _tracks(range(19, 21), [4], [0.0])  # together for 2 of 20 frames
    assert link_boundary(earlier, brief) == []
    assert link_boundary(earlier, brief, min_score=0.05) == [(1, 4, 0.1)]


# -- stitching real tracker output ------------------------------------------------------------


def _crowd(num_frames: int, seed: int) -> tuple[list, np.ndarray]:
    frames, gt = [], []
    scenario = CrowdScenario(num_targets=8, num_frames=num_frames, seed=seed, speed=3.0)
    for number, frame in enumerate(scenario.frames(), start=1):
        frames.append((number, frame.detections))
        k = len(frame.true_tlwh)
        gt.append(np.column_stack([np.full(k, number), np.arange(1, k + 1), frame.true_tlwh]))
    return frames, np.vstack(gt)


@pytest.mark.slow
def test_chunked_tracking_matches_whole_run_where_it_can_and_keeps_one_id_space() -> None:
    frames, _ = _crowd(400, seed=2)
    whole = track_in_chunks(frames, Tracker, 400, 0)
    chunked = track_in_chunks(frames, Tracker, 150, 60)
    assert len(chunked.boundaries) == 3
    # The first chunk is exactly the start of the unchunked run.
    first = whole.rows.frames <= 150
    np.testing.assert_array_equal(
        chunked.rows.as_array()[chunked.rows.frames <= 150], whole.rows.as_array()[first]
    )
    # No frame twice, none missing (frames with tracks in the whole run have them here too).
    pairs = set(zip(chunked.rows.frames.tolist(), chunked.rows.ids.tolist(), strict=True))
    assert len(pairs) == len(chunked.rows)
    assert set(chunked.rows.frames.tolist()) == set(whole.rows.frames.tolist())
    # One id space: matching boxes frame by frame, each lasting chunked id is one whole-run id
    # (boxes of people crossing each other aside).
    counts: dict[int, dict[int, int]] = {}
    for frame in range(1, 401):
        a = chunked.rows[chunked.rows.frames == frame]
        b = whole.rows[whole.rows.frames == frame]
        for i, j in zip(*np.nonzero(_iou(a.tlwh, b.tlwh) > 0.7), strict=True):
            hits = counts.setdefault(int(a.ids[i]), {})
            hits[int(b.ids[j])] = hits.get(int(b.ids[j]), 0) + 1
    lasting = {k: v for k, v in counts.items() if sum(v.values()) >= 50}
    assert len(lasting) >= 8
    main = {k: max(v, key=v.__getitem__) for k, v in lasting.items()}
    for k, v in lasting.items():
        assert v[main[k]] >= 0.97 * sum(v.values()), (k, v)
    assert len(set(main.values())) == len(main)  # and no two of them are the same one


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from deepsort_lib.boxes import iou_matrix

    return iou_matrix(a, b)


@pytest.mark.slow
def test_tud_chunked_within_half_a_point_of_whole() -> None:
    """The accuracy benchmark's scene (simulated detections on TUD GT), several seeds.

    The TUD sequences (179 and 71 frames) are shorter than a default chunk (so at the defaults
    the output is the unchunked one); cut with C=120, O=30 (one cut in TUD-Stadtmitte), they
    lose at most half a point (a fresh tracker after a cut can also do better: no upper bound).
    """
    pytest.importorskip("motmetrics")
    from benchmarks.chunking import compare, tud_scenes

    scenes = [s for seed in range(3) for s in tud_scenes(seed)]
    got = compare(scenes, 120, 30)
    assert got["boundaries"] == 3  # one in each TUD-Stadtmitte run
    assert got["idf1_chunked"] >= got["idf1_whole"] - 0.5, got
    assert got["hota_chunked"] >= got["hota_whole"] - 0.5, got
    at_defaults = compare(scenes, DEFAULT_CHUNK_FRAMES, DEFAULT_OVERLAP)
    assert at_defaults["boundaries"] == 0
    assert at_defaults["idf1_chunked"] == at_defaults["idf1_whole"]


@pytest.mark.slow
def test_long_crowd_chunked_at_defaults_within_half_a_point() -> None:
    pytest.importorskip("motmetrics")
    from benchmarks.chunking import compare, crowd_scene

    scenes = [crowd_scene(2 * DEFAULT_CHUNK_FRAMES + 300, seed) for seed in (0, 1)]
    got = compare(scenes, DEFAULT_CHUNK_FRAMES, DEFAULT_OVERLAP)
    assert got["boundaries"] == 4
    assert got["idf1_chunked"] >= got["idf1_whole"] - 0.5, got
    assert got["hota_chunked"] >= got["hota_whole"] - 0.5, got


# -- checkpoints --------------------------------------------------------------------------------


def test_checkpoint_round_trip_is_exact_and_atomic(tmp_path: Path) -> None:
    chunk = Chunk(2, 101, 200, 151)
    rng = np.random.default_rng(0)
    tracks = ChunkTracks(
        MotData.from_arrays(
            rng.integers(101, 201, 50),
            rng.integers(1, 9, 50),
            rng.random((50, 4)) * 100,
            rng.random(50),
        ),
        rng.random((50, 16)).astype(np.float32),
    )
    store = CheckpointStore(tmp_path, "clip", job_key("abc", {"max_age": 30}))
    assert store.load(chunk) is None
    path = store.save(chunk, tracks)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    back = store.load(chunk)
    assert back is not None and back.features is not None
    np.testing.assert_array_equal(back.rows.as_array(), tracks.rows.as_array())
    np.testing.assert_array_equal(back.features, tracks.features)
    # Another chunk span, or a file from other options, is not taken for this one.
    assert store.load(Chunk(2, 101, 210, 151)) is None
    other = CheckpointStore(tmp_path, "clip", job_key("abc", {"max_age": 31}))
    assert other.folder != store.folder and other.load(chunk) is None
    store.clear()
    assert not tmp_path.joinpath(".deepsort-ray").exists()


def test_corrupt_checkpoint_is_ignored_not_trusted(tmp_path: Path) -> None:
    chunk = Chunk(0, 1, 10, 1)
    store = CheckpointStore(tmp_path, "clip", "k")
    store.save(chunk, ChunkTracks(MotData.from_arrays([1], [1], [[0, 0, 5, 5]])))
    store.path(chunk).write_bytes(b"PK\x03\x04 truncated")
    assert store.load(chunk) is None
    assert store.corrupt == [store.path(chunk)]


def test_checkpoints_are_state_files_and_other_versions_are_rerun(tmp_path: Path) -> None:
    from deepsort_lib.distributed.checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_VERSION
    from deepsort_lib.io.state import load_state, save_state

    chunk = Chunk(0, 1, 10, 1)
    store = CheckpointStore(tmp_path, "clip", "k")
    path = store.save(chunk, ChunkTracks(MotData.from_arrays([1, 2], [1, 1], [[0, 0, 5, 5]] * 2)))
    state = load_state(path)  # the one state-file format, readable without pickle
    assert (state["format"], state["version"]) == (CHECKPOINT_FORMAT, CHECKPOINT_VERSION)
    save_state(path, {**state, "version": CHECKPOINT_VERSION + 1})
    assert store.load(chunk) is None and store.corrupt == []  # not corrupt, just not ours
    save_state(path, {**state, "rows": {"frames": state["rows"]["frames"]}})
    assert store.load(chunk) is None and store.corrupt == [path]


# -- the worker's span and the Ray boundary, without Ray --------------------------------------


def test_importing_the_distributed_modules_does_not_import_ray() -> None:
    import subprocess
    import sys

    code = (
        "import sys, deepsort_lib, deepsort_lib.pipeline, deepsort_lib.cli.track, "
        "deepsort_lib.distributed.chunks, deepsort_lib.distributed.ray, "
        "deepsort_lib.cli.track_ray; assert 'ray' not in sys.modules, 'ray imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_missing_ray_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from deepsort_lib.distributed.ray import ClusterError, import_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # what an environment without Ray gives
    with pytest.raises(ClusterError, match=r"pip install 'deepsort_lib\[ray\]'"):
        import_ray()


def test_span_tracks_only_its_frames_with_a_fresh_tracker(tmp_path: Path) -> None:
    from deepsort_lib.distributed.worker import track_span
    from deepsort_lib.io.video import MotSequenceSource
    from deepsort_lib.run.options import track_options
    from tests.distributed_scenes import crowd_sequence

    sequence, _ = crowd_sequence(tmp_path / "seq", 60, seed=3)
    options = track_options(max_age=40)
    span = track_span(options, str(sequence), 21, 50, feature_frames=((21, 25),))
    assert span.rows.frames.min() >= 21 and span.rows.frames.max() <= 50
    assert span.features is not None
    unused = span.features[span.rows.frames > 25]
    assert not unused.any() and span.features[span.rows.frames <= 25].any()
    # The same as a fresh tracker given the public detections of frames 21..50.
    cache = MotSequenceSource(sequence).detections
    assert cache is not None
    tracker = Tracker.from_preset("recommended", max_age=40)  # deepsort track's default
    expected = [(f, t.track_id) for f in range(21, 51) for t in tracker.update(cache[f])]
    assert list(zip(span.rows.frames.tolist(), span.rows.ids.tolist(), strict=True)) == expected
    with pytest.raises(ConfigurationError, match="not options of deepsort track: max_agee"):
        track_options(max_agee=3)
