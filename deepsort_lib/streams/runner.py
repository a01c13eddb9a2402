"""Many sources at once: one decode thread per source, batched models, per-stream outputs.

``source ─decode thread─▶ bounded queue ─┐
  source ─decode thread─▶ bounded queue ─┼─▶ batch ─▶ MultiStreamPipeline.step ─▶ sinks per stream
  source ─decode thread─▶ bounded queue ─┘``

Each source is read on its own thread into a queue of a few frames (OpenCV releases the GIL
while decoding), so sources of different lengths, frame rates and speeds never wait on each
other's decoding. A batch takes at most one frame per stream: the main thread waits for the
first frame to arrive, then up to ``max_wait_s`` for the others; a stream with nothing ready
is simply not in that batch (the multi-stream tracker leaves it untouched).

Failure policy
--------------
* A file, image folder or sequence that *ends* finishes its stream: its outputs are closed
  (they appear under their final names) while the other streams go on.
* A source that *fails* — a read error, a live source (camera, URL) that stops delivering
  frames — is reopened after a back-off delay (:class:`RetryPolicy`: ``backoff_s``, times
  ``backoff_factor`` per further attempt, at most ``max_backoff_s``), up to ``max_retries``
  consecutive attempts; a frame read successfully resets the count. A reopened file resumes
  after the last frame it delivered; a live source continues the stream's frame numbering and,
  by default, its tracks are reset (the scene moved on while it was away; ids keep counting).
* When the retries are spent the stream is ``FAILED``: its status says why, its outputs keep
  every frame processed so far (``keep_partial=True``; ``False`` deletes them) and the other
  streams go on.
* Sources are all opened before anything is written: a source that cannot be opened at all is
  a :class:`~deepsort_lib.errors.SourceError` and no output is created.
* An error in the models, the tracker or an output, or an interrupt (Ctrl-C), stops the whole
  run: every output not yet finished is deleted (complete or absent, as with ``Pipeline``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Collection, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from deepsort_lib.errors import ConfigurationError
from deepsort_lib.io.sinks import Sink
from deepsort_lib.pipeline import FrameResult
from deepsort_lib.streams.decode import (
    EndNotice,
    FrameItem,
    RetryNotice,
    RetryPolicy,
    SourceReader,
    StreamState,
)
from deepsort_lib.streams.sources import (
    SourceSpec,
    distinct_names,
    is_live,
    opener,
    safe_name,
    unique_names,
)

StreamId = Hashable


@dataclass
class StreamStatus:
    """What is known about one stream (updated as the run goes)."""

    stream_id: StreamId
    name: str
    live: bool
    state: StreamState = StreamState.RUNNING
    frames: int = 0
    reconnects: int = 0
    error: str | None = None
    outputs: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class StreamInfo:
    """A stream as the sink factory sees it (``fps`` and ``size`` from its source)."""

    stream_id: StreamId
    name: str
    fps: float
    size: tuple[int, int]
    live: bool


@dataclass
class RunReport:
    """Totals of a :meth:`MultiSourceRunner.process` run."""

    streams: dict[StreamId, StreamStatus]
    frames: int = 0
    batches: int = 0
    wall_time: float = 0.0

    @property
    def fps(self) -> float:
        """Frames per second, all streams together."""
        return self.frames / self.wall_time if self.wall_time > 0 else 0.0

    @property
    def failed(self) -> list[StreamId]:
        """Streams that ended in :attr:`StreamState.FAILED`."""
        return [s for s, st in self.streams.items() if st.state is StreamState.FAILED]


SinkFactory = Callable[[StreamInfo], Sequence[Sink]]


class StepPipeline(Protocol):
    """What the runner drives: :class:`MultiStreamPipeline` or anything with its ``step``."""

    def step(
        self,
        frames: Sequence[tuple[StreamId, int, Any]],
        *,
        reset: Collection[StreamId] = (),
        decode_seconds: Sequence[float] | None = None,
    ) -> dict[StreamId, FrameResult]:
        """One batch, at most one frame per stream -> each stream's result."""


class _Stream:
    def __init__(self, status: StreamStatus, decoder: SourceReader, sinks: list[Sink]) -> None:
        self.status, self.decoder, self.sinks = status, decoder, sinks
        self.open = True  # sinks not yet closed or aborted
        self.reset = False


