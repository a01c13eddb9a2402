"""The documentation site builds with ``mkdocs build --strict`` and documents every option."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deepsort_lib.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mkdocs_strict_build(tmp_path: Path) -> None:
    # Build a copy so the test never writes into the checkout.
    for name in ("mkdocs.yml", "docs", "deepsort_lib", "benchmarks/results"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("Pipeline", "TrackerConfig", "DetectionCache", "HOGDetector", "VideoSink"):
        assert name in api  # rendered from the docstrings
    bench = (tmp_path / "site" / "benchmarks" / "index.html").read_text(encoding="utf-8")
    assert "overhead_share" in bench and "--8&lt;--" not in bench  # tables were included


def test_every_track_option_is_documented(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["track", "--help"])
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", capsys.readouterr().out)) - {"--help"}
    documented = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = sorted(o for o in options if f"`{o}" not in documented)
    assert not missing, f"options missing from docs/cli.md: {missing}"


def test_every_tracker_parameter_is_documented() -> None:
    from dataclasses import fields

    from deepsort_lib.tracking.tracker import TrackerConfig

    concepts = (ROOT / "docs" / "concepts.md").read_text(encoding="utf-8")
    missing = [f.name for f in fields(TrackerConfig) if f"`{f.name}`" not in concepts]
    assert not missing, f"TrackerConfig fields missing from docs/concepts.md: {missing}"
