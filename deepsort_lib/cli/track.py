"""``deepsort track``: track objects in a video, camera, image folder or MOTChallenge sequence."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError, ModelError, SourceError
from deepsort_lib.io.atomic import AtomicFile
from deepsort_lib.io.mot import DetectionCache
from deepsort_lib.io.sinks import MotSink, Sink, TrackLogSink, VideoSink
from deepsort_lib.io.video import FrameSource, MotSequenceSource, open_source

DESCRIPTION = """\
Track objects in SOURCE and write an annotated video, a MOTChallenge result file and/or a
track log. With no model files it runs out of the box: OpenCV's HOG people detector and the
classical appearance encoder. With no output option it writes out/<name>_tracked.mp4 and
out/<name>_tracks.txt.

SOURCE is a video file, a camera index (0), a folder of images, or a MOTChallenge sequence
directory (img1/, det/det.txt, seqinfo.ini), whose public detections are used by default."""

EPILOG = """\
examples:
  deepsort track data/vtest.avi
  deepsort track data/vtest.avi -o out.mp4 --mot out.txt --max-frames 200 --show-fps
  deepsort track clip.mp4 --detector yolov3.onnx --encoder mars-small128.onnx --classes person,car
  deepsort track MOT16-02/ --encoder none --mot results/MOT16-02.txt
  deepsort track data/vtest.avi --cache-dir cache/ --max-age 60   # detections reused next time

Exit status: 0 on success, 2 on a user error (missing file, unreadable video, bad model,
bad option), 130 when interrupted. Outputs of an interrupted run are not written."""

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
        "appearance features remembered per track, older ones forgotten (0: keep all)",
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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def register(subparsers: Any) -> None:
    """Add the ``track`` sub-command."""
    parser = subparsers.add_parser(
        "track",
        help="track objects in a video, camera, image folder or MOT sequence",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help="video file, camera index, image folder or MOTChallenge sequence",
    )
    models = parser.add_argument_group("models")
    models.add_argument(
        "--detector",
        metavar="hog|public|MODEL.onnx",
        default=None,
        help="'hog': OpenCV's built-in HOG people detector (no download; default for videos); "
        "'public': a MOTChallenge sequence's det/det.txt (default for sequences); "
        "or a YOLOv3 .onnx file (see deepsort-convert)",
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
        help="drop detections scoring below S before tracking (default: 0)",
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
        metavar="VIDEO.mp4",
        default=None,
        help="annotated video (boxes, track ids, class names)",
    )
    outputs.add_argument(
        "--mot",
        metavar="RESULTS.txt",
        default=None,
        help="MOTChallenge result file (frame,id,x,y,w,h,conf,-1,-1,-1)",
    )
    outputs.add_argument(
        "--log",
        metavar="TRACKS.jsonl|.csv",
        default=None,
        help="per-frame track log as JSON lines or CSV",
    )
    outputs.add_argument(
        "--show-fps", action="store_true", help="draw the processing frame rate on the video"
    )
    outputs.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar (outputs are still printed)"
    )
    run = parser.add_argument_group("running")
    run.add_argument(
        "--max-frames", type=_positive_int, default=None, metavar="N", help="stop after N frames"
    )
    run.add_argument(
        "--detect-every",
        type=_positive_int,
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
    tracker = parser.add_argument_group("tracker (Deep SORT; defaults are the original's)")
    tracker.add_argument(
        "--preset",
        default="original",
        metavar="NAME",
        help="named tracker settings: 'original' (the paper; default), 'strongsort' (EMA "
        "appearance, NSA Kalman, global matching) or 'botsort' (xywh Kalman, low-score "
        "second round); the options below override it",
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
    parser.set_defaults(handler=run_track)


# -- building blocks ----------------------------------------------------------------------------


def _tracker_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs = {key: getattr(args, key) for _f, key, *_ in TRACKER_OPTIONS}
    kwargs["gating_only_position"] = args.gating_only_position
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    if kwargs.get("nn_budget") == 0:
        kwargs["nn_budget"] = None
    return kwargs


def _model_path(text: str, role: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise ModelError(f"{role} model not found: {path}")
    if path.suffix.lower() != ".onnx":
        raise ModelError(
            f"{role} model must be an .onnx file, got {path.name} "
            "(convert it with deepsort-convert)"
        )
    return path


def _parse_classes(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise ConfigurationError("--classes needs at least one class name or id")
    return names


def _class_ids(names: list[str], known: tuple[str, ...] | list[str]) -> list[int]:
    ids = []
    for name in names:
        if name.isdigit():
            ids.append(int(name))
        elif name in known:
            ids.append(list(known).index(name))
        else:
            raise ConfigurationError(f"unknown class {name!r}; this detector knows {list(known)}")
    return ids


def build_detector(
    args: argparse.Namespace, source: FrameSource
) -> tuple[Any, list[int] | None, tuple[str, ...] | None]:
    """The detector named by ``--detector``, the class ids to keep, and the class names."""
    classes = _parse_classes(args.classes)
    choice = args.detector
    if choice is None:
        choice = (
            "public"
            if isinstance(source, MotSequenceSource) and source.detections is not None
            else "hog"
        )
    if choice == "public":
        if not isinstance(source, MotSequenceSource) or source.detections is None:
            raise ConfigurationError(
                "--detector public needs a MOTChallenge sequence with det/det.txt"
            )
        return None, (None if classes is None else _class_ids(classes, ())), None
    if choice == "hog":
        from deepsort_lib.models.hog import HOGDetector

        detector = HOGDetector()
        keep = None if classes is None else _class_ids(classes, HOGDetector.class_names)
        return detector, keep, HOGDetector.class_names
    path = _model_path(choice, "detector")
    from deepsort_lib.models.yolo import YOLOv3Detector

    wanted = None if classes is None else [int(c) if c.isdigit() else c for c in classes]
    yolo: Any = YOLOv3Detector(path, classes=wanted, providers=args.providers)
    names = getattr(yolo, "class_names", None) or getattr(yolo, "names", None)
    return yolo, None, (tuple(names) if names is not None else None)


def build_encoder(args: argparse.Namespace) -> Any:
    """The encoder named by ``--encoder`` (``None`` for 'none')."""
    if args.encoder == "none":
        return None
    if args.encoder == "classic":
        from deepsort_lib.models.classic import ClassicEncoder

        return ClassicEncoder()
    path = _model_path(args.encoder, "encoder")
    from deepsort_lib.models.reid import OnnxEncoder

    return OnnxEncoder(path, providers=args.providers)


def build_tracker(args: argparse.Namespace) -> Any:
    """A :class:`~deepsort_lib.tracking.tracker.Tracker` with the command's options."""
    from deepsort_lib.tracking.tracker import Tracker

    return Tracker.from_preset(args.preset, **_tracker_kwargs(args))


