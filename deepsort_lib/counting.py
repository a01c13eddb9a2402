"""Counting tracks: line crossings and polygon zones, per class, with hysteresis.

Both counters take the tracks ``Tracker.update`` returns (confirmed tracks; tentative ones are
ignored if ``return_tentative`` lets them through) or plain arrays, and keep one row of state
per track identity (struct of arrays), so a frame costs a handful of vectorised operations.

Each track is reduced to one **anchor point** of its box (bottom-centre by default: where a
person's feet touch the ground plane). Jitter is the enemy of counting: a box whose anchor
wobbles on a line would cross it every other frame. So a side (or inside/outside) only changes
once the anchor has been at least ``min_distance`` pixels past the line for ``min_frames``
frames (hysteresis), and only then is the crossing counted, once.

Sides of a line are fixed by its direction: with ``d`` the signed distance of the anchor to the
line from ``start`` to ``end`` (image coordinates, y pointing down, ``d > 0`` on the right of
the direction of travel from start to end), a crossing from ``d > 0`` to ``d < 0`` is **in**,
the reverse is **out**: for a horizontal line drawn left to right, objects moving up the image
go in, down go out (the convention of supervision's ``LineZone``). Draw the line the other way
round to swap them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.tracking.track import Track

if TYPE_CHECKING:
    from deepsort_lib.pipeline import FrameResult

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


def _tracks_to_arrays(tracks: Sequence[Track]) -> tuple[IntArray, FloatArray, IntArray]:
    confirmed = [t for t in tracks if t.is_confirmed]
    ids = np.array([t.track_id for t in confirmed], dtype=np.int64)
    tlwh = np.array([t.tlwh for t in confirmed], dtype=np.float64).reshape(-1, 4)
    classes = np.array([t.class_id for t in confirmed], dtype=np.int64)
    return ids, tlwh, classes


def _check_arrays(
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


class _TrackTable:
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


def _step(
    table: _TrackTable, rows: NDArray[np.intp], observed: NDArray[np.int8], min_frames: int
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


def _check_common(min_frames: int, forget_after: int) -> None:
    if min_frames < 1:
        raise ConfigurationError(f"min_frames must be >= 1, got {min_frames}")
    if forget_after < 1:
        raise ConfigurationError(f"forget_after must be >= 1, got {forget_after}")


@dataclass(frozen=True)
class LineEvents:
    """Tracks that crossed a line in one frame (ids and class ids, by direction)."""

    in_ids: IntArray
    in_classes: IntArray
    out_ids: IntArray
    out_classes: IntArray


@dataclass(frozen=True)
class CounterOverlay:
    """What to draw for a counter at one moment: its shape and summary line.

    Immutable, so a frame can be rendered on another thread while counting goes on.
    """

    points: FloatArray
    closed: bool
    text: str


class _ClassCounts:
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


def _format_counts(
    counts: _ClassCounts, kind: str, class_names: Sequence[str] | Mapping[int, str] | None
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


class LineCounter:
    """Counts tracks crossing a line segment, by direction and class.

    Parameters
    ----------
    start, end
        Segment end points ``(x, y)`` in pixels. Only crossings between them count (the
        anchor must be within the strip perpendicular to the segment).
    min_distance
        Dead band in pixels: the anchor must be at least this far from the line to be on a
        side (hysteresis against jitter). 0 counts every sign change.
    min_frames
        Frames the anchor must be seen on the new side (beyond ``min_distance``) before the
        crossing counts.
    anchor
        Point of the box that crosses (see :data:`Anchor`).
    forget_after
        Frames after which the state of a track no longer seen is dropped (keeps memory
        bounded; set it above the tracker's ``max_age``).
    name
        Label used by :meth:`summary` and the drawing.
    """

    def __init__(
        self,
        start: tuple[float, float],
        end: tuple[float, float],
        *,
        min_distance: float = 5.0,
        min_frames: int = 3,
        anchor: Anchor = "bottom_center",
        forget_after: int = 300,
        name: str = "line",
    ) -> None:
        a = np.asarray(start, dtype=np.float64).reshape(-1)
        b = np.asarray(end, dtype=np.float64).reshape(-1)
        if a.shape != (2,) or b.shape != (2,) or not np.all(np.isfinite([*a, *b])):
            raise ConfigurationError("a line needs two finite points (x, y)")
        length = float(np.hypot(*(b - a)))
        if length == 0.0:
            raise ConfigurationError("a line's start and end must differ")
        if min_distance < 0:
            raise ConfigurationError(f"min_distance must be >= 0, got {min_distance}")
        _check_common(min_frames, forget_after)
        anchor_points(np.zeros((0, 4)), anchor)  # validates the anchor name
        self.start = (float(a[0]), float(a[1]))
        self.end = (float(b[0]), float(b[1]))
        self.min_distance = float(min_distance)
        self.min_frames = int(min_frames)
        self.anchor: Anchor = anchor
        self.forget_after = int(forget_after)
        self.name = name
        self._origin = a
        self._unit = (b - a) / length
        self._length = length
        self._table = _TrackTable()
        self._counts = _ClassCounts(("in", "out"))
        self._frame = 0

    @classmethod
    def parse(cls, text: str, **kwargs: object) -> LineCounter:
        """Build from ``"x1,y1,x2,y2"`` (the CLI's ``--count-line``)."""
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError as exc:
            raise ConfigurationError(f"a line is x1,y1,x2,y2 in pixels, got {text!r}") from exc
        if len(values) != 4:
            raise ConfigurationError(f"a line is x1,y1,x2,y2 in pixels, got {text!r}")
        return cls((values[0], values[1]), (values[2], values[3]), **kwargs)  # type: ignore[arg-type]

    # -- counting ----------------------------------------------------------------------------

    def update(self, tracks: Sequence[Track]) -> LineEvents:
        """Count this frame's confirmed tracks; returns who crossed in this frame."""
        return self.update_arrays(*_tracks_to_arrays(tracks))

    def update_arrays(
        self, track_ids: ArrayLike, tlwh: ArrayLike, class_ids: ArrayLike | None = None
    ) -> LineEvents:
        """:meth:`update` for arrays: ``(N,)`` ids, ``(N, 4)`` tlwh boxes, ``(N,)`` classes.

        Raises
        ------
        InvalidInputError
            On malformed arrays or duplicate ids (the counter is unchanged).
        """
        ids, boxes, classes = _check_arrays(track_ids, tlwh, class_ids)
        self._frame += 1
        points = anchor_points(boxes, self.anchor) - self._origin
        along = points @ self._unit
        signed = self._unit[0] * points[:, 1] - self._unit[1] * points[:, 0]
        observed = np.where(signed >= self.min_distance, 1, 0)
        observed = np.where(signed <= -self.min_distance, -1, observed)
        if self.min_distance == 0.0:
            observed = np.where(signed == 0.0, 0, observed)
        within = (along >= 0.0) & (along <= self._length)
        observed = np.where(within, observed, 0).astype(np.int8)
        rows = self._table.rows(ids, self._frame)
        flipped, new_state = _step(self._table, rows, observed, self.min_frames)
        went_in, went_out = flipped[new_state < 0], flipped[new_state > 0]
        self._counts.add("in", classes[went_in])
        self._counts.add("out", classes[went_out])
        self._table.forget_older_than(self._frame - self.forget_after)
        return LineEvents(ids[went_in], classes[went_in], ids[went_out], classes[went_out])

    # -- results -----------------------------------------------------------------------------

    @property
    def in_count(self) -> int:
        """Crossings from the positive (right-hand) to the negative side, all classes."""
        return self._counts.total("in")

    @property
    def out_count(self) -> int:
        """Crossings from the negative (left-hand) to the positive side, all classes."""
        return self._counts.total("out")

    @property
    def counts_by_class(self) -> dict[int, dict[str, int]]:
        """``{class_id: {"in": n, "out": m}}`` for classes that crossed."""
        return {c: dict(slot) for c, slot in sorted(self._counts.by_class.items())}

    def to_dict(self) -> dict[str, object]:
        """Totals and per-class counts, JSON-ready (for summaries and logs)."""
        return {
            "name": self.name,
            "line": [*self.start, *self.end],
            "in": self.in_count,
            "out": self.out_count,
            "by_class": {str(c): v for c, v in self.counts_by_class.items()},
        }

    def summary(self, class_names: Sequence[str] | Mapping[int, str] | None = None) -> str:
        """One line: ``line: in 5 (person 4, car 1), out 2``; classes named when several."""
        return (
            f"{self.name}: {_format_counts(self._counts, 'in', class_names)}, "
            f"{_format_counts(self._counts, 'out', class_names)}"
        )

    def overlay(
        self, class_names: Sequence[str] | Mapping[int, str] | None = None
    ) -> CounterOverlay:
        """The line and its summary, for :func:`deepsort_lib.io.draw.draw_overlays`."""
        points = np.array([self.start, self.end], dtype=np.float64)
        return CounterOverlay(points, False, self.summary(class_names))

    def reset(self) -> None:
        """Forget every track and count."""
        self._table = _TrackTable()
        self._counts = _ClassCounts(("in", "out"))
        self._frame = 0


def points_in_polygon(points: ArrayLike, polygon: ArrayLike) -> NDArray[np.bool_]:
    """Whether each of ``(N, 2)`` points lies inside ``(M, 2)`` polygon (even-odd rule)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    x, y = pts[:, 0:1], pts[:, 1:2]
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    straddles = (y1 > y) != (y2 > y)  # (N, M): the edge spans the point's row
    with np.errstate(divide="ignore", invalid="ignore"):
        cross_x = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    hits = straddles & (x < cross_x)
    return np.asarray(hits.sum(axis=1) % 2 == 1)


@dataclass(frozen=True)
class ZoneEvents:
    """Tracks that entered or left a zone in one frame, and who is inside now."""

    entered_ids: IntArray
    exited_ids: IntArray
    inside_ids: IntArray


class ZoneCounter:
    """Occupancy of a polygon zone and entries / exits per class.

    A track is inside once its anchor has been inside the polygon for ``min_frames``
    consecutive observations, and outside again after ``min_frames`` outside (hysteresis). A
    track first seen inside counts as an entry once it has been inside ``min_frames`` frames.

    Parameters
    ----------
    polygon
        ``(M, 2)`` vertices ``(x, y)`` in pixels, M >= 3.
    min_frames
        Consecutive frames needed to change a track's inside/outside state.
    anchor
        Point of the box tested (see :data:`Anchor`).
    forget_after
        Frames after which a track no longer seen is forgotten.
    name
        Label used by :meth:`summary` and the drawing.
    """

    def __init__(
        self,
        polygon: ArrayLike,
        *,
        min_frames: int = 3,
        anchor: Anchor = "bottom_center",
        forget_after: int = 300,
        name: str = "zone",
    ) -> None:
        poly = np.asarray(polygon, dtype=np.float64)
        if poly.ndim != 2 or poly.shape[1] != 2 or poly.shape[0] < 3:
            raise ConfigurationError(f"a zone needs (M >= 3, 2) vertices, got {poly.shape}")
        if not np.all(np.isfinite(poly)):
            raise ConfigurationError("zone vertices must be finite")
        _check_common(min_frames, forget_after)
        anchor_points(np.zeros((0, 4)), anchor)
        self.polygon = poly
        self.min_frames = int(min_frames)
        self.anchor: Anchor = anchor
        self.forget_after = int(forget_after)
        self.name = name
        self._table = _TrackTable()
        self._counts = _ClassCounts(("entries", "exits"))
        self._occupancy: dict[int, int] = {}
        self._frame = 0

    @classmethod
    def parse(cls, text: str, **kwargs: object) -> ZoneCounter:
        """Build from ``"x1,y1,x2,y2,x3,y3,..."`` (the CLI's ``--zone``)."""
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError as exc:
            raise ConfigurationError(f"a zone is x1,y1,x2,y2,x3,y3,... got {text!r}") from exc
        if len(values) < 6 or len(values) % 2:
            raise ConfigurationError(f"a zone is x1,y1,x2,y2,x3,y3,... got {text!r}")
        return cls(np.reshape(values, (-1, 2)), **kwargs)  # type: ignore[arg-type]

    def update(self, tracks: Sequence[Track]) -> ZoneEvents:
        """Count this frame's confirmed tracks."""
        return self.update_arrays(*_tracks_to_arrays(tracks))

    def update_arrays(
        self, track_ids: ArrayLike, tlwh: ArrayLike, class_ids: ArrayLike | None = None
    ) -> ZoneEvents:
        """:meth:`update` for arrays: ``(N,)`` ids, ``(N, 4)`` tlwh boxes, ``(N,)`` classes."""
        ids, boxes, classes = _check_arrays(track_ids, tlwh, class_ids)
        self._frame += 1
        inside = points_in_polygon(anchor_points(boxes, self.anchor), self.polygon)
        observed = np.where(inside, 1, -1).astype(np.int8)
        rows = self._table.rows(ids, self._frame)
        # A new track starts "outside" so that being first seen inside is an entry too.
        new = self._table.state[rows] == 0
        self._table.state[rows[new]] = -1
        flipped, new_state = _step(self._table, rows, observed, self.min_frames)
        entered, exited = flipped[new_state > 0], flipped[new_state < 0]
        self._counts.add("entries", classes[entered])
        self._counts.add("exits", classes[exited])
        now_inside = self._table.state[rows] > 0
        values, counts = np.unique(classes[now_inside], return_counts=True)
        self._occupancy = dict(zip(values.tolist(), counts.tolist(), strict=True))
        self._table.forget_older_than(self._frame - self.forget_after)
        return ZoneEvents(ids[entered], ids[exited], ids[now_inside])

    @property
    def occupancy(self) -> int:
        """Tracks inside the zone in the last frame, all classes."""
        return sum(self._occupancy.values())

    @property
    def occupancy_by_class(self) -> dict[int, int]:
        """``{class_id: tracks inside}`` in the last frame."""
        return dict(sorted(self._occupancy.items()))

    @property
    def entries(self) -> int:
        """Entries so far, all classes."""
        return self._counts.total("entries")

    @property
    def exits(self) -> int:
        """Exits so far, all classes."""
        return self._counts.total("exits")

    @property
    def counts_by_class(self) -> dict[int, dict[str, int]]:
        """``{class_id: {"entries": n, "exits": m}}``."""
        return {c: dict(slot) for c, slot in sorted(self._counts.by_class.items())}

    def to_dict(self) -> dict[str, object]:
        """Occupancy, entries, exits and per-class counts, JSON-ready."""
        return {
            "name": self.name,
            "polygon": self.polygon.tolist(),
            "occupancy": self.occupancy,
            "entries": self.entries,
            "exits": self.exits,
            "by_class": {str(c): v for c, v in self.counts_by_class.items()},
        }

    def summary(self, class_names: Sequence[str] | Mapping[int, str] | None = None) -> str:
        """One line: ``zone: inside 3, entries 7 (person 6, car 1), exits 4``."""
        return (
            f"{self.name}: inside {self.occupancy}, "
            f"{_format_counts(self._counts, 'entries', class_names)}, "
            f"{_format_counts(self._counts, 'exits', class_names)}"
        )

    def overlay(
        self, class_names: Sequence[str] | Mapping[int, str] | None = None
    ) -> CounterOverlay:
        """The polygon and its summary, for :func:`deepsort_lib.io.draw.draw_overlays`."""
        return CounterOverlay(self.polygon.copy(), True, self.summary(class_names))

    def reset(self) -> None:
        """Forget every track and count."""
        self._table = _TrackTable()
        self._counts = _ClassCounts(("entries", "exits"))
        self._occupancy = {}
        self._frame = 0


class Counters:
    """Line and zone counters updated together; also a pipeline sink.

    Put it in ``sinks`` *before* a :class:`~deepsort_lib.io.sinks.VideoSink` so that each
    frame is counted before it is drawn.

    Parameters
    ----------
    counters
        :class:`LineCounter` and :class:`ZoneCounter` objects.
    class_names
        Names by class id for the summaries and overlays.
    """

    def __init__(
        self,
        counters: Sequence[LineCounter | ZoneCounter] = (),
        class_names: Sequence[str] | Mapping[int, str] | None = None,
    ) -> None:
        self.counters = list(counters)
        self.class_names = class_names

    @classmethod
    def from_specs(
        cls,
        lines: Sequence[str] = (),
        zones: Sequence[str] = (),
        class_names: Sequence[str] | Mapping[int, str] | None = None,
        **options: object,
    ) -> Counters:
        """Build from command-line strings: ``"x1,y1,x2,y2"`` per line, ``"x1,y1,..."`` per zone.

        Counters are named ``line 1``, ``line 2``, ..., ``zone 1``, ...; ``options``
        (``min_frames``, ``anchor``, ...) go to every counter (``min_distance`` to lines only).

        Raises
        ------
        ConfigurationError
            If a string is not a line or a polygon.
        """
        zone_options = {k: v for k, v in options.items() if k != "min_distance"}
        made: list[LineCounter | ZoneCounter] = [
            LineCounter.parse(text, name=f"line {i}", **options)
            for i, text in enumerate(lines, start=1)
        ]
        made += [
            ZoneCounter.parse(text, name=f"zone {i}", **zone_options)
            for i, text in enumerate(zones, start=1)
        ]
        return cls(made, class_names)

    def __len__(self) -> int:
        return len(self.counters)

    def __iter__(self) -> Iterator[LineCounter | ZoneCounter]:
        return iter(self.counters)

    def update(self, tracks: Sequence[Track]) -> None:
        """Count one frame's tracks with every counter."""
        for counter in self.counters:
            counter.update(tracks)

    def write(self, result: FrameResult) -> None:
        """Sink interface: count ``result.tracks``."""
        self.update(result.tracks)

    def close(self) -> None:
        """Sink interface: nothing to finish (no file)."""

    def abort(self) -> None:
        """Sink interface: keep the counts made so far."""

    def overlays(self) -> list[CounterOverlay]:
        """Every counter's shape and summary now (see :meth:`LineCounter.overlay`)."""
        return [counter.overlay(self.class_names) for counter in self.counters]

    def summary(self) -> list[str]:
        """One line per counter, e.g. ``line 1: in 5, out 3``."""
        return [counter.summary(self.class_names) for counter in self.counters]

    def to_dict(self) -> list[dict[str, object]]:
        """Every counter's totals, JSON-ready."""
        return [counter.to_dict() for counter in self.counters]


__all__ = [
    "Anchor",
    "CounterOverlay",
    "Counters",
    "LineCounter",
    "LineEvents",
    "ZoneCounter",
    "ZoneEvents",
    "anchor_points",
    "points_in_polygon",
]
