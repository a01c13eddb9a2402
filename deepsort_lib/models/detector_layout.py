"""Recognising which detector family an ONNX model is, from its inputs, outputs and metadata.

The families :class:`~deepsort_lib.models.onnx_detector.OnnxDetector` reads, and how each is
told apart (``B`` batch, ``N`` candidate boxes, ``C`` classes, ``Q`` queries):

``ultralytics``
    YOLOv8 / YOLO11 / YOLO26 exported without NMS: one ``[B, 4 + C, N]`` output (centre x,
    centre y, width, height in input pixels, then class scores). Ultralytics metadata
    (``author``, ``task``, ``names``) or, without it, fewer rows than columns.
``ultralytics-end2end``
    Ultralytics exports with NMS inside (``nms=True``) or NMS-free heads (YOLO26, YOLOv10):
    ``[B, K, 6]``: x1, y1, x2, y2 in input pixels, score, class id. Needs the metadata.
``rtdetr``
    Ultralytics RT-DETR: ``[B, Q, 6]`` (centre x, centre y, width, height normalised to the
    input, score, class) or ``[B, Q, 4 + C]`` (older exports: class scores). Metadata
    ``head: RTDETRDecoder``.
``detr``
    Two outputs, boxes ``[B, Q, 4]`` (normalised centre x, y, width, height) and class
    logits ``[B, Q, C]`` (RF-DETR and other DETR exports); ImageNet mean/std input.
``yolov5``
    One ``[B, N, 5 + C]`` output, decoded (centre x, centre y, width, height in input
    pixels, objectness, class probabilities) with ``N = 3 × cells`` for 3 anchors per cell
    (YOLOv5's ``export.py``; also YOLOv7 and other anchor-based exports).
``yolox``
    One ``[B, N, 5 + C]`` output with ``N = cells`` (one box per cell at strides 8/16/32):
    YOLOX's default export, grid offsets not yet decoded.

where ``cells`` is the number of grid cells at strides 8, 16 and 32 for the input size.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import ConfigurationError, ModelError
from deepsort_lib.models.darknet import class_names
from deepsort_lib.models.letterbox import FitRule, Letterbox
from deepsort_lib.models.yolo_layout import (
    describe_session,
    fixed_or_requested_size,
    meta_names,
    static_dim,
)

FAMILIES: tuple[str, ...] = (
    "ultralytics",
    "ultralytics-end2end",
    "rtdetr",
    "detr",
    "yolov5",
    "yolox",
)

#: Input size when neither the model, its metadata nor the caller fixes one.
DEFAULT_INPUT_SIZE = (640, 640)
#: YOLOX's (and the YOLOv5/v8 P3-P5) strides in input pixels.
GRID_STRIDES: tuple[int, ...] = (8, 16, 32)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocess:
    """How one family turns a BGR frame into its input (see :mod:`.letterbox`)."""

    fit: FitRule
    fill: float  # padding value in blob units
    rgb: bool
    scale: float  # pixel value factor
    mean: tuple[float, float, float] | None = None  # per-channel, after scaling
    std: tuple[float, float, float] | None = None


#: Each family's own preprocessing (Ultralytics' LetterBox and YOLOv5's letterbox: grey 114,
#: centred, rounded sides; YOLOX's preproc: BGR 0-255, top-left; DETRs: stretched).
PREPROCESS: dict[str, Preprocess] = {
    "ultralytics": Preprocess(Letterbox.fit_rounded, 114.0 / 255.0, True, 1.0 / 255.0),
    "ultralytics-end2end": Preprocess(Letterbox.fit_rounded, 114.0 / 255.0, True, 1.0 / 255.0),
    "yolov5": Preprocess(Letterbox.fit_rounded, 114.0 / 255.0, True, 1.0 / 255.0),
    "yolox": Preprocess(Letterbox.fit_top_left, 114.0, False, 1.0),
    "rtdetr": Preprocess(Letterbox.stretch, 0.0, True, 1.0 / 255.0),
    "detr": Preprocess(
        Letterbox.stretch, 0.0, True, 1.0 / 255.0, mean=_IMAGENET_MEAN, std=_IMAGENET_STD
    ),
}
#: Each family's NMS defaults (IoU threshold, class-agnostic); None: the family has no NMS.
NMS_DEFAULTS: dict[str, tuple[float, bool] | None] = {
    "ultralytics": (0.7, False),  # Ultralytics predict: iou=0.7, per class
    "yolov5": (0.45, False),  # YOLOv5 detect.py
    "yolox": (0.45, True),  # YOLOX demo: multiclass_nms(..., class_agnostic=True)
    "ultralytics-end2end": None,
    "rtdetr": None,
    "detr": None,
}


@dataclass(frozen=True)
class DetectorLayout:
    """What :func:`sniff_family` found: the family and the model's tensors."""

    family: str
    image_input: str
    image_dtype: type[np.floating[Any]]
    outputs: tuple[str, ...]  # the decoder's order: [main] or [boxes, logits]
    classes: int
    names: tuple[str, ...]
    input_size: tuple[int, int]  # (width, height)
    batch: int | None  # images per pass: the static batch (or an NMS export's), None if any
    score_class_columns: bool = False  # rtdetr: [..., score, class] rather than class scores
    dynamic_size: bool = False  # the image input's height and width are not fixed
    stride: int = 32  # the largest stride (Ultralytics' metadata 'stride')