class MultiSourceRunner:
    """Tracks several sources at once through one :class:`MultiStreamPipeline`.

    Parameters
    ----------
    sources
        A sequence of sources (stream ids are their names, made unique: ``a``, ``a-2``) or a
        mapping stream id -> source. A source is a video path, an image folder or MOT
        sequence, a camera index, a stream URL (``rtsp://``, ``http(s)://``), an iterable of
        ``(frame number, frame)``, or a function returning one (called again to reconnect).
    pipeline
        The models and trackers (e.g. ``MultiStreamPipeline(YOLOv3Detector(...), encoder)``,
        or any :class:`StepPipeline`).
    sinks
        ``factory(StreamInfo) -> [sinks]``: the outputs of each stream (see :func:`outputs`).
    policy
        :class:`RetryPolicy` for failing sources.
    queue_depth
        Decoded frames buffered per source.
    max_wait_s
        Once one stream has a frame, how long a batch waits for the others.
    max_frames
        Stop each stream after this many frames.
    keep_partial
        Keep the outputs of a stream that failed (every frame processed before the failure).
    on_status
        Called with a stream's :class:`StreamStatus` whenever its state changes.
    """

    def __init__(
        self,
        sources: Sequence[SourceSpec] | Mapping[StreamId, SourceSpec],
        pipeline: StepPipeline,
        *,
        sinks: SinkFactory | None = None,
        policy: RetryPolicy | None = None,
        queue_depth: int = 4,
        max_wait_s: float = 0.1,
        max_frames: int | None = None,
        keep_partial: bool = True,
        on_status: Callable[[StreamStatus], None] | None = None,
    ) -> None:
        # Every stream gets a unique file-name-safe name for its outputs.
        if isinstance(sources, Mapping):
            specs = dict(sources)
            names = distinct_names(safe_name(str(sid), f"stream{i}") for i, sid in enumerate(specs))
        else:
            names = unique_names(sources, "stream")
            specs = dict(zip(names, sources, strict=True))
        self._names = dict(zip(specs, names, strict=True))
        if not specs:
            raise ConfigurationError("give at least one source")
        if int(queue_depth) != queue_depth or queue_depth < 1:
            raise ConfigurationError(f"queue_depth must be an integer >= 1, got {queue_depth}")
        if not max_wait_s >= 0:
            raise ConfigurationError(f"max_wait_s must be >= 0, got {max_wait_s}")
        if max_frames is not None and max_frames < 1:
            raise ConfigurationError(f"max_frames must be >= 1, got {max_frames}")
        self.specs: dict[StreamId, SourceSpec] = specs
        self.pipeline = pipeline
        self.sink_factory = sinks
        self.policy = policy or RetryPolicy()
        self.queue_depth = int(queue_depth)
        self.max_wait_s = float(max_wait_s)
        self.max_frames = max_frames
        self.keep_partial = keep_partial
        self.on_status = on_status
        self.statuses: dict[StreamId, StreamStatus] = {}
        self._arrived = threading.Event()

    # -- running ---------------------------------------------------------------------------

    def run(self) -> Iterator[tuple[StreamId, FrameResult]]:
        """Yield ``(stream id, result)`` for every frame of every stream as batches complete.

        Raises
        ------
        SourceError
            If a source cannot be opened at the start (nothing is written then).
        """
        return self._run()

    def process(
        self, on_result: Callable[[StreamId, FrameResult], None] | None = None
    ) -> RunReport:
        """Run to the end of every stream (see :meth:`run`); returns the totals."""
        report = RunReport(self.statuses)
        start = time.perf_counter()
        for sid, result in self.run():
            report.frames += 1
            if on_result is not None:
                on_result(sid, result)
        report.wall_time = time.perf_counter() - start
        report.batches = self._batches
        report.streams = self.statuses
        return report

    def _open(self) -> dict[StreamId, _Stream]:
        streams: dict[StreamId, _Stream] = {}
        try:
            for sid, spec in self.specs.items():
                reopen = opener(spec)
                first = reopen() if reopen is not None else spec
                live = is_live(spec) or bool(getattr(first, "live", False))
                status = StreamStatus(sid, self._names[sid], live)
                decoder = SourceReader(
                    first,
                    reopen,
                    live,
                    self.policy,
                    self.queue_depth,
                    self._arrived,
                    self.max_frames,
                )
                streams[sid] = _Stream(status, decoder, [])
            for sid, stream in streams.items():
                first = stream.decoder._first
                info = StreamInfo(
                    sid,
                    stream.status.name,
                    float(getattr(first, "fps", 25.0)),
                    tuple(getattr(first, "size", (0, 0))),  # type: ignore[arg-type]
                    stream.status.live,
                )
                if self.sink_factory is not None:
                    stream.sinks.extend(self.sink_factory(info))
        except BaseException:
            for stream in streams.values():
                for sink in stream.sinks:
                    sink.abort()
                stream.decoder.join()
            raise
        return streams

    def _run(self) -> Iterator[tuple[StreamId, FrameResult]]:
        self._batches = 0
        streams = self._open()
        self.statuses = {sid: s.status for sid, s in streams.items()}
        completed = False
        try:
            for stream in streams.values():
                stream.decoder.start()
            active = dict(streams)
            while active:
                batch = self._gather(active)
                if not batch:
                    continue
                entries = [(sid, item.number, item.image) for sid, item in batch]
                reset = [sid for sid, _ in batch if streams[sid].reset]
                results = self.pipeline.step(
                    entries, reset=reset, decode_seconds=[item.wait for _, item in batch]
                )
                self._batches += 1
                for sid in reset:
                    streams[sid].reset = False
                for sid, result in results.items():
                    stream = streams[sid]
                    for sink in stream.sinks:
                        sink.write(result)
                    stream.status.frames += 1
                    yield sid, result
            completed = True
        finally:
            for stream in streams.values():
                stream.decoder.join()
            for stream in streams.values():
                if stream.open:
                    self._finish(stream, keep=completed)

    def _gather(self, active: dict[StreamId, _Stream]) -> list[tuple[StreamId, FrameItem]]:
        """At most one frame per active stream; handles end and retry notices on the way."""
        batch: dict[StreamId, FrameItem] = {}
        deadline: float | None = None
        while True:
            self._arrived.clear()
            for sid, stream in list(active.items()):
                if sid in batch:
                    continue
                item = self._next_frame(sid, stream, active)
                if item is not None:
                    batch[sid] = item
            waiting = [sid for sid in active if sid not in batch]
            if not waiting:
                break
            now = time.monotonic()
            if batch:
                deadline = now + self.max_wait_s if deadline is None else deadline
                if now >= deadline:
                    break
                self._arrived.wait(deadline - now)
            else:
                self._arrived.wait(0.1)
        return list(batch.items())

    def _next_frame(
        self, sid: StreamId, stream: _Stream, active: dict[StreamId, _Stream]
    ) -> FrameItem | None:
        status = stream.status
        while True:
            try:
                item = stream.decoder.queue.get_nowait()
            except queue.Empty:
                if stream.decoder.alive or not stream.decoder.queue.empty():
                    return None
                item = EndNotice(StreamState.FAILED, "the decode thread stopped without a word")
            if isinstance(item, FrameItem):
                if status.state is StreamState.RECONNECTING:
                    self._set_state(status, StreamState.RUNNING)
                return item
            if isinstance(item, RetryNotice):
                status.reconnects += 1
                status.error = item.error
                stream.reset = status.live and self.policy.reset_tracks
                self._set_state(status, StreamState.RECONNECTING)
            elif isinstance(item, EndNotice):
                status.error = item.error if item.state is StreamState.FAILED else None
                del active[sid]
                self._finish(stream, keep=item.state is not StreamState.FAILED or self.keep_partial)
                self._set_state(status, item.state)
                return None

    def _finish(self, stream: _Stream, *, keep: bool) -> None:
        stream.open = False
        if not keep:
            for sink in stream.sinks:
                sink.abort()
            return
        failure: BaseException | None = None
        for sink in stream.sinks:
            if failure is not None:
                sink.abort()
                continue
            try:
                path = sink.close()
            except BaseException as exc:  # the others are cleaned up, then it is raised
                failure = exc
                continue
            if path is not None:
                stream.status.outputs.append(Path(path))
        if failure is not None:
            raise failure

    def _set_state(self, status: StreamStatus, state: StreamState) -> None:
        status.state = state
        if self.on_status is not None:
            self.on_status(status)


