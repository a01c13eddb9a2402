"""``deepsort track A B ... -o OUTDIR/``: several sources in one process, each as if alone.

Every source is opened and every model built and checked before anything is written (a source
that cannot be opened, an output that would replace an input: one line, exit status 2). Then
:class:`~deepsort_lib.streams.runner.MultiSourceRunner` decodes each source on its own thread
and :class:`~deepsort_lib.cli.track_steps.StreamSteps` runs the models over the frames of all
streams at once, each stream with its own tracker and its own outputs, named after the source
(:mod:`deepsort_lib.cli.track_many_args`). A stream's outputs are what ``deepsort track`` on that
source alone writes (tests/test_cli_multisource.py checks the MOT files byte for byte).

A source that fails mid-run is retried per ``--retries`` / ``--retry-backoff``, then given up:
its outputs keep the frames tracked so far, the summary names it and why, the others go on,
and the exit status is :data:`SOME_STREAMS_FAILED`. Ctrl-C / SIGTERM stop every stream: outputs
of streams already done stay, the others are discarded (``cli.main`` prints the one line).
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from deepsort_lib.cli.console import quiet_opencv_logs, warn
from deepsort_lib.cli.track_many_args import (
    DEFAULT_BACKOFF_S,
    DEFAULT_RETRIES,
    MAX_BACKOFF_S,
    check_many_options,
)
from deepsort_lib.io.atomic import check_output_paths
from deepsort_lib.run.build import (
    build_counters,
    build_detector,
    build_encoder,
    build_tracker,
    check_features_available,
    detector_choice,
    feature_kind,
    reentry_seconds,
)

if TYPE_CHECKING:
    from deepsort_lib.cli.track_steps import StreamPlan
    from deepsort_lib.counting import Counters
    from deepsort_lib.io.sinks import Sink
    from deepsort_lib.io.video import FrameSource
    from deepsort_lib.streams.runner import StreamInfo

#: Exit status when some streams failed mid-run and the others completed (2 is a user error).
SOME_STREAMS_FAILED = 3


class _FirstThenReopen:
    """A source spec for the runner: the source opened by the checks, then fresh ones.

    The checks open every source before anything is written; the runner's first open takes
    that one, and a reconnection opens the source again.
    """

    def __init__(self, spec: str, first: FrameSource, live: bool) -> None:
        self.spec, self.live = spec, live
        self._first: FrameSource | None = first

    def __call__(self) -> FrameSource:
        from deepsort_lib.io.video import open_source

        first, self._first = self._first, None
        return first if first is not None else open_source(self.spec)

    def close(self) -> None:
        """Close the first source if the runner never took it."""
        first, self._first = self._first, None
        if first is not None:
            first.close()


@dataclass
class _Stream:
    """One source with everything the run needs for it."""

    name: str
    spec: str
    source: FrameSource
    plan: StreamPlan
    class_names: tuple[str, ...] | None
    counters: Counters | None
    reentry_s: float | None


def _outputs(args: argparse.Namespace, folder: Path, name: str) -> dict[str, Path | None]:
    """The files of stream ``name`` in the single-source sinks' order."""
    from deepsort_lib.io.features import features_path_for

    mot = folder / f"{name}.txt"
    return {
        "video": None if args.no_video else folder / f"{name}.mp4",
        "MOT results": mot,
        "features": features_path_for(mot) if args.save_features else None,
        "log": None if args.log is None else folder / f"{name}.{args.log}",
    }


def _inputs(args: argparse.Namespace, streams: list[_Stream]) -> dict[str, str | Path | None]:
    from deepsort_lib.io.url import is_url
    from deepsort_lib.io.video import MotSequenceSource

    inputs: dict[str, str | Path | None] = {}
    for stream in streams:
        if not stream.spec.isdigit() and not is_url(stream.spec):
            inputs[f"SOURCE {stream.name}"] = stream.spec
        if isinstance(stream.source, MotSequenceSource):
            for part in ("det/det.txt", "det/det.npy", "gt/gt.txt", "seqinfo.ini"):
                inputs[f"SOURCE {stream.name}'s {part}"] = stream.source.root / part
    for flag, value in (("--detector", args.detector), ("--encoder", args.encoder)):
        if value is not None and Path(value).is_file():
            inputs[flag] = value
    return inputs