def grid_cells(input_size: tuple[int, int], strides: Sequence[int] = GRID_STRIDES) -> int:
    """Number of grid cells over all strides for a ``(width, height)`` input."""
    w, h = input_size
    return sum(-(-w // s) * -(-h // s) for s in strides)


def is_ultralytics(meta: dict[str, str]) -> bool:
    """Whether the metadata is what Ultralytics' exporter writes."""
    return meta.get("author", "").startswith("Ultralytics") or {"task", "names", "stride"} <= set(
        meta
    )


def _input_size(
    shape: Sequence[Any], meta: dict[str, str], requested: int | tuple[int, int] | None
) -> tuple[int, int]:
    decided = fixed_or_requested_size(shape, requested)
    if decided is not None:
        return decided
    if "imgsz" in meta:  # Ultralytics: [height, width]
        try:
            value = [int(v) for v in meta["imgsz"].strip("[]() ").split(",")]
        except ValueError as exc:
            raise ModelError(f"cannot read the model's 'imgsz' metadata {meta['imgsz']!r}") from exc
        return (value[-1], value[0])
    return DEFAULT_INPUT_SIZE


def _image_dtype(type_name: str, seen: str) -> type[np.floating[Any]]:
    if type_name == "tensor(float)":
        return np.float32
    if type_name == "tensor(float16)":
        return np.float16
    raise ModelError(f"the image input must be float or float16, got {type_name}; {seen}")


def _nms_export_batch(meta: dict[str, str]) -> int | None:
    """Ultralytics ``nms=True`` exports loop over the batch they were traced with (the
    ``batch`` export argument, 1 by default) even with a dynamic batch axis: later images of a
    larger batch come back empty. Such models are run in passes of that size."""
    if not is_ultralytics(meta) or "'nms': True" not in meta.get("args", ""):
        return None
    try:
        return max(int(meta.get("batch", "1")), 1)
    except ValueError:
        return 1


def _stride(meta: dict[str, str], seen: str) -> int:
    try:
        stride = int(meta.get("stride", "32"))
    except ValueError as exc:
        raise ModelError(f"cannot read the model's 'stride' metadata; {seen}") from exc
    return stride if stride > 0 else 32


def _classes_from(names: list[str] | None, count: int | None, seen: str) -> int:
    if count is None or count < 1:
        if names is None:
            raise ModelError(f"cannot tell the class count (dynamic output shape); {seen}")
        return len(names)
    if names is not None and len(names) != count:
        raise ModelError(
            f"the model's outputs hold {count} classes but its metadata lists {len(names)} names; "
            f"{seen}"
        )
    return count


def _family_from_shapes(
    outputs: Sequence[Any], meta: dict[str, str], input_size: tuple[int, int], seen: str
) -> tuple[str, int | None, bool]:
    """(family, classes or None, score/class columns) from the output shapes and metadata."""
    ranks = [len(o.shape) for o in outputs]
    names = meta_names(meta)
    if len(outputs) == 2 and ranks == [3, 3]:
        last = [static_dim(o.shape[2]) for o in outputs]
        if 4 in last and last.count(4) == 1:
            return "detr", last[1 - last.index(4)], False
    if len(outputs) != 1 or ranks != [3]:
        raise ModelError(f"not a detector layout this library reads; {seen}")
    d1, d2 = static_dim(outputs[0].shape[1]), static_dim(outputs[0].shape[2])
    if is_ultralytics(meta):
        task = meta.get("task", "detect")
        if task != "detect":
            raise ModelError(
                f"an Ultralytics '{task}' model: only detection ('detect') models are read; {seen}"
            )
        if names is None:
            raise ModelError(f"Ultralytics metadata without 'names'; {seen}")
        c = len(names)
        if meta.get("head") == "RTDETRDecoder":
            if d2 == 6:
                return "rtdetr", c, True
            if d2 == 4 + c or d2 is None:
                return "rtdetr", c, False
        else:
            # NMS inside (nms=True) or an NMS-free head (YOLO26, YOLOv10): [B, K, 6].
            end2end = meta.get("end2end") == "True" or "'nms': True" in meta.get("args", "")
            if d2 in (6, None) and (end2end or (d2 == 6 and d1 not in (4 + c, None))):
                return "ultralytics-end2end", c, True
            if not end2end and d1 in (4 + c, None):
                return "ultralytics", c, False
        raise ModelError(
            f"Ultralytics metadata ({c} classes) does not fit the output shape; {seen}"
        )
    if d1 is not None and d2 is not None and d1 < d2:
        return "ultralytics", d1 - 4, False  # channels first: [B, 4 + C, N]
    if d2 is None or d2 < 6:
        raise ModelError(
            "not a detector layout this library reads: a single output must be "
            f"[B, 4 + classes, N] or [B, N, 5 + classes]; {seen}"
        )
    family = "yolox" if d1 == grid_cells(input_size) else "yolov5"
    return family, d2 - 5, False


def _classes_of(family: str, outputs: Sequence[Any], score_class: bool) -> int | None:
    if family == "detr":
        last = [static_dim(o.shape[2]) for o in outputs]
        return last[1] if last[0] == 4 else last[0]
    if score_class:
        return None
    d1, d2 = static_dim(outputs[0].shape[1]), static_dim(outputs[0].shape[2])
    if family == "ultralytics":
        return None if d1 is None else d1 - 4
    if family == "rtdetr":
        return None if d2 is None else d2 - 4
    return None if d2 is None else d2 - 5


@dataclass(frozen=True)
class _ProbedOutput:
    name: str
    shape: tuple[int, ...]
    type: str


def _probe_outputs(
    session: Any, image: Any, dtype: type[np.floating[Any]], size: tuple[int, int]
) -> list[_ProbedOutput]:
    """Output shapes from one pass on a blank image, for graphs that leave them symbolic
    (exports with dynamic axes); the batch stays symbolic as the graph says."""
    batch = static_dim(image.shape[0]) or 1
    blank = np.zeros((batch, 3, size[1], size[0]), dtype)
    try:
        values = session.run(None, {image.name: blank})
    except Exception as exc:  # onnxruntime raises its own unrelated types
        raise ModelError(
            f"cannot run the model on a blank {size[0]}x{size[1]} image: "
            f"{' '.join(str(exc).split())}; {describe_session(session)}"
        ) from exc
    return [
        _ProbedOutput(o.name, (o.shape[0], *np.shape(v)[1:]), str(o.type))
        for o, v in zip(session.get_outputs(), values, strict=True)
    ]


def sniff_family(
    session: Any,
    meta: dict[str, str],
    family: str | None = None,
    input_size: int | tuple[int, int] | None = None,
) -> DetectorLayout:
    """Recognise the model's family (or check the one asked for) and read its tensors.

    Output sizes the graph leaves symbolic (dynamic axes) are read from one pass on a blank
    image of the input size.

    Raises
    ------
    ModelError
        If the model is none of :data:`FAMILIES`; the message names its inputs and outputs.
    ConfigurationError
        For an unknown ``family`` or an ``input_size`` the model's fixed input contradicts.
    """
    seen = describe_session(session)
    if family is not None and family not in FAMILIES:
        raise ConfigurationError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(inputs[0].shape) != 4:
        raise ModelError(
            f"not a detector this library reads: it needs one [B, 3, H, W] image input; {seen}"
        )
    image = inputs[0]
    dtype = _image_dtype(str(image.type), seen)
    size = _input_size(image.shape, meta, input_size)
    names = meta_names(meta)
    if any(static_dim(d) is None for o in outputs for d in o.shape[1:]):
        outputs = _probe_outputs(session, image, dtype, size)
    score_class = False
    if family is None:
        family, classes, score_class = _family_from_shapes(outputs, meta, size, seen)
    else:
        if family in ("ultralytics-end2end", "rtdetr"):
            score_class = static_dim(outputs[0].shape[2]) == 6 and (
                family == "ultralytics-end2end" or names is None or len(names) != 2
            )
        classes = _classes_of(family, outputs, score_class)
    count = _classes_from(names, classes, seen)
    order = tuple(o.name for o in outputs)
    if family == "detr" and static_dim(outputs[0].shape[2]) != 4:
        order = order[::-1]  # boxes first
    return DetectorLayout(
        family=family,
        image_input=image.name,
        image_dtype=dtype,
        outputs=order,
        classes=count,
        names=tuple(names if names is not None else class_names(count)),
        input_size=size,
        batch=static_dim(image.shape[0]) or _nms_export_batch(meta),
        score_class_columns=score_class,
        dynamic_size=static_dim(image.shape[2]) is None or static_dim(image.shape[3]) is None,
        stride=_stride(meta, seen),
    )


def class_mask(
    classes: Sequence[str | int] | str | int | None, names: Sequence[str]
) -> NDArray[np.bool_] | None:
    """Boolean mask over a detector's classes from names or ids; None keeps every class.

    Raises
    ------
    ConfigurationError
        For an unknown name or an id out of range.
    """
    if classes is None:
        return None
    if isinstance(classes, (str, int)):
        classes = [classes]
    allowed = np.zeros(len(names), dtype=bool)
    index = {n: i for i, n in enumerate(names)}
    for c in classes:
        if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
            if not 0 <= int(c) < len(names):
                raise ConfigurationError(f"class id {c} out of range 0..{len(names) - 1}")
            allowed[int(c)] = True
        elif isinstance(c, str) and c in index:
            allowed[index[c]] = True
        else:
            raise ConfigurationError(
                f"unknown class {c!r}; the model's classes are {', '.join(names[:10])}"
                + (", ..." if len(names) > 10 else "")
            )
    return allowed


__all__ = [
    "DEFAULT_INPUT_SIZE",
    "FAMILIES",
    "GRID_STRIDES",
    "NMS_DEFAULTS",
    "PREPROCESS",
    "DetectorLayout",
    "Preprocess",
    "class_mask",
    "grid_cells",
    "is_ultralytics",
    "sniff_family",
]