def progress_line(statuses: Mapping[StreamId, StreamStatus]) -> str:
    """One line for a progress display: ``a 120 | b 98 reconnecting | cam 5 failed``."""
    parts = []
    for status in statuses.values():
        state = "" if status.state is StreamState.RUNNING else f" {status.state.value}"
        parts.append(f"{status.name} {status.frames}{state}")
    return " | ".join(parts)


def outputs(
    folder: str | Path,
    *,
    mot: bool = True,
    video: bool = False,
    log: str | None = None,
    class_names: Sequence[str] | None = None,
) -> SinkFactory:
    """A sink factory writing each stream's outputs into ``folder``, named after the stream.

    ``<name>.txt`` (MOTChallenge results), ``<name>.mp4`` (annotated video, with ``video``) and
    ``<name>.jsonl`` / ``<name>.csv`` (track log, with ``log="jsonl"`` or ``"csv"``). Every file
    is written atomically by the library's sinks.
    """
    from deepsort_lib.io.sinks import MotSink, TrackLogSink, VideoSink

    if log not in (None, "jsonl", "csv"):
        raise ConfigurationError(f"log must be None, 'jsonl' or 'csv', got {log!r}")
    root = Path(folder)

    def make(info: StreamInfo) -> list[Sink]:
        made: list[Sink] = []
        try:
            if mot:
                made.append(MotSink(root / f"{info.name}.txt"))
            if video:
                made.append(VideoSink(root / f"{info.name}.mp4", info.fps, class_names=class_names))
            if log is not None:
                made.append(TrackLogSink(root / f"{info.name}.{log}", class_names=class_names))
        except BaseException:
            for sink in made:
                sink.abort()
            raise
        return made

    return make


__all__ = [
    "MultiSourceRunner",
    "RetryPolicy",
    "RunReport",
    "StepPipeline",
    "StreamInfo",
    "StreamState",
    "StreamStatus",
    "outputs",
    "progress_line",
]
