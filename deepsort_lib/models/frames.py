"""The one check every image-side model runs on a frame before touching it."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import InvalidInputError

_EXPECTED = "frame must be a non-empty (H, W, 3) uint8 BGR image"


def check_frame(frame: Any) -> NDArray[np.uint8]:
    """Validate an ``(H, W, 3)`` uint8 BGR frame and return it as an array.

    Used by the detectors (HOG, YOLO), the encoders' crop extraction and the camera-motion
    estimator, so a bad frame gets the same message wherever it is given.

    Raises
    ------
    InvalidInputError
        If ``frame`` is not a non-empty ``(H, W, 3)`` uint8 array.
    """
    if isinstance(frame, np.ndarray):
        array = frame
    else:
        try:
            array = np.asarray(frame)
        except (TypeError, ValueError) as exc:  # ragged nested lists
            raise InvalidInputError(f"{_EXPECTED}, got {type(frame).__name__}") from exc
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3 or array.size == 0:
        raise InvalidInputError(f"{_EXPECTED}, got shape {array.shape} dtype {array.dtype}")
    return array


__all__ = ["check_frame"]
