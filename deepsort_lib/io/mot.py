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

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.errors import InvalidInputError, SourceError
from deepsort_lib.io.atomic import AtomicFile

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


__all__ = [
    "MAX_ID",
    "MOT_COLUMNS",
    "MotData",
    "MotWriter",
    "check_mot_table",
    "format_mot",
    "read_mot",
    "write_mot",
]
