import numpy as np
import pytest

from deepsort_lib import InvalidInputError
from deepsort_lib.tracking.postprocess import (
    gaussian_smoothed_interpolation,
    interpolate_gaps,
    smooth_tracks,
)


def _track(track_id: int, frames: list[int], slope: float = 2.0) -> np.ndarray:
    f = np.array(frames, dtype=float)
    return np.column_stack(
        [
            f,
            np.full_like(f, track_id),
            10 + slope * f,
            5 + f,
            20 + 0 * f,
            40 + 0 * f,
            np.full_like(f, 0.9),
        ]
    )


def test_gap_filled_on_the_line() -> None:
    rows = np.concatenate([_track(1, [1, 2, 3, 9, 10]), _track(2, [1, 2])])
    out = interpolate_gaps(rows, max_gap=10)
    t1 = out[out[:, 1] == 1]
    np.testing.assert_array_equal(t1[:, 0], np.arange(1, 11))
    np.testing.assert_allclose(t1[:, 2], 10 + 2.0 * t1[:, 0])
    np.testing.assert_allclose(t1[:, 3], 5 + t1[:, 0])
    assert len(out[out[:, 1] == 2]) == 2


def test_long_gap_left_alone() -> None:
    rows = _track(1, [1, 2, 30])
    assert len(interpolate_gaps(rows, max_gap=5)) == 3


def test_smoothing_reduces_jitter_and_keeps_lines() -> None:
    rng = np.random.default_rng(0)
    clean = _track(1, list(range(100)))
    noisy = clean.copy()
    noisy[:, 2:6] += rng.normal(0, 2.0, (100, 4))
    smooth = smooth_tracks(noisy, sigma=3)
    err_before = np.abs(noisy[15:-15, 2:6] - clean[15:-15, 2:6]).mean()
    err_after = np.abs(smooth[15:-15, 2:6] - clean[15:-15, 2:6]).mean()
    assert err_after < err_before / 2
    np.testing.assert_allclose(smooth_tracks(clean, 3)[15:-15, 2:6], clean[15:-15, 2:6], atol=1e-9)


def test_gsi_combines_and_validates() -> None:
    out = gaussian_smoothed_interpolation(_track(3, [0, 1, 5, 6]), max_gap=5, sigma=1)
    assert len(out) == 7
    with pytest.raises(InvalidInputError):
        interpolate_gaps(np.zeros((2, 3)))
    with pytest.raises(InvalidInputError):
        smooth_tracks(_track(1, [1]), sigma=0)
    with pytest.raises(InvalidInputError):
        interpolate_gaps([[1, 1, np.nan, 0, 1, 1]])
