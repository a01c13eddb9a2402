"""Several line and zone counters updated together, usable as a pipeline sink."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from deepsort_lib.counting.line import LineCounter
from deepsort_lib.counting.parts import CounterOverlay
from deepsort_lib.counting.zone import ZoneCounter
from deepsort_lib.tracking.track import Track

if TYPE_CHECKING:
    from deepsort_lib.results import FrameResult


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


__all__ = ["Counters"]
