"""The tracker's per-track state as one table of parallel arrays (private to the tracker).

Row ``i`` of every column is track ``i``; rows stay in creation order. Every operation that
adds or removes tracks goes through :class:`TrackTable`, so the list of columns is written
exactly once (in :func:`dataclasses.fields` order) and a new column cannot be forgotten by one
of the places that copy, keep or select rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def _ints() -> IntArray:
    return np.zeros(0, dtype=np.int64)


@dataclass(slots=True)
class TrackTable:
    """Struct of arrays over live tracks.

    Attributes
    ----------
    track_ids
        ``(T,)`` identities.
    means, covariances
        ``(T, 8)`` Kalman states and ``(T, 8, 8)`` covariances (measurement space of the
        tracker's filter).
    states
        ``(T,)`` :class:`~deepsort_lib.tracking.track.TrackState` values.
    hits, ages, time_since_update
        ``(T,)`` matched frames, frames since birth, detector frames since the last match.
    class_ids, confidences, detection_tlwh
        ``(T,)``, ``(T,)``, ``(T, 4)``: class, score and box of the last matched detection.
    detection_index
        ``(T,)`` this frame's matched detection row, ``-1`` where none.
    """

    track_ids: IntArray = field(default_factory=_ints)
    means: FloatArray = field(default_factory=lambda: np.zeros((0, 8)))
    covariances: FloatArray = field(default_factory=lambda: np.zeros((0, 8, 8)))
    states: IntArray = field(default_factory=_ints)
    hits: IntArray = field(default_factory=_ints)
    ages: IntArray = field(default_factory=_ints)
    time_since_update: IntArray = field(default_factory=_ints)
    class_ids: IntArray = field(default_factory=_ints)
    confidences: FloatArray = field(default_factory=lambda: np.zeros(0))
    detection_tlwh: FloatArray = field(default_factory=lambda: np.zeros((0, 4)))
    detection_index: IntArray = field(default_factory=_ints)

    def __len__(self) -> int:
        return int(self.track_ids.shape[0])

    def _columns(self) -> list[tuple[str, NDArray[Any]]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    def append(self, new: TrackTable) -> None:
        """Add the rows of ``new`` at the end (new tracks are born last)."""
        for name, column in self._columns():
            setattr(self, name, np.concatenate([column, getattr(new, name)]))

    def keep(self, mask: NDArray[np.bool_]) -> None:
        """Drop the rows where ``mask`` is False, keeping the order of the others."""
        for name, column in self._columns():
            setattr(self, name, column[mask])

    def select(self, rows: NDArray[np.intp]) -> TrackTable:
        """A new table holding copies of ``rows`` (in that order)."""
        return TrackTable(**{name: column[rows] for name, column in self._columns()})

    def clear(self) -> None:
        """Remove every row."""
        self.keep(np.zeros(len(self), dtype=bool))


__all__ = ["TrackTable"]
