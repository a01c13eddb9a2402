"""The stateless half of tracking, served: detector and encoder loaded once, fed batches of frames.

A :class:`ModelServer` holds the detector and encoder that ``deepsort track`` would build from
the same options and answers :meth:`ModelServer.infer`: a batch of frames (from any task, any
source) in, each frame's detections out, filtered (``--min-score``, ``--classes``) and with
their appearance features attached, exactly as :class:`~deepsort_lib.pipeline.Pipeline` would
have computed them frame by frame. The detector runs through
:func:`~deepsort_lib.streams.batching.detect_frames` (one ``detect_batch`` call when the model
has one) and the encoder through :class:`~deepsort_lib.streams.batching.CrossStreamEncoder`
(one ``encode_crops`` call over the crops of every frame of the batch).

The tracker stays with the caller (:func:`~deepsort_lib.distributed.worker.track_span`): it is
the only part with state. :mod:`deepsort_lib.distributed.pool` runs servers as Ray actors; a
:class:`LocalModels` runs one in this process (tests, and the reference of what the pool
computes). No Ray here.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.run.build import PUBLIC, build_detector, build_encoder, build_tracker

Frame = NDArray[np.uint8]


class ModelClient(Protocol):
    """How a tracking task reaches the models: submit a batch now, collect its result later."""

    def submit(
        self, frames: Sequence[Frame], given: Sequence[Detections] | None, choice: str
    ) -> Any:
        """Start inferring ``frames`` with detector ``choice`` (``given``: their public
        detections, to encode only)."""
        ...

    def result(self, handle: Any) -> list[Detections]:
        """The detections of a submitted batch, in frame order (waits for them)."""
        ...


def filter_detections(
    detections: Detections, min_score: float, classes: NDArray[np.int64] | None
) -> Detections:
    """The boxes :class:`~deepsort_lib.pipeline.Pipeline` keeps (its ``min_score``, ``classes``).

    The same rule, so that a task's pipeline fed these boxes keeps every one of them.
    """
    keep = detections.scores >= min_score
    if classes is not None:
        keep &= np.isin(detections.class_ids, classes)
    return detections if bool(keep.all()) else detections[keep]


class ModelServer:
    """The detector and encoder of ``deepsort track``'s ``options``, built once.

    Parameters
    ----------
    options
        ``deepsort track`` options (:func:`~deepsort_lib.run.options.track_options`).
    choices
        The detectors (:func:`~deepsort_lib.run.build.detector_choice` of the sources it
        serves), each built as ``--detector``; ``"public"`` needs none (those batches bring
        their detections).
    max_batch
        Frames per detector forward pass (``None``: the whole batch).

    Raises
    ------
    DeepSortError
        If a model cannot be built (the same errors as ``deepsort track``).
    """

    def __init__(
        self,
        options: argparse.Namespace,
        choices: Sequence[str] = ("hog",),
        *,
        max_batch: int | None = None,
    ) -> None:
        from deepsort_lib.streams.batching import CrossStreamEncoder

        self.detectors: dict[str, tuple[Any, NDArray[np.int64] | None]] = {}
        for choice in dict.fromkeys(choices):
            if choice == PUBLIC:
                continue  # the batches bring their (already filtered) detections
            resolved = copy.copy(options)
            resolved.detector = choice
            detector, keep, _names = build_detector(resolved, None)  # type: ignore[arg-type]
            classes = None if keep is None else np.asarray(sorted(keep), np.int64)
            self.detectors[choice] = (detector, classes)
        encoder = build_encoder(options)
        self.encoder = None if encoder is None else CrossStreamEncoder(encoder)
        self.min_score = float(options.min_score)
        # Boxes the tracker matches on IoU only are not encoded, as Pipeline's "auto" does.
        threshold = getattr(build_tracker(options), "min_appearance_score", None)
        self.encode_min_score = None if threshold is None else float(threshold)
        self.max_batch = max_batch

    def infer(
        self,
        frames: Sequence[Frame],
        given: Sequence[Detections] | None = None,
        choice: str = "hog",
    ) -> list[Detections]:
        """Each frame's filtered detections, with features when there is an encoder.

        Parameters
        ----------
        frames
            Images, from any sources.
        given
            Their detections when the source brings them (public detections, filtered with
            :func:`filter_detections` by the caller): only encoded.
        choice
            The detector to run when ``given`` is ``None`` (one of those built).

        Raises
        ------
        ConfigurationError
            If neither that detector nor ``given`` detections are there.
        """
        from deepsort_lib.streams.batching import detect_frames

        if given is None:
            if choice not in self.detectors:
                raise ConfigurationError(f"this model server has no detector {choice!r}")
            detector, classes = self.detectors[choice]
            found = detect_frames(detector, frames, max_batch=self.max_batch)
            detections = [filter_detections(d, self.min_score, classes) for d in found]
        else:
            if len(given) != len(frames):
                raise ConfigurationError(f"{len(given)} detection sets for {len(frames)} frames")
            detections = list(given)
        if self.encoder is None:
            return detections
        todo = [i for i, d in enumerate(detections) if d.features is None]
        if todo:
            encoded = self.encoder.encode(
                [frames[i] for i in todo],
                [detections[i] for i in todo],
                min_score=self.encode_min_score,
            )
            for i, dets in zip(todo, encoded, strict=True):
                detections[i] = dets
        return detections


class LocalModels:
    """A :class:`ModelClient` over a :class:`ModelServer` in this process (computed at submit)."""

    def __init__(self, server: ModelServer) -> None:
        self.server = server
        #: Frames received, per batch (what a pool would have carried).
        self.batches: list[int] = []

    def submit(
        self, frames: Sequence[Frame], given: Sequence[Detections] | None, choice: str
    ) -> Any:
        """Infer now; the handle is the result."""
        self.batches.append(len(frames))
        return self.server.infer(frames, given, choice)

    def result(self, handle: Any) -> list[Detections]:
        """The result computed by :meth:`submit`."""
        return list(handle)


__all__ = [
    "LocalModels",
    "ModelClient",
    "ModelServer",
    "filter_detections",
]
