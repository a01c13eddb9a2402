"""``--help`` stays light: the command lines load OpenCV and the model runtimes only to run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("cv2", "onnxruntime", "onnx", "tqdm", "torch", "tensorflow")


def _loaded_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    ("entry", "argv", "allowed"),
    [
        ("main", ["--help"], ()),
        ("main", ["track", "--help"], ()),
        ("main", ["eval", "--help"], ()),
        # The Darknet exporter checks opsets with onnxruntime when it is imported.
        ("convert_main", ["--help"], ("onnxruntime", "onnx")),
    ],
)
def test_help_loads_no_heavy_module(entry: str, argv: list[str], allowed: tuple[str, ...]) -> None:
    code = (
        f"from deepsort_lib.cli.main import {entry}\n"
        f"try:\n    {entry}({argv!r})\nexcept SystemExit:\n    pass"
    )
    loaded = _loaded_after(code)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY and m.split(".")[0] not in allowed)
    assert heavy == [], f"{entry} {' '.join(argv)} loaded {heavy}"
