"""Detection crops for appearance models, extracted the way the original Deep SORT did it.

For each tlwh box the original encoder

1. changed the box width to ``aspect * height`` (``aspect`` = model input width / height),
   keeping the box centre, so the crop is not distorted when it is resized;
2. converted the box to integer corners (truncation), clipped them to the image;
3. resized the clipped region to the model input with ``cv2.resize`` (bilinear).

This module does the same, with two deliberate, documented differences:

* the far corner is clipped to the image size (``W``, ``H``, exclusive slice ends), so the last
  pixel row and column of the frame can be part of a crop (the original clipped to ``W - 1``);
* a box whose clipped region is empty (zero height, or wholly outside the frame) does not get a
  crop of random noise as in the original: it is reported in the ``valid`` mask, its crop is
  left black, and encoders give it an all-zero feature row (see
  :class:`deepsort_lib.models.reid.OnnxEncoder`).
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.errors import InvalidInputError
from deepsort_lib.models.frames import check_frame

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def check_boxes(tlwh: ArrayLike) -> NDArray[np.float64]:
    """Validate ``(N, 4)`` tlwh boxes: finite, non-negative width and height.

    An empty list (``[]`` or shape ``(0, 4)``) is valid and gives ``(0, 4)``.

    Raises
    ------
    InvalidInputError
        On a wrong shape, non-numeric, non-finite values or a negative width/height.
    """
    try:
        boxes = np.asarray(tlwh, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"boxes must be numeric, got {type(tlwh).__name__}") from exc
    if boxes.size == 0:
        return np.zeros((0, 4), np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise InvalidInputError(f"boxes must have shape (N, 4) in tlwh format, got {boxes.shape}")
    if not np.all(np.isfinite(boxes)):
        raise InvalidInputError("boxes contain NaN or infinite values")
    if np.any(boxes[:, 2:] < 0):
        raise InvalidInputError("boxes must have non-negative width and height")
    return boxes


def crop_regions(
    tlwh: ArrayLike, frame_shape: tuple[int, ...], aspect: float
) -> tuple[IntArray, BoolArray]:
    """Integer image regions the crops are cut from (vectorised over boxes).

    Parameters
    ----------
    tlwh
        ``(N, 4)`` boxes (top-left x, top-left y, width, height) in pixels.
    frame_shape
        ``(H, W, ...)`` of the frame.
    aspect
        Model input width / height; every box is given width ``aspect * height`` around its
        centre before clipping.

    Returns
    -------
    regions : ndarray of int64, shape (N, 4)
        ``x0, y0, x1, y1`` with ``frame[y0:y1, x0:x1]`` the region (x1, y1 exclusive), clipped
        to the frame. Meaningless where ``valid`` is False.
    valid : ndarray of bool, shape (N,)
        False where the clipped region is empty (zero-height box, box outside the frame).
    """
    boxes = check_boxes(tlwh)
    if not aspect > 0:
        raise InvalidInputError(f"aspect must be positive, got {aspect}")
    height, width = int(frame_shape[0]), int(frame_shape[1])
    new_w = aspect * boxes[:, 3]
    x0 = boxes[:, 0] - (new_w - boxes[:, 2]) / 2.0
    y0 = boxes[:, 1]
    corners = np.stack([x0, y0, x0 + new_w, y0 + boxes[:, 3]], axis=1)
    # Truncation toward zero, as the original's astype(int); negatives are clipped to 0 next.
    regions = np.trunc(corners).astype(np.int64)
    regions[:, 0::2] = np.clip(regions[:, 0::2], 0, width)
    regions[:, 1::2] = np.clip(regions[:, 1::2], 0, height)
    valid = (regions[:, 2] > regions[:, 0]) & (regions[:, 3] > regions[:, 1])
    return regions, valid


def extract_crops(
    frame: NDArray[np.uint8],
    tlwh: ArrayLike,
    size: tuple[int, int],
    *,
    mask: ArrayLike | None = None,
) -> tuple[NDArray[np.uint8], BoolArray]:
    """Cut, aspect-correct and resize one crop per box.

    Parameters
    ----------
    frame
        ``(H, W, 3)`` uint8 BGR image.
    tlwh
        ``(N, 4)`` boxes; may be empty.
    size
        Model input ``(width, height)`` in pixels, e.g. ``(64, 128)`` for mars-small128.
    mask
        Optional ``(N,)`` booleans: crops are only extracted where True (the others are
        reported invalid), so callers can skip boxes they will not use.

    Returns
    -------
    crops : ndarray of uint8, shape (N, height, width, 3)
        BGR crops; all-black where ``valid`` is False.
    valid : ndarray of bool, shape (N,)
        Which rows hold a real crop.

    Raises
    ------
    InvalidInputError
        On a malformed frame, boxes, mask or size.
    """
    image = check_frame(frame)
    boxes = check_boxes(tlwh)
    out_w, out_h = int(size[0]), int(size[1])
    if out_h < 1 or out_w < 1:
        raise InvalidInputError(f"crop size must be positive, got {size}")
    regions, valid = crop_regions(boxes, image.shape, out_w / out_h)
    if mask is not None:
        keep = np.asarray(mask)
        if keep.dtype != np.bool_ or keep.shape != (len(boxes),):
            raise InvalidInputError(f"mask must be ({len(boxes)},) booleans, got {keep.shape}")
        valid &= keep
    crops = np.zeros((len(boxes), out_h, out_w, 3), np.uint8)
    # One cv2.resize per crop: every region has its own scale, and OpenCV's resize is far
    # faster than a vectorised numpy gather at these sizes.
    for i in np.flatnonzero(valid):
        x0, y0, x1, y1 = regions[i]
        region = image[y0:y1, x0:x1]
        cv2.resize(region, (out_w, out_h), dst=crops[i], interpolation=cv2.INTER_LINEAR)
    return crops, valid


class CropEncoder(Protocol):
    """What :func:`encode_boxes` needs of an encoder: its feature length and a crop encoder."""

    @property
    def feature_dim(self) -> int:
        """Length of the feature rows."""
        ...

    def encode_crops(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Unit feature rows of ``(n, height, width, 3)`` uint8 BGR crops."""
        ...


def encode_boxes(
    encoder: CropEncoder,
    frame: NDArray[np.uint8],
    tlwh: ArrayLike,
    size: tuple[int, int],
    mask: ArrayLike | None = None,
) -> NDArray[np.float32]:
    """One feature row per box: ``encoder`` on the crops that exist, zero rows elsewhere.

    The shared ``encode`` of the crop-based encoders; ``size`` is the crop ``(width, height)``.
    Boxes with an empty crop (zero height, wholly outside the frame) or masked out get
    all-zero rows, which a tracker reads as "no appearance".

    Raises
    ------
    InvalidInputError
        On a malformed frame, boxes or mask (checked before the encoder runs).
    """
    crops, valid = extract_crops(frame, tlwh, size, mask=mask)
    features = np.zeros((len(crops), encoder.feature_dim), np.float32)
    index = np.flatnonzero(valid)
    if index.size:
        features[index] = encoder.encode_crops(crops[index])
    return features


__all__ = ["CropEncoder", "check_boxes", "crop_regions", "encode_boxes", "extract_crops"]
