"""The options of a tracking run, as ``deepsort track`` declares them, and their defaults.

:func:`add_run_arguments` adds them to a parser (the CLI's ``track`` command adds its
several-source and Ray options after them); :func:`track_options` gives their values for
Python callers (e.g. :func:`~deepsort_lib.distributed.ray.track_on_ray`), parsed by the same
declarations so that the defaults are always the command's.
"""

from __future__ import annotations

import argparse
from typing import Any

from deepsort_lib.errors import ConfigurationError
from deepsort_lib.run.arguments import positive_int

#: Largest ``--nn-budget``: features remembered per track (10,000 x 512 float32 = 20 MB).
NN_BUDGET_MAX = 10_000

#: Tracker options: (flag, Tracker keyword, type, default shown in --help, help).
TRACKER_OPTIONS: tuple[tuple[str, str, Any, str, str], ...] = (
    (
        "--max-cosine-distance",
        "max_cosine_distance",
        float,
        "0.2",
        "appearance gate: largest cosine distance for a detection to match a track's gallery; "
        "raise it if ids switch after occlusions, lower it if different people swap ids",
    ),
    (
        "--nn-budget",
        "nn_budget",
        int,
        "100",
        "appearance features remembered per track, older ones forgotten (0: keep all; "
        f"at most {NN_BUDGET_MAX})",
    ),
    (
        "--max-iou-distance",
        "max_iou_distance",
        float,
        "0.7",
        "IoU stage gate: largest 1 - IoU for a match of new/recently lost tracks",
    ),
    (
        "--max-age",
        "max_age",
        int,
        "30",
        "frames a lost track is kept alive (predicted) before deletion; raise it for long "
        "occlusions or with --detect-every",
    ),
    (
        "--n-init",
        "n_init",
        int,
        "3",
        "consecutive matched frames before a track is confirmed and reported",
    ),
)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that describe a run of ``deepsort track`` to ``parser``: SOURCE, the
    models, outputs, counting, running and tracker groups (the CLI adds its several-source
    and Ray groups after them)."""
    parser.add_argument(
        "source",
        metavar="SOURCE",
        nargs="+",
        help="video file, camera index, image folder, MOTChallenge sequence or stream URL; "
        "several are tracked together, -o then naming the output folder",
    )
    models = parser.add_argument_group("models")
    models.add_argument(
        "--detector",
        metavar="hog|public|MODEL.onnx",
        default=None,
        help="'hog': OpenCV's built-in HOG people detector (no download; default for videos); "
        "'public': a MOTChallenge sequence's det/det.txt (default for sequences); "
        "or an ONNX detector, its family recognised from the file: Ultralytics YOLOv8/11/26 or "
        "RT-DETR, YOLOv5, YOLOX, DETR, or a YOLOv3 from deepsort-convert",
    )
    models.add_argument(
        "--encoder",
        metavar="classic|none|MODEL.onnx",
        default="classic",
        help="appearance features: 'classic' (colour/gradient descriptor, no download; "
        "default), 'none' (motion only), or a re-ID .onnx such as mars-small128",
    )
    models.add_argument(
        "--classes",
        metavar="NAMES",
        default=None,
        help="comma-separated class names or ids to keep, e.g. person,car "
        "(default: all the detector reports; HOG only knows 'person')",
    )
    models.add_argument(
        "--min-score",
        type=float,
        default=0.0,
        metavar="S",
        help="drop detections scoring below S before tracking; HOG and YOLO scores are in "
        "[0, 1], public detections keep their file's scale (default: 0)",
    )
    models.add_argument(
        "--providers",
        default="auto",
        metavar="auto|cpu|cuda|tensorrt",
        help="onnxruntime execution providers for .onnx models (default: auto)",
    )
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument(
        "-o",
        "--output",
        metavar="VIDEO.mp4|OUTDIR/",
        default=None,
        help="annotated video (boxes, track ids, class names); with several sources the "
        "output folder (default: out/)",
    )
    outputs.add_argument(
        "--mot",
        metavar="RESULTS.txt",
        default=None,
        help="MOTChallenge result file (frame,id,x,y,w,h,conf,-1,-1,-1); with several "
        "sources always OUTDIR/<name>.txt",
    )
    outputs.add_argument(
        "--log",
        metavar="TRACKS.jsonl|.csv",
        default=None,
        help="per-frame track log as JSON lines or CSV; with several sources 'jsonl' or "
        "'csv' (OUTDIR/<name>.jsonl|.csv)",
    )
    outputs.add_argument(
        "--save-features",
        action="store_true",
        help="also write each reported box's appearance feature next to the --mot file, as "
        "RESULTS.features.npz (frame, id, feature), for `deepsort refine`; needs --mot "
        "(several sources: OUTDIR/<name>.features.npz)",
    )
    outputs.add_argument(
        "--show-fps", action="store_true", help="draw the processing frame rate on the video"
    )
    outputs.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar (outputs are still printed)"
    )
    counting = parser.add_argument_group(
        "counting (confirmed tracks, by a box's bottom-centre, drawn on the video)"
    )
    counting.add_argument(
        "--count-line",
        action="append",
        default=[],
        metavar="X1,Y1,X2,Y2",
        help="count tracks crossing the segment from (X1,Y1) to (X2,Y2), in pixels, per "
        "direction and class: crossing from its right-hand side to its left-hand side is "
        "'in' (for a line drawn left to right, moving up the image); repeatable",
    )
    counting.add_argument(
        "--zone",
        action="append",
        default=[],
        metavar="X1,Y1,X2,Y2,X3,Y3,...",
        help="count tracks entering and leaving the polygon with these corners (at least 3), "
        "and report how many are inside at the end; repeatable",
    )
    run = parser.add_argument_group("running")
    run.add_argument(
        "--max-frames", type=positive_int, default=None, metavar="N", help="stop after N frames"
    )
    run.add_argument(
        "--detect-every",
        type=positive_int,
        default=1,
        metavar="N",
        help="run the detector on every N-th frame; the tracker predicts in "
        "between (faster, less accurate; default: 1)",
    )
    run.add_argument(
        "--cache-dir",
        metavar="DIR",
        default=None,
        help="save detections (+features) there on the first run (MOT det.txt + .npy) and "
        "reuse them on later runs with the same source, detector and encoder",
    )
    tracker = parser.add_argument_group("tracker (Deep SORT; the recommended preset by default)")
    tracker.add_argument(
        "--preset",
        default="recommended",
        metavar="NAME",
        help="named tracker settings: 'recommended' (default: StrongSORT's association with "
        "adaptive coasting; best across the accuracy sweep), 'original' (the paper, faithful), "
        "'strongsort' (EMA appearance, NSA Kalman, global matching) or 'botsort' (xywh Kalman, "
        "low-score second round); the options below override it",
    )
    for flag, _key, kind, default, text in TRACKER_OPTIONS:
        tracker.add_argument(
            flag, type=kind, default=None, metavar="X", help=f"{text} (default: {default})"
        )
    tracker.add_argument(
        "--camera-motion",
        choices=("none", "sparse", "ecc"),
        default="none",
        help="compensate camera motion before association: 'sparse' (optical flow on "
        "background corners), 'ecc' (whole-image alignment); for moving or shaking "
        "cameras (default: none)",
    )
    tracker.add_argument(
        "--gating-only-position",
        action="store_true",
        default=None,
        help="gate matches on the box centre only (not size), for cameras whose boxes "
        "change shape a lot",
    )
    tracker.add_argument(
        "--max-age-seconds",
        type=_positive_seconds,
        default=None,
        metavar="S",
        help="--max-age in seconds of the source (its frame rate, 25 if it has none); "
        "overrides --max-age",
    )
    tracker.add_argument(
        "--reentry",
        type=_reentry_seconds,
        default=None,
        metavar="S",
        help="long-term identities: a track lost for up to S seconds keeps its id when it is "
        "seen again, even elsewhere in the frame (matched by appearance; needs an encoder "
        "or cached features; 0: off; not with --ray; default: 30 s with the 'recommended' "
        "preset and a re-ID model's features (an .onnx encoder or a sequence's det.npy), "
        "else off)",
    )


def track_options(**overrides: Any) -> argparse.Namespace:
    """The options of a ``deepsort track`` run with their defaults, changed by ``overrides``.

    Parsed by :func:`add_run_arguments`, so the defaults are always the command's. Keys are
    the option names with ``_`` for ``-`` (``detector="hog"``, ``max_age=60``).

    Raises
    ------
    ConfigurationError
        For a key that is not an option of ``deepsort track``.
    """
    parser = argparse.ArgumentParser()
    add_run_arguments(parser)
    args = parser.parse_args(["SOURCE"])
    unknown = sorted(set(overrides) - set(vars(args)))
    if unknown:
        raise ConfigurationError(f"not options of deepsort track: {', '.join(unknown)}")
    for key, value in overrides.items():
        setattr(args, key, value)
    return args


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not 0.0 < value < 1e6:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text!r}")
    return value


def _reentry_seconds(text: str) -> float:
    if text.strip() in ("0", "0.0", "off"):
        return 0.0
    return _positive_seconds(text)


__all__ = ["NN_BUDGET_MAX", "TRACKER_OPTIONS", "add_run_arguments", "track_options"]
