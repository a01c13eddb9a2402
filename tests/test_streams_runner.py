"""MultiSourceRunner: sources of different lengths, failing and live sources, per-stream outputs."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from local_http import serve_folder
from streams_scenes import walking_scene

from deepsort_lib import Detections, Tracker
from deepsort_lib.errors import SourceError
from deepsort_lib.io.mot import read_mot
from deepsort_lib.pipeline import Pipeline
from deepsort_lib.streams.pipeline import MultiStreamPipeline
from deepsort_lib.streams.runner import (
    MultiSourceRunner,
    RetryPolicy,
    StreamState,
    StreamStatus,
    outputs,
    progress_line,
)
from deepsort_lib.streams.sources import is_live, source_name
from deepsort_lib.streams.tracker import MultiStreamTracker

SCENES = {code: walking_scene(seed=100 + code, n_frames=40) for code in range(1, 5)}


def _frame(code: int, number: int) -> np.ndarray[Any, Any]:
    """A small frame carrying its stream code and frame number in its first pixel."""
    image = np.full((48, 64, 3), 90, np.uint8)
    image[0, 0] = (code, number, 0)
    return image


class CodedDetector:
    """Reads the code in the first pixel and returns that scene frame's detections."""

    def detect(self, frame: np.ndarray[Any, Any]) -> Detections:
        code, number = int(frame[0, 0, 0]), int(frame[0, 0, 1])
        scene = SCENES.get(code)
        if scene is None:
            return Detections.from_tlwh([[5.0, 5.0, 10.0, 20.0]])
        return scene[(number - 1) % len(scene)]


def _clip(code: int, count: int, fail_at: int | None = None) -> Iterator[tuple[int, Any]]:
    for number in range(1, count + 1):
        if fail_at is not None and number == fail_at:
            raise OSError(f"read error at frame {number}")
        yield number, _frame(code, number)


class Flaky:
    """An opener whose source raises on frame ``fail_at`` the first ``failures`` times."""

    def __init__(self, code: int, count: int, fail_at: int, failures: int, live: bool = False):
        self.code, self.count, self.fail_at, self.failures = code, count, fail_at, failures
        self.opened = 0
        self.live = live

    def __call__(self) -> Any:
        self.opened += 1
        failing = self.opened <= self.failures
        return _Source(_clip(self.code, self.count, self.fail_at if failing else None), self.live)


class _Source:
    def __init__(self, frames: Iterator[tuple[int, Any]], live: bool) -> None:
        self.frames, self.live, self.closed = frames, live, False
        self.fps, self.size = 10.0, (64, 48)

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        return self.frames

    def close(self) -> None:
        self.closed = True


def _pipeline() -> MultiStreamPipeline:
    return MultiStreamPipeline(CodedDetector(), tracker=MultiStreamTracker())


def _rows(tracks: Any) -> list[tuple[int, tuple[float, ...]]]:
    return [(t.track_id, tuple(t.tlwh.tolist())) for t in tracks]


FAST = RetryPolicy(max_retries=0, backoff_s=0.0)


def test_sources_of_different_lengths_match_separate_pipelines(tmp_path: Path) -> None:
    lengths = {"a": (1, 40), "b": (2, 13), "c": (3, 27)}
    runner = MultiSourceRunner(
        {sid: functools.partial(_clip, code, n) for sid, (code, n) in lengths.items()},
        _pipeline(),
        sinks=outputs(tmp_path, log="jsonl"),
        policy=FAST,
    )
    got: dict[str, list[Any]] = {sid: [] for sid in lengths}
    numbers: dict[str, list[int]] = {sid: [] for sid in lengths}
    report = runner.process(
        lambda sid, r: (got[sid].append(_rows(r.tracks)), numbers[sid].append(r.frame_index))
    )
    assert report.frames == 40 + 13 + 27 and report.failed == []
    assert report.batches >= 40  # one frame per stream per batch
    for sid, (code, n) in lengths.items():
        assert numbers[sid] == list(range(1, n + 1))
        status = report.streams[sid]
        assert (status.state, status.frames, status.error) == (StreamState.FINISHED, n, None)
        single = Pipeline(CodedDetector(), Tracker(), prefetch=0)
        assert got[sid] == [_rows(r.tracks) for r in single.run(_clip(code, n))]
        mot = read_mot(tmp_path / f"{sid}.txt")
        assert mot.frames.max() <= n and len(mot) == sum(len(x) for x in got[sid]) > 0
        assert (tmp_path / f"{sid}.jsonl").is_file()
        assert [p.name for p in status.outputs] == [f"{sid}.txt", f"{sid}.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{s}.{e}" for s in lengths for e in ("txt", "jsonl")
    )  # no temporary file left


