"""Darknet ``.cfg`` + ``.weights`` → ONNX, written with the ``onnx`` package and numpy only.

Written from the Darknet file formats (no code from Darknet or other converters):

``.cfg``
    INI-like sections (``[net]``, ``[convolutional]``, ``[shortcut]``, ``[route]``,
    ``[upsample]``, ``[maxpool]``, ``[yolo]``), ``key=value`` lines, ``#``/``;`` comments.
    Layer indices count the sections after ``[net]``; negative ``route``/``shortcut``
    references are relative to the current layer.
``.weights``
    Little-endian. Header: ``major``, ``minor``, ``revision`` as int32, then the number of
    images seen in training: a 64-bit integer when ``major * 10 + minor >= 2`` and both
    ``major`` and ``minor`` are below 1000, a 32-bit integer otherwise. Then float32 values,
    per convolutional layer in cfg order: biases, and when ``batch_normalize=1`` the
    batch-norm scales, rolling means and rolling variances (``filters`` values each), then the
    kernel ``filters × in_channels/groups × size × size`` (OIHW order).

Darknet's inference batch norm is ``scale * (x - mean) / (sqrt(var) + 1e-6) + bias``; it is
folded into the convolution. Darknet's max-pool with ``padding = size - 1`` (its default)
pads ``padding // 2`` before and the rest after, so yolov3-tiny's ``size=2 stride=1`` pool
keeps the spatial size by padding one row/column at the bottom/right only.
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import TensorProto, helper, numpy_helper

from deepsort_lib.errors import ConfigurationError, ModelError

#: Debian's ``darknet`` package ships the COCO class names here.
DEBIAN_COCO_NAMES = Path("/usr/share/darknet/data/coco.names")
#: Darknet's epsilon in its inference batch norm: ``(x - mean) / (sqrt(var) + eps)``.
DARKNET_BN_EPS = 1e-6
#: Default ONNX opset: Resize/Split forms that TensorRT and older runtimes accept.
DEFAULT_OPSET = 13
#: Metadata key prefix used by the converter and read by :mod:`deepsort_lib.models.yolo`.
META_PREFIX = "deepsort_lib.yolo."
#: Name prefix of the decoding nodes (quantisation leaves them in float).
DECODE_PREFIX = "decode/"

_SUPPORTED_ACTIVATIONS = ("leaky", "linear", "relu", "logistic", "mish", "swish")


@dataclass(frozen=True)
class Section:
    """One ``[kind]`` block of a cfg file."""

    kind: str
    options: dict[str, str]
    line: int

    def get_int(self, key: str, default: int | None = None) -> int:
        """Integer option ``key`` (``default`` when absent)."""
        return int(self._get(key, default))

    def get_float(self, key: str, default: float | None = None) -> float:
        """Float option ``key`` (``default`` when absent)."""
        return float(self._get(key, default))

    def get_ints(self, key: str, default: Sequence[int] | None = None) -> list[int]:
        """Comma-separated integer list option ``key``."""
        raw = self.options.get(key)
        if raw is None:
            if default is None:
                raise ModelError(f"[{self.kind}] at line {self.line} needs '{key}='")
            return list(default)
        try:
            return [int(v) for v in raw.split(",") if v.strip()]
        except ValueError as exc:
            raise ModelError(f"[{self.kind}] at line {self.line}: bad {key}={raw!r}") from exc

    def _get(self, key: str, default: float | None) -> float | str:
        if key in self.options:
            value = self.options[key]
            try:
                float(value)
            except ValueError as exc:
                raise ModelError(
                    f"[{self.kind}] at line {self.line}: {key}={value!r} is not a number"
                ) from exc
            return value
        if default is None:
            raise ModelError(f"[{self.kind}] at line {self.line} needs '{key}='")
        return default


def parse_cfg(path: str | os.PathLike[str]) -> list[Section]:
    """Parse a Darknet cfg file into its sections (``[net]`` first).

    Raises
    ------
    ModelError
        If the file is missing, has ``key=value`` lines outside a section, or does not start
        with ``[net]``/``[network]``.
    """
    source = Path(path)
    if not source.is_file():
        raise ModelError(f"cfg file not found: {source}")
    sections: list[Section] = []
    header = re.compile(r"^\[([^\]]+)\]$")
    for number, raw in enumerate(
        source.read_text(encoding="utf-8", errors="replace").splitlines(), 1
    ):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        match = header.match(line)
        if match:
            sections.append(Section(match.group(1).strip().lower(), {}, number))
            continue
        if "=" not in line or not sections:
            raise ModelError(f"{source}:{number}: cannot parse {raw.strip()!r}")
        key, value = (part.strip() for part in line.split("=", 1))
        sections[-1].options[key] = value
    if not sections or sections[0].kind not in ("net", "network"):
        raise ModelError(f"{source}: a Darknet cfg must start with [net]")
    return sections


@dataclass(frozen=True)
class WeightsHeader:
    """The version header of a ``.weights`` file."""

    major: int
    minor: int
    revision: int
    seen: int

    @property
    def seen_is_64bit(self) -> bool:
        """Whether ``seen`` is stored as a 64-bit integer (Darknet format 0.2 and later)."""
        return seen_is_64bit(self.major, self.minor)

    @property
    def size(self) -> int:
        """Header length in bytes."""
        return 12 + (8 if self.seen_is_64bit else 4)


def seen_is_64bit(major: int, minor: int) -> bool:
    """Darknet's rule: ``seen`` is 64-bit from version 0.2 on, unless a field is >= 1000.

    A version field >= 1000 is the marker of old files with transposed fully-connected
    weights (pjreddie's Darknet). OpenCV and AlexeyAB's fork skip that exception, so the
    readers disagree on such files only.
    """
    return major * 10 + minor >= 2 and major < 1000 and minor < 1000


def read_weights_header(data: bytes) -> WeightsHeader:
    """Decode the header at the start of a ``.weights`` file's bytes."""
    if len(data) < 12:
        raise ModelError(f"weights file too short for its header: {len(data)} bytes")
    major, minor, revision = struct.unpack("<3i", data[:12])
    if seen_is_64bit(major, minor):
        if len(data) < 20:
            raise ModelError(f"weights file too short for its header: {len(data)} bytes")
        (seen,) = struct.unpack("<q", data[12:20])
    else:
        if len(data) < 16:
            raise ModelError(f"weights file too short for its header: {len(data)} bytes")
        (seen,) = struct.unpack("<i", data[12:16])
    return WeightsHeader(major, minor, revision, seen)


@dataclass(frozen=True)
class ConvSpec:
    """Shapes of one convolutional layer (what it reads from the weights file)."""

    index: int
    in_channels: int
    filters: int
    size: int
    stride: int
    padding: int
    groups: int
    batch_normalize: bool
    activation: str

    @property
    def weight_count(self) -> int:
        """float32 values this layer takes from the weights file."""
        per_filter = 4 if self.batch_normalize else 1
        kernel = self.filters * (self.in_channels // self.groups) * self.size * self.size
        return per_filter * self.filters + kernel


@dataclass(frozen=True)
class YoloHead:
    """One ``[yolo]`` output."""

    layer: int
    channels: int
    grid: tuple[int, int]  # (height, width)
    stride: tuple[float, float]  # (x, y) in input pixels
    anchors: tuple[tuple[float, float], ...]  # (w, h) in input pixels, masked
    mask: tuple[int, ...]
    classes: int
    scale_x_y: float


@dataclass
class Network:
    """A parsed cfg with every layer's output shape resolved."""

    sections: list[Section]
    width: int
    height: int
    channels: int
    shapes: list[tuple[int, int, int]] = field(default_factory=list)  # (C, H, W) per layer
    convs: list[ConvSpec] = field(default_factory=list)
    heads: list[YoloHead] = field(default_factory=list)

    @property
    def layers(self) -> list[Section]:
        """The sections after ``[net]``."""
        return self.sections[1:]

    @property
    def weight_count(self) -> int:
        """float32 values the weights file must hold after its header."""
        return sum(c.weight_count for c in self.convs)


def _ref(section: Section, index: int, value: int) -> int:
    target = index + value if value < 0 else value
    if not 0 <= target < index:
        raise ModelError(
            f"[{section.kind}] at line {section.line} (layer {index}) refers to layer {value}, "
            "which does not exist before it"
        )
    return target


def _activation(section: Section) -> str:
    name = section.options.get("activation", "linear").strip().lower()
    if name not in _SUPPORTED_ACTIVATIONS:
        raise ModelError(
            f"[{section.kind}] at line {section.line}: activation {name!r} is not supported "
            f"(supported: {', '.join(_SUPPORTED_ACTIVATIONS)})"
        )
    return name


def load_network(
    cfg: str | os.PathLike[str], input_size: int | tuple[int, int] | None = None
) -> Network:
    """Parse a cfg and resolve every layer's output shape.

    Parameters
    ----------
    cfg
        Path to the ``.cfg`` file.
    input_size
        Network input as ``size`` or ``(width, height)``; defaults to the cfg's ``[net]``
        ``width``/``height``. Each side must be a multiple of the network's total stride.
    """
    sections = parse_cfg(cfg)
    net = sections[0]
    if input_size is None:
        width, height = net.get_int("width", 416), net.get_int("height", 416)
    elif isinstance(input_size, int):
        width = height = input_size
    else:
        width, height = int(input_size[0]), int(input_size[1])
    if width <= 0 or height <= 0:
        raise ConfigurationError(f"input size must be positive, got {width}x{height}")
    network = Network(sections, width, height, net.get_int("channels", 3))
    shape = (network.channels, height, width)
    for index, section in enumerate(network.layers):
        shape = _layer_shape(network, index, section, shape)
        if min(shape) <= 0:
            raise ModelError(
                f"[{section.kind}] at line {section.line} (layer {index}) has output shape "
                f"{shape} for a {width}x{height} input"
            )
        network.shapes.append(shape)
    if not network.heads:
        raise ModelError(f"{cfg}: no [yolo] layer, this is not a YOLO detector")
    classes = {h.classes for h in network.heads}
    if len(classes) != 1:
        raise ModelError(f"{cfg}: [yolo] layers disagree on classes: {sorted(classes)}")
    return network


def _layer_shape(
    network: Network, index: int, section: Section, prev: tuple[int, int, int]
) -> tuple[int, int, int]:
    c, h, w = prev
    kind = section.kind
    if kind in ("convolutional", "conv"):
        for key, neutral in (("binary", 0), ("xnor", 0), ("antialiasing", 0), ("dilation", 1)):
            if section.get_int(key, neutral) != neutral:
                raise ModelError(f"[{kind}] at line {section.line}: '{key}' is not supported")
        filters = section.get_int("filters", 1)
        size = section.get_int("size", 1)
        stride = section.get_int("stride", 1)
        padding = size // 2 if section.get_int("pad", 0) else section.get_int("padding", 0)
        groups = section.get_int("groups", 1)
        if c % groups or filters % groups:
            raise ModelError(
                f"[{kind}] at line {section.line}: groups={groups} does not divide "
                f"{c} input channels and {filters} filters"
            )
        network.convs.append(
            ConvSpec(
                index,
                c,
                filters,
                size,
                stride,
                padding,
                groups,
                bool(section.get_int("batch_normalize", 0)),
                _activation(section),
            )
        )
        return (
            filters,
            (h + 2 * padding - size) // stride + 1,
            (w + 2 * padding - size) // stride + 1,
        )
    if kind == "shortcut":
        source = section.get_ints("from")
        if len(source) != 1 or "weights_type" in section.options:
            raise ModelError(
                f"[shortcut] at line {section.line}: only a single 'from' is supported"
            )
        other = network.shapes[_ref(section, index, source[0])]
        if other != prev:
            raise ModelError(
                f"[shortcut] at line {section.line} adds shapes {other} and {prev}; "
                "only equal shapes are supported"
            )
        _activation(section)
        return prev
    if kind == "route":
        sources = [_ref(section, index, v) for v in section.get_ints("layers")]
        shapes = [network.shapes[s] for s in sources]
        if len({s[1:] for s in shapes}) != 1:
            raise ModelError(f"[route] at line {section.line} joins different sizes: {shapes}")
        groups = section.get_int("groups", 1)
        group_id = section.get_int("group_id", 0)
        if any(s[0] % groups for s in shapes) or not 0 <= group_id < groups:
            raise ModelError(
                f"[route] at line {section.line}: bad groups={groups}/group_id={group_id}"
            )
        return sum(s[0] // groups for s in shapes), shapes[0][1], shapes[0][2]
    if kind == "upsample":
        stride = section.get_int("stride", 2)
        if stride < 1 or section.get_float("scale", 1.0) != 1.0:
            raise ModelError(f"[upsample] at line {section.line}: only positive integer strides")
        return c, h * stride, w * stride
    if kind == "maxpool":
        stride = section.get_int("stride", 1)
        size = section.get_int("size", stride)
        padding = section.get_int("padding", size - 1)
        if "stride_x" in section.options or "stride_y" in section.options:
            raise ModelError(f"[maxpool] at line {section.line}: stride_x/stride_y unsupported")
        return c, (h + padding - size) // stride + 1, (w + padding - size) // stride + 1
    if kind == "yolo":
        classes = section.get_int("classes", 20)
        anchors_flat = [
            float(v) for v in section.options.get("anchors", "").split(",") if v.strip()
        ]
        num = section.get_int("num", len(anchors_flat) // 2)
        mask = section.get_ints("mask", list(range(num)))
        if len(anchors_flat) < 2 * num or any(not 0 <= m < num for m in mask):
            raise ModelError(f"[yolo] at line {section.line}: anchors/mask/num disagree")
        if section.get_int("new_coords", 0):
            raise ModelError(f"[yolo] at line {section.line}: new_coords=1 is not supported")
        if c != len(mask) * (5 + classes):
            raise ModelError(
                f"[yolo] at line {section.line}: input has {c} channels, expected "
                f"{len(mask)} × (5 + {classes}) = {len(mask) * (5 + classes)}"
            )
        network.heads.append(
            YoloHead(
                layer=index,
                channels=c,
                grid=(h, w),
                stride=(network.width / w, network.height / h),
                anchors=tuple((anchors_flat[2 * m], anchors_flat[2 * m + 1]) for m in mask),
                mask=tuple(mask),
                classes=classes,
                scale_x_y=section.get_float("scale_x_y", 1.0),
            )
        )
        return prev
    raise ModelError(f"layer type [{kind}] at line {section.line} is not supported")


def read_weights(
    network: Network, weights: str | os.PathLike[str]
) -> tuple[WeightsHeader, NDArray[np.float32]]:
    """Read a ``.weights`` file and check its length against the network.

    Raises
    ------
    ModelError
        If the file is missing, or holds fewer or more float32 values than the cfg needs
        (the message names both counts).
    """
    path = Path(weights)
    if not path.is_file():
        raise ModelError(f"weights file not found: {path}")
    data = path.read_bytes()
    header = read_weights_header(data)
    body = len(data) - header.size
    expected = network.weight_count
    if body % 4:
        raise ModelError(
            f"{path}: {body} bytes after the header is not a whole number of float32 values "
            f"(the cfg needs {expected} values = {expected * 4} bytes)"
        )
    found = body // 4
    if found != expected:
        relation = "too short" if found < expected else "too long"
        raise ModelError(
            f"{path} is {relation} for this cfg: expected {expected} float32 values after the "
            f"{header.size}-byte header (version {header.major}.{header.minor}."
            f"{header.revision}), found {found}"
        )
    return header, np.frombuffer(data, dtype="<f4", offset=header.size).astype(np.float32)


def _fold(
    spec: ConvSpec, values: NDArray[np.float32]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Split one layer's values into (kernel OIHW, bias), folding batch norm."""
    n = spec.filters
    bias = values[:n].astype(np.float64)
    offset = n
    kernel_shape = (n, spec.in_channels // spec.groups, spec.size, spec.size)
    if spec.batch_normalize:
        scales = values[offset : offset + n].astype(np.float64)
        mean = values[offset + n : offset + 2 * n].astype(np.float64)
        var = values[offset + 2 * n : offset + 3 * n].astype(np.float64)
        offset += 3 * n
        factor = scales / (np.sqrt(var) + DARKNET_BN_EPS)
        kernel = (
            values[offset:].reshape(kernel_shape).astype(np.float64) * factor[:, None, None, None]
        )
        bias = bias - mean * factor
    else:
        kernel = values[offset:].reshape(kernel_shape).astype(np.float64)
    return kernel.astype(np.float32), bias.astype(np.float32)


class _Graph:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, value: NDArray[np.generic]) -> str:
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

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
    shape5 = g.const(p + "shape5", np.array([0, a, n, gh, gw], dtype=np.int64))
    t = g.node(
        "Transpose",
        [g.node("Reshape", [x, shape5], p + "reshape")],
        p + "nhwc",
        perm=[0, 1, 3, 4, 2],
    )
    starts = [g.const(p + f"s{i}", np.array([i], dtype=np.int64)) for i in (0, 2, 4)]
    ends = [g.const(p + f"e{i}", np.array([i], dtype=np.int64)) for i in (2, 4, n)]
    axis = g.const(p + "axis", np.array([4], dtype=np.int64))
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
    flat = g.const(p + "flat", np.array([0, a * gh * gw, n], dtype=np.int64))
    return g.node("Reshape", [cat, flat], p + "rows")


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
            kernel, bias = _fold(spec, values[offset : offset + spec.weight_count])
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
            other = outputs[_ref(section, index, section.get_ints("from")[0])]
            y = _activate(
                g, g.node("Add", [x, other], prefix), _activation(section), prefix + "_act"
            )
        elif kind == "route":
            sources = [outputs[_ref(section, index, v)] for v in section.get_ints("layers")]
            groups, group_id = section.get_int("groups", 1), section.get_int("group_id", 0)
            if groups > 1:
                picked = []
                for j, s in enumerate(sources):
                    c = (
                        network.shapes[_ref(section, index, section.get_ints("layers")[j])][0]
                        // groups
                    )
                    picked.append(
                        g.node(
                            "Slice",
                            [
                                s,
                                g.const(
                                    f"{prefix}_{j}_s", np.array([c * group_id], dtype=np.int64)
                                ),
                                g.const(
                                    f"{prefix}_{j}_e",
                                    np.array([c * (group_id + 1)], dtype=np.int64),
                                ),
                                g.const(f"{prefix}_{j}_a", np.array([1], dtype=np.int64)),
                            ],
                            f"{prefix}_{j}",
                        )
                    )
                sources = picked
            y = sources[0] if len(sources) == 1 else g.node("Concat", sources, prefix, axis=1)
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
            stride = section.get_int("stride", 1)
            size = section.get_int("size", stride)
            pad = section.get_int("padding", size - 1)
            y = g.node(
                "MaxPool",
                [x],
                prefix,
                kernel_shape=[size, size],
                strides=[stride, stride],
                pads=[pad // 2, pad // 2, pad - pad // 2, pad - pad // 2],
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
        g.node("Concat", rows, "detections", axis=1) if len(rows) > 1 else g.node(
            "Identity", rows, "detections"
        )
        graph_outputs = [
            helper.make_tensor_value_info(
                "detections",
                TensorProto.FLOAT,
                [
                    "batch",
                    sum(len(h.anchors) * h.grid[0] * h.grid[1] for h in network.heads),
                    5 + classes,
                ],
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
    """The ``metadata_props`` the detector reads (all values JSON)."""
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


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


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
        Destination ``.onnx``; written atomically (nothing is left behind on error).
    decode
        Bake box decoding into the graph (single ``[B, N, 5 + C]`` output) instead of
        emitting the raw head tensors.
    names
        Class names file or list (see :func:`class_names`).
    opset
        ONNX opset (>= 13).
    input_size
        Override the cfg's input ``width``/``height`` (``416`` or ``(w, h)``).

    Returns
    -------
    Path
        ``output``.

    Raises
    ------
    ModelError
        Unsupported layers, or a weights file that does not match the cfg.
    """
    if opset < 13:
        raise ConfigurationError(f"opset must be >= 13, got {opset}")
    network = load_network(cfg, input_size)
    _, values = read_weights(network, weights)
    model = build_onnx(
        network, values, decode=decode, names=names, opset=opset, source=Path(cfg).name
    )
    target = Path(output)
    _atomic_write(target, model.SerializeToString())
    return target


def write_random_weights(
    cfg: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    seed: int = 0,
    version: tuple[int, int, int] = (0, 2, 0),
    seen: int = 0,
    objectness_bias: float = -3.0,
    logit_scale: float = 3.0,
) -> Path:
    """Write a ``.weights`` file of the right layout for ``cfg`` with random but sane values.

    Kernels are He-scaled (``sqrt(2 / fan_in)``). The second moment of every layer's output is
    propagated analytically (for an input uniform in [0, 1]), and each batch norm's rolling
    variance is set to its convolution's predicted output variance times U(0.5, 1.5), as in a
    trained network, so activations stay near unit scale through 100+ layers instead of
    growing with every residual sum. Batch-norm scales are U(0.8, 1.2). Convolutions without
    batch norm (the heads) are scaled to give logits of RMS ``logit_scale``; the objectness
    logits get ``objectness_bias`` on top.

    Parameters
    ----------
    cfg, path
        The cfg to match and the ``.weights`` file to write (atomically).
    seed
        Random seed: the same seed gives the same file.
    version, seen
        Header fields; ``seen`` is written as 64-bit iff :func:`seen_is_64bit`.
    """
    network = load_network(cfg)
    rng = np.random.default_rng(seed)
    convs = {c.index: c for c in network.convs}
    head_inputs = {h.layer - 1: h for h in network.heads}
    chunks: list[NDArray[np.float32]] = []
    # Mean square of each layer's output, propagated assuming independent terms.
    # Mean and mean square of each layer's output; residual sums of positive-mean activations
    # need the cross term 2·E[a]·E[b], or the prediction drifts below the truth.
    m1: list[float] = []
    m2: list[float] = []
    mean, current = 0.5, 1.0 / 3.0  # U(0, 1) pixels
    for index, section in enumerate(network.layers):
        kind = section.kind
        if index in convs:
            spec = convs[index]
            n = spec.filters
            fan_in = spec.in_channels // spec.groups * spec.size * spec.size
            std = np.sqrt(2.0 / fan_in)
            conv_m2 = fan_in * std**2 * current  # zero-mean kernel: E[out^2] = fan_in σ² E[in^2]
            if spec.batch_normalize:
                bias = rng.normal(0.0, 0.1, n)
                scales = rng.uniform(0.8, 1.2, n)
                means = rng.normal(0.0, 0.05 * np.sqrt(conv_m2), n)
                variances = conv_m2 * rng.uniform(0.5, 1.5, n)
                parts = [bias, scales, means, variances]
                out_m2 = float(np.mean(scales**2 * conv_m2 / variances) + np.mean(bias**2))
            else:
                std = logit_scale / np.sqrt(fan_in * current)
                bias = rng.normal(0.0, 0.1, n)
                head = head_inputs.get(index)
                if head is not None:
                    bias[4 :: 5 + head.classes] += objectness_bias
                parts = [bias]
                out_m2 = logit_scale**2 + float(np.mean(bias**2))
            parts.append(rng.normal(0.0, std, n * fan_in))
            chunks.append(np.concatenate(parts).astype("<f4"))
            gain_m1, gain_m2 = _ACTIVATION_GAIN[spec.activation]
            mean, current = gain_m1 * float(np.sqrt(out_m2)), out_m2 * gain_m2
        elif kind == "shortcut":
            other = _ref(section, index, section.get_ints("from")[0])
            current = current + m2[other] + 2.0 * mean * m1[other]
            mean = mean + m1[other]
        elif kind == "route":
            refs = [_ref(section, index, v) for v in section.get_ints("layers")]
            weights = np.array([network.shapes[r][0] for r in refs], dtype=np.float64)
            current = float(np.dot(weights, [m2[r] for r in refs]) / weights.sum())
            mean = float(np.dot(weights, [m1[r] for r in refs]) / weights.sum())
        m1.append(mean)
        m2.append(current)
    major, minor, revision = version
    fmt = "<3iq" if seen_is_64bit(major, minor) else "<3ii"
    body = np.concatenate(chunks).tobytes() if chunks else b""
    target = Path(path)
    _atomic_write(target, struct.pack(fmt, major, minor, revision, seen) + body)
    return target


#: (E[f(x)] / σ, E[f(x)^2] / σ²) for x ~ N(0, σ²) (rough for the smooth ones).
_ACTIVATION_GAIN = {
    "linear": (0.0, 1.0),
    "leaky": (0.9 / np.sqrt(2.0 * np.pi), 0.5 * (1.0 + 0.01)),
    "relu": (1.0 / np.sqrt(2.0 * np.pi), 0.5),
    "logistic": (0.5, 0.3),
    "mish": (0.3, 0.6),
    "swish": (0.3, 0.6),
}


__all__ = [
    "DEBIAN_COCO_NAMES",
    "ConvSpec",
    "Network",
    "Section",
    "WeightsHeader",
    "YoloHead",
    "build_onnx",
    "class_names",
    "convert_darknet",
    "load_network",
    "parse_cfg",
    "read_weights",
    "read_weights_header",
    "seen_is_64bit",
    "write_random_weights",
    "yolo_metadata",
]
