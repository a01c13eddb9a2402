"""The argument types the sub-commands share (one parser per kind of value)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

import pytest

from deepsort_lib.cli import convert_darknet, convert_reid, track
from deepsort_lib.cli.main import convert_main, main
from deepsort_lib.run.arguments import positive_int, size_or_width_height, width_height


def test_positive_int() -> None:
    assert positive_int("3") == 3
    for bad, message in (("0", ">= 1, got 0"), ("-5", ">= 1, got -5"), ("2.5", "whole number")):
        with pytest.raises(argparse.ArgumentTypeError, match=message):
            positive_int(bad)


def test_width_height() -> None:
    assert width_height("64x128") == (64, 128)
    assert width_height("64X128") == (64, 128)
    assert width_height("64,128") == (64, 128)
    for bad in ("64", "64x", "x128", "64x128x3", "axb"):
        with pytest.raises(argparse.ArgumentTypeError, match="WIDTHxHEIGHT"):
            width_height(bad)


def test_size_or_width_height() -> None:
    assert size_or_width_height("416") == 416
    assert size_or_width_height("608x416") == (608, 416)
    with pytest.raises(argparse.ArgumentTypeError, match="SIZE or WIDTHxHEIGHT"):
        size_or_width_height("big")


def test_commands_use_the_shared_types() -> None:
    # No sub-command keeps a private copy of these parsers.
    for module in (track, convert_darknet, convert_reid):
        assert not hasattr(module, "_positive_int") and not hasattr(module, "_size")


@pytest.mark.parametrize(
    ("entry", "argv", "fragment"),
    [
        (main, ["track", "x.avi", "--max-frames", "0"], "--max-frames: expected a number >= 1"),
        (
            convert_main,
            ["darknet", "a.cfg", "a.weights", "-o", "a.onnx", "--input-size", "big"],
            "--input-size: expected SIZE or WIDTHxHEIGHT, got 'big'",
        ),
        (
            convert_main,
            ["reid-metadata", "m.onnx", "--input-size", "64"],
            "--input-size: expected WIDTHxHEIGHT, got '64'",
        ),
    ],
)
def test_bad_values_are_one_line_usage_errors(
    entry: Callable[[Sequence[str]], int],
    argv: list[str],
    fragment: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        entry(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0], err
