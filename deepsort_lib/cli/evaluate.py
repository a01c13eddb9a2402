"""``deepsort eval``: score MOTChallenge tracking results against ground truth."""

from __future__ import annotations

import argparse
from typing import Any

from deepsort_lib.errors import ConfigurationError


def register(subparsers: Any) -> None:
    """Add the ``eval`` sub-command to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "eval",
        help="score tracking results against MOTChallenge ground truth",
        description=(
            "Compute MOTA, MOTP, IDF1, ID switches, fragmentations, MT/PT/ML, precision and "
            "recall (motmetrics) and HOTA/DetA/AssA (TrackEval, when installed) for one "
            "sequence. Both files are MOTChallenge text: frame,id,x,y,w,h[,conf,...]."
        ),
    )
    parser.add_argument("--gt", required=True, metavar="GT_TXT", help="ground-truth file")
    parser.add_argument(
        "--results", required=True, metavar="RESULTS_TXT", help="tracker output file"
    )
    parser.add_argument(
        "--iou",
        type=float,
        default=0.5,
        help="minimum IoU for a match (default 0.5, as MOTChallenge)",
    )
    hota = parser.add_mutually_exclusive_group()
    hota.add_argument(
        "--hota",
        dest="hota",
        action="store_true",
        default=None,
        help="require HOTA (fail if TrackEval is not installed)",
    )
    hota.add_argument(
        "--no-hota", dest="hota", action="store_false", help="skip HOTA even if available"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate ``args.results`` against ``args.gt`` and print a one-row table."""
    from deepsort_lib.evaluation import evaluate_files, format_table

    if not 0.0 < args.iou <= 1.0:
        raise ConfigurationError(f"--iou must be in (0, 1], got {args.iou}")
    result = evaluate_files(args.gt, args.results, iou_threshold=args.iou, hota=args.hota)
    print(format_table({"results": result}))
    return 0
