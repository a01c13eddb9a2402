"""Counting on the command line and in the sinks: ``--count-line``, ``--zone``, overlays, totals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepsort_lib.boxes import Detections
from deepsort_lib.cli.main import main
from deepsort_lib.counting import CounterOverlay, Counters
from deepsort_lib.io.sinks import TrackLogSink, VideoSink
from deepsort_lib.pipeline import FrameResult, StageTimings

ROOT = Path(__file__).resolve().parents[1]
# On vtest.avi a person walks right to left across x = 540 around frame 14 (HOG + classic).
LINE = "540,150,540,450"


@pytest.mark.slow
def test_count_line_subprocess(tmp_path: Path, vtest: Path) -> None:
    video, log = tmp_path / "v.avi", tmp_path / "tracks.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "deepsort_lib.cli.main", "track", str(vtest), "-q",
         "--max-frames", "20", "-o", str(video), "--log", str(log), "--count-line", LINE],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    printed = [line for line in proc.stdout.splitlines() if line.startswith("line 1: ")]
    assert printed == ["line 1: in 0, out 1"], proc.stdout

    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert all("frame" in r for r in records[:-1])
    totals = records[-1]
    assert totals["summary"] == printed
    assert totals["counts"] == [
        {
            "name": "line 1",
            "line": [540.0, 150.0, 540.0, 450.0],
            "in": 0,
            "out": 1,
            "by_class": {"0": {"in": 0, "out": 1}},
        }
    ]

    capture = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    assert len(frames) == 20
    # The line is drawn in yellow (BGR 0, 255, 255) on every frame; vtest has no yellow there.
    blue, green, red = (int(v) for v in frames[-1][300, 540])
    assert blue < 80 and green > 200 and red > 200


def test_bad_count_line_is_one_line_before_any_output(
    tmp_path: Path, vtest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    for flag, spec, fragment in (
        ("--count-line", "1,2,3", "x1,y1,x2,y2"),
        ("--zone", "1,2,3,4", "x1,y1,x2,y2,x3,y3"),
        ("--count-line", "a,b,c,d", "x1,y1,x2,y2"),
    ):
        code = main(["track", str(vtest), "-q", "--mot", str(out / "r.txt"), flag, spec])
        err = capsys.readouterr().err
        assert code == 2
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("deepsort: error: ") and fragment in err
        assert not out.exists()


def test_help_documents_counting(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["track", "--help"])
    text = capsys.readouterr().out
    assert "--count-line X1,Y1,X2,Y2" in text
    assert "--zone X1,Y1,X2,Y2,X3,Y3,..." in text


# -- the sinks ------------------------------------------------------------------------------


def _result(index: int, frame: np.ndarray | None, tracks: list) -> FrameResult:  # type: ignore[type-arg]
    return FrameResult(index, frame, Detections.empty(), tracks, StageTimings(), True)


def test_video_sink_snapshots_overlays_on_the_callers_thread(tmp_path: Path) -> None:
    calls: list[threading.Thread] = []

    def overlays() -> list[CounterOverlay]:
        calls.append(threading.current_thread())
        # The label grows with the frame number: each frame must show its own snapshot.
        points = np.array([[0.0, 60.0], [160.0, 60.0]])
        return [CounterOverlay(points, False, "x" * len(calls))]

    sink = VideoSink(tmp_path / "v.avi", 10.0, fourcc="MJPG", overlays=overlays)
    for i in range(1, 4):
        sink.write(_result(i, np.zeros((120, 160, 3), np.uint8), []))
    assert sink.close() == tmp_path / "v.avi"
    assert calls == [threading.main_thread()] * 3

    capture = cv2.VideoCapture(str(tmp_path / "v.avi"))
    drawn = []
    for _ in range(3):
        ok, frame = capture.read()
        assert ok
        drawn.append(frame)
    capture.release()
    for frame in drawn:
        blue, green, red = (int(v) for v in frame[60, 100])
        assert blue < 80 and green > 200 and red > 200  # the line, in yellow
    # Longer labels cover more pixels: frames were drawn from their own snapshots.
    inked = [int((frame[:55] > 100).sum()) for frame in drawn]
    assert inked[0] < inked[1] < inked[2]


def test_video_sink_without_overlays_draws_no_line(tmp_path: Path) -> None:
    sink = VideoSink(tmp_path / "v.avi", 10.0, fourcc="MJPG", background=False)
    sink.write(_result(1, np.zeros((120, 160, 3), np.uint8), []))
    sink.close()
    capture = cv2.VideoCapture(str(tmp_path / "v.avi"))
    ok, frame = capture.read()
    capture.release()
    assert ok and int(frame.max()) < 40


def _counters_after_one_crossing() -> Counters:
    counters = Counters.from_specs(["0,100,200,100"], ["0,0,200,0,200,50,0,50"], ["person"])
    for frame in range(12):
        y = 130 - 6 * frame  # feet move up the image across y = 100: "in"
        counters.counters[0].update_arrays([7], [[90, y - 40, 20, 40]], [0])
        counters.counters[1].update_arrays([7], [[90, y - 40, 20, 40]], [0])
    return counters


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_track_log_ends_with_the_totals(tmp_path: Path, suffix: str) -> None:
    counters = _counters_after_one_crossing()
    assert counters.summary()[0] == "line 1: in 1, out 0"
    log = TrackLogSink(tmp_path / f"t{suffix}", class_names=["person"], totals=counters)
    log.write(_result(1, None, []))
    log.finish()
    log.close()  # finish() wrote the totals; close() must not write them twice
    lines = (tmp_path / f"t{suffix}").read_text().splitlines()
    if suffix == ".jsonl":
        assert len(lines) == 1
        assert json.loads(lines[0]) == {"counts": counters.to_dict(), "summary": counters.summary()}
    else:
        assert lines[0].startswith("frame,track_id,")
        assert lines[1:] == [
            *(f"# {line}" for line in counters.summary()),
            f"# counts: {json.dumps(counters.to_dict())}",
        ]


def test_aborted_track_log_leaves_nothing(tmp_path: Path) -> None:
    log = TrackLogSink(tmp_path / "t.jsonl", totals=_counters_after_one_crossing())
    log.abort()
    assert list(tmp_path.iterdir()) == []
