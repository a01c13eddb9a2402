"""Argument types shared by the sub-commands (argparse ``type=`` callables).

Each raises :class:`argparse.ArgumentTypeError`, which the parser turns into a one-line usage
error with exit status 2.
"""

from __future__ import annotations

import argparse


def _whole_number(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected a number >= {low}, got {value}")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1 (frame counts, strides)."""
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    """A whole number >= 0 (retries, CPUs, model actors)."""
    return _whole_number(text, 0)


def width_height(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` (or ``WIDTH,HEIGHT``) in pixels, the package's one size convention."""
    parts = text.lower().replace(",", "x").split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    return width, height


def size_or_width_height(text: str) -> int | tuple[int, int]:
    """``SIZE`` (a square network input) or ``WIDTHxHEIGHT``."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return width_height(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected SIZE or WIDTHxHEIGHT, got {text!r}") from None


__all__ = ["non_negative_int", "positive_int", "size_or_width_height", "width_height"]
