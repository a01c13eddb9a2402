"""The examples run: the notebook (via nbclient), the custom-detector and counting scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from deepsort_lib.io.mot import read_mot

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    # The kernel / child process must import this checkout even if it is not pip-installed.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def test_notebook_executes(vtest: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _env().items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(EXAMPLES / "track_vtest.ipynb", as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "tracks over 100 frames" in text
    assert "n_init=1:" in text and "n_init=5:" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the trajectory plot


def test_custom_detector_script(vtest: Path, tmp_path: Path) -> None:
    mot = tmp_path / "motion.txt"
    proc = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "custom_detector.py"),
            str(vtest),
            "--max-frames",
            "60",
            "--mot",
            str(mot),
        ],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "60 frames" in proc.stdout and f"wrote {mot}" in proc.stdout
    results = read_mot(mot)
    assert len(results) > 0 and len(set(results.ids.tolist())) >= 2


def test_count_people_script(vtest: Path, tmp_path: Path) -> None:
    video, mot, tracks_json = tmp_path / "counted.mp4", tmp_path / "c.txt", tmp_path / "c.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "count_people.py"),
            str(vtest),
            "--max-frames",
            "20",
            "-o",
            str(video),
            "--mot",
            str(mot),
            "--json",
            str(tracks_json),
        ],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("20 frames")
    assert lines[1].startswith("line 1: in ") and lines[2].startswith("zone 1: inside ")
    for path in (video, mot, tracks_json):
        assert f"wrote {path}" in proc.stdout and path.stat().st_size > 0
    results = read_mot(mot)
    assert len(results) > 0
    assert len(json.loads(tracks_json.read_text())) == len(results)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "c.txt", "counted.mp4"]
