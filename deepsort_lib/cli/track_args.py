"""The options of ``deepsort track``: its description, examples and arguments."""

from __future__ import annotations

import argparse

from deepsort_lib.cli.arguments import positive_int
from deepsort_lib.cli.track_build import TRACKER_OPTIONS
from deepsort_lib.cli.track_many_args import add_many_arguments
from deepsort_lib.cli.track_ray import add_ray_arguments

DESCRIPTION = """\
Track objects in SOURCE and write an annotated video, a MOTChallenge result file and/or a
track log. With no model files it runs out of the box: OpenCV's HOG people detector and the
classical appearance encoder. With no output option it writes out/<name>_tracked.mp4 and
out/<name>_tracks.txt.

SOURCE is a video file, a camera index (0), a folder of images, a MOTChallenge sequence
directory (img1/, det/det.txt, seqinfo.ini), whose public detections are used by default, or
a stream URL (rtsp://, http(s)://, ...).

Several SOURCEs are tracked together in one process (one decoding thread each, the models
batched across them), each exactly as it would be alone: -o is then a folder (default out/)
holding OUTDIR/<name>.mp4 and OUTDIR/<name>.txt per source, named after the source (repeats
get -2, -3). A source that fails mid-run is retried (--retries, --retry-backoff), then given
up while the others go on."""

EPILOG = """\
examples:
  deepsort track data/vtest.avi
  deepsort track data/vtest.avi -o out.mp4 --mot out.txt --max-frames 200 --show-fps
  deepsort track clip.mp4 --detector yolov3.onnx --encoder mars-small128.onnx --classes person,car
  deepsort track MOT16-02/ --encoder none --mot results/MOT16-02.txt
  deepsort track data/vtest.avi --cache-dir cache/ --max-age 60   # detections reused next time
  deepsort track data/vtest.avi --count-line 0,300,768,300 --zone 500,50,760,50,760,250,500,250
  deepsort track data/vtest.avi --mot out.txt --save-features && deepsort refine out.txt
  deepsort track a.mp4 b.mp4 0 rtsp://host/cam -o runs/ --log jsonl --retries 10

Outputs never replace an input, each other, a folder or a special file (see docs/cli.md).
Exit status: 0 on success, 2 on a user error (missing file, unreadable video, bad model,
bad option, failed write), 3 when some of several sources failed mid-run (the others
completed), 130/143/129 when stopped by SIGINT/SIGTERM/SIGHUP. Outputs of a failed or
interrupted run are not written; previous files are kept."""


def add_track_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``deepsort track`` (one source or several) to ``parser``."""
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
    add_many_arguments(parser)
    add_ray_arguments(parser)


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


__all__ = ["DESCRIPTION", "EPILOG", "add_track_arguments"]
