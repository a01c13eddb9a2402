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

from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import ConfigurationError
from deepsort_lib.tracking.state import ArrayState

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


@runtime_checkable
class AppearanceModel(Protocol):
    """What the tracker needs from a per-track appearance store (a public extension point:
    pass any object with these members as ``Tracker(appearance_model=...)``).

    Rows are the tracker's track rows, kept in step by ``add_tracks`` and ``keep``. Features
    arrive L2-normalised; an all-zero row means "no appearance" and must not be learnt.
    """

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


_APPEARANCE_METHODS = ("add_tracks", "update", "keep", "distance", "clear")


def check_appearance_model(model: object) -> None:
    """Raise :class:`ConfigurationError` unless ``model`` has the :class:`AppearanceModel` API."""
    missing = [m for m in _APPEARANCE_METHODS if not callable(getattr(model, m, None))]
    if missing or not hasattr(model, "dim"):
        raise ConfigurationError(
            f"appearance_model {type(model).__name__} lacks {', '.join(missing) or 'dim'}; "
            "see deepsort_lib.tracking.appearance.AppearanceModel"
        )


def make_appearance(kind: str, nn_budget: int | None, ema_alpha: float) -> AppearanceModel:
    """The store ``TrackerConfig.appearance`` names: ``"ema"``, or a gallery sized to the budget.

    Budgets up to :data:`DENSE_MAX_BUDGET` use the dense :class:`FeatureGallery`; larger or
    unlimited ones the :class:`~deepsort_lib.tracking.flat_gallery.FlatGallery`, whose memory
    follows the features kept rather than budget x tracks.
    """
    if kind == "ema":
        return EmaAppearance(ema_alpha)
    if nn_budget is None or nn_budget > DENSE_MAX_BUDGET:
        from deepsort_lib.tracking.flat_gallery import FlatGallery  # it imports this module

        return FlatGallery(nn_budget)
    return FeatureGallery(nn_budget)


def _wanted_columns(pairs: BoolArray, per_row: NDArray[np.int64], k: int) -> IndexArray:
    """``(R, k)`` column indices of each row's True entries, left-aligned, padded with 0."""
    r, c = np.nonzero(pairs)  # row-major: each row's columns in order
    position = np.arange(len(r)) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    order = np.zeros((pairs.shape[0], k), dtype=np.intp)
    order[r, position] = c
    return order


#: Largest ``nn_budget`` served by the dense :class:`FeatureGallery`; the tracker uses the flat
#: :class:`~deepsort_lib.tracking.flat_gallery.FlatGallery` above it and for ``None``.
DENSE_MAX_BUDGET = 256


