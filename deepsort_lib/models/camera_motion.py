"""Estimate the camera's motion between consecutive frames (global affine map).

A tracker's constant-velocity model assumes a still camera. When the camera pans or shakes,
every track's prediction is off by the camera's motion; estimating that motion from the
background and warping the predictions first (BoT-SORT's camera-motion compensation) keeps
association working. Pass the estimate to ``Tracker.update(..., camera_motion=affine)``.

Two OpenCV methods are offered:

``"sparse"`` (default)
    Shi-Tomasi corners on the previous frame (outside the detection boxes, which move on
    their own), tracked into the current frame with pyramidal Lucas-Kanade optical flow, and a
    RANSAC fit of a rotation + uniform scale + translation (``cv2.estimateAffinePartial2D``).
``"ecc"``
    OpenCV's enhanced-correlation-coefficient alignment of the whole (down-scaled) image with a
    Euclidean model: slower, but needs no texture corners.

It lives with the image-side models because it reads pixels with OpenCV; the tracker only
applies the resulting warp (:mod:`deepsort_lib.tracking.camera`), so ``tracking/`` stays free
of OpenCV. Users with another estimator (gyro data, a homography from elsewhere) simply pass
their own ``(2, 3)`` matrices to the tracker: any object with an ``estimate(frame, tlwh)``
method fits.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

import cv2
import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.models.frames import check_frame

FloatArray = NDArray[np.float64]


@runtime_checkable
class CameraMotion(Protocol):
    """Anything that maps each new frame to the affine motion since the previous one."""

    def estimate(
        self, frame: NDArray[np.uint8], tlwh: NDArray[np.float64] | None = None
    ) -> FloatArray: ...


class CameraMotionEstimator:
    """Global-motion estimation between consecutive frames with OpenCV.

    Parameters
    ----------
    method
        ``"sparse"`` (optical flow on corners + RANSAC) or ``"ecc"``.
    downscale
        Work on frames shrunk by this factor (speed); the result is in full-size pixels.
    max_corners
        Corners tracked by the sparse method.
    """

    def __init__(
        self,
        method: Literal["sparse", "ecc"] = "sparse",
        downscale: float = 2.0,
        max_corners: int = 1000,
    ) -> None:
        if method not in ("sparse", "ecc"):
            raise ConfigurationError(f"method must be 'sparse' or 'ecc', got {method!r}")
        if downscale < 1:
            raise ConfigurationError("downscale must be >= 1")
        self.method = method
        self.downscale = float(downscale)
        self.max_corners = max_corners
        self._previous: NDArray[np.uint8] | None = None
        self._previous_mask: NDArray[np.uint8] | None = None

    def reset(self) -> None:
        """Forget the previous frame (the next estimate is the identity)."""
        self._previous = None
        self._previous_mask = None

    def estimate(
        self, frame: NDArray[np.uint8], tlwh: NDArray[np.float64] | None = None
    ) -> FloatArray:
        """Affine map from the previous frame's pixels to this frame's.

        Parameters
        ----------
        frame
            ``(H, W, 3)`` BGR or ``(H, W)`` grey uint8 image.
        tlwh
            This frame's detection boxes; their pixels are not used as background.

        Returns
        -------
        ndarray
            ``(2, 3)`` matrix; the identity for the first frame or when estimation fails.
        """
        grey = self._grey(frame)
        mask = self._background_mask(grey.shape, tlwh)
        identity = np.eye(2, 3)
        previous, previous_mask = self._previous, self._previous_mask
        self._previous, self._previous_mask = grey, mask
        if previous is None or previous.shape != grey.shape:
            return identity
        if self.method == "ecc":
            affine = self._ecc(previous, grey)
        else:
            affine = self._sparse(previous, grey, previous_mask)
        if affine is None:
            return identity
        affine[:, 2] *= self.downscale
        return affine

    def _grey(self, frame: NDArray[np.uint8]) -> NDArray[np.uint8]:
        if isinstance(frame, np.ndarray) and frame.ndim == 2 and frame.dtype == np.uint8:
            if frame.size == 0:
                raise InvalidInputError(f"a grey frame must be non-empty, got {frame.shape}")
            grey: NDArray[np.uint8] = frame
        else:
            grey = np.asarray(cv2.cvtColor(check_frame(frame), cv2.COLOR_BGR2GRAY), np.uint8)
        if self.downscale > 1:
            h, w = grey.shape
            size = (max(1, round(w / self.downscale)), max(1, round(h / self.downscale)))
            grey = np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), np.uint8)
        return np.ascontiguousarray(grey)

    def _background_mask(
        self, shape: tuple[int, ...], tlwh: NDArray[np.float64] | None
    ) -> NDArray[np.uint8]:
        mask = np.full(shape[:2], 255, dtype=np.uint8)
        if tlwh is not None and len(tlwh):
            boxes = np.round(np.asarray(tlwh, dtype=np.float64) / self.downscale).astype(int)
            for x, y, w, h in boxes:  # a handful of boxes per frame
                mask[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)] = 0
        return mask

    def _sparse(
        self,
        previous: NDArray[np.uint8],
        current: NDArray[np.uint8],
        mask: NDArray[np.uint8] | None,
    ) -> FloatArray | None:
        corners = cv2.goodFeaturesToTrack(
            previous, self.max_corners, qualityLevel=0.01, minDistance=1, blockSize=3, mask=mask
        )
        if corners is None or len(corners) < 8:
            return None
        moved, status, _ = cv2.calcOpticalFlowPyrLK(previous, current, corners, None)  # type: ignore[call-overload]
        ok = status.reshape(-1) == 1
        if ok.sum() < 8:
            return None
        affine, _ = cv2.estimateAffinePartial2D(
            corners[ok], moved[ok], method=cv2.RANSAC, ransacReprojThreshold=3.0
        )
        return None if affine is None else np.asarray(affine, dtype=np.float64)

    def _ecc(self, previous: NDArray[np.uint8], current: NDArray[np.uint8]) -> FloatArray | None:
        warp = np.eye(2, 3, dtype=np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
        try:
            # previous(x) ~ current(W x): W maps previous pixels to current ones, as wanted.
            # A 5-pixel Gaussian pre-filter widens ECC's basin of convergence.
            _, warp = cv2.findTransformECC(  # type: ignore[call-overload]
                previous, current, warp, cv2.MOTION_EUCLIDEAN, criteria, None, 5
            )
        except cv2.error:
            return None
        return np.asarray(warp, dtype=np.float64)


__all__ = ["CameraMotion", "CameraMotionEstimator"]
