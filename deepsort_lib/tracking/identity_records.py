"""What goes into and out of an :class:`~deepsort_lib.tracking.identity.IdentityMemory`: a
lost identity it holds, and a new track asking whether it is one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Float32Array = NDArray[np.float32]


@dataclass(frozen=True)
class LostIdentity:
    """One identity in the memory.

    Attributes
    ----------
    global_id
        The identity to continue.
    camera
        Name of the camera (stream) that last saw it.
    class_id
        Class of its last detection.
    last_time
        When it was last seen (the memory's time unit).
    last_tlwh
        ``(4,)`` its last box (top-left x, y, width, height) in that camera's pixels.
    summary
        ``(K, D)`` L2-normalised mean features (e.g. whole track, most recent frames).
    """

    global_id: int
    camera: str
    class_id: int
    last_time: float
    last_tlwh: FloatArray
    summary: Float32Array


@dataclass(frozen=True)
class IdentityQuery:
    """A new track asking whether it is a lost identity.

    Attributes
    ----------
    camera
        Camera (stream) that sees it.
    class_id
        Its class.
    first_time
        When it was first seen.
    first_tlwh
        ``(4,)`` its first box.
    summary
        ``(K, D)`` L2-normalised mean features; ``K = 0`` (no appearance) never matches.
    """

    camera: str
    class_id: int
    first_time: float
    first_tlwh: FloatArray
    summary: Float32Array


__all__ = ["IdentityQuery", "LostIdentity"]
