"""Overlapping I/O with inference: a frame prefetcher and a background worker.

OpenCV releases the GIL while it decodes or encodes video, so reading the next frame and
writing the previous annotated one can run on other threads while the detector works on the
current frame. Both helpers use a bounded queue (memory stays at a few frames) and hand
exceptions raised on their thread back to the caller's thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable
from typing import Generic, TypeVar

from deepsort_lib.errors import ConfigurationError

_T = TypeVar("_T")
_DONE = object()


def prefetch(items: Iterable[_T], depth: int = 2) -> Generator[_T, None, None]:
    """Iterate ``items`` on a background thread, up to ``depth`` items ahead.

    Exceptions raised while producing an item are re-raised by the returned iterator at that
    point. Closing the iterator early (``break``, an exception in the consumer) stops the
    thread after at most the item it is producing.

    Raises
    ------
    ConfigurationError
        If ``depth`` < 1.
    """
    if depth < 1:
        raise ConfigurationError(f"prefetch depth must be >= 1, got {depth}")
    return _prefetch(items, depth)


def _prefetch(items: Iterable[_T], depth: int) -> Generator[_T, None, None]:
    buffer: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                buffer.put(value, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failure(exc))

    thread = threading.Thread(target=produce, name="deepsort-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            value = buffer.get()
            if value is _DONE:
                return
            if isinstance(value, _Failure):
                raise value.exc
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class BackgroundWorker(Generic[_T]):
    """Runs ``handler(item)`` for each submitted item, in order, on one background thread.

    Parameters
    ----------
    handler
        Called with every item; its first exception stops the worker and is re-raised by the
        next :meth:`submit` or by :meth:`join`.
    depth
        Items that may wait in the queue; :meth:`submit` blocks beyond that.
    """

    def __init__(self, handler: Callable[[_T], None], depth: int = 4) -> None:
        if depth < 1:
            raise ConfigurationError(f"queue depth must be >= 1, got {depth}")
        self._handler = handler
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._work, name="deepsort-writer", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if self._error is not None or self._cancel.is_set():
                continue  # drain without work after a failure or a cancel
            try:
                self._handler(item)  # type: ignore[arg-type]
            except BaseException as exc:  # handed to the caller's thread
                self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def submit(self, item: _T) -> None:
        """Queue ``item``; re-raises an earlier failure of the handler."""
        self._raise()
        if not self._thread.is_alive():
            raise RuntimeError("the background worker has stopped")
        self._queue.put(item)

    def join(self, cancel: bool = False) -> None:
        """Wait until every queued item is handled (or dropped, with ``cancel``), then stop.

        Re-raises a failure of the handler unless ``cancel`` is set.
        """
        if cancel:
            self._cancel.set()
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()
        if not cancel:
            self._raise()


__all__ = ["BackgroundWorker", "prefetch"]
