"""Soak: the tracker's memory and per-frame time before and after load (issue 15).

1. *Burst*: 50 normal frames (5 targets, 128-d features), one frame with 10,000 detections,
   then normal frames again. Memory held by the appearance store and the process RSS, and the
   median time of a normal frame, before the burst and at the end. Before the fix one burst
   pinned 512 MB for good and made every later 5-target frame 30x slower.
2. *Unlimited budget*: ``nn_budget=None`` for many frames: bytes held per feature kept (before
   the fix 42x the features themselves) and the time per frame early and late (which grows,
   as it must, with the features kept: every one is compared).

The default run is short for ``make bench`` (1,000 normal frames after the burst, 2,500
unlimited-budget frames); ``DEEPSORT_SOAK=full`` runs the issue's 10,000 and 25,000.
Results: ``benchmarks/results/soak.{json,md}``.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from benchmarks.conftest import ResultTable
from deepsort_lib import Detections, Tracker
from deepsort_lib.testing.synthetic import CrowdScenario

FULL = os.environ.get("DEEPSORT_SOAK") == "full"
AFTER_BURST = 10_000 if FULL else 1_000
UNBOUNDED = 25_000 if FULL else 2_500
DIM = 128


def _rss_mb() -> float:
    """Resident set size of this process now (Linux), in MiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _normal(frames: int, seed: int = 0) -> list[Detections]:
    scenario = CrowdScenario(num_targets=5, num_frames=frames, feature_dim=DIM, seed=seed)
    return [f.detections for f in scenario.frames()]


def _burst(n: int = 10_000) -> Detections:
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 1900, (n, 2))
    feats = rng.normal(size=(n, DIM)).astype(np.float32)
    return Detections.from_tlwh(np.column_stack([xy, np.full((n, 2), 30.0)]), features=feats)


def _timed(tracker: Tracker, stream: list[Detections]) -> list[float]:
    times = []
    for d in stream:
        t0 = time.perf_counter()
        tracker.update(d)
        times.append(time.perf_counter() - t0)
    return times


def test_burst_then_normal_frames(benchmark: Any, results: ResultTable) -> None:
    stream = _normal(50 + AFTER_BURST)
    burst = _burst()
    record: dict[str, float] = {}

    def run() -> None:
        tracker = Tracker(max_detections=10_000)
        before = _timed(tracker, stream[:50])
        record["store_before_mb"] = tracker._appearance.nbytes / 2**20  # type: ignore[attr-defined]
        record["rss_before_mb"] = _rss_mb()
        record["burst_s"] = _timed(tracker, [burst])[0]
        record["store_peak_mb"] = tracker._appearance.nbytes / 2**20  # type: ignore[attr-defined]
        after = _timed(tracker, stream[50:])
        record["store_after_mb"] = tracker._appearance.nbytes / 2**20  # type: ignore[attr-defined]
        record["rss_after_mb"] = _rss_mb()
        record["frame_before_ms"] = 1e3 * float(np.median(before[10:]))
        record["frame_after_ms"] = 1e3 * float(np.median(after[-200:]))
        tracker.reset()
        record["store_after_reset_mb"] = tracker._appearance.nbytes / 2**20  # type: ignore[attr-defined]

    benchmark.group = "soak"
    benchmark.pedantic(run, rounds=1, iterations=1)
    results.add("soak", scenario=f"burst 10k, then {AFTER_BURST} frames", **record)
    assert record["store_after_mb"] <= max(4 * record["store_before_mb"], 0.5)
    assert record["store_after_reset_mb"] <= 0.5
    assert record["frame_after_ms"] <= 2 * record["frame_before_ms"] + 0.5


def test_unlimited_budget(benchmark: Any, results: ResultTable) -> None:
    stream = _normal(UNBOUNDED, seed=2)
    record: dict[str, float] = {}

    def run() -> None:
        tracker = Tracker(nn_budget=None)
        rss0 = _rss_mb()
        times = _timed(tracker, stream)
        store = tracker._appearance
        kept_mb = store.stored * DIM * 4 / 2**20  # type: ignore[attr-defined]
        record["features_kept_mb"] = kept_mb
        record["store_mb"] = store.nbytes / 2**20  # type: ignore[attr-defined]
        record["overhead"] = record["store_mb"] / max(kept_mb, 1e-9)
        record["rss_growth_mb"] = _rss_mb() - rss0
        record["frame_first_ms"] = 1e3 * float(np.median(times[10:510]))
        record["frame_last_ms"] = 1e3 * float(np.median(times[-500:]))

    benchmark.group = "soak"
    benchmark.pedantic(run, rounds=1, iterations=1)
    results.add("soak", scenario=f"nn_budget=None, {UNBOUNDED} frames", **record)
    # Samples plus owner and sequence numbers (16 bytes), at most doubled by growth.
    assert record["overhead"] <= 2 * (DIM * 4 + 16) / (DIM * 4) + 0.1
