"""A zero-download appearance encoder: colour histograms in stripes plus a HOG shape descriptor.

No model file, no training: each box's crop (cut as the original Deep SORT cut its crops, 64
wide and 128 tall by default) is described by

* **colour**: a hue/saturation histogram of each of ``stripes`` horizontal stripes (head,
  torso, legs, ...), with unsaturated pixels counted in brightness bins instead (their hue is
  noise). Pixels are weighted by a bump across the crop's width that is highest at the centre,
  so the background at the sides counts less. Each stripe's histogram is normalised to sum 1
  and square-rooted, so the dot product of two stripes is their Bhattacharyya coefficient.
* **shape**: OpenCV's HOG descriptor of the crop (coarse cells, 288 values by default).

The two parts are L2-normalised and weighted so that the cosine similarity of two features is
``colour_weight * colour_similarity + (1 - colour_weight) * hog_similarity``.

Limits: it separates people who dress differently; it cannot tell apart people in similar
clothes, and it is sensitive to strong lighting changes. Learned models (mars-small128, OSNet)
are far better; this one exists so appearance can help with no model file at all. Its distances
are larger than a learned model's for the same person, so it wants its own
``max_cosine_distance`` (see ``docs/reid.md``).
"""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.errors import ConfigurationError
from deepsort_lib.models.crops import encode_boxes


