"""Chunk planning: cut frames ``1..N`` into overlapping chunks that workers track independently.

How the chunk length and overlap trade accuracy for parallelism is explained in
:mod:`deepsort_lib.distributed.chunks`. Pure arithmetic; no Ray, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepsort_lib.errors import ConfigurationError

#: Default chunk length and overlap, in frames (40 s and 4 s at 25 fps).
DEFAULT_CHUNK_FRAMES = 1000
DEFAULT_OVERLAP = 100


@dataclass(frozen=True)
class Chunk:
    """One chunk of a video; frame numbers are 1-based and inclusive.

    Attributes
    ----------
    index
        Position in the plan (0-based).
    start, stop
        First and last frame the chunk tracks.
    keep_start
        First frame whose tracks this chunk contributes to the output (``start`` for the first
        chunk, the frame after the previous chunk's ``stop`` for the others); it contributes up
        to ``stop``.
    """

    index: int
    start: int
    stop: int
    keep_start: int

    @property
    def num_frames(self) -> int:
        """Frames tracked, ``stop - start + 1``."""
        return self.stop - self.start + 1


def _whole(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ConfigurationError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)


def plan_chunks(num_frames: int, chunk_frames: int, overlap: int, *, align: int = 1) -> list[Chunk]:
    """Cut frames ``1..num_frames`` into chunks of ``chunk_frames`` overlapping by ``overlap``.

    Parameters
    ----------
    num_frames
        Length of the video.
    chunk_frames
        Frames per chunk (the last one may be shorter).
    overlap
        Frames shared by consecutive chunks; at most half of ``chunk_frames`` (so that a chunk's
        two overlaps never share a frame).
    align
        Chunk starts fall on frames ``1 + k * align`` (``deepsort track --detect-every``: every
        chunk then detects on the same frames as an unchunked run). ``chunk_frames - overlap``
        must be a multiple of it.

    Returns
    -------
    list of Chunk
        At least one; a video no longer than ``chunk_frames`` is one chunk.

    Raises
    ------
    ConfigurationError
        If a value is out of range.
    """
    num_frames = _whole("num_frames", num_frames, 1)
    chunk_frames = _whole("chunk frames", chunk_frames, 1)
    overlap = _whole("chunk overlap", overlap, 0)
    align = _whole("align", align, 1)
    if 2 * overlap > chunk_frames:
        raise ConfigurationError(
            f"chunk overlap ({overlap}) must be at most half the chunk length ({chunk_frames})"
        )
    stride = chunk_frames - overlap
    if stride % align:
        raise ConfigurationError(
            f"chunk frames - overlap ({stride}) must be a multiple of {align} "
            "(the detector runs on one frame in that many)"
        )
    chunks: list[Chunk] = []
    start = 1
    while True:
        stop = min(start + chunk_frames - 1, num_frames)
        keep = start if not chunks else chunks[-1].stop + 1
        chunks.append(Chunk(len(chunks), start, stop, keep))
        if stop >= num_frames:
            return chunks
        start += stride


__all__ = ["DEFAULT_CHUNK_FRAMES", "DEFAULT_OVERLAP", "Chunk", "plan_chunks"]
