"""Counting tracks that cross a line segment, by direction and class, with hysteresis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from deepsort_lib.counting.parts import (
    Anchor,
    ClassCounts,
    CounterOverlay,
    IntArray,
    TrackTable,
    anchor_points,
    check_arrays,
    check_common,
    format_counts,
    hysteresis_step,
    tracks_to_arrays,
)
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.tracking.track import Track


@dataclass(frozen=True)
class LineEvents:
    """Tracks that crossed a line in one frame (ids and class ids, by direction)."""

    in_ids: IntArray
    in_classes: IntArray
    out_ids: IntArray
    out_classes: IntArray


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
        check_common(min_frames, forget_after)
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
        self._table = TrackTable()
        self._counts = ClassCounts(("in", "out"))
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
        return self.update_arrays(*tracks_to_arrays(tracks))

    def update_arrays(
        self, track_ids: ArrayLike, tlwh: ArrayLike, class_ids: ArrayLike | None = None
    ) -> LineEvents:
        """:meth:`update` for arrays: ``(N,)`` ids, ``(N, 4)`` tlwh boxes, ``(N,)`` classes.

        Raises
        ------
        InvalidInputError
            On malformed arrays or duplicate ids (the counter is unchanged).
        """
        ids, boxes, classes = check_arrays(track_ids, tlwh, class_ids)
        self._frame += 1
        points = anchor_points(boxes, self.anchor) - self._origin
        # Elementwise, not a matrix product: keeps this per-frame path off BLAS.
        along = self._unit[0] * points[:, 0] + self._unit[1] * points[:, 1]
        signed = self._unit[0] * points[:, 1] - self._unit[1] * points[:, 0]
        observed = np.where(signed >= self.min_distance, 1, 0)
        observed = np.where(signed <= -self.min_distance, -1, observed)
        if self.min_distance == 0.0:
            observed = np.where(signed == 0.0, 0, observed)
        within = (along >= 0.0) & (along <= self._length)
        observed = np.where(within, observed, 0).astype(np.int8)
        rows = self._table.rows(ids, self._frame)
        flipped, new_state = hysteresis_step(self._table, rows, observed, self.min_frames)
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
            f"{self.name}: {format_counts(self._counts, 'in', class_names)}, "
            f"{format_counts(self._counts, 'out', class_names)}"
        )

    def overlay(
        self, class_names: Sequence[str] | Mapping[int, str] | None = None
    ) -> CounterOverlay:
        """The line and its summary, for :func:`deepsort_lib.io.draw.draw_overlays`."""
        points = np.array([self.start, self.end], dtype=np.float64)
        return CounterOverlay(points, False, self.summary(class_names))

    def reset(self) -> None:
        """Forget every track and count."""
        self._table = TrackTable()
        self._counts = ClassCounts(("in", "out"))
        self._frame = 0


__all__ = ["LineCounter", "LineEvents"]
