"""Deep SORT's nearest-neighbour gallery for long or unlimited budgets, in one flat array.

:class:`~deepsort_lib.tracking.appearance.FeatureGallery` keeps a dense
``(tracks, budget, D)`` block: fast for the usual budget of 100, but a budget of 10^6 would
preallocate gigabytes, and an unlimited budget (``nn_budget=None``) has to give every track
the capacity of the longest one. :class:`FlatGallery` stores every kept feature once, in one
``(M, D)`` array with the owner and the sequence number of each row, so memory follows the
features actually kept (at most twice, from amortised growth). Features past a track's budget
and features of deleted tracks are only marked dead, and the array is compacted (and shrunk)
once the dead outnumber the living.

The distance to a detection is the smallest cosine distance to any of a track's kept features,
as in the dense gallery.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import ConfigurationError
from deepsort_lib.tracking.state import ArrayState

FloatArray = NDArray[np.float64]
FeatureArray = NDArray[np.float32]
IndexArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

_MIN_ROWS = 1024  # smallest sample array kept once features exist


class FlatGallery(ArrayState):
    """Per-track galleries of the last ``budget`` features (``None``: all), stored flat.

    Parameters
    ----------
    budget
        Features kept per track; ``None`` keeps them all.
    """

    # Everything a saved state must carry to continue bit-identically (tracking/state.py).
    STATE_FIELDS = ("dim", "_samples", "_owner", "_seq", "_n", "_live", "_slots", "_total", "_free")

    def __init__(self, budget: int | None = None) -> None:
        if budget is not None and budget < 1:
            raise ConfigurationError(f"nn_budget must be >= 1 or None, got {budget}")
        self.budget = budget
        self.dim: int | None = None
        self.clear()

    def __len__(self) -> int:
        return int(self._slots.shape[0])

    @property
    def stored(self) -> int:
        """Features currently kept (live rows of the flat array)."""
        return self._live

    @property
    def nbytes(self) -> int:
        """Bytes held by the sample arrays."""
        return int(self._samples.nbytes + self._owner.nbytes + self._seq.nbytes)

    def clear(self) -> None:
        """Remove every track and release the storage."""
        self._samples = np.zeros((0, self.dim or 0), dtype=np.float32)
        self._owner = np.zeros(0, dtype=np.int64)  # slot of each sample, -1: dead
        self._seq = np.zeros(0, dtype=np.int64)  # the slot's sample number
        self._n = 0  # rows of the flat arrays in use
        self._live = 0
        self._slots = np.zeros(0, dtype=np.intp)  # per track row
        self._total = np.zeros(0, dtype=np.int64)  # per slot: features ever added
        self._free = np.zeros(0, dtype=np.intp)

    # -- rows --------------------------------------------------------------------------------

    def _allocate(self, count: int) -> IndexArray:
        if len(self._free) < count:
            old = len(self._total)
            new = max(2 * old, old + count - len(self._free), 16)
            self._total = np.concatenate([self._total, np.zeros(new - old, dtype=np.int64)])
            self._free = np.concatenate([self._free, np.arange(old, new)])
        slots, self._free = self._free[:count], self._free[count:]
        self._total[slots] = 0
        return slots

    def add_tracks(self, features: FeatureArray | None, count: int) -> None:
        self._slots = np.concatenate([self._slots, self._allocate(count)])
        if features is not None and count:
            self.update(np.arange(len(self) - count, len(self)), features)

    def keep(self, mask: BoolArray) -> None:
        dead = self._slots[~mask]
        self._slots = self._slots[mask]
        if len(dead) == 0:
            return
        kept = self._total[dead]
        self._live -= int(np.sum(kept if self.budget is None else np.minimum(kept, self.budget)))
        if self._n:
            dead_slot = np.zeros(len(self._total), dtype=bool)
            dead_slot[dead] = True
            owner = self._owner[: self._n]
            owner[(owner >= 0) & dead_slot[np.maximum(owner, 0)]] = -1
        self._total[dead] = 0
        self._free = np.concatenate([self._free, dead])
        if len(self) == 0 and len(self._total) > 64:
            self.clear()  # nothing left: give the memory back
        else:
            self._compact_if_sparse()

    # -- samples -----------------------------------------------------------------------------

    def _alive(self) -> BoolArray:
        owner = self._owner[: self._n]
        alive = owner >= 0
        if self.budget is not None:
            total = self._total[np.maximum(owner, 0)]
            alive &= self._seq[: self._n] >= total - self.budget
        return alive

    def _compact_if_sparse(self) -> None:
        if self._n <= 2 * self._live + _MIN_ROWS and len(self._samples) <= 4 * self._n + _MIN_ROWS:
            return
        keep = np.flatnonzero(self._alive())
        capacity = max(2 * len(keep), _MIN_ROWS)
        samples = np.zeros((capacity, self.dim or 0), dtype=np.float32)
        samples[: len(keep)] = self._samples[keep]
        owner = np.full(capacity, -1, dtype=np.int64)
        owner[: len(keep)] = self._owner[keep]
        seq = np.zeros(capacity, dtype=np.int64)
        seq[: len(keep)] = self._seq[keep]
        self._samples, self._owner, self._seq = samples, owner, seq
        self._n = self._live = len(keep)

    def _reserve(self, count: int) -> None:
        if self._n + count <= len(self._samples):
            return
        self._compact_if_sparse()
        if self._n + count <= len(self._samples):
            return
        capacity = max(2 * len(self._samples), self._n + count, _MIN_ROWS)
        samples = np.zeros((capacity, self.dim or 0), dtype=np.float32)
        samples[: self._n] = self._samples[: self._n]
        owner = np.full(capacity, -1, dtype=np.int64)
        owner[: self._n] = self._owner[: self._n]
        seq = np.zeros(capacity, dtype=np.int64)
        seq[: self._n] = self._seq[: self._n]
        self._samples, self._owner, self._seq = samples, owner, seq

    def update(self, rows: IndexArray, features: FeatureArray) -> None:
        if len(rows) == 0:
            return
        if self.dim is None:
            self.dim = int(features.shape[1])
            self._samples = np.zeros((0, self.dim), dtype=np.float32)
        present = np.any(features != 0, axis=1)
        slots, features = self._slots[rows[present]], features[present]
        k = len(slots)
        if k == 0:
            return
        self._reserve(k)
        start = self._n
        self._samples[start : start + k] = features
        self._owner[start : start + k] = slots
        self._seq[start : start + k] = self._total[slots]
        self._n += k
        if self.budget is None:
            self._live += k
        else:
            self._live += int(np.sum(self._total[slots] < self.budget))
        self._total[slots] += 1

    def best_similarity(self, rows: IndexArray, features: FeatureArray) -> FeatureArray:
        """For each pair ``p``: the largest dot product of ``features[p]`` with a feature kept
        for track ``rows[p]`` (``-inf`` where it has none); see ``FeatureGallery``."""
        out = np.full(len(rows), -np.inf, dtype=np.float32)
        tracks, pair_track = np.unique(rows, return_inverse=True)
        kept, owner = self.stored_features(tracks)
        if len(owner) == 0:
            return out
        counts = np.bincount(owner, minlength=len(tracks))
        start = np.cumsum(counts) - counts
        per_pair = counts[pair_track]
        with_samples = np.flatnonzero(per_pair > 0)
        n = per_pair[with_samples]
        first = np.cumsum(n) - n
        pair_of = np.repeat(with_samples, n)
        sample_of = np.repeat(start[pair_track[with_samples]], n) + (
            np.arange(int(n.sum())) - np.repeat(first, n)
        )
        dots = np.einsum("md,md->m", kept[sample_of], features[pair_of])
        out[with_samples] = np.maximum.reduceat(dots, first)
        return out

    def stored_features(self, rows: IndexArray) -> tuple[FeatureArray, IndexArray]:
        """Every feature kept for ``rows``: ``(M, D)`` samples and ``(M,)`` owner positions
        into ``rows`` (ascending, each track's samples together)."""
        if self.dim is None or len(rows) == 0 or self._n == 0:
            return np.zeros((0, self.dim or 0), dtype=np.float32), np.zeros(0, dtype=np.intp)
        position = np.full(len(self._total), -1, dtype=np.int64)
        position[self._slots[rows]] = np.arange(len(rows))
        owner = self._owner[: self._n]
        where = np.where(self._alive(), position[np.maximum(owner, 0)], -1)
        index = np.flatnonzero(where >= 0)
        index = index[np.argsort(where[index], kind="stable")]
        return self._samples[index], where[index].astype(np.intp)

    def distance(
        self, rows: IndexArray, features: FeatureArray, pairs: BoolArray | None = None
    ) -> FloatArray:
        n = features.shape[0]
        out = np.ones((len(rows), n))
        if len(rows) == 0 or n == 0 or self.dim is None or self._n == 0:
            return out
        if pairs is None:
            pairs = np.ones((len(rows), n), dtype=bool)
        wanted_rows = np.flatnonzero(pairs.any(axis=1))
        wanted_cols = np.flatnonzero(pairs.any(axis=0))
        if len(wanted_rows) == 0:
            return out
        position = np.full(len(self._total), -1, dtype=np.int64)
        position[self._slots[rows[wanted_rows]]] = np.arange(len(wanted_rows))
        owner = self._owner[: self._n]
        where = np.where(self._alive(), position[np.maximum(owner, 0)], -1)
        index = np.flatnonzero(where >= 0)
        if len(index) == 0:
            return out
        # Group each track's samples together, then one product and one max per group.
        index = index[np.argsort(where[index], kind="stable")]
        group = where[index]
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        dots = np.matmul(self._samples[index], features[wanted_cols].T)
        best = np.maximum.reduceat(dots, starts, axis=0)
        out[np.ix_(wanted_rows[group[starts]], wanted_cols)] = (
            1.0 - best
        )  # float32, as the dense gallery
        out[:, ~np.any(features != 0, axis=1)] = 1.0
        return out


__all__ = ["FlatGallery"]
