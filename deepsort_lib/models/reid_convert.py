"""Getting re-ID models into the form :class:`~deepsort_lib.models.reid.OnnxEncoder` runs best.

* :func:`convert_tf_frozen_graph`: Deep SORT's ``mars-small128.pb`` (a TensorFlow 1 frozen graph)
  to ONNX with ``tf2onnx`` (optional extra ``deepsort_lib[convert]``, which brings TensorFlow).
* :func:`quantize_encoder`: static int8 (onnxruntime QDQ) calibrated on crops of a real video,
  through the shared :func:`deepsort_lib.models.quantize.quantize_int8`; fast on CPUs.
* :func:`convert_float16`: fp16 weights and activations for GPU execution providers
  (``onnxconverter-common``); on CPUs fp16 is emulated and slower, so use int8 there.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
from numpy.typing import NDArray

from deepsort_lib.errors import ConfigurationError, InvalidInputError, ModelError, SourceError
from deepsort_lib.models.crops import extract_crops
from deepsort_lib.models.files import refuse_overwrite, save_model
from deepsort_lib.models.quantize import quantize_int8
from deepsort_lib.models.reid import (
    MARS_PRESET,
    OnnxEncoder,
    reid_metadata,
    write_reid_metadata,
)
from deepsort_lib.models.runtime import check_opset

#: Returns ``(N, 4)`` tlwh boxes for a BGR frame (e.g. ``lambda f: detector.detect(f).tlwh``).
BoxSource = Callable[[NDArray[np.uint8]], NDArray[np.float64]]


def _require(module: str) -> Any:
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        raise ConfigurationError(
            f"{module} is not installed; install the optional extra: "
            "pip install 'deepsort_lib[convert]'"
        ) from exc


def _rename_io(model: onnx.ModelProto, old: str, new: str) -> None:
    """Rename a graph input/output (tf2onnx keeps TensorFlow's ``name:0`` tensor names)."""
    if old == new:
        return
    for value in (*model.graph.input, *model.graph.output):
        if value.name == old:
            value.name = new
    for node in model.graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]


