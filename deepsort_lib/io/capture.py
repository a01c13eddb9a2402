"""What every frame source shares: the :class:`FrameSource` base and OpenCV capture reading.

:mod:`deepsort_lib.io.video` (files, cameras, image folders, MOT sequences) and
:mod:`deepsort_lib.io.url` (live streams) both build on this module; it imports neither.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import SourceError

Frame = NDArray[np.uint8]


class FrameSource:
    """Base of the library's sources: iterate for ``(frame_number, frame)``; close when done.

    Attributes
    ----------
    name
        A short name for output files (file stem, folder or ``camera0``).
    fps
        Frames per second (the container's, the sequence's, or ``default_fps``).
    size
        ``(width, height)`` of the frames.
    num_frames
        Number of frames when known (``None`` for cameras): what the container declares.
    frames_decoded
        Frames produced so far by iterating. A video that ends early (truncated file) stops
        with ``frames_decoded < num_frames`` and no error: compare the two (``deepsort
        track`` warns with both counts).
    """

    name: str = "source"
    fps: float = 25.0
    size: tuple[int, int] = (0, 0)
    num_frames: int | None = None
    frames_decoded: int = 0
    #: The file or folder read (``None`` for cameras); outputs may not be written onto it.
    path: Path | None = None

    def __iter__(self) -> Iterator[tuple[int, Frame]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Release the underlying file or device."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextmanager
def quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log inside the block (errors still show).

    OpenCV logs warnings when a device, file or URL fails to open or a write fails; the
    :class:`~deepsort_lib.errors.SourceError` raised then says it in one line.
    """
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(level)


def start_capture(capture: Any, what: str, open_error: str) -> tuple[Frame, float]:
    """Check that an OpenCV capture opened and read its first frame.

    Returns the first frame and the frame rate the capture reports (0.0 when it gives none or
    an implausible one). The capture is released before any :class:`SourceError`.
    """
    if not capture.isOpened():
        capture.release()
        raise SourceError(open_error)
    ok, first = capture.read()
    if not ok or first is None:
        capture.release()
        raise SourceError(f"cannot read a frame from {what}")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    return np.asarray(first, dtype=np.uint8), fps if 0.0 < fps < 1000.0 else 0.0


def capture_frames(capture: Any, first: Frame) -> Iterator[tuple[int, Frame]]:
    """``(number, frame)`` from an OpenCV capture whose first frame was already read.

    Numbers start at 1 with ``first``; the frames end at the capture's first failed read.
    """
    frame: Frame | None = first
    number = 1
    while frame is not None:
        yield number, frame
        ok, next_frame = capture.read()
        frame = np.asarray(next_frame, dtype=np.uint8) if ok else None
        number += 1


__all__ = ["Frame", "FrameSource", "capture_frames", "quiet_opencv", "start_capture"]
