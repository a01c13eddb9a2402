"""Live network streams (``rtsp://``, ``http(s)://``, ...) as a frame source.

OpenCV's FFmpeg backend decodes them; :class:`UrlSource` follows
:class:`~deepsort_lib.io.video.VideoSource` (first frame read on opening, frames numbered
from 1), and :func:`~deepsort_lib.io.video.open_source` hands it every string with one of
:data:`LIVE_SCHEMES`. A live source has no natural end: when it stops delivering frames, that
is the end of this source (the multi-stream runner reconnects per its retry policy).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import cv2
import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import SourceError
from deepsort_lib.io.capture import FrameSource, capture_frames, quiet_opencv, start_capture

Frame = NDArray[np.uint8]
#: URL schemes read as live network streams.
LIVE_SCHEMES: tuple[str, ...] = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")


def is_url(spec: object) -> bool:
    """Whether ``spec`` is a string naming a live network stream (see :data:`LIVE_SCHEMES`)."""
    return isinstance(spec, str) and urlsplit(spec).scheme.lower() in LIVE_SCHEMES


def _url_name(url: str) -> str:
    """A file-name-safe name: the URL's host and path (``cam.local_live_1``)."""
    parts = urlsplit(url)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", (parts.hostname or "") + parts.path.rstrip("/"))
    return name.strip("._") or "stream"


class UrlSource(FrameSource):
    """Frames of a network stream (RTSP, HTTP(S) MJPEG or video, ...) decoded by OpenCV.

    Parameters
    ----------
    url
        The stream's URL.
    default_fps
        Frame rate to report when the stream does not give one.

    Raises
    ------
    SourceError
        If OpenCV cannot open the URL or read a first frame from it.
    """

    live = True

    def __init__(self, url: str, *, default_fps: float = 25.0) -> None:
        if not is_url(url):
            raise SourceError(f"not a stream URL ({', '.join(LIVE_SCHEMES)}): {url}")
        self.url = url
        self.name = _url_name(url)
        # FFmpeg prints connection errors straight to stderr; our SourceError says it in one
        # line. Read once, at FFmpeg's first use in the process; a user's own setting wins.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
        with quiet_opencv():
            capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        self._capture = capture
        self._first: Frame | None
        what = f"stream {_redact(url)}"
        self._first, self.fps = start_capture(capture, what, f"cannot open {what}")
        self.fps = self.fps or default_fps
        self.size = (int(self._first.shape[1]), int(self._first.shape[0]))
        self.num_frames = None

    def __iter__(self) -> Iterator[tuple[int, Frame]]:
        if self._first is None:
            raise SourceError(f"{self.name}: a stream source can be iterated only once")
        first, self._first = self._first, None
        yield from capture_frames(self._capture, first)

    def close(self) -> None:
        self._capture.release()


def _redact(url: str) -> str:
    """The URL without its password (errors end up in logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


__all__ = ["LIVE_SCHEMES", "UrlSource", "is_url"]
