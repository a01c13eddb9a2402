"""Counting tracks in a polygon zone: occupancy, entries and exits per class."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

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
        check_common(min_frames, forget_after)
        anchor_points(np.zeros((0, 4)), anchor)
        self.polygon = poly
        self.min_frames = int(min_frames)
        self.anchor: Anchor = anchor
        self.forget_after = int(forget_after)
        self.name = name
        self._table = TrackTable()
        self._counts = ClassCounts(("entries", "exits"))
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
        return self.update_arrays(*tracks_to_arrays(tracks))

    def update_arrays(
        self, track_ids: ArrayLike, tlwh: ArrayLike, class_ids: ArrayLike | None = None
    ) -> ZoneEvents:
        """:meth:`update` for arrays: ``(N,)`` ids, ``(N, 4)`` tlwh boxes, ``(N,)`` classes."""
        ids, boxes, classes = check_arrays(track_ids, tlwh, class_ids)
        self._frame += 1
        inside = points_in_polygon(anchor_points(boxes, self.anchor), self.polygon)
        observed = np.where(inside, 1, -1).astype(np.int8)
        rows = self._table.rows(ids, self._frame)
        # A new track starts "outside" so that being first seen inside is an entry too.
        new = self._table.state[rows] == 0
        self._table.state[rows[new]] = -1
        flipped, new_state = hysteresis_step(self._table, rows, observed, self.min_frames)
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
            f"{format_counts(self._counts, 'entries', class_names)}, "
            f"{format_counts(self._counts, 'exits', class_names)}"
        )

    def overlay(
        self, class_names: Sequence[str] | Mapping[int, str] | None = None
    ) -> CounterOverlay:
        """The polygon and its summary, for :func:`deepsort_lib.io.draw.draw_overlays`."""
        return CounterOverlay(self.polygon.copy(), True, self.summary(class_names))

    def reset(self) -> None:
        """Forget every track and count."""
        self._table = TrackTable()
        self._counts = ClassCounts(("entries", "exits"))
        self._occupancy = {}
        self._frame = 0


__all__ = ["ZoneCounter", "ZoneEvents", "points_in_polygon"]
