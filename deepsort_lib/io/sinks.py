"""Outputs of a :class:`~deepsort_lib.pipeline.Pipeline` run: annotated video, MOT file, track log.

A sink receives every :class:`~deepsort_lib.results.FrameResult` through :meth:`Sink.write`.
:meth:`Sink.close` finishes the output (the file appears under its final name);
:meth:`Sink.abort` discards it. The pipeline calls ``abort`` on every sink when a run stops on
an exception, so an interrupted run leaves no output that looks complete.
"""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from deepsort_lib.errors import ConfigurationError
from deepsort_lib.io.atomic import AtomicFile, check_output_paths
from deepsort_lib.io.background import BackgroundWorker
from deepsort_lib.io.capture import Frame
from deepsort_lib.io.draw import draw_fps, draw_overlays, draw_tracks
from deepsort_lib.io.mot import MotWriter
from deepsort_lib.io.video_writer import VideoWriter
from deepsort_lib.tracking.track import Track

if TYPE_CHECKING:
    from deepsort_lib.counting import CounterOverlay

#: What the video sink's worker draws: the frame, its tracks, the FPS to show, the overlays.
_VideoItem = tuple[Frame, list[Track], float | None, Sequence["CounterOverlay"]]


class FrameResultLike(Protocol):
    """What a sink reads of a frame's result (:class:`~deepsort_lib.results.FrameResult`).

    Declared here so that this module does not import the pipeline (which imports the sinks).
    """

    @property
    def frame_index(self) -> int: ...

    @property
    def frame(self) -> Frame | None: ...

    @property
    def tracks(self) -> list[Track]: ...


@runtime_checkable
class Sink(Protocol):
    """Consumes per-frame results; finishes with ``close`` or ``abort``.

    A sink may also have ``finish()``: write everything out and check it without publishing
    the file. The pipeline calls ``finish`` on every sink before it closes any, so a
    failing output (disk full) leaves no other output half-published.
    """

    def write(self, result: FrameResultLike) -> None: ...

    def close(self) -> Path | None: ...

    def abort(self) -> None: ...


class VideoSink:
    """Writes frames annotated with the tracks (boxes, ids, class names, optional FPS).

    Parameters
    ----------
    path
        Output video (``.mp4`` with ``mp4v``).
    fps
        Frame rate of the output (use the source's).
    class_names
        Names by class id for the labels.
    show_fps
        Overlay the processing rate, averaged over the last ``fps_window`` frames.
    fps_window
        Frames in the FPS moving average.
    fourcc
        Codec of the :class:`~deepsort_lib.io.video_writer.VideoWriter`.
    background
        Draw and encode on a background thread (OpenCV releases the GIL while encoding), so
        writing overlaps the next frame's inference. Errors surface on the next ``write`` or
        on ``close``.
    overlays
        Called once per frame, on the caller's thread, for what else to draw: e.g.
        :meth:`deepsort_lib.counting.Counters.overlays` (counting lines and zones with their
        totals). The snapshots it returns are immutable, so the background thread draws the
        counts as they were at that frame.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float = 25.0,
        *,
        class_names: Sequence[str] | None = None,
        show_fps: bool = False,
        fps_window: int = 30,
        fourcc: str = "mp4v",
        background: bool = True,
        overlays: Callable[[], Sequence[CounterOverlay]] | None = None,
    ) -> None:
        if fps_window < 1:
            raise ConfigurationError(f"fps_window must be >= 1, got {fps_window}")
        self.writer = VideoWriter(path, fps, fourcc)
        self.class_names = class_names
        self.show_fps = show_fps
        self.overlays = overlays
        self._times: deque[float] = deque(maxlen=fps_window + 1)
        self._worker: BackgroundWorker[_VideoItem] | None = (
            BackgroundWorker(self._render) if background else None
        )

    @property
    def path(self) -> Path:
        """Final path of the video."""
        return self.writer.path

    def _render(self, item: _VideoItem) -> None:
        frame, tracks, fps, overlays = item
        canvas = draw_tracks(frame.copy(), tracks, self.class_names)
        if overlays:
            draw_overlays(canvas, overlays)
        if fps is not None:
            draw_fps(canvas, fps)
        self.writer.write(canvas)

    def write(self, result: FrameResultLike) -> None:
        """Draw the tracks on a copy of the frame and append it to the video."""
        if result.frame is None:
            raise ConfigurationError("a video sink needs frames: run the pipeline on a source")
        fps = None
        if self.show_fps:
            self._times.append(time.perf_counter())
            span = self._times[-1] - self._times[0]
            fps = (len(self._times) - 1) / span if span > 0 else 0.0
        # Snapshot on this thread: the counters move on while the worker draws this frame.
        snapshot = tuple(self.overlays()) if self.overlays is not None else ()
        item = (result.frame, list(result.tracks), fps, snapshot)
        if self._worker is None:
            self._render(item)
        else:
            self._worker.submit(item)

    def finish(self) -> None:
        """Encode the queued frames and check the video file, without publishing it."""
        if self._worker is not None:
            try:
                self._worker.join()
            except BaseException:
                self.writer.abort()
                raise
        self.writer.finish()

    def close(self) -> Path | None:
        """Finish the video; ``None`` if no frame was written."""
        self.finish()
        return self.writer.close()

    def abort(self) -> None:
        """Delete the partial video."""
        if self._worker is not None:
            self._worker.join(cancel=True)
        self.writer.abort()


class MotSink:
    """Writes the tracks as a MOTChallenge result file (Kalman boxes, frame numbers from 1)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.writer = MotWriter(path)

    @property
    def path(self) -> Path:
        """Final path of the results file."""
        return self.writer.path

    def write(self, result: FrameResultLike) -> None:
        """Append this frame's tracks."""
        tracks = result.tracks
        if not tracks:
            return
        self.writer.write_frame(
            result.frame_index,
            [t.track_id for t in tracks],
            np.array([t.tlwh for t in tracks]),
            [t.confidence for t in tracks],
        )

    def finish(self) -> None:
        """Write everything to the temporary file, without publishing it."""
        self.writer.finish()

    def close(self) -> Path:
        """Finish: the file appears at :attr:`path`."""
        return self.writer.close()

    def abort(self) -> None:
        """Discard the results."""
        self.writer.abort()


