"""The real ground truth of the benchmark: the TUD sequences shipped in the motmetrics wheel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.io.mot import read_mot

#: Sequences used by default (both 640x480, static camera, pedestrians).
SEQUENCES: tuple[str, ...] = ("TUD-Stadtmitte", "TUD-Campus")


def gt_path(sequence: str) -> Path:
    """Path of ``<sequence>/gt.txt`` inside the installed motmetrics package."""
    import motmetrics

    path = Path(motmetrics.__file__).resolve().parent / "data" / sequence / "gt.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not in this motmetrics installation")
    return path


def load_gt(sequence: str) -> NDArray[np.float64]:
    """The ground truth of ``sequence`` as an ``(N, >=6)`` MOTChallenge array."""
    return read_mot(gt_path(sequence)).as_array()
