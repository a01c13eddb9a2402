"""What tracking a chunk returns: MOT rows and the appearance features of its rows.

:class:`TrackCollector` gathers them frame by frame in a worker; :class:`ChunkTracks` travels
back to the driver (through Ray's object store), is checkpointed, and is stitched. Numpy only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import InvalidInputError
from deepsort_lib.io.mot import MotData


@dataclass(frozen=True, eq=False)
class ChunkTracks:
    """What tracking one chunk reported: MOT rows, and appearance features where known.

    Attributes
    ----------
    rows
        The tracks of every frame of the chunk (``frame, id, tlwh, confidence``), in frame order.
    features
        ``(N, D)`` float32, one row per entry of ``rows`` (all zeros where the track was not
        matched to a detection with a feature), or ``None`` when the run had no features.
        Only the rows of the overlaps are needed for stitching.
    """

    rows: MotData
    features: NDArray[np.float32] | None = None

    def __post_init__(self) -> None:
        if self.features is not None and self.features.shape[:1] != (len(self.rows),):
            raise InvalidInputError(
                f"features must have one row per track row ({len(self.rows)}), "
                f"got shape {self.features.shape}"
            )

    def frames_between(self, first: int, last: int) -> ChunkTracks:
        """The rows of frames ``first..last`` (inclusive)."""
        mask = (self.rows.frames >= first) & (self.rows.frames <= last)
        return ChunkTracks(self.rows[mask], None if self.features is None else self.features[mask])


class TrackCollector:
    """Accumulates per-frame tracks into a :class:`ChunkTracks`.

    Give it what a tracker returned for each frame (and the detections it was given, for
    features): ``collector.add(frame, tracks, detections)``.
    """

    def __init__(self) -> None:
        self._frames: list[int] = []
        self._ids: list[int] = []
        self._tlwh: list[Any] = []
        self._scores: list[float] = []
        self._features: list[NDArray[np.float32] | None] = []
        self._dim: int | None = None

    def add(self, frame: int, tracks: Iterable[Any], detections: Detections | None = None) -> None:
        """Record the tracks reported on ``frame``."""
        feats = None if detections is None else detections.features
        if feats is not None:
            self._dim = int(feats.shape[1])
        for track in tracks:
            self._frames.append(int(frame))
            self._ids.append(int(track.track_id))
            self._tlwh.append(np.asarray(track.tlwh, np.float64))
            self._scores.append(float(track.confidence))
            index = track.detection_index
            self._features.append(None if feats is None or index is None else feats[index])

    def result(self) -> ChunkTracks:
        """Everything recorded so far."""
        n = len(self._ids)
        rows = MotData.from_arrays(
            np.asarray(self._frames, np.int64),
            np.asarray(self._ids, np.int64),
            np.asarray(self._tlwh, np.float64).reshape(n, 4),
            np.asarray(self._scores, np.float64),
        )
        if self._dim is None:
            return ChunkTracks(rows)
        features = np.zeros((n, self._dim), np.float32)
        for i, row in enumerate(self._features):
            if row is not None:
                features[i] = row
        return ChunkTracks(rows, features)


__all__ = ["ChunkTracks", "TrackCollector"]