@pytest.mark.parametrize("keep_partial", [True, False])
def test_a_failing_source_among_healthy_ones(tmp_path: Path, keep_partial: bool) -> None:
    changes: list[tuple[str, StreamState]] = []

    def record(status: StreamStatus) -> None:
        changes.append((str(status.stream_id), status.state))

    runner = MultiSourceRunner(
        {
            "good1": functools.partial(_clip, 1, 30),
            "bad": Flaky(2, 30, fail_at=9, failures=99),
            "good2": functools.partial(_clip, 3, 20),
        },
        _pipeline(),
        sinks=outputs(tmp_path),
        policy=RetryPolicy(max_retries=2, backoff_s=0.001),
        keep_partial=keep_partial,
        on_status=record,
    )
    report = runner.process()
    bad = report.streams["bad"]
    assert bad.state is StreamState.FAILED and report.failed == ["bad"]
    assert bad.frames == 8 and bad.reconnects == 2
    assert bad.error == "OSError: read error at frame 9"
    assert report.streams["good1"].frames == 30 and report.streams["good2"].frames == 20
    assert report.streams["good1"].state is StreamState.FINISHED
    assert changes.count(("bad", StreamState.RECONNECTING)) == 2
    assert ("bad", StreamState.FAILED) in changes
    assert progress_line(report.streams) == "good1 30 finished | bad 8 failed | good2 20 finished"
    if keep_partial:
        mot = read_mot(tmp_path / "bad.txt")
        assert set(mot.frames.tolist()) <= set(range(1, 9)) and len(mot) > 0
    else:
        assert not (tmp_path / "bad.txt").exists()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(["good1.txt", "good2.txt"] + (["bad.txt"] if keep_partial else []))


def test_a_file_that_fails_once_resumes_where_it_stopped() -> None:
    flaky = Flaky(4, 25, fail_at=11, failures=1)
    numbers: list[int] = []
    report = MultiSourceRunner(
        {"f": flaky},
        _pipeline(),
        policy=RetryPolicy(max_retries=1, backoff_s=0.0),
    ).process(lambda sid, r: numbers.append(r.frame_index))
    status = report.streams["f"]
    assert (status.state, status.reconnects, flaky.opened) == (StreamState.FINISHED, 1, 2)
    assert numbers == list(range(1, 26))  # each frame once, in order


def test_a_live_source_that_ends_reconnects_continues_numbering_and_resets() -> None:
    live = Flaky(1, 12, fail_at=999, failures=0, live=True)
    assert is_live(live) and not is_live("clip.avi") and is_live(0) and is_live("rtsp://h/x")
    numbers: list[int] = []
    ids: list[set[int]] = []
    report = MultiSourceRunner(
        [live],
        _pipeline(),
        policy=RetryPolicy(max_retries=3, backoff_s=0.0),
        max_frames=30,
    ).process(
        lambda sid, r: (numbers.append(r.frame_index), ids.append({t.track_id for t in r.tracks}))
    )
    (status,) = report.streams.values()
    assert status.live and status.state is StreamState.STOPPED
    assert numbers == list(range(1, 31)) and status.reconnects == 2 and live.opened == 3
    # Tracks were reset at each reconnect: the ids after frame 12 are all new ones.
    before = set().union(*ids[:12])
    after = set().union(*ids[12:24])
    assert before and after and not before & after


def test_retry_policy_delays_and_validation() -> None:
    policy = RetryPolicy(backoff_s=0.5, backoff_factor=2.0, max_backoff_s=3.0)
    assert [policy.delay(k) for k in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    from deepsort_lib.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        RetryPolicy(max_retries=-1)
    with pytest.raises(ConfigurationError):
        RetryPolicy(backoff_factor=0.5)
    with pytest.raises(ConfigurationError, match="at least one source"):
        MultiSourceRunner([], _pipeline())


def _write_video(path: Path, frames: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 12.5, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 10 + 5 * i, np.uint8))
    writer.release()
    return path