class FeatureGallery(ArrayState):
    """Per-track ring buffers of the last ``budget`` features (Deep SORT's ``nn_budget``).

    One dense ``(slots, budget, D)`` block: the fastest layout for small budgets. The block
    shrinks back when most of its tracks are gone (after a burst of detections) and is
    released by ``clear()``.

    Parameters
    ----------
    budget
        Features kept per track; ``None`` keeps them all, but then every track gets the
        capacity of the longest: the tracker uses
        :class:`~deepsort_lib.tracking.flat_gallery.FlatGallery` for that instead.
    """

    # Everything a saved state must carry to continue bit-identically (tracking/state.py).
    STATE_FIELDS = ("dim", "_capacity", "_samples", "_counts", "_heads", "_slots", "_free")

    def __init__(self, budget: int | None = 100) -> None:
        if budget is not None and budget < 1:
            raise ConfigurationError(f"nn_budget must be >= 1 or None, got {budget}")
        self.budget = budget
        self.dim: int | None = None
        # Features per track, grown by doubling up to the budget: a burst of short-lived
        # tracks then costs a few samples each, not a whole budget each.
        self._capacity = min(budget, 8) if budget is not None else 8
        # Storage is indexed by slot, not by track row: births and deaths only touch the small
        # row -> slot map and a free list, never copy the (slots, capacity, dim) block.
        self._samples = np.zeros((0, self._capacity, 0), dtype=np.float32)
        self._counts = np.zeros(0, dtype=np.int64)  # per slot
        self._heads = np.zeros(0, dtype=np.int64)  # per slot: next position to overwrite
        self._slots = np.zeros(0, dtype=np.intp)  # per track row
        self._free = np.zeros(0, dtype=np.intp)

    def __len__(self) -> int:
        return int(self._slots.shape[0])

    def _ensure_dim(self, dim: int) -> None:
        if self.dim is None:
            self.dim = dim
            self._samples = np.zeros(
                (self._samples.shape[0], self._capacity, dim), dtype=np.float32
            )

    def _allocate(self, count: int) -> NDArray[np.intp]:
        if len(self._free) < count:
            old = self._samples.shape[0]
            new = max(2 * old, old + count - len(self._free), 16)
            grown = np.zeros((new, self._capacity, self.dim or 0), dtype=np.float32)
            grown[:old] = self._samples
            self._samples = grown
            self._counts = np.concatenate([self._counts, np.zeros(new - old, dtype=np.int64)])
            self._heads = np.concatenate([self._heads, np.zeros(new - old, dtype=np.int64)])
            self._free = np.concatenate([self._free, np.arange(old, new)])
        slots, self._free = self._free[:count], self._free[count:]
        self._counts[slots] = 0
        self._heads[slots] = 0
        return slots

    def add_tracks(self, features: FeatureArray | None, count: int) -> None:
        if features is not None:
            self._ensure_dim(features.shape[1])
        self._slots = np.concatenate([self._slots, self._allocate(count)])
        if features is not None and count:
            self.update(np.arange(len(self) - count, len(self)), features)

    def update(self, rows: IndexArray, features: FeatureArray) -> None:
        if len(rows) == 0:
            return
        self._ensure_dim(features.shape[1])
        present = np.any(features != 0, axis=1)
        slots, features = self._slots[rows[present]], features[present]
        can_grow = self.budget is None or self._capacity < self.budget
        if can_grow and len(slots) and np.any(self._counts[slots] >= self._capacity):
            larger = 2 * self._capacity
            if self.budget is not None:
                larger = min(larger, self.budget)
            grown = np.zeros(
                (self._samples.shape[0], larger, self._samples.shape[2]), dtype=np.float32
            )
            grown[:, : self._capacity] = self._samples
            self._samples = grown
            self._capacity = larger
            # Full buffers had wrapped their head to 0; in the larger buffer they continue.
            self._heads = self._counts.copy()
        heads = self._heads[slots]
        self._samples[slots, heads] = features
        self._heads[slots] = (heads + 1) % self._capacity
        self._counts[slots] = np.minimum(self._counts[slots] + 1, self._capacity)

    def keep(self, mask: BoolArray) -> None:
        self._free = np.concatenate([self._free, self._slots[~mask]])
        self._slots = self._slots[mask]
        if self._samples.shape[0] > max(4 * len(self), 64):
            self._shrink()

    def _shrink(self) -> None:
        """Move the live tracks to a block twice their number (after a burst of tracks)."""
        live = self._slots
        capacity = max(2 * len(live), 16)
        samples = np.zeros((capacity, *self._samples.shape[1:]), dtype=np.float32)
        samples[: len(live)] = self._samples[live]
        counts = np.zeros(capacity, dtype=np.int64)
        counts[: len(live)] = self._counts[live]
        heads = np.zeros(capacity, dtype=np.int64)
        heads[: len(live)] = self._heads[live]
        self._samples, self._counts, self._heads = samples, counts, heads
        self._slots = np.arange(len(live), dtype=np.intp)
        self._free = np.arange(len(live), capacity, dtype=np.intp)

    def clear(self) -> None:
        self._capacity = min(self.budget, 8) if self.budget is not None else 8
        self._samples = np.zeros((0, self._capacity, self.dim or 0), dtype=np.float32)
        self._counts = np.zeros(0, dtype=np.int64)
        self._heads = np.zeros(0, dtype=np.int64)
        self._slots = np.zeros(0, dtype=np.intp)
        self._free = np.zeros(0, dtype=np.intp)

    @property
    def nbytes(self) -> int:
        """Bytes held by the sample block."""
        return int(self._samples.nbytes)

    def best_similarity(self, rows: IndexArray, features: FeatureArray) -> FeatureArray:
        """For each pair ``p``: the largest dot product of ``features[p]`` with a feature kept
        for track ``rows[p]`` (``-inf`` where it has none). ``1 -`` it is the pair's
        :meth:`distance`, up to float32 rounding (another summation order)."""
        out = np.full(len(rows), -np.inf, dtype=np.float32)
        if self.dim is None or len(rows) == 0:
            return out
        slots = self._slots[rows]
        counts = self._counts[slots]
        used = int(counts.max(initial=0))
        if used == 0:
            return out
        # Each pair's samples are one contiguous block: a cheap gather, then one product.
        dots = np.matmul(self._samples[slots, :used], features[:, :, None])[:, :, 0]
        dots[np.arange(used)[None, :] >= counts[:, None]] = -np.inf
        out[:] = dots.max(axis=1)
        return out
        order = np.argsort(slots, kind="stable")
        first = np.r_[True, slots[order][1:] != slots[order][:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
        round_of = np.empty(len(rows), dtype=np.intp)
        round_of[order] = np.arange(len(order)) - start
        empty_slot = np.arange(used)[None, :] >= self._counts[:, None]
        for r in range(int(round_of.max()) + 1):
            sel = np.flatnonzero(round_of == r)
            padded = np.zeros((self._samples.shape[0], self.dim, 1), dtype=np.float32)
            padded[slots[sel], :, 0] = features[sel]
            dots = np.matmul(self._samples[:, :used], padded)[:, :, 0]
            dots[empty_slot] = -np.inf
            out[sel] = dots[slots[sel]].max(axis=1)
        return out

    def stored_features(self, rows: IndexArray) -> tuple[FeatureArray, IndexArray]:
        """Every feature kept for ``rows``: ``(M, D)`` samples and ``(M,)`` owner positions
        into ``rows`` (ascending, each track's samples together). For engines that score
        many trackers' pairs at once."""
        if self.dim is None or len(rows) == 0:
            return np.zeros((0, self.dim or 0), dtype=np.float32), np.zeros(0, dtype=np.intp)
        slots = self._slots[rows]
        counts = self._counts[slots]
        owner = np.repeat(np.arange(len(rows)), counts)
        position = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
        return self._samples[slots[owner], position], owner

    def distance(
        self, rows: IndexArray, features: FeatureArray, pairs: BoolArray | None = None
    ) -> FloatArray:
        n = features.shape[0]
        out = np.full((len(rows), n), NO_APPEARANCE)
        if len(rows) == 0 or n == 0 or self.dim is None:
            return out
        if pairs is None:
            pairs = np.ones((len(rows), n), dtype=bool)
        slots = self._slots[rows]
        used = int(self._counts[slots].max(initial=0))
        if used == 0:
            return out
        # Only gated pairs are scored: each track's gallery meets the few detections near it.
        # Tracks are bucketed by how many detections they meet (padding each bucket to its
        # largest), so one long-lost track with a wide gate does not inflate everyone's work.
        per_row = pairs.sum(axis=1)
        active = np.flatnonzero(per_row > 0)
        buckets = np.minimum(np.ceil(np.log2(np.maximum(per_row[active], 1)) / 2), 8)
        for bucket in np.unique(buckets):
            sel = active[buckets == bucket]
            k = int(per_row[sel].max())
            order = _wanted_columns(pairs[sel], per_row[sel], k)
            queries = features[order]  # (S, k, D)
            if bucket == 0:
                # The common case (at most one nearby detection): a batched product over a
                # view of the whole gallery avoids copying every track's samples.
                padded = np.zeros((self._samples.shape[0], k, features.shape[1]), dtype=np.float32)
                padded[slots[sel]] = queries
                dots = np.matmul(self._samples[:, :used], np.swapaxes(padded, 1, 2))[slots[sel]]
            else:
                gallery = self._samples[slots[sel], :used]
                dots = np.matmul(gallery, np.swapaxes(queries, 1, 2))  # (S, C, k)
            counts = self._counts[slots[sel]]
            partial = counts < used
            if partial.any():
                empty_slot = np.arange(used)[None, :] >= counts[partial, None]
                block = dots[partial]
                block[empty_slot] = -np.inf
                dots[partial] = block
            best = dots.max(axis=1)  # (S, k)
            # Tracks without any stored feature keep NO_APPEARANCE (their best is -inf).
            wanted = (np.arange(k)[None, :] < per_row[sel][:, None]) & (counts > 0)[:, None]
            r_idx, s_idx = np.nonzero(wanted)
            out[sel[r_idx], order[r_idx, s_idx]] = 1.0 - best[r_idx, s_idx]
        out[:, ~np.any(features != 0, axis=1)] = NO_APPEARANCE
        return out


class EmaAppearance(ArrayState):
    """One exponentially smoothed feature per track (StrongSORT).

    Parameters
    ----------
    alpha
        Weight of the past: ``e_t = alpha * e_{t-1} + (1 - alpha) * f_t`` (StrongSORT: 0.9).
    """

    # Everything a saved state must carry to continue bit-identically (tracking/state.py).
    STATE_FIELDS = ("dim", "_state", "_has")

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

    @property
    def nbytes(self) -> int:
        """Bytes held by the smoothed features."""
        return int(self._state.nbytes)

    def best_similarity(self, rows: IndexArray, features: FeatureArray) -> FeatureArray:
        """For each pair ``p``: the dot product of ``features[p]`` with track ``rows[p]``'s
        smoothed feature (``-inf`` where it has none); see ``FeatureGallery``."""
        out = np.full(len(rows), -np.inf, dtype=np.float32)
        if self.dim is None or len(rows) == 0:
            return out
        has = self._has[rows]
        out[has] = np.einsum("pd,pd->p", self._state[rows[has]], features[has])
        return out

    def stored_features(self, rows: IndexArray) -> tuple[FeatureArray, IndexArray]:
        """The smoothed feature of each of ``rows`` that has one: ``(M, D)`` and ``(M,)``
        owner positions into ``rows`` (ascending)."""
        if self.dim is None or len(rows) == 0:
            return np.zeros((0, self.dim or 0), dtype=np.float32), np.zeros(0, dtype=np.intp)
        owner = np.flatnonzero(self._has[rows])
        return self._state[rows[owner]], owner

    def clear(self) -> None:
        self.keep(np.zeros(len(self), dtype=bool))

    def distance(
        self, rows: IndexArray, features: FeatureArray, pairs: BoolArray | None = None
    ) -> FloatArray:
        out = np.full((len(rows), features.shape[0]), NO_APPEARANCE)
        if len(rows) == 0 or features.shape[0] == 0 or self.dim is None:
            return out
        dist = 1.0 - np.matmul(self._state[rows], features.T).astype(np.float64)
        valid = self._has[rows][:, None] & np.any(features != 0, axis=1)[None, :]
        out[valid] = dist[valid]
        return out


__all__ = [
    "DENSE_MAX_BUDGET",
    "NO_APPEARANCE",
    "AppearanceModel",
    "EmaAppearance",
    "FeatureGallery",
    "check_appearance_model",
    "make_appearance",
    "normalize_features",
]
