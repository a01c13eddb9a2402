"""Shared fixtures: the sample video and a few of its frames."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

VTEST = Path(__file__).resolve().parents[1] / "data" / "vtest.avi"


@pytest.fixture(scope="session")
def vtest() -> Path:
    """Path of the sample video (put in data/ by scripts/setup.sh)."""
    assert VTEST.is_file(), f"{VTEST} is missing: run scripts/setup.sh"
    return VTEST


@pytest.fixture(scope="session")
def vtest_frames(vtest: Path) -> list[np.ndarray]:
    """The first 12 frames of vtest.avi."""
    capture = cv2.VideoCapture(str(vtest))
    frames = []
    for _ in range(12):
        ok, frame = capture.read()
        assert ok
        frames.append(frame)
    capture.release()
    return frames
