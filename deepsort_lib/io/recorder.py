"""An in-memory record of a tracking run: one row per track per frame.

Made for a bare ``Tracker.update`` loop (and usable as a pipeline sink)::

    recorder = TrackRecorder()
    for frame_index, dets in enumerate(my_frames, start=1):
        recorder.record(frame_index, tracker.update(dets))
    recorder.to_mot("results.txt")          # or to_records(), to_json(), to_pandas()

Rows are kept as per-frame arrays (struct of arrays) and joined on demand, so recording costs
a few small array copies per frame.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import InvalidInputError, SourceError
from deepsort_lib.io.atomic import AtomicFile
from deepsort_lib.io.mot import MotData, write_mot
from deepsort_lib.tracking.track import Track, TrackState

if TYPE_CHECKING:
    from deepsort_lib.results import FrameResult

#: Columns of :meth:`TrackRecorder.to_records` / :meth:`TrackRecorder.to_pandas`, in order.
RECORD_FIELDS: tuple[str, ...] = (
    "frame",
    "track_id",
    "x",
    "y",
    "w",
    "h",
    "class_id",
    "class_name",
    "confidence",
    "state",
    "time_since_update",
    "detection_index",
)

_STATE_NAMES = {int(state): state.name for state in TrackState}


def _check_target(path: str | os.PathLike[str]) -> Path:
    target = Path(path)
    if target.exists() and not target.is_file():
        # Renaming onto a device, FIFO or directory would replace it: refuse.
        raise SourceError(f"{target} exists and is not a regular file: not overwriting it")
    return target


class TrackRecorder:
    """Records the tracks of every frame of a run, in memory.

    Parameters
    ----------
    class_names
        Names by class id, for the ``class_name`` column (``""`` when unknown).
    use_detection_box
        Record each track's matched detection box instead of the Kalman estimate (a track
        reported without a detection this frame keeps its Kalman box).
    """

    def __init__(
        self, class_names: Sequence[str] | None = None, *, use_detection_box: bool = False
    ) -> None:
        self.class_names = None if class_names is None else list(class_names)
        self.use_detection_box = use_detection_box
        self._frames: list[NDArray[np.int64]] = []
        self._ints: list[NDArray[np.int64]] = []  # track_id, class_id, state, tsu, det_index
        self._floats: list[NDArray[np.float64]] = []  # x, y, w, h, confidence
        self._rows = 0

    # -- recording ---------------------------------------------------------------------------

    def record(self, frame_index: int, tracks: Sequence[Track]) -> None:
        """Add one frame's tracks (what ``Tracker.update`` returned).

        Parameters
        ----------
        frame_index
            The frame's number, ``>= 0``. MOTChallenge files number frames from 1, so use
            1-based numbers if you will call :meth:`to_mot`.
        tracks
            The frame's tracks; may be empty.

        Raises
        ------
        InvalidInputError
            If ``frame_index`` is not a non-negative integer or an item is not a ``Track``.
            Nothing is recorded then.
        """
        if isinstance(frame_index, bool) or not isinstance(frame_index, (int, np.integer)):
            raise InvalidInputError(f"frame_index must be an integer, got {frame_index!r}")
        if frame_index < 0:
            raise InvalidInputError(f"frame_index must be >= 0, got {frame_index}")
        tracks = list(tracks)
        if not all(isinstance(t, Track) for t in tracks):
            raise InvalidInputError("record() takes the Track objects Tracker.update returned")
        if not tracks:
            return
        n = len(tracks)
        boxes = np.array(
            [
                t.detection_tlwh
                if self.use_detection_box and t.detection_index is not None
                else t.tlwh
                for t in tracks
            ],
            dtype=np.float64,
        ).reshape(n, 4)
        floats = np.empty((n, 5), dtype=np.float64)
        floats[:, :4] = boxes
        floats[:, 4] = [t.confidence for t in tracks]
        ints = np.array(
            [
                (
                    t.track_id,
                    t.class_id,
                    int(t.state),
                    t.time_since_update,
                    -1 if t.detection_index is None else t.detection_index,
                )
                for t in tracks
            ],
            dtype=np.int64,
        )
        self._frames.append(np.full(n, int(frame_index), dtype=np.int64))
        self._ints.append(ints)
        self._floats.append(floats)
        self._rows += n

    def clear(self) -> None:
        """Forget every recorded row."""
        self._frames.clear()
        self._ints.clear()
        self._floats.clear()
        self._rows = 0

    def __len__(self) -> int:
        """Number of recorded rows (tracks summed over frames)."""
        return self._rows

    # -- as a pipeline sink ------------------------------------------------------------------

    def write(self, result: FrameResult) -> None:
        """Record a pipeline result (so a recorder can be passed in ``sinks``)."""
        self.record(result.frame_index, result.tracks)

    def close(self) -> None:
        """Nothing to finish: the record lives in memory."""

    def abort(self) -> None:
        """Keep what was recorded before the run stopped (nothing on disk to discard)."""

    # -- views -------------------------------------------------------------------------------

    def _columns(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        if not self._rows:
            return np.zeros(0, np.int64), np.zeros((0, 5), np.int64), np.zeros((0, 5))
        return (
            np.concatenate(self._frames),
            np.concatenate(self._ints),
            np.concatenate(self._floats),
        )

    def _class_name(self, class_id: int) -> str:
        if self.class_names is not None and 0 <= class_id < len(self.class_names):
            return self.class_names[class_id]
        return ""

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per row with the keys of :data:`RECORD_FIELDS`, in recording order.

        ``x, y, w, h`` is the box in tlwh pixels; ``state`` is the ``TrackState`` name;
        ``detection_index`` is ``None`` for a track reported without a detection.
        """
        frames, ints, floats = self._columns()
        records = []
        for frame, (tid, cls, state, tsu, det), (x, y, w, h, conf) in zip(
            frames.tolist(), ints.tolist(), floats.tolist(), strict=True
        ):
            records.append(
                {
                    "frame": frame,
                    "track_id": tid,
                    "x": x,
                    "y": y,
                    "w": w,
                    "h": h,
                    "class_id": cls,
                    "class_name": self._class_name(cls),
                    "confidence": conf,
                    "state": _STATE_NAMES[state],
                    "time_since_update": tsu,
                    "detection_index": None if det < 0 else det,
                }
            )
        return records

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The records as a JSON array; also written atomically to ``path`` if given.

        Raises
        ------
        SourceError
            If ``path`` cannot be written or is not a regular file (it is left as it was).
        """
        text = json.dumps(self.to_records())
        if path is not None:
            with AtomicFile(_check_target(path)) as out:
                out.write(text + "\n")
        return text

    def to_mot_data(self) -> MotData:
        """The rows as :class:`~deepsort_lib.io.mot.MotData` (frame, id, tlwh, confidence)."""
        frames, ints, floats = self._columns()
        return MotData.from_arrays(frames, ints[:, 0], floats[:, :4], floats[:, 4])

    def to_mot(self, path: str | os.PathLike[str]) -> Path:
        """Write a MOTChallenge result file, atomically; returns its path.

        Rows are sorted by frame (stable), as evaluation tools expect; frame numbers are
        written as recorded.

        Raises
        ------
        SourceError
            If the file cannot be written or ``path`` is not a regular file; a previous file
            at ``path`` is left as it was.
        """
        data = self.to_mot_data()
        order = np.argsort(data.frames, kind="stable")
        return write_mot(_check_target(path), data[order])

    def to_pandas(self) -> Any:
        """The records as a ``pandas.DataFrame`` (columns :data:`RECORD_FIELDS`).

        Raises
        ------
        ImportError
            If pandas is not installed (``pip install pandas``).
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "TrackRecorder.to_pandas needs pandas: pip install pandas "
                "(or use to_records() / to_json())"
            ) from exc
        frames, ints, floats = self._columns()
        return pd.DataFrame(
            {
                "frame": frames,
                "track_id": ints[:, 0],
                "x": floats[:, 0],
                "y": floats[:, 1],
                "w": floats[:, 2],
                "h": floats[:, 3],
                "class_id": ints[:, 1],
                "class_name": [self._class_name(c) for c in ints[:, 1].tolist()],
                "confidence": floats[:, 4],
                "state": [_STATE_NAMES[s] for s in ints[:, 2].tolist()],
                "time_since_update": ints[:, 3],
                "detection_index": pd.array(
                    [None if d < 0 else d for d in ints[:, 4].tolist()], dtype="Int64"
                ),
            },
            columns=list(RECORD_FIELDS),
        )


__all__ = ["RECORD_FIELDS", "TrackRecorder"]
