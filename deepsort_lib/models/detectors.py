"""Which reader fits an ONNX detector: one function the CLI and users call with a path."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from deepsort_lib.errors import ConfigurationError
from deepsort_lib.models.darknet import META_PREFIX
from deepsort_lib.models.onnx_detector import OnnxDetector
from deepsort_lib.models.runtime import ProviderSpec, create_session, model_metadata
from deepsort_lib.models.yolo import YOLOv3Detector
from deepsort_lib.models.yolo_layout import describe_session


def reads_as_darknet(session: Any, meta: dict[str, str]) -> bool:
    """Whether the model is one :class:`YOLOv3Detector` reads: converted by this library
    (its metadata), raw YOLO heads, or the ONNX model-zoo YOLOv3 (two inputs, NMS inside)."""
    if any(key.startswith(META_PREFIX) for key in meta):
        return True
    inputs, outputs = session.get_inputs(), session.get_outputs()
    zoo = len(inputs) == 2 and len(outputs) == 3 and any(len(i.shape) == 2 for i in inputs)
    raw_heads = bool(outputs) and all(len(o.shape) == 4 for o in outputs)
    return zoo or raw_heads


def open_onnx_detector(
    path: str | os.PathLike[str],
    *,
    classes: Sequence[str | int] | None = None,
    providers: ProviderSpec = "auto",
    threads: int | None = None,
    **options: Any,
) -> YOLOv3Detector | OnnxDetector:
    """Open an ONNX detector with the reader that fits it.

    Darknet conversions and the model-zoo YOLOv3 go to
    :class:`~deepsort_lib.models.yolo.YOLOv3Detector`; Ultralytics (YOLOv8/11/26, RT-DETR),
    YOLOv5, YOLOX and DETR exports to
    :class:`~deepsort_lib.models.onnx_detector.OnnxDetector`. ``options`` go to the chosen
    class (thresholds, ``input_size``, ...).

    Raises
    ------
    ModelError
        If the file is missing, not loadable, or no reader fits; the message is one line that
        names the model's inputs and outputs.
    ConfigurationError
        For bad options (an option the chosen reader does not take included).
    """
    session = create_session(path, providers=providers, threads=threads)
    meta = model_metadata(session)
    if reads_as_darknet(session, meta):
        # YOLOv3Detector opens its own session (the model is read twice, once here).
        seen = describe_session(session)
        del session
        try:
            return YOLOv3Detector(
                path, classes=classes, providers=providers, threads=threads, **options
            )
        except TypeError as exc:  # an option only OnnxDetector takes
            raise ConfigurationError(f"{exc} (the model reads as a Darknet YOLO; {seen})") from exc
    return OnnxDetector(session, classes=classes, **options)


__all__ = ["open_onnx_detector", "reads_as_darknet"]
