"""The detection cache: a run's detections (and features) saved once, reused while valid.

A cache is keyed by the source's *content* (:func:`content_fingerprint`), not its name, and by
the detector, encoder and filters that produced it, so a different clip under the same name
never reuses another clip's detections.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import InvalidInputError, SourceError
from deepsort_lib.io.atomic import AtomicPath
from deepsort_lib.io.mot import FloatArray, MotData, read_mot, write_mot

#: Bytes hashed at each end of a file by :func:`content_fingerprint`.
FINGERPRINT_SPAN = 1 << 20


def _hash_file_ends(path: Path, size: int, digest: Any) -> None:
    with open(path, "rb") as file:
        digest.update(file.read(FINGERPRINT_SPAN))
        if size > FINGERPRINT_SPAN:
            file.seek(max(size - FINGERPRINT_SPAN, FINGERPRINT_SPAN))
            digest.update(file.read(FINGERPRINT_SPAN))


def content_fingerprint(path: str | os.PathLike[str]) -> str:
    """A key that changes when a source's content changes, whatever its name.

    For a file: BLAKE2b of its size, modification time (ns) and its first and last MiB
    (:data:`FINGERPRINT_SPAN`), so two different videos called ``clip.avi`` in two folders,
    or a file re-encoded under the same name, get different keys without reading the whole
    file. For a folder (images, MOTChallenge sequence): BLAKE2b of the relative name, size
    and modification time of every file below it. The detection cache of ``deepsort track
    --cache-dir`` is keyed by it.

    Raises
    ------
    SourceError
        If the path does not exist or cannot be read.
    """
    root = Path(path)
    digest = hashlib.blake2b(digest_size=16)
    try:
        if root.is_dir():
            for folder, dirs, files in os.walk(root):
                dirs.sort()
                for name in sorted(files):
                    file = Path(folder) / name
                    info = file.stat()
                    rel = file.relative_to(root).as_posix()
                    digest.update(f"{rel}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
        else:
            info = root.stat()
            digest.update(f"{info.st_size}\0{info.st_mtime_ns}\n".encode())
            _hash_file_ends(root, info.st_size, digest)
    except OSError as exc:
        raise SourceError(f"cannot read {root}: {exc.strerror or exc}") from exc
    return digest.hexdigest()


class DetectionCache(Mapping[int, Detections]):
    """Per-frame detections (and features) computed once, for tracking many times.

    A read-only mapping from 1-based frame number to :class:`~deepsort_lib.boxes.Detections`;
    frames without detections map to an empty ``Detections``, up to :attr:`num_frames`. A
    cache may hold no detections at all (an empty video, an empty ``det.txt``).

    A cache belongs to the content of a source, not to its name: key stored caches by
    :func:`content_fingerprint` (as ``deepsort track --cache-dir`` does).

    Parameters
    ----------
    data
        The detections as MOT rows. Caches written here keep the class id in column 8 (the
        unused world ``x``); the ``-1`` of MOTChallenge detection files reads as class 0.
    features
        Optional ``(N, D)`` float32 features, row ``i`` belonging to ``data`` row ``i``.
    num_frames
        Number of frames the cache covers (defaults to the largest frame number): frames past
        the last detection are known to be empty rather than missing.
    """

    def __init__(
        self,
        data: MotData,
        features: ArrayLike | None = None,
        num_frames: int | None = None,
    ) -> None:
        feats = None if features is None else np.asarray(features, dtype=np.float32)
        if feats is not None and (feats.ndim != 2 or feats.shape[0] != len(data)):
            raise InvalidInputError(
                f"features must have shape ({len(data)}, D) to match the detections, "
                f"got {feats.shape}"
            )
        self.data = data
        self.features = feats
        last = int(data.frames.max()) if len(data) else 0
        self.num_frames = max(last, num_frames or 0)
        self._rows = data.frame_slices()
        self._dim = None if feats is None else int(feats.shape[1])

    @classmethod
    def from_frames(
        cls, frames: Mapping[int, Detections], num_frames: int | None = None
    ) -> DetectionCache:
        """Build from ``{frame number: Detections}`` (all with features, or none)."""
        keys = sorted(frames)
        dets = [frames[k] for k in keys]
        has = {d.features is not None for d in dets if len(d)}
        if len(has) > 1:
            raise InvalidInputError("either every frame's detections carry features or none do")
        counts = [len(d) for d in dets]
        data = MotData.from_arrays(
            np.repeat(np.asarray(keys, np.int64), counts),
            None,
            np.concatenate([d.tlwh for d in dets]) if dets else np.zeros((0, 4)),
            np.concatenate([d.scores for d in dets]) if dets else np.zeros(0),
            _class_extra(
                np.concatenate([d.class_ids for d in dets]) if dets else np.zeros(0, np.int64)
            ),
        )
        features = None
        if has == {True}:
            dim = next(d.features.shape[1] for d in dets if d.features is not None and len(d))
            features = np.concatenate(
                [
                    d.features if d.features is not None else np.zeros((0, dim), np.float32)
                    for d in dets
                ]
            )
        return cls(data, features, num_frames=max([num_frames or 0, *keys]))

    def __getitem__(self, frame: int) -> Detections:
        rows = self._rows.get(int(frame))
        if rows is None:
            if 1 <= frame <= self.num_frames:
                return Detections.empty(self._dim)
            raise KeyError(frame)
        class_ids = self.data.extra[rows, 0]
        features = None if self.features is None else self.features[rows]
        return Detections.from_tlwh(
            self.data.tlwh[rows],
            self.data.scores[rows],
            np.where(class_ids >= 0, class_ids, 0).astype(np.int64),
            features,
        )

    def __iter__(self) -> Iterator[int]:
        return iter(range(1, self.num_frames + 1))

    def __len__(self) -> int:
        return self.num_frames

    @property
    def feature_dim(self) -> int | None:
        """Feature length, or ``None`` when the cache has no features."""
        return self._dim

    def save(
        self, det_path: str | os.PathLike[str], features_path: str | os.PathLike[str] | None = None
    ) -> tuple[Path, Path | None]:
        """Write ``det.txt`` (and the features ``.npy`` if there are features), atomically.

        Raises
        ------
        InvalidInputError
            If the cache has features and no ``features_path`` is given.
        SourceError
            If a file cannot be written.
        """
        if self.features is not None and features_path is None:
            raise InvalidInputError("this cache has features: give a features .npy path")
        npy: Path | None = None
        if self.features is not None and features_path is not None:
            target = AtomicPath(features_path, keep_suffix=True)
            try:
                np.save(target.temp, self.features)
            except OSError as exc:
                target.abort()
                raise SourceError(f"cannot write {target.target}: {exc}") from exc
            npy = target.commit()
        return write_mot(det_path, self.data), npy

    @classmethod
    def load(
        cls,
        det_path: str | os.PathLike[str] | None,
        features_path: str | os.PathLike[str] | None = None,
        num_frames: int | None = None,
    ) -> DetectionCache:
        """Read a cache written by :meth:`save` or by the original ``generate_detections``.

        Parameters
        ----------
        det_path
            The MOT ``det.txt``; ``None`` when ``features_path`` holds the original's combined
            ``(N, 10 + D)`` array.
        features_path
            ``(N, D)`` features aligned with ``det_path``'s rows, or the combined array.

        Raises
        ------
        SourceError
            If a file is missing or unreadable.
        InvalidInputError
            If the files do not match (row counts, shapes).
        """
        features: NDArray[np.float32] | None = None
        if features_path is not None:
            try:
                array = np.load(Path(features_path), allow_pickle=False)
            except FileNotFoundError as exc:
                raise SourceError(f"file not found: {features_path}") from exc
            except (OSError, ValueError) as exc:
                raise SourceError(f"cannot read {features_path}: {exc}") from exc
            if array.ndim != 2:
                raise InvalidInputError(f"{features_path}: features must be 2-D, got {array.shape}")
            features = array.astype(np.float32)
        if det_path is None:
            if features is None or features.shape[1] <= 10:
                raise InvalidInputError("without det.txt the .npy must hold (N, 10 + D) rows")
            rows = features[:, :10].astype(np.float64)
            data = MotData.from_arrays(
                rows[:, 0], rows[:, 1], rows[:, 2:6], rows[:, 6], rows[:, 7:10]
            )
            return cls(data, features[:, 10:], num_frames)
        data = read_mot(det_path)
        if features is not None and features.shape[0] != len(data):
            raise InvalidInputError(
                f"{features_path} has {features.shape[0]} rows but {det_path} has {len(data)}"
            )
        return cls(data, features, num_frames)


def _class_extra(class_ids: NDArray[np.int64]) -> FloatArray:
    extra = np.full((len(class_ids), 3), -1.0)
    extra[:, 0] = class_ids
    return extra


__all__ = ["FINGERPRINT_SPAN", "DetectionCache", "content_fingerprint"]
