"""Fitting frames into a detector's input: the letterbox rules of the YOLO and DETR families.

Every rule keeps the same record, :class:`Letterbox` (``input = image * scale + pad`` along
each axis), so boxes go back to image pixels the same way whatever the family. The rules
differ only in how the resized size is rounded and where the frame is placed:

========================  ===================  ===========  ==============================
rule                      resized side         placement    families
========================  ===================  ===========  ==============================
:meth:`Letterbox.fit`     floor                centred      Darknet YOLOv3
:meth:`~.fit_rounded`     round                centred      Ultralytics YOLOv8/11/26, v5
:meth:`~.fit_top_left`    truncate             top-left     YOLOX
:meth:`~.stretch`         the input size       whole input  RT-DETR, RF-DETR (no padding)
========================  ===================  ===========  ==============================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import InvalidInputError
from deepsort_lib.models.frames import check_frame

FloatArray = NDArray[np.float32]


def _check_sizes(image_size: tuple[int, int], input_size: tuple[int, int]) -> None:
    if image_size[0] <= 0 or image_size[1] <= 0:
        raise InvalidInputError(f"image size must be positive, got {image_size[0]}x{image_size[1]}")
    if input_size[0] <= 0 or input_size[1] <= 0:
        raise InvalidInputError(f"input size must be positive, got {input_size[0]}x{input_size[1]}")


@dataclass(frozen=True)
class Letterbox:
    """Where a frame lies inside the network input after letterboxing.

    ``input = image * scale + pad`` along each axis; :meth:`to_image` inverts it exactly.
    """

    image_size: tuple[int, int]  # (width, height)
    input_size: tuple[int, int]  # (width, height)
    resized: tuple[int, int]  # (width, height) of the resized frame inside the input
    pad: tuple[int, int]  # (x, y) offset of the resized frame

    @classmethod
    def fit(cls, image_size: tuple[int, int], input_size: tuple[int, int]) -> Letterbox:
        """Darknet's rule: scale the longer relative side to fit, integer sizes, centred."""
        _check_sizes(image_size, input_size)
        iw, ih = image_size
        nw, nh = input_size
        if nw * ih < nh * iw:  # width-limited
            rw, rh = nw, max(1, ih * nw // iw)
        else:
            rw, rh = max(1, iw * nh // ih), nh
        return cls((iw, ih), (nw, nh), (rw, rh), ((nw - rw) // 2, (nh - rh) // 2))

    @classmethod
    def fit_rounded(
        cls, image_size: tuple[int, int], input_size: tuple[int, int], stride: int | None = None
    ) -> Letterbox:
        """Ultralytics' and YOLOv5's rule: one gain ``r``, sides ``round(side × r)``, centred.

        The padding's odd pixel goes to the right and bottom (``round(pad / 2 - 0.1)`` on the
        left and top, as both projects write it). With ``stride`` (models with a dynamic input
        size), the input shrinks to the smallest multiple of ``stride`` around the resized
        frame: Ultralytics' "minimum rectangle" (``rect``), 640×480 rather than 640×640 for a
        4:3 frame.
        """
        _check_sizes(image_size, input_size)
        iw, ih = image_size
        nw, nh = input_size
        r = min(nw / iw, nh / ih)
        rw, rh = max(round(iw * r), 1), max(round(ih * r), 1)
        if stride:
            nw, nh = rw + (nw - rw) % stride, rh + (nh - rh) % stride
        return cls((iw, ih), (nw, nh), (rw, rh), ((nw - rw) // 2, (nh - rh) // 2))

    @classmethod
    def fit_top_left(cls, image_size: tuple[int, int], input_size: tuple[int, int]) -> Letterbox:
        """YOLOX's rule: one gain ``r``, sides ``int(side × r)``, placed at the top-left."""
        _check_sizes(image_size, input_size)
        iw, ih = image_size
        nw, nh = input_size
        r = min(nw / iw, nh / ih)
        return cls((iw, ih), (nw, nh), (max(int(iw * r), 1), max(int(ih * r), 1)), (0, 0))

    @classmethod
    def stretch(cls, image_size: tuple[int, int], input_size: tuple[int, int]) -> Letterbox:
        """DETR-family rule: resize to the whole input, aspect not kept, no padding."""
        _check_sizes(image_size, input_size)
        return cls(tuple(image_size), tuple(input_size), tuple(input_size), (0, 0))  # type: ignore[arg-type]

    @property
    def scale(self) -> tuple[float, float]:
        """(x, y) factors from image to input pixels."""
        return self.resized[0] / self.image_size[0], self.resized[1] / self.image_size[1]

    def to_input(self, xyxy: NDArray[Any]) -> NDArray[np.float64]:
        """Map ``(N, 4)`` xyxy boxes from image to network-input pixels."""
        sx, sy = self.scale
        factor = np.array([sx, sy, sx, sy])
        offset = np.array([self.pad[0], self.pad[1], self.pad[0], self.pad[1]], dtype=np.float64)
        out: NDArray[np.float64] = np.asarray(xyxy, dtype=np.float64) * factor + offset
        return out

    def to_image(self, xyxy: NDArray[Any]) -> NDArray[np.float64]:
        """Map ``(N, 4)`` xyxy boxes from network-input to image pixels (not clipped)."""
        sx, sy = self.scale
        factor = np.array([sx, sy, sx, sy])
        offset = np.array([self.pad[0], self.pad[1], self.pad[0], self.pad[1]], dtype=np.float64)
        out: NDArray[np.float64] = (np.asarray(xyxy, dtype=np.float64) - offset) / factor
        return out


FitRule = Callable[[tuple[int, int], tuple[int, int]], Letterbox]


def letterbox(
    frames: Sequence[NDArray[np.uint8]],
    input_size: tuple[int, int],
    fill: float = 0.5,
    *,
    fit: FitRule = Letterbox.fit,
    rgb: bool = True,
    scale: float = 1.0 / 255.0,
) -> tuple[FloatArray, list[Letterbox]]:
    """Letterbox BGR uint8 frames into an NCHW float32 blob.

    Parameters
    ----------
    frames
        ``(H, W, 3)`` uint8 BGR images (sizes may differ).
    input_size
        Network input ``(width, height)`` (a stride-fitted rule may choose a smaller one: the
        blob has the size the rule gives).
    fill
        Value of the padding, in blob units (Darknet: 0.5; Ultralytics: 114 / 255; YOLOX: 114).
    fit
        Where the frame goes: one of :class:`Letterbox`'s rules (default Darknet's).
    rgb
        Reorder the channels to RGB (every family but YOLOX, which reads BGR).
    scale
        Pixel values are multiplied by it (``1 / 255`` for [0, 1]; YOLOX: 1).

    Returns
    -------
    blob, boxes
        ``[B, 3, height, width]`` float32 and each frame's :class:`Letterbox`.
    """
    images = [check_frame(frame) for frame in frames]
    geometry = [fit((image.shape[1], image.shape[0]), input_size) for image in images]
    sizes = {box.input_size for box in geometry}
    if len(sizes) > 1:  # a stride-fitted rule on frames of different shapes
        raise InvalidInputError(f"frames of one batch must share an input size, got {sizes}")
    width, height = sizes.pop() if sizes else input_size
    blob = np.full((len(frames), 3, height, width), fill, dtype=np.float32)
    for i, (image, box) in enumerate(zip(images, geometry, strict=True)):
        resized: NDArray[Any]
        if box.resized == box.image_size:
            resized = image
        else:
            resized = cv2.resize(image, box.resized, interpolation=cv2.INTER_LINEAR)
        px, py = box.pad
        rw, rh = box.resized
        chw = resized.transpose(2, 0, 1)
        # Channel order while transposing to CHW; scale in float32.
        np.multiply(
            chw[::-1] if rgb else chw,
            np.float32(scale),
            out=blob[i, :, py : py + rh, px : px + rw],
        )
    return blob, geometry


__all__ = ["FitRule", "Letterbox", "letterbox"]
