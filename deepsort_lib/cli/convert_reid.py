"""``deepsort-convert`` sub-commands for re-ID models.

* ``mars PB -o ONNX``: Deep SORT's TensorFlow ``mars-small128.pb`` to ONNX (needs the
  ``convert`` extra).
* ``quantize-encoder ONNX --calibration-video VIDEO -o ONNX``: static int8 for CPUs.
* ``fp16-encoder ONNX -o ONNX``: float16 for GPU execution providers.
* ``reid-metadata ONNX --preset NAME``: store preprocessing metadata in any re-ID model.
"""

from __future__ import annotations

import argparse
from typing import Any

from deepsort_lib.io.atomic import check_output_paths

# reid_metadata, not reid: --help need not load onnxruntime and OpenCV.
from deepsort_lib.models.reid_metadata import ENCODER_PRESETS, write_reid_metadata
from deepsort_lib.run.arguments import positive_int, width_height


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from exc


def _mars(args: argparse.Namespace) -> int:
    # Imported here: it pulls in the optional converter dependencies only when used.
    from deepsort_lib.models.reid_convert import convert_tf_frozen_graph

    check_output_paths({"-o": args.output}, {"PB": args.pb})

    out = convert_tf_frozen_graph(
        args.pb,
        args.output,
        input_name=args.input_name,
        output_name=args.output_name,
        opset=args.opset,
    )
    print(f"wrote {out} (ONNX re-ID model converted from {args.pb})")
    return 0


def _preprocessing(args: argparse.Namespace) -> dict[str, Any]:
    given = {
        "input_size": args.input_size,
        "channel_order": args.channel_order,
        "layout": args.layout,
        "mean": args.mean,
        "std": args.std,
    }
    return {k: v for k, v in given.items() if v is not None}


def _quantize(args: argparse.Namespace) -> int:
    from deepsort_lib.models.reid_convert import quantize_encoder

    check_output_paths(
        {"-o": args.output}, {"MODEL": args.model, "--calibration-video": args.calibration_video}
    )

    out = quantize_encoder(
        args.model,
        args.output,
        args.calibration_video,
        frames=args.frames,
        boxes_per_frame=args.boxes_per_frame,
        method=args.method,
        rewrite_elu=args.rewrite_elu,
        **_preprocessing(args),
    )
    print(f"wrote {out} (int8 re-ID model calibrated on {args.calibration_video})")
    return 0


def _fp16(args: argparse.Namespace) -> int:
    from deepsort_lib.models.reid_convert import convert_float16

    check_output_paths({"-o": args.output}, {"MODEL": args.model})
    print(f"wrote {convert_float16(args.model, args.output)} (float16 copy of {args.model})")
    return 0


def _metadata(args: argparse.Namespace) -> int:
    entries = _preprocessing(args)
    if args.preset is not None:
        entries["preset"] = args.preset
    written = write_reid_metadata(args.model, args.output, **entries)
    print(f"wrote {written} (preprocessing metadata: {', '.join(sorted(entries)) or 'none'})")
    return 0


def _add_preprocessing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input-size", type=width_height, help="crop WIDTHxHEIGHT, e.g. 128x256")
    parser.add_argument("--channel-order", choices=["BGR", "RGB"])
    parser.add_argument("--layout", choices=["NCHW", "NHWC"])
    parser.add_argument("--mean", type=_floats, help="per-channel mean, 0-255 units: R,G,B")
    parser.add_argument("--std", type=_floats, help="per-channel std, 0-255 units")


def register(subparsers: Any) -> None:
    """Add the re-ID conversion sub-commands."""
    p = subparsers.add_parser(
        "mars",
        help="convert Deep SORT's mars-small128.pb to ONNX",
        description="Convert the original Deep SORT's TensorFlow re-ID model "
        "(mars-small128.pb) to ONNX for OnnxEncoder. Needs the 'convert' extra (TensorFlow, "
        "tf2onnx). Prints the path it wrote.",
    )
    p.add_argument("pb", help="TensorFlow frozen graph, e.g. mars-small128.pb")
    p.add_argument("-o", "--output", required=True, help="ONNX file to write")
    p.add_argument("--input-name", default="images", help="name of the ONNX input")
    p.add_argument("--output-name", default="features", help="name of the ONNX output")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default: %(default)s)")
    p.set_defaults(handler=_mars)

    q = subparsers.add_parser(
        "quantize-encoder",
        help="static int8 re-ID model for CPUs",
        description="Quantise a float ONNX re-ID model to int8, calibrated on person-sized "
        "crops of your own video, for faster CPU inference. Prints the path it wrote.",
    )
    q.add_argument("model", help="float ONNX re-ID model")
    q.add_argument("--calibration-video", required=True, help="video whose crops calibrate")
    q.add_argument("-o", "--output", required=True, help="ONNX file to write")
    q.add_argument("--frames", type=positive_int, default=24, help="frames used for calibration")
    q.add_argument("--boxes-per-frame", type=positive_int, default=8, help="crops taken per frame")
    q.add_argument("--method", choices=["minmax", "entropy", "percentile"], default="minmax")
    q.add_argument(
        "--keep-elu",
        dest="rewrite_elu",
        action="store_false",
        help="do not rewrite Elu as Max/Exp/Min first (the rewrite is exact and about 1.4x "
        "faster in int8)",
    )
    _add_preprocessing(q)
    q.set_defaults(handler=_quantize)

    h = subparsers.add_parser(
        "fp16-encoder",
        help="float16 re-ID model for GPU providers",
        description="Write a float16 copy of a float32 ONNX re-ID model, for the CUDA and "
        "TensorRT execution providers. Prints the path it wrote.",
    )
    h.add_argument("model", help="float32 ONNX model")
    h.add_argument("-o", "--output", required=True, help="ONNX file to write")
    h.set_defaults(handler=_fp16)

    m = subparsers.add_parser(
        "reid-metadata",
        help="store preprocessing in a re-ID model",
        description="Store the crop preprocessing (input size, channel order, layout, mean, "
        "std, or a named preset) in an ONNX re-ID model's metadata, so OnnxEncoder needs no "
        "options for it. Rewrites MODEL in place unless -o is given. Prints the path it wrote.",
    )
    m.add_argument("model", help="ONNX re-ID model")
    m.add_argument("-o", "--output", help="write here instead of overwriting MODEL")
    m.add_argument("--preset", choices=sorted(ENCODER_PRESETS))
    _add_preprocessing(m)
    m.set_defaults(handler=_metadata)
