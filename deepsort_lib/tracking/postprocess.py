"""Offline post-processing of finished tracks: gap interpolation and Gaussian smoothing.

For recorded video, whole trajectories are known, so short gaps (frames where a track was
missed) can be filled and jitter smoothed out, as StrongSORT's "Gaussian-smoothed
interpolation" (GSI) does. Here: linear interpolation across gaps of at most ``max_gap``
frames, then Gaussian kernel smoothing of each coordinate along time
(``scipy.ndimage.gaussian_filter1d``), track by track.

Input and output are MOTChallenge-style result arrays: one row per box,
``frame, id, x, y, w, h`` followed by any further columns (kept from the nearest original
row for interpolated ones, whose confidence column, if any, is set to the lower of the two
ends).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.ndimage import gaussian_filter1d

from deepsort_lib.errors import InvalidInputError

FloatArray = NDArray[np.float64]


def _as_results(results: ArrayLike) -> FloatArray:
    array = np.array(results, dtype=np.float64)
    if array.ndim != 2 or (array.size and array.shape[1] < 6):
        raise InvalidInputError("results must be an (M, >=6) array: frame, id, x, y, w, h, ...")
    if not np.all(np.isfinite(array[:, :6])):
        raise InvalidInputError("results contain NaN or infinite boxes")
    return array.reshape(-1, max(array.shape[1] if array.ndim == 2 else 6, 6))


def interpolate_gaps(results: ArrayLike, max_gap: int = 20) -> FloatArray:
    """Fill gaps of at most ``max_gap`` missing frames inside each track linearly.

    Returns the rows sorted by (id, frame), original rows unchanged.
    """
    if max_gap < 1:
        raise InvalidInputError("max_gap must be >= 1")
    rows = _as_results(results)
    rows = rows[np.lexsort((rows[:, 0], rows[:, 1]))]
    if len(rows) < 2:
        return rows
    same_track = rows[1:, 1] == rows[:-1, 1]
    step = rows[1:, 0] - rows[:-1, 0]
    gaps = np.flatnonzero(same_track & (step > 1) & (step <= max_gap + 1))
    pieces = [rows]
    for g in gaps:  # one vectorised fill per gap
        a, b = rows[g], rows[g + 1]
        n = int(b[0] - a[0]) - 1
        frac = (np.arange(1, n + 1) / (n + 1))[:, None]
        fill = np.repeat(a[None], n, axis=0)
        fill[:, 0] = a[0] + np.arange(1, n + 1)
        fill[:, 2:6] = a[2:6] + frac * (b[2:6] - a[2:6])
        if rows.shape[1] > 6:
            fill[:, 6] = min(a[6], b[6])
        pieces.append(fill)
    out = np.concatenate(pieces)
    return out[np.lexsort((out[:, 0], out[:, 1]))]


def smooth_tracks(results: ArrayLike, sigma: float = 2.0) -> FloatArray:
    """Gaussian-smooth each track's box coordinates along time (``sigma`` in frames).

    Runs of consecutive frames are smoothed separately, so a remaining gap never blends two
    distant positions.
    """
    if sigma <= 0:
        raise InvalidInputError("sigma must be positive")
    rows = _as_results(results)
    rows = rows[np.lexsort((rows[:, 0], rows[:, 1]))].copy()
    if len(rows) < 2:
        return rows
    breaks = np.flatnonzero((rows[1:, 1] != rows[:-1, 1]) | (rows[1:, 0] - rows[:-1, 0] != 1)) + 1
    for start, stop in zip(np.r_[0, breaks], np.r_[breaks, len(rows)], strict=True):
        if stop - start > 1:
            rows[start:stop, 2:6] = gaussian_filter1d(
                rows[start:stop, 2:6], sigma, axis=0, mode="nearest"
            )
    return rows


def gaussian_smoothed_interpolation(
    results: ArrayLike, max_gap: int = 20, sigma: float = 2.0
) -> FloatArray:
    """:func:`interpolate_gaps` then :func:`smooth_tracks` (GSI-style post-processing)."""
    return smooth_tracks(interpolate_gaps(results, max_gap), sigma)


__all__ = ["gaussian_smoothed_interpolation", "interpolate_gaps", "smooth_tracks"]
