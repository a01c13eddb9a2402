"""Prefetching frames and writing in the background."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.io.background import BackgroundWorker, prefetch
from deepsort_lib.io.sinks import VideoSink
from deepsort_lib.pipeline import FrameResult, StageTimings


def test_prefetch_keeps_order_and_runs_ahead_on_another_thread() -> None:
    threads: list[str] = []

    def items() -> Iterator[int]:
        for i in range(20):
            threads.append(threading.current_thread().name)
            yield i

    assert list(prefetch(items(), depth=3)) == list(range(20))
    assert set(threads) == {"deepsort-prefetch"}


def test_prefetch_reraises_producer_errors_in_place() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in prefetch(items()):
            got.append(item)
    assert got == [1, 2]


def test_prefetch_stops_when_the_consumer_does() -> None:
    produced = []

    def items() -> Iterator[int]:
        for i in range(10_000):
            produced.append(i)
            yield i

    reader = prefetch(items(), depth=2)
    assert next(reader) == 0
    reader.close()
    assert len(produced) <= 5  # the thread stopped a few items ahead, not at the end
    with pytest.raises(ConfigurationError):
        prefetch([], depth=0)


def test_worker_handles_in_order_and_reports_failures() -> None:
    seen: list[int] = []
    worker: BackgroundWorker[int] = BackgroundWorker(seen.append, depth=2)
    for i in range(50):
        worker.submit(i)
    worker.join()
    assert seen == list(range(50))

    def fail(item: int) -> None:
        if item == 3:
            raise ValueError("bad frame")

    failing: BackgroundWorker[int] = BackgroundWorker(fail, depth=1)
    with pytest.raises(ValueError, match="bad frame"):
        for i in range(100):
            failing.submit(i)
        failing.join()


def test_background_video_sink_failure_leaves_no_file(tmp_path: Path) -> None:
    sink = VideoSink(tmp_path / "v.mp4", 10.0)
    frame = np.zeros((64, 96, 3), np.uint8)
    result = FrameResult(1, frame, Detections.empty(), [], StageTimings())
    sink.write(result)
    # A frame of another size makes the writer fail on the background thread.
    sink.write(
        FrameResult(2, np.zeros((32, 32, 3), np.uint8), Detections.empty(), [], StageTimings())
    )
    with pytest.raises(Exception, match="size"):
        sink.close()
    assert list(tmp_path.iterdir()) == []
