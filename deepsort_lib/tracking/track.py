"""What the tracker reports about one track."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import tlwh_to_xyxy
from deepsort_lib.tracking.table import TrackTable

FloatArray = NDArray[np.float64]


class TrackState(IntEnum):
    """Lifecycle of a track.

    A track starts ``TENTATIVE``; it becomes ``CONFIRMED`` after ``n_init`` consecutive
    matched frames. A tentative track that misses one frame, or a confirmed track that misses
    more than ``max_age`` frames, becomes ``DELETED`` and is dropped.
    """

    TENTATIVE = 1
    CONFIRMED = 2
    DELETED = 3


@dataclass(frozen=True, slots=True, eq=False)
class Track:
    """A read-only snapshot of one track after a tracker step.

    Attributes
    ----------
    track_id
        Identity, unique within the tracker and never reused (starts at 1).
    tlwh
        The Kalman filter's box estimate (top-left x, y, width, height).
    detection_tlwh
        The box of the last detection matched to this track, as the detector gave it.
    class_id
        Class id of the last matched detection.
    confidence
        Score of the last matched detection.
    state
        :class:`TrackState`.
    hits
        Number of frames with a matched detection.
    age
        Frames since the track was created (1 on its first frame).
    time_since_update
        Detector frames since the last match (0: matched in this update).
    detection_index
        Row of this frame's detections matched to the track, or ``None`` if not matched.
        Use it to join your own per-detection metadata back onto tracks.
    mean, covariance
        Kalman state ``(8,)`` and covariance ``(8, 8)`` in the filter's measurement space
        (always set by :class:`~deepsort_lib.tracking.tracker.Tracker`; other trackers that
        report ``Track`` objects may leave them ``None``).
    """

    track_id: int
    tlwh: FloatArray
    detection_tlwh: FloatArray
    class_id: int
    confidence: float
    state: TrackState
    hits: int
    age: int
    time_since_update: int
    detection_index: int | None
    mean: FloatArray | None = None
    covariance: FloatArray | None = None

    @property
    def xyxy(self) -> FloatArray:
        """The Kalman box as corners (x1, y1, x2, y2)."""
        return tlwh_to_xyxy(self.tlwh)

    @property
    def is_confirmed(self) -> bool:
        """Whether the track has passed its ``n_init`` probation."""
        return self.state == TrackState.CONFIRMED

    @property
    def is_tentative(self) -> bool:
        """Whether the track is still on probation."""
        return self.state == TrackState.TENTATIVE

    def __repr__(self) -> str:
        box = ", ".join(f"{v:.1f}" for v in self.tlwh)
        return (
            f"Track(id={self.track_id}, tlwh=[{box}], class_id={self.class_id}, "
            f"state={self.state.name}, time_since_update={self.time_since_update})"
        )


# A dict lookup: calling the enum per track is a measurable share of a frame's output.
_STATE_OF = {int(s): s for s in TrackState}


def tracks_from_rows(rows: TrackTable, tlwh: NDArray[np.float64]) -> list[Track]:
    """One :class:`Track` per row of ``rows`` (a table of copies), at the boxes ``tlwh``.

    The table must hold fresh arrays (``TrackTable.select``): the tracks keep views into them.
    """
    columns = zip(
        rows.track_ids.tolist(),
        rows.class_ids.tolist(),
        rows.confidences.tolist(),
        rows.states.tolist(),
        rows.hits.tolist(),
        rows.ages.tolist(),
        rows.time_since_update.tolist(),
        rows.detection_index.tolist(),
        strict=True,
    )
    return [
        Track(
            track_id=tid,
            tlwh=tlwh[i],
            detection_tlwh=rows.detection_tlwh[i],
            class_id=cls,
            confidence=conf,
            state=_STATE_OF[state],
            hits=hits,
            age=age,
            time_since_update=tsu,
            detection_index=None if det < 0 else det,
            mean=rows.means[i],
            covariance=rows.covariances[i],
        )
        for i, (tid, cls, conf, state, hits, age, tsu, det) in enumerate(columns)
    ]


__all__ = ["Track", "TrackState", "tracks_from_rows"]
