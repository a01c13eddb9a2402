"""An acceptance threshold for re-identification that calibrates itself from the stream.

A fixed cosine threshold suits one feature model: the distance between two views of one
person depends on the encoder, the scene, the frame rate and the number of features averaged,
and so does the distance between two people. A re-entry wrapper sees both, for free, on every
stream:

* **same identity**: a confirmed track's latest ``recent`` features against its older ones
  (the very comparison the memory makes between a lost identity and a new track, see
  :meth:`~deepsort_lib.tracking.track_appearance.TrackAppearance.self_distance`);
* **same identity, over time** (*drift*): a track's latest ``recent`` features against its
  first ``recent`` ones, with the time between them: how much one person's appearance moves
  in a given time (light, pose, the encoder's response to the background);
* **different identities**: a track's latest features against the *nearest* other track
  visible at the same time (two simultaneously visible tracks are two people; the nearest one
  is the hardest negative of the scene).

:class:`DistanceCalibration` keeps the latest ``window`` distances of each kind (bounded ring
buffers) and derives the threshold from robust quantiles of the two samples:

``s = quantile(same, same_quantile)``, ``d = quantile(different, different_quantile)``;

``g(G) = quantile(drift distances between windows about G apart, same_quantile)`` (the
elapsed times seen are cut at their quintiles; a gap longer than any track lives gets the
longest bin);

``g0`` = the same over the shortest fifth of the elapsed times;

``threshold(G) = clip(min(margin * s + drift_margin * max(g(G) - g0, 0), (s + d) / 2),
lower, upper)`` for a lost identity and a new track ``G`` apart in time.

``margin * s`` allows a returning person to look a little more different than within one
visit, in units of the scene's own same-identity spread. ``g(G) - g0`` is how much *more*
the scene's people are seen to change over a time like the gap than over a short time
(light, wear; none in a scene without drift): the spread already holds what a person varies
within a visit (views, pose), and the drift at short elapsed times measures that same
variation window to window, so only the growth is added. A scene whose appearance cycles
(front, side, back views) therefore gets no drift allowance. (The rule before 2026-12-07 was
``max(1.5 s, 1.5 g(G))``: it counted a cycle twice, and on the ``pose-modes`` stress family
let 5 look-alikes in 40 through.) A look-alike farther than that is refused even when the
scene has no co-visible look-alikes to learn from. ``(s + d) / 2`` keeps the threshold below
the scene's hardest negatives.

Prior and bounds: until each sample holds ``min_samples`` distances the threshold is
``prior`` (the memory's configured ``max_cosine_distance``); it never leaves
``[lower, upper]``.

Failure modes (documented in docs/identity.md):

* *Everybody looks alike*: when ``d <= s`` (the hardest negatives are as close as the
  spread of one person), no threshold separates the two; the calibration says so
  (:attr:`DistanceCalibration.distinct` is ``False``) and the threshold drops to ``lower``:
  the wrapper refuses to re-identify rather than guess.
* *Change while away*: a person who comes back looking more different than anyone is seen
  to change within a track (another camera's colour, a coat taken off, a gap much longer than
  tracks live) is not recovered: within-track samples cannot see that change.
* *Unseen look-alikes*: a newcomer closer to a lost identity than ``margin`` spreads is
  taken for it; only co-visible look-alikes lower ``d``.
* *Inner id switches* put two people in one track's sample: the high quantile of ``same``
  grows. The wrapper's appearance-switch split keeps most of them out. A switch the split
  misses also looks like drift between windows far apart, and loosens the threshold for
  long gaps (seen once on a stress family with the ``recommended`` preset: an allowance of
  0.07 on a base of 0.034 in a scene without drift; not verified to be the cause).

Cost: O(1) per added distance; the quantiles (``O(window)``) are recomputed only when the
threshold is read after new samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.errors import ConfigurationError, StateError, reading_state

FloatArray = NDArray[np.float64]


class DistanceRing:
    """The latest ``size`` finite distances (a ring buffer)."""

    def __init__(self, size: int) -> None:
        self.values = np.zeros(int(size), np.float64)
        self.count = 0  # distances ever added (the next slot is count % size)

    def __len__(self) -> int:
        return min(self.count, len(self.values))

    def add(self, distances: ArrayLike) -> int:
        """Add the finite ones; returns how many were added."""
        d = np.asarray(distances, np.float64).ravel()
        d = d[np.isfinite(d)]
        for value in d[-len(self.values) :]:
            self.values[self.count % len(self.values)] = value
            self.count += 1
        return len(d)

    def sample(self) -> FloatArray:
        return self.values[: len(self)]


class DistanceCalibration:
    """Online acceptance threshold from same- and different-identity distances.

    Parameters
    ----------
    prior
        The threshold until both samples hold ``min_samples`` distances.
    lower, upper
        Bounds of the threshold.
    window
        Distances kept per sample (the latest).
    min_samples
        Distances needed in each sample before the calibration replaces the prior.
    same_quantile, different_quantile
        Quantiles of the two samples the rule uses (see the module docstring).
    margin
        Allowed distance between visits, in same-identity spreads.
    drift_margin
        Added allowance per unit of drift *growth*: how much more tracks change over a time
        like the gap than over the shortest elapsed times seen.
    """

    def __init__(
        self,
        prior: float = 0.25,
        *,
        lower: float = 0.01,
        upper: float = 0.5,
        window: int = 1000,
        min_samples: int = 20,
        same_quantile: float = 0.95,
        different_quantile: float = 0.05,
        margin: float = 1.25,
        drift_margin: float = 1.0,
        cross_quantile: float = 0.25,
    ) -> None:
        if not 0.0 <= lower <= upper <= 2.0:
            raise ConfigurationError(f"need 0 <= lower <= upper <= 2, got {lower}, {upper}")
        if not 0.0 <= prior <= 2.0:
            raise ConfigurationError(f"prior must be in [0, 2], got {prior}")
        for name, q in (
            ("cross_quantile", cross_quantile),
            ("same_quantile", same_quantile),
            ("different_quantile", different_quantile),
        ):
            if not 0.0 <= q <= 1.0:
                raise ConfigurationError(f"{name} must be in [0, 1], got {q}")
        if (
            int(window) != window
            or window < 1
            or int(min_samples) != min_samples
            or min_samples < 1
        ):
            raise ConfigurationError("window and min_samples must be positive integers")
        for name, m in (("margin", margin), ("drift_margin", drift_margin)):
            if not (np.isfinite(m) and m >= 1.0):
                raise ConfigurationError(f"{name} must be >= 1, got {m}")
        self.prior = float(prior)
        self.lower = float(lower)
        self.upper = float(upper)
        self.min_samples = int(min_samples)
        self.same_quantile = float(same_quantile)
        self.different_quantile = float(different_quantile)
        self.margin = float(margin)
        self.drift_margin = float(drift_margin)
        self.cross_quantile = float(cross_quantile)
        self.same = DistanceRing(int(window))
        self.different = DistanceRing(int(window))
        self.drift = DistanceRing(int(window))
        self.drift_time = DistanceRing(int(window))
        self.cross_best = DistanceRing(int(window))
        #: The rule's threshold and verdict, then ``s`` and ``d`` (NaN until ready); cleared
        #: when either sample changes.
        self._cached: tuple[float, bool | None, float, float] | None = None
        self._drift_table: tuple[FloatArray, FloatArray] | None = None

    def add_same(self, distances: ArrayLike) -> None:
        """Record same-identity cosine distances (non-finite ones are ignored)."""
        if self.same.add(distances):
            self._cached = None

    def add_drift(self, elapsed: ArrayLike, distances: ArrayLike) -> None:
        """Record same-identity distances between windows ``elapsed`` apart (in the callers'
        time unit); pairs with a non-finite value are ignored."""
        t = np.asarray(elapsed, np.float64).ravel()
        d = np.asarray(distances, np.float64).ravel()
        if t.shape != d.shape:
            raise ValueError("elapsed and distances differ in length")
        ok = np.isfinite(t) & np.isfinite(d) & (t >= 0)
        if ok.any():
            self.drift_time.add(t[ok])
            self.drift.add(d[ok])
            self._drift_table = None

    def add_different(self, distances: ArrayLike) -> None:
        """Record different-identity cosine distances (non-finite ones are ignored)."""
        if self.different.add(distances):
            self._cached = None

    @property
    def ready(self) -> bool:
        """Whether both samples are large enough to replace the prior."""
        return min(len(self.same), len(self.different)) >= self.min_samples

    def add_cross_best(self, distances: ArrayLike) -> None:
        """Record, per new track asking across cameras, its distance to the nearest lost
        identity of another camera (non-finite ones are ignored)."""
        self.cross_best.add(distances)

    def cross_offset(self) -> float | None:
        """How much farther a person looks across cameras than within one (a camera's
        colour cast), learned online; ``None`` until ``min_samples // 2`` cross-camera asks.

        The nearest cross-camera candidates of the asking tracks are, in their lower
        quantile, the travellers: their distance is a within-camera same-identity distance
        plus the cast. The offset is ``quantile(cross_best, cross_quantile) - median(same)``,
        clipped to ``[0, upper - lower]``."""
        enough = max(self.min_samples // 2, 1)
        typical = self.same_median()
        if len(self.cross_best) < enough or typical is None:
            return None
        low = float(np.quantile(self.cross_best.sample(), self.cross_quantile))
        return float(np.clip(low - typical, 0.0, self.upper - self.lower))

    def same_median(self) -> float | None:
        """The median same-identity distance (``None`` until ``min_samples``)."""
        if len(self.same) < self.min_samples:
            return None
        return float(np.median(self.same.sample()))

    @property
    def threshold(self) -> float:
        """The acceptance threshold for a short gap (no drift allowance), cosine distance."""
        return self._rule()[0]

    def thresholds(self, gaps: ArrayLike) -> FloatArray:
        """The acceptance threshold for each time gap between a lost identity and a new
        track (see the module docstring); the same shape as ``gaps``."""
        g = np.asarray(gaps, np.float64)
        base, distinct = self._rule()
        if not distinct or len(self.drift) < self.min_samples:
            return np.full(g.shape, base)
        cutoffs, drift = self._drift_quantiles()
        k = np.clip(np.searchsorted(cutoffs, g, side="right") - 1, 0, len(cutoffs) - 1)
        _, _, s, d = self._quantiles()
        growth = np.maximum(drift[k] - drift[0], 0.0)
        out = np.minimum(self.margin * s + self.drift_margin * growth, 0.5 * (s + d))
        result: FloatArray = np.clip(out, self.lower, self.upper)
        return result

    def _drift_quantiles(self) -> tuple[FloatArray, FloatArray]:
        """Edges of elapsed-time bins (quintiles of the elapsed times seen) and, per bin, the
        ``same_quantile`` of its drift distances."""
        if self._drift_table is None:
            t, d = self.drift_time.sample(), self.drift.sample()
            edges = np.unique(np.quantile(t, [0.0, 0.2, 0.4, 0.6, 0.8]))
            k = np.searchsorted(edges, t, side="right") - 1
            table = np.array(
                [np.quantile(d[k == i], self.same_quantile) for i in range(len(edges))]
            )
            self._drift_table = (edges, table)
        return self._drift_table

    @property
    def distinct(self) -> bool | None:
        """Whether the scene's identities are separable (``None``: not enough samples yet).
        ``False`` means the threshold is at ``lower``: re-identification is refused."""
        return self._rule()[1]

    def _rule(self) -> tuple[float, bool | None]:
        threshold, distinct, _, _ = self._quantiles()
        return threshold, distinct

    def _quantiles(self) -> tuple[float, bool | None, float, float]:
        """The short-gap threshold, whether the samples separate, and ``s`` and ``d``."""
        if self._cached is None:
            if not self.ready:
                prior = float(np.clip(self.prior, self.lower, self.upper))
                self._cached = (prior, None, np.nan, np.nan)
            else:
                s = float(np.quantile(self.same.sample(), self.same_quantile))
                d = float(np.quantile(self.different.sample(), self.different_quantile))
                if d <= s:
                    self._cached = (self.lower, False, s, d)
                else:
                    t = min(self.margin * s, 0.5 * (s + d))
                    self._cached = (float(np.clip(t, self.lower, self.upper)), True, s, d)
        return self._cached

    # -- saved state ------------------------------------------------------------------------

    _SETTINGS = (
        "prior",
        "lower",
        "upper",
        "min_samples",
        "same_quantile",
        "different_quantile",
        "margin",
        "drift_margin",
        "cross_quantile",
    )

    def state_dict(self) -> dict[str, Any]:
        """Settings and both samples, as plain numbers and arrays (ring order kept)."""
        return {
            "settings": {name: getattr(self, name) for name in self._SETTINGS},
            "window": len(self.same.values),
            **{
                name: {"values": ring.values.copy(), "count": ring.count}
                for name, ring in self._rings().items()
            },
        }

    def _rings(self) -> dict[str, DistanceRing]:
        return {
            "same": self.same,
            "different": self.different,
            "drift": self.drift,
            "drift_time": self.drift_time,
            "cross_best": self.cross_best,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> DistanceCalibration:
        """The calibration saved by :meth:`state_dict`.

        Raises
        ------
        StateError
            If the state is corrupt.
        """
        with reading_state("calibration"):
            out = cls(**dict(state["settings"]), window=int(state["window"]))
            for name, ring in out._rings().items():
                if name == "cross_best" and name not in state:
                    continue  # saved before the cross-camera offset was learned
                values = np.asarray(state[name]["values"], np.float64)
                count = int(state[name]["count"])
                if values.shape != ring.values.shape or count < 0:
                    raise StateError(f"calibration state: {name} sample has the wrong shape")
                if not np.isfinite(values).all():
                    raise StateError(f"calibration state: {name} sample is not finite")
                ring.values[:] = values
                ring.count = count
            if out.drift.count != out.drift_time.count:
                raise StateError("calibration state: drift samples do not pair up")
        return out


__all__ = ["DistanceCalibration", "DistanceRing"]
