"""What a re-entry wrapper remembers about one inner track: boxes, times and appearance.

A track's appearance is summarised by two L2-normalised means of the (unit) features of the
detections it matched: over the whole track and over its last ``recent`` detections. The
same two means reveal an *appearance switch* (the inner tracker moved the track onto another
person): when the track has at least ``recent`` older features and the cosine distance
between the mean of the older ones and the mean of the recent ones exceeds a threshold, the
change is located among the last ``3 * recent`` features (a two-segment least-squares fit)
and the track is split there, unless more of it follows the current person than the earlier
one (see :meth:`TrackAppearance.observe`). Means of ``recent`` features average the
per-frame noise away, so one threshold serves noisy and clean features alike; a one- or
two-frame wrong match moves the recent mean too little to split.

Cost per observation: one ``D``-vector addition and subtraction, plus, once the track is
long enough, one ``D``-vector dot product; locating a change costs ``O(3 * recent * D)``
and happens only when a switch shows.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Float32Array = NDArray[np.float32]

#: Observations kept to locate a switch, in ``recent`` windows.
HISTORY_WINDOWS = 3
#: Past windows kept to measure appearance drift (one every ``recent`` features).
SNAPSHOTS = 32


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
    track's unit features (``recent_sum`` the ones in ``recent``). After a split,
    ``split_from`` is the identity the track had before it and ``split_summary`` that part's
    ``(1, D)`` mean (see :meth:`returns_to`).
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
    split_from: int | None = None
    split_summary: Float32Array | None = None
    history: deque[Observation] = field(default_factory=deque)
    #: Reported under a provisional id, still to be matched against the memory once its
    #: ``recent`` window is full (see :meth:`mature`).
    pending: bool = False
    #: Left unmatched while a camera pair was in warm-up: the memory's
    #: :meth:`~deepsort_lib.tracking.identity.IdentityMemory.cast_progress` then; the track
    #: asks again once it changes (``None``: no need).
    reask_at: int | None = None
    #: Past ``recent`` windows (when each was complete, its sum), one every ``recent``
    #: features: the references of :meth:`drift_distances`.
    snapshots: deque[tuple[float, Float32Array]] = field(default_factory=deque)

    def __post_init__(self) -> None:
        if self.recent.maxlen is not None:  # where a switch is searched for, once seen
            self.history = deque(self.history, maxlen=HISTORY_WINDOWS * self.recent.maxlen)
        self.snapshots = deque(self.snapshots, maxlen=SNAPSHOTS)

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
        found (see the module docstring); the track then restarts where the person changed
        (first time and box, appearance), and the caller decides its identity.
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
            self.history.clear()
            self.snapshots.clear()
        assert self.recent_sum is not None
        if self.recent.maxlen is not None and len(self.recent) == self.recent.maxlen:
            self.recent_sum -= self.recent[0].unit
        seen = Observation(time, tlwh, unit)
        self.recent.append(seen)
        self.history.append(seen)
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
        return self._split_at_switch()

    def _split_at_switch(self) -> SplitOff | None:
        """Locate the switch in :attr:`history` and split there; or, when more of the track
        follows the current person than the earlier one, keep the track whole (``None``).
        Either way its appearance describes the current person only from then on."""
        assert self.feature_sum is not None
        units = np.asarray([o.unit for o in self.history], dtype=np.float64)
        earlier = self.feature_count - len(units)  # features older than the history
        k = _changepoint(self.feature_sum - units.sum(axis=0), earlier, units)
        before_count = earlier + k
        after_sum = units[k:].sum(axis=0)
        before_sum = self.feature_sum - after_sum
        start = self.history[k]
        self.feature_sum = after_sum
        self.feature_count = len(units) - k
        for _ in range(k):
            self.history.popleft()
        self.snapshots.clear()  # the references restart with the current person
        if self.feature_count >= before_count:
            return None  # most of the track is the current person: it keeps its identity
        self.first_time, self.first_tlwh = start.time, start.tlwh
        norm = float(np.sqrt(before_sum @ before_sum))
        summary = (before_sum / norm).astype(np.float32)[None, :]
        return SplitOff(start.time, start.tlwh.copy(), summary)

    def returns_to(self, max_distance: float) -> bool:
        """Whether the recent mean is back within ``max_distance`` (cosine) of the part before
        the last split: the switch was a passing swap (e.g. with a person crossing) and the
        track follows its earlier person again."""
        if self.split_summary is None or self.recent_sum is None or not self.recent:
            return False
        return _cosine_distance(self.recent_sum, self.split_summary[0]) <= max_distance

    def rejoin(self) -> None:
        """The track follows its earlier person again (after :meth:`returns_to`): forget the
        swap, so that its appearance is the recent window's and no split is pending."""
        if self.recent_sum is not None:
            self.feature_sum = self.recent_sum.copy()
            self.feature_count = len(self.recent)
            self.history = deque(self.recent, maxlen=self.history.maxlen)
        self.snapshots.clear()
        self.split_from, self.split_summary = None, None

    def mature(self) -> bool:
        """Whether the track has a full ``recent`` window of features (what the memory's
        threshold is calibrated for)."""
        return self.recent.maxlen is not None and len(self.recent) == self.recent.maxlen

    def recent_mean(self) -> FloatArray | None:
        """The (unnormalised) sum of the ``recent`` window, once :meth:`mature`."""
        return self.recent_sum if self.mature() else None

    def whole_mean(self) -> FloatArray | None:
        """The (unnormalised) sum of all the track's features."""
        return self.feature_sum if self.feature_count else None

    def self_distance(self) -> float | None:
        """A same-identity distance as the memory would measure it: the track's latest
        ``recent`` features (as a new track's query) against its older ones summarised as a
        lost identity is (the mean of all of them, and of the ``recent`` before), the larger
        of the two cosine distances. ``None`` until the track has ``3 * recent`` features."""
        r = self.recent.maxlen
        if r is None or self.recent_sum is None or self.feature_sum is None:
            return None
        if self.feature_count < HISTORY_WINDOWS * r or len(self.history) < 2 * r:
            return None
        items = list(self.history)
        previous = np.asarray([o.unit for o in items[-2 * r : -r]], np.float64).sum(axis=0)
        older = self.feature_sum - self.recent_sum
        return max(
            _cosine_distance(older, self.recent_sum), _cosine_distance(previous, self.recent_sum)
        )

    def drift_distances(self, time: float) -> list[tuple[float, float]]:
        """How far the person's appearance moved over the track: ``(elapsed, distance)``
        between each kept past window and the latest one (means of ``recent`` features, as a
        lost identity's recent mean and a returning track's query are); then the latest
        window is kept as a reference. Call it every ``recent`` features (windows disjoint)."""
        if not self.mature() or self.recent_sum is None:
            return []
        latest = self.recent_sum
        norm = float(np.sqrt(latest @ latest))
        out: list[tuple[float, float]] = []
        if self.snapshots and norm > 0:
            times = np.array([t for t, _ in self.snapshots])
            past = np.array([v for _, v in self.snapshots], np.float64)
            norms = np.maximum(np.sqrt(np.einsum("ij,ij->i", past, past)), 1e-12)
            distance = 1.0 - (past @ latest) / (norms * norm)
            out = list(zip((time - times).tolist(), distance.tolist(), strict=True))
        self.snapshots.append((time, latest.astype(np.float32)))
        return out

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


def _changepoint(prefix_sum: FloatArray, prefix_count: int, units: FloatArray) -> int:
    """Where in ``units`` (rows after ``prefix_count`` earlier features summing to
    ``prefix_sum``) the mean changes most: the ``k`` maximising the size-weighted squared
    distance between the means before and after it (a two-segment least-squares fit)."""
    n = len(units)
    cumulative = np.cumsum(units, axis=0)
    total = prefix_sum + cumulative[-1]
    count = prefix_count + n
    best, best_score = 1 if prefix_count == 0 else 0, -1.0
    for k in range(0 if prefix_count else 1, n):
        before_n = prefix_count + k
        before = prefix_sum + (cumulative[k - 1] if k else 0.0)
        after = total - before
        diff = before / before_n - after / (count - before_n)
        score = before_n * (count - before_n) / count * float(diff @ diff)
        if score > best_score:
            best, best_score = k, score
    return best


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
