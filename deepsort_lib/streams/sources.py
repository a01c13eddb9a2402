"""What a stream reads from: files, folders and cameras via ``io.video``, plus live URLs.

:func:`deepsort_lib.io.video.open_source` opens video files, image folders, MOTChallenge
sequences and camera indices. Live network streams (``rtsp://``, ``http(s)://``, ...) are not
among them yet, so :class:`UrlSource` is a small adapter that hands the URL to OpenCV's
FFmpeg backend; it follows ``VideoSource``'s behaviour (first frame read on opening, frames
numbered from 1).

A *live* source (a camera or a URL) has no natural end: when it stops delivering frames that is
a failure, and the runner reconnects per its :class:`~deepsort_lib.streams.runner.RetryPolicy`.
A file, folder or sequence ending is simply the end of its stream.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import SourceError
from deepsort_lib.io.video import FrameSource, open_source

Frame = NDArray[np.uint8]
#: URL schemes read as live network streams.
LIVE_SCHEMES: tuple[str, ...] = ("rtsp", "rtsps", "rtmp", "http", "https", "udp", "tcp", "srt")

SourceSpec = (
    str
    | os.PathLike[str]
    | int
    | FrameSource
    | Iterable[tuple[int, Frame]]
    | Callable[[], FrameSource | Iterable[tuple[int, Frame]]]
)


def is_url(spec: object) -> bool:
    """Whether ``spec`` is a string naming a live network stream (see :data:`LIVE_SCHEMES`)."""
    return isinstance(spec, str) and urlsplit(spec).scheme.lower() in LIVE_SCHEMES


def is_live(spec: object) -> bool:
    """Whether a source spec is live: a camera index (int or digits) or a stream URL."""
    if isinstance(spec, bool):
        return False
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return True
    return is_url(spec) or bool(getattr(spec, "live", False))


def source_name(spec: object, default: str) -> str:
    """A short file-name-safe name for a source: file stem, folder, ``camera0``, URL host+path."""
    if isinstance(spec, bool):
        name = default
    elif isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        name = f"camera{int(spec)}"
    elif is_url(spec):
        parts = urlsplit(str(spec))
        name = (parts.hostname or "") + parts.path.rstrip("/")
    elif isinstance(spec, (str, os.PathLike)):
        path = Path(spec)
        name = path.name if path.is_dir() else path.stem
    else:
        name = str(getattr(spec, "name", "") or default)
    return safe_name(name, default)


def safe_name(name: str, default: str) -> str:
    """``name`` with anything but letters, digits, ``.``, ``_`` and ``-`` replaced by ``_``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return safe or default


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
        self.name = source_name(url, "stream")
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        try:
            capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open stream {_redact(url)}")
        ok, first = capture.read()
        if not ok or first is None:
            capture.release()
            raise SourceError(f"cannot read a frame from stream {_redact(url)}")
        self._capture = capture
        self._first: Frame | None = np.asarray(first, dtype=np.uint8)
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0.0 < fps < 1000.0 else default_fps
        self.size = (int(first.shape[1]), int(first.shape[0]))
        self.num_frames = None

    def __iter__(self) -> Iterator[tuple[int, Frame]]:
        if self._first is None:
            raise SourceError(f"{self.name}: a stream source can be iterated only once")
        frame: Frame | None = self._first
        self._first = None
        number = 1
        while frame is not None:
            yield number, frame
            ok, next_frame = self._capture.read()
            frame = np.asarray(next_frame, dtype=np.uint8) if ok else None
            number += 1

    def close(self) -> None:
        self._capture.release()


def _redact(url: str) -> str:
    """The URL without its password (errors end up in logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return parts._replace(netloc=netloc).geturl()


def opener(spec: SourceSpec) -> Callable[[], Any] | None:
    """A function that (re)opens the source, or ``None`` for an already-open one-shot iterable.

    Paths and camera indices go to :func:`~deepsort_lib.io.video.open_source`, URLs to
    :class:`UrlSource`; a callable is used as is (it is the user's own opener).
    """
    if is_url(spec):
        url = str(spec)
        return lambda: UrlSource(url)
    if isinstance(spec, (str, os.PathLike, int)) and not isinstance(spec, bool):
        path_or_index = spec
        return lambda: open_source(path_or_index)
    if callable(spec) and not isinstance(spec, FrameSource):
        return spec
    return None


__all__ = [
    "LIVE_SCHEMES",
    "SourceSpec",
    "UrlSource",
    "is_live",
    "is_url",
    "opener",
    "safe_name",
    "source_name",
]
