"""Pipeline: frames → Detector → (Encoder) → Tracker, as an iterator of per-frame results.

:class:`Pipeline` composes any object with a ``detect`` method, an optional ``encode`` and a
tracker's ``update`` (the :mod:`deepsort_lib.protocols`). It does no I/O of its own: frames come
from a source (:mod:`deepsort_lib.io.video`) and outputs go to optional sinks
(:mod:`deepsort_lib.io.sinks`) at the edge.

>>> from deepsort_lib.pipeline import Pipeline                        # doctest: +SKIP
>>> pipe = Pipeline(HOGDetector(), Tracker(), ClassicEncoder())      # doctest: +SKIP
>>> for result in pipe.run("data/vtest.avi", max_frames=100):       # doctest: +SKIP
...     print(result.frame_index, [t.track_id for t in result.tracks])
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError, InvalidInputError, ModelError
from deepsort_lib.io.background import prefetch
from deepsort_lib.io.detection_cache import DetectionCache
from deepsort_lib.io.sinks import Sink, abort_sinks, check_sink_paths, close_sinks
from deepsort_lib.io.video import FrameSource, open_source
from deepsort_lib.models.camera_motion import CameraMotion
from deepsort_lib.protocols import Detector, Encoder
from deepsort_lib.protocols import Tracker as TrackerProtocol
from deepsort_lib.results import FrameResult, RunSummary, StageTimings

Frame = NDArray[np.uint8]
SourceLike = FrameSource | Iterable[tuple[int, Frame]] | str | os.PathLike[str] | int
_T = TypeVar("_T")


def encode_detections(
    encoder: Encoder,
    frame: NDArray[np.uint8],
    detections: Detections,
    *,
    min_score: float | None = None,
) -> Detections:
    """Attach appearance features to ``detections``, encoding only boxes the tracker will use.

    Parameters
    ----------
    encoder
        Any :class:`~deepsort_lib.protocols.Encoder`.
    frame
        ``(H, W, 3)`` uint8 BGR image the boxes refer to.
    detections
        The frame's detections.
    min_score
        Boxes scoring below this are not encoded and get all-zero rows. Set it to the
        tracker's low-score threshold: the tracker matches those boxes on IoU only, so their
        crops would be wasted work.

    Returns
    -------
    Detections
        The same boxes with ``(N, D)`` float32 features.
    """
    keep = (
        np.ones(len(detections), np.bool_)
        if min_score is None
        else np.asarray(detections.scores >= float(min_score))
    )
    index = np.flatnonzero(keep)
    encoded = np.asarray(encoder.encode(frame, detections.tlwh[index]), np.float32)
    if encoded.ndim != 2 or encoded.shape[0] != index.size:
        raise ModelError(f"encoder returned shape {encoded.shape} for {index.size} boxes")
    if index.size == len(detections):
        return detections.with_features(encoded)
    dim = encoded.shape[1]
    if index.size == 0:
        # Nothing to encode: learn the feature length from the encoder without a crop.
        dim = int(getattr(encoder, "feature_dim", None) or dim)
    features = np.zeros((len(detections), dim), np.float32)
    features[index] = encoded
    return detections.with_features(features)


def _limit(items: Iterable[_T], count: int | None) -> Iterator[_T]:
    for i, item in enumerate(items):
        if count is not None and i >= count:
            return
        yield item


def _timed(fn: Callable[[], _T]) -> tuple[_T, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


class Pipeline:
    """Detector → optional encoder → tracker over a stream of frames.

    Parameters
    ----------
    detector
        Any object with ``detect(frame) -> Detections``; ``None`` when every run gets its
        detections from a cache (or a MOTChallenge sequence's ``det/det.txt``).
    tracker
        Any object with ``update(detections) -> list[Track]`` (and ``predict()`` when
        ``detect_every > 1``). ``None``: the CLI's default, ``Tracker.from_preset("recommended")``,
        with that preset's re-entry when ``encoder`` is a re-ID model
        (:func:`~deepsort_lib.tracking.reentry_defaults.default_reentry_seconds`: identities
        lost for up to 30 s are matched by appearance when a track starts; 25 frames per
        second).
    encoder
        Optional object with ``encode(frame, tlwh) -> (N, D) float32``, run on the detections
        of each detected frame (after filtering). Without one the detections carry no
        features and Deep SORT associates on motion only.
    detect_every
        Run the detector on one frame in ``detect_every``; on the others the tracker only
        predicts (``tracker.predict()``) and the result has no detections.
    min_score
        Drop detections scoring below this before encoding (the original app's
        ``min_confidence``).
    classes
        Keep only detections of these class ids (``None`` keeps all).
    camera_motion
        Optional estimator of the camera's motion (e.g.
        :class:`~deepsort_lib.models.camera_motion.CameraMotionEstimator`): on detected frames its
        ``estimate(frame, tlwh)`` is passed to ``tracker.update(..., camera_motion=...)``.
        Counted in the ``track`` timing.
    encode_min_score
        Boxes scoring below this are not encoded (their feature rows are zeros, which the
        tracker reads as "no appearance"). ``"auto"`` uses the tracker's
        ``min_appearance_score`` when it has one: below it the tracker matches boxes
        on IoU only, so their crops would be wasted work. ``None`` encodes every box.
    prefetch
        Decode up to this many frames ahead on a background thread, overlapping decoding
        with inference (0: decode in line). The ``decode`` timing is then the time spent
        waiting for a frame.

    Raises
    ------
    ConfigurationError
        If a component lacks the method its role needs, or a parameter is out of range.
    """

    def __init__(
        self,
        detector: Detector | None,
        tracker: TrackerProtocol | None = None,
        encoder: Encoder | None = None,
        *,
        detect_every: int = 1,
        min_score: float = 0.0,
        classes: Collection[int] | None = None,
        camera_motion: CameraMotion | None = None,
        prefetch: int = 2,
        encode_min_score: float | str | None = "auto",
    ) -> None:
        if tracker is None:  # the recommended preset with its re-entry, as the CLI's default
            from deepsort_lib.tracking.reentry_defaults import default_reentry_seconds, with_reentry
            from deepsort_lib.tracking.tracker import Tracker

            reid = encoder is not None and getattr(encoder, "reidentifies", True)
            recommended: TrackerProtocol = with_reentry(
                Tracker.from_preset("recommended"),
                default_reentry_seconds("recommended", bool(reid)),
                None,
            )
            tracker = recommended
        if detector is not None and not callable(getattr(detector, "detect", None)):
            raise ConfigurationError(f"detector {detector!r} has no detect(frame) method")
        if encoder is not None and not callable(getattr(encoder, "encode", None)):
            raise ConfigurationError(f"encoder {encoder!r} has no encode(frame, tlwh) method")
        if not callable(getattr(tracker, "update", None)):
            raise ConfigurationError(f"tracker {tracker!r} has no update(detections) method")
        if int(detect_every) != detect_every or detect_every < 1:
            raise ConfigurationError(f"detect_every must be an integer >= 1, got {detect_every}")
        if camera_motion is not None and not callable(getattr(camera_motion, "estimate", None)):
            raise ConfigurationError(f"camera_motion {camera_motion!r} has no estimate() method")
        if not np.isfinite(min_score):
            raise ConfigurationError(f"min_score must be a finite number, got {min_score}")
        if int(prefetch) != prefetch or prefetch < 0:
            raise ConfigurationError(f"prefetch must be an integer >= 0, got {prefetch}")
        if detect_every > 1 and not callable(getattr(tracker, "predict", None)):
            raise ConfigurationError("detect_every > 1 needs a tracker with a predict() method")
        self.detector = detector
        self.tracker = tracker
        self.encoder = encoder
        self.detect_every = int(detect_every)
        self.min_score = float(min_score)
        self.classes = None if classes is None else np.asarray(sorted(classes), dtype=np.int64)
        self.prefetch = int(prefetch)
        self.camera_motion = camera_motion
        if encode_min_score == "auto":
            encode_min_score = getattr(tracker, "min_appearance_score", None)
        elif isinstance(encode_min_score, str):
            raise ConfigurationError("encode_min_score must be a number, None or 'auto'")
        self.encode_min_score = None if encode_min_score is None else float(encode_min_score)

    # -- stages ----------------------------------------------------------------------------------

    def _filter(self, detections: Detections) -> Detections:
        keep = detections.scores >= self.min_score
        if self.classes is not None:
            keep &= np.isin(detections.class_ids, self.classes)
        return detections if bool(keep.all()) else detections[keep]

    def _detect(
        self, frame: Frame | None, index: int, cache: Mapping[int, Detections] | None
    ) -> tuple[Detections, float, float]:
        """Detections of one frame (from the cache or the detector) and the encoder's time."""
        detect_time = 0.0
        if cache is not None:
            detections = cache.get(index, Detections.empty())
        else:
            if self.detector is None or frame is None:
                raise ConfigurationError(
                    "no detector and no detection cache: give one of them to the pipeline"
                )
            detector = self.detector
            detections, detect_time = _timed(lambda: detector.detect(frame))
            if not isinstance(detections, Detections):
                raise InvalidInputError(
                    f"detector {type(detector).__name__}.detect returned "
                    f"{type(detections).__name__}, not Detections: wrap its boxes with "
                    "Detections.from_xyxy(...) or Detections.from_tlwh(...)"
                )
        detections = self._filter(detections)
        encode_time = 0.0
        if self.encoder is not None and detections.features is None:
            if frame is None:
                raise ConfigurationError("the encoder needs frames: run on a source")
            encoder = self.encoder
            boxes = detections
            detections, encode_time = _timed(
                lambda: encode_detections(encoder, frame, boxes, min_score=self.encode_min_score)
            )
        return detections, detect_time, encode_time

    # -- running -------------------------------------------------------------------------------

    def run(
        self,
        source: SourceLike | None = None,
        *,
        cache: Mapping[int, Detections] | None = None,
        sinks: Sequence[Sink] = (),
        max_frames: int | None = None,
    ) -> Iterator[FrameResult]:
        """Track frame by frame, yielding a :class:`FrameResult` per frame.

        Parameters
        ----------
        source
            A :class:`~deepsort_lib.io.video.FrameSource`, any iterable of
            ``(frame_number, frame)``, or what :func:`~deepsort_lib.io.video.open_source`
            accepts (path, camera index; opened and closed here). ``None`` tracks from
            ``cache`` alone (frames are ``None``).
        cache
            Precomputed detections by frame number (e.g. a
            :class:`~deepsort_lib.io.detection_cache.DetectionCache`): the detector is not run.
            When the
            pipeline has no detector and the source is a MOTChallenge sequence, its
            ``det/det.txt`` is used.
        sinks
            Outputs fed every result. On normal completion they are closed (files appear);
            if the run raises, or the caller stops iterating early, they are aborted and no
            output file is left behind.
        max_frames
            Stop after this many frames.

        Raises
        ------
        ConfigurationError
            If neither a source nor a cache is given, or ``max_frames`` < 1.
        SourceError
            If the source cannot be opened or read.
        """
        try:
            if max_frames is not None and max_frames < 1:
                raise ConfigurationError(f"max_frames must be >= 1, got {max_frames}")
            if source is None and cache is None:
                raise ConfigurationError("give a source of frames, a detection cache, or both")
            check_sink_paths(source, sinks)
        except BaseException:
            abort_sinks(sinks)  # their temporary files must not outlive a refused run
            raise
        return self._run(source, cache, list(sinks), max_frames)

    def _run(
        self,
        source: SourceLike | None,
        cache: Mapping[int, Detections] | None,
        sinks: list[Sink],
        max_frames: int | None,
    ) -> Iterator[FrameResult]:
        with ExitStack() as stack:
            frames: Iterable[tuple[int, Frame | None]]
            if source is None:
                assert cache is not None
                frames = ((i, None) for i in sorted(cache))
            elif isinstance(source, (str, os.PathLike, int)):
                opened = stack.enter_context(open_source(source))
                frames = opened
            else:
                frames = source
            if cache is None and self.detector is None:
                cache = getattr(frames, "detections", None)
            reader: Iterator[tuple[int, Frame | None]]
            if source is not None and self.prefetch:
                # Never decode past the last frame wanted.
                ahead = prefetch(_limit(frames, max_frames), self.prefetch)
                stack.callback(ahead.close)
                reader = ahead
            else:
                reader = iter(frames)
            completed = False
            try:
                yield from self._loop(reader, cache, sinks, max_frames)
                completed = True
            finally:
                if completed:
                    close_sinks(sinks)
                else:
                    abort_sinks(sinks)

    def _loop(
        self,
        frames: Iterator[tuple[int, Frame | None]],
        cache: Mapping[int, Detections] | None,
        sinks: list[Sink],
        max_frames: int | None,
    ) -> Iterator[FrameResult]:
        count = 0
        while max_frames is None or count < max_frames:
            start = time.perf_counter()
            item = next(frames, None)
            if item is None:
                return
            index, frame = item
            decode_time = time.perf_counter() - start
            detected = count % self.detect_every == 0
            if detected:
                detections, detect_time, encode_time = self._detect(frame, index, cache)
                update_start = time.perf_counter()
                if self.camera_motion is not None:
                    if frame is None:
                        raise ConfigurationError("camera-motion estimation needs frames")
                    affine = self.camera_motion.estimate(frame, detections.tlwh)
                    update: Any = self.tracker.update
                    tracks = list(update(detections, camera_motion=affine))
                else:
                    tracks = list(self.tracker.update(detections))
                track_time = time.perf_counter() - update_start
            else:
                detections, detect_time, encode_time = Detections.empty(), 0.0, 0.0
                predict: Any = self.tracker.predict  # type: ignore[attr-defined]
                predicted, track_time = _timed(predict)
                tracks = list(predicted) if predicted is not None else []
            timings = StageTimings(decode_time, detect_time, encode_time, track_time)
            if sinks:
                partial = FrameResult(index, frame, detections, tracks, timings, detected)
                write_start = time.perf_counter()
                for sink in sinks:
                    sink.write(partial)
                timings = StageTimings(
                    decode_time,
                    detect_time,
                    encode_time,
                    track_time,
                    time.perf_counter() - write_start,
                )
            count += 1
            yield FrameResult(index, frame, detections, tracks, timings, detected)

    def process(
        self,
        source: SourceLike | None = None,
        *,
        cache: Mapping[int, Detections] | None = None,
        sinks: Sequence[Sink] = (),
        max_frames: int | None = None,
        on_frame: Callable[[FrameResult], None] | None = None,
    ) -> RunSummary:
        """Run to the end (see :meth:`run`) and return totals; sinks are closed at the end.

        ``on_frame`` is called with every result (progress bars, live display).
        """
        summary = RunSummary()
        start = time.perf_counter()
        for result in self.run(source, cache=cache, sinks=sinks, max_frames=max_frames):
            summary.frames += 1
            summary.timings = summary.timings + result.timings
            summary.track_ids.update(t.track_id for t in result.tracks)
            if on_frame is not None:
                on_frame(result)
        summary.wall_time = time.perf_counter() - start
        summary.outputs = [p for p in (getattr(s, "path", None) for s in sinks) if p is not None]
        return summary

    def build_cache(
        self,
        source: SourceLike,
        *,
        max_frames: int | None = None,
        on_frame: Callable[[int], None] | None = None,
    ) -> DetectionCache:
        """Run only the detector (and encoder) over ``source``: a cache to track from later.

        The tracker is not touched. Save the result with
        :meth:`~deepsort_lib.io.detection_cache.DetectionCache.save` and pass it back as
        ``cache=`` to
        :meth:`run` to try other tracker settings without re-running the models.
        """
        if self.detector is None:
            raise ConfigurationError("building a detection cache needs a detector")
        if max_frames is not None and max_frames < 1:
            raise ConfigurationError(f"max_frames must be >= 1, got {max_frames}")
        per_frame: dict[int, Detections] = {}
        with ExitStack() as stack:
            frames: Iterable[tuple[int, Frame]] = (
                stack.enter_context(open_source(source))
                if isinstance(source, (str, os.PathLike, int))
                else source
            )
            last = 0
            for count, (index, frame) in enumerate(frames):
                if max_frames is not None and count >= max_frames:
                    break
                per_frame[index] = self._detect(frame, index, None)[0]
                last = index
                if on_frame is not None:
                    on_frame(index)
        return DetectionCache.from_frames(per_frame, num_frames=last)


__all__ = ["FrameResult", "Pipeline", "RunSummary", "StageTimings", "encode_detections"]
