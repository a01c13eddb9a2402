"""Re-ID model metadata: how a model wants its input, stored in the ONNX file.

The ``deepsort_lib.reid.*`` keys let :class:`~deepsort_lib.models.reid.OnnxEncoder` load a model
with no arguments; :data:`ENCODER_PRESETS` holds the preprocessing of known model families.
Sizes are ``(width, height)`` in pixels and ``WIDTHxHEIGHT`` as text, as everywhere in the
library. Models written before that convention carry :data:`LEGACY_META_INPUT_SIZE_HW`
(``HEIGHTxWIDTH``); it is read, height first, when :data:`META_INPUT_SIZE` is absent.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from deepsort_lib.errors import ConfigurationError, ModelError
from deepsort_lib.models.files import save_model

#: Metadata keys a model carries so that it loads with no arguments.
META_INPUT_SIZE = "deepsort_lib.reid.input_size_wh"  # "WIDTHxHEIGHT", e.g. "64x128"
#: Written before the library used (width, height) everywhere: "HEIGHTxWIDTH", e.g. "128x64".
#: Read, as height first, only from models that lack :data:`META_INPUT_SIZE`; never written.
LEGACY_META_INPUT_SIZE_HW = "deepsort_lib.reid.input_size"
META_CHANNEL_ORDER = "deepsort_lib.reid.channel_order"  # "BGR" or "RGB"
META_LAYOUT = "deepsort_lib.reid.layout"  # "NCHW" or "NHWC"
META_MEAN = "deepsort_lib.reid.mean"  # three floats, 0-255 pixel units, model channel order
META_STD = "deepsort_lib.reid.std"
META_FEATURE_DIM = "deepsort_lib.reid.feature_dim"
META_PRESET = "deepsort_lib.reid.preset"

CHANNEL_ORDERS = ("BGR", "RGB")
LAYOUTS = ("NCHW", "NHWC")


@dataclass(frozen=True)
class EncoderPreset:
    """How a well-known re-ID model wants its input.

    ``input_size`` is the crop ``(width, height)`` in pixels. ``mean`` and ``std`` are in
    0-255 pixel units, in the model's channel order; ``None`` for models that take raw uint8
    pixels.
    """

    name: str
    input_size: tuple[int, int]
    channel_order: str
    layout: str
    mean: tuple[float, float, float] | None
    std: tuple[float, float, float] | None
    feature_dim: int

    def as_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`OnnxEncoder` and :func:`reid_metadata`."""
        return {
            "input_size": self.input_size,
            "channel_order": self.channel_order,
            "layout": self.layout,
            "mean": self.mean,
            "std": self.std,
            "feature_dim": self.feature_dim,
            "preset": self.name,
        }


#: Deep SORT's network as its frozen TensorFlow graph takes it (converted with tf2onnx).
MARS_PRESET = EncoderPreset("mars-small128", (64, 128), "BGR", "NHWC", None, None, 128)
#: OSNet exported from torchreid: torchvision ToTensor + ImageNet Normalize, in pixel units.
OSNET_PRESET = EncoderPreset(
    "osnet",
    (128, 256),
    "RGB",
    "NCHW",
    (0.485 * 255, 0.456 * 255, 0.406 * 255),
    (0.229 * 255, 0.224 * 255, 0.225 * 255),
    512,
)
ENCODER_PRESETS: dict[str, EncoderPreset] = {p.name: p for p in (MARS_PRESET, OSNET_PRESET)}


def parse_triple(name: str, value: Any) -> tuple[float, float, float]:
    """Three finite floats (one number is repeated), for ``mean``/``std``."""
    try:
        array = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{name} must be three numbers, got {value!r}") from exc
    if array.size == 1:
        array = np.repeat(array, 3)
    if array.size != 3 or not np.all(np.isfinite(array)):
        raise ConfigurationError(f"{name} must be three finite numbers, got {value!r}")
    return (float(array[0]), float(array[1]), float(array[2]))


def parse_size(value: Any) -> tuple[int, int]:
    """``(width, height)`` from a pair or a ``"WIDTHxHEIGHT"`` string."""
    try:
        parts = value.lower().split("x") if isinstance(value, str) else list(value)
        width, height = (int(p) for p in parts)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigurationError(
            f"input_size must be (width, height) or 'WIDTHxHEIGHT', got {value!r}"
        ) from exc
    if height < 1 or width < 1:
        raise ConfigurationError(f"input_size must be positive, got {value!r}")
    return width, height


def meta_size(meta: dict[str, str]) -> tuple[int, int] | None:
    """The crop ``(width, height)`` stored in a model's metadata, old or new key."""
    try:
        if META_INPUT_SIZE in meta:
            return parse_size(meta[META_INPUT_SIZE])
        if LEGACY_META_INPUT_SIZE_HW in meta:
            height, width = parse_size(meta[LEGACY_META_INPUT_SIZE_HW])
            return width, height
    except ConfigurationError as exc:
        raise ModelError(f"bad input size in the model's metadata: {exc}") from exc
    return None


