"""Resolving a parsed cfg into layers with shapes: what each layer reads and outputs.

Layer indices count the sections after ``[net]``; negative ``route``/``shortcut`` references
are relative to the current layer. Darknet's max-pool with ``padding = size - 1`` (its
default) pads ``padding // 2`` before and the rest after, so yolov3-tiny's ``size=2 stride=1``
pool keeps the spatial size by padding one row/column at the bottom/right only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from deepsort_lib.errors import ConfigurationError, ModelError
from deepsort_lib.models.darknet.cfg import Section, parse_cfg

SUPPORTED_ACTIVATIONS = ("leaky", "linear", "relu", "logistic", "mish", "swish")


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
    grid: tuple[int, int]  # (height, width): the tensor's axis order
    stride: tuple[float, float]  # (x, y) in input pixels
    anchors: tuple[tuple[float, float], ...]  # (w, h) in input pixels, masked
    mask: tuple[int, ...]
    classes: int
    scale_x_y: float


@dataclass(frozen=True)
class MaxPoolSpec:
    """Kernel, stride and total padding of a ``[maxpool]`` layer."""

    size: int
    stride: int
    padding: int

    @classmethod
    def of(cls, section: Section) -> MaxPoolSpec:
        """Read and check a ``[maxpool]`` section."""
        if "stride_x" in section.options or "stride_y" in section.options:
            raise section.error("stride_x/stride_y are not supported")
        stride = section.get_int("stride", 1, minimum=1)
        size = section.get_int("size", stride, minimum=1)
        return cls(size, stride, section.get_int("padding", size - 1, minimum=0))


@dataclass(frozen=True)
class RouteSpec:
    """Source layers and channel group of a ``[route]`` layer."""

    sources: tuple[int, ...]  # absolute layer indices
    groups: int
    group_id: int

    @classmethod
    def of(cls, section: Section, index: int) -> RouteSpec:
        """Read and check a ``[route]`` section (layer ``index``)."""
        sources = tuple(resolve_ref(section, index, v) for v in section.get_ints("layers"))
        if not sources:
            raise section.error("'layers=' names no layer")
        groups = section.get_int("groups", 1, minimum=1)
        group_id = section.get_int("group_id", 0, minimum=0)
        if group_id >= groups:
            raise section.error(f"group_id={group_id} must be below groups={groups}")
        return cls(sources, groups, group_id)


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


def resolve_ref(section: Section, index: int, value: int) -> int:
    """Absolute index of the layer that layer ``index`` refers to as ``value``."""
    target = index + value if value < 0 else value
    if not 0 <= target < index:
        raise ModelError(
            f"[{section.kind}] at line {section.line} (layer {index}) refers to layer {value}, "
            "which does not exist before it"
        )
    return target


def activation_of(section: Section) -> str:
    """The section's ``activation`` (``linear`` when absent), if supported."""
    name = section.options.get("activation", "linear").strip().lower()
    if name not in SUPPORTED_ACTIVATIONS:
        raise section.error(
            f"activation {name!r} is not supported (supported: {', '.join(SUPPORTED_ACTIVATIONS)})"
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
        Network input as ``size`` or ``(width, height)`` in pixels; defaults to the cfg's
        ``[net]`` ``width``/``height``. Each side must be a multiple of the network's total
        stride.

    Raises
    ------
    ModelError
        If the cfg cannot be read, holds a value that is not a number or out of range (the
        message names the section, its line and the key), or describes no YOLO detector.
    ConfigurationError
        If ``input_size`` is not positive.
    """
    return resolve_network(parse_cfg(cfg), input_size, str(cfg))


def resolve_network(
    sections: list[Section],
    input_size: int | tuple[int, int] | None = None,
    name: str = "<cfg>",
) -> Network:
    """Resolve the shapes of parsed sections (see :func:`load_network`)."""
    net = sections[0]
    if input_size is None:
        width, height = net.get_int("width", 416), net.get_int("height", 416)
        if width <= 0 or height <= 0:
            raise net.error(f"width={width}, height={height} must be positive")
    elif isinstance(input_size, int):
        width = height = input_size
    else:
        width, height = int(input_size[0]), int(input_size[1])
    if width <= 0 or height <= 0:
        raise ConfigurationError(f"input size must be positive, got {width}x{height}")
    network = Network(sections, width, height, net.get_int("channels", 3, minimum=1))
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
        raise ModelError(f"{name}: no [yolo] layer, this is not a YOLO detector")
    classes = {h.classes for h in network.heads}
    if len(classes) != 1:
        raise ModelError(f"{name}: [yolo] layers disagree on classes: {sorted(classes)}")
    return network


def _conv_shape(
    network: Network, index: int, section: Section, prev: tuple[int, int, int]
) -> tuple[int, int, int]:
    c, h, w = prev
    for key, neutral in (("binary", 0), ("xnor", 0), ("antialiasing", 0), ("dilation", 1)):
        if section.get_int(key, neutral) != neutral:
            raise section.error(f"'{key}' is not supported")
    filters = section.get_int("filters", 1, minimum=1)
    size = section.get_int("size", 1, minimum=1)
    stride = section.get_int("stride", 1, minimum=1)
    if section.get_int("pad", 0):
        padding = size // 2
    else:
        padding = section.get_int("padding", 0, minimum=0)
    groups = section.get_int("groups", 1, minimum=1)
    if c % groups or filters % groups:
        raise section.error(
            f"groups={groups} does not divide {c} input channels and {filters} filters"
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
            activation_of(section),
        )
    )
    return (
        filters,
        (h + 2 * padding - size) // stride + 1,
        (w + 2 * padding - size) // stride + 1,
    )


def _yolo_head(
    network: Network, index: int, section: Section, prev: tuple[int, int, int]
) -> YoloHead:
    c, h, w = prev
    classes = section.get_int("classes", 20, minimum=1)
    anchors_flat = section.get_floats("anchors", positive=True)
    if len(anchors_flat) % 2:
        raise section.error(f"anchors= holds {len(anchors_flat)} numbers, not (w, h) pairs")
    num = section.get_int("num", len(anchors_flat) // 2, minimum=1)
    mask = section.get_ints("mask", list(range(num)))
    if len(anchors_flat) < 2 * num or not mask or any(not 0 <= m < num for m in mask):
        raise section.error(
            f"anchors/mask/num disagree: {len(anchors_flat) // 2} anchors, num={num}, mask={mask}"
        )
    if section.get_int("new_coords", 0):
        raise section.error("new_coords=1 is not supported")
    if c != len(mask) * (5 + classes):
        raise section.error(
            f"input has {c} channels, expected "
            f"{len(mask)} × (5 + {classes}) = {len(mask) * (5 + classes)}"
        )
    return YoloHead(
        layer=index,
        channels=c,
        grid=(h, w),
        stride=(network.width / w, network.height / h),
        anchors=tuple((anchors_flat[2 * m], anchors_flat[2 * m + 1]) for m in mask),
        mask=tuple(mask),
        classes=classes,
        scale_x_y=section.get_float("scale_x_y", 1.0, positive=True),
    )


def _layer_shape(
    network: Network, index: int, section: Section, prev: tuple[int, int, int]
) -> tuple[int, int, int]:
    c, h, w = prev
    kind = section.kind
    if kind in ("convolutional", "conv"):
        return _conv_shape(network, index, section, prev)
    if kind == "shortcut":
        source = section.get_ints("from")
        if len(source) != 1 or "weights_type" in section.options:
            raise section.error("only a single 'from' is supported")
        other = network.shapes[resolve_ref(section, index, source[0])]
        if other != prev:
            raise section.error(f"adds shapes {other} and {prev}; only equal shapes are supported")
        activation_of(section)
        return prev
    if kind == "route":
        route = RouteSpec.of(section, index)
        shapes = [network.shapes[s] for s in route.sources]
        if len({s[1:] for s in shapes}) != 1:
            raise section.error(f"joins different sizes: {shapes}")
        if any(s[0] % route.groups for s in shapes):
            raise section.error(f"groups={route.groups} does not divide the channels of {shapes}")
        return sum(s[0] // route.groups for s in shapes), shapes[0][1], shapes[0][2]
    if kind == "upsample":
        stride = section.get_int("stride", 2, minimum=1)
        if section.get_float("scale", 1.0) != 1.0:
            raise section.error("only positive integer strides are supported, not 'scale'")
        return c, h * stride, w * stride
    if kind == "maxpool":
        pool = MaxPoolSpec.of(section)
        return (
            c,
            (h + pool.padding - pool.size) // pool.stride + 1,
            (w + pool.padding - pool.size) // pool.stride + 1,
        )
    if kind == "yolo":
        network.heads.append(_yolo_head(network, index, section, prev))
        return prev
    raise ModelError(f"layer type [{kind}] at line {section.line} is not supported")


__all__ = [
    "SUPPORTED_ACTIVATIONS",
    "ConvSpec",
    "MaxPoolSpec",
    "Network",
    "RouteSpec",
    "YoloHead",
    "activation_of",
    "load_network",
    "resolve_network",
    "resolve_ref",
]
