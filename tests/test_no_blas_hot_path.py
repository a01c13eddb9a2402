"""What the per-frame hot path asks of BLAS and LAPACK.

On small machines OpenBLAS's thread pool makes tiny solves thousands of times slower (we saw
scipy's 4x4 triangular solves take ~8 ms instead of ~10 us on 2 cores). So:

* LAPACK (``numpy.linalg`` / ``scipy.linalg``) is never called: the Kalman maths is written as
  elementwise numpy (``test_update_never_calls_linalg``).
* BLAS matrix products (``np.matmul``; ``np.dot`` is never used) appear in one place only,
  the appearance distances: float32 features against each track's gallery (at most
  ``nn_budget`` rows) or EMA feature, so each product's size is bounded whatever the length of
  the run (``test_matrix_products_only_for_appearance_and_bounded``). They are not all below
  OpenBLAS's multithreading thresholds (``m * n * k <= 4 * 65536`` for gemm, ``m * n < 4 *
  2304`` for matrix-vector): a full 100 x 128 gallery against one detection is above the
  second. Measured on this 2-core machine, 64 such products take 115 us with default BLAS
  threads and 97 us with one: a thread pool waking up, not the thousand-fold LAPACK slowdown.
  ``benchmarks/test_bench_tracker.py`` times whole updates both ways.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.linalg

from deepsort_lib import Tracker
from deepsort_lib.testing.synthetic import CrowdScenario


def test_update_never_calls_linalg(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("LAPACK call in the tracker's hot path")

    for name in ("inv", "solve", "cholesky", "det", "eigh"):
        monkeypatch.setattr(np.linalg, name, forbidden)
    for name in ("cho_factor", "cho_solve", "solve_triangular", "solve", "inv", "cholesky"):
        monkeypatch.setattr(scipy.linalg, name, forbidden)
    tracker = Tracker()
    for fr in CrowdScenario(num_targets=20, num_frames=40, seed=3).frames():
        tracker.update(fr.detections)
        tracker.predict()
    assert len(tracker) > 0


@pytest.mark.parametrize("preset", ["original", "strongsort"])
def test_matrix_products_only_for_appearance_and_bounded(
    monkeypatch: pytest.MonkeyPatch, preset: str
) -> None:
    real = np.matmul
    calls: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []

    def spy(a: Any, b: Any, *args: Any, **kwargs: Any) -> Any:
        a, b = np.asarray(a), np.asarray(b)
        calls.append((a.dtype.str + b.dtype.str, a.shape, b.shape))
        return real(a, b, *args, **kwargs)

    def forbidden_dot(*args: object, **kwargs: object) -> None:
        raise AssertionError("np.dot in the tracker's hot path")

    monkeypatch.setattr(np, "matmul", spy)
    monkeypatch.setattr(np, "dot", forbidden_dot)
    tracker = Tracker.from_preset(preset)
    for fr in CrowdScenario(num_targets=20, num_frames=120, seed=3, feature_dim=128).frames():
        tracker.update(fr.detections)
    assert calls, "the appearance distances go through np.matmul"
    budget = tracker.config.nn_budget or 1
    for dtypes, a, b in calls:
        assert dtypes == "<f4<f4", "only float32 feature products"
        assert a[-1] == 128 == b[-2], "only products over the feature dimension"
        # Track side: one gallery (<= nn_budget samples) or one EMA feature per track.
        rows_per_track = a[-2] if len(a) == 3 else 1
        assert rows_per_track <= (budget if preset == "original" else 1), (a, b)
