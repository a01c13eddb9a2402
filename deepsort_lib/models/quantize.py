"""Static int8 quantisation of ONNX models with onnxruntime's own tools.

Shared by the detector and the encoder: each supplies calibration inputs (preprocessed the
way it runs the model) and :func:`quantize_int8` does the rest. The output keeps the input
model's metadata (class names, anchors, input normalisation), so a quantised model loads the
same way. :func:`quantize_yolo` is the detector's front end; the encoder's is
:func:`deepsort_lib.models.reid_convert.quantize_encoder`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quant_pre_process,
    quantize_static,
)

from deepsort_lib.errors import InvalidInputError, ModelError
from deepsort_lib.models.darknet import DECODE_PREFIX
from deepsort_lib.models.files import refuse_overwrite, save_model
from deepsort_lib.models.yolo import YOLOv3Detector

CalibrationBatch = Mapping[str, NDArray[Any]]


class _Reader(CalibrationDataReader):  # type: ignore[misc]
    def __init__(self, batches: Iterable[CalibrationBatch]) -> None:
        self._batches: Iterator[CalibrationBatch] = iter(batches)

    def get_next(self) -> dict[str, NDArray[Any]] | None:
        batch = next(self._batches, None)
        return None if batch is None else {k: np.asarray(v) for k, v in batch.items()}


def quantize_int8(
    model_in: str | os.PathLike[str],
    model_out: str | os.PathLike[str],
    calibration: Iterable[CalibrationBatch],
    *,
    per_channel: bool = True,
    method: str = "minmax",
    exclude_nodes: Iterable[str] = (),
    activation_type: str = "uint8",
) -> Path:
    """Write a statically quantised (QDQ, int8) copy of an ONNX model.

    Parameters
    ----------
    model_in, model_out
        Source float model and destination path. The destination is written atomically.
    calibration
        Input feeds (``{input_name: array}``) representative of real use, e.g. the user's own
        frames preprocessed as the model expects. A few dozen are usually enough.
    per_channel
        Per-output-channel weight scales (more accurate for convolutions).
    method
        ``"minmax"``, ``"entropy"`` or ``"percentile"`` activation calibration.
    exclude_nodes
        Node names to leave in float (e.g. the last layers, when they lose accuracy).
    activation_type
        ``"uint8"`` (asymmetric; x86's fastest integer kernels take unsigned activations) or
        ``"int8"``. Both hold the same 256 levels, so accuracy is the same.

    Returns
    -------
    Path
        ``model_out``.

    Raises
    ------
    InvalidInputError
        If no calibration data is given or ``method`` is unknown.
    ModelError
        If onnxruntime cannot quantise the model.
    """
    methods = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }
    if method not in methods:
        raise InvalidInputError(
            f"unknown calibration method {method!r}; use one of {list(methods)}"
        )
    activation_types = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}
    if activation_type not in activation_types:
        raise InvalidInputError(
            f"activation_type must be 'uint8' or 'int8', got {activation_type!r}"
        )
    batches = list(calibration)
    if not batches:
        raise InvalidInputError("quantisation needs at least one calibration input")
    source = Path(model_in)
    if not source.is_file():
        raise ModelError(f"model file not found: {source}")
    refuse_overwrite(model_out, (source,))
    metadata = {
        p.key: p.value for p in onnx.load(str(source), load_external_data=False).metadata_props
    }
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quantized = Path(tmp) / "quantized.onnx"
        try:
            # Shape inference + graph clean-up first, as onnxruntime recommends.
            quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
            quantize_static(
                str(prepared),
                str(quantized),
                _Reader(batches),
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                activation_type=activation_types[activation_type],
                weight_type=QuantType.QInt8,
                calibrate_method=methods[method],
                nodes_to_exclude=list(exclude_nodes),
                extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
            )
        except Exception as exc:  # onnxruntime raises many unrelated types
            raise ModelError(f"onnxruntime could not quantise {source}: {exc}") from exc
        model = onnx.load(str(quantized))
        onnx.helper.set_model_props(model, {**metadata, "deepsort_lib.quantized": "int8-qdq"})
        return save_model(model, model_out, inputs=(source,))


def quantize_yolo(
    model_in: str | os.PathLike[str],
    model_out: str | os.PathLike[str],
    frames: Iterable[NDArray[np.uint8]],
    *,
    input_size: int | tuple[int, int] | None = None,
    method: str = "minmax",
    per_channel: bool = True,
    activation_type: str = "uint8",
) -> Path:
    """Static int8 (QDQ) quantisation of a converted YOLO model, calibrated on your frames.

    Each calibration frame is letterboxed exactly as :class:`YOLOv3Detector` does at run time.
    The box-decoding nodes of a ``decode=True`` model and the nodes producing the outputs
    stay in float (exp/sigmoid of large logits, and pixel coordinates, lose too much in int8).

    Parameters
    ----------
    model_in, model_out
        Float ``.onnx`` from :func:`deepsort_lib.models.darknet.convert_darknet` and the
        destination (written atomically).
    frames
        BGR uint8 frames representative of deployment (a few dozen is plenty).
    input_size, method, per_channel, activation_type
        See :class:`YOLOv3Detector` and :func:`deepsort_lib.models.quantize.quantize_int8`
        (``"uint8"`` activations ran YOLOv3-416 1.6 × faster than ``"int8"`` on AVX-512 VNNI
        at the same agreement with fp32).
    """
    refuse_overwrite(model_out, (model_in,))
    detector = YOLOv3Detector(model_in, input_size=input_size, providers="cpu", threads=1)
    if detector.layout.kind == "zoo":
        raise ModelError("the model-zoo layout has NMS inside and cannot be quantised here")
    feeds = []
    for frame in frames:
        blob, _ = detector.preprocess([frame])
        feeds.append({detector.layout.image_input: blob})
    if not feeds:
        raise InvalidInputError("quantisation needs at least one calibration frame")
    graph = onnx.load(str(model_in), load_external_data=False).graph
    outputs = {o.name for o in graph.output}
    exclude = [
        n.name
        for n in graph.node
        if n.name.startswith(DECODE_PREFIX) or any(o in outputs for o in n.output)
    ]
    return quantize_int8(
        model_in,
        model_out,
        feeds,
        per_channel=per_channel,
        method=method,
        exclude_nodes=exclude,
        activation_type=activation_type,
    )


__all__ = ["CalibrationBatch", "quantize_int8", "quantize_yolo"]
