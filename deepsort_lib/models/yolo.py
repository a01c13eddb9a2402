"""YOLOv3 detection with onnxruntime: letterbox, layout sniffing, decoding, class-aware NMS.

Three ONNX layouts are read, recognised from the model's inputs and outputs:

``raw``
    This library's converter (:mod:`deepsort_lib.models.darknet`) without ``decode``: one
    ``[B, A × (5 + C), H, W]`` tensor per YOLO layer, anchors and strides in the metadata.
``decoded``
    One ``[B, N, 5 + C]`` tensor: centre x, centre y, width, height in input pixels,
    objectness and class probabilities (the converter's ``decode=True``; Ultralytics-style
    YOLOv3/v5 exports).
``zoo``
    The ONNX model-zoo YOLOv3: inputs ``input_1`` (image) and ``image_shape`` (``[B, 2]``
    original height, width), NMS inside; outputs boxes ``[B, N, 4]`` (y1, x1, y2, x2 in image
    pixels), scores ``[B, C, N]`` and selected indices ``[K, 3]`` (batch, class, box).

The layout, class names and input size are read by :mod:`deepsort_lib.models.yolo_layout`.
Preprocessing is Darknet's letterbox (:meth:`~deepsort_lib.models.letterbox.Letterbox.fit`): the
frame is resized with its aspect kept, centred on a grey (0.5) canvas of the network size,
converted to RGB and scaled to [0, 1]. The other families' detector is
:class:`~deepsort_lib.models.onnx_detector.OnnxDetector`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError, ModelError
from deepsort_lib.models.darknet import META_PREFIX
from deepsort_lib.models.detector_layout import class_mask
from deepsort_lib.models.frames import check_frame
from deepsort_lib.models.letterbox import Letterbox, letterbox
from deepsort_lib.models.runtime import ProviderSpec, create_session, model_metadata
from deepsort_lib.models.yolo_layout import (
    names_from_metadata,
    resolve_input_size,
    sniff_layout,
)

FloatArray = NDArray[np.float32]


# -- decoding and NMS ---------------------------------------------------------------------------


def _sigmoid(x: NDArray[Any]) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-x.astype(np.float32))), dtype=np.float32)


def decode_raw_head(
    head: NDArray[Any],
    anchors: Sequence[Sequence[float]],
    stride: Sequence[float],
    scale_x_y: float = 1.0,
    min_objectness: float = 0.0,
) -> list[FloatArray]:
    """Decode one raw YOLO head into rows of ``[cx, cy, w, h, objectness, class probs...]``.

    Parameters
    ----------
    head
        ``[B, A × (5 + C), H, W]`` raw outputs of the layer before a ``[yolo]`` layer.
    anchors
        ``A`` anchor (width, height) pairs in input pixels.
    stride
        (x, y) input pixels per grid cell.
    scale_x_y
        Darknet's centre scaling (1 for YOLOv3).
    min_objectness
        Only cells whose objectness exceeds this are decoded (the confidence is at most the
        objectness, so lower cells can never pass a score threshold of the same value).

    Returns
    -------
    list of ndarray
        Per batch item, ``(K, 5 + C)`` float32 rows, boxes in input pixels.
    """
    b, channels, gh, gw = head.shape
    a = len(anchors)
    if channels % a or channels // a < 6:
        raise ModelError(f"head with {channels} channels does not fit {a} anchors × (5 + classes)")
    n = channels // a
    view = head.reshape(b, a, n, gh, gw)
    # Threshold on logits: sigmoid is monotonic, so this avoids decoding rejected cells.
    limit = (
        np.log(min_objectness / (1.0 - min_objectness)) if 0.0 < min_objectness < 1.0 else -np.inf
    )
    bi, ai, yi, xi = np.nonzero(view[:, :, 4] > limit)
    rows = view[bi, ai, :, yi, xi].astype(np.float32)  # (K, n)
    out = np.empty_like(rows)
    anchor = np.asarray(anchors, dtype=np.float32)[ai]
    sx, sy = float(stride[0]), float(stride[1])
    offset = (scale_x_y - 1.0) / 2.0
    out[:, 0] = (_sigmoid(rows[:, 0]) * scale_x_y - offset + xi) * sx
    out[:, 1] = (_sigmoid(rows[:, 1]) * scale_x_y - offset + yi) * sy
    out[:, 2:4] = np.exp(rows[:, 2:4]) * anchor
    out[:, 4:] = _sigmoid(rows[:, 4:])
    return [out[bi == k] for k in range(b)]


def check_detection_thresholds(
    score_threshold: float | None, nms_iou_threshold: float | None
) -> None:
    """Raise :class:`~deepsort_lib.errors.ConfigurationError` unless each threshold given
    (``None``: the detector's family default) is in [0, 1]."""
    for name, value in (
        ("score_threshold", score_threshold),
        ("nms_iou_threshold", nms_iou_threshold),
    ):
        if value is not None and not 0.0 <= float(value) <= 1.0:
            raise ConfigurationError(f"{name} must be in [0, 1], got {value}")


def nms(
    xyxy: NDArray[Any], scores: NDArray[Any], class_ids: NDArray[Any], iou_threshold: float
) -> NDArray[np.int64]:
    """Class-aware greedy NMS; indices of the kept boxes, highest score first.

    Uses OpenCV's ``NMSBoxesBatched`` (C++; boxes of different classes never suppress each
    other), so results equal ``cv2.dnn.NMSBoxes`` run class by class.
    """
    if len(scores) == 0:
        return np.zeros(0, dtype=np.int64)
    tlwh = np.asarray(xyxy, dtype=np.float64).copy()
    tlwh[:, 2:] -= tlwh[:, :2]
    kept = cv2.dnn.NMSBoxesBatched(
        tlwh.tolist(),
        np.asarray(scores, dtype=np.float32).tolist(),
        np.asarray(class_ids, dtype=np.int32).tolist(),
        float(np.min(scores)) - 1.0,  # thresholding is the caller's job
        float(iou_threshold),
    )
    keep: NDArray[np.int64] = np.asarray(kept, dtype=np.int64).reshape(-1)
    return keep[np.argsort(-np.asarray(scores)[keep], kind="stable")]


def rows_to_candidates(
    rows: NDArray[Any], score_threshold: float, allowed: NDArray[np.bool_] | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Decoded rows → (xyxy in input pixels, confidence, class id) above the threshold.

    Confidence is objectness × class probability; each box keeps its best allowed class.
    """
    rows = rows[rows[:, 4] > score_threshold]
    probs = rows[:, 5:] * rows[:, 4:5]
    if allowed is not None:
        probs = np.where(allowed[None, :], probs, 0.0)
    class_ids = np.argmax(probs, axis=1) if len(rows) else np.zeros(0, dtype=np.int64)
    scores = probs[np.arange(len(rows)), class_ids] if len(rows) else np.zeros(0)
    keep = scores > score_threshold
    rows, scores, class_ids = rows[keep], scores[keep], class_ids[keep]
    xyxy = np.empty((len(rows), 4), dtype=np.float64)
    xyxy[:, :2] = rows[:, :2] - rows[:, 2:4] / 2.0
    xyxy[:, 2:] = rows[:, :2] + rows[:, 2:4] / 2.0
    return xyxy, scores.astype(np.float64), class_ids.astype(np.int64)


def finish(
    xyxy_image: NDArray[np.float64],
    scores: NDArray[np.float64],
    class_ids: NDArray[np.int64],
    image_size: tuple[int, int],
    iou_threshold: float,
) -> Detections:
    """Clip boxes to the image, drop empty ones, run class-aware NMS."""
    w, h = image_size
    boxes = np.clip(xyxy_image, 0.0, np.array([w, h, w, h], dtype=np.float64))
    ok = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    boxes, scores, class_ids = boxes[ok], scores[ok], class_ids[ok]
    keep = nms(boxes, scores, class_ids, iou_threshold)
    if len(keep) == 0:
        return Detections.empty()
    return Detections.from_xyxy(boxes[keep], scores[keep], class_ids[keep])


# -- the detector --------------------------------------------------------------------------------


class YOLOv3Detector:
    """YOLOv3 (or compatible) ONNX detector: a :class:`~deepsort_lib.protocols.Detector`.

    Parameters
    ----------
    model_path
        ``.onnx`` file in one of the layouts of this module.
    classes
        Keep only these classes, by name (``["person"]``) or id; ``None`` keeps all.
    score_threshold
        Minimum objectness × class probability.
    nms_iou_threshold
        Boxes of the same class overlapping a better one by more than this are dropped.
    input_size
        Network input ``size`` or ``(width, height)``; default: the model's fixed input, then
        its metadata, then 416.
    providers, threads, allow_spinning
        Passed to :func:`deepsort_lib.models.runtime.create_session`. Turn spinning off when
        other CPU work (the tracker, an encoder session) runs between detections: measured
        here, a numpy GEMM started right after a spinning 2-thread YOLOv3 run took 98 ms
        instead of 67 ms.

    Raises
    ------
    ModelError
        If the model cannot be loaded or its layout is not recognised.
    ConfigurationError
        For bad thresholds, unknown class names or ids, or an unavailable provider.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        classes: Sequence[str | int] | None = None,
        score_threshold: float = 0.5,
        nms_iou_threshold: float = 0.45,
        input_size: int | tuple[int, int] | None = None,
        providers: ProviderSpec = "auto",
        threads: int | None = None,
        allow_spinning: bool = True,
    ) -> None:
        check_detection_thresholds(score_threshold, nms_iou_threshold)
        self.score_threshold = float(score_threshold)
        self.nms_iou_threshold = float(nms_iou_threshold)
        self.session = create_session(
            model_path, providers=providers, threads=threads, allow_spinning=allow_spinning
        )
        meta = model_metadata(self.session)
        self.layout = sniff_layout(self.session, meta)
        self.names: list[str] = names_from_metadata(meta, self.layout.classes)
        self.input_size: tuple[int, int] = resolve_input_size(
            self.session, self.layout, meta, input_size
        )
        self.fill = float(json.loads(meta.get(META_PREFIX + "letterbox_fill", "0.5")))
        batch_dim = next(
            i.shape[0] for i in self.session.get_inputs() if i.name == self.layout.image_input
        )
        self._max_batch = 1 if batch_dim == 1 or self.layout.kind == "zoo" else None
        self._allowed = self._resolve_classes(classes)
        self._outputs = [o.name for o in self.session.get_outputs()]

    @property
    def providers(self) -> list[str]:
        """Execution providers the session runs on."""
        return list(self.session.get_providers())

    def _resolve_classes(self, classes: Sequence[str | int] | None) -> NDArray[np.bool_] | None:
        return class_mask(classes, self.names)

    def preprocess(self, frames: Sequence[NDArray[np.uint8]]) -> tuple[FloatArray, list[Letterbox]]:
        """Letterbox frames into the network's input blob."""
        return letterbox(frames, self.input_size, self.fill)

    def detect(self, frame: NDArray[np.uint8]) -> Detections:
        """Detect objects in one ``(H, W, 3)`` uint8 BGR frame."""
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        """Detect objects in several frames (one batched forward pass where the model allows)."""
        checked = [check_frame(f) for f in frames]
        if not checked:
            return []
        step = self._max_batch or len(checked)
        results: list[Detections] = []
        for start in range(0, len(checked), step):
            chunk = checked[start : start + step]
            blob, boxes = self.preprocess(chunk)
            results.extend(self.postprocess(self.forward(blob, boxes), boxes))
        return results

    def forward(self, blob: FloatArray, boxes: Sequence[Letterbox]) -> list[NDArray[Any]]:
        """Run the model on a letterboxed blob; raw outputs in session order."""
        feeds: dict[str, NDArray[Any]] = {self.layout.image_input: blob}
        if self.layout.kind == "zoo":
            feeds[self.layout.shape_input] = np.array(
                [[b.image_size[1], b.image_size[0]] for b in boxes], dtype=np.float32
            )
        return list(self.session.run(self._outputs, feeds))

    def postprocess(
        self, outputs: Sequence[NDArray[Any]], boxes: Sequence[Letterbox]
    ) -> list[Detections]:
        """Turn model outputs into per-frame detections in image pixels."""
        if self.layout.kind == "zoo":
            return [self._zoo(outputs, b, k) for k, b in enumerate(boxes)]
        if self.layout.kind == "raw":
            per_head = [
                decode_raw_head(o, a, s, x, self.score_threshold)
                for o, a, s, x in zip(
                    outputs,
                    self.layout.anchors,
                    self.layout.strides,
                    self.layout.scale_x_y,
                    strict=True,
                )
            ]
            rows = [np.concatenate([h[k] for h in per_head]) for k in range(len(boxes))]
        else:
            rows = list(np.asarray(outputs[0], dtype=np.float32))
        results = []
        for r, box in zip(rows, boxes, strict=True):
            xyxy, scores, class_ids = rows_to_candidates(r, self.score_threshold, self._allowed)
            results.append(
                finish(
                    box.to_image(xyxy), scores, class_ids, box.image_size, self.nms_iou_threshold
                )
            )
        return results

    def _zoo(self, outputs: Sequence[NDArray[Any]], box: Letterbox, item: int) -> Detections:
        # Run one frame at a time (see ``_max_batch``): batch column is always this frame.
        ints = [v for v in outputs if v.dtype.kind in "iu"]
        floats = [v for v in outputs if v.dtype.kind == "f"]
        boxes = next(v for v in floats if v.ndim == 3 and v.shape[-1] == 4)
        scores = next(v for v in floats if v is not boxes)
        sel = ints[0].reshape(-1, 3).astype(np.int64)
        c, i = sel[:, 1], sel[:, 2]
        conf = scores[0, c, i].astype(np.float64)
        keep = conf > self.score_threshold
        if self._allowed is not None:
            keep &= self._allowed[c]
        xyxy = boxes[0, i[keep]].astype(np.float64)[:, [1, 0, 3, 2]]  # (y1, x1, y2, x2) in
        return finish(xyxy, conf[keep], c[keep], box.image_size, self.nms_iou_threshold)


__all__ = [
    "Letterbox",
    "YOLOv3Detector",
    "check_detection_thresholds",
    "decode_raw_head",
    "finish",
    "letterbox",
    "nms",
    "rows_to_candidates",
]
