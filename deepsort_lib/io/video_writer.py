"""The annotated-video writer: frames in, a video file that appears only when complete."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import cv2

from deepsort_lib.errors import ConfigurationError, SourceError
from deepsort_lib.io.atomic import AtomicPath
from deepsort_lib.io.capture import Frame, quiet_opencv


class VideoWriter:
    """Writes frames to a video file that appears only when :meth:`close` succeeds.

    Frames go to a hidden temporary file in the target's folder (same extension, so OpenCV
    picks the same container) which :meth:`close` renames onto ``path``; :meth:`abort`, or an
    exception inside a ``with`` block, deletes it. The frame size is taken from the first frame.

    Parameters
    ----------
    path
        Output path; ``.mp4`` with the default ``mp4v`` codec, ``.avi`` with ``MJPG``/``XVID``.
    fps
        Frames per second written into the container.
    fourcc
        Four-character codec code.

    Raises
    ------
    ConfigurationError
        If ``fps`` is not positive or ``fourcc`` is not four characters.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float = 25.0,
        fourcc: str = "mp4v",
        *,
        protect: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        if not fps > 0:
            raise ConfigurationError(f"fps must be positive, got {fps}")
        if len(fourcc) != 4:
            raise ConfigurationError(f"fourcc must be four characters, got {fourcc!r}")
        self.path = Path(path)
        self.fps = float(fps)
        self.fourcc = fourcc
        self.frames_written = 0
        self._protect = tuple(protect)
        self._target: AtomicPath | None = None
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None

    def _open(self, size: tuple[int, int]) -> cv2.VideoWriter:
        self._target = AtomicPath(self.path, keep_suffix=True, protect=self._protect)
        writer = cv2.VideoWriter(
            str(self._target.temp), cv2.VideoWriter.fourcc(*self.fourcc), self.fps, size
        )
        if not writer.isOpened():
            self._target.abort()
            raise SourceError(
                f"OpenCV cannot write {self.path} with codec {self.fourcc!r} "
                "(try a .mp4 path with mp4v or .avi with MJPG)"
            )
        self._size = size
        return writer

    def write(self, frame: Frame) -> None:
        """Append one ``(H, W, 3)`` uint8 BGR frame (all frames must have the same size)."""
        size = (int(frame.shape[1]), int(frame.shape[0]))
        if self._writer is None:
            self._writer = self._open(size)
        elif size != self._size:
            raise SourceError(f"frame size {size} differs from the video's {self._size}")
        self._writer.write(frame)
        self.frames_written += 1

    def finish(self) -> None:
        """Finalise the temporary file and check it holds every frame, without publishing it.

        OpenCV's writer drops frames it cannot write (a full disk) with only a log warning, so
        the file is checked after release: it must exist, be non-empty and report at least
        :attr:`frames_written` frames when reopened.

        Raises
        ------
        SourceError
            If the file is incomplete; the temporary file is deleted, ``path`` is untouched.
        """
        if self._writer is None or self._target is None:
            return
        self._writer.release()
        self._writer = None
        if self._target.direct:
            return  # a device or FIFO: nothing to reopen
        temp = self._target.temp
        try:
            size = temp.stat().st_size
        except OSError:
            size = 0
        found = 0
        if size > 0:
            with quiet_opencv():
                capture = cv2.VideoCapture(str(temp))
                try:
                    if capture.isOpened():
                        found = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
                finally:
                    capture.release()
        if found < self.frames_written:
            self._target.abort()
            raise SourceError(
                f"writing {self.path} failed: {found} of {self.frames_written} frames reached "
                f"the file ({size} bytes; disk full?); the previous file, if any, is kept"
            )

    def close(self) -> Path | None:
        """Finish the file; returns its path, or ``None`` if no frame was written.

        Raises
        ------
        SourceError
            If the video could not be written completely (see :meth:`finish`).
        """
        if self._target is None:
            return None
        self.finish()
        return self._target.commit()

    def abort(self) -> None:
        """Stop and delete the partial file."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        if self._target is not None:
            self._target.abort()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


__all__ = ["VideoWriter"]
