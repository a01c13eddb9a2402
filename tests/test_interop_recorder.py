"""TrackRecorder: an in-memory record of a bare Tracker.update loop, and its exports."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from deepsort_lib import Detections, InvalidInputError, SourceError, Tracker
from deepsort_lib.io.mot import read_mot
from deepsort_lib.io.recorder import RECORD_FIELDS, TrackRecorder


def _run(recorder: TrackRecorder, frames: int = 5, **tracker_args: object) -> Tracker:
    tracker = Tracker(n_init=2, **tracker_args)  # type: ignore[arg-type]
    for frame in range(1, frames + 1):
        boxes = np.array([[10.0 + 3 * frame, 20, 40, 90], [200.0, 50 + 2 * frame, 30, 70]])
        dets = Detections.from_tlwh(boxes, scores=[0.9, 0.7], class_ids=[0, 1])
        recorder.record(frame, tracker.update(dets))
    return tracker


def test_records_match_the_tracks_returned() -> None:
    recorder = TrackRecorder(class_names=["person", "car"])
    tracker = Tracker(n_init=2)
    expected = []
    for frame in range(1, 6):
        boxes = np.array([[10.0 + 3 * frame, 20, 40, 90], [200.0, 50 + 2 * frame, 30, 70]])
        tracks = tracker.update(Detections.from_tlwh(boxes, [0.9, 0.7], [0, 1]))
        recorder.record(frame, tracks)
        expected += [(frame, t.track_id, *t.tlwh.tolist(), t.class_id) for t in tracks]
    records = recorder.to_records()
    # n_init=2: nothing on frame 1, both objects on frames 2..5.
    assert len(recorder) == len(records) == len(expected) == 8
    got = [
        (r["frame"], r["track_id"], r["x"], r["y"], r["w"], r["h"], r["class_id"]) for r in records
    ]
    np.testing.assert_allclose(np.array(got, dtype=float), np.array(expected, dtype=float))
    assert all(list(r) == list(RECORD_FIELDS) for r in records)
    assert {r["class_name"] for r in records} == {"person", "car"}
    assert {r["state"] for r in records} == {"CONFIRMED"}
    assert all(r["detection_index"] in (0, 1) for r in records)


def test_to_json_round_trips_and_writes_atomically(tmp_path: Path) -> None:
    recorder = TrackRecorder()
    _run(recorder)
    target = tmp_path / "tracks.json"
    text = recorder.to_json(target)
    assert json.loads(text) == recorder.to_records()
    assert json.loads(target.read_text()) == recorder.to_records()
    assert [p.name for p in tmp_path.iterdir()] == ["tracks.json"]  # no temporary file left


def test_to_mot_reads_back_with_read_mot(tmp_path: Path) -> None:
    recorder = TrackRecorder()
    _run(recorder)
    path = recorder.to_mot(tmp_path / "res.txt")
    data = read_mot(path)
    assert len(data) == len(recorder)
    records = recorder.to_records()
    np.testing.assert_array_equal(data.frames, [r["frame"] for r in records])
    np.testing.assert_array_equal(data.ids, [r["track_id"] for r in records])
    np.testing.assert_allclose(
        data.tlwh, [[r["x"], r["y"], r["w"], r["h"]] for r in records], atol=0.006
    )


def test_to_mot_sorts_frames_and_keeps_empty_runs_valid(tmp_path: Path) -> None:
    recorder = TrackRecorder()
    tracker = Tracker(n_init=1)
    dets = Detections.from_xyxy([[0, 0, 10, 20]])
    recorder.record(3, tracker.update(dets))
    recorder.record(1, tracker.update(dets))
    assert read_mot(recorder.to_mot(tmp_path / "a.txt")).frames.tolist() == [1, 3]
    empty = TrackRecorder()
    assert empty.to_records() == [] and len(read_mot(empty.to_mot(tmp_path / "b.txt"))) == 0


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path: Path) -> None:
    recorder = TrackRecorder()
    _run(recorder)
    (tmp_path / "dir.txt").mkdir()
    with pytest.raises(SourceError, match="not a regular file"):
        recorder.to_mot(tmp_path / "dir.txt")
    assert (tmp_path / "dir.txt").is_dir()
    if os.path.exists("/dev/null"):
        with pytest.raises(SourceError):
            recorder.to_json("/dev/null")
        assert Path("/dev/null").is_char_device()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.txt"]


def test_detection_box_option_and_coasting_rows() -> None:
    recorder = TrackRecorder(use_detection_box=True)
    tracker = Tracker(n_init=1, output_max_misses=1)
    recorder.record(1, tracker.update(Detections.from_tlwh([[10.0, 10, 20, 40]])))
    recorder.record(2, tracker.update(Detections.empty()))
    first, second = recorder.to_records()
    assert [first["x"], first["y"], first["w"], first["h"]] == [10.0, 10.0, 20.0, 40.0]
    assert first["detection_index"] == 0
    assert second["detection_index"] is None and second["time_since_update"] == 1


def test_to_pandas_columns_and_dtypes() -> None:
    recorder = TrackRecorder(class_names=["person", "car"])
    _run(recorder)
    frame = recorder.to_pandas()
    assert list(frame.columns) == list(RECORD_FIELDS)
    assert len(frame) == len(recorder)
    assert frame.groupby("track_id")["frame"].count().to_dict() == {1: 4, 2: 4}
    assert str(frame["detection_index"].dtype) == "Int64"


def test_to_pandas_without_pandas_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = TrackRecorder()
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(ImportError, match="pip install pandas"):
        recorder.to_pandas()


def test_bad_input_records_nothing() -> None:
    recorder = TrackRecorder()
    tracker = _run(recorder, frames=3)
    before = recorder.to_records()
    tracks = tracker.update(Detections.from_tlwh([[10.0, 20, 40, 90]]))
    for bad_frame in (-1, 1.5, True, "3"):
        with pytest.raises(InvalidInputError, match="frame_index"):
            recorder.record(bad_frame, tracks)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="Track"):
        recorder.record(4, [*tracks, "not a track"])  # type: ignore[list-item]
    assert recorder.to_records() == before
    recorder.clear()
    assert len(recorder) == 0 and recorder.to_records() == []
