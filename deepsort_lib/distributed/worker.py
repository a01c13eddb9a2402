"""What one worker does: track a span of frames of one source, as ``deepsort track`` would.

The detector, encoder and tracker are built by the ``deepsort track`` builders
(:mod:`deepsort_lib.run.build`) from the same options, and run through the same
:class:`~deepsort_lib.pipeline.Pipeline`, so a whole-source span gives exactly the rows the
single-process command writes. No Ray here: :mod:`deepsort_lib.distributed.ray` runs this
function as a task.

With a :class:`~deepsort_lib.distributed.models.ModelClient` (``models=``), the span keeps only
the tracker (and camera-motion estimation) here: it reads its frames, sends the frames to
detect in batches of ``batch_frames`` to the models (a few batches ahead, so that the models
work while this task tracks), and gives the tracker the detections that come back through the
same :class:`~deepsort_lib.pipeline.Pipeline` loop, fed as a detection cache. The models
compute what the task's own pipeline would, so the rows are the same.
"""

from __future__ import annotations

import argparse
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

import numpy as np

from deepsort_lib.boxes import Detections
from deepsort_lib.distributed.models import ModelClient, filter_detections
from deepsort_lib.distributed.results import ChunkTracks, TrackCollector
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.run.build import (
    PUBLIC,
    build_detector,
    build_pipeline,
    build_tracker,
    camera_motion,
    detector_choice,
)
from deepsort_lib.run.options import track_options

#: Frames per batch sent to the models, and batches in flight per task.
BATCH_FRAMES = 4
IN_FLIGHT = 2


def _span(
    frames: Iterable[tuple[int, Any]], start: int, stop: int | None
) -> Iterator[tuple[int, Any]]:
    """The frames numbered ``start..stop`` (decoding, and dropping, the ones before)."""
    for number, frame in frames:
        if number < start:
            continue
        if stop is not None and number > stop:
            return
        yield number, frame


def model_choice(options: argparse.Namespace, source: Any) -> str | None:
    """The detector choice whose models tracking ``source`` needs, or ``None`` if it needs none.

    A MOTChallenge sequence tracked on its public detections needs no model when they carry
    features or there is no encoder: its tasks never use a model pool.
    """
    choice = detector_choice(options, source)
    if choice != PUBLIC:
        return choice
    cache = getattr(source, "detections", None)
    if options.encoder == "none" or getattr(cache, "feature_dim", None) is not None:
        return None
    return choice


def track_span(
    options: argparse.Namespace,
    source: str,
    start: int = 1,
    stop: int | None = None,
    *,
    feature_frames: tuple[tuple[int, int], ...] | None = (),
    models: ModelClient | None = None,
    batch_frames: int = BATCH_FRAMES,
    in_flight: int = IN_FLIGHT,
) -> ChunkTracks:
    """Track frames ``start..stop`` of ``source`` with a fresh tracker.

    Parameters
    ----------
    options
        ``deepsort track`` options (:func:`track_options`); ``max_frames`` ends the source
        there, as in the command.
    source
        A video file, image folder or MOTChallenge sequence path.
    start, stop
        The span (1-based, inclusive; ``stop=None``: to the end).
    feature_frames
        Frame ranges whose rows keep their appearance features (the overlaps, for
        stitching); other rows get zeros. ``None`` keeps every feature; ``()`` none.
    models
        Where the detector and encoder run (e.g. a Ray actor pool); ``None``: built here.
        Sources that need no model (:func:`model_choice`) ignore it.
    batch_frames, in_flight
        With ``models``: frames per batch sent, and batches sent ahead of the tracker.

    Returns
    -------
    ChunkTracks
    """
    from deepsort_lib.io.video import MotSequenceSource, open_source

    last = stop
    if options.max_frames is not None:
        last = options.max_frames if last is None else min(last, options.max_frames)
    collector = TrackCollector()
    if batch_frames < 1 or in_flight < 1:
        raise ConfigurationError("batch_frames and in_flight must be >= 1")
    with open_source(source) as opened:
        choice = None if models is None else model_choice(options, opened)
        if models is not None and choice is not None:
            _track_served(
                options, opened, choice, models, start, last, collector, batch_frames, in_flight
            )
            return _keep_features(collector.result(), feature_frames)
        pipeline = build_pipeline(options, opened)
        cache: Any = None
        if pipeline.detector is None and isinstance(opened, MotSequenceSource):
            cache = opened.detections  # public detections, as deepsort track uses them
        needs_frames = pipeline.camera_motion is not None or (
            pipeline.encoder is not None and getattr(cache, "feature_dim", None) is None
        )
        frames: Any
        if cache is not None and not needs_frames:
            end = len(cache) if last is None else min(last, len(cache))
            cache = {n: cache[n] for n in range(start, end + 1)}
            frames = None  # nothing needs pixels: no decoding, as in deepsort track
            if not cache:
                return collector.result()
        else:
            frames = _span(opened, start, last)
        for result in pipeline.run(frames, cache=cache):
            collector.add(result.frame_index, result.tracks, result.detections)
    return _keep_features(collector.result(), feature_frames)


