"""Helpers of the reliability tests: small videos and sequences, running the CLI as a user."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_video(path: Path, frames: int = 8, size: tuple[int, int] = (320, 240)) -> Path:
    """A small MJPG video of moving blocks (big enough for HOG's 64x128 window)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, size)
    assert writer.isOpened()
    rng = np.random.default_rng(1)
    for i in range(frames):
        frame = rng.integers(0, 60, (size[1], size[0], 3), dtype=np.uint8)
        frame[40:200, 20 + 10 * i : 80 + 10 * i] = 200
        writer.write(frame)
    writer.release()
    return path


def make_sequence(root: Path, frames: int = 5, det_lines: str | None = None) -> Path:
    """A MOTChallenge sequence: img1/ and det/det.txt with one person walking right."""
    (root / "img1").mkdir(parents=True)
    (root / "det").mkdir()
    for i in range(1, frames + 1):
        cv2.imwrite(str(root / "img1" / f"{i:06d}.jpg"), np.full((240, 320, 3), 90, np.uint8))
    if det_lines is None:
        det_lines = "".join(
            f"{i},-1,{20 + 8 * i},40,40,120,0.9,-1,-1,-1\n" for i in range(1, frames + 1)
        )
    (root / "det" / "det.txt").write_text(det_lines)
    return root


def cli(
    *args: str, cwd: Path, tool: str = "main", timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """Run ``deepsort`` (or ``deepsort-convert`` with tool='convert_main') as a user would."""
    code = f"import sys; from deepsort_lib.cli.main import {tool}; sys.exit({tool}())"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())