def _open_streams(args: argparse.Namespace, names: list[str], opened: list[Any]) -> tuple[
    list[_Stream], Any, Any
]:  # fmt: skip
    """Open each source and build the models; appends each open source to ``opened``."""
    from deepsort_lib.cli.track_steps import StreamPlan
    from deepsort_lib.io.video import MotSequenceSource, open_source

    streams: list[_Stream] = []
    shared: tuple[Any, list[int] | None, tuple[str, ...] | None] | None = None
    for name, spec in zip(names, args.source, strict=True):
        source = open_source(spec)
        opened.append(source)
        if detector_choice(args, source) == "public":
            found, keep, class_names = build_detector(args, source)
        else:  # one detector (same options) for every stream that runs one
            shared = shared if shared is not None else build_detector(args, source)
            found, keep, class_names = shared
        check_features_available(args, source, found)
        reentry_s = reentry_seconds(args, feature_kind(args, source, found))
        public = None
        if found is None and isinstance(source, MotSequenceSource):
            public = source.detections
        motion = None
        if args.camera_motion != "none":
            from deepsort_lib.models.camera_motion import CameraMotionEstimator

            motion = CameraMotionEstimator(method=args.camera_motion)
        plan = StreamPlan(public=public, classes=keep, camera_motion=motion)
        counters = build_counters(args, class_names)
        streams.append(_Stream(name, str(spec), source, plan, class_names, counters, reentry_s))
    encoder = build_encoder(args)
    return streams, None if shared is None else shared[0], encoder


def _tracker_for(args: argparse.Namespace, source: FrameSource) -> Any:
    own = copy.copy(args)
    if args.max_age_seconds is not None:  # this source's frame rate turns it into frames
        own.max_age = max(1, round(args.max_age_seconds * (source.fps or 25.0)))
    return build_tracker(own)


def _sink_factory(args: argparse.Namespace, folder: Path, streams: dict[str, _Stream]) -> Any:
    from deepsort_lib.io.features import FeaturesSink
    from deepsort_lib.io.sinks import MotSink, TrackLogSink, VideoSink

    def make(info: StreamInfo) -> list[Sink]:
        stream = streams[str(info.stream_id)]
        paths = _outputs(args, folder, stream.name)
        counters = stream.counters
        # As the single-source command: counters first, so the video draws this frame's totals.
        made: list[Sink] = [cast("Sink", counters)] if counters is not None else []
        try:
            if paths["video"] is not None:
                made.append(
                    VideoSink(
                        paths["video"],
                        stream.source.fps,
                        class_names=stream.class_names,
                        show_fps=args.show_fps,
                        fourcc="mp4v",
                        overlays=counters.overlays if counters is not None else None,
                    )
                )
            made.append(MotSink(cast(Path, paths["MOT results"])))
            if paths["features"] is not None:
                made.append(cast("Sink", FeaturesSink(paths["features"])))
            if paths["log"] is not None:
                made.append(
                    TrackLogSink(paths["log"], class_names=stream.class_names, totals=counters)
                )
        except BaseException:
            for sink in made:
                sink.abort()
            raise
        return made

    return make


