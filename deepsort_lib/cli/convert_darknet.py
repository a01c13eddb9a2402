"""``deepsort-convert darknet`` and ``deepsort-convert quantize-detector``.

::

    deepsort-convert darknet yolov3.cfg yolov3.weights -o yolov3.onnx [--decode]
    deepsort-convert quantize-detector yolov3.onnx --calibration-video data/vtest.avi \
        -o yolov3.int8.onnx
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import InvalidInputError, SourceError
from deepsort_lib.io.atomic import check_output_paths
from deepsort_lib.models.darknet import DEFAULT_OPSET, convert_darknet
from deepsort_lib.run.arguments import positive_int, size_or_width_height

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def video_frames(path: Path, count: int) -> Iterator[NDArray[np.uint8]]:
    """``count`` frames spread evenly over a video (all of them if it is shorter)."""
    from deepsort_lib.io.video import sample_video_frames  # OpenCV: loaded when used

    return sample_video_frames(path, count)


def image_frames(paths: Sequence[Path], count: int) -> Iterator[NDArray[np.uint8]]:
    """Up to ``count`` images from files and folders (folders: their image files, sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise SourceError(f"calibration image path not found: {path}")
    import cv2  # loaded when used, not for --help

    for path in files[:count]:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError(f"cannot read image {path}")
        yield np.asarray(image, dtype=np.uint8)


def _convert(args: argparse.Namespace) -> int:
    check_output_paths(
        {"-o": args.output},
        {"CFG": args.cfg, "WEIGHTS": args.weights, "--names": args.names},
    )
    output = convert_darknet(
        args.cfg,
        args.weights,
        args.output,
        decode=args.decode,
        names=args.names,
        opset=args.opset,
        input_size=args.input_size,
    )
    print(f"wrote {output} (ONNX detector converted from {args.cfg} + {args.weights})")
    return 0


def _quantize(args: argparse.Namespace) -> int:
    from deepsort_lib.models.quantize import quantize_yolo  # imports onnxruntime's quantiser

    inputs: dict[str, str | None] = {"MODEL": args.model, "--calibration-video": None}
    inputs["--calibration-video"] = args.calibration_video
    for i, image in enumerate(args.calibration_images or ()):
        inputs[f"--calibration-images[{i}]"] = image
    check_output_paths({"-o": args.output}, inputs)

    frames: list[NDArray[np.uint8]] = []
    if args.calibration_video:
        frames += list(video_frames(Path(args.calibration_video), args.frames))
    if args.calibration_images:
        frames += list(image_frames([Path(p) for p in args.calibration_images], args.frames))
    if not frames:
        raise InvalidInputError(
            "no calibration frames: give --calibration-video and/or --calibration-images"
        )
    output = quantize_yolo(
        args.model,
        args.output,
        frames,
        input_size=args.input_size,
        method=args.method,
        activation_type=args.activation_type,
    )
    print(f"wrote {output} (calibrated on {len(frames)} frames)")
    return 0


def register(subparsers: Any) -> None:
    """Add the ``darknet`` and ``quantize-detector`` sub-commands."""
    convert = subparsers.add_parser(
        "darknet",
        help="convert a Darknet YOLO cfg + weights to ONNX",
        description="Convert a Darknet YOLO model (cfg + weights) to ONNX for YOLOv3Detector.",
    )
    convert.add_argument("cfg", help="Darknet .cfg file")
    convert.add_argument("weights", help="Darknet .weights file")
    convert.add_argument("-o", "--output", required=True, help="output .onnx file")
    convert.add_argument(
        "--decode", action="store_true", help="bake box decoding into the graph ([B, N, 5+C])"
    )
    convert.add_argument(
        "--names", help="class names file, one per line (default: COCO names for 80 classes)"
    )
    convert.add_argument(
        "--input-size",
        type=size_or_width_height,
        help="network input SIZE or WIDTHxHEIGHT (default: the cfg's)",
    )
    convert.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset (>= 13)")
    convert.set_defaults(handler=_convert)

    quant = subparsers.add_parser(
        "quantize-detector",
        help="static int8 quantisation of a converted YOLO model",
        description=(
            "Quantise a converted YOLO model to int8 (QDQ, per-channel weights), calibrated on "
            "your own frames letterboxed exactly as the detector does."
        ),
    )
    quant.add_argument("model", help="float .onnx from 'deepsort-convert darknet'")
    quant.add_argument("-o", "--output", required=True, help="output int8 .onnx file")
    quant.add_argument("--calibration-video", help="video to take calibration frames from")
    quant.add_argument(
        "--calibration-images", nargs="+", help="image files or folders for calibration"
    )
    quant.add_argument(
        "--frames",
        type=positive_int,
        default=32,
        help="frames per source (default: %(default)s)",
    )
    quant.add_argument(
        "--method",
        choices=("minmax", "entropy", "percentile"),
        default="minmax",
        help="activation calibration (default: %(default)s)",
    )
    quant.add_argument(
        "--activation-type",
        choices=("uint8", "int8"),
        default="uint8",
        help="activation integer type (uint8 is faster on x86; default: %(default)s)",
    )
    quant.add_argument(
        "--input-size", type=size_or_width_height, help="network input SIZE or WIDTHxHEIGHT"
    )
    quant.set_defaults(handler=_quantize)


__all__ = ["image_frames", "register", "video_frames"]
