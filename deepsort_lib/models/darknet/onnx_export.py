"""Emitting the ONNX graph of a resolved Darknet network, its metadata, and the converter.

Written with the ``onnx`` package and numpy only, from the Darknet file formats (no code from
Darknet or other converters). The graph's input is ``images``: ``[batch, 3, height, width]``
float32 RGB in [0, 1], letterboxed; its outputs are the raw YOLO head tensors, or the decoded
boxes when ``decode=True``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

from deepsort_lib.errors import ConfigurationError, ModelError
from deepsort_lib.models.darknet.shapes import (
    MaxPoolSpec,
    Network,
    RouteSpec,
    YoloHead,
    activation_of,
    load_network,
    resolve_ref,
)
from deepsort_lib.models.darknet.weights import fold_batch_norm, read_weights
from deepsort_lib.models.files import refuse_overwrite, write_bytes
from deepsort_lib.models.runtime import check_opset

#: Debian's ``darknet`` package ships the COCO class names here.
DEBIAN_COCO_NAMES = Path("/usr/share/darknet/data/coco.names")
#: Default ONNX opset: Resize/Split forms that TensorRT and older runtimes accept.
DEFAULT_OPSET = 13
#: Oldest opset the emitted graph is valid in (Resize with scales, Slice with inputs).
MIN_OPSET = 13
#: Metadata key prefix used by the converter and read by :mod:`deepsort_lib.models.yolo`.
META_PREFIX = "deepsort_lib.yolo."
#: Name prefix of the decoding nodes (quantisation leaves them in float).
DECODE_PREFIX = "decode/"


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, value: NDArray[np.generic]) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def ints(self, name: str, *values: int) -> str:
        return self.const(name, np.array(values, dtype=np.int64))

    def node(self, op: str, inputs: Sequence[str], name: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, list(inputs), [name], name=name, **attrs))
        return name


def _activate(g: _Graph, x: str, activation: str, name: str) -> str:
    if activation == "linear":
        return x
    if activation == "leaky":
        return g.node("LeakyRelu", [x], name, alpha=0.1)
    if activation == "relu":
        return g.node("Relu", [x], name)
    if activation == "logistic":
        return g.node("Sigmoid", [x], name)
    if activation == "swish":
        return g.node("Mul", [x, g.node("Sigmoid", [x], name + "_sig")], name)
    # mish(x) = x * tanh(softplus(x)); composed so opset < 18 works.
    soft = g.node("Softplus", [x], name + "_softplus")
    return g.node("Mul", [x, g.node("Tanh", [soft], name + "_tanh")], name)


def _decode_head(g: _Graph, x: str, head: YoloHead, k: int) -> str:
    """Graph for sigmoid/grid/anchor decoding of one head → ``[B, A*H*W, 5 + C]``."""
    p = f"{DECODE_PREFIX}{k}/"
    a, (gh, gw), n = len(head.anchors), head.grid, 5 + head.classes
    t = g.node(
        "Transpose",
        [g.node("Reshape", [x, g.ints(p + "shape5", 0, a, n, gh, gw)], p + "reshape")],
        p + "nhwc",
        perm=[0, 1, 3, 4, 2],
    )
    starts = [g.ints(p + f"s{i}", i) for i in (0, 2, 4)]
    ends = [g.ints(p + f"e{i}", i) for i in (2, 4, n)]
    axis = g.ints(p + "axis", 4)
    xy, wh, rest = (
        g.node("Slice", [t, s, e, axis], p + f"slice{i}")
        for i, (s, e) in enumerate(zip(starts, ends, strict=True))
    )
    ys, xs = np.meshgrid(
        np.arange(gh, dtype=np.float32), np.arange(gw, dtype=np.float32), indexing="ij"
    )
    grid = np.stack([xs, ys], axis=-1)[None, None]  # [1, 1, H, W, 2] as (x, y)
    sxy = head.scale_x_y
    stride = np.array(head.stride, dtype=np.float32)
    # (sigmoid * s - (s - 1)/2 + grid) * stride, with the constant terms pre-multiplied.
    xy_scale = g.const(p + "xy_scale", (stride * sxy).astype(np.float32))
    xy_offset = g.const(p + "xy_offset", ((grid - (sxy - 1.0) / 2.0) * stride).astype(np.float32))
    xy_out = g.node(
        "Add",
        [g.node("Mul", [g.node("Sigmoid", [xy], p + "xy_sig"), xy_scale], p + "xy_mul"), xy_offset],
        p + "xy",
    )
    anchors = np.array(head.anchors, dtype=np.float32).reshape(1, a, 1, 1, 2)
    wh_out = g.node(
        "Mul", [g.node("Exp", [wh], p + "wh_exp"), g.const(p + "anchors", anchors)], p + "wh"
    )
    rest_out = g.node("Sigmoid", [rest], p + "conf")
    cat = g.node("Concat", [xy_out, wh_out, rest_out], p + "concat", axis=4)
    return g.node("Reshape", [cat, g.ints(p + "flat", 0, a * gh * gw, n)], p + "rows")


def _route(g: _Graph, network: Network, route: RouteSpec, outputs: list[str], prefix: str) -> str:
    sources = [outputs[s] for s in route.sources]
    if route.groups > 1:
        picked = []
        for j, (s, layer) in enumerate(zip(sources, route.sources, strict=True)):
            c = network.shapes[layer][0] // route.groups
            starts = g.ints(f"{prefix}_{j}_s", c * route.group_id)
            ends = g.ints(f"{prefix}_{j}_e", c * (route.group_id + 1))
            picked.append(
                g.node("Slice", [s, starts, ends, g.ints(f"{prefix}_{j}_a", 1)], f"{prefix}_{j}")
            )
        sources = picked
    return sources[0] if len(sources) == 1 else g.node("Concat", sources, prefix, axis=1)


def build_onnx(
    network: Network,
    values: NDArray[np.float32],
    *,
    decode: bool = False,
    names: str | os.PathLike[str] | Sequence[str] | None = None,
    opset: int = DEFAULT_OPSET,
    source: str = "",
) -> onnx.ModelProto:
    """Build the ONNX graph of a parsed network with its (already length-checked) weights.

    The input is ``images``: ``[batch, 3, height, width]`` float32 RGB in [0, 1], letterboxed.
    Without ``decode`` the outputs are the raw head tensors ``head0, head1, ...`` of shape
    ``[batch, anchors × (5 + classes), grid_h, grid_w]`` (what each ``[yolo]`` layer receives).
    With ``decode`` the single output ``detections`` is ``[batch, boxes, 5 + classes]``: centre
    x, centre y, width, height in input pixels, objectness and per-class probabilities.
    """
    g = _Graph()
    outputs: list[str] = []
    offset = 0
    convs = {c.index: c for c in network.convs}
    x = "images"
    for index, section in enumerate(network.layers):
        kind, prefix = section.kind, f"l{index:03d}_{section.kind[:5]}"
        if kind in ("convolutional", "conv"):
            spec = convs[index]
            kernel, bias = fold_batch_norm(spec, values[offset : offset + spec.weight_count])
            offset += spec.weight_count
            p = spec.padding
            y = g.node(
                "Conv",
                [x, g.const(prefix + "_w", kernel), g.const(prefix + "_b", bias)],
                prefix,
                kernel_shape=[spec.size, spec.size],
                strides=[spec.stride, spec.stride],
                pads=[p, p, p, p],
                group=spec.groups,
            )
            y = _activate(g, y, spec.activation, prefix + "_act")
        elif kind == "shortcut":
            other = outputs[resolve_ref(section, index, section.get_ints("from")[0])]
            y = _activate(
                g, g.node("Add", [x, other], prefix), activation_of(section), prefix + "_act"
            )
        elif kind == "route":
            y = _route(g, network, RouteSpec.of(section, index), outputs, prefix)
        elif kind == "upsample":
            up = float(section.get_int("stride", 2))
            # Darknet copies each input pixel into an s × s block: nearest, floor, asymmetric.
            y = g.node(
                "Resize",
                [x, "", g.const(prefix + "_scales", np.array([1, 1, up, up], dtype=np.float32))],
                prefix,
                mode="nearest",
                coordinate_transformation_mode="asymmetric",
                nearest_mode="floor",
            )
        elif kind == "maxpool":
            pool = MaxPoolSpec.of(section)
            before, after = pool.padding // 2, pool.padding - pool.padding // 2
            y = g.node(
                "MaxPool",
                [x],
                prefix,
                kernel_shape=[pool.size, pool.size],
                strides=[pool.stride, pool.stride],
                pads=[before, before, after, after],
            )
        elif kind == "yolo":
            y = x
        else:  # load_network already rejected it
            raise ModelError(f"layer type [{kind}] is not supported")
        outputs.append(y)
        x = y
    if offset != values.size:
        raise ModelError(f"internal error: used {offset} of {values.size} weights")

    head_tensors = [outputs[h.layer] for h in network.heads]
    classes = network.heads[0].classes
    if decode:
        rows = [_decode_head(g, head_tensors[k], h, k) for k, h in enumerate(network.heads)]
        if len(rows) > 1:
            g.node("Concat", rows, "detections", axis=1)
        else:
            g.node("Identity", rows, "detections")
        boxes = sum(len(h.anchors) * h.grid[0] * h.grid[1] for h in network.heads)
        graph_outputs = [
            helper.make_tensor_value_info(
                "detections", TensorProto.FLOAT, ["batch", boxes, 5 + classes]
            )
        ]
    else:
        graph_outputs = []
        for k, (t, h) in enumerate(zip(head_tensors, network.heads, strict=True)):
            g.node("Identity", [t], f"head{k}")
            graph_outputs.append(
                helper.make_tensor_value_info(
                    f"head{k}", TensorProto.FLOAT, ["batch", h.channels, h.grid[0], h.grid[1]]
                )
            )
    graph = helper.make_graph(
        g.nodes,
        "darknet_yolo",
        [
            helper.make_tensor_value_info(
                "images",
                TensorProto.FLOAT,
                ["batch", network.channels, network.height, network.width],
            )
        ],
        graph_outputs,
        g.initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="deepsort_lib"
    )
    model.ir_version = min(model.ir_version, 8)  # loadable by onnxruntime >= 1.14
    helper.set_model_props(model, yolo_metadata(network, decode=decode, names=names, source=source))
    onnx.checker.check_model(model)
    return model


def class_names(
    classes: int, names: str | os.PathLike[str] | Sequence[str] | None = None
) -> list[str]:
    """Class names for a detector with ``classes`` outputs.

    ``names`` is a names file (one per line), a list, or ``None``: Debian's COCO names when
    there are 80 classes and the file exists, else ``"0", "1", ...``.
    """
    if names is None:
        if classes == 80 and DEBIAN_COCO_NAMES.is_file():
            names = DEBIAN_COCO_NAMES
        else:
            return [str(i) for i in range(classes)]
    if isinstance(names, (str, os.PathLike)):
        path = Path(names)
        if not path.is_file():
            raise ConfigurationError(f"names file not found: {path}")
        listed = [
            line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    else:
        listed = [str(n) for n in names]
    if len(listed) != classes:
        raise ConfigurationError(
            f"the model has {classes} classes but {len(listed)} names were given"
        )
    return listed


def yolo_metadata(
    network: Network,
    *,
    decode: bool,
    names: str | os.PathLike[str] | Sequence[str] | None = None,
    source: str = "",
) -> dict[str, str]:
    """The ``metadata_props`` the detector reads (all values JSON).

    ``input_size`` is ``[width, height]`` in pixels, the library's one size convention.
    """
    heads = network.heads
    meta = {
        "layout": "decoded" if decode else "raw",
        "names": class_names(heads[0].classes, names),
        "input_size": [network.width, network.height],
        "anchors": [[list(a) for a in h.anchors] for h in heads],
        "masks": [list(h.mask) for h in heads],
        "strides": [list(h.stride) for h in heads],
        "scale_x_y": [h.scale_x_y for h in heads],
        "letterbox_fill": 0.5,
        "source": source,
    }
    return {META_PREFIX + k: json.dumps(v) for k, v in meta.items()}


def convert_darknet(
    cfg: str | os.PathLike[str],
    weights: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    decode: bool = False,
    names: str | os.PathLike[str] | Sequence[str] | None = None,
    opset: int = DEFAULT_OPSET,
    input_size: int | tuple[int, int] | None = None,
) -> Path:
    """Convert a Darknet YOLO model to ONNX.

    Parameters
    ----------
    cfg, weights
        The Darknet ``.cfg`` and ``.weights`` files.
    output
        Destination ``.onnx``; written atomically (nothing is left behind on error), never
        onto ``cfg`` or ``weights``.
    decode
        Bake box decoding into the graph (single ``[B, N, 5 + C]`` output) instead of
        emitting the raw head tensors.
    names
        Class names file or list (see :func:`class_names`).
    opset
        ONNX opset, from 13 to the newest the installed onnx and onnxruntime load
        (:func:`~deepsort_lib.models.runtime.check_opset`).
    input_size
        Override the cfg's input size: ``416`` or ``(width, height)`` in pixels.

    Returns
    -------
    Path
        ``output``.

    Raises
    ------
    ModelError
        Unsupported layers or values in the cfg, a weights file that does not match it, or an
        opset onnxruntime cannot load (checked before anything is read or written).
    ConfigurationError
        An opset below 13, a bad ``input_size`` or ``names``, or ``output`` naming an input.
    """
    opset = check_opset(opset, MIN_OPSET)
    refuse_overwrite(output, (cfg, weights))
    network = load_network(cfg, input_size)
    _, values = read_weights(network, weights)
    model = build_onnx(
        network, values, decode=decode, names=names, opset=opset, source=Path(cfg).name
    )
    return write_bytes(output, model.SerializeToString(), inputs=(cfg, weights))


__all__ = [
    "DEBIAN_COCO_NAMES",
    "DECODE_PREFIX",
    "DEFAULT_OPSET",
    "META_PREFIX",
    "MIN_OPSET",
    "build_onnx",
    "class_names",
    "convert_darknet",
    "yolo_metadata",
]
