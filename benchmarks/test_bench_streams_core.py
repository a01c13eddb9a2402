"""The tracking step alone across many streams: batched core vs today's loop vs N Trackers.

For N = 1, 8, 64, 256 streams and K = 5, 10, 50 people per scene (seeded walking scenes with
turnover, false positives and misses, 16-dim appearance features; detections made beforehand,
so only tracking is timed), three peers advance the same frames in the same run:

``batched``
    ``MultiStreamTracker()``: one pass over the track tables of all streams per batch
    (:mod:`deepsort_lib.streams.batched`).
``loop``
    ``MultiStreamTracker(batched=False)``: each stream's ``Tracker.update`` in turn (what
    ``MultiStreamTracker`` did before).
``separate``
    N ``Tracker`` objects stepped round-robin by the caller.

Reported per cell: stream-frames per second of each peer (after a warm-up that fills the
scenes with tracks), ``batched_over_loop`` and ``batched_over_separate``, live tracks per
stream, and the peak of traced allocations (``tracemalloc``, a separate shorter run: tracker
state plus temporaries) per peer, and the process's peak RSS so far (it only grows: read it at
the largest cell). Peers alternate, best of two rounds (five for N = 1, one for 256 x 50).

Run: ``pytest benchmarks/test_bench_streams_core.py -p no:cacheprovider -s``
(``STREAMS_CORE_N=1,8`` and ``STREAMS_CORE_K=10`` limit the grid).
"""

from __future__ import annotations

import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.conftest import ResultTable
from deepsort_lib import Detections, Tracker
from deepsort_lib.streams import MultiStreamTracker, StreamFrame

N_STREAMS = tuple(int(n) for n in os.environ.get("STREAMS_CORE_N", "1,8,64,256").split(","))
K_PEOPLE = tuple(int(k) for k in os.environ.get("STREAMS_CORE_K", "5,10,50").split(","))
WARMUP = 15
#: The scenes' feature noise is 0.15 per dimension: at 16 dimensions a person's detections sit
#: about 0.14 in cosine distance from their track (matched on appearance, as with a re-ID
#: model); at 128 they would sit beyond every preset's threshold.
FEATURE_DIM = 16
#: Batched may not be slower at N = 1 (noise margin of a shared 2-core machine; at N = 1 the
#: batched tracker runs the stream's own ``update``, so the work is identical).
TOLERANCE = 0.15
#: The issue's target is 5x the loop at N = 64, K = 10; measured 5.1-5.3x on the shared
#: machine (benchmarks/results/streams_core.md). Asserted here: a regression floor below the
#: noise of that machine.
FLOOR_64_10 = 4.0


def _frames_measured(n: int, k: int) -> int:
    return int(np.clip(3000 // (n * max(k // 10, 1)), 4, 40))


def _scenes(n: int, k: int, frames: int) -> list[list[Detections]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from streams_scenes import walking_scene

    size = (640.0 * max(1.0, np.sqrt(k / 10)), 480.0 * max(1.0, np.sqrt(k / 10)))
    return [
        walking_scene(
            seed=1000 + i,
            n_frames=frames,
            n_ids=k,
            feature_dim=FEATURE_DIM,
            mean_life=40,
            image_size=size,
        )
        for i in range(n)
    ]


def _peers(n: int) -> dict[str, Callable[[], Callable[[int, list[Detections]], int]]]:
    def multi(batched: bool) -> Callable[[], Callable[[int, list[Detections]], int]]:
        def make() -> Callable[[int, list[Detections]], int]:
            mst = MultiStreamTracker(batched=batched)

            def step(f: int, frame: list[Detections]) -> int:
                out = mst.update([StreamFrame(s, f, d) for s, d in enumerate(frame)])
                return sum(len(v) for v in out.values())

            return step

        return make

    def separate() -> Callable[[int, list[Detections]], int]:
        trackers = [Tracker() for _ in range(n)]

        def step(f: int, frame: list[Detections]) -> int:
            return sum(len(t.update(d)) for t, d in zip(trackers, frame, strict=True))

        return step

    return {"batched": multi(True), "loop": multi(False), "separate": separate}


def _run(
    make: Callable[[], Callable[[int, list[Detections]], int]],
    frames: list[list[Detections]],
    measured: int,
) -> tuple[float, int]:
    step = make()
    for f in range(WARMUP):
        step(f, frames[f])
    start = time.perf_counter()
    reported = 0
    for f in range(WARMUP, WARMUP + measured):
        reported += step(f, frames[f])
    return time.perf_counter() - start, reported


def _peak_mb(make: Callable[[], Callable[[int, list[Detections]], int]], frames: Any) -> float:
    tracemalloc.start()
    try:
        step = make()
        for f in range(min(len(frames), WARMUP + 3)):
            step(f, frames[f])
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("k", K_PEOPLE)
@pytest.mark.parametrize("n", N_STREAMS)
def test_streams_core_throughput(n: int, k: int, results: ResultTable) -> None:
    measured = _frames_measured(n, k)
    scenes = _scenes(n, k, WARMUP + measured)
    frames = [[scene[f] for scene in scenes] for f in range(WARMUP + measured)]
    peers = _peers(n)
    # One stream is the same work on both sides (a ratio of pure noise): more rounds there.
    rounds = 5 if n == 1 else 1 if n * k >= 256 * 50 else 2
    best: dict[str, float] = {}
    reported: dict[str, int] = {}
    for _ in range(rounds):
        for name, make in peers.items():
            wall, count = _run(make, frames, measured)
            best[name] = min(best.get(name, np.inf), wall)
            reported[name] = count
    assert len(set(reported.values())) == 1  # the peers report the same number of tracks
    rate = {name: n * measured / wall for name, wall in best.items()}
    peak = {name: _peak_mb(make, frames) for name, make in peers.items()}
    mst = MultiStreamTracker()
    for f in range(WARMUP):
        mst.update([StreamFrame(s, f, d) for s, d in enumerate(frames[f])])
    results.add(
        "streams_core",
        streams=n,
        people=k,
        frames_measured=measured,
        tracks_per_stream=float(np.mean([len(mst.tracker(s)) for s in range(n)])),
        batched_sfps=rate["batched"],
        loop_sfps=rate["loop"],
        separate_sfps=rate["separate"],
        batched_over_loop=rate["batched"] / rate["loop"],
        batched_over_separate=rate["batched"] / rate["separate"],
        batched_ms_per_sf=1000 / rate["batched"],
        loop_ms_per_sf=1000 / rate["loop"],
        batched_peak_mb=peak["batched"],
        loop_peak_mb=peak["loop"],
        separate_peak_mb=peak["separate"],
        process_peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )
    if n == 1:
        assert rate["batched"] >= (1 - TOLERANCE) * rate["loop"]
    if n == 64 and k == 10:
        assert rate["batched"] >= FLOOR_64_10 * rate["loop"]
