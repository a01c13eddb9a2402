"""What the line and zone counters share: anchor points, input checks, per-track hysteresis
state, class tallies and the overlay type."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.tracking.track import Track

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

Anchor = Literal[
    "bottom_center",
    "center",
    "top_center",
    "bottom_left",
    "bottom_right",
    "top_left",
    "top_right",
    "center_left",
    "center_right",
]

# Anchor -> (fraction of the width, fraction of the height) from the top-left corner.
_ANCHORS: dict[str, tuple[float, float]] = {
    "bottom_center": (0.5, 1.0),
    "center": (0.5, 0.5),
    "top_center": (0.5, 0.0),
    "bottom_left": (0.0, 1.0),
    "bottom_right": (1.0, 1.0),
    "top_left": (0.0, 0.0),
    "top_right": (1.0, 0.0),
    "center_left": (0.0, 0.5),
    "center_right": (1.0, 0.5),
}


def anchor_points(tlwh: ArrayLike, anchor: Anchor = "bottom_center") -> FloatArray:
    """The ``(N, 2)`` anchor points (x, y pixels) of ``(N, 4)`` tlwh boxes."""
    if anchor not in _ANCHORS:
        raise ConfigurationError(f"anchor must be one of {sorted(_ANCHORS)}, got {anchor!r}")
    boxes = np.asarray(tlwh, dtype=np.float64).reshape(-1, 4)
    fx, fy = _ANCHORS[anchor]
    points: FloatArray = boxes[:, :2] + boxes[:, 2:] * np.array([fx, fy])
    return points


def tracks_to_arrays(tracks: Sequence[Track]) -> tuple[IntArray, FloatArray, IntArray]:
    confirmed = [t for t in tracks if t.is_confirmed]
    ids = np.array([t.track_id for t in confirmed], dtype=np.int64)
    tlwh = np.array([t.tlwh for t in confirmed], dtype=np.float64).reshape(-1, 4)
    classes = np.array([t.class_id for t in confirmed], dtype=np.int64)
    return ids, tlwh, classes


def check_arrays(
    track_ids: ArrayLike, tlwh: ArrayLike, class_ids: ArrayLike | None
) -> tuple[IntArray, FloatArray, IntArray]:
    ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
    boxes = np.asarray(tlwh, dtype=np.float64)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape != (len(ids), 4):
        raise InvalidInputError(f"tlwh must have shape ({len(ids)}, 4), got {boxes.shape}")
    if not np.all(np.isfinite(boxes)):
        raise InvalidInputError("tlwh contains NaN or infinite values")
    if len(np.unique(ids)) != len(ids):
        raise InvalidInputError("track ids must be unique within a frame")
    classes = (
        np.zeros(len(ids), np.int64)
        if class_ids is None
        else np.asarray(class_ids, dtype=np.int64).reshape(-1)
    )
    if classes.shape != ids.shape:
        raise InvalidInputError(f"class_ids must have shape ({len(ids)},), got {classes.shape}")
    return ids, boxes, classes


class TrackTable:
    """Per-identity state rows, kept sorted by id so a frame's rows are one searchsorted."""

    def __init__(self) -> None:
        self.ids = np.zeros(0, dtype=np.int64)
        self.state = np.zeros(0, dtype=np.int8)  # the side / inside flag that is believed
        self.pending = np.zeros(0, dtype=np.int64)  # frames seen on the other side so far
        self.last_seen = np.zeros(0, dtype=np.int64)

    def rows(self, ids: IntArray, frame: int) -> NDArray[np.intp]:
        """Row of each id, creating rows (state 0: unknown) for new ones."""
        pos = np.searchsorted(self.ids, ids)
        if len(self.ids):
            known = (pos < len(self.ids)) & (self.ids[np.minimum(pos, len(self.ids) - 1)] == ids)
        else:
            known = np.zeros(len(ids), dtype=bool)
        if not known.all():
            new = ids[~known]
            self.ids = np.concatenate([self.ids, new])
            order = np.argsort(self.ids, kind="stable")
            self.ids = self.ids[order]
            self.state = np.concatenate([self.state, np.zeros(len(new), np.int8)])[order]
            self.pending = np.concatenate([self.pending, np.zeros(len(new), np.int64)])[order]
            self.last_seen = np.concatenate([self.last_seen, np.zeros(len(new), np.int64)])[order]
            pos = np.searchsorted(self.ids, ids)
        self.last_seen[pos] = frame
        return pos

    def forget_older_than(self, frame: int) -> None:
        keep = self.last_seen >= frame
        if not keep.all():
            self.ids = self.ids[keep]
            self.state = self.state[keep]
            self.pending = self.pending[keep]
            self.last_seen = self.last_seen[keep]


def hysteresis_step(
    table: TrackTable, rows: NDArray[np.intp], observed: NDArray[np.int8], min_frames: int
) -> tuple[NDArray[np.intp], NDArray[np.int8]]:
    """Hysteresis: flip a row's state after ``min_frames`` observations of the other state.

    ``observed`` is +1 / -1 (clearly on one side) or 0 (no evidence: inside the dead band or
    outside the counting region). Returns the positions (into ``rows``) that flipped this
    frame and their new state.
    """
    state = table.state[rows]
    fresh = (state == 0) & (observed != 0)
    table.state[rows[fresh]] = observed[fresh]  # a new track's side: nothing to count yet
    opposite = (state != 0) & (observed == -state)
    same = (state != 0) & (observed == state)
    table.pending[rows[same]] = 0
    table.pending[rows[opposite]] += 1
    flipped = np.flatnonzero(opposite & (table.pending[rows] >= min_frames))
    new_state = (-state[flipped]).astype(np.int8)
    table.state[rows[flipped]] = new_state
    table.pending[rows[flipped]] = 0
    return flipped, new_state


def check_common(min_frames: int, forget_after: int) -> None:
    if min_frames < 1:
        raise ConfigurationError(f"min_frames must be >= 1, got {min_frames}")
    if forget_after < 1:
        raise ConfigurationError(f"forget_after must be >= 1, got {forget_after}")


@dataclass(frozen=True)
class CounterOverlay:
    """What to draw for a counter at one moment: its shape and summary line.

    Immutable, so a frame can be rendered on another thread while counting goes on.
    """

    points: FloatArray
    closed: bool
    text: str


class ClassCounts:
    """Per-class tallies of one or two event kinds."""

    def __init__(self, kinds: tuple[str, ...]) -> None:
        self.kinds = kinds
        self.by_class: dict[int, dict[str, int]] = {}

    def add(self, kind: str, class_ids: IntArray) -> None:
        values, counts = np.unique(class_ids, return_counts=True)
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            slot = self.by_class.setdefault(value, dict.fromkeys(self.kinds, 0))
            slot[kind] += count

    def total(self, kind: str) -> int:
        return sum(slot[kind] for slot in self.by_class.values())


def format_counts(
    counts: ClassCounts, kind: str, class_names: Sequence[str] | Mapping[int, str] | None
) -> str:
    total = counts.total(kind)
    per_class = [(c, slot[kind]) for c, slot in sorted(counts.by_class.items()) if slot[kind]]
    if class_names is None or len(counts.by_class) <= 1:
        return f"{kind} {total}"

    def name(c: int) -> str:
        if isinstance(class_names, Mapping):
            return class_names.get(c, str(c))
        return class_names[c] if 0 <= c < len(class_names) else str(c)

    parts = ", ".join(f"{name(c)} {n}" for c, n in per_class)
    return f"{kind} {total} ({parts})"
