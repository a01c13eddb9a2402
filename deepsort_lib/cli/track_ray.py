"""``deepsort track --ray``: the same tracking on a Ray cluster, many sources, long ones in chunks.

``deepsort track --ray [ADDRESS] [--chunk-frames C --chunk-overlap O] SOURCES... -o OUTDIR/``

The detector, encoder, preset and tracker options are the command's own; each source's MOT
results go to ``OUTDIR/<name>.txt``, named as without ``--ray``
(:func:`deepsort_lib.streams.sources.unique_names`). See :mod:`deepsort_lib.distributed.ray` and
docs/distributed.md. Ray itself is imported only when ``--ray`` is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from deepsort_lib.cli.track_many_args import output_folder
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.run.arguments import non_negative_int, positive_int

#: What ``--ray`` without an address means: start a cluster on this machine.
LOCAL = "local"


def add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--ray``, ``--chunk-frames``, ``--chunk-overlap``, ``--ray-task-cpus`` and
    ``--model-actors``, ``--model-actor-cpus``."""
    from deepsort_lib.distributed.chunks import DEFAULT_OVERLAP

    group = parser.add_argument_group("cluster (Ray; pip install 'deepsort_lib[ray]')")
    group.add_argument(
        "--ray",
        nargs="?",
        const=LOCAL,
        default=None,
        metavar="ADDRESS",
        help="track the sources on a Ray cluster: ADDRESS of a running one ('auto', "
        "host:6379, ray://host:10001), or none to start one on this machine; -o is then "
        "the output folder (OUTDIR/<name>.txt per source)",
    )
    group.add_argument(
        "--chunk-frames",
        type=positive_int,
        default=None,
        metavar="C",
        help="with --ray: cut each source into chunks of C frames tracked in parallel and "
        "stitched (default: one task per source)",
    )
    group.add_argument(
        "--chunk-overlap",
        type=non_negative_int,
        default=DEFAULT_OVERLAP,
        metavar="O",
        help="frames shared by consecutive chunks, where their ids are linked; more than "
        f"--n-init plus the longest occlusion to bridge (default: {DEFAULT_OVERLAP})",
    )
    group.add_argument(
        "--ray-task-cpus",
        type=float,
        default=1.0,
        metavar="N",
        help="CPUs reserved by each task on the cluster (default: 1)",
    )
    group.add_argument(
        "--model-actors",
        type=non_negative_int,
        default=0,
        metavar="N",
        help="with --ray: run the detector and encoder in N actors that load them once and "
        "serve every task's frames in batches; tasks keep only the tracker (default: 0, each "
        "task builds its own models)",
    )
    group.add_argument(
        "--model-actor-cpus",
        type=float,
        default=1.0,
        metavar="N",
        help="CPUs reserved by each model actor (default: 1)",
    )


def _sources(args: argparse.Namespace) -> list[str]:
    given: Any = getattr(args, "sources", None) or args.source
    listed = [given] if isinstance(given, str) else list(given)
    listed += list(getattr(args, "more_sources", None) or [])
    return [str(s) for s in listed]


def _check(args: argparse.Namespace) -> Path:
    """Options that make no sense on a cluster; returns the output folder."""
    refused = {
        "--mot": args.mot,
        "--log": args.log,
        "--cache-dir": args.cache_dir,
        "--show-fps": args.show_fps or None,
    }
    for flag, value in refused.items():
        if value is not None:
            raise ConfigurationError(
                f"{flag} is not supported with --ray: each source's MOT results go to "
                "OUTDIR/<name>.txt (give -o OUTDIR/)"
            )
    if args.chunk_frames is None and args.chunk_overlap not in (None, _default_overlap()):
        raise ConfigurationError("--chunk-overlap needs --chunk-frames")
    if not args.ray_task_cpus > 0:
        raise ConfigurationError(f"--ray-task-cpus must be > 0, got {args.ray_task_cpus}")
    for flag in ("retries", "retry_backoff"):
        if getattr(args, flag, None) is not None:
            raise ConfigurationError(
                f"--{flag.replace('_', '-')} is not supported with --ray: the cluster retries "
                "failed tasks itself"
            )
    return output_folder(args, "with --ray")


def _default_overlap() -> int:
    from deepsort_lib.distributed.chunks import DEFAULT_OVERLAP

    return DEFAULT_OVERLAP


def run_track_ray(args: argparse.Namespace) -> int:
    """Handler of ``deepsort track --ray``; returns the exit status.

    Expects the ``deepsort track`` options plus those of :func:`add_ray_arguments`; the
    sources are ``args.source`` (one or a list), ``args.sources`` or ``args.more_sources``.
    """
    from deepsort_lib.distributed.ray import track_on_ray

    folder = _check(args)
    sources = _sources(args)

    def event(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    report = track_on_ray(
        sources,
        folder,
        args,
        chunk_frames=args.chunk_frames,
        chunk_overlap=args.chunk_overlap,
        address=None if args.ray == LOCAL else args.ray,
        task_cpus=args.ray_task_cpus,
        on_event=event,
        model_actors=args.model_actors,
        model_actor_cpus=args.model_actor_cpus,
    )
    for source in report.sources:
        resumed = f", {source.resumed} from checkpoints" if source.resumed else ""
        print(
            f"{source.source}: {len(source.chunks)} chunk(s){resumed}, "
            f"{source.track_ids} distinct track ids"
        )
    print(f"tracked {len(report.sources)} source(s) on Ray in {report.wall_time:.1f} s")
    for path in report.outputs:
        print(f"wrote {path}")
    return 0


__all__ = ["LOCAL", "add_ray_arguments", "run_track_ray"]
