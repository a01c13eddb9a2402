"""What one worker does: track a span of frames of one source, as ``deepsort track`` would.

The detector, encoder and tracker are built by the ``deepsort track`` builders
(:mod:`deepsort_lib.cli.track_build`) from the same options, and run through the same
:class:`~deepsort_lib.pipeline.Pipeline`, so a whole-source span gives exactly the rows the
single-process command writes. No Ray here: :mod:`deepsort_lib.distributed.ray` runs this
function as a task.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from deepsort_lib.distributed.chunks import ChunkTracks, TrackCollector
from deepsort_lib.errors import ConfigurationError


def track_options(**overrides: Any) -> argparse.Namespace:
    """The options of ``deepsort track`` with their defaults, changed by ``overrides``.

    Parsed by the command's own parser, so the defaults are always the command's. Keys are
    the option names with ``_`` for ``-`` (``detector="hog"``, ``max_age=60``).

    Raises
    ------
    ConfigurationError
        For a key that is not an option of ``deepsort track``.
    """
    from deepsort_lib.cli import track

    parser = argparse.ArgumentParser()
    track.register(parser.add_subparsers())
    args = parser.parse_args(["track", "SOURCE"])
    unknown = sorted(set(overrides) - set(vars(args)))
    if unknown:
        raise ConfigurationError(f"not options of deepsort track: {', '.join(unknown)}")
    for key, value in overrides.items():
        setattr(args, key, value)
    return args


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


def build_pipeline(options: argparse.Namespace, source: Any) -> Any:
    """The :class:`~deepsort_lib.pipeline.Pipeline` ``deepsort track`` builds for ``source``."""
    from deepsort_lib.cli.track_build import build_detector, build_encoder, build_tracker
    from deepsort_lib.pipeline import Pipeline

    detector, keep, _names = build_detector(options, source)
    encoder = build_encoder(options)
    tracker = build_tracker(options)
    motion = None
    if options.camera_motion != "none":
        from deepsort_lib.models.camera_motion import CameraMotionEstimator

        motion = CameraMotionEstimator(method=options.camera_motion)
    return Pipeline(
        detector,
        tracker,
        encoder,
        detect_every=options.detect_every,
        min_score=options.min_score,
        classes=keep,
        camera_motion=motion,
    )


def track_span(
    options: argparse.Namespace,
    source: str,
    start: int = 1,
    stop: int | None = None,
    *,
    feature_frames: tuple[tuple[int, int], ...] | None = (),
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

    Returns
    -------
    ChunkTracks
    """
    from deepsort_lib.io.video import MotSequenceSource, open_source

    last = stop
    if options.max_frames is not None:
        last = options.max_frames if last is None else min(last, options.max_frames)
    collector = TrackCollector()
    with open_source(source) as opened:
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
    tracks = collector.result()
    if feature_frames is None or tracks.features is None:
        return tracks
    keep = np.zeros(len(tracks.rows), np.bool_)
    for first, final in feature_frames:
        keep |= (tracks.rows.frames >= first) & (tracks.rows.frames <= final)
    if not keep.any():
        return ChunkTracks(tracks.rows)
    features = np.where(keep[:, None], tracks.features, np.float32(0.0)).astype(np.float32)
    return ChunkTracks(tracks.rows, features)


__all__ = ["build_pipeline", "track_options", "track_span"]
