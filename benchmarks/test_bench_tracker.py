"""Per-frame ``update`` time: deepsort_lib vs the original Deep SORT (deep-sort-realtime).

Crowds of K = 10, 50 and 200 moving targets with 128-d features, the original's settings
(nn_budget=100), timed both with BLAS at its default thread count and with one BLAS thread.
Each round replays the same 60-frame stream into a fresh tracker; time per frame is the
round's time divided by 60.

Run: ``make bench`` or ``.venv/bin/python -m pytest benchmarks/test_bench_tracker.py``.
Targets (issue 2): at K = 50 our update takes at most one third of the original's time,
and our time grows no faster with K than the original's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from deep_sort_realtime.deepsort_tracker import DeepSort

from benchmarks.conftest import ResultTable, blas_threads
from deepsort_lib import Tracker
from deepsort_lib.testing.synthetic import CrowdScenario, SyntheticFrame

FRAMES = 60
CROWDS = (10, 50, 200)
_times: dict[tuple[int, str, str], float] = {}


def _stream(k: int) -> list[SyntheticFrame]:
    return list(CrowdScenario(num_targets=k, num_frames=FRAMES, seed=0).frames())


def _ours(stream: list[SyntheticFrame]) -> Callable[[], None]:
    def run() -> None:
        tracker = Tracker()
        for fr in stream:
            tracker.update(fr.detections)

    return run


def _original(stream: list[SyntheticFrame]) -> Callable[[], None]:
    raw = [
        (
            [
                (list(b), float(s), 0)
                for b, s in zip(fr.detections.tlwh, fr.detections.scores, strict=True)
            ],
            list(fr.detections.features),
        )
        for fr in stream
    ]

    def run() -> None:
        tracker = DeepSort(
            max_age=30,
            n_init=3,
            nn_budget=100,
            max_cosine_distance=0.2,
            max_iou_distance=0.7,
            embedder=None,
        )
        for dets, embeds in raw:
            tracker.update_tracks(dets, embeds=embeds)

    return run


@pytest.mark.parametrize("threads", [None, 1], ids=["blas-default", "blas-1"])
@pytest.mark.parametrize("k", CROWDS)
@pytest.mark.parametrize("impl", ["deepsort_lib", "deep-sort-realtime"])
def test_update_time(
    benchmark: Any, results: ResultTable, impl: str, k: int, threads: int | None
) -> None:
    stream = _stream(k)
    run = _ours(stream) if impl == "deepsort_lib" else _original(stream)
    benchmark.group = (
        f"tracker update, K={k}, {'default BLAS threads' if threads is None else 'BLAS 1 thread'}"
    )
    rounds = 5 if (impl == "deepsort_lib" or k < 200) else 2
    with blas_threads(threads):
        benchmark.pedantic(run, rounds=rounds, warmup_rounds=1 if k < 200 else 0)
    per_frame_ms = benchmark.stats.stats.min / FRAMES * 1e3
    mode = "default" if threads is None else str(threads)
    _times[(k, mode, impl)] = per_frame_ms
    other = "deep-sort-realtime" if impl == "deepsort_lib" else "deepsort_lib"
    if (k, mode, other) in _times:
        ours = _times[(k, mode, "deepsort_lib")]
        orig = _times[(k, mode, "deep-sort-realtime")]
        results.add(
            "tracker_speed",
            K=k,
            blas_threads=mode,
            deepsort_lib_ms=ours,
            original_ms=orig,
            speedup=orig / ours,
        )
        if k == 50:
            assert ours <= orig / 3, f"K=50: {ours:.2f} ms vs original {orig:.2f} ms"


def test_growth_with_crowd_size_no_faster_than_original() -> None:
    for mode in ("default", "1"):
        have = {
            k: (_times.get((k, mode, "deepsort_lib")), _times.get((k, mode, "deep-sort-realtime")))
            for k in CROWDS
        }
        if any(v is None for pair in have.values() for v in pair):
            pytest.fail("run the whole module: growth needs every crowd size")
        ours_growth = have[200][0] / have[10][0]  # type: ignore[operator]
        orig_growth = have[200][1] / have[10][1]  # type: ignore[operator]
        assert ours_growth <= orig_growth * 1.2, (mode, ours_growth, orig_growth)
