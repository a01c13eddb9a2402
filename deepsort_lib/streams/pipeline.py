"""One step of the multi-stream pipeline: a batch of frames from many streams in, tracks out.

``frames of every stream ─▶ detect_frames ─▶ filter ─▶ CrossStreamEncoder ─▶
MultiStreamTracker.update ─▶ one FrameResult per stream``

:class:`MultiStreamPipeline` does no I/O: the frames come from the caller (or from
:class:`~deepsort_lib.streams.runner.MultiSourceRunner`, which decodes each source on its own
thread) and each result is the same :class:`~deepsort_lib.results.FrameResult` the
single-stream :class:`~deepsort_lib.pipeline.Pipeline` yields, so the same sinks write it.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Hashable, Sequence

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.protocols import Detector, Encoder
from deepsort_lib.results import FrameResult, StageTimings
from deepsort_lib.streams.batching import CrossStreamEncoder, detect_frames
from deepsort_lib.streams.tracker import MultiStreamTracker, StreamFrame

Frame = NDArray[np.uint8]
StreamId = Hashable


class MultiStreamPipeline:
    """Detector → optional encoder → per-stream trackers, over batches of frames.

    Parameters
    ----------
    detector
        Any :class:`~deepsort_lib.protocols.Detector`; its ``detect_batch`` is used when it
        has one (one forward pass over the frames of every stream).
    encoder
        Optional :class:`~deepsort_lib.protocols.Encoder`, run once over the crops of every
        stream (see :class:`~deepsort_lib.streams.batching.CrossStreamEncoder`).
    tracker
        The :class:`~deepsort_lib.streams.tracker.MultiStreamTracker` (default: one with the
        original Deep SORT settings, adding streams as they appear).
    min_score, classes
        Drop detections scoring below ``min_score`` or of other classes, before encoding
        (as :class:`~deepsort_lib.pipeline.Pipeline`).
    encode_min_score
        Boxes scoring below this get zero features instead of a crop. ``"auto"``: per stream,
        its tracker's ``high_score_threshold`` (the tracker matches lower boxes on IoU only).
    max_batch
        Frames per detector forward pass (``None``: the whole batch).
    max_crops
        Crops per encoder call.
    """

    def __init__(
        self,
        detector: Detector,
        encoder: Encoder | None = None,
        tracker: MultiStreamTracker | None = None,
        *,
        min_score: float = 0.0,
        classes: Collection[int] | None = None,
        encode_min_score: float | str | None = "auto",
        max_batch: int | None = None,
        max_crops: int = 1024,
    ) -> None:
        if not callable(getattr(detector, "detect", None)) and not callable(
            getattr(detector, "detect_batch", None)
        ):
            raise ConfigurationError(f"detector {detector!r} has no detect(frame) method")
        if isinstance(encode_min_score, str) and encode_min_score != "auto":
            raise ConfigurationError("encode_min_score must be a number, None or 'auto'")
        if max_batch is not None and max_batch < 1:
            raise ConfigurationError(f"max_batch must be >= 1, got {max_batch}")
        self.detector = detector
        self.encoder = None if encoder is None else CrossStreamEncoder(encoder, max_crops=max_crops)
        self.tracker = tracker if tracker is not None else MultiStreamTracker()
        self.min_score = float(min_score)
        self.classes = None if classes is None else np.asarray(sorted(classes), dtype=np.int64)
        self.encode_min_score = encode_min_score
        self.max_batch = max_batch

    def _filter(self, detections: Detections) -> Detections:
        keep = detections.scores >= self.min_score
        if self.classes is not None:
            keep &= np.isin(detections.class_ids, self.classes)
        return detections if bool(keep.all()) else detections[keep]

    def _encode_threshold(self, stream_id: StreamId) -> float | None:
        if self.encode_min_score != "auto":
            return None if self.encode_min_score is None else float(self.encode_min_score)
        config = (
            self.tracker.tracker(stream_id).config
            if stream_id in self.tracker
            else self.tracker.default_config
        )
        return config.high_score_threshold

    def step(
        self,
        frames: Sequence[tuple[StreamId, int, Frame]],
        *,
        reset: Collection[StreamId] = (),
        decode_seconds: Sequence[float] | None = None,
    ) -> dict[StreamId, FrameResult]:
        """Run one batch: ``(stream id, frame number, frame)`` per stream, at most one each.

        Parameters
        ----------
        frames
            The batch; frame numbers must increase within each stream.
        reset
            Streams whose tracks are forgotten before this frame (e.g. a reconnected camera).
        decode_seconds
            Optional per-entry decode (or wait) time, reported in the results' timings.

        Returns
        -------
        dict
            Stream id -> its :class:`~deepsort_lib.results.FrameResult`, in batch order.
            Detect, encode and track times of the batch are shared equally among its frames.

        Raises
        ------
        InvalidInputError
            On a malformed batch (see :meth:`MultiStreamTracker.update`); no stream changed.
        """
        if decode_seconds is not None and len(decode_seconds) != len(frames):
            raise InvalidInputError("decode_seconds must have one value per frame")
        if not frames:
            return {}
        images = [item[2] for item in frames]
        start = time.perf_counter()
        detections = [
            self._filter(d) for d in detect_frames(self.detector, images, max_batch=self.max_batch)
        ]
        detect_s = time.perf_counter() - start
        start = time.perf_counter()
        if self.encoder is not None:
            thresholds = [self._encode_threshold(sid) for sid, _, _ in frames]
            detections = self.encoder.encode(images, detections, min_score=thresholds)
        encode_s = time.perf_counter() - start
        start = time.perf_counter()
        tracks = self.tracker.update(
            StreamFrame(sid, index, dets, reset=sid in reset)
            for (sid, index, _), dets in zip(frames, detections, strict=True)
        )
        track_s = time.perf_counter() - start
        n = len(frames)
        decode = decode_seconds if decode_seconds is not None else [0.0] * n
        results: dict[StreamId, FrameResult] = {}
        for (sid, index, image), dets, wait in zip(frames, detections, decode, strict=True):
            timings = StageTimings(float(wait), detect_s / n, encode_s / n, track_s / n)
            results[sid] = FrameResult(int(index), image, dets, tracks[sid], timings)
        return results


__all__ = ["MultiStreamPipeline"]
