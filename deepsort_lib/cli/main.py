"""Entry points of the ``deepsort`` and ``deepsort-convert`` commands.

Each sub-command lives in its own module exposing ``register(subparsers)``, which adds a
parser whose ``handler`` default is a function ``(args) -> int``. User errors are
:class:`~deepsort_lib.errors.DeepSortError` subclasses: they are printed as one line and
turned into exit code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from deepsort_lib.errors import DeepSortError

#: Modules providing the sub-commands of ``deepsort``.
TRACK_COMMANDS: tuple[str, ...] = ("deepsort_lib.cli.track", "deepsort_lib.cli.evaluate")
#: Modules providing the sub-commands of ``deepsort-convert``.
CONVERT_COMMANDS: tuple[str, ...] = (
    "deepsort_lib.cli.convert_reid",
    "deepsort_lib.cli.convert_darknet",
)


def _build_parser(prog: str, description: str, modules: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in modules:
        importlib.import_module(name).register(subparsers)
    return parser


def _run(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except DeepSortError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """``deepsort``: track objects in videos, evaluate results."""
    parser = _build_parser(
        "deepsort",
        "Deep SORT multi-object tracking: track videos, evaluate results.",
        TRACK_COMMANDS,
    )
    return _run(parser, argv)


def convert_main(argv: Sequence[str] | None = None) -> int:
    """``deepsort-convert``: turn Darknet / TensorFlow models into ONNX, quantise them."""
    parser = _build_parser(
        "deepsort-convert", "Convert and quantise models for deepsort_lib.", CONVERT_COMMANDS
    )
    return _run(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
