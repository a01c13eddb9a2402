"""The per-stream options of ``deepsort track`` over a batch of streams (one step at a time).

:class:`~deepsort_lib.streams.pipeline.MultiStreamPipeline` runs one detector and one encoder
over every stream. ``deepsort track A B ...`` promises each stream the output a lone
``deepsort track A`` would give, with all of its options, some of which are per source: a
MOTChallenge sequence tracks from its public detections while a video runs the detector,
``--classes`` maps to different ids per detector, ``--detect-every`` counts each stream's own
frames and ``--camera-motion`` keeps one estimator per stream. :class:`StreamSteps` is that
pipeline: what :class:`~deepsort_lib.pipeline.Pipeline` does to one stream, done to a batch of
streams, with the detector and encoder called once per batch.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.pipeline import FrameResult, StageTimings
from deepsort_lib.streams.batching import CrossStreamEncoder, detect_frames
from deepsort_lib.streams.tracker import MultiStreamTracker, StreamFrame

StreamId = Hashable


@dataclass
class StreamPlan:
    """How one stream is tracked.

    Attributes
    ----------
    public
        Detections by frame number (a MOTChallenge sequence's ``det/det.txt``): the detector
        is not run on this stream. ``None``: run the detector.
    classes
        Class ids kept (``None``: all).
    camera_motion
        This stream's own camera-motion estimator (it remembers the previous frame), or None.
    reentry
        A :class:`~deepsort_lib.tracking.reentry.ReentryTracker` over this stream's tracker
        (its own memory), which turns the tracker's ids into persistent ones after every step;
        ``None``: the tracker's ids.
    """

    public: Mapping[int, Detections] | None = None
    classes: Collection[int] | None = None
    camera_motion: Any = None
    reentry: Any = None
    frames: int = field(default=0, init=False)


class StreamSteps:
    """Detector, encoder and per-stream trackers, with the single-source options per stream.

    Parameters
    ----------
    detector
        Run on the frames of the streams without public detections (``None`` when every
        stream has them).
    encoder
        Optional encoder, run once over the crops of every stream whose detections have no
        features yet.
    tracker
        The streams' trackers (each added with :meth:`MultiStreamTracker.add_stream`).
    plans
        Stream id -> its :class:`StreamPlan`.
    detect_every
        Run the detector (or read public detections) on each stream's every N-th frame; the
        tracker only predicts in between.
    min_score
        Drop detections scoring below it.
    """

    def __init__(
        self,
        detector: Any,
        encoder: Any,
        tracker: MultiStreamTracker,
        plans: Mapping[StreamId, StreamPlan],
        *,
        detect_every: int = 1,
        min_score: float = 0.0,
    ) -> None:
        if int(detect_every) != detect_every or detect_every < 1:
            raise ConfigurationError(f"detect_every must be an integer >= 1, got {detect_every}")
        if detector is None and any(p.public is None for p in plans.values()):
            raise ConfigurationError("a stream without public detections needs a detector")
        self.detector = detector
        self.encoder = None if encoder is None else CrossStreamEncoder(encoder)
        self.tracker = tracker
        self.plans = dict(plans)
        self.detect_every = int(detect_every)
        self.min_score = float(min_score)

    def _filter(self, detections: Detections, plan: StreamPlan) -> Detections:
        keep = detections.scores >= self.min_score
        if plan.classes is not None:
            keep &= np.isin(detections.class_ids, np.asarray(sorted(plan.classes), np.int64))
        return detections if bool(keep.all()) else detections[keep]

    def step(
        self,
        frames: Sequence[tuple[StreamId, int, Any]],
        *,
        reset: Collection[StreamId] = (),
        decode_seconds: Sequence[float] | None = None,
    ) -> dict[StreamId, FrameResult]:
        """One batch, at most one frame per stream (as ``MultiStreamPipeline.step``)."""
        if decode_seconds is not None and len(decode_seconds) != len(frames):
            raise InvalidInputError("decode_seconds must have one value per frame")
        plans = [self.plans[sid] for sid, _, _ in frames]
        detected = [plan.frames % self.detect_every == 0 for plan in plans]
        found: list[Detections | None] = [None] * len(frames)
        start = time.perf_counter()
        # The detector runs once over the frames of every stream it has to detect on.
        run = [i for i, plan in enumerate(plans) if detected[i] and plan.public is None]
        if run:
            images = [frames[i][2] for i in run]
            for i, got in zip(run, detect_frames(self.detector, images), strict=True):
                found[i] = got
        for i, (plan, (_, index, _)) in enumerate(zip(plans, frames, strict=True)):
            if detected[i] and plan.public is not None:
                found[i] = plan.public.get(int(index), Detections.empty())
        kept = [
            None if dets is None else self._filter(dets, plan)
            for dets, plan in zip(found, plans, strict=True)
        ]
        detect_s = time.perf_counter() - start
        start = time.perf_counter()
        if self.encoder is not None:
            todo = [i for i, d in enumerate(kept) if d is not None and d.features is None]
            if todo:
                thresholds = [self._threshold(frames[i][0]) for i in todo]
                encoded = self.encoder.encode(
                    [frames[i][2] for i in todo],
                    [kept[i] for i in todo],  # type: ignore[misc]
                    min_score=thresholds,
                )
                for i, with_features in zip(todo, encoded, strict=True):
                    kept[i] = with_features
        encode_s = time.perf_counter() - start
        start = time.perf_counter()
        batch = []
        for (sid, index, image), dets, plan in zip(frames, kept, plans, strict=True):
            motion = None
            if dets is not None and plan.camera_motion is not None:
                motion = plan.camera_motion.estimate(image, dets.tlwh)
            batch.append(StreamFrame(sid, index, dets, reset=sid in reset, camera_motion=motion))
        tracks: dict[StreamId, list[Any]] = dict(self.tracker.update(batch))
        for (sid, _, _), dets, plan in zip(frames, kept, plans, strict=True):
            if plan.reentry is not None:  # persistent ids, as Pipeline with a ReentryTracker
                tracks[sid] = plan.reentry.observe(
                    tracks[sid], None if dets is None else dets.features
                )
        track_s = time.perf_counter() - start
        n = len(frames)
        waits = decode_seconds if decode_seconds is not None else [0.0] * n
        results: dict[StreamId, FrameResult] = {}
        for (sid, index, image), dets, plan, wait, det in zip(
            frames, kept, plans, waits, detected, strict=True
        ):
            plan.frames += 1
            timings = StageTimings(float(wait), detect_s / n, encode_s / n, track_s / n)
            shown = dets if dets is not None else Detections.empty()
            results[sid] = FrameResult(int(index), image, shown, tracks[sid], timings, det)
        return results

    def _threshold(self, stream_id: StreamId) -> float | None:
        # As Pipeline(encode_min_score="auto"): the tracker matches lower boxes on IoU only.
        return self.tracker.tracker(stream_id).min_appearance_score


__all__ = ["StreamPlan", "StreamSteps"]