def _keep_features(
    tracks: ChunkTracks, feature_frames: tuple[tuple[int, int], ...] | None
) -> ChunkTracks:
    if feature_frames is None or tracks.features is None:
        return tracks
    keep = np.zeros(len(tracks.rows), np.bool_)
    for first, final in feature_frames:
        keep |= (tracks.rows.frames >= first) & (tracks.rows.frames <= final)
    if not keep.any():
        return ChunkTracks(tracks.rows)
    features = np.where(keep[:, None], tracks.features, np.float32(0.0)).astype(np.float32)
    return ChunkTracks(tracks.rows, features)


class _OneShot(Mapping[int, Detections]):
    """Detections the models returned, each handed out once (the pipeline asks once a frame)."""

    def __init__(self) -> None:
        self.received: dict[int, Detections] = {}

    def __getitem__(self, number: int) -> Detections:
        return self.received[number]

    def __iter__(self) -> Iterator[int]:
        return iter(self.received)

    def __len__(self) -> int:
        return len(self.received)

    def get(self, number: int, default: Any = None) -> Any:  # type: ignore[override]
        return self.received.pop(number, default)


def _served_frames(
    frames: Iterable[tuple[int, Any]],
    send: Callable[[list[tuple[int, Any]]], Any],
    receive: Callable[[Any, list[int]], None],
    detect_every: int,
    batch_frames: int,
    in_flight: int,
) -> Iterator[tuple[int, Any]]:
    """Yield ``frames`` once the detections of each batch are in; keep batches in flight.

    The frames to detect are those the pipeline detects on (one in ``detect_every``, counting
    from the span's first frame, as :meth:`Pipeline.run` counts).
    """
    source = iter(frames)
    pending: deque[tuple[Any, list[int], list[tuple[int, Any]]]] = deque()
    count = 0
    done = False
    while True:
        while not done and len(pending) < in_flight:
            group = list(islice(source, batch_frames))
            if not group:
                done = True
                break
            chosen = [item for k, item in enumerate(group, count) if k % detect_every == 0]
            count += len(group)
            handle = send(chosen) if chosen else None
            pending.append((handle, [n for n, _ in chosen], group))
        if not pending:
            return
        handle, numbers, group = pending.popleft()
        if handle is not None:
            receive(handle, numbers)
        yield from group


def _track_served(
    options: argparse.Namespace,
    opened: Any,
    choice: str,
    models: ModelClient,
    start: int,
    last: int | None,
    collector: TrackCollector,
    batch_frames: int,
    in_flight: int,
) -> None:
    """The span with the models elsewhere: the same Pipeline loop, fed the served detections."""
    from deepsort_lib.pipeline import Pipeline

    public: Any = None
    classes = None
    if choice == PUBLIC:
        public = opened.detections
        _none, keep, _names = build_detector(options, opened)  # no model: the class ids
        classes = None if keep is None else np.asarray(sorted(keep), np.int64)
    served = _OneShot()

    def send(chosen: list[tuple[int, Any]]) -> Any:
        given = None
        if public is not None:
            given = [
                filter_detections(public.get(n, Detections.empty()), options.min_score, classes)
                for n, _ in chosen
            ]
        return models.submit([frame for _, frame in chosen], given, choice)

    def receive(handle: Any, numbers: list[int]) -> None:
        found = models.result(handle)
        if len(found) != len(numbers):
            raise ConfigurationError(
                f"the models returned {len(found)} results for {len(numbers)} frames"
            )
        served.received.update(zip(numbers, found, strict=True))

    pipeline = Pipeline(
        None,
        build_tracker(options),
        None,
        detect_every=options.detect_every,
        min_score=options.min_score,
        camera_motion=camera_motion(options),
        prefetch=0,  # _served_frames reads ahead already
    )
    frames = _served_frames(
        _span(opened, start, last), send, receive, options.detect_every, batch_frames, in_flight
    )
    for result in pipeline.run(frames, cache=served):
        collector.add(result.frame_index, result.tracks, result.detections)


__all__ = [
    "BATCH_FRAMES",
    "IN_FLIGHT",
    "model_choice",
    "track_options",
    "track_span",
]
