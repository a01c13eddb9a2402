"""Darknet ``.cfg`` + ``.weights`` → ONNX, written with the ``onnx`` package and numpy only.

One module per concept; every public name is re-exported here, so
``from deepsort_lib.models.darknet import convert_darknet`` is all most users need:

:mod:`~deepsort_lib.models.darknet.cfg`
    Reading ``.cfg`` files strictly (bad values are errors naming section, line and key).
:mod:`~deepsort_lib.models.darknet.shapes`
    Layers and their output shapes (:func:`load_network`).
:mod:`~deepsort_lib.models.darknet.weights`
    The ``.weights`` format: version header, values, batch-norm folding.
:mod:`~deepsort_lib.models.darknet.onnx_export`
    The ONNX graph, its metadata, and :func:`convert_darknet`.
:mod:`~deepsort_lib.models.darknet.random_weights`
    Random but well-scaled weights for tests and benchmarks.
"""

from deepsort_lib.models.darknet.cfg import Section, parse_cfg, parse_cfg_text
from deepsort_lib.models.darknet.onnx_export import (
    DEBIAN_COCO_NAMES,
    DECODE_PREFIX,
    DEFAULT_OPSET,
    META_PREFIX,
    MIN_OPSET,
    build_onnx,
    class_names,
    convert_darknet,
    yolo_metadata,
)
from deepsort_lib.models.darknet.random_weights import write_random_weights
from deepsort_lib.models.darknet.shapes import (
    ConvSpec,
    Network,
    YoloHead,
    load_network,
    resolve_network,
)
from deepsort_lib.models.darknet.weights import (
    DARKNET_BN_EPS,
    WeightsHeader,
    read_weights,
    read_weights_header,
    seen_is_64bit,
)

__all__ = [
    "DARKNET_BN_EPS",
    "DEBIAN_COCO_NAMES",
    "DECODE_PREFIX",
    "DEFAULT_OPSET",
    "META_PREFIX",
    "MIN_OPSET",
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
    "parse_cfg_text",
    "read_weights",
    "read_weights_header",
    "resolve_network",
    "seen_is_64bit",
    "write_random_weights",
    "yolo_metadata",
]
