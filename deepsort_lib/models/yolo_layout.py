"""Recognising a YOLO ONNX model's layout, classes and input size from its inputs, outputs
and metadata (the three layouts are described in :mod:`deepsort_lib.models.yolo`)."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from deepsort_lib.errors import ConfigurationError, ModelError
from deepsort_lib.models.darknet import META_PREFIX, class_names

#: Input size used when neither the model nor its metadata fixes one (the zoo model).
DEFAULT_INPUT_SIZE = (416, 416)


def describe_session(session: Any) -> str:
    def fmt(items: Iterable[Any]) -> str:
        return ", ".join(f"{i.name} {i.type} {list(i.shape)}" for i in items)

    return f"inputs [{fmt(session.get_inputs())}], outputs [{fmt(session.get_outputs())}]"


def static_dim(dim: Any) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


@dataclass(frozen=True)
class Layout:
    kind: str  # "raw" | "decoded" | "zoo"
    image_input: str
    classes: int
    anchors: tuple[tuple[tuple[float, float], ...], ...] = ()
    strides: tuple[tuple[float, float], ...] = ()
    scale_x_y: tuple[float, ...] = ()
    shape_input: str = ""


def sniff_layout(session: Any, meta: dict[str, str]) -> Layout:
    inputs, outputs = session.get_inputs(), session.get_outputs()
    images = [i for i in inputs if len(i.shape) == 4]
    if len(images) != 1:
        raise ModelError(
            "not a YOLO model this library can read: no single image input; "
            + describe_session(session)
        )
    image = images[0].name
    ranks = [len(o.shape) for o in outputs]
    if len(inputs) == 2 and len(outputs) == 3:
        shape_in = next(i for i in inputs if i.name != image)
        boxes = [o for o in outputs if len(o.shape) == 3 and static_dim(o.shape[2]) == 4]
        ints = [o for o in outputs if "int" in str(o.type)]
        scores = [o for o in outputs if o not in boxes and o not in ints and len(o.shape) == 3]
        if len(shape_in.shape) == 2 and len(boxes) == 1 and len(ints) == 1 and len(scores) == 1:
            classes = static_dim(scores[0].shape[1])
            if classes is None:
                raise ModelError(
                    f"model-zoo layout with an unknown class count; {describe_session(session)}"
                )
            return Layout("zoo", image, classes, shape_input=shape_in.name)
    if len(inputs) != 1:
        raise ModelError(f"unknown YOLO layout: {describe_session(session)}")
    if len(outputs) == 1 and ranks == [3]:
        rows, last = static_dim(outputs[0].shape[1]), static_dim(outputs[0].shape[2])
        named = meta_names(meta)
        transposed = (
            rows is not None and last is not None and rows < last
            if named is None
            else last != 5 + len(named) and rows == 4 + len(named)
        )
        if transposed:
            # [B, 4 + C, N]: YOLOv8-style, transposed and without objectness.
            raise ModelError(
                "unknown YOLO layout: the single output looks like [B, 4 + classes, N] "
                "(YOLOv8-style, no objectness), not [B, N, 5 + classes]; "
                + describe_session(session)
            )
        if last is None or last < 6:
            raise ModelError(
                f"unknown YOLO layout: a single rank-3 output must be [B, N, 5 + classes]; "
                f"{describe_session(session)}"
            )
        return Layout("decoded", image, last - 5)
    if ranks and all(r == 4 for r in ranks):
        key = META_PREFIX + "anchors"
        if key not in meta:
            raise ModelError(
                f"the model has raw YOLO heads but no '{key}' metadata (convert it with "
                f"deepsort-convert darknet); {describe_session(session)}"
            )
        anchors = json.loads(meta[key])
        strides = json.loads(meta[META_PREFIX + "strides"])
        sxy = json.loads(meta.get(META_PREFIX + "scale_x_y", json.dumps([1.0] * len(anchors))))
        if len(anchors) != len(outputs):
            raise ModelError(f"metadata lists {len(anchors)} heads, the model has {len(outputs)}")
        channels = [static_dim(o.shape[1]) for o in outputs]
        counts = {c // len(a) - 5 for c, a in zip(channels, anchors, strict=True) if c}
        if len(counts) != 1:
            raise ModelError(f"heads disagree on the class count: {describe_session(session)}")
        return Layout(
            "raw",
            image,
            counts.pop(),
            tuple(tuple((float(w), float(h)) for w, h in a) for a in anchors),
            tuple((float(s[0]), float(s[1])) for s in strides),
            tuple(float(s) for s in sxy),
        )
    raise ModelError(f"unknown YOLO layout: {describe_session(session)}")


def meta_names(meta: dict[str, str]) -> list[str] | None:
    """Class names from our metadata or Ultralytics' ``names`` dict literal; None if absent."""
    if META_PREFIX + "names" in meta:
        return [str(n) for n in json.loads(meta[META_PREFIX + "names"])]
    if "names" in meta:
        try:
            parsed = ast.literal_eval(meta["names"])
        except (ValueError, SyntaxError) as exc:
            raise ModelError(f"cannot read the model's 'names' metadata: {exc}") from exc
        if isinstance(parsed, dict):
            return [str(parsed[k]) for k in sorted(parsed)]
        return [str(n) for n in parsed]
    return None


def names_from_metadata(meta: dict[str, str], classes: int) -> list[str]:
    names = meta_names(meta)
    if names is None:
        return class_names(classes)
    if len(names) != classes:
        raise ModelError(
            f"the model has {classes} classes but its metadata lists {len(names)} names"
        )
    return names


def fixed_or_requested_size(
    shape: Sequence[Any], requested: int | tuple[int, int] | None
) -> tuple[int, int] | None:
    """The ``(width, height)`` an NCHW image input runs at, when its shape or the caller
    decides it: the model's fixed size, else ``requested`` (an int is square), else ``None``
    (the caller reads the model's metadata or takes its default).

    Raises
    ------
    ConfigurationError
        For a size that is not positive, or one that a fixed-size model cannot take.
    """
    static = (static_dim(shape[3]), static_dim(shape[2]))
    wanted: tuple[int, int] | None = None
    if requested is not None:
        wanted = (
            (int(requested), int(requested))
            if isinstance(requested, int)
            else (int(requested[0]), int(requested[1]))
        )
        if min(wanted) <= 0:
            raise ConfigurationError(f"input_size must be positive, got {requested}")
    if static[0] and static[1]:
        fixed = (static[0], static[1])
        if wanted is not None and wanted != fixed:
            raise ConfigurationError(
                f"the model's input is fixed at {fixed[0]}x{fixed[1]}, not {wanted[0]}x{wanted[1]}"
            )
        return fixed
    return wanted


def resolve_input_size(
    session: Any, layout: Layout, meta: dict[str, str], requested: Any
) -> tuple[int, int]:
    shape = next(i.shape for i in session.get_inputs() if i.name == layout.image_input)
    decided = fixed_or_requested_size(shape, requested)
    if decided is not None:
        return decided
    for key in (META_PREFIX + "input_size", "imgsz"):
        if key in meta:
            value = json.loads(meta[key])
            return (
                (int(value[0]), int(value[1])) if key != "imgsz" else (int(value[1]), int(value[0]))
            )
    return DEFAULT_INPUT_SIZE


__all__ = [
    "DEFAULT_INPUT_SIZE",
    "Layout",
    "describe_session",
    "fixed_or_requested_size",
    "meta_names",
    "names_from_metadata",
    "resolve_input_size",
    "sniff_layout",
    "static_dim",
]
