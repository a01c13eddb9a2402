"""``deepsort track``: track objects in a video, camera, image folder or MOTChallenge sequence."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from deepsort_lib.cli.console import quiet_opencv_logs, warn
from deepsort_lib.cli.track_args import DESCRIPTION, EPILOG, add_track_arguments
from deepsort_lib.cli.track_cache import cache_paths, load_cache, save_cache
from deepsort_lib.cli.track_many_args import refuse_many_options
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.io.atomic import check_output_paths
from deepsort_lib.run.build import (
    assemble_pipeline,
    build_counters,
    build_detector,
    build_encoder,
    build_tracker,
    check_features_available,
    feature_kind,
    reentry_seconds,
    tag,
)
from deepsort_lib.run.options import NN_BUDGET_MAX

# The heavy modules (OpenCV, the pipeline) load when the command runs, not for --help.
if TYPE_CHECKING:
    from deepsort_lib.boxes import Detections
    from deepsort_lib.counting import Counters
    from deepsort_lib.io.sinks import Sink
    from deepsort_lib.io.video import FrameSource


def register(subparsers: Any) -> None:
    """Add the ``track`` sub-command."""
    parser = subparsers.add_parser(
        "track",
        help="track objects in videos, cameras, image folders, MOT sequences or stream URLs",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_track_arguments(parser)
    parser.set_defaults(handler=run_track)


# -- building blocks ----------------------------------------------------------------------------


def _default_outputs(args: argparse.Namespace, source: FrameSource) -> None:
    if args.output is None and args.mot is None and args.log is None:
        name = tag(source.name)
        args.output = f"out/{name}_tracked.mp4"
        args.mot = f"out/{name}_tracks.txt"


def _check_options(args: argparse.Namespace) -> None:
    """Checks that need no source: suffixes, folders, counting lines and zones."""
    build_counters(args, None)  # a malformed --count-line / --zone fails before any work
    if args.save_features and args.mot is None:
        raise ConfigurationError(
            "--save-features needs --mot: the features file goes next to the results file"
        )
    for flag, value in (("-o", args.output), ("--mot", args.mot), ("--log", args.log)):
        if value is not None and Path(value).is_dir():
            raise ConfigurationError(f"{flag} {value} is a directory, not a file")
    if args.log is not None and Path(args.log).suffix.lower() not in (".jsonl", ".csv"):
        raise ConfigurationError(f"--log must end in .jsonl or .csv, got {args.log}")
    if args.output is not None and Path(args.output).suffix.lower() not in (".mp4", ".avi"):
        raise ConfigurationError(f"-o/--output must end in .mp4 or .avi, got {args.output}")
    if (
        args.cache_dir is not None
        and Path(args.cache_dir).exists()
        and not Path(args.cache_dir).is_dir()
    ):
        raise ConfigurationError(f"--cache-dir is not a directory: {args.cache_dir}")


def _check_outputs(args: argparse.Namespace, source: FrameSource) -> None:
    """No output may replace an input, another output or a folder (nothing written yet)."""
    from deepsort_lib.io.video import MotSequenceSource

    inputs: dict[str, str | Path | None] = {"SOURCE": None}
    if not str(args.source).isdigit():
        inputs["SOURCE"] = args.source
    if isinstance(source, MotSequenceSource):
        for part in ("det/det.txt", "det/det.npy", "gt/gt.txt", "seqinfo.ini"):
            inputs[f"SOURCE's {part}"] = source.root / part
    for flag, value in (("--detector", args.detector), ("--encoder", args.encoder)):
        if value is not None and Path(value).is_file():
            inputs[flag] = value
    outputs = {"-o": args.output, "--mot": args.mot, "--log": args.log}
    if args.save_features:
        outputs["--save-features"] = str(_features_path(args))
    if args.cache_dir is not None:
        det, npy, meta = cache_paths(args, source)
        outputs.update({"cached det.txt": str(det), "cached .npy": str(npy)})
        outputs["cache metadata"] = str(meta)
    check_output_paths(outputs, inputs)


def _features_path(args: argparse.Namespace) -> Path:
    from deepsort_lib.io.features import features_path_for

    return features_path_for(args.mot)


def _make_sinks(
    args: argparse.Namespace,
    source: FrameSource,
    class_names: tuple[str, ...] | None,
    counters: Counters | None,
) -> list[Sink]:
    from deepsort_lib.io.features import FeaturesSink
    from deepsort_lib.io.sinks import MotSink, TrackLogSink, VideoSink

    # The counters come first: each frame is counted before the video draws its totals.
    # (cast: Counters.write is annotated with the pipeline's FrameResult, which it only reads
    # as the sinks' FrameResultLike.)
    sinks: list[Sink] = [cast("Sink", counters)] if counters is not None else []
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
                    overlays=counters.overlays if counters is not None else None,
                )
            )
        if args.mot is not None:
            sinks.append(MotSink(args.mot))
            if args.save_features:
                sinks.append(cast("Sink", FeaturesSink(_features_path(args))))
        if args.log is not None:
            sinks.append(TrackLogSink(args.log, class_names=class_names, totals=counters))
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
    if args.reentry and args.ray is not None:
        raise ConfigurationError(
            "--reentry does not work with --ray (each task tracks its own chunk of frames)"
        )
    if args.ray is not None:
        from deepsort_lib.cli.track_ray import run_track_ray

        return run_track_ray(args)
    if len(args.source) > 1:
        from deepsort_lib.cli.track_many import run_track_many

        return run_track_many(args)
    refuse_many_options(args)
    args.source = args.source[0]
    from deepsort_lib.io.detection_cache import DetectionCache
    from deepsort_lib.io.video import MotSequenceSource, open_source
    from deepsort_lib.tracking.reentry_defaults import with_reentry

    _check_options(args)
    quiet_opencv_logs()
    with ExitStack() as stack:
        source = stack.enter_context(open_source(args.source))
        _default_outputs(args, source)
        _check_outputs(args, source)
        declared = source.num_frames
        detector, keep, class_names = build_detector(args, source)
        check_features_available(args, source, detector)
        counters = build_counters(args, class_names)  # before any output exists
        encoder = build_encoder(args)
        if args.max_age_seconds is not None:  # the source's frame rate turns it into frames
            args.max_age = max(1, round(args.max_age_seconds * (source.fps or 25.0)))
        seconds = reentry_seconds(args, feature_kind(args, source, detector))
        tracker = with_reentry(build_tracker(args), seconds, source.fps)
        pipeline = assemble_pipeline(args, detector, keep, encoder, tracker)
        total = source.num_frames
        if args.max_frames is not None:
            total = args.max_frames if total is None else min(total, args.max_frames)

        cache: Mapping[int, Detections] | None = None
        origin = ""
        if args.cache_dir is not None and detector is not None:
            cache = load_cache(args, source, total)
            if cache is None:
                with _progress(total, "detecting", args.quiet) as bar:
                    built = pipeline.build_cache(
                        source, max_frames=args.max_frames, on_frame=lambda _i: bar.update()
                    )
                save_cache(args, source, built, complete=args.max_frames is None)
                # Track from what was written (2-decimal boxes), so that later runs from the
                # cache reproduce this one exactly.
                det, npy, _ = cache_paths(args, source)
                cache = DetectionCache.load(det, npy if npy.is_file() else None, len(built))
                if not args.quiet:
                    print(f"detections cached in {args.cache_dir}", file=sys.stderr)
                origin = " (detector run, detections cached)"
                source.close()
                source = stack.enter_context(open_source(args.source))  # second pass
            else:
                origin = " from cached detections"
                if not args.quiet:
                    print(f"using cached detections from {args.cache_dir}", file=sys.stderr)

        sinks = _make_sinks(args, source, class_names, counters)
        if detector is None and isinstance(source, MotSequenceSource):
            cache = source.detections  # public detections
            origin = " from public detections"
        frames: Any = source
        needs_frames = (
            args.output is not None
            or pipeline.camera_motion is not None
            or (encoder is not None and getattr(cache, "feature_dim", None) is None)
        )
        if cache is not None and not needs_frames:
            frames = None  # nothing needs pixels: track from the detections without decoding
        with _progress(total, "tracking", args.quiet) as bar:

            def on_frame(result: Any) -> None:
                bar.update()
                # Confirmed tracks reported on this frame (not the run's distinct ids).
                bar.set_postfix(tracks_now=len(result.tracks), refresh=False)

            summary = pipeline.process(
                frames, cache=cache, sinks=sinks, max_frames=args.max_frames, on_frame=on_frame
            )
        decoded = getattr(source, "frames_decoded", None) if frames is not None else None

    truncated = ""
    wanted = (
        declared if args.max_frames is None or declared is None else min(declared, args.max_frames)
    )
    if decoded is not None and wanted is not None and decoded < wanted:
        truncated = f" (truncated video: {decoded} of {declared} declared frames decoded)"
        warn(
            f"{args.source} declares {declared} frames but only {decoded} could be decoded; "
            "the outputs cover those"
        )
    if not summary.track_ids:
        warn(
            "no tracks at all: no detection was confirmed as a track (check --min-score, "
            "--classes, the detector, or --n-init for short clips)"
        )
    print(
        f"tracked {summary.frames} frames{origin} at {summary.fps:.1f} fps: "
        f"{len(summary.track_ids)} distinct track ids{truncated}"
    )
    if counters is not None:
        for line in counters.summary():
            print(line)
    for path in summary.outputs:
        print(f"wrote {path}")
    return 0


__all__ = ["NN_BUDGET_MAX", "register", "run_track"]
