"""The shapes a camera's cast may take, each fitted robustly to cross-camera links.

A link is one person seen in two cameras: unit features ``a`` (camera ``a``) and ``b``
(camera ``b``). A cast is ``(gain, offset)`` with ``b ~ gain * a + offset`` per dimension;
three shapes are candidates:

* :func:`translation` (gain 1): the camera shifts every feature in a common direction (its
  light, background; *camera bias* in re-identification work);
* :func:`white_balance` (offset 0): the camera scales each dimension;
* :func:`camera_normalisation` (both): what camera-wise batch normalisation undoes per
  dimension (Zhuang et al., ECCV 2020).

:func:`fit_cast` chooses among them by leave-one-out error and refuses all three when none
explains the links (a camera that mixes dimensions, another viewpoint: nothing here
describes it).

Each fit is robust to a minority of wrong links (a look-alike taken for the traveller, each
off in its own direction): a translation is the mean of the half of the differences nearest
their medoid (:func:`robust_mean`); a gain is fitted on that half, then refitted on the
links that fit explains (a trimmed fit, :data:`TRIM_RATIO`). Gains are fitted with
:data:`GAIN_PRIOR_LINKS` links' worth of prior at gain 1, so that a pair's first links give
nearly a translation. Written here rather than taken from a library: scikit-learn's robust
regressors fit one output at a time, with no prior towards gain 1, and the library does not
depend on it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]
#: ``(gain, offset)``: ``b ~ gain * a + offset`` per dimension.
Cast = tuple[FloatArray, FloatArray]

#: A per-dimension gain is fitted with this many links' worth of prior at gain 1: from a
#: pair's first links it is nearly a translation, and it becomes a gain as links agree.
GAIN_PRIOR_LINKS = 4.0

#: Links before a gain may be chosen: a gain per dimension from fewer links fits their noise
#: (short two-camera stress scenes, 4 seeds: from 4 links, 2 false links per 40 in three
#: families instead of 0-1; from 8, as with translations only).
GAIN_MIN_LINKS = 8

#: A gain is refitted on the links within this many times the links' median distance under
#: the first fit: look-alikes taken for travellers are far outside it.
TRIM_RATIO = 2.0

#: The per-dimension gains a cast may have (a white balance or exposure stays within it).
GAIN_RANGE = (0.25, 4.0)


def fit_cast(a: FloatArray, b: FloatArray) -> Cast | None:
    """The cast that best explains the links (rows of ``a`` and ``b``, unit features in the
    two cameras), or ``None`` when none does.

    From :data:`GAIN_MIN_LINKS` links on, each candidate shape (before it, a translation
    only) is judged leave-one-out (each link with the cast fitted to the
    *other* links taken off, so that a link does not explain itself): the one with the
    smallest median distance is kept if that median is at most half the links' median raw
    distance."""
    before = float(np.median(1.0 - np.einsum("ij,ij->i", b, a)))
    best: tuple[float, Callable[[FloatArray, FloatArray], Cast]] | None = None
    shapes = (translation, white_balance, camera_normalisation)
    for fit in shapes if len(a) >= GAIN_MIN_LINKS else shapes[:1]:
        left_out = [
            cast_distances(fit(np.delete(a, i, 0), np.delete(b, i, 0)), a[i : i + 1], b[i : i + 1])
            for i in range(len(a))
        ]
        after = float(np.median(np.concatenate(left_out)))
        if after <= 0.5 * before and (best is None or after < best[0]):
            best = (after, fit)
    return None if best is None else best[1](a, b)


def translation(a: FloatArray, b: FloatArray) -> Cast:
    """``b ~ a + offset``: the robust mean of the links' differences."""
    return np.ones(a.shape[1]), robust_mean(b - a)


def white_balance(a: FloatArray, b: FloatArray) -> Cast:
    """``b ~ gain * a`` per dimension (a trimmed fit, see the module docstring)."""
    return _trimmed(_gain_through_zero, a, b)


