"""Camera-motion compensation of track states (the maths; estimation lives at the edge).

Given the affine map ``x' = A x + t`` from the previous frame's pixels to the current
frame's, a track's centre moves by the full map, its velocity by ``A`` alone, and its size by
the map's isotropic scale ``s = sqrt(|det A|)``. The covariance follows the same linear map
(``P' = J P J^T``). This is the compensation of BoT-SORT, written for both measurement
conventions (``xyah``: the aspect ratio is scale-free and stays as it is).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.errors import InvalidInputError

FloatArray = NDArray[np.float64]


#: Largest magnitude accepted in a frame-to-frame map's linear part (a zoom of 10,000x
#: between two frames is no camera), and of its shift, in pixels. Checked with the input, so
#: that a finite but absurd map is refused before any track moves: past these, warping
#: could overflow the states, and a multi-stream batch would find out stream by stream.
MAX_LINEAR = 1e4
MAX_SHIFT = 1e9


def as_affine(camera_motion: ArrayLike) -> FloatArray:
    """``camera_motion`` as a finite ``(2, 3)`` float64 affine matrix.

    Raises
    ------
    InvalidInputError
        If it is not numeric, not ``(2, 3)``, not finite, or beyond what one frame's camera
        motion can be (``|A| > MAX_LINEAR`` or ``|t| > MAX_SHIFT`` pixels).
    """
    try:
        affine = np.asarray(camera_motion, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("camera_motion must be a numeric (2, 3) array") from exc
    if affine.shape != (2, 3) or not np.all(np.isfinite(affine)):
        raise InvalidInputError(
            f"camera_motion must be a finite (2, 3) affine matrix, got shape {affine.shape}"
        )
    if np.abs(affine[:, :2]).max() > MAX_LINEAR or np.abs(affine[:, 2]).max() > MAX_SHIFT:
        raise InvalidInputError(
            f"camera_motion is no frame-to-frame camera motion: linear part up to "
            f"{np.abs(affine[:, :2]).max():.3g} (at most {MAX_LINEAR:g}), shift up to "
            f"{np.abs(affine[:, 2]).max():.3g} px (at most {MAX_SHIFT:g})"
        )
    return affine


def warp_jacobian(affine: FloatArray, measurement: str = "xyah") -> FloatArray:
    """The 8x8 linear part of the state transform for one affine map."""
    a = affine[:, :2]
    scale = float(np.sqrt(abs(np.linalg.det(a))))
    j = np.zeros((8, 8))
    for offset in (0, 4):  # position block, then velocity block
        j[offset : offset + 2, offset : offset + 2] = a
        if measurement == "xyah":
            j[offset + 2, offset + 2] = 1.0
            j[offset + 3, offset + 3] = scale
        else:
            j[offset + 2, offset + 2] = scale
            j[offset + 3, offset + 3] = scale
    return j


def warp_states(
    means: FloatArray, covariances: FloatArray, affine: FloatArray, measurement: str = "xyah"
) -> tuple[FloatArray, FloatArray]:
    """Move ``(T, 8)`` states and ``(T, 8, 8)`` covariances by a ``(2, 3)`` affine map.

    Raises
    ------
    InvalidInputError
        If the map moves a state out of floating-point range (a finite but absurd map, e.g.
        a scale of 1e150); the inputs are not modified.
    """
    if means.shape[0] == 0:
        return means, covariances
    with np.errstate(over="ignore", invalid="ignore"):
        j = warp_jacobian(affine, measurement)
        new_means = np.einsum("ij,tj->ti", j, means)
        new_means[:, :2] += affine[:, 2]
        new_covs = np.einsum("ij,tjk,lk->til", j, covariances, j)
    if not (np.isfinite(new_means).all() and np.isfinite(new_covs).all()):
        raise InvalidInputError("camera_motion moves the tracks out of floating-point range")
    return new_means, new_covs


__all__ = ["as_affine", "warp_jacobian", "warp_states"]
