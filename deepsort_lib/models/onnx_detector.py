"""Today's ONNX detectors on onnxruntime: Ultralytics YOLOv8/11/26, YOLOv5, YOLOX, RT-DETR.

:class:`OnnxDetector` recognises the family from the model (see
:mod:`deepsort_lib.models.detector_layout`), preprocesses each frame the way that family's own
runtime does (:mod:`deepsort_lib.models.letterbox`), and post-processes its outputs the same
way too, so that boxes match the family's own predictions:

* YOLO families: a box's score is its best class score (times objectness for YOLOv5 and
  YOLOX); boxes at or under ``score_threshold`` go, then boxes whose best class is not in
  ``classes``, then greedy NMS in input pixels (per class, or class-agnostic), at most
  ``max_detections`` kept, highest score first.
* Heads without NMS (end-to-end exports, RT-DETR, DETR): the same filters and no NMS.

Boxes are then mapped back to image pixels and clipped; boxes left empty by clipping (wholly
in the padding) are dropped.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.models.detector_layout import (
    GRID_STRIDES,
    NMS_DEFAULTS,
    PREPROCESS,
    DetectorLayout,
    class_mask,
    sniff_family,
)
from deepsort_lib.models.frames import check_frame
from deepsort_lib.models.letterbox import Letterbox, letterbox
from deepsort_lib.models.runtime import ProviderSpec, create_session, model_metadata
from deepsort_lib.models.yolo import check_detection_thresholds, nms

FloatArray = NDArray[np.float32]
#: Ultralytics' and YOLOv5's cap on boxes entering NMS (highest scores kept).
MAX_NMS_CANDIDATES = 30000

Candidates = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]


def _cxcywh_to_xyxy(cxcywh: NDArray[Any]) -> NDArray[np.float64]:
    c = np.asarray(cxcywh, dtype=np.float64)
    half = c[:, 2:4] / 2.0
    return np.concatenate([c[:, :2] - half, c[:, :2] + half], axis=1)


def _empty_candidates() -> Candidates:
    return np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64)


def grid_and_strides(
    input_size: tuple[int, int], strides: Sequence[int] = GRID_STRIDES
) -> tuple[FloatArray, FloatArray]:
    """Cell offsets ``(N, 2)`` (x, y) and strides ``(N, 1)`` in YOLOX's row order.

    Level by level (stride 8 first), each level's cells row by row.
    """
    grids, steps = [], []
    w, h = input_size
    for s in strides:
        gw, gh = -(-w // s), -(-h // s)
        ys, xs = np.meshgrid(np.arange(gh), np.arange(gw), indexing="ij")
        grids.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        steps.append(np.full((gw * gh, 1), s))
    return (
        np.concatenate(grids).astype(np.float32),
        np.concatenate(steps).astype(np.float32),
    )


class OnnxDetector:
    """An Ultralytics, YOLOv5, YOLOX or DETR-family ONNX detector: a
    :class:`~deepsort_lib.protocols.Detector` with ``detect_batch``.

    Parameters
    ----------
    model
        ``.onnx`` file, or an onnxruntime session already open on it.
    family
        One of :data:`~deepsort_lib.models.detector_layout.FAMILIES` to skip recognition;
        ``None`` recognises it from the model.
    classes
        Keep only these classes, by name (``["person"]``) or id; ``None`` keeps all.
    score_threshold
        Boxes scoring at or under it are dropped (Ultralytics' default is 0.25).
    nms_iou_threshold
        Boxes overlapping a better one by more than this are dropped; default the family's
        own (Ultralytics 0.7, YOLOv5 and YOLOX 0.45). Unused by families without NMS.
    agnostic_nms
        Suppress across classes; default the family's own (YOLOX: yes, others: per class).
    max_detections
        At most this many boxes per frame, best first.
    input_size
        ``size`` or ``(width, height)`` for models with a dynamic input; default the
        metadata's ``imgsz``, then 640.
    rect
        For models with a dynamic input size: shrink the input to the smallest multiple of
        the stride around the resized frame (640×480 for 4:3 video; fewer pixels, the same
        boxes up to the border's padding), when all frames of a batch share a shape.
        Default: as the family's own runtime (Ultralytics ``predict``: yes; others: no).
    providers, threads, allow_spinning
        Passed to :func:`deepsort_lib.models.runtime.create_session`.

    Raises
    ------
    ModelError
        If the model cannot be loaded or is not a family this class reads.
    ConfigurationError
        For bad thresholds, unknown classes or family, or an unavailable provider.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | ort.InferenceSession,
        *,
        family: str | None = None,
        classes: Sequence[str | int] | str | int | None = None,
        score_threshold: float = 0.25,
        nms_iou_threshold: float | None = None,
        agnostic_nms: bool | None = None,
        max_detections: int = 300,
        input_size: int | tuple[int, int] | None = None,
        rect: bool | None = None,
        providers: ProviderSpec = "auto",
        threads: int | None = None,
        allow_spinning: bool = True,
    ) -> None:
        check_detection_thresholds(score_threshold, nms_iou_threshold)
        if int(max_detections) < 1:
            raise ConfigurationError(f"max_detections must be >= 1, got {max_detections}")
        self.session = (
            model
            if isinstance(model, ort.InferenceSession)
            else create_session(
                model, providers=providers, threads=threads, allow_spinning=allow_spinning
            )
        )
        self.layout: DetectorLayout = sniff_family(
            self.session, model_metadata(self.session), family, input_size
        )
        self.family = self.layout.family
        self.names: list[str] = list(self.layout.names)
        self.input_size = self.layout.input_size
        self.preprocessing = PREPROCESS[self.family]
        defaults = NMS_DEFAULTS[self.family]
        self.uses_nms = defaults is not None
        self.nms_iou_threshold = float(
            nms_iou_threshold if nms_iou_threshold is not None else (defaults or (0.0, False))[0]
        )
        self.agnostic_nms = bool(
            agnostic_nms if agnostic_nms is not None else (defaults or (0.0, False))[1]
        )
        self.score_threshold = float(score_threshold)
        self.max_detections = int(max_detections)
        self._allowed = class_mask(classes, self.names)
        if rect and self.preprocessing.fit != Letterbox.fit_rounded:
            raise ConfigurationError(f"rect is not available for the {self.family} family")
        if rect and not self.layout.dynamic_size:
            w, h = self.input_size
            raise ConfigurationError(
                f"rect needs a dynamic input size; this one is fixed at {w}x{h}"
            )
        family_rect = self.family in ("ultralytics", "ultralytics-end2end")
        self.rect = self.layout.dynamic_size and (family_rect if rect is None else bool(rect))
        if self.family == "yolox":
            self._grid, self._strides = grid_and_strides(self.input_size)

    @property
    def providers(self) -> list[str]:
        """Execution providers the session runs on."""
        return list(self.session.get_providers())

    # -- the Detector contract ---------------------------------------------------------------

    def detect(self, frame: NDArray[np.uint8]) -> Detections:
        """Detect objects in one ``(H, W, 3)`` uint8 BGR frame."""
        return self.detect_batch([frame])[0]

    def detect_batch(self, frames: Sequence[NDArray[np.uint8]]) -> list[Detections]:
        """Detect objects in several frames: one forward pass per batch the model allows
        (all frames with a dynamic batch; a static batch is filled up with blank frames)."""
        checked = [check_frame(f) for f in frames]
        if not checked:
            return []
        step = self.layout.batch or len(checked)
        results: list[Detections] = []
        for start in range(0, len(checked), step):
            chunk = checked[start : start + step]
            blob, boxes = self.preprocess(chunk)
            results.extend(self.postprocess(self.forward(blob), boxes))
        return results

    # -- the three stages, public for benchmarks and custom pipelines ---------------------------

    def preprocess(
        self, frames: Sequence[NDArray[np.uint8]]
    ) -> tuple[NDArray[Any], list[Letterbox]]:
        """The network's input blob (the model's dtype) and each frame's :class:`Letterbox`."""
        p = self.preprocessing
        fit = p.fit
        if self.rect and len({np.shape(f) for f in frames}) == 1:
            stride = self.layout.stride
            fit = functools.partial(Letterbox.fit_rounded, stride=stride)
        blob, boxes = letterbox(frames, self.input_size, p.fill, fit=fit, rgb=p.rgb, scale=p.scale)
        if p.mean is not None and p.std is not None:
            blob -= np.asarray(p.mean, dtype=np.float32)[None, :, None, None]
            blob /= np.asarray(p.std, dtype=np.float32)[None, :, None, None]
        if self.layout.batch is not None and len(frames) < self.layout.batch:
            blank = np.zeros((self.layout.batch - len(frames), *blob.shape[1:]), blob.dtype)
            blob = np.concatenate([blob, blank])
        if self.layout.image_dtype is not np.float32:
            return blob.astype(self.layout.image_dtype), boxes
        return blob, boxes

    def forward(self, blob: NDArray[Any]) -> list[FloatArray]:
        """Run the model; its outputs as float32, in the decoder's order."""
        outputs = self.session.run(list(self.layout.outputs), {self.layout.image_input: blob})
        return [np.asarray(o, dtype=np.float32) for o in outputs]

    def postprocess(
        self, outputs: Sequence[FloatArray], boxes: Sequence[Letterbox]
    ) -> list[Detections]:
        """Per-frame detections in image pixels from the model's outputs."""
        return [self._select(self._candidates(outputs, k), box) for k, box in enumerate(boxes)]

    # -- decoding --------------------------------------------------------------------------------

    def _candidates(self, outputs: Sequence[FloatArray], k: int) -> Candidates:
        """(xyxy in input pixels, score, class id) of item ``k``'s boxes above the threshold."""
        family, thr = self.family, self.score_threshold
        if family == "ultralytics":
            pred = outputs[0][k]  # (4 + C, N)
            best = pred[4:].max(axis=0)
            cand = np.flatnonzero(best > thr)
            ids = pred[4:, cand].argmax(axis=0)
            return _cxcywh_to_xyxy(pred[:4, cand].T), best[cand].astype(np.float64), ids
        if family in ("yolov5", "yolox"):
            rows = outputs[0][k]  # (N, 5 + C)
            cand = np.flatnonzero(rows[:, 4] > thr)  # the score is at most the objectness
            sel = rows[cand]
            probs = sel[:, 5:] * sel[:, 4:5]
            ids = probs.argmax(axis=1) if len(sel) else np.zeros(0, dtype=np.int64)
            scores = probs[np.arange(len(sel)), ids]
            keep = scores > thr
            sel, scores, ids, cand = sel[keep], scores[keep], ids[keep], cand[keep]
            cxcywh = sel[:, :4]
            if family == "yolox":  # grid offsets and log sizes, in strides
                step = self._strides[cand]
                cxcywh = np.concatenate(
                    [(sel[:, :2] + self._grid[cand]) * step, np.exp(sel[:, 2:4]) * step], axis=1
                )
            return _cxcywh_to_xyxy(cxcywh), scores.astype(np.float64), ids
        if family == "detr":
            logits = outputs[1][k]
            best_logit = logits.max(axis=1)
            ids = logits.argmax(axis=1)
            scores = 1.0 / (1.0 + np.exp(-best_logit.astype(np.float64)))
            keep = scores > thr
            cxcywh = outputs[0][k][keep] * np.tile(np.asarray(self.input_size, np.float32), 2)
            return _cxcywh_to_xyxy(cxcywh), scores[keep], ids[keep]
        rows = outputs[0][k]  # ultralytics-end2end, rtdetr
        if self.layout.score_class_columns:
            scores, ids = rows[:, 4], np.rint(rows[:, 5]).astype(np.int64)
        else:
            scores, ids = rows[:, 4:].max(axis=1), rows[:, 4:].argmax(axis=1)
        keep = scores > thr
        if not keep.any():
            return _empty_candidates()
        ids = np.clip(ids[keep], 0, self.layout.classes - 1)
        if family == "rtdetr":  # normalised centre and size
            xyxy = _cxcywh_to_xyxy(
                rows[keep, :4] * np.tile(np.asarray(self.input_size, np.float32), 2)
            )
        else:
            xyxy = rows[keep, :4].astype(np.float64)
        return xyxy, scores[keep].astype(np.float64), ids

    def _select(self, found: Candidates, box: Letterbox) -> Detections:
        """Class filter, NMS in input pixels, best ``max_detections``, back to the image."""
        xyxy, scores, ids = found
        if self._allowed is not None and len(ids):
            keep = self._allowed[ids]
            xyxy, scores, ids = xyxy[keep], scores[keep], ids[keep]
        order = np.argsort(-scores, kind="stable")
        if self.uses_nms:
            order = order[:MAX_NMS_CANDIDATES]
            groups = np.zeros_like(ids) if self.agnostic_nms else ids
            kept = nms(xyxy[order], scores[order], groups[order], self.nms_iou_threshold)
            order = order[kept]
        order = order[: self.max_detections]
        if len(order) == 0:
            return Detections.empty()
        w, h = box.image_size
        image_xyxy = np.clip(
            box.to_image(xyxy[order]), 0.0, np.array([w, h, w, h], dtype=np.float64)
        )
        ok = (image_xyxy[:, 2] > image_xyxy[:, 0]) & (image_xyxy[:, 3] > image_xyxy[:, 1])
        if not ok.any():
            return Detections.empty()
        return Detections.from_xyxy(image_xyxy[ok], scores[order][ok], ids[order][ok])


__all__ = ["MAX_NMS_CANDIDATES", "OnnxDetector", "grid_and_strides"]