def _tag(text: str) -> str:
    stem = Path(text).stem if text not in ("hog", "classic", "none", "public") else text
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)


def _cache_paths(args: argparse.Namespace, source: FrameSource) -> tuple[Path, Path, Path]:
    key = f"{_tag(source.name)}.{_tag(args.detector or 'hog')}.{_tag(args.encoder)}"
    root = Path(args.cache_dir)
    return root / f"{key}.det.txt", root / f"{key}.npy", root / f"{key}.json"


def _load_cache(
    args: argparse.Namespace, source: FrameSource, frames_needed: int | None
) -> DetectionCache | None:
    det, npy, meta = _cache_paths(args, source)
    if not meta.is_file():
        return None
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        covered = int(info["num_frames"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if info.get("settings") != _cache_settings(args):
        return None  # other models, model files or filters: rebuild
    if not (info.get("complete") or (frames_needed is not None and covered >= frames_needed)):
        return None
    return DetectionCache.load(det, npy if npy.is_file() else None, covered)


def _model_identity(choice: str) -> str:
    path = Path(choice)
    if choice in ("hog", "classic", "none", "public") or not path.is_file():
        return choice
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def _cache_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What the cached detections depend on, besides the source."""
    return {
        "detector": _model_identity(args.detector or "hog"),
        "encoder": _model_identity(args.encoder),
        "classes": args.classes,
        "min_score": args.min_score,
    }


def _save_cache(
    args: argparse.Namespace, source: FrameSource, cache: DetectionCache, complete: bool
) -> None:
    det, npy, meta = _cache_paths(args, source)
    cache.save(det, npy if cache.features is not None else None)
    info = {
        "source": str(args.source),
        "detector": args.detector or "hog",
        "encoder": args.encoder,
        "num_frames": cache.num_frames,
        "complete": complete,
        "settings": _cache_settings(args),
        "det": det.name,
        "features": npy.name if cache.features is not None else None,
    }
    # The metadata is written last: a cache without it is incomplete and gets rebuilt.
    with AtomicFile(meta) as out:
        out.write(json.dumps(info, indent=2) + "\n")


def _default_outputs(args: argparse.Namespace, source: FrameSource) -> None:
    if args.output is None and args.mot is None and args.log is None:
        name = _tag(source.name)
        args.output = f"out/{name}_tracked.mp4"
        args.mot = f"out/{name}_tracks.txt"


def _check_outputs(args: argparse.Namespace) -> None:
    if args.log is not None and Path(args.log).suffix.lower() not in (".jsonl", ".csv"):
        raise ConfigurationError(f"--log must end in .jsonl or .csv, got {args.log}")
    if args.output is not None and Path(args.output).suffix.lower() not in (".mp4", ".avi"):
        raise ConfigurationError(f"-o/--output must end in .mp4 or .avi, got {args.output}")
    for path in (args.output, args.mot, args.log):
        if path is not None and Path(path).is_dir():
            raise SourceError(f"output path is a directory: {path}")
    if (
        args.cache_dir is not None
        and Path(args.cache_dir).exists()
        and not Path(args.cache_dir).is_dir()
    ):
        raise SourceError(f"--cache-dir is not a directory: {args.cache_dir}")


def _make_sinks(
    args: argparse.Namespace, source: FrameSource, class_names: tuple[str, ...] | None
) -> list[Sink]:
    sinks: list[Sink] = []
    try:
        if args.output is not None:
            fourcc = "MJPG" if Path(args.output).suffix.lower() == ".avi" else "mp4v"
            sinks.append(
                VideoSink(
                    args.output,
                    source.fps,
                    class_names=class_names,
                    show_fps=args.show_fps,
                    fourcc=fourcc,
                )
            )
        if args.mot is not None:
            sinks.append(MotSink(args.mot))
        if args.log is not None:
            sinks.append(TrackLogSink(args.log, class_names=class_names))
    except BaseException:
        for sink in sinks:
            sink.abort()
        raise
    return sinks


def _progress(total: int | None, desc: str, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit="frame", disable=quiet, file=sys.stderr, dynamic_ncols=True
    )


# -- the command ----------------------------------------------------------------------------------


def run_track(args: argparse.Namespace) -> int:
    """Handler of ``deepsort track``; returns the exit status."""
    from deepsort_lib.pipeline import Pipeline

    _check_outputs(args)
    with ExitStack() as stack:
        source = stack.enter_context(open_source(args.source))
        detector, keep, class_names = build_detector(args, source)
        encoder = build_encoder(args)
        tracker = build_tracker(args)
        motion = None
        if args.camera_motion != "none":
            from deepsort_lib.models.camera_motion import CameraMotionEstimator

            motion = CameraMotionEstimator(method=args.camera_motion)
        pipeline = Pipeline(
            detector,
            tracker,
            encoder,
            detect_every=args.detect_every,
            min_score=args.min_score,
            classes=keep,
            camera_motion=motion,
        )
        total = source.num_frames
        if args.max_frames is not None:
            total = args.max_frames if total is None else min(total, args.max_frames)

        cache: Mapping[int, Detections] | None = None
        if args.cache_dir is not None and detector is not None:
            cache = _load_cache(args, source, total)
            if cache is None:
                with _progress(total, "detecting", args.quiet) as bar:
                    cache = pipeline.build_cache(
                        source, max_frames=args.max_frames, on_frame=lambda _i: bar.update()
                    )
                _save_cache(args, source, cache, complete=args.max_frames is None)
                # Track from what was written (2-decimal boxes), so that later runs from the
                # cache reproduce this one exactly.
                det, npy, _ = _cache_paths(args, source)
                cache = DetectionCache.load(det, npy if npy.is_file() else None, len(cache))
                if not args.quiet:
                    print(f"detections cached in {args.cache_dir}", file=sys.stderr)
                source.close()
                source = stack.enter_context(open_source(args.source))  # second pass
            elif not args.quiet:
                print(f"using cached detections from {args.cache_dir}", file=sys.stderr)

        _default_outputs(args, source)
        sinks = _make_sinks(args, source, class_names)
        if detector is None and isinstance(source, MotSequenceSource):
            cache = source.detections  # public detections
        frames: Any = source
        needs_frames = (
            args.output is not None
            or motion is not None
            or (encoder is not None and getattr(cache, "feature_dim", None) is None)
        )
        if cache is not None and not needs_frames:
            frames = None  # nothing needs pixels: track from the detections without decoding
        with _progress(total, "tracking", args.quiet) as bar:

            def on_frame(result: Any) -> None:
                bar.update()
                bar.set_postfix(tracks=len(result.tracks), refresh=False)

            summary = pipeline.process(
                frames, cache=cache, sinks=sinks, max_frames=args.max_frames, on_frame=on_frame
            )

    origin = ""
    if cache is not None:
        origin = " from cached detections" if detector is not None else " from public detections"
    print(
        f"tracked {summary.frames} frames{origin} at {summary.fps:.1f} fps: "
        f"{len(summary.track_ids)} tracks"
    )
    for path in summary.outputs:
        print(f"wrote {path}")
    return 0


__all__ = ["register", "run_track"]
