"""The seams of the pipeline, as structural protocols.

Any object with the right methods satisfies a protocol: users plug in their own detector,
re-ID model or tracker without subclassing anything from this library. Each protocol declares
what :class:`~deepsort_lib.pipeline.Pipeline` actually uses and nothing more; the optional
capabilities (predicting without detections, camera-motion input, the feature length, a score
below which appearance is not used) are separate small protocols a component may also meet.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from deepsort_lib.boxes import Detections


@runtime_checkable
class Detector(Protocol):
    """Finds objects in a frame.

    ``detect`` takes an ``(H, W, 3)`` uint8 BGR image (OpenCV's convention) and returns the
    frame's :class:`~deepsort_lib.boxes.Detections` in that image's pixel coordinates.
    """

    def detect(self, frame: NDArray[np.uint8]) -> Detections: ...


@runtime_checkable
class Encoder(Protocol):
    """Computes one appearance feature per box.

    ``encode`` takes the ``(H, W, 3)`` uint8 BGR frame and ``(N, 4)`` tlwh boxes and returns an
    ``(N, D)`` float32 array; rows should be L2-normalised for the cosine metric.

    An encoder may say ``reidentifies = False`` (as
    :class:`~deepsort_lib.models.classic.ClassicEncoder` does) when its features cannot
    recognise a person after a gap on appearance alone; the default pipeline then leaves
    re-entry off. Without the attribute an encoder is taken for a re-ID model.
    """

    def encode(
        self, frame: NDArray[np.uint8], tlwh: NDArray[np.float64]
    ) -> NDArray[np.float32]: ...


@runtime_checkable
class SizedEncoder(Encoder, Protocol):
    """An :class:`Encoder` that states its feature length ``D`` before encoding anything
    (the pipeline uses it on frames where no box is worth encoding)."""

    @property
    def feature_dim(self) -> int: ...


@runtime_checkable
class TrackLike(Protocol):
    """What the pipeline, the sinks and the drawing code read from a reported track.

    :class:`~deepsort_lib.tracking.track.Track` is one; a custom tracker may return its own
    objects with these attributes (no Kalman state required).
    """

    @property
    def track_id(self) -> int: ...

    @property
    def tlwh(self) -> NDArray[np.float64]: ...

    @property
    def detection_tlwh(self) -> NDArray[np.float64]: ...

    @property
    def class_id(self) -> int: ...

    @property
    def confidence(self) -> float: ...

    @property
    def time_since_update(self) -> int: ...

    @property
    def detection_index(self) -> int | None: ...


@runtime_checkable
class Tracker(Protocol):
    """Turns each frame's detections into tracks with persistent identities."""

    def update(self, detections: Any) -> Sequence[TrackLike]: ...


@runtime_checkable
class PredictingTracker(Tracker, Protocol):
    """A :class:`Tracker` that can advance a frame without detections
    (``Pipeline(detect_every=N)`` calls ``predict()`` on the frames in between)."""

    def predict(self) -> Sequence[TrackLike]: ...


@runtime_checkable
class CameraMotionTracker(Tracker, Protocol):
    """A :class:`Tracker` whose ``update`` takes the frame-to-frame camera motion
    (``Pipeline(camera_motion=...)``): a ``(2, 3)`` affine map, previous frame to this one."""

    def update(self, detections: Any, *, camera_motion: Any = None) -> Sequence[TrackLike]: ...


@runtime_checkable
class ScoreAwareTracker(Tracker, Protocol):
    """A :class:`Tracker` that ignores the appearance of low-score detections, and says from
    which score on it uses it (``None``: every detection's), so the pipeline can skip
    encoding the others (``Pipeline(encode_min_score="auto")``)."""

    @property
    def min_appearance_score(self) -> float | None: ...


__all__ = [
    "CameraMotionTracker",
    "Detector",
    "Encoder",
    "PredictingTracker",
    "ScoreAwareTracker",
    "SizedEncoder",
    "TrackLike",
    "Tracker",
]
