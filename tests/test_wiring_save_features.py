"""``deepsort track --save-features`` (the features sink) and ``deepsort refine`` on its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError, SourceError
from deepsort_lib.io.features import FeaturesSink, features_path_for, load_features
from deepsort_lib.io.mot import read_mot
from deepsort_lib.pipeline import FrameResult, Pipeline, StageTimings
from deepsort_lib.tracking.track import Track, TrackState
from deepsort_lib.tracking.tracker import Tracker

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deepsort_lib.cli.main", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _track(track_id: int, detection_index: int | None) -> Track:
    box = np.array([10.0, 20.0, 30.0, 60.0])
    return Track(
        track_id=track_id,
        tlwh=box,
        detection_tlwh=box,
        class_id=0,
        confidence=0.9,
        state=TrackState.CONFIRMED,
        hits=3,
        age=3,
        time_since_update=0 if detection_index is not None else 1,
        detection_index=detection_index,
    )


def _result(frame: int, detections: Detections, tracks: list[Track]) -> FrameResult:
    return FrameResult(frame, None, detections, tracks, StageTimings())


def _detections(features: np.ndarray | None) -> Detections:
    n = 3
    tlwh = np.tile([10.0, 20.0, 30.0, 60.0], (n, 1)) + np.arange(n)[:, None] * 50
    return Detections.from_tlwh(tlwh, np.full(n, 0.9), features=features)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part" in p.name)


@pytest.mark.slow
def test_track_save_features_then_refine(tmp_path: Path, vtest: Path) -> None:
    results, log = tmp_path / "run.txt", tmp_path / "run.jsonl"
    proc = _cli(
        "track", str(vtest), "-q", "--max-frames", "15",
        "--mot", str(results), "--log", str(log), "--save-features",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    features_file = features_path_for(results)
    assert features_file == tmp_path / "run.features.npz"
    assert f"wrote {features_file}" in proc.stdout
    assert _leftovers(tmp_path) == []

    mot = read_mot(results)
    assert len(mot.frames) > 0
    frames, ids, feats = load_features(features_file)
    assert len(frames) > 0
    assert feats.dtype == np.float32 and feats.shape == (len(frames), feats.shape[1])
    assert feats.shape[1] > 1
    # Real appearance vectors: finite, not all zero, and not one vector repeated.
    assert np.all(np.linalg.norm(feats, axis=1) > 0)
    assert len(np.unique(feats.round(5), axis=0)) > 1

    # Every features row is a reported box, and every box matched this frame has one.
    mot_keys = set(zip(mot.frames.tolist(), mot.ids.tolist(), strict=True))
    feat_keys = list(zip(frames.tolist(), ids.tolist(), strict=True))
    assert len(set(feat_keys)) == len(feat_keys)
    assert set(feat_keys) <= mot_keys
    records = [json.loads(line) for line in log.read_text().splitlines()]
    matched = {(r["frame"], r["track_id"]) for r in records if r["time_since_update"] == 0}
    assert set(feat_keys) == matched
    # On this clip every reported box is matched, so the two files have the same rows.
    assert set(feat_keys) == mot_keys

    refined = tmp_path / "run.refined.txt"
    proc = _cli("refine", str(results))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(refined)
    assert "Traceback" not in proc.stderr
    out = read_mot(refined)
    assert len(out.frames) >= len(mot.frames)  # GSI only adds interpolated rows
    assert set(out.frames.tolist()) <= set(range(1, 16))


@pytest.mark.slow  # over 1 s on the 2026-11-30 host
def test_save_features_needs_mot(tmp_path: Path, vtest: Path) -> None:
    log = tmp_path / "t.jsonl"
    proc = _cli(
        "track", str(vtest), "-q", "--max-frames", "2", "--log", str(log), "--save-features"
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "deepsort: error: --save-features needs --mot: the features file goes next to the "
        "results file"
    ]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_save_features_without_encoder_is_refused_before_writing(
    tmp_path: Path, vtest: Path
) -> None:
    results = tmp_path / "r.txt"
    proc = _cli(
        "track", str(vtest), "-q", "--max-frames", "2", "--mot", str(results),
        "--encoder", "none", "--save-features",
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "--save-features needs appearance features" in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_save_features_never_replaces_an_input(tmp_path: Path, vtest: Path) -> None:
    # The features file would land on the file given as --encoder: refused, input untouched.
    results = tmp_path / "r.txt"
    model = tmp_path / "r.features.npz"
    model.write_bytes(b"not a model, but the user's file")
    proc = _cli(
        "track", str(vtest), "-q", "--max-frames", "2", "--mot", str(results),
        "--encoder", str(model), "--save-features",
    )  # fmt: skip
    assert proc.returncode == 2
    assert "refusing to write --save-features" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert model.read_bytes() == b"not a model, but the user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.features.npz"]


def test_sink_rows_are_matched_detections_features(tmp_path: Path) -> None:
    path = tmp_path / "r.features.npz"
    sink = FeaturesSink(path)
    feats1 = np.arange(12, dtype=np.float32).reshape(3, 4) + 1
    feats2 = -np.arange(12, dtype=np.float32).reshape(3, 4) - 1
    sink.write(_result(1, _detections(feats1), [_track(7, 2), _track(8, None), _track(9, 0)]))
    sink.write(_result(2, Detections.empty(), [_track(7, None)]))  # skipped by detect_every
    sink.write(_result(3, _detections(feats2), [_track(9, 1)]))
    assert not path.exists()  # nothing published before close
    assert sink.close() == path
    frames, ids, feats = load_features(path)
    assert frames.tolist() == [1, 1, 3]
    assert ids.tolist() == [7, 9, 9]
    np.testing.assert_array_equal(feats, np.stack([feats1[2], feats1[0], feats2[1]]))
    assert _leftovers(tmp_path) == []


def test_sink_without_any_match_writes_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "r.features.npz"
    sink = FeaturesSink(path)
    sink.write(_result(1, _detections(None), [_track(1, None)]))
    sink.close()
    frames, ids, feats = load_features(path)
    assert len(frames) == 0 and len(ids) == 0 and len(feats) == 0


def test_sink_refuses_detections_without_features(tmp_path: Path) -> None:
    sink = FeaturesSink(tmp_path / "r.features.npz")
    with pytest.raises(ConfigurationError, match="needs appearance features"):
        sink.write(_result(1, _detections(None), [_track(1, 0)]))
    sink.abort()
    assert list(tmp_path.iterdir()) == []


def test_sink_checks_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"\.npz"):
        FeaturesSink(tmp_path / "r.features.npy")
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(SourceError, match="directory"):
        FeaturesSink(tmp_path / "d.npz")
    source = tmp_path / "in.npz"
    source.write_bytes(b"input")
    with pytest.raises(SourceError, match="refusing"):
        FeaturesSink(source, protect=[source])
    assert source.read_bytes() == b"input"


def test_abort_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "r.features.npz"
    path.write_bytes(b"previous run")
    sink = FeaturesSink(path)
    sink.write(_result(1, _detections(np.ones((3, 4), np.float32)), [_track(1, 0)]))
    sink.finish()  # written to the temporary file only
    assert path.read_bytes() == b"previous run"
    sink.abort()
    assert path.read_bytes() == b"previous run"
    assert _leftovers(tmp_path) == []


class _FailingSink:
    """A sink whose output fails when the run is finished (a full disk)."""

    path = None

    def write(self, result: object) -> None:
        pass

    def finish(self) -> None:
        raise SourceError("disk full")

    def close(self) -> None:
        raise AssertionError("close after a failed finish")

    def abort(self) -> None:
        pass


def test_pipeline_failure_discards_the_features(tmp_path: Path) -> None:
    # Another output failing at the end: the features file is not published either.
    path = tmp_path / "r.features.npz"
    path.write_bytes(b"previous run")
    rng = np.random.default_rng(0)
    cache = {
        i: Detections.from_tlwh(
            [[100.0 + i, 50.0, 40.0, 80.0]], [0.9], features=rng.normal(size=(1, 8))
        )
        for i in range(1, 6)
    }
    pipeline = Pipeline(None, Tracker())
    sink = FeaturesSink(path)
    with pytest.raises(SourceError, match="disk full"):
        pipeline.process(None, cache=cache, sinks=[sink, _FailingSink()], max_frames=5)
    assert path.read_bytes() == b"previous run"
    assert _leftovers(tmp_path) == []

    # The same run without the failing output writes the confirmed track's rows.
    pipeline = Pipeline(None, Tracker())
    pipeline.process(None, cache=cache, sinks=[FeaturesSink(path)], max_frames=5)
    frames, ids, feats = load_features(path)
    assert frames.tolist() == [3, 4, 5]  # confirmed after n_init = 3 frames
    assert set(ids.tolist()) == {1}
    np.testing.assert_allclose(feats, np.vstack([cache[i].features for i in (3, 4, 5)]), rtol=1e-6)
