"""Zero-download people detector: OpenCV's HOG + linear SVM (Dalal & Triggs, CVPR 2005).

OpenCV 4 ships the trained 64x128 pedestrian SVM (``HOGDescriptor.getDefaultPeopleDetector``),
so this detector needs no model file. It satisfies the :class:`~deepsort_lib.protocols.Detector`
protocol and reports every box as class 0 ("person").

Tuning, measured on ``vtest.avi`` (768x576, people about 60-120 px tall; figures in
``docs/benchmarks.md``):

* The detection window is 128 px tall and the person inside it about 96 px, so smaller
  people are missed at the native size. ``upscale=1.5`` finds about 55% more boxes per frame
  than no upscaling (4.2 against 2.7); it costs roughly 2.25x the pixels.
* ``scale=1.1`` between pyramid levels (rather than OpenCV's 1.05) halves the time of the
  upscaled search for about a fifth fewer boxes; ``win_stride=(8, 8)`` is the block stride.
* Grouped hits still overlap, often a small box inside a larger one: they are suppressed
  greedily by the overlap of the smaller box (:func:`suppress_overlaps`).
* The window keeps a context margin around the person; ``tight_boxes`` trims it so the
  boxes hug the person as MOTChallenge ground truth does.
* The SVM margin of each box becomes a score in (0, 1) by the logistic function, so a margin
  of 0 (the decision boundary) is 0.5.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.models.frames import check_frame

FloatArray = NDArray[np.float64]

#: Dalal & Triggs' window keeps about 16 px of context on every side of a 64x128 window:
#: the fraction of the width and of the height to trim from each side for a tight box.
DALAL_TRIGGS_MARGIN: tuple[float, float] = (16 / 64, 16 / 128)


def suppress_overlaps(tlwh: FloatArray, scores: FloatArray, max_overlap: float) -> NDArray[np.intp]:
    """Greedy non-maximum suppression by intersection over the *smaller* box's area.

    Hand-written because OpenCV's ``dnn.NMSBoxes`` measures IoU, which keeps a small HOG hit
    lying inside a larger one (a frequent multi-scale artefact: IoU is only the area ratio).

    Parameters
    ----------
    tlwh
        ``(N, 4)`` boxes.
    scores
        ``(N,)`` scores; higher boxes win.
    max_overlap
        A box is dropped when this share of its own or the winner's area overlaps a kept box.

    Returns
    -------
    ndarray
        Indices of the kept boxes, best first.
    """
    order = np.argsort(-scores, kind="stable")
    x1, y1 = tlwh[:, 0], tlwh[:, 1]
    x2, y2 = x1 + tlwh[:, 2], y1 + tlwh[:, 3]
    area = tlwh[:, 2] * tlwh[:, 3]
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        w = np.clip(np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]), 0, None)
        overlap = (w * h) / np.minimum(area[best], area[rest])
        order = rest[overlap <= max_overlap]
    return np.asarray(keep, dtype=np.intp)


class HOGDetector:
    """People detector on OpenCV's built-in HOG pedestrian model; no download needed.

    Parameters
    ----------
    upscale
        Resize factor applied to the frame before detection (>= 1 finds smaller people:
        the smallest person found is about ``96 / upscale`` px tall).
    win_stride
        Sliding-window step in pixels (a multiple of the 8 px block stride).
    padding
        Padding added around the image, in pixels.
    scale
        Ratio between image pyramid levels (> 1; larger is faster and coarser).
    hit_threshold
        Minimum SVM margin of a window (0 is the decision boundary; raise to cut false
        positives).
    group_threshold
        OpenCV's rectangle grouping: a detection needs more than this many overlapping
        windows (0 disables grouping).
    max_overlap
        Greedy suppression of the grouped boxes: see :func:`suppress_overlaps`.
    min_score
        Drop boxes whose score (logistic of the margin) is below this.
    tight_boxes
        Trim the window's context margin (:data:`DALAL_TRIGGS_MARGIN`) so boxes hug the
        person, as MOTChallenge ground truth does.
    class_id
        Class id given to every box (0, "person" in COCO order).

    Raises
    ------
    ConfigurationError
        If a parameter is out of range.
    """

    #: Names indexed by class id, for drawing.
    class_names: tuple[str, ...] = ("person",)

    def __init__(
        self,
        *,
        upscale: float = 1.5,
        win_stride: tuple[int, int] = (8, 8),
        padding: tuple[int, int] = (8, 8),
        scale: float = 1.1,
        hit_threshold: float = 0.0,
        group_threshold: int = 2,
        max_overlap: float = 0.65,
        min_score: float = 0.0,
        tight_boxes: bool = True,
        class_id: int = 0,
    ) -> None:
        if not upscale > 0:
            raise ConfigurationError(f"upscale must be positive, got {upscale}")
        if not scale > 1:
            raise ConfigurationError(f"scale must be > 1, got {scale}")
        if any(s <= 0 or s % 8 for s in win_stride):
            raise ConfigurationError(
                f"win_stride must be positive multiples of 8, got {win_stride}"
            )
        if any(p < 0 for p in padding):
            raise ConfigurationError(f"padding must be non-negative, got {padding}")
        if not 0 < max_overlap <= 1:
            raise ConfigurationError(f"max_overlap must be in (0, 1], got {max_overlap}")
        if group_threshold < 0:
            raise ConfigurationError(f"group_threshold must be >= 0, got {group_threshold}")
        self.upscale = float(upscale)
        self.win_stride = (int(win_stride[0]), int(win_stride[1]))
        self.padding = (int(padding[0]), int(padding[1]))
        self.scale = float(scale)
        self.hit_threshold = float(hit_threshold)
        self.group_threshold = int(group_threshold)
        self.max_overlap = float(max_overlap)
        self.min_score = float(min_score)
        self.tight_boxes = bool(tight_boxes)
        self.class_id = int(class_id)
        self._hog = cv2.HOGDescriptor()
        self._window = (int(self._hog.winSize[0]), int(self._hog.winSize[1]))  # (width, height)
        self._hog.setSVMDetector(
            np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), dtype=np.float32)
        )

    def __repr__(self) -> str:
        return (
            f"HOGDetector(upscale={self.upscale}, scale={self.scale}, "
            f"win_stride={self.win_stride}, hit_threshold={self.hit_threshold})"
        )

    def _search_image(self, frame: NDArray[np.uint8]) -> NDArray[np.uint8]:
        """The frame as searched: upscaled, then padded up to at least one detection window.

        OpenCV 4's ``detectMultiScale`` reads out of bounds (segfault, heap corruption) on
        images smaller than its window: 80x60, 64x128 (width x height), 60x200 and 1x1 frames
        all crashed the process. Padding with black at the bottom and right keeps the pixel
        coordinates of the frame, and boxes are clipped to the frame afterwards.
        """
        height, width = frame.shape[:2]
        image: NDArray[np.uint8] = frame
        if self.upscale != 1.0:
            size = (round(width * self.upscale), round(height * self.upscale))
            if min(size) >= 1:
                resized = cv2.resize(
                    frame, None, fx=self.upscale, fy=self.upscale, interpolation=cv2.INTER_LINEAR
                )
            else:  # a frame too small to shrink: keep one pixel per side
                resized = cv2.resize(
                    frame, (max(1, size[0]), max(1, size[1])), interpolation=cv2.INTER_AREA
                )
            image = np.asarray(resized, dtype=np.uint8)
        win_w, win_h = self._window
        short_x, short_y = max(0, win_w - image.shape[1]), max(0, win_h - image.shape[0])
        if short_x or short_y:
            image = np.asarray(
                cv2.copyMakeBorder(image, 0, short_y, 0, short_x, cv2.BORDER_CONSTANT, value=0),
                dtype=np.uint8,
            )
        return image

    def detect(self, frame: NDArray[np.uint8]) -> Detections:
        """Find people in an ``(H, W, 3)`` uint8 BGR frame.

        Frames of any size are searched; one smaller than the 64x128 window is padded first
        (see :meth:`_search_image`), so it can only give boxes that reach into it.

        Raises
        ------
        InvalidInputError
            If ``frame`` is not an ``(H, W, 3)`` uint8 array.
        """
        frame = check_frame(frame)
        height, width = frame.shape[:2]
        image = self._search_image(frame)
        rects, weights = self._hog.detectMultiScale(
            image,
            hitThreshold=self.hit_threshold,
            winStride=self.win_stride,
            padding=self.padding,
            scale=self.scale,
            groupThreshold=self.group_threshold,
        )
        if len(rects) == 0:
            return Detections.empty()
        tlwh = np.asarray(rects, dtype=np.float64).reshape(-1, 4) / self.upscale
        scores = 1.0 / (1.0 + np.exp(-np.asarray(weights, dtype=np.float64).reshape(-1)))
        keep = suppress_overlaps(tlwh, scores, self.max_overlap)
        tlwh, scores = tlwh[keep], scores[keep]
        if self.tight_boxes:
            mx, my = DALAL_TRIGGS_MARGIN
            tlwh = tlwh + np.column_stack(
                [tlwh[:, 2] * mx, tlwh[:, 3] * my, -2 * tlwh[:, 2] * mx, -2 * tlwh[:, 3] * my]
            )
        # Clip to the frame: padding lets windows hang over the border.
        x1 = np.clip(tlwh[:, 0], 0, width)
        y1 = np.clip(tlwh[:, 1], 0, height)
        x2 = np.clip(tlwh[:, 0] + tlwh[:, 2], 0, width)
        y2 = np.clip(tlwh[:, 1] + tlwh[:, 3], 0, height)
        valid = (x2 - x1 >= 1) & (y2 - y1 >= 1) & (scores >= self.min_score)
        corners = np.column_stack([x1, y1, x2, y2])[valid]
        return Detections.from_xyxy(
            corners, scores[valid], np.full(int(valid.sum()), self.class_id, np.int64)
        )


__all__ = ["DALAL_TRIGGS_MARGIN", "HOGDetector", "suppress_overlaps"]
