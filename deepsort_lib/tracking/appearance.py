"""Appearance state of tracks and the cosine distance to new detections.

Two models, with one interface, both stored as arrays over tracks (row ``i`` is track ``i``):

:class:`FeatureGallery`
    Deep SORT's nearest-neighbour metric: each track keeps its last ``budget`` features, and the
    distance to a detection is the smallest cosine distance to any of them.
:class:`EmaAppearance`
    StrongSORT's exponential moving average: one smoothed feature per track,
    ``e_t = alpha * e_{t-1} + (1 - alpha) * f_t``, renormalised.

Features are L2-normalised on the way in, so a cosine distance is ``1 - dot``. A feature row
of zeros means "no appearance for this detection": it is never stored and its distance to
every track is 1.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import ConfigurationError

FloatArray = NDArray[np.float64]
FeatureArray = NDArray[np.float32]
IndexArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

#: Distance reported for pairs where either side has no appearance information.
NO_APPEARANCE = 1.0


def normalize_features(features: NDArray[np.floating]) -> tuple[FeatureArray, BoolArray]:
    """Rows scaled to unit length, and a mask of the rows that were non-zero."""
    feats = np.asarray(features, dtype=np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", feats, feats))
    valid = norms > 0
    out = np.zeros_like(feats)
    out[valid] = feats[valid] / norms[valid, None]
    return out, valid


class AppearanceModel(Protocol):
    """What the tracker needs from a per-track appearance store."""

    dim: int | None

    def add_tracks(self, features: FeatureArray | None, count: int) -> None:
        """Append ``count`` new tracks, initialised from ``features`` (normalised) if given."""

    def update(self, rows: IndexArray, features: FeatureArray) -> None:
        """Add one normalised feature to each track in ``rows`` (zero rows are ignored)."""

    def keep(self, mask: BoolArray) -> None:
        """Drop the tracks where ``mask`` is False."""

    def distance(
        self, rows: IndexArray, features: FeatureArray, pairs: BoolArray | None = None
    ) -> FloatArray:
        """``(len(rows), N)`` cosine distances to normalised detection features.

        ``pairs`` (``(len(rows), N)`` bool), when given, says which pairs are needed; the
        others may be left at :data:`NO_APPEARANCE`.
        """

    def clear(self) -> None:
        """Remove every track."""


class FeatureGallery:
    """Per-track ring buffers of the last ``budget`` features (Deep SORT's ``nn_budget``).

    Parameters
    ----------
    budget
        Features kept per track; ``None`` keeps them all (memory grows with track length).
    """

    def __init__(self, budget: int | None = 100) -> None:
        if budget is not None and budget < 1:
            raise ConfigurationError(f"nn_budget must be >= 1 or None, got {budget}")
        self.budget = budget
        self.dim: int | None = None
        self._capacity = budget if budget is not None else 8
        self._samples = np.zeros((0, self._capacity, 0), dtype=np.float32)
        self._counts = np.zeros(0, dtype=np.int64)
        self._heads = np.zeros(0, dtype=np.int64)  # next slot to overwrite

    def __len__(self) -> int:
        return int(self._counts.shape[0])

    def _ensure_dim(self, dim: int) -> None:
        if self.dim is None:
            self.dim = dim
            self._samples = np.zeros((len(self), self._capacity, dim), dtype=np.float32)

    def add_tracks(self, features: FeatureArray | None, count: int) -> None:
        if features is not None:
            self._ensure_dim(features.shape[1])
        dim = self.dim or 0
        self._samples = np.concatenate(
            [self._samples, np.zeros((count, self._capacity, dim), dtype=np.float32)]
        )
        self._counts = np.concatenate([self._counts, np.zeros(count, dtype=np.int64)])
        self._heads = np.concatenate([self._heads, np.zeros(count, dtype=np.int64)])
        if features is not None and count:
            self.update(np.arange(len(self) - count, len(self)), features)

    def update(self, rows: IndexArray, features: FeatureArray) -> None:
        if len(rows) == 0:
            return
        self._ensure_dim(features.shape[1])
        present = np.any(features != 0, axis=1)
        rows, features = rows[present], features[present]
        if self.budget is None and len(rows) and np.any(self._counts[rows] >= self._capacity):
            grown = np.zeros(
                (len(self), self._capacity * 2, self._samples.shape[2]), dtype=np.float32
            )
            grown[:, : self._capacity] = self._samples
            self._samples = grown
            self._capacity *= 2
            # Full buffers had wrapped their head to 0; in the larger buffer they continue.
            self._heads = self._counts.copy()
        heads = self._heads[rows]
        self._samples[rows, heads] = features
        self._heads[rows] = (heads + 1) % self._capacity
        self._counts[rows] = np.minimum(self._counts[rows] + 1, self._capacity)

    def keep(self, mask: BoolArray) -> None:
        self._samples = self._samples[mask]
        self._counts = self._counts[mask]
        self._heads = self._heads[mask]

    def clear(self) -> None:
        self.keep(np.zeros(len(self), dtype=bool))

    def distance(
        self, rows: IndexArray, features: FeatureArray, pairs: BoolArray | None = None
    ) -> FloatArray:
        n = features.shape[0]
        out = np.full((len(rows), n), NO_APPEARANCE)
        if len(rows) == 0 or n == 0 or self.dim is None:
            return out
        if pairs is None:
            pairs = np.ones((len(rows), n), dtype=bool)
        used = int(self._counts[rows].max(initial=0))
        per_row = pairs.sum(axis=1)
        k = int(per_row.max(initial=0))
        if used == 0 or k == 0:
            return out
        # Only the pairs that passed the gate are scored: each track's gallery meets the few
        # detections near it, as one batched (T, C, D) x (T, D, k) product over a view of the
        # gallery, instead of every gallery against every detection.
        order = np.argsort(~pairs, axis=1, kind="stable")[:, :k]  # wanted columns first
        slot_ok = np.arange(k)[None, :] < per_row[:, None]
        queries = np.zeros((len(self), k, features.shape[1]), dtype=np.float32)
        queries[rows] = features[order]
        dots = np.matmul(self._samples[:, :used], np.swapaxes(queries, 1, 2))[rows]  # (R, C, k)
        empty_slot = np.arange(used)[None, :] >= self._counts[rows][:, None]
        dots[empty_slot] = -np.inf
        best = dots.max(axis=1)  # (R, k)
        valid = slot_ok & np.isfinite(best)
        r_idx, s_idx = np.nonzero(valid)
        out[r_idx, order[r_idx, s_idx]] = 1.0 - best[r_idx, s_idx]
        out[:, ~np.any(features != 0, axis=1)] = NO_APPEARANCE
        return out


class EmaAppearance:
    """One exponentially smoothed feature per track (StrongSORT).

    Parameters
    ----------
    alpha
        Weight of the past: ``e_t = alpha * e_{t-1} + (1 - alpha) * f_t`` (StrongSORT: 0.9).
    """

    def __init__(self, alpha: float = 0.9) -> None:
        if not 0.0 <= alpha < 1.0:
            raise ConfigurationError(f"ema_alpha must be in [0, 1), got {alpha}")
        self.alpha = alpha
        self.dim: int | None = None
        self._state = np.zeros((0, 0), dtype=np.float32)
        self._has = np.zeros(0, dtype=bool)

    def __len__(self) -> int:
        return int(self._has.shape[0])

    def _ensure_dim(self, dim: int) -> None:
        if self.dim is None:
            self.dim = dim
            self._state = np.zeros((len(self), dim), dtype=np.float32)

    def add_tracks(self, features: FeatureArray | None, count: int) -> None:
        if features is not None:
            self._ensure_dim(features.shape[1])
        self._state = np.concatenate(
            [self._state, np.zeros((count, self.dim or 0), dtype=np.float32)]
        )
        self._has = np.concatenate([self._has, np.zeros(count, dtype=bool)])
        if features is not None and count:
            self.update(np.arange(len(self) - count, len(self)), features)

    def update(self, rows: IndexArray, features: FeatureArray) -> None:
        if len(rows) == 0:
            return
        self._ensure_dim(features.shape[1])
        present = np.any(features != 0, axis=1)
        rows, features = rows[present], features[present]
        had = self._has[rows]
        mixed = np.where(
            had[:, None], self.alpha * self._state[rows] + (1 - self.alpha) * features, features
        )
        self._state[rows], _ = normalize_features(mixed)
        self._has[rows] = True

    def keep(self, mask: BoolArray) -> None:
        self._state = self._state[mask]
        self._has = self._has[mask]

    def clear(self) -> None:
        self.keep(np.zeros(len(self), dtype=bool))

    def distance(
        self, rows: IndexArray, features: FeatureArray, pairs: BoolArray | None = None
    ) -> FloatArray:
        out = np.full((len(rows), features.shape[0]), NO_APPEARANCE)
        if len(rows) == 0 or features.shape[0] == 0 or self.dim is None:
            return out
        dist = 1.0 - (self._state[rows] @ features.T).astype(np.float64)
        valid = self._has[rows][:, None] & np.any(features != 0, axis=1)[None, :]
        out[valid] = dist[valid]
        return out


__all__ = [
    "NO_APPEARANCE",
    "AppearanceModel",
    "EmaAppearance",
    "FeatureGallery",
    "normalize_features",
]
