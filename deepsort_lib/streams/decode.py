"""Reading one source on a background thread, with the retry policy for failing sources.

A :class:`SourceReader` iterates its source on its own thread into a bounded queue (OpenCV
releases the GIL while it decodes, so several readers decode in parallel with inference). What
the consumer gets from the queue is a frame, a notice that the source is being retried, or the
end of the stream with its :class:`StreamState`. The policy is described in
:mod:`deepsort_lib.streams.runner`.
"""

from __future__ import annotations

import enum
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from deepsort_lib.errors import ConfigurationError, SourceError


class StreamState(str, enum.Enum):
    """Where a stream stands."""

    RUNNING = "running"
    RECONNECTING = "reconnecting"
    FINISHED = "finished"  #: the source ended normally
    STOPPED = "stopped"  #: ``max_frames`` reached
    FAILED = "failed"  #: the source failed and the retries are spent


@dataclass(frozen=True)
class RetryPolicy:
    """How a failing source is retried (see the module notes).

    Parameters
    ----------
    max_retries
        Consecutive reopen attempts before the stream fails (0: fail at once).
    backoff_s
        Delay before the first attempt.
    backoff_factor
        Each further consecutive attempt waits this much longer.
    max_backoff_s
        Longest delay.
    reset_tracks
        Forget the stream's tracks when a live source comes back.
    """

    max_retries: int = 5
    backoff_s: float = 1.0
    backoff_factor: float = 2.0
    max_backoff_s: float = 30.0
    reset_tracks: bool = True

    def __post_init__(self) -> None:
        if int(self.max_retries) != self.max_retries or self.max_retries < 0:
            raise ConfigurationError(f"max_retries must be an integer >= 0, got {self.max_retries}")
        if not (self.backoff_s >= 0 and self.max_backoff_s >= 0 and self.backoff_factor >= 1):
            raise ConfigurationError("back-off delays must be >= 0 and backoff_factor >= 1")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before consecutive attempt number ``attempt`` (from 1)."""
        return float(min(self.backoff_s * self.backoff_factor ** (attempt - 1), self.max_backoff_s))


@dataclass(frozen=True)
class FrameItem:
    """A decoded frame: its number in the stream, the image, seconds spent reading it."""

    number: int
    image: Any
    wait: float


@dataclass(frozen=True)
class RetryNotice:
    """The source failed (``error``) and is being reopened: consecutive ``attempt`` number."""

    attempt: int
    error: str


@dataclass(frozen=True)
class EndNotice:
    """The stream ended in ``state`` (with the reason when it failed)."""

    state: StreamState
    error: str | None = None


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"


class SourceReader:
    """Reads one source on a background thread into a bounded queue, retrying per policy."""

    def __init__(
        self,
        first: Any,
        reopen: Callable[[], Any] | None,
        live: bool,
        policy: RetryPolicy,
        depth: int,
        arrived: threading.Event,
        max_frames: int | None,
    ) -> None:
        self.queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self.stop = threading.Event()
        self._first, self._reopen, self._live = first, reopen, live
        self._policy, self._arrived, self._max_frames = policy, arrived, max_frames
        self._thread = threading.Thread(target=self._run, name="deepsort-decode", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self.stop.set()
        if self._thread.is_alive():
            # A live read can block inside OpenCV; the thread is a daemon past this wait.
            self._thread.join(timeout=10.0)
        if self._first is not None:  # never started: the source is still ours to close
            _close(self._first)
            self._first = None

    def _put(self, item: object) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.05)
            except queue.Full:
                continue
            self._arrived.set()
            return True
        return False

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            self._read()
        except BaseException as exc:  # a bug must end the stream, never hang the runner
            self._put(EndNotice(StreamState.FAILED, f"decode thread failed: {_describe(exc)}"))

    def _read(self) -> None:
        source, self._first = self._first, None
        if self.stop.is_set():
            _close(source)
            return
        last = delivered = attempt = 0
        resumed = False
        while True:
            error = "the live source stopped delivering frames"
            try:
                frames = iter(source)
                while True:
                    start = time.perf_counter()
                    item = next(frames, None)
                    if item is None:
                        break
                    number, image = item
                    if resumed and not self._live and number <= last:
                        continue  # a reopened file: skip what was already delivered
                    number = last + 1 if self._live else int(number)
                    if not self._put(FrameItem(number, image, time.perf_counter() - start)):
                        return
                    last, delivered, attempt = number, delivered + 1, 0
                    if self._max_frames is not None and delivered >= self._max_frames:
                        self._put(EndNotice(StreamState.STOPPED))
                        return
                if not self._live:
                    self._put(EndNotice(StreamState.FINISHED))
                    return
            except Exception as exc:  # any read failure is the source's: retried or reported
                error = _describe(exc)
            finally:
                _close(source)
            source = None
            while source is None:
                attempt += 1
                if self._reopen is None or attempt > self._policy.max_retries:
                    self._put(EndNotice(StreamState.FAILED, error))
                    return
                if not self._put(RetryNotice(attempt, error)):
                    return
                if self.stop.wait(self._policy.delay(attempt)):
                    return
                try:
                    source = self._reopen()
                except Exception as exc:
                    error = _describe(exc)
            resumed = True


def _close(source: Any) -> None:
    close = getattr(source, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # nothing more to release; the stream's state says what happened
            pass


__all__ = ["EndNotice", "FrameItem", "RetryNotice", "RetryPolicy", "SourceReader", "StreamState"]