def run_track_many(args: argparse.Namespace) -> int:
    """Handler of ``deepsort track`` with several sources; returns the exit status."""
    from deepsort_lib.cli.track_progress import StreamsProgress
    from deepsort_lib.cli.track_steps import StreamSteps
    from deepsort_lib.streams.decode import RetryPolicy
    from deepsort_lib.streams.runner import MultiSourceRunner
    from deepsort_lib.streams.sources import is_live, unique_names
    from deepsort_lib.streams.tracker import MultiStreamTracker
    from deepsort_lib.tracking.reentry_defaults import with_reentry

    folder = check_many_options(args)
    build_counters(args, None)  # a malformed --count-line / --zone fails before any work
    args.no_video = bool(args.no_video)
    names = unique_names(args.source)
    quiet_opencv_logs()
    opened: list[Any] = []
    specs: dict[str, _FirstThenReopen] = {}
    progress = StreamsProgress(dict(zip(names, names, strict=True)), enabled=not args.quiet)
    track_ids: dict[str, set[int]] = {name: set() for name in names}

    def on_result(stream_id: Any, result: Any) -> None:
        track_ids[str(stream_id)].update(t.track_id for t in result.tracks)
        progress.frame(stream_id)

    try:
        streams, detector, encoder = _open_streams(args, names, opened)
        outputs = {
            f"{stream.name}'s {kind}": path
            for stream in streams
            for kind, path in _outputs(args, folder, stream.name).items()
        }
        check_output_paths(outputs, _inputs(args, streams))
        tracker = MultiStreamTracker(auto_add=False)
        for stream in streams:
            tracker.add_stream(stream.name, tracker=_tracker_for(args, stream.source))
            if stream.reentry_s is not None:  # each source its own memory, as a lone run
                stream.plan.reentry = with_reentry(
                    tracker.tracker(stream.name), stream.reentry_s, stream.source.fps
                )
        steps = StreamSteps(
            detector,
            encoder,
            tracker,
            {s.name: s.plan for s in streams},
            detect_every=args.detect_every,
            min_score=args.min_score,
        )
        policy = RetryPolicy(
            max_retries=DEFAULT_RETRIES if args.retries is None else args.retries,
            backoff_s=DEFAULT_BACKOFF_S if args.retry_backoff is None else args.retry_backoff,
            max_backoff_s=MAX_BACKOFF_S,
        )
        by_name = {s.name: s for s in streams}
        specs = {s.name: _FirstThenReopen(s.spec, s.source, is_live(s.spec)) for s in streams}
        sources: dict[Hashable, Any] = {name: spec for name, spec in specs.items()}
        runner = MultiSourceRunner(
            sources,
            steps,
            sinks=_sink_factory(args, folder, by_name),
            policy=policy,
            max_frames=args.max_frames,
            keep_partial=True,
            on_status=progress.status,
        )
        report = runner.process(on_result)
    except BaseException:
        if not specs:  # the checks failed: the runner never saw these sources
            for source in opened:
                source.close()
        raise
    finally:
        for spec in specs.values():
            spec.close()  # a source the runner never took (it stopped before starting)
        progress.close()
    return _summarise(report, by_name, track_ids)


def _summarise(report: Any, streams: dict[str, _Stream], track_ids: dict[str, set[int]]) -> int:
    from deepsort_lib.streams.decode import StreamState

    for name, status in report.streams.items():
        stream = streams[str(name)]
        ended = "" if status.state is not StreamState.FAILED else " (failed)"
        print(
            f"{name}: tracked {status.frames} frames, {len(track_ids[name])} distinct track "
            f"ids{ended}"
        )
        if stream.counters is not None:
            for line in stream.counters.summary():
                print(f"{name}: {line}")
        if not track_ids[name] and status.frames:
            warn(f"{name}: no tracks at all (check --min-score, --classes, --n-init)")
        declared = stream.source.num_frames
        if status.state is StreamState.FINISHED and declared and status.frames < declared:
            warn(
                f"{name}: {stream.spec} declares {declared} frames but only {status.frames} "
                "could be decoded; the outputs cover those (truncated video)"
            )
    print(
        f"tracked {report.frames} frames from {len(report.streams)} sources at {report.fps:.1f} fps"
    )
    for status in report.streams.values():
        for path in status.outputs:
            print(f"wrote {path}")
    for name in report.failed:
        status = report.streams[name]
        tries = f" after {status.reconnects} retries" if status.reconnects else ""
        print(
            f"deepsort: error: {name} ({streams[str(name)].spec}) failed{tries} at frame "
            f"{status.frames}: {' '.join(str(status.error).split())}; its outputs keep the "
            "frames before",
            file=sys.stderr,
        )
    return SOME_STREAMS_FAILED if report.failed else 0


__all__ = ["SOME_STREAMS_FAILED", "run_track_many"]
