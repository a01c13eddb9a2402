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

from deepsort_lib.counting.group import Counters
from deepsort_lib.counting.line import LineCounter, LineEvents
from deepsort_lib.counting.parts import Anchor, CounterOverlay, anchor_points
from deepsort_lib.counting.zone import ZoneCounter, ZoneEvents, points_in_polygon

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
