"""Many streams, one call: per-stream Deep SORT trackers advanced by one batched ``update``.

The shape follows NVIDIA DeepStream's low-level tracker API (``NvMOT_Process``): the caller
hands over a *batch* of frames, each tagged with its stream, its frame number (or timestamp)
and a reset flag, and gets the tracks of every stream back. State stays per stream: every
stream owns an ordinary :class:`~deepsort_lib.tracking.tracker.Tracker`, so one stream's
output is exactly what a lone ``Tracker`` fed the same detections would give. The work is
shared: the streams of a batch advance together in one pass over all their track tables
(:mod:`deepsort_lib.streams.batched`, as DeepStream's batched tracker), and the models batch
across streams (:mod:`deepsort_lib.streams.batching`).

Track ids are unique per stream by default (each stream's tracker counts from 1). With
``global_ids=True`` every ``(stream, local id)`` pair is mapped to an id unique across all
streams by a :class:`GlobalIdAllocator`: ids are handed out in order of first appearance and
never reused, even after a stream is removed or reset.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.streams.batched import advance_trackers, can_batch
from deepsort_lib.streams.global_ids import GlobalIdAllocator, StreamId
from deepsort_lib.streams.state import (
    MultistreamParts,
    StreamSlot,
    multistream_state,
    read_multistream,
)
from deepsort_lib.tracking.camera import as_affine
from deepsort_lib.tracking.track import Track
from deepsort_lib.tracking.tracker import Tracker, TrackerConfig

GapPolicy = Literal["ignore", "predict"]


@dataclass(frozen=True, eq=False)
class StreamFrame:
    """One stream's frame in a batch (DeepStream's ``NvMOTFrame``).

    Attributes
    ----------
    stream_id
        Any hashable naming the stream (an int, a camera name, a URL).
    frame_index
        Frame number (int) or timestamp (float, seconds); must increase strictly within a
        stream. Integer numbers let the tracker see skipped frames (``on_gap="predict"``).
    detections
        The frame's :class:`~deepsort_lib.boxes.Detections`, or ``None`` when the detector did
        not run on this frame (the stream's tracker only predicts, as ``Tracker.predict``).
    features
        Optional ``(N, D)`` appearance features; they replace those carried by ``detections``.
    reset
        Forget the stream's tracks before this frame (a new clip, a camera that reconnected).
        Track ids keep counting up: an id is never reused within a stream.
    camera_motion
        Optional ``(2, 3)`` affine map from the previous frame to this one, passed to
        ``Tracker.update(..., camera_motion=)``.
    """

    stream_id: StreamId
    frame_index: int | float
    detections: Detections | None
    features: ArrayLike | None = None
    reset: bool = False
    camera_motion: ArrayLike | None = None


FrameLike = StreamFrame | tuple[Any, ...]


class MultiStreamTracker:
    """Advances many independent streams with one :meth:`update` per batch of frames.

    Parameters
    ----------
    config
        Tracker settings for streams added without their own (default: the original Deep
        SORT's). Keyword ``overrides`` apply on top, as in ``Tracker(config, **overrides)``.
    preset
        Name from :data:`~deepsort_lib.tracking.tracker.PRESETS` instead of ``config``.
    auto_add
        Add a stream with the default settings the first time a batch names it. When
        ``False`` a batch naming an unknown stream is rejected: add streams with
        :meth:`add_stream` first.
    global_ids
        Report track ids unique across all streams (see :class:`GlobalIdAllocator`) instead
        of the per-stream ids each tracker counts from 1.
    on_gap
        What a stream does when its integer frame number jumps by more than one:
        ``"ignore"`` (default) updates as if the frames were consecutive, exactly like a lone
        ``Tracker`` given the same calls; ``"predict"`` first runs ``Tracker.predict()`` once
        per missing frame (capped at ``max_age``), so the Kalman motion spans the real time.
    batched
        Advance the streams of a batch together, in one pass over all their tracks
        (:mod:`deepsort_lib.streams.batched`; default). ``False`` runs each stream's
        ``Tracker.update`` in turn. Both give the same tracks; batched is faster from a few
        streams on.
    **overrides
        Any :class:`~deepsort_lib.tracking.tracker.TrackerConfig` field.

    Notes
    -----
    A batch is checked whole before any stream changes: an unknown stream (with
    ``auto_add=False``), the same stream twice, a frame number that does not increase, or
    detections that are not a :class:`~deepsort_lib.boxes.Detections` raise
    :class:`~deepsort_lib.errors.InvalidInputError` and leave every stream as it was. Streams
    absent from a batch are not touched (no prediction, no miss). Not thread-safe: call it
    from one thread (decoding can run on many, see :mod:`deepsort_lib.streams.runner`).

    Examples
    --------
    >>> from deepsort_lib import Detections
    >>> from deepsort_lib.streams import MultiStreamTracker, StreamFrame
    >>> mst = MultiStreamTracker(n_init=1)
    >>> out = mst.update([
    ...     StreamFrame("cam-a", 1, Detections.from_tlwh([[10, 20, 30, 60]])),
    ...     StreamFrame("cam-b", 1, Detections.from_tlwh([[50, 20, 30, 60]])),
    ... ])
    >>> {k: [t.track_id for t in v] for k, v in out.items()}
    {'cam-a': [1], 'cam-b': [1]}
    """

    def __init__(
        self,
        config: TrackerConfig | None = None,
        *,
        preset: str | None = None,
        auto_add: bool = True,
        global_ids: bool = False,
        on_gap: GapPolicy = "ignore",
        batched: bool = True,
        **overrides: Any,
    ) -> None:
        if on_gap not in ("ignore", "predict"):
            raise ConfigurationError(f"on_gap must be 'ignore' or 'predict', got {on_gap!r}")
        self.default_config = _make_config(config, preset, overrides)
        self.auto_add = bool(auto_add)
        self.on_gap: GapPolicy = on_gap
        self.ids: GlobalIdAllocator | None = GlobalIdAllocator() if global_ids else None
        #: Fewest streams of a batch advanced by the batched engine (streams/batched.py);
        #: below it each stream's tracker runs its own ``update`` (same output either way).
        self.min_batch: int | float = 2 if batched else math.inf
        self._streams: dict[StreamId, StreamSlot] = {}

    # -- streams ---------------------------------------------------------------------------

    def add_stream(
        self,
        stream_id: StreamId,
        config: TrackerConfig | None = None,
        *,
        preset: str | None = None,
        tracker: Tracker | None = None,
        **overrides: Any,
    ) -> Tracker:
        """Start tracking a new stream; returns its tracker.

        Parameters
        ----------
        stream_id
            Any hashable not already in use.
        config, preset, overrides
            The stream's own settings (default: the multi-stream tracker's).
        tracker
            A ready tracker to use as is (e.g. one restored from a saved state).

        Raises
        ------
        ConfigurationError
            If the id is taken or not hashable, or the settings are invalid.
        """
        _check_hashable(stream_id)
        if stream_id in self._streams:
            raise ConfigurationError(f"stream {stream_id!r} already exists")
        if tracker is not None:
            if config is not None or preset is not None or overrides:
                raise ConfigurationError("give either a tracker or settings, not both")
            if not isinstance(tracker, Tracker):
                raise ConfigurationError(f"tracker must be a Tracker, got {type(tracker)}")
            own = tracker
        elif config is None and preset is None and not overrides:
            own = Tracker(self.default_config)
        else:
            own = Tracker(_make_config(config, preset, overrides))
        self._streams[stream_id] = StreamSlot(own)
        return own

    def remove_stream(self, stream_id: StreamId) -> None:
        """Stop tracking a stream and free its state (its global ids are never reused).

        Raises
        ------
        ConfigurationError
            If there is no such stream.
        """
        self._get(stream_id)
        del self._streams[stream_id]
        if self.ids is not None:
            self.ids.forget_stream(stream_id)

    def reset_stream(self, stream_id: StreamId) -> None:
        """Forget a stream's tracks and frame numbering; ids keep counting up.

        Raises
        ------
        ConfigurationError
            If there is no such stream.
        """
        stream = self._get(stream_id)
        stream.tracker.reset()
        # The feature length is kept: the tracker's appearance model keeps it too.
        stream.last_index = None
        if self.ids is not None:
            self.ids.forget_stream(stream_id)
            stream.pairs_at_prune = 0

    def tracker(self, stream_id: StreamId) -> Tracker:
        """The tracker of one stream (read it, do not update it directly)."""
        return self._get(stream_id).tracker

    @property
    def stream_ids(self) -> list[StreamId]:
        """The streams, in the order they were added."""
        return list(self._streams)

    def __contains__(self, stream_id: object) -> bool:
        try:
            return stream_id in self._streams
        except TypeError:
            return False

    def __len__(self) -> int:
        return len(self._streams)

    def __iter__(self) -> Iterator[StreamId]:
        return iter(list(self._streams))

    def last_frame_index(self, stream_id: StreamId) -> int | float | None:
        """Frame number of the stream's last update (``None`` before its first)."""
        return self._get(stream_id).last_index

    # -- saved state (layout in streams/state.py) -----------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Every stream's tracker, frame numbering and the global ids, as plain data.

        :meth:`from_state` in any process continues bit-identically; write it to a file with
        :func:`deepsort_lib.io.state.save_state`.

        Raises
        ------
        StateError
            If a stream id is not a ``str``, ``int``, ``float`` or tuple of them.
        """
        return multistream_state(
            MultistreamParts(
                self.default_config, self.auto_add, self.on_gap, self.ids, self._streams
            )
        )

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> MultiStreamTracker:
        """A multi-stream tracker continuing from :meth:`state_dict`'s output.

        Raises
        ------
        StateError
            If the state is corrupt, of another format or from an unsupported version.
        """
        parts = read_multistream(state)
        on_gap: GapPolicy = "predict" if parts.on_gap == "predict" else "ignore"
        out = cls(parts.default_config, auto_add=parts.auto_add, on_gap=on_gap)
        out.ids = parts.ids
        out._streams = parts.streams
        return out

    # -- tracking --------------------------------------------------------------------------

    def update(self, batch: Iterable[FrameLike]) -> dict[StreamId, list[Track]]:
        """Advance every stream named in ``batch`` by one frame.

        Parameters
        ----------
        batch
            :class:`StreamFrame` entries, or tuples ``(stream_id, frame_index, detections[,
            features])``. At most one entry per stream.

        Returns
        -------
        dict
            Stream id -> the tracks that stream's tracker reported for its frame, in batch
            order (with ``global_ids``, ``track_id`` is the global id).

        Raises
        ------
        InvalidInputError
            If any entry is malformed (see the class notes); no stream has changed.
        """
        entries = [_as_frame(item) for item in batch]
        plans = self._check(entries)
        # Everything above only read state; from here on streams move.
        slots = [
            self._prepare(entry, index) for entry, (index, _) in zip(entries, plans, strict=True)
        ]
        # Streams whose tracker the batched engine stands in for advance together (one pass
        # over all their tracks, streams/batched.py); the others one by one.
        together = []
        shared: set[int] = set()  # one tracker given to two streams advances twice, in turn
        for i, ((_, dets), slot) in enumerate(zip(plans, slots, strict=True)):
            if dets is not None and can_batch(slot.tracker) and id(slot.tracker) not in shared:
                shared.add(id(slot.tracker))
                together.append(i)
        if len(together) < self.min_batch:
            together = []
        frames = [plans[i][1] for i in together]
        with ExitStack() as held:
            for i in together:  # as each tracker's own update would (ConcurrentUseError)
                held.enter_context(slots[i].tracker.exclusive())
            batched = advance_trackers(
                [slots[i].tracker for i in together],
                [f for f in frames if f is not None],
                [_affine(entries[i].camera_motion) for i in together],
            )
        done = dict(zip(together, batched, strict=True))
        out: dict[StreamId, list[Track]] = {}
        for i, (entry, (index, detections)) in enumerate(zip(entries, plans, strict=True)):
            slot = slots[i]
            if i in done:
                tracks = done[i]
            elif detections is None:
                tracks = slot.tracker.predict()
            else:
                tracks = slot.tracker.update(detections, camera_motion=entry.camera_motion)
            out[entry.stream_id] = self._finish(entry.stream_id, slot, index, detections, tracks)
        return out

    def _check(self, entries: Sequence[StreamFrame]) -> list[tuple[int | float, Detections | None]]:
        seen: set[StreamId] = set()
        plans: list[tuple[int | float, Detections | None]] = []
        for entry in entries:
            sid = entry.stream_id
            _check_hashable(sid, InvalidInputError)
            if sid in seen:
                raise InvalidInputError(f"stream {sid!r} appears twice in one batch")
            seen.add(sid)
            stream = self._streams.get(sid)
            if stream is None and not self.auto_add:
                raise InvalidInputError(f"unknown stream {sid!r}: add it with add_stream() first")
            index = _check_index(sid, entry.frame_index)
            last = None if stream is None or entry.reset else stream.last_index
            if last is not None and not index > last:
                raise InvalidInputError(
                    f"stream {sid!r}: frame {index} does not come after frame {last}"
                )
            _check_camera_motion(sid, entry.camera_motion)
            dets = entry.detections
            if dets is None:
                if entry.features is not None or entry.camera_motion is not None:
                    raise InvalidInputError(
                        f"stream {sid!r}: features or camera motion given without detections"
                    )
                plans.append((index, None))
                continue
            if not isinstance(dets, Detections):
                raise InvalidInputError(
                    f"stream {sid!r}: detections must be a Detections (build one with "
                    f"Detections.from_tlwh or Detections.from_xyxy), got {type(dets).__name__}"
                )
            if entry.features is not None:
                dets = dets.with_features(entry.features)
            config = self.default_config if stream is None else stream.tracker.config
            limit = getattr(config, "max_detections", None)  # the tracker's cap, when it has one
            if limit is not None and len(dets) > limit:
                raise InvalidInputError(
                    f"stream {sid!r}: {len(dets)} detections, more than max_detections={limit}"
                )
            known = None if stream is None else stream.feature_dim
            if stream is not None and known is None:
                known = stream.tracker.appearance_model.dim  # e.g. a restored tracker
            if dets.feature_dim is not None and known is not None and dets.feature_dim != known:
                raise InvalidInputError(
                    f"stream {sid!r}: features have dimension {dets.feature_dim} but its tracks "
                    f"use {known}"
                )
            plans.append((index, dets))
        return plans

    def _prepare(self, entry: StreamFrame, index: int | float) -> StreamSlot:
        # Add or reset the stream, and predict over skipped frames (on_gap="predict").
        sid = entry.stream_id
        stream = self._streams.get(sid)
        if stream is None:
            self.add_stream(sid)
            stream = self._streams[sid]
        elif entry.reset:
            self.reset_stream(sid)
        tracker = stream.tracker
        last = stream.last_index
        if self.on_gap == "predict" and isinstance(last, int) and isinstance(index, int):
            for _ in range(min(max(index - last - 1, 0), tracker.config.max_age)):
                tracker.predict()
        return stream

    def _finish(
        self,
        sid: StreamId,
        stream: StreamSlot,
        index: int | float,
        detections: Detections | None,
        tracks: list[Track],
    ) -> list[Track]:
        if detections is not None and detections.feature_dim is not None:
            stream.feature_dim = detections.feature_dim
        stream.last_index = index
        stream.frames += 1
        if self.ids is None:
            return tracks
        return self._globalise(sid, stream, tracks)

    def _globalise(self, sid: StreamId, stream: StreamSlot, tracks: list[Track]) -> list[Track]:
        ids = self.ids
        assert ids is not None
        out = [replace(t, track_id=ids.global_id(sid, t.track_id)) for t in tracks]
        # Drop pairs of dead tracks once the table has doubled: amortised O(1) per frame.
        pairs = ids.pairs(sid)
        if pairs > 2 * stream.pairs_at_prune + 32:
            ids.prune(sid, (t.track_id for t in stream.tracker.tracks))
            stream.pairs_at_prune = ids.pairs(sid)
        return out

    def _get(self, stream_id: StreamId) -> StreamSlot:
        try:
            return self._streams[stream_id]
        except (KeyError, TypeError):
            raise ConfigurationError(f"no stream {stream_id!r}") from None


def _make_config(
    config: TrackerConfig | None, preset: str | None, overrides: Mapping[str, Any]
) -> TrackerConfig:
    if preset is not None:
        if config is not None:
            raise ConfigurationError("give either a config or a preset, not both")
        return Tracker.from_preset(preset, **overrides).config
    return Tracker(config, **overrides).config


def _check_hashable(stream_id: object, error: type[Exception] = ConfigurationError) -> None:
    try:
        hash(stream_id)
    except TypeError:
        raise error(f"stream ids must be hashable, got {type(stream_id).__name__}") from None


def _check_index(stream_id: StreamId, index: object) -> int | float:
    if isinstance(index, (bool, np.bool_)) or not isinstance(
        index, (int, float, np.integer, np.floating)
    ):
        raise InvalidInputError(
            f"stream {stream_id!r}: frame_index must be an int or a float timestamp, "
            f"got {type(index).__name__}"
        )
    if isinstance(index, (int, np.integer)):
        return int(index)
    if not math.isfinite(index):
        raise InvalidInputError(f"stream {stream_id!r}: frame_index must be finite")
    return float(index)


def _check_camera_motion(stream_id: StreamId, camera_motion: ArrayLike | None) -> None:
    if camera_motion is not None:
        try:
            as_affine(camera_motion)
        except InvalidInputError as exc:
            raise InvalidInputError(f"stream {stream_id!r}: {exc}") from None


def _affine(camera_motion: ArrayLike | None) -> NDArray[np.float64] | None:
    return None if camera_motion is None else as_affine(camera_motion)


def _as_frame(item: FrameLike) -> StreamFrame:
    if isinstance(item, StreamFrame):
        return item
    if isinstance(item, tuple) and len(item) in (3, 4):
        return StreamFrame(*item)
    raise InvalidInputError(
        "a batch entry must be a StreamFrame or a (stream_id, frame_index, detections"
        f"[, features]) tuple, got {type(item).__name__}"
    )


__all__ = ["GlobalIdAllocator", "MultiStreamTracker", "StreamFrame"]