def camera_normalisation(a: FloatArray, b: FloatArray) -> Cast:
    """``b ~ gain * a + offset`` per dimension (a trimmed fit, see the module docstring)."""
    return _trimmed(_gain_and_offset, a, b)


def cast_distances(cast: Cast, a: FloatArray, b: FloatArray) -> FloatArray:
    """Per link, the cosine distance of ``a`` to ``b`` taken back into camera ``a``'s
    terms by ``cast``."""
    gain, offset = cast
    back = (b - offset) / gain
    norms = np.maximum(np.sqrt(np.einsum("ij,ij->i", back, back)), 1e-12)
    out: FloatArray = 1.0 - np.einsum("ij,ij->i", back, a) / norms
    return out


def robust_mean(rows: FloatArray) -> FloatArray:
    """The mean of the half of ``rows`` nearest their medoid (the row with the smallest
    summed distance to the others): links of one cast agree, wrong links (look-alikes, each
    off in its own direction) do not, so a minority of them does not move it."""
    mean: FloatArray = rows[_nearest_half(rows)].mean(axis=0)
    return mean


def _nearest_half(rows: FloatArray) -> IndexArray:
    """Indices of the half of ``rows`` nearest their medoid (all of two or fewer rows)."""
    if len(rows) <= 2:
        return np.arange(len(rows))
    sq = np.einsum("ij,ij->i", rows, rows)
    dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * rows @ rows.T, 0.0))
    medoid = int(np.argmin(dist.sum(axis=1)))
    return np.argsort(dist[medoid], kind="stable")[: _half(len(rows))]


def _half(n: int) -> int:
    return max(2, (n + 1) // 2)


def _trimmed(fit: Callable[[FloatArray, FloatArray], Cast], a: FloatArray, b: FloatArray) -> Cast:
    """``fit`` on the links whose differences are nearest their medoid, then refitted on
    the links that first fit explains (distance at most :data:`TRIM_RATIO` times the
    median: at least half of them, and all of them when they agree)."""
    keep = _nearest_half(b - a)
    distances = cast_distances(fit(a[keep], b[keep]), a, b)
    # At least the half at or below the median, even when float error puts it below 0.
    keep = np.flatnonzero(distances <= TRIM_RATIO * max(float(np.median(distances)), 0.0))
    return fit(a[keep], b[keep])


def _gain_prior(spread: FloatArray, links: int) -> float:
    """The prior's weight: :data:`GAIN_PRIOR_LINKS` links of the average dimension (never
    zero, so that a dimension the links do not vary in keeps gain 1)."""
    return GAIN_PRIOR_LINKS * max(float(spread.mean()), 1e-12) / max(links, 1)


def _gain_through_zero(a: FloatArray, b: FloatArray) -> Cast:
    """Per dimension, the least-squares gain of ``b`` on ``a`` (no offset), shrunk to 1."""
    saa, sab = np.einsum("ij,ij->j", a, a), np.einsum("ij,ij->j", a, b)
    prior = _gain_prior(saa, len(a))
    gain = np.clip((sab + prior) / (saa + prior), *GAIN_RANGE)
    return gain, np.zeros_like(gain)


def _gain_and_offset(a: FloatArray, b: FloatArray) -> Cast:
    """Per dimension, the least-squares gain and offset of ``b`` on ``a``, the gain shrunk
    to 1."""
    a_mean, b_mean = a.mean(axis=0), b.mean(axis=0)
    gain, _ = _gain_through_zero(a - a_mean, b - b_mean)  # the gain of the centred links
    return gain, b_mean - gain * a_mean


__all__ = [
    "GAIN_MIN_LINKS",
    "GAIN_PRIOR_LINKS",
    "GAIN_RANGE",
    "TRIM_RATIO",
    "Cast",
    "camera_normalisation",
    "cast_distances",
    "fit_cast",
    "robust_mean",
    "translation",
    "white_balance",
]
