"""Darknet ``.cfg`` files: sections of ``key=value`` options, read strictly.

INI-like sections (``[net]``, ``[convolutional]``, ``[shortcut]``, ``[route]``, ``[upsample]``,
``[maxpool]``, ``[yolo]``), ``key=value`` lines, ``#``/``;`` comments. Every value is checked
when it is read: a value that is not a number, not finite or out of range is a
:class:`~deepsort_lib.errors.ModelError` naming the section, its line and the key, never a
``ValueError`` or a ``ZeroDivisionError`` further down.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deepsort_lib.errors import ModelError

_HEADER = re.compile(r"^\[([^\]]+)\]$")


@dataclass(frozen=True)
class Section:
    """One ``[kind]`` block of a cfg file."""

    kind: str
    options: dict[str, str]
    line: int

    def error(self, message: str) -> ModelError:
        """A :class:`ModelError` that names this section and its line."""
        return ModelError(f"[{self.kind}] at line {self.line}: {message}")

    def get_int(self, key: str, default: int | None = None, *, minimum: int | None = None) -> int:
        """Integer option ``key`` (``default`` when absent), at least ``minimum`` if given."""
        raw = self.options.get(key)
        if raw is None:
            if default is None:
                raise self.error(f"needs '{key}='")
            value = default
        else:
            value = self._int(key, raw)
        if minimum is not None and value < minimum:
            raise self.error(f"{key}={value} must be >= {minimum}")
        return value

    def get_float(self, key: str, default: float | None = None, *, positive: bool = False) -> float:
        """Finite float option ``key`` (``default`` when absent), > 0 if ``positive``."""
        raw = self.options.get(key)
        if raw is None:
            if default is None:
                raise self.error(f"needs '{key}='")
            value = float(default)
        else:
            value = self._float(key, raw)
        if positive and not value > 0:
            raise self.error(f"{key}={value} must be positive")
        return value

    def get_ints(self, key: str, default: Sequence[int] | None = None) -> list[int]:
        """Comma-separated integer list option ``key``."""
        raw = self.options.get(key)
        if raw is None:
            if default is None:
                raise self.error(f"needs '{key}='")
            return list(default)
        try:
            return [int(v) for v in raw.split(",") if v.strip()]
        except ValueError as exc:
            raise self.error(f"bad {key}={raw!r}: expected comma-separated integers") from exc

    def get_floats(self, key: str, *, positive: bool = False) -> list[float]:
        """Comma-separated list of finite floats (empty when absent), all > 0 if ``positive``."""
        raw = self.options.get(key, "")
        values = [self._float(key, v) for v in raw.split(",") if v.strip()]
        if positive and any(not v > 0 for v in values):
            raise self.error(f"{key}={raw!r} must hold positive numbers")
        return values

    def _int(self, key: str, raw: str) -> int:
        try:
            return int(raw)
        except ValueError:
            pass
        # Darknet reads integers with atoi; accept "2.0", refuse "1.5", "nan" and words.
        number = self._float(key, raw)
        if not number.is_integer():
            raise self.error(f"{key}={raw!r} is not an integer")
        return int(number)

    def _float(self, key: str, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError as exc:
            raise self.error(f"{key}={raw!r} is not a number") from exc
        if not math.isfinite(value):
            raise self.error(f"{key}={raw!r} is not a finite number")
        return value


def parse_cfg(path: str | os.PathLike[str]) -> list[Section]:
    """Parse a Darknet cfg file into its sections (``[net]`` first).

    Raises
    ------
    ModelError
        If the file is missing, has ``key=value`` lines outside a section, or does not start
        with ``[net]``/``[network]``.
    """
    source = Path(path)
    if not source.is_file():
        raise ModelError(f"cfg file not found: {source}")
    return parse_cfg_text(source.read_text(encoding="utf-8", errors="replace"), str(source))


def parse_cfg_text(text: str, name: str = "<cfg>") -> list[Section]:
    """Parse the text of a cfg file (see :func:`parse_cfg`); ``name`` is used in errors."""
    sections: list[Section] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line:
            continue
        match = _HEADER.match(line)
        if match:
            sections.append(Section(match.group(1).strip().lower(), {}, number))
            continue
        if "=" not in line or not sections:
            raise ModelError(f"{name}:{number}: cannot parse {raw.strip()!r}")
        key, value = (part.strip() for part in line.split("=", 1))
        sections[-1].options[key] = value
    if not sections or sections[0].kind not in ("net", "network"):
        raise ModelError(f"{name}: a Darknet cfg must start with [net]")
    return sections


__all__ = ["Section", "parse_cfg", "parse_cfg_text"]
