"""One identity memory for all the streams of a :class:`MultiStreamTracker`.

:class:`SharedIdentityStreams` drives a :class:`~deepsort_lib.streams.tracker.MultiStreamTracker`
and gives each stream a :class:`~deepsort_lib.tracking.reentry.ReentryTracker` on one shared
:class:`~deepsort_lib.tracking.identity.IdentityMemory`. Every reported track then carries

* ``track_id``: a global, persistent id: it survives leaving and re-entering a camera and, after
  the memory's ``min_transit``, moving from one camera to another (by appearance only);
* ``local_id``: the stream's own id, exactly what the plain multi-stream tracker reports;
* ``camera``: the stream's name (``str(stream_id)``).

The streams' trackers are untouched: each stream's boxes and local ids are those of a plain
``MultiStreamTracker`` fed the same batches.

Every stream's wrapper feeds the shared memory's threshold calibration
(:mod:`deepsort_lib.tracking.calibration`), so it reflects all cameras' tracks. Across cameras
the memory learns each camera pair's colour cast from the people it links across the pair and
compares that pair's tracks with it taken off (:mod:`deepsort_lib.tracking.camera_cast`);
until a pair has its first links, it accepts up to the calibrated threshold plus a scalar
offset, never less than ``cross_camera_max_cosine_distance`` (see
:class:`~deepsort_lib.tracking.identity.IdentityMemory`;
benchmarks/results/reentry_families.md has the two-camera figures).

Clock: the memory's time unit is seconds when the streams' frame numbers are float timestamps
or when ``fps`` is given (integer frame numbers are divided by it), frame numbers otherwise.
All streams must share one clock for ``min_transit`` and ``retention`` to mean anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.streams.global_ids import StreamId
from deepsort_lib.streams.tracker import FrameLike, MultiStreamTracker, StreamFrame
from deepsort_lib.tracking.identity import IdentityMemory
from deepsort_lib.tracking.reentry import ReentryTrack, ReentryTracker


class SharedIdentityStreams:
    """A multi-stream tracker whose streams share one memory of lost identities.

    Parameters
    ----------
    streams
        The multi-stream tracker to drive (default: ``MultiStreamTracker()``). It must report
        per-stream ids (``global_ids=False``): the memory hands out the global ids.
    memory
        The shared identity memory (default: ``IdentityMemory()``, in the clock's unit).
    fps
        Frame rate of integer frame numbers: with it the clock is in seconds.
    recent, split_distance
        Passed to every stream's :class:`~deepsort_lib.tracking.reentry.ReentryTracker`.

    Notes
    -----
    Not thread-safe (as ``MultiStreamTracker``); the memory itself is. A batch is checked
    whole by the multi-stream tracker before any stream or identity changes.

    Examples
    --------
    >>> from deepsort_lib import Detections
    >>> from deepsort_lib.tracking.identity import IdentityMemory
    >>> shared = SharedIdentityStreams(
    ...     MultiStreamTracker(n_init=1), IdentityMemory(retention=60.0, min_transit=2.0), fps=25
    ... )
    >>> out = shared.update([("cam-a", 1, Detections.from_tlwh([[10, 20, 30, 60]]))])
    >>> [(t.track_id, t.camera, t.local_id) for t in out["cam-a"]]
    [(1, 'cam-a', 1)]
    """

    def __init__(
        self,
        streams: MultiStreamTracker | None = None,
        memory: IdentityMemory | None = None,
        *,
        fps: float | None = None,
        recent: int = 10,
        split_distance: float | None = 0.4,
    ) -> None:
        streams = streams if streams is not None else MultiStreamTracker()
        if streams.ids is not None:
            raise ConfigurationError(
                "SharedIdentityStreams hands out the global ids: use a MultiStreamTracker "
                "with global_ids=False"
            )
        if fps is not None and not (np.isfinite(fps) and fps > 0):
            raise ConfigurationError(f"fps must be positive, got {fps}")
        # Checks recent and split_distance once, before any stream exists.
        ReentryTracker(_NoTracker(), recent=recent, split_distance=split_distance)
        self.streams = streams
        self.memory = memory if memory is not None else IdentityMemory()
        self.fps = fps
        self._recent = int(recent)
        self._split = split_distance
        self._wrappers: dict[StreamId, ReentryTracker] = {}
        self._cameras: dict[str, StreamId] = {}

    def __len__(self) -> int:
        return len(self.streams)

    def __iter__(self) -> Iterator[StreamId]:
        return iter(self.streams)

    def reentry(self, stream_id: StreamId) -> ReentryTracker:
        """The re-entry wrapper of a stream (read it, do not update it directly)."""
        try:
            return self._wrappers[stream_id]
        except (KeyError, TypeError):
            raise ConfigurationError(f"no stream {stream_id!r}") from None

    def remove_stream(self, stream_id: StreamId) -> None:
        """Stop tracking a stream; identities it reported stay in the memory if they were
        lost, and its global ids are never reused."""
        self.streams.remove_stream(stream_id)
        wrapper = self._wrappers.pop(stream_id, None)
        if wrapper is not None:
            del self._cameras[wrapper.camera]

    def update(self, batch: Iterable[FrameLike]) -> dict[StreamId, list[ReentryTrack]]:
        """Advance every stream named in ``batch`` by one frame (as
        :meth:`MultiStreamTracker.update`), under global persistent ids.

        Returns
        -------
        dict
            Stream id -> its reported tracks as :class:`ReentryTrack` (``track_id`` global,
            ``local_id`` the stream's own, ``camera`` the stream's name).

        Raises
        ------
        InvalidInputError
            If any entry is malformed, or two stream ids have the same name (``str``); nothing
            has changed.
        """
        entries = [_as_frame(item) for item in batch]
        self._check_names(entries)
        tracks = self.streams.update(entries)
        out: dict[StreamId, list[ReentryTrack]] = {}
        for entry in entries:
            sid = entry.stream_id
            wrapper = self._wrappers.get(sid)
            if wrapper is None:
                wrapper = ReentryTracker(
                    self.streams.tracker(sid),
                    self.memory,
                    camera=str(sid),
                    recent=self._recent,
                    split_distance=self._split,
                )
                self._wrappers[sid] = wrapper
                self._cameras[wrapper.camera] = sid
            features = entry.features
            if features is None and entry.detections is not None:
                features = entry.detections.features
            out[sid] = wrapper.observe(
                tracks[sid], features, timestamp=self._clock(entry.frame_index)
            )
        return out

    def _clock(self, index: int | float) -> float:
        if isinstance(index, (int, np.integer)) and self.fps is not None:
            return float(index) / self.fps
        return float(index)

    def _check_names(self, entries: list[StreamFrame]) -> None:
        names = dict(self._cameras)
        for entry in entries:
            try:
                name = str(entry.stream_id)
                owner = names.setdefault(name, entry.stream_id)
                clash = owner != entry.stream_id
            except TypeError:
                continue  # unhashable: the multi-stream tracker's check says so
            if clash:
                raise InvalidInputError(
                    f"streams {owner!r} and {entry.stream_id!r} have the same name {name!r}"
                )


class _NoTracker:
    def update(self, detections: Any) -> list[Any]:
        return []


def _as_frame(item: FrameLike) -> StreamFrame:
    if isinstance(item, tuple) and len(item) in (3, 4):
        return StreamFrame(*item)
    if not isinstance(item, StreamFrame):
        raise InvalidInputError(
            "a batch entry must be a StreamFrame or a (stream_id, frame_index, detections"
            f"[, features]) tuple, got {type(item).__name__}"
        )
    return item


__all__ = ["SharedIdentityStreams"]
