"""MOTChallenge text files and the detection cache.

Every MOTChallenge file is comma-separated, one box per line, frames numbered from 1:

========  ====================================================================================
column    meaning
========  ====================================================================================
1         frame number (1-based)
2         identity (``-1`` in detection files)
3-6       box left, top, width, height in pixels (tlwh)
7         confidence (detections, results); in ground truth the "consider" flag (0 or 1)
8-10      results / detections: world x, y, z (``-1`` when unknown);
          ground truth: class id, visibility ratio (and nothing in column 10)
========  ====================================================================================

:func:`read_mot` reads any of them into a :class:`MotData` (missing trailing columns read as
``-1``); :func:`write_mot` writes one atomically.

The **detection cache** is the format of the original Deep SORT's ``generate_detections``: a
MOT ``det.txt`` plus a ``.npy`` float32 array of appearance features with one row per line of
the text file, in the same order. The original stored both in one ``(N, 10 + D)`` array; that
layout is read too.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import InvalidInputError, SourceError
from deepsort_lib.io.atomic import AtomicFile, AtomicPath

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

#: Names of the ten columns of a MOTChallenge detection / result file.
MOT_COLUMNS: tuple[str, ...] = (
    "frame",
    "id",
    "bb_left",
    "bb_top",
    "bb_width",
    "bb_height",
    "conf",
    "x",
    "y",
    "z",
)


@dataclass(frozen=True, eq=False)
class MotData:
    """The rows of a MOTChallenge file as a struct of arrays (row order kept).

    Attributes
    ----------
    frames
        ``(N,)`` 1-based frame numbers.
    ids
        ``(N,)`` identities (``-1`` for detections).
    tlwh
        ``(N, 4)`` boxes.
    scores
        ``(N,)`` column 7: confidence, or the ground truth's "consider" flag.
    extra
        ``(N, 3)`` columns 8-10: world coordinates, or ground truth class and visibility.
    """

    frames: IntArray
    ids: IntArray
    tlwh: FloatArray
    scores: FloatArray
    extra: FloatArray

    def __post_init__(self) -> None:
        n = self.frames.shape[0]
        shapes = {
            "ids": (self.ids, (n,)),
            "tlwh": (self.tlwh, (n, 4)),
            "scores": (self.scores, (n,)),
            "extra": (self.extra, (n, 3)),
        }
        for name, (array, shape) in shapes.items():
            if array.shape != shape:
                raise InvalidInputError(f"MOT {name} must have shape {shape}, got {array.shape}")

    @classmethod
    def from_arrays(
        cls,
        frames: ArrayLike,
        ids: ArrayLike | None,
        tlwh: ArrayLike,
        scores: ArrayLike | None = None,
        extra: ArrayLike | None = None,
    ) -> MotData:
        """Build from arrays; ``ids`` default to ``-1``, scores to 1 and ``extra`` to ``-1``."""
        frame_arr = np.asarray(frames, dtype=np.int64).reshape(-1)
        n = frame_arr.shape[0]
        return cls(
            frame_arr,
            np.full(n, -1, np.int64) if ids is None else np.asarray(ids, np.int64).reshape(-1),
            np.asarray(tlwh, dtype=np.float64).reshape(n, 4),
            np.ones(n) if scores is None else np.asarray(scores, np.float64).reshape(-1),
            np.full((n, 3), -1.0)
            if extra is None
            else np.asarray(extra, np.float64).reshape(-1, 3),
        )

    @classmethod
    def empty(cls) -> MotData:
        """No rows."""
        return cls.from_arrays(np.zeros(0), None, np.zeros((0, 4)))

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    def __getitem__(self, index: slice | NDArray[np.bool_] | NDArray[np.intp]) -> MotData:
        """Rows selected by a mask, an index array or a slice."""
        return MotData(
            self.frames[index],
            self.ids[index],
            self.tlwh[index],
            self.scores[index],
            self.extra[index],
        )

    def as_array(self) -> FloatArray:
        """The ``(N, 10)`` table in file column order."""
        return np.column_stack([self.frames, self.ids, self.tlwh, self.scores, self.extra]).astype(
            np.float64
        )

    def frame_slices(self) -> dict[int, NDArray[np.intp]]:
        """Row indices of each frame number, for frames that have rows (``{}`` when empty)."""
        if not len(self):
            return {}
        order = np.argsort(self.frames, kind="stable")
        sorted_frames = self.frames[order]
        starts = np.flatnonzero(np.r_[True, sorted_frames[1:] != sorted_frames[:-1]])
        ends = np.r_[starts[1:], len(order)]
        return {int(sorted_frames[s]): order[s:e] for s, e in zip(starts, ends, strict=True)}


def _parse_error(path: Path | str, message: str) -> InvalidInputError:
    return InvalidInputError(f"{path}: not a MOTChallenge file ({message})")


#: Largest identity accepted: ids are read as float64, exact up to 2**53.
MAX_ID = 2**53


def check_mot_table(
    table: FloatArray, source: Path | str, line_numbers: IntArray | None = None
) -> None:
    """Check a ``(N, >=6)`` MOTChallenge table; the first problem names its line and frame.

    Frame numbers must be integers >= 0, identities integers within ``±2**53`` (-1: no
    identity, as in detection files), no identity may appear twice in one frame, and boxes
    must be finite with width and height >= 0.

    Parameters
    ----------
    table
        The rows as floats, in file column order.
    source
        The file (or array name) for the message.
    line_numbers
        1-based file line of each row; ``None`` names 1-based rows instead.

    Raises
    ------
    InvalidInputError
        Naming ``source``, the line (row) and the frame of the first bad row.
    """
    unit = "line" if line_numbers is not None else "row"
    lines = line_numbers if line_numbers is not None else np.arange(1, len(table) + 1)

    def fail(bad: NDArray[np.bool_], message: str) -> None:
        if bool(np.any(bad)):
            i = int(np.flatnonzero(bad)[0])
            frame = table[i, 0]
            where = f"{unit} {int(lines[i])}"
            if np.isfinite(frame) and frame == np.round(frame):
                where += f", frame {int(frame)}"
            raise _parse_error(source, f"{where}: {message}")

    head = table[:, :6]
    fail(np.asarray(~np.isfinite(table).all(axis=1)), "NaN or infinite values")
    frames, ids = head[:, 0], head[:, 1]
    fail((frames != np.round(frames)) | (frames < 0), "frame numbers must be non-negative integers")
    fail(ids != np.round(ids), f"identity {_first(ids, ids != np.round(ids))} is not an integer")
    fail(np.abs(ids) > MAX_ID, f"identity beyond ±2**53 ({_first(ids, np.abs(ids) > MAX_ID)})")
    fail((head[:, 4] < 0) | (head[:, 5] < 0), "negative box width or height")
    has_id = ids >= 0
    if bool(has_id.any()):
        rows = np.flatnonzero(has_id)
        order = rows[np.lexsort((ids[rows], frames[rows]))]
        pair = np.column_stack([frames[order], ids[order]])
        repeat = np.flatnonzero((pair[1:] == pair[:-1]).all(axis=1))
        if repeat.size:
            first, second = order[repeat[0]], order[repeat[0] + 1]
            bad = np.zeros(len(table), np.bool_)
            bad[max(first, second)] = True
            fail(
                bad,
                f"identity {int(ids[first])} appears twice in the frame (also on {unit} "
                f"{int(lines[min(first, second)])})",
            )


def _first(values: FloatArray, mask: NDArray[np.bool_]) -> str:
    picked = values[mask]
    return repr(float(picked[0])) if picked.size else ""


def read_mot(path: str | os.PathLike[str]) -> MotData:
    """Read a MOTChallenge ground-truth, detection or result file.

    Comma- or whitespace-separated values are accepted (a UTF-8 byte-order mark too); rows
    need at least the first six columns (frame, id, box) and missing trailing columns read as
    ``-1`` (confidence as 1). The rows are checked by :func:`check_mot_table`.

    Raises
    ------
    SourceError
        If the file does not exist or cannot be read.
    InvalidInputError
        If its content is not a MOTChallenge table; the message names the file, line and
        frame.
    """
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError as exc:
        raise SourceError(f"file not found: {file}") from exc
    except OSError as exc:
        raise SourceError(f"cannot read {file}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _parse_error(file, f"not UTF-8 text, byte {exc.start}") from None
    numbered = [
        (number, line.replace(",", " "))
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not numbered:
        return MotData.empty()
    widths = [len(line.split()) for _, line in numbered]
    if len(set(widths)) != 1:
        odd = next(i for i, w in enumerate(widths) if w != widths[0])
        raise _parse_error(
            file,
            f"rows have different numbers of columns: {sorted(set(widths))} (line "
            f"{numbered[odd][0]} has {widths[odd]}, line {numbered[0][0]} has {widths[0]})",
        )
    width = widths[0]
    if not 6 <= width <= 10:
        raise _parse_error(file, f"{width} columns, expected 6 to 10")
    try:
        table = np.loadtxt(
            io.StringIO("\n".join(line for _, line in numbered)), dtype=np.float64, ndmin=2
        )
    except ValueError:
        table = _find_bad_line(file, numbered)
    line_numbers = np.array([number for number, _ in numbered], np.int64)
    check_mot_table(table, file, line_numbers)
    n = table.shape[0]
    full = np.full((n, 10), -1.0)
    full[:, 6] = 1.0
    full[:, :width] = table
    return MotData.from_arrays(full[:, 0], full[:, 1], full[:, 2:6], full[:, 6], full[:, 7:10])


def _find_bad_line(file: Path, numbered: list[tuple[int, str]]) -> FloatArray:
    """Parse line by line (slow path, after NumPy refused the file) to name the bad line."""
    table = np.empty((len(numbered), len(numbered[0][1].split())), np.float64)
    for row, (number, line) in enumerate(numbered):
        try:
            table[row] = [float(value) for value in line.split()]
        except ValueError:
            raise _parse_error(file, f"line {number}: not numbers: {line.strip()[:80]!r}") from None
    return table


def format_mot(data: MotData) -> str:
    """The text of a MOTChallenge file (ten columns) for ``data``."""
    if not len(data):
        return ""
    buffer = io.StringIO()
    np.savetxt(
        buffer,
        data.as_array(),
        fmt=["%d", "%d", "%.2f", "%.2f", "%.2f", "%.2f", "%.6g", "%.6g", "%.6g", "%.6g"],
        delimiter=",",
    )
    return buffer.getvalue()


def write_mot(path: str | os.PathLike[str], data: MotData) -> Path:
    """Write ``data`` as a MOTChallenge file, atomically; returns the path.

    Raises
    ------
    SourceError
        If the file cannot be written (the previous file, if any, is left untouched).
    """
    with AtomicFile(path) as out:
        out.write(format_mot(data))
    return out.target


class MotWriter:
    """Appends tracking results frame by frame; the file appears only on :meth:`close`.

    Rows go to a hidden temporary file; :meth:`close` renames it onto ``path``, while
    :meth:`abort` (or leaving a ``with`` block by an exception) deletes it, so an interrupted run
    never leaves a results file that looks complete.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file = AtomicFile(path)

    @property
    def path(self) -> Path:
        """The final path."""
        return self._file.target

    def write(self, data: MotData) -> None:
        """Append rows."""
        self._file.write(format_mot(data))

    def write_frame(
        self,
        frame: int,
        ids: ArrayLike,
        tlwh: ArrayLike,
        scores: ArrayLike | None = None,
    ) -> None:
        """Append one frame's boxes (``tlwh`` ``(N, 4)``, ``ids`` ``(N,)``)."""
        ids_arr = np.asarray(ids, np.int64).reshape(-1)
        self.write(MotData.from_arrays(np.full(len(ids_arr), frame), ids_arr, tlwh, scores))

    def finish(self) -> None:
        """Flush everything to the temporary file (errors surface here), without publishing."""
        self._file.finish()

    def close(self) -> Path:
        """Finish: the file appears at :attr:`path`."""
        return self._file.commit()

    def abort(self) -> None:
        """Discard everything written."""
        self._file.abort()

    def __enter__(self) -> MotWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# -- detection cache ----------------------------------------------------------------------------

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


__all__ = [
    "FINGERPRINT_SPAN",
    "MAX_ID",
    "MOT_COLUMNS",
    "DetectionCache",
    "MotData",
    "MotWriter",
    "check_mot_table",
    "content_fingerprint",
    "format_mot",
    "read_mot",
    "write_mot",
]
