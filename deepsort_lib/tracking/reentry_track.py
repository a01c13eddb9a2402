"""The track :class:`~deepsort_lib.tracking.reentry.ReentryTracker` reports: the inner
tracker's track under a persistent id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.protocols import TrackLike

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class ReentryTrack:
    """A track reported by :class:`ReentryTracker`: the inner track under a persistent id.

    Every attribute of the inner track (``state``, ``hits``, ``xyxy``, ...) is readable here
    too.

    Attributes
    ----------
    track_id
        Persistent id (global when the memory is shared by several cameras).
    local_id
        The inner tracker's id.
    camera
        Name of the wrapper's camera (stream).
    reidentified
        Whether this identity was recovered from the memory at some point.
    track
        The inner tracker's track object.
    """

    track_id: int
    local_id: int
    camera: str
    reidentified: bool
    track: TrackLike

    @property
    def tlwh(self) -> FloatArray:
        return self.track.tlwh

    @property
    def detection_tlwh(self) -> FloatArray:
        return self.track.detection_tlwh

    @property
    def class_id(self) -> int:
        return self.track.class_id

    @property
    def confidence(self) -> float:
        return self.track.confidence

    @property
    def time_since_update(self) -> int:
        return self.track.time_since_update

    @property
    def detection_index(self) -> int | None:
        return self.track.detection_index

    def __getattr__(self, name: str) -> Any:
        if name == "track":  # not set yet (copying, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.track, name)

    def __repr__(self) -> str:
        return (
            f"ReentryTrack(id={self.track_id}, local_id={self.local_id}, camera={self.camera!r}, "
            f"reidentified={self.reidentified})"
        )


__all__ = ["ReentryTrack"]
