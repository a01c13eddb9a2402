"""``deepsort refine``: repair a finished run offline (split, link, interpolate, smooth)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``refine`` sub-command to ``subparsers``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "refine",
        help="refine a finished run offline: split/link tracklets by appearance, then GSI",
        description=(
            "Cut tracklets whose appearance changes abruptly (an id that jumped between "
            "people), link tracklets that belong together (appearance and plausible motion, "
            "one global assignment), then fill short gaps and smooth (GSI). Reads a "
            "MOTChallenge results file and its features file (RESULTS.features.npz, written "
            "by `deepsort track --save-features`); without features only GSI runs."
        ),
    )
    parser.add_argument("results", metavar="RESULTS_TXT", help="tracker output file")
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT_TXT",
        default=None,
        help="where to write (default RESULTS.refined.txt next to the input; never the input)",
    )
    parser.add_argument(
        "--features",
        metavar="FEATURES",
        default=None,
        help="features file (.npz or .npy; default RESULTS.features.npz next to the input)",
    )
    parser.add_argument("--no-split", action="store_true", help="skip the split step")
    parser.add_argument("--no-link", action="store_true", help="skip the link step")
    parser.add_argument("--no-gsi", action="store_true", help="skip interpolation/smoothing")
    parser.add_argument(
        "--max-gap",
        type=int,
        default=1000,
        help="longest gap in frames between linked tracklets (default 1000)",
    )
    parser.add_argument(
        "--max-cosine-distance",
        type=float,
        default=0.2,
        help="largest cosine distance between linked tracklets' mean features (default 0.2)",
    )
    parser.add_argument(
        "--split-distance",
        type=float,
        default=0.4,
        help="appearance change (cosine distance between windows) that cuts (default 0.4)",
    )
    parser.add_argument(
        "--gsi-max-gap",
        type=int,
        default=20,
        help="longest gap in frames filled by interpolation (default 20)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Refine ``args.results`` and print where the result went."""
    from deepsort_lib.io.features import refine_file
    from deepsort_lib.tracking.refine import RefineConfig

    config = RefineConfig(  # raises ConfigurationError on out-of-range values
        split=not args.no_split,
        link=not args.no_link,
        gsi=not args.no_gsi,
        max_gap=args.max_gap,
        max_cosine_distance=args.max_cosine_distance,
        split_distance=args.split_distance,
        gsi_max_gap=args.gsi_max_gap,
    )
    out = refine_file(args.results, args.output, features_path=args.features, config=config)
    print(out)
    return 0
