"""Progress of several streams on one terminal line: frames, frame rate and state of each.

``a 120 12.5fps | b 98 11.0fps retrying | cam 5 failed`` is redrawn in place at most
:data:`REFRESH_S` apart, and only when standard error is a terminal; a state change (a stream
retrying, failing or done) is written at once. When standard error is not a terminal nothing is
drawn: the command's summary says how every stream ended.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Hashable
from typing import Any, TextIO

from deepsort_lib.streams.decode import StreamState
from deepsort_lib.streams.runner import StreamStatus

#: Shortest time between two redraws, seconds (a few updates per second at most).
REFRESH_S = 0.25

#: What the progress line calls each state.
STATE_WORDS = {
    StreamState.RUNNING: "running",
    StreamState.RECONNECTING: "retrying",
    StreamState.FINISHED: "done",
    StreamState.STOPPED: "done",
    StreamState.FAILED: "failed",
}


class StreamsProgress:
    """Draws the progress line; feed it :meth:`frame` and :meth:`status` from the runner.

    Parameters
    ----------
    names
        Stream id -> the name shown, in display order.
    enabled
        Draw anything at all (``False`` with ``--quiet``); drawing also needs a terminal.
    stream
        Where to draw (standard error).
    """

    def __init__(
        self,
        names: dict[Hashable, str],
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.out = stream if stream is not None else sys.stderr
        self.enabled = enabled and _is_tty(self.out)
        self.names = dict(names)
        self.frames = dict.fromkeys(names, 0)
        self.states = dict.fromkeys(names, StreamState.RUNNING)
        self.started: float | None = None  # the first frame: rates leave model loading out
        self._last_draw = 0.0
        self._width = 0

    def frame(self, stream_id: Hashable, _result: Any = None) -> None:
        """One more frame of ``stream_id`` done."""
        self.frames[stream_id] += 1
        now = time.perf_counter()
        if self.started is None:
            self.started = now
        if now - self._last_draw >= REFRESH_S:
            self.draw(now)

    def status(self, status: StreamStatus) -> None:
        """A stream changed state: redraw now."""
        self.states[status.stream_id] = status.state
        self.draw(time.perf_counter())

    def line(self, now: float | None = None) -> str:
        """The progress line as it is now."""
        now = now if now is not None else time.perf_counter()
        elapsed = max(now - (self.started if self.started is not None else now), 1e-3)
        parts = []
        for sid, name in self.names.items():
            state = self.states[sid]
            running = state is StreamState.RUNNING and elapsed >= REFRESH_S  # a rate, not noise
            fps = f" {self.frames[sid] / elapsed:.1f}fps" if running else ""
            word = "" if state is StreamState.RUNNING else f" {STATE_WORDS[state]}"
            parts.append(f"{name} {self.frames[sid]}{fps}{word}")
        return " | ".join(parts)

    def draw(self, now: float) -> None:
        if not self.enabled:
            return
        self._last_draw = now
        # A line longer than the terminal wraps, and "\r" would then not return over it.
        width = shutil.get_terminal_size((120, 24)).columns - 1
        text = self.line(now)
        text = text if len(text) <= width else text[: max(width - 3, 0)] + "..."
        # Pad over what the previous, maybe longer, line left on screen.
        padded = text.ljust(self._width)
        self._width = len(text)
        try:
            self.out.write(f"\r{padded}")
            self.out.flush()
        except (OSError, ValueError):
            self.enabled = False  # the terminal went away: the run goes on without it

    def close(self) -> None:
        """Draw the last state and end the line (before the summary or an error)."""
        if not self.enabled or not self._width:
            self.enabled = False  # nothing drawn yet (e.g. a bad input): nothing to end
            return
        self.draw(time.perf_counter())
        try:
            self.out.write("\n")
            self.out.flush()
        except (OSError, ValueError):
            pass
        self.enabled = False


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


__all__ = ["REFRESH_S", "STATE_WORDS", "StreamsProgress"]
