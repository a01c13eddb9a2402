"""The three seams of the pipeline, as structural protocols.

Any object with the right method satisfies a protocol: users plug in their own detector,
re-ID model or tracker without subclassing anything from this library.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from deepsort_lib.boxes import Detections
    from deepsort_lib.tracking.track import Track


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
    """

    def encode(
        self, frame: NDArray[np.uint8], tlwh: NDArray[np.float64]
    ) -> NDArray[np.float32]: ...


@runtime_checkable
class Tracker(Protocol):
    """Turns each frame's detections into tracks with persistent identities."""

    def update(self, detections: Any) -> Sequence[Track]: ...


__all__ = ["Detector", "Encoder", "Tracker"]
