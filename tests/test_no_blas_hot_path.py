"""The per-frame hot path must not call into LAPACK (scipy.linalg / numpy.linalg).

On small machines OpenBLAS's thread pool makes tiny solves thousands of times slower (we saw
scipy's 4x4 triangular solves take ~8 ms instead of ~10 us on 2 cores). The tracker's Kalman
maths is written as elementwise numpy instead; this test guards that it stays so.
"""

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
