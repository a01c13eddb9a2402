"""What a re-entry wrapper remembers about one inner track: boxes, times and appearance.

A track's appearance is summarised by two L2-normalised means of the (unit) features of the
detections it matched: over the whole track and over its last ``recent`` detections. The
same two means reveal an *appearance switch* (the inner tracker moved the track onto another
person): when the track has at least ``recent`` older features and the cosine distance
between the mean of the older ones and the mean of the recent ones exceeds a threshold, the
track is split there (see :meth:`TrackAppearance.observe`). Means of ``recent`` features
average the per-frame noise away, so one threshold serves noisy and clean features alike; a
one- or two-frame wrong match moves the recent mean too little to split.

Cost per observation: one ``D``-vector addition and subtraction, plus, once the track is
long enough, one ``D``-vector dot product.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Float32Array = NDArray[np.float32]


@dataclass
class Observation:
    """One matched detection: clock time, box (tlwh) and unit feature."""

    time: float
    tlwh: FloatArray
    unit: Float32Array


@dataclass
class SplitOff:
    """The part of a track before an appearance switch (its earlier person).

    Attributes
    ----------
    last_time
        Where the switch shows: the time of the first observation of the recent window.
    last_tlwh
        ``(4,)`` the box then.
    summary
        ``(1, D)`` L2-normalised mean feature of that part.
    """

    last_time: float
    last_tlwh: FloatArray
    summary: Float32Array


@dataclass
class TrackAppearance:
    """Boxes, times, class and appearance means of one inner track.

    ``recent`` holds the last observations with a feature; ``feature_sum`` sums all of the
    track's unit features (``recent_sum`` the ones in ``recent``).
    """

    first_time: float
    first_tlwh: FloatArray
    last_time: float
    last_tlwh: FloatArray
    class_id: int
    recent: deque[Observation]
    feature_sum: FloatArray | None = None
    recent_sum: FloatArray | None = None
    feature_count: int = 0
    observed: bool = False
    global_id: int | None = None
    reported: bool = False
    reidentified: bool = False
    last_reported: float = field(default=0.0)

    def observe(
        self,
        time: float,
        tlwh: FloatArray,
        class_id: int,
        unit: Float32Array | None,
        split_distance: float | None = None,
    ) -> SplitOff | None:
        """Record a matched detection; ``unit`` is its L2-normalised feature (or ``None``).

        With ``split_distance``, returns the part before an appearance switch when one is
        found (see the module docstring); the track then restarts from its recent
        observations (first time and box, appearance), and the caller decides its identity.
        """
        if not self.observed:
            # A track first met while coasting (its state was dropped when another track
            # claimed its identity) starts where it is seen, not where it was predicted:
            # otherwise it would seem to overlap in time with the identity it may continue.
            self.observed = True
            self.first_time, self.first_tlwh = time, tlwh
        self.last_time = time
        self.last_tlwh = tlwh
        self.class_id = class_id
        if unit is None:
            return None
        if self.feature_sum is None or self.feature_sum.shape != unit.shape:
            self.feature_sum = np.zeros(unit.shape, dtype=np.float64)
            self.recent_sum = np.zeros(unit.shape, dtype=np.float64)
            self.feature_count = 0
            self.recent.clear()
        assert self.recent_sum is not None
        if self.recent.maxlen is not None and len(self.recent) == self.recent.maxlen:
            self.recent_sum -= self.recent[0].unit
        self.recent.append(Observation(time, tlwh, unit))
        self.feature_sum += unit
        self.recent_sum += unit
        self.feature_count += 1
        if split_distance is None or self.recent.maxlen is None:
            return None
        older_count = self.feature_count - len(self.recent)
        if older_count < self.recent.maxlen:
            return None
        older = self.feature_sum - self.recent_sum
        if _cosine_distance(older, self.recent_sum) <= split_distance:
            return None
        # Where the recent window starts is where the switch shows; restart there.
        start = self.recent[0]
        norm = float(np.sqrt(older @ older))
        part = SplitOff(start.time, start.tlwh.copy(), (older / norm).astype(np.float32)[None, :])
        self.first_time = start.time
        self.first_tlwh = start.tlwh
        self.feature_sum = self.recent_sum.copy()
        self.feature_count = len(self.recent)
        return part

    def summary(self) -> Float32Array:
        """Whole-track mean and recent mean, each L2-normalised: ``(K <= 2, D)``."""
        if self.feature_sum is None or self.recent_sum is None or self.feature_count == 0:
            return np.zeros((0, 0), dtype=np.float32)
        rows = [self.feature_sum, self.recent_sum]
        if len(self.recent) == self.feature_count:
            rows = rows[:1]  # the same mean twice
        out = np.asarray(rows, dtype=np.float64)
        norms = np.sqrt(np.einsum("ij,ij->i", out, out))[:, None]
        keep = norms[:, 0] > 0
        result: Float32Array = (out[keep] / norms[keep]).astype(np.float32)
        return result


def _cosine_distance(a: FloatArray, b: FloatArray) -> float:
    na, nb = float(np.sqrt(a @ a)), float(np.sqrt(b @ b))
    if na == 0 or nb == 0:
        return 0.0
    return 1.0 - float(a @ b) / (na * nb)


def unit_rows(
    features: Float32Array | None,
) -> tuple[Float32Array | None, NDArray[np.bool_] | None]:
    """L2-normalised feature rows and which rows have appearance (non-zero, finite)."""
    if features is None or features.ndim != 2:
        return None, None
    norms = np.sqrt(np.einsum("ij,ij->i", features, features))
    has = np.isfinite(norms) & (norms > 0)
    units = (features / np.where(has, norms, 1.0)[:, None]).astype(np.float32, copy=False)
    return units, has


__all__ = ["Observation", "SplitOff", "TrackAppearance", "unit_rows"]
