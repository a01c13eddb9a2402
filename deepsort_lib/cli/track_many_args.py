"""The options of ``deepsort track`` with several sources, and the output folder they share.

``deepsort track A B ... -o OUTDIR/`` writes, per source, ``OUTDIR/<name>.mp4`` (annotated
video, unless ``--no-video``), ``OUTDIR/<name>.txt`` (MOT results, always: the file ``--ray``
writes too), ``OUTDIR/<name>.jsonl|.csv`` with ``--log jsonl|csv`` and
``OUTDIR/<name>.features.npz`` with ``--save-features``; ``<name>`` comes from
:func:`deepsort_lib.streams.sources.unique_names`, the one naming rule of both paths.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from deepsort_lib.errors import ConfigurationError
from deepsort_lib.run.arguments import non_negative_int

#: Default ``--retries``: consecutive reopen attempts of a failing source.
DEFAULT_RETRIES = 5
#: Default ``--retry-backoff``: seconds before the first attempt (doubled each further one).
DEFAULT_BACKOFF_S = 1.0
#: Longest wait between two attempts, seconds.
MAX_BACKOFF_S = 30.0
#: Log formats of ``--log`` with several sources.
LOG_FORMATS = ("jsonl", "csv")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not (math.isfinite(value) and 0.0 <= value <= MAX_BACKOFF_S):
        raise argparse.ArgumentTypeError(
            f"expected seconds between 0 and {MAX_BACKOFF_S:g}, got {text!r}"
        )
    return value


def add_many_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--no-video``, ``--retries`` and ``--retry-backoff``."""
    group = parser.add_argument_group("several sources (one process; see docs/cli.md)")
    group.add_argument(
        "--no-video",
        action="store_true",
        default=None,
        help="with several sources: no annotated videos, only OUTDIR/<name>.txt (and --log)",
    )
    group.add_argument(
        "--retries",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="with several sources: consecutive attempts to reopen a source that fails "
        "(read error, a camera or URL that stops) before giving it up; a frame read "
        f"resets the count (default: {DEFAULT_RETRIES})",
    )
    group.add_argument(
        "--retry-backoff",
        type=_seconds,
        default=None,
        metavar="S",
        help="with several sources: seconds before the first attempt, doubled for each "
        f"further one, at most {MAX_BACKOFF_S:g} (default: {DEFAULT_BACKOFF_S:g})",
    )


def refuse_many_options(args: argparse.Namespace) -> None:
    """With one source, the several-sources options are an error (they would do nothing)."""
    for flag, value in (
        ("--no-video", args.no_video),
        ("--retries", args.retries),
        ("--retry-backoff", args.retry_backoff),
    ):
        if value is not None:
            raise ConfigurationError(f"{flag} applies to several sources; one was given")


def output_folder(args: argparse.Namespace, mode: str) -> Path:
    """``-o`` as the output folder of several sources (default ``out/``), checked.

    ``mode`` names the case in the messages (``"with several sources"``, ``"with --ray"``).
    """
    output = args.output if args.output is not None else "out/"
    folder = Path(output)
    if folder.suffix.lower() in (".mp4", ".avi", ".txt") and not folder.is_dir():
        raise ConfigurationError(
            f"{mode}, -o is the output folder (e.g. -o out/), got the file name {output}"
        )
    if folder.exists() and not folder.is_dir():
        raise ConfigurationError(f"-o {output} is a file; {mode} it must be a folder")
    return folder


def check_many_options(args: argparse.Namespace) -> Path:
    """Options that mean something else with several sources; returns the output folder."""
    if args.mot is not None:
        raise ConfigurationError(
            "with several sources each source's MOT results go to OUTDIR/<name>.txt (always "
            "written): drop --mot and give -o OUTDIR/"
        )
    if args.log is not None and args.log not in LOG_FORMATS:
        raise ConfigurationError(
            f"with several sources --log is the format, 'jsonl' or 'csv' (each source's log "
            f"goes to OUTDIR/<name>.jsonl|.csv), got {args.log}"
        )
    if args.cache_dir is not None:
        raise ConfigurationError(
            "--cache-dir works with one source at a time: run `deepsort track SOURCE "
            "--cache-dir DIR` per source"
        )
    return output_folder(args, "with several sources")


__all__ = [
    "DEFAULT_BACKOFF_S",
    "DEFAULT_RETRIES",
    "LOG_FORMATS",
    "MAX_BACKOFF_S",
    "add_many_arguments",
    "check_many_options",
    "output_folder",
    "refuse_many_options",
]