class ClassicEncoder:
    """Colour-stripe histograms + HOG, L2-normalised; implements the Encoder protocol.

    Parameters
    ----------
    crop_size
        ``(width, height)`` of the crops in pixels; both multiples of ``hog_cell * 2``.
    stripes
        Horizontal stripes with their own colour histogram.
    hue_bins, saturation_bins, gray_bins
        Histogram resolution: chromatic pixels fall in ``hue_bins * saturation_bins`` bins,
        pixels with saturation below ``min_saturation`` in ``gray_bins`` brightness bins.
    min_saturation
        Saturation (0-255) below which hue is ignored.
    hog_cell
        HOG cell size in pixels (blocks are 2 x 2 cells, not overlapping); ``0`` disables HOG.
    colour_weight
        Share of the colour part in the cosine similarity, in [0, 1].

    Attributes
    ----------
    reidentifies
        ``False``: hand-made descriptors tell apart the people next to each other, whom motion
        also separates, but not two people dressed alike seen seconds apart; re-entry
        (:mod:`deepsort_lib.tracking.reentry`) is not turned on by default on them.
    """

    reidentifies: ClassVar[bool] = False

    def __init__(
        self,
        *,
        crop_size: tuple[int, int] = (64, 128),
        stripes: int = 4,
        hue_bins: int = 8,
        saturation_bins: int = 3,
        gray_bins: int = 4,
        min_saturation: int = 40,
        hog_cell: int = 16,
        colour_weight: float = 0.75,
    ) -> None:
        width, height = int(crop_size[0]), int(crop_size[1])
        if min(height, width, stripes, hue_bins, saturation_bins, gray_bins) < 1:
            raise ConfigurationError("crop size, stripes and bin counts must be positive")
        if height % stripes:
            raise ConfigurationError(f"crop height {height} is not divisible by {stripes} stripes")
        if hog_cell < 0 or (hog_cell and (height % (2 * hog_cell) or width % (2 * hog_cell))):
            raise ConfigurationError(f"crop size {crop_size} must be a multiple of 2 * hog_cell")
        if not 0.0 <= colour_weight <= 1.0 or (hog_cell == 0 and colour_weight == 0.0):
            raise ConfigurationError(f"colour_weight must be in [0, 1], got {colour_weight}")
        if not 0 <= min_saturation <= 255:
            raise ConfigurationError(f"min_saturation must be in [0, 255], got {min_saturation}")
        self.crop_size = (width, height)
        self.stripes = stripes
        self.hue_bins = hue_bins
        self.saturation_bins = saturation_bins
        self.gray_bins = gray_bins
        self.min_saturation = min_saturation
        self.colour_weight = float(colour_weight) if hog_cell else 1.0
        self.bins_per_stripe = hue_bins * saturation_bins + gray_bins
        self._hog: cv2.HOGDescriptor | None = None
        hog_dim = 0
        if hog_cell:
            block = 2 * hog_cell
            self._hog = cv2.HOGDescriptor(
                (width, height), (block, block), (block, block), (hog_cell, hog_cell), 9
            )
            hog_dim = int(self._hog.getDescriptorSize())
        self.hog_dim = hog_dim
        self.feature_dim = stripes * self.bins_per_stripe + hog_dim
        # Weight of each column: a bump peaking at the centre, 0.25 at the sides.
        x = (np.arange(width) + 0.5) / width * 2.0 - 1.0
        self._column_weight = (1.0 - 0.75 * x**2).astype(np.float64)
        # Which stripe each row of the crop belongs to.
        self._row_stripe = np.arange(height) * stripes // height

    def _colour(self, crops: NDArray[np.uint8]) -> NDArray[np.float64]:
        n, height, width = crops.shape[:3]
        # One cvtColor call for the whole batch: the crops stacked as one tall image.
        hsv = cv2.cvtColor(crops.reshape(n * height, width, 3), cv2.COLOR_BGR2HSV)
        hsv = hsv.reshape(n, height, width, 3).astype(np.int64)
        hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
        hue_bin = np.minimum(hue * self.hue_bins // 180, self.hue_bins - 1)
        span = 256 - self.min_saturation
        sat_bin = np.clip((sat - self.min_saturation) * self.saturation_bins // span, 0, None)
        chromatic = hue_bin * self.saturation_bins + np.minimum(sat_bin, self.saturation_bins - 1)
        gray = self.hue_bins * self.saturation_bins + val * self.gray_bins // 256
        bins = np.where(sat >= self.min_saturation, chromatic, gray)
        cell = self._row_stripe[None, :, None] * self.bins_per_stripe + bins
        cell += (np.arange(n) * self.stripes * self.bins_per_stripe)[:, None, None]
        weights = np.broadcast_to(self._column_weight, cell.shape)
        size = n * self.stripes * self.bins_per_stripe
        hist = np.bincount(cell.ravel(), weights=weights.ravel(), minlength=size)
        hist = hist.reshape(n, self.stripes, self.bins_per_stripe)
        hist = hist / hist.sum(axis=2, keepdims=True)
        # sqrt: dot products of stripes become Bhattacharyya coefficients; each stripe has norm 1.
        out: NDArray[np.float64] = np.sqrt(hist).reshape(n, -1) / np.sqrt(self.stripes)
        return out

    def _shape(self, crops: NDArray[np.uint8]) -> NDArray[np.float64]:
        assert self._hog is not None
        n, height, width = crops.shape[:3]
        # One HOG call for the batch: the crops side by side, each with a 1-pixel reflected
        # border (OpenCV's own border rule), so a crop's gradients never see its neighbours and
        # batched features equal one-by-one features exactly.
        padded = np.pad(crops, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
        step = width + 2
        strip = np.ascontiguousarray(padded.transpose(1, 0, 2, 3).reshape(height + 2, n * step, 3))
        where = [(i * step + 1, 1) for i in range(n)]
        values = self._hog.compute(strip, winStride=(8, 8), padding=(0, 0), locations=where)
        hog = np.asarray(values, np.float64).reshape(n, self.hog_dim)
        norms = np.linalg.norm(hog, axis=1, keepdims=True)
        out: NDArray[np.float64] = hog / np.maximum(norms, 1e-12)
        return out

    def encode_crops(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Features of ``(n, height, width, 3)`` uint8 BGR crops of :attr:`crop_size`."""
        if len(crops) == 0:
            return np.zeros((0, self.feature_dim), np.float32)
        parts = [np.sqrt(self.colour_weight) * self._colour(crops)]
        if self._hog is not None:
            parts.append(np.sqrt(1.0 - self.colour_weight) * self._shape(crops))
        features = np.concatenate(parts, axis=1)
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        out: NDArray[np.float32] = (features / np.maximum(norms, 1e-12)).astype(np.float32)
        return out

    def encode(
        self, frame: NDArray[np.uint8], tlwh: ArrayLike, mask: ArrayLike | None = None
    ) -> NDArray[np.float32]:
        """One L2-normalised feature per box (the Encoder protocol).

        Boxes with an empty crop (zero height, wholly outside the frame) or masked out get
        all-zero rows, as with :class:`~deepsort_lib.models.reid.OnnxEncoder`.

        Raises
        ------
        InvalidInputError
            On a malformed frame, boxes or mask.
        """
        return encode_boxes(self, frame, tlwh, self.crop_size, mask)


__all__ = ["ClassicEncoder"]