def test_real_files_folders_and_sequences_with_outputs(tmp_path: Path) -> None:
    video = _write_video(tmp_path / "clip.avi", 9)
    folder = tmp_path / "shots"
    folder.mkdir()
    for i in range(4):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((48, 64, 3), 40 * i, np.uint8))
    other = tmp_path / "other"
    other.mkdir()
    video2 = _write_video(other / "clip.avi", 6)
    out = tmp_path / "out"
    report = MultiSourceRunner(
        [str(video), folder, str(video2)],
        _pipeline(),
        sinks=outputs(out, video=True),
        policy=FAST,
    ).process()
    frames = {sid: s.frames for sid, s in report.streams.items()}
    assert frames == {"clip": 9, "shots": 4, "clip-2": 6}
    assert all(s.state is StreamState.FINISHED for s in report.streams.values())
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{n}.{e}" for n in frames for e in ("txt", "mp4")
    )
    capture = cv2.VideoCapture(str(out / "clip-2.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    capture.release()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A local HTTP server over ``tmp_path``; the list collects the request paths."""
    with serve_folder(tmp_path) as (base, requests):
        yield base, tmp_path, requests


def test_live_url_served_locally_reconnects_then_fails(
    http_server: tuple[str, Path, list[str]],
) -> None:
    base, root, requests = http_server
    (root / "once").mkdir()
    _write_video(root / "loop.avi", 7)
    _write_video(root / "once" / "cam.avi", 5)
    out = root / "out"
    report = MultiSourceRunner(
        {
            "loop": f"{base}/loop.avi",
            "cam": f"{base}/once/cam.avi",
            "file": functools.partial(_clip, 1, 20),
        },
        _pipeline(),
        sinks=outputs(out),
        policy=RetryPolicy(max_retries=2, backoff_s=0.001),
        max_frames=17,
    ).process()
    loop, cam, file = (report.streams[k] for k in ("loop", "cam", "file"))
    # The looping URL ends every 7 frames (EOF on a live source) and is reopened each time.
    assert loop.live and (loop.state, loop.frames, loop.reconnects) == (StreamState.STOPPED, 17, 2)
    # The other URL refuses the reconnection: the stream fails after its 5 frames.
    assert (cam.state, cam.frames, cam.reconnects) == (StreamState.FAILED, 5, 2)
    assert cam.error is not None and "cannot open stream" in cam.error
    assert (file.state, file.frames) == (StreamState.STOPPED, 17)
    assert requests.count("/loop.avi") >= 3
    assert sorted(p.name for p in out.iterdir()) == ["cam.txt", "file.txt", "loop.txt"]


def test_a_source_that_cannot_be_opened_fails_before_any_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    good = functools.partial(_clip, 1, 5)
    opened = _Source(_clip(2, 5), live=False)
    runner = MultiSourceRunner(
        {"good": good, "given": opened, "missing": str(tmp_path / "nope.mp4")},
        _pipeline(),
        sinks=outputs(out),
    )
    with pytest.raises(SourceError, match=r"nope\.mp4"):
        runner.process()
    assert not out.exists() or list(out.iterdir()) == []


class Boom(CodedDetector):
    def __init__(self, at: int) -> None:
        self.at, self.seen = at, 0

    def detect(self, frame: np.ndarray[Any, Any]) -> Detections:
        self.seen += 1
        if self.seen == self.at:
            raise RuntimeError("model crashed")
        return super().detect(frame)


def test_an_error_in_the_models_aborts_unfinished_outputs_only(tmp_path: Path) -> None:
    runner = MultiSourceRunner(
        {"short": functools.partial(_clip, 1, 3), "long": functools.partial(_clip, 2, 40)},
        MultiStreamPipeline(Boom(at=20)),
        sinks=outputs(tmp_path),
        policy=FAST,
    )
    with pytest.raises(RuntimeError, match="model crashed"):
        runner.process()
    # "short" had finished (its file is complete); "long" is gone; nothing temporary is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["short.txt"]


def test_stopping_early_leaves_no_output(tmp_path: Path) -> None:
    runner = MultiSourceRunner(
        [functools.partial(_clip, 1, 30), functools.partial(_clip, 2, 30)],
        _pipeline(),
        sinks=outputs(tmp_path),
    )
    results = runner.run()
    for _ in range(5):
        next(results)
    results.close()  # as a consumer's break or Ctrl-C does
    assert list(tmp_path.iterdir()) == []


def test_source_names() -> None:
    assert source_name("rtsp://user:pw@cam.local:554/live/1", "x") == "cam.local_live_1"
    assert source_name(3, "x") == "camera3" and source_name("2", "x") == "camera2"
    assert source_name("/videos/a b.mp4", "x") == "a_b"


def test_url_source_rejects_what_is_not_a_reachable_stream_url(tmp_path: Path) -> None:
    from deepsort_lib.io.url import UrlSource, _redact, is_url

    assert is_url("rtsp://h/x") and is_url("HTTPS://h/x.mjpg") and not is_url("clip.mp4")
    assert not is_url(str(tmp_path)) and not is_url(0)
    with pytest.raises(SourceError, match="not a stream URL"):
        UrlSource(str(tmp_path / "clip.avi"))
    with pytest.raises(SourceError, match=r"cannot open stream http://u:\*\*\*@127\.0\.0\.1:1/x"):
        UrlSource("http://u:secret@127.0.0.1:1/x.avi")
    assert _redact("rtsp://admin:pw@cam/live") == "rtsp://admin:***@cam/live"


class _BadClose(_Source):
    def close(self) -> None:
        raise OSError("close failed")


def test_sources_numbered_from_zero_and_sources_whose_close_fails() -> None:
    numbers: dict[str, list[int]] = {"zero": [], "badclose": []}
    report = MultiSourceRunner(
        {
            "zero": [(i, _frame(1, i + 1)) for i in range(4)],
            "badclose": lambda: _BadClose(_clip(2, 5), live=False),
        },
        _pipeline(),
        policy=FAST,
    ).process(lambda sid, r: numbers[sid].append(r.frame_index))
    assert numbers == {"zero": [0, 1, 2, 3], "badclose": [1, 2, 3, 4, 5]}
    assert all(s.state is StreamState.FINISHED for s in report.streams.values())
