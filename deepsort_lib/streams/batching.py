"""Stateless models batched across streams: one detector call per batch of frames, one encoder
call over the crops of every frame in the batch.

Detection and appearance encoding carry no state from frame to frame, so frames of different
streams can share a forward pass; only tracking stays per stream (see
:mod:`deepsort_lib.streams.tracker`). This is what DeepStream does on a GPU, where one large
batch costs little more than one small one; on a CPU the gain is smaller (measured in
``benchmarks/results/streams.md``).

Both helpers fall back to per-frame calls for models without a batched entry point, so any
object satisfying :class:`~deepsort_lib.protocols.Detector` or
:class:`~deepsort_lib.protocols.Encoder` works.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError, InvalidInputError, ModelError
from deepsort_lib.models.crops import extract_crops
from deepsort_lib.pipeline import encode_detections
from deepsort_lib.protocols import Detector, Encoder

Frame = NDArray[np.uint8]


def detect_frames(
    detector: Detector, frames: Sequence[Frame], *, max_batch: int | None = None
) -> list[Detections]:
    """Detections of several frames (from any streams), in order.

    Uses the detector's ``detect_batch(frames)`` when it has one (one forward pass per
    ``max_batch`` frames, e.g. :class:`~deepsort_lib.models.yolo.YOLOv3Detector`), else calls
    ``detect(frame)`` frame by frame (e.g. :class:`~deepsort_lib.models.hog.HOGDetector`).

    Raises
    ------
    ModelError
        If ``detect_batch`` returns the wrong number of results.
    InvalidInputError
        If the detector returns something other than :class:`~deepsort_lib.boxes.Detections`.
    """
    if max_batch is not None and max_batch < 1:
        raise ConfigurationError(f"max_batch must be >= 1, got {max_batch}")
    frames = list(frames)
    batched = getattr(detector, "detect_batch", None)
    out: list[Any] = []
    if callable(batched):
        step = max_batch or max(len(frames), 1)
        for start in range(0, len(frames), step):
            chunk = frames[start : start + step]
            got = list(batched(chunk))
            if len(got) != len(chunk):
                raise ModelError(
                    f"detect_batch returned {len(got)} results for {len(chunk)} frames"
                )
            out.extend(got)
    else:
        out = [detector.detect(frame) for frame in frames]
    for dets in out:
        if not isinstance(dets, Detections):
            raise InvalidInputError(
                f"the detector returned {type(dets).__name__}, not Detections (build one with "
                "Detections.from_xyxy or Detections.from_tlwh)"
            )
    return out


class CrossStreamEncoder:
    """Encodes the boxes of many frames with one ``encode_crops`` call over all their crops.

    Crops are cut from each frame with :func:`~deepsort_lib.models.crops.extract_crops`,
    concatenated, and encoded ``max_crops`` at a time (the encoder splits further at its own
    batch size). Boxes whose crop is empty, and boxes scoring below ``min_score``, get all-zero
    rows, exactly as :func:`~deepsort_lib.pipeline.encode_detections` gives them.

    Parameters
    ----------
    encoder
        Any :class:`~deepsort_lib.protocols.Encoder`. The batched path needs an
        ``encode_crops(crops)`` method and a crop size attribute (``crop_size`` or
        ``input_size``); otherwise every frame goes through ``encode(frame, tlwh)``.
    max_crops
        Crops per ``encode_crops`` call (bounds memory: 1000 crops of 128x64 are 24 MB).

    Notes
    -----
    The batched path is checked once, at construction: crops cut here from a probe image must
    give the features the encoder's own ``encode`` gives for the same boxes (so a crop size
    read in the wrong order, or an encoder with its own cropping, can never change results).
    If they differ, :attr:`batched` is ``False`` and encoding is per frame.
    """

    def __init__(self, encoder: Encoder, *, max_crops: int = 1024) -> None:
        if not callable(getattr(encoder, "encode", None)):
            raise ConfigurationError(f"encoder {encoder!r} has no encode(frame, tlwh) method")
        if int(max_crops) < 1:
            raise ConfigurationError(f"max_crops must be >= 1, got {max_crops}")
        self.encoder = encoder
        self.max_crops = int(max_crops)
        #: The size handed to ``extract_crops``, or ``None`` when encoding per frame.
        self.crop_size: tuple[int, int] | None = _verified_crop_size(encoder)

    @property
    def batched(self) -> bool:
        """Whether crops of all frames go through one ``encode_crops`` call."""
        return self.crop_size is not None

    def encode(
        self,
        frames: Sequence[Frame],
        detections: Sequence[Detections],
        *,
        min_score: float | Sequence[float | None] | None = None,
    ) -> list[Detections]:
        """Attach ``(N, D)`` float32 features to each frame's detections.

        Parameters
        ----------
        frames
            The images the boxes refer to (one per entry of ``detections``).
        detections
            Each frame's detections.
        min_score
            Boxes scoring below this are not encoded (zero rows); one value for all frames or
            one per frame (``None``: encode every box).

        Raises
        ------
        InvalidInputError
            If the lengths differ or a frame is malformed (before the model runs).
        ModelError
            If the encoder returns features of the wrong shape.
        """
        if len(frames) != len(detections):
            raise InvalidInputError(f"{len(frames)} frames but {len(detections)} detection sets")
        thresholds = (
            list(min_score) if isinstance(min_score, Sequence) else [min_score] * len(detections)
        )
        if len(thresholds) != len(detections):
            raise InvalidInputError(f"{len(thresholds)} min_score values for {len(frames)} frames")
        if self.crop_size is None:
            return [
                encode_detections(self.encoder, frame, dets, min_score=t)
                for frame, dets, t in zip(frames, detections, thresholds, strict=True)
            ]
        return self._encode_batched(frames, detections, thresholds)

    def _encode_batched(
        self,
        frames: Sequence[Frame],
        detections: Sequence[Detections],
        thresholds: Sequence[float | None],
    ) -> list[Detections]:
        assert self.crop_size is not None
        crops: list[NDArray[np.uint8]] = []
        rows: list[NDArray[np.intp]] = []
        for frame, dets, threshold in zip(frames, detections, thresholds, strict=True):
            mask = None if threshold is None else np.asarray(dets.scores >= float(threshold))
            cut, valid = extract_crops(frame, dets.tlwh, self.crop_size, mask=mask)
            index = np.flatnonzero(valid)
            crops.append(cut[index])
            rows.append(index)
        everything = np.concatenate(crops) if crops else np.zeros((0, 1, 1, 3), np.uint8)
        parts = [
            np.asarray(self.encoder.encode_crops(everything[i : i + self.max_crops]), np.float32)  # type: ignore[attr-defined]
            for i in range(0, len(everything), self.max_crops)
        ]
        dim = _feature_dim(self.encoder, parts)
        features = np.concatenate(parts) if parts else np.zeros((0, dim), np.float32)
        if features.shape != (len(everything), dim):
            raise ModelError(
                f"encode_crops returned shape {features.shape} for {len(everything)} crops"
            )
        out: list[Detections] = []
        start = 0
        for dets, index in zip(detections, rows, strict=True):
            block = np.zeros((len(dets), dim), np.float32)
            block[index] = features[start : start + len(index)]
            start += len(index)
            out.append(dets.with_features(block))
        return out


def _feature_dim(encoder: Encoder, parts: Sequence[NDArray[np.float32]]) -> int:
    if parts:
        return int(parts[0].shape[1])
    dim = getattr(encoder, "feature_dim", None)
    if dim is None:
        raise ModelError("no crop to encode and the encoder has no feature_dim attribute")
    return int(dim)


def _probe() -> tuple[Frame, NDArray[np.float64]]:
    """A textured image and two boxes (one partly outside) for the crop-path check."""
    rng = np.random.default_rng(12345)
    image = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
    image[20:70, 30:60] //= 2  # some structure, so features are not all alike
    return image, np.array([[30.0, 10.0, 28.0, 70.0], [100.0, 40.0, 40.0, 80.0]])


def _verified_crop_size(encoder: Encoder) -> tuple[int, int] | None:
    if not callable(getattr(encoder, "encode_crops", None)):
        return None
    candidates: list[tuple[int, int]] = []
    for name in ("crop_size", "input_size"):
        value = getattr(encoder, name, None)
        try:
            a, b = (int(v) for v in value)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            continue
        for size in ((a, b), (b, a)):
            if size not in candidates and min(size) > 0:
                candidates.append(size)
    if not candidates:
        return None
    image, boxes = _probe()
    try:
        reference = np.asarray(encoder.encode(image, boxes), np.float32)
    except Exception:  # an encoder that cannot take the probe image: stay per frame
        return None
    for size in candidates:
        try:
            crops, valid = extract_crops(image, boxes, size)
            got = np.asarray(encoder.encode_crops(crops[valid]), np.float32)  # type: ignore[attr-defined]
        except Exception:  # a wrong size makes models fail in many ways (cv2.error, ...)
            continue
        if got.shape == reference[valid].shape and np.allclose(got, reference[valid], atol=1e-4):
            return size
    return None


__all__ = ["CrossStreamEncoder", "detect_frames"]