#: Columns of the track log (CSV header / JSON keys).
LOG_FIELDS: tuple[str, ...] = (
    "frame",
    "track_id",
    "x",
    "y",
    "w",
    "h",
    "class_id",
    "class_name",
    "confidence",
    "time_since_update",
)


class RunTotals(Protocol):
    """Totals a track log ends with, e.g. :class:`deepsort_lib.counting.Counters`."""

    def summary(self) -> list[str]: ...

    def to_dict(self) -> list[dict[str, object]]: ...


class TrackLogSink:
    """Writes one record per track per frame as JSON lines (``.jsonl``) or CSV (``.csv``).

    Fields: :data:`LOG_FIELDS`. Like the other sinks, the file appears only on :meth:`close`.

    Parameters
    ----------
    path
        ``.jsonl`` or ``.csv`` file.
    class_names
        Names by class id for the ``class_name`` field.
    totals
        Run totals (e.g. :class:`~deepsort_lib.counting.Counters`) that end the log once the
        run is complete: in JSON lines one last record ``{"counts": to_dict(), "summary":
        summary()}`` (it has no ``frame`` key); in CSV, ``#`` comment lines, one per summary
        line, then ``# counts: <the same JSON>`` (pandas reads the rows with
        ``comment="#"``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        class_names: Sequence[str] | None = None,
        totals: RunTotals | None = None,
    ) -> None:
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix not in (".jsonl", ".csv"):
            raise ConfigurationError(f"track log must end in .jsonl or .csv, got {target.name}")
        self.csv = suffix == ".csv"
        self.class_names = class_names
        self.totals = totals
        self._totals_written = False
        self._file = AtomicFile(target)
        if self.csv:
            self._file.write(_csv_line(LOG_FIELDS))

    @property
    def path(self) -> Path:
        """Final path of the log."""
        return self._file.target

    def write(self, result: FrameResultLike) -> None:
        """Append one record per track."""
        lines = []
        for t in result.tracks:
            name = (
                self.class_names[t.class_id]
                if self.class_names is not None and 0 <= t.class_id < len(self.class_names)
                else ""
            )
            x, y, w, h = (round(float(v), 2) for v in t.tlwh)
            values = (
                result.frame_index,
                t.track_id,
                x,
                y,
                w,
                h,
                t.class_id,
                name,
                round(float(t.confidence), 4),
                t.time_since_update,
            )
            if self.csv:
                lines.append(_csv_line(values))
            else:
                lines.append(json.dumps(dict(zip(LOG_FIELDS, values, strict=True))) + "\n")
        if lines:
            self._file.write("".join(lines))

    def _write_totals(self) -> None:
        if self.totals is None or self._totals_written:
            return
        self._totals_written = True
        counts = self.totals.to_dict()
        lines = self.totals.summary()
        if self.csv:
            text = "".join(f"# {line}\n" for line in lines)
            self._file.write(text + f"# counts: {json.dumps(counts)}\n")
        else:
            self._file.write(json.dumps({"counts": counts, "summary": lines}) + "\n")

    def finish(self) -> None:
        """Write everything (the totals last) to the temporary file, without publishing it."""
        self._write_totals()
        self._file.finish()

    def close(self) -> Path:
        """Finish: the file appears at :attr:`path`."""
        self._write_totals()
        return self._file.commit()

    def abort(self) -> None:
        """Discard the log."""
        self._file.abort()


def _csv_line(values: Sequence[object]) -> str:
    # The csv module quotes class names holding commas or quotes.
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def check_sink_paths(source: object, sinks: Sequence[Sink]) -> None:
    """Refuse sinks whose file is the source or another sink's (see io.atomic's rules).

    ``source`` is what the pipeline reads: a path, or an object with a ``path`` attribute.
    """
    outputs = {
        f"sink {i} ({type(sink).__name__})": getattr(sink, "path", None)
        for i, sink in enumerate(sinks)
    }
    where = source if isinstance(source, (str, os.PathLike)) else getattr(source, "path", None)
    check_output_paths(outputs, {"source": where})


def abort_sinks(sinks: Sequence[Sink]) -> None:
    """Abort every sink, even if one of them fails to (the first failure is re-raised)."""
    error: BaseException | None = None
    for sink in sinks:
        try:
            sink.abort()
        except BaseException as exc:  # keep cleaning up the others
            error = error or exc
    if error is not None:
        raise error


def close_sinks(sinks: Sequence[Sink]) -> None:
    """Publish every sink's output, or none: a failure aborts all that are not yet closed.

    Sinks with a ``finish()`` method write and check their temporary files first, for all
    sinks, so that the likely failures (a full disk, an incomplete video) happen before any
    output is renamed into place.
    """
    closed = 0
    try:
        for sink in sinks:
            finish = getattr(sink, "finish", None)
            if callable(finish):
                finish()
        for sink in sinks:
            sink.close()
            closed += 1
    except BaseException:
        try:
            abort_sinks(sinks[closed:])
        except BaseException:
            pass  # the first failure is the one to report
        raise


__all__ = [
    "LOG_FIELDS",
    "MotSink",
    "RunTotals",
    "Sink",
    "TrackLogSink",
    "VideoSink",
    "abort_sinks",
    "check_sink_paths",
    "close_sinks",
]