def convert_tf_frozen_graph(
    pb_path: str | os.PathLike[str],
    onnx_path: str | os.PathLike[str],
    *,
    input_name: str = "images",
    output_name: str = "features",
    opset: int = 17,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Convert a TensorFlow frozen graph (e.g. Deep SORT's ``mars-small128.pb``) to ONNX.

    Parameters
    ----------
    pb_path
        Frozen ``GraphDef`` file.
    onnx_path
        Destination, written atomically.
    input_name, output_name
        Graph node names of the image input and the feature output; the original model's are
        ``images`` (uint8 ``(N, 128, 64, 3)`` BGR) and ``features`` (``(N, 128)``). The ONNX
        model keeps these names (without TensorFlow's ``:0``).
    opset
        ONNX opset to target; one the installed onnxruntime cannot load is refused first
        (:func:`~deepsort_lib.models.runtime.check_opset`).
    metadata
        ``deepsort_lib.reid.*`` entries to store; default: the mars-small128 preset.

    Raises
    ------
    ConfigurationError
        If TensorFlow / tf2onnx are not installed.
    ModelError
        If the file is not a frozen graph with those nodes, the opset is newer than
        onnxruntime loads, or the conversion fails.
    """
    opset = check_opset(opset, 1)
    refuse_overwrite(onnx_path, (pb_path,))
    tf = _require("tensorflow")
    tf2onnx = _require("tf2onnx")
    source = Path(pb_path)
    if not source.is_file():
        raise ModelError(f"frozen graph not found: {source}")
    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(source.read_bytes())
    except Exception as exc:  # protobuf's DecodeError and friends
        raise ModelError(f"{source} is not a TensorFlow frozen graph: {exc}") from exc
    names = {node.name for node in graph_def.node}
    missing = [n for n in (input_name, output_name) if n not in names]
    if missing:
        raise ModelError(f"{source} has no node(s) {missing}; pass input_name/output_name")
    try:
        model, _ = tf2onnx.convert.from_graph_def(
            graph_def,
            input_names=[f"{input_name}:0"],
            output_names=[f"{output_name}:0"],
            opset=opset,
        )
    except Exception as exc:  # tf2onnx raises many unrelated types
        raise ModelError(f"tf2onnx could not convert {source}: {exc}") from exc
    _rename_io(model, f"{input_name}:0", input_name)
    _rename_io(model, f"{output_name}:0", output_name)
    entries = metadata if metadata is not None else reid_metadata(**MARS_PRESET.as_kwargs())
    onnx.helper.set_model_props(model, entries)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ModelError(f"the converted model is not valid ONNX: {exc}") from exc
    return save_model(model, onnx_path, inputs=(source,))


def _random_boxes(
    rng: np.random.Generator, frame_shape: tuple[int, ...], count: int, aspect: float
) -> NDArray[np.float64]:
    """Person-shaped windows (10-60 % of the frame height) at random places, all inside."""
    height, width = frame_shape[0], frame_shape[1]
    h = rng.uniform(0.1, 0.6, count) * height
    w = np.minimum(h * aspect * rng.uniform(0.8, 1.25, count), width)
    x = rng.uniform(0.0, 1.0, count) * (width - w)
    y = rng.uniform(0.0, 1.0, count) * (height - h)
    return np.stack([x, y, w, h], axis=1)


def video_crops(
    video: str | os.PathLike[str],
    size: tuple[int, int],
    *,
    frames: int = 24,
    boxes_per_frame: int = 8,
    seed: int = 0,
    boxes: BoxSource | None = None,
) -> NDArray[np.uint8]:
    """Crops of real frames, for int8 calibration and for accuracy checks.

    Parameters
    ----------
    video
        A file OpenCV can read (e.g. ``data/vtest.avi``).
    size
        Crop ``(width, height)`` in pixels.
    frames
        Frames used, spread evenly over the video.
    boxes_per_frame
        Random person-shaped windows per frame when ``boxes`` is None.
    seed
        Seed of the random windows.
    boxes
        Optional box source (e.g. a person detector); its boxes are used instead.

    Returns
    -------
    ndarray of uint8, shape (n, height, width, 3)
        BGR crops cut as :func:`~deepsort_lib.models.crops.extract_crops` cuts them.

    Raises
    ------
    SourceError
        If the video cannot be read.
    InvalidInputError
        If no crop could be cut.
    """
    if frames < 1 or boxes_per_frame < 1:
        raise InvalidInputError("frames and boxes_per_frame must be >= 1")
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise SourceError(f"cannot open video {video}")
    try:
        total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        wanted = set(np.linspace(0, max(total - 1, 0), frames).astype(int).tolist())
        rng = np.random.default_rng(seed)
        aspect = size[0] / size[1]  # width / height
        out: list[NDArray[np.uint8]] = []
        index = 0
        while wanted and index <= max(wanted):
            if index not in wanted:
                if not capture.grab():
                    break
                index += 1
                continue
            ok, image = capture.read()
            if not ok:
                break
            frame: NDArray[np.uint8] = np.asarray(image, np.uint8)
            wanted.discard(index)
            index += 1
            tlwh = boxes(frame) if boxes is not None else None
            if tlwh is None:
                tlwh = _random_boxes(rng, frame.shape, boxes_per_frame, aspect)
            crops, valid = extract_crops(frame, tlwh, size)
            out.append(crops[valid])
    finally:
        capture.release()
    if not out or sum(len(c) for c in out) == 0:
        raise InvalidInputError(f"no crops could be cut from {video}")
    return np.concatenate(out)


def decompose_elu(model: onnx.ModelProto) -> int:
    """Rewrite ``Elu`` nodes as ``Max(x, alpha * (Exp(Min(x, 0)) - 1))``, in place.

    The two are equal for ``0 <= alpha <= 1`` (for x <= 0, ``alpha * (exp(x) - 1) >= x``;
    for x > 0 the left side is 0 < x); other nodes are left alone. Why: onnxruntime's CPU
    ``Elu`` kernel is slow (a quarter of mars-small128's fp32 time, half of its int8 time,
    measured with onnxruntime's profiler), while ``Exp``/``Min``/``Max`` are vectorised.

    Returns
    -------
    int
        Number of nodes rewritten.
    """
    graph = model.graph
    zero, one = "deepsort_lib.elu.zero", "deepsort_lib.elu.one"
    nodes: list[onnx.NodeProto] = []
    count = 0
    for node in graph.node:
        alpha = next((a.f for a in node.attribute if a.name == "alpha"), 1.0)
        if node.op_type != "Elu" or node.domain not in ("", "ai.onnx") or not 0 <= alpha <= 1:
            nodes.append(node)
            continue
        x, y, name = node.input[0], node.output[0], node.name or f"elu{count}"
        make = onnx.helper.make_node
        nodes += [
            make("Min", [x, zero], [f"{name}/neg"], name=f"{name}/min"),
            make("Exp", [f"{name}/neg"], [f"{name}/exp"], name=f"{name}/exp"),
            make("Sub", [f"{name}/exp", one], [f"{name}/expm1"], name=f"{name}/sub"),
        ]
        last = f"{name}/expm1"
        if alpha != 1.0:
            scale = f"{name}/alpha"
            weight = onnx.numpy_helper.from_array(np.array(alpha, np.float32), scale)
            graph.initializer.append(weight)
            nodes.append(make("Mul", [last, scale], [f"{name}/scaled"], name=f"{name}/mul"))
            last = f"{name}/scaled"
        nodes.append(make("Max", [x, last], [y], name=f"{name}/max"))
        count += 1
    if count:
        graph.initializer.extend(
            [
                onnx.numpy_helper.from_array(np.array(0.0, np.float32), zero),
                onnx.numpy_helper.from_array(np.array(1.0, np.float32), one),
            ]
        )
        del graph.node[:]
        graph.node.extend(nodes)
    return count


def quantize_encoder(
    model_in: str | os.PathLike[str],
    model_out: str | os.PathLike[str],
    calibration_video: str | os.PathLike[str],
    *,
    frames: int = 24,
    boxes_per_frame: int = 8,
    batch_size: int = 16,
    seed: int = 0,
    per_channel: bool = True,
    method: str = "minmax",
    boxes: BoxSource | None = None,
    rewrite_elu: bool = True,
    **encoder_kwargs: Any,
) -> Path:
    """Static int8 copy of a re-ID model, calibrated on crops of a real video.

    Parameters
    ----------
    model_in, model_out
        Float model and destination (written atomically).
    calibration_video
        Video whose crops (see :func:`video_crops`) calibrate the activation ranges.
    frames, boxes_per_frame, seed, boxes
        See :func:`video_crops`.
    batch_size
        Crops per calibration batch.
    per_channel, method
        See :func:`deepsort_lib.models.quantize.quantize_int8`.
    rewrite_elu
        Apply :func:`decompose_elu` first (same function). onnxruntime's CPU ``Elu`` is slow
        and breaks up the integer graph; rewritten, the uint8-activation model runs at about
        2x fp32 (``benchmarks/test_bench_reid.py``).
    **encoder_kwargs
        Preprocessing arguments of :class:`~deepsort_lib.models.reid.OnnxEncoder` for models
        without metadata; the resolved preprocessing is stored in the int8 model.
    """
    refuse_overwrite(model_out, (model_in, calibration_video))
    encoder = OnnxEncoder(model_in, providers="cpu", **encoder_kwargs)
    crops = video_crops(
        calibration_video,
        encoder.input_size,
        frames=frames,
        boxes_per_frame=boxes_per_frame,
        seed=seed,
        boxes=boxes,
    )
    step = max(1, int(batch_size))
    batches = [
        {encoder.input_name: encoder.preprocess(crops[i : i + step])}
        for i in range(0, len(crops), step)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(model_in)
        if rewrite_elu:
            model = onnx.load(str(model_in))
            if decompose_elu(model):
                source = save_model(model, Path(tmp) / "elu.onnx")
        target = quantize_int8(source, model_out, batches, per_channel=per_channel, method=method)
    return write_reid_metadata(target, target, **_resolved(encoder))


def _resolved(encoder: OnnxEncoder) -> dict[str, Any]:
    return {
        "input_size": encoder.input_size,
        "channel_order": encoder.channel_order,
        "layout": encoder.layout,
        "mean": None if encoder.mean is None else encoder.mean.tolist(),
        "std": None if encoder.std is None else encoder.std.tolist(),
        "feature_dim": encoder.feature_dim,
        "preset": encoder.metadata.get("deepsort_lib.reid.preset"),
    }


def convert_float16(
    model_in: str | os.PathLike[str],
    model_out: str | os.PathLike[str],
    *,
    keep_io_types: bool = True,
    op_block_list: list[str] | None = None,
) -> Path:
    """fp16 copy of a model for GPU execution providers (CUDA, TensorRT).

    Parameters
    ----------
    model_in, model_out
        Float32 model and destination (written atomically; metadata is kept).
    keep_io_types
        Keep float32 inputs/outputs (casts are added inside), so the encoder feeds the model
        exactly as before.
    op_block_list
        Operator types left in float32; default: onnxconverter-common's list plus ``Cast``
        (its converter marks a ``Cast`` to float32 as producing float16 without changing the
        cast, which makes models with uint8 inputs, like mars-small128, invalid).

    Raises
    ------
    ConfigurationError
        If onnxconverter-common is not installed.
    ModelError
        If the model cannot be read or converted.
    """
    float16 = _require("onnxconverter_common.float16")
    try:
        model = onnx.load(str(model_in))
        blocked = (
            [*float16.DEFAULT_OP_BLOCK_LIST, "Cast"] if op_block_list is None else op_block_list
        )
        with warnings.catch_warnings():
            # Weights below fp16's range are flushed, and it says so once per value.
            warnings.filterwarnings("ignore", message=".*will be truncated to.*")
            converted = float16.convert_float_to_float16(
                model, keep_io_types=keep_io_types, op_block_list=blocked
            )
    except Exception as exc:  # onnx / onnxconverter-common raise many unrelated types
        raise ModelError(f"cannot convert {model_in} to float16: {exc}") from exc
    meta = {p.key: p.value for p in model.metadata_props}
    onnx.helper.set_model_props(converted, {**meta, "deepsort_lib.precision": "fp16"})
    return save_model(converted, model_out, inputs=(model_in,))


__all__ = [
    "BoxSource",
    "convert_float16",
    "convert_tf_frozen_graph",
    "decompose_elu",
    "quantize_encoder",
    "video_crops",
]
