"""Frame sources: video files, cameras, image folders and MOT sequences.

A source is an iterable of ``(frame_number, frame_bgr)`` pairs: ``frame_bgr`` is an
``(H, W, 3)`` uint8 array and frame numbers start at **1** (the MOTChallenge convention), so
result files line up with ground truth whatever the source. Sources are also context managers
that release the file or camera.

=============================  =============================================================
:func:`open_source` argument   source
=============================  =============================================================
``0``, ``"0"``                 webcam / capture device index (:class:`VideoSource`)
``"clip.mp4"``                 a video file OpenCV can decode (:class:`VideoSource`)
``"frames/"``                  a folder of images, in name order (:class:`ImageFolderSource`)
``"MOT16-02/"``                a MOTChallenge sequence: ``img1/``, ``det/det.txt``, optional
                               ``seqinfo.ini`` and features ``.npy`` (:class:`MotSequenceSource`)
=============================  =============================================================
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from deepsort_lib.errors import ConfigurationError, SourceError
from deepsort_lib.io.capture import Frame, FrameSource, capture_frames, quiet_opencv, start_capture
from deepsort_lib.io.detection_cache import DetectionCache
from deepsort_lib.io.url import UrlSource, is_url

#: Image extensions read by :class:`ImageFolderSource`.
IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class VideoSource(FrameSource):
    """Frames decoded by OpenCV from a video file or a capture device.

    The first frame is read when the source is created, so an unreadable file fails here,
    before any output is opened.

    Parameters
    ----------
    source
        Path of a video file, or an integer capture-device index (webcam).
    default_fps
        Frame rate to report when the container does not give one (cameras often don't).

    Raises
    ------
    SourceError
        If the file is missing, or OpenCV cannot open it or decode its first frame.
    """

    def __init__(self, source: str | os.PathLike[str] | int, *, default_fps: float = 25.0) -> None:
        if isinstance(source, int):
            self.name = f"camera{source}"
            with quiet_opencv():
                capture = cv2.VideoCapture(source)
            what = f"camera {source}"
            reason = "no such capture device, or it is busy"
        else:
            path = Path(source)
            if not path.exists():
                raise SourceError(f"video file not found: {path}")
            if not path.is_file():
                raise SourceError(f"not a video file: {path}")
            self.name = path.stem
            self.path = path
            with quiet_opencv():
                capture = cv2.VideoCapture(str(path))
            what = f"video {path}"
            reason = "not a video OpenCV can decode"
        self._capture = capture
        self._first: Frame | None
        self._first, self.fps = start_capture(capture, what, f"cannot open {what} ({reason})")
        self.fps = self.fps or default_fps
        self.size = (int(self._first.shape[1]), int(self._first.shape[0]))
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.num_frames = count if count > 0 and not isinstance(source, int) else None

    def __iter__(self) -> Iterator[tuple[int, Frame]]:
        if self._first is None:
            raise SourceError(f"{self.name}: a video source can be iterated only once")
        first, self._first = self._first, None
        for number, frame in capture_frames(self._capture, first):
            self.frames_decoded = number
            yield number, frame

    def close(self) -> None:
        self._capture.release()


def _read_image(path: Path) -> Frame:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(f"cannot read image {path}")
    return np.asarray(image, dtype=np.uint8)


class ImageFolderSource(FrameSource):
    """Frames read from the images of a folder, in file-name order.

    Parameters
    ----------
    folder
        Directory holding the images (see :data:`IMAGE_EXTENSIONS`).
    fps
        Frame rate to report (written into output videos).

    Raises
    ------
    SourceError
        If the folder is missing or holds no images, or the first image is unreadable.
    """

    def __init__(self, folder: str | os.PathLike[str], *, fps: float = 25.0) -> None:
        path = Path(folder)
        if not path.is_dir():
            raise SourceError(f"image folder not found: {path}")
        self.files = sorted(
            p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
        )
        if not self.files:
            raise SourceError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {path}")
        self.name = path.name
        self.path = path
        self.fps = fps
        first = _read_image(self.files[0])
        self.size = (int(first.shape[1]), int(first.shape[0]))
        self.num_frames = len(self.files)

    def __iter__(self) -> Iterator[tuple[int, Frame]]:
        for number, file in enumerate(self.files, start=1):
            image = _read_image(file)
            self.frames_decoded = number
            yield number, image


class MotSequenceSource(ImageFolderSource):
    """A MOTChallenge sequence directory.

    Layout: ``img1/`` (frames), ``det/det.txt`` (public detections), optional ``seqinfo.ini``
    (``frameRate``, ``imDir``, ``seqLength``) and an optional features ``.npy`` aligned with
    ``det.txt`` (looked for as ``det/det.npy`` unless ``features`` is given).

    Attributes
    ----------
    detections
        The sequence's :class:`~deepsort_lib.io.detection_cache.DetectionCache`, or ``None``
        when it has no ``det/det.txt``.

    Raises
    ------
    SourceError
        If ``img1/`` (or ``seqinfo.ini``'s ``imDir``) is missing or empty.
    """

    def __init__(
        self,
        sequence: str | os.PathLike[str],
        *,
        features: str | os.PathLike[str] | None = None,
    ) -> None:
        root = Path(sequence)
        info = _read_seqinfo(root / "seqinfo.ini")
        image_dir = root / info.get("imdir", "img1")
        super().__init__(image_dir, fps=float(info.get("framerate", 25.0)))
        self.name = info.get("name", root.name)
        self.root = root
        det = root / "det" / "det.txt"
        feats = Path(features) if features is not None else root / "det" / "det.npy"
        if features is not None and not feats.is_file():
            raise SourceError(f"features file not found: {feats}")
        self.detections: DetectionCache | None = (
            DetectionCache.load(det, feats if feats.is_file() else None, self.num_frames)
            if det.is_file()
            else None
        )


def _read_seqinfo(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_bytes().decode("utf-8-sig"), source=str(path))
    except UnicodeDecodeError as exc:
        raise SourceError(f"cannot parse {path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except configparser.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SourceError(f"cannot parse {path}: {first}") from None
    # ConfigParser lower-cases keys: frameRate -> framerate.
    info: dict[str, Any] = dict(parser["Sequence"]) if parser.has_section("Sequence") else {}
    if "framerate" in info:
        try:
            rate = float(info["framerate"])
        except ValueError:
            rate = float("nan")
        if not 0.0 < rate < 1000.0:
            raise SourceError(
                f"{path}: frameRate must be a number of frames per second, "
                f"got {info['framerate']!r}"
            )
        info["framerate"] = rate
    return info


def is_mot_sequence(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like a MOTChallenge sequence directory."""
    root = Path(path)
    return (root / "img1").is_dir() or (root / "seqinfo.ini").is_file()


def open_source(source: str | os.PathLike[str] | int) -> FrameSource:
    """Open a video file, capture device, image folder or MOTChallenge sequence.

    Parameters
    ----------
    source
        An int or a string of digits is a capture-device index; a URL (``rtsp://``,
        ``http(s)://``, ...) a live stream (:class:`~deepsort_lib.io.url.UrlSource`); a
        directory is a MOTChallenge sequence when it has ``img1/`` or ``seqinfo.ini``, else an
        image folder; anything else is a video file.

    Raises
    ------
    SourceError
        If the source cannot be opened or read.
    """
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        return VideoSource(int(source))
    if is_url(source):
        return UrlSource(str(source))
    path = Path(source)
    if path.is_dir():
        return MotSequenceSource(path) if is_mot_sequence(path) else ImageFolderSource(path)
    return VideoSource(path)


def sample_video_frames(path: str | os.PathLike[str], count: int) -> Iterator[Frame]:
    """``count`` frames spread evenly over a video file (all of them if it is shorter).

    The one sampler of the package (model calibration uses it), decoding through
    :class:`VideoSource`.

    Raises
    ------
    ConfigurationError
        If ``count`` < 1.
    SourceError
        If the video cannot be opened or read.
    """
    if count < 1:
        raise ConfigurationError(f"the number of frames to sample must be >= 1, got {count}")
    with VideoSource(path) as source:
        total = source.num_frames or 0
        picks = np.linspace(0, max(total - 1, 0), num=min(count, max(total, 1)))
        wanted = {int(i) + 1 for i in picks.astype(int)}  # frame numbers start at 1
        for number, frame in source:
            if number in wanted:
                wanted.discard(number)
                yield frame
            if not wanted:
                return


__all__ = [
    "IMAGE_EXTENSIONS",
    "FrameSource",
    "ImageFolderSource",
    "MotSequenceSource",
    "VideoSource",
    "is_mot_sequence",
    "open_source",
    "sample_video_frames",
]