def parse_choice(name: str, value: str, allowed: Sequence[str]) -> str:
    """``value`` upper-cased, if it is one of ``allowed``."""
    upper = str(value).upper()
    if upper not in allowed:
        raise ConfigurationError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return upper


def reid_metadata(
    *,
    input_size: tuple[int, int] | str,
    channel_order: str,
    layout: str,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    feature_dim: int | None = None,
    preset: str | None = None,
) -> dict[str, str]:
    """The ``deepsort_lib.reid.*`` metadata entries describing a model's preprocessing.

    Parameters
    ----------
    input_size
        Crop ``(width, height)`` in pixels, or ``"WIDTHxHEIGHT"``.
    channel_order
        ``"BGR"`` or ``"RGB"``: the order the model expects its colour channels in.
    layout
        ``"NCHW"`` or ``"NHWC"``.
    mean, std
        Per-channel normalisation of float inputs, ``(pixel - mean) / std``, in 0-255 pixel
        units and the model's channel order (ImageNet: mean ``0.485 * 255``, ...).
    feature_dim, preset
        Informational: output length and the preset name.
    """
    w, h = parse_size(input_size)
    meta = {
        META_INPUT_SIZE: f"{w}x{h}",
        META_CHANNEL_ORDER: parse_choice("channel_order", channel_order, CHANNEL_ORDERS),
        META_LAYOUT: parse_choice("layout", layout, LAYOUTS),
    }
    if mean is not None:
        meta[META_MEAN] = ",".join(repr(v) for v in parse_triple("mean", mean))
    if std is not None:
        meta[META_STD] = ",".join(repr(v) for v in parse_triple("std", std))
    if feature_dim is not None:
        meta[META_FEATURE_DIM] = str(int(feature_dim))
    if preset is not None:
        meta[META_PRESET] = preset
    return meta


def write_reid_metadata(
    model_in: str | os.PathLike[str],
    model_out: str | os.PathLike[str] | None = None,
    **entries: Any,
) -> Path:
    """Store preprocessing metadata in an ONNX model so :class:`OnnxEncoder` needs no arguments.

    Parameters
    ----------
    model_in
        The model to describe.
    model_out
        Where to write the result; defaults to overwriting ``model_in`` (atomically).
    **entries
        Arguments of :func:`reid_metadata`, or ``preset="mars-small128"`` / ``"osnet"`` alone
        (other arguments then override the preset's).

    Raises
    ------
    ModelError
        If the model cannot be read.
    ConfigurationError
        If the entries are invalid.
    """
    if "preset" in entries and entries["preset"] in ENCODER_PRESETS:
        entries = {**ENCODER_PRESETS[entries["preset"]].as_kwargs(), **entries}
    missing = [k for k in ("input_size", "channel_order", "layout") if entries.get(k) is None]
    if missing:
        raise ConfigurationError(f"re-ID metadata needs {missing} (or a known preset)")
    unknown = set(entries) - {
        *missing,
        "input_size",
        "channel_order",
        "layout",
        "mean",
        "std",
        "feature_dim",
        "preset",
    }
    if unknown:
        raise ConfigurationError(f"unknown re-ID metadata entries {sorted(unknown)}")
    meta = reid_metadata(**entries)
    try:
        model = onnx.load(str(model_in))
    except Exception as exc:  # onnx raises several unrelated types
        raise ModelError(f"cannot read ONNX model {model_in}: {exc}") from exc
    existing = {p.key: p.value for p in model.metadata_props}
    onnx.helper.set_model_props(model, {**existing, **meta})
    return save_model(model, model_out if model_out is not None else model_in)


def meta_triple(meta: dict[str, str], key: str) -> tuple[float, float, float] | None:
    """The three floats stored under ``key`` (``None`` when absent)."""
    if key not in meta:
        return None
    try:
        return parse_triple(key, [float(v) for v in meta[key].split(",")])
    except ValueError as exc:
        raise ModelError(f"bad metadata {key}={meta[key]!r}") from exc


__all__ = [
    "CHANNEL_ORDERS",
    "ENCODER_PRESETS",
    "LAYOUTS",
    "LEGACY_META_INPUT_SIZE_HW",
    "MARS_PRESET",
    "META_CHANNEL_ORDER",
    "META_FEATURE_DIM",
    "META_INPUT_SIZE",
    "META_LAYOUT",
    "META_MEAN",
    "META_PRESET",
    "META_STD",
    "OSNET_PRESET",
    "EncoderPreset",
    "meta_size",
    "meta_triple",
    "parse_choice",
    "parse_size",
    "parse_triple",
    "reid_metadata",
    "write_reid_metadata",
]
