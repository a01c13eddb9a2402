"""What a pipeline produces: per-frame results, per-stage timings and a run's summary.

These are plain records shared by :mod:`deepsort_lib.pipeline`, the multi-stream pipeline and
the sinks, so that none of those imports another just for a type.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.tracking.track import Track

Frame = NDArray[np.uint8]


@dataclass(frozen=True)
class StageTimings:
    """Seconds spent on one frame (or summed over a run) by each stage.

    ``decode`` is reading the frame from the source, ``detect`` and ``encode`` the models,
    ``track`` the tracker's update (or predict), ``write`` the sinks.
    """

    decode: float = 0.0
    detect: float = 0.0
    encode: float = 0.0
    track: float = 0.0
    write: float = 0.0

    @property
    def total(self) -> float:
        """Sum of all stages."""
        return self.decode + self.detect + self.encode + self.track + self.write

    @property
    def inference(self) -> float:
        """Model time: ``detect + encode``."""
        return self.detect + self.encode

    def __add__(self, other: StageTimings) -> StageTimings:
        return StageTimings(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, float]:
        """The stages by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, eq=False)
class FrameResult:
    """What the pipeline produced for one frame.

    Attributes
    ----------
    frame_index
        1-based frame number.
    frame
        The ``(H, W, 3)`` BGR frame, or ``None`` when tracking from a cache without a source.
    detections
        The detections given to the tracker (with features when an encoder ran); empty on
        frames skipped by ``detect_every``.
    tracks
        What the tracker returned for this frame.
    timings
        :class:`StageTimings` of this frame.
    detected
        ``False`` on frames where the detector was skipped and the tracker only predicted.
    """

    frame_index: int
    frame: Frame | None
    detections: Detections
    tracks: list[Track]
    timings: StageTimings
    detected: bool = True


@dataclass
class RunSummary:
    """Totals of a completed :meth:`Pipeline.process` run."""

    frames: int = 0
    wall_time: float = 0.0
    timings: StageTimings = field(default_factory=StageTimings)
    track_ids: set[int] = field(default_factory=set)
    outputs: list[Path] = field(default_factory=list)

    @property
    def fps(self) -> float:
        """Frames per second over the whole run."""
        return self.frames / self.wall_time if self.wall_time > 0 else 0.0


__all__ = ["FrameResult", "RunSummary", "StageTimings"]
