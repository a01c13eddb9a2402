"""Darknet ``.weights`` files: the version header, the values, folded convolution weights.

Little-endian. Header: ``major``, ``minor``, ``revision`` as int32, then the number of images
seen in training: a 64-bit integer when ``major * 10 + minor >= 2`` and both ``major`` and
``minor`` are below 1000, a 32-bit integer otherwise. Then float32 values, per convolutional
layer in cfg order: biases, and when ``batch_normalize=1`` the batch-norm scales, rolling means
and rolling variances (``filters`` values each), then the kernel
``filters × in_channels/groups × size × size`` (OIHW order).

Darknet's inference batch norm is ``scale * (x - mean) / (sqrt(var) + 1e-6) + bias``; it is
folded into the convolution.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import ModelError
from deepsort_lib.models.darknet.shapes import ConvSpec, Network

#: Darknet's epsilon in its inference batch norm: ``(x - mean) / (sqrt(var) + eps)``.
DARKNET_BN_EPS = 1e-6


@dataclass(frozen=True)
class WeightsHeader:
    """The version header of a ``.weights`` file."""

    major: int
    minor: int
    revision: int
    seen: int

    @property
    def seen_is_64bit(self) -> bool:
        """Whether ``seen`` is stored as a 64-bit integer (Darknet format 0.2 and later)."""
        return seen_is_64bit(self.major, self.minor)

    @property
    def size(self) -> int:
        """Header length in bytes."""
        return 12 + (8 if self.seen_is_64bit else 4)

    def pack(self) -> bytes:
        """The header's bytes, ``seen`` as wide as :func:`seen_is_64bit` says."""
        fmt = "<3iq" if self.seen_is_64bit else "<3ii"
        return struct.pack(fmt, self.major, self.minor, self.revision, self.seen)


def seen_is_64bit(major: int, minor: int) -> bool:
    """Darknet's rule: ``seen`` is 64-bit from version 0.2 on, unless a field is >= 1000.

    A version field >= 1000 is the marker of old files with transposed fully-connected
    weights (pjreddie's Darknet). OpenCV and AlexeyAB's fork skip that exception, so the
    readers disagree on such files only.
    """
    return major * 10 + minor >= 2 and major < 1000 and minor < 1000


def read_weights_header(data: bytes) -> WeightsHeader:
    """Decode the header at the start of a ``.weights`` file's bytes."""
    if len(data) < 12:
        raise ModelError(f"weights file too short for its header: {len(data)} bytes")
    major, minor, revision = struct.unpack("<3i", data[:12])
    if seen_is_64bit(major, minor):
        if len(data) < 20:
            raise ModelError(f"weights file too short for its header: {len(data)} bytes")
        (seen,) = struct.unpack("<q", data[12:20])
    else:
        if len(data) < 16:
            raise ModelError(f"weights file too short for its header: {len(data)} bytes")
        (seen,) = struct.unpack("<i", data[12:16])
    return WeightsHeader(major, minor, revision, seen)


def read_weights(
    network: Network, weights: str | os.PathLike[str]
) -> tuple[WeightsHeader, NDArray[np.float32]]:
    """Read a ``.weights`` file and check its length against the network.

    Raises
    ------
    ModelError
        If the file is missing, or holds fewer or more float32 values than the cfg needs
        (the message names both counts).
    """
    path = Path(weights)
    if not path.is_file():
        raise ModelError(f"weights file not found: {path}")
    data = path.read_bytes()
    header = read_weights_header(data)
    body = len(data) - header.size
    expected = network.weight_count
    if body % 4:
        raise ModelError(
            f"{path}: {body} bytes after the header is not a whole number of float32 values "
            f"(the cfg needs {expected} values = {expected * 4} bytes)"
        )
    found = body // 4
    if found != expected:
        relation = "too short" if found < expected else "too long"
        raise ModelError(
            f"{path} is {relation} for this cfg: expected {expected} float32 values after the "
            f"{header.size}-byte header (version {header.major}.{header.minor}."
            f"{header.revision}), found {found}"
        )
    return header, np.frombuffer(data, dtype="<f4", offset=header.size).astype(np.float32)


def fold_batch_norm(
    spec: ConvSpec, values: NDArray[np.float32]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Split one layer's values into (kernel OIHW, bias), folding batch norm."""
    n = spec.filters
    bias = values[:n].astype(np.float64)
    offset = n
    kernel_shape = (n, spec.in_channels // spec.groups, spec.size, spec.size)
    if spec.batch_normalize:
        scales = values[offset : offset + n].astype(np.float64)
        mean = values[offset + n : offset + 2 * n].astype(np.float64)
        var = values[offset + 2 * n : offset + 3 * n].astype(np.float64)
        offset += 3 * n
        factor = scales / (np.sqrt(var) + DARKNET_BN_EPS)
        kernel = (
            values[offset:].reshape(kernel_shape).astype(np.float64) * factor[:, None, None, None]
        )
        bias = bias - mean * factor
    else:
        kernel = values[offset:].reshape(kernel_shape).astype(np.float64)
    return kernel.astype(np.float32), bias.astype(np.float32)


__all__ = [
    "DARKNET_BN_EPS",
    "WeightsHeader",
    "fold_batch_norm",
    "read_weights",
    "read_weights_header",
    "seen_is_64bit",
]
