"""Live URLs through `deepsort track` (a local HTTP server), and --max-age-seconds."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from local_http import serve_folder

from deepsort_lib.io.mot import read_mot
from deepsort_lib.io.url import UrlSource
from deepsort_lib.io.video import open_source

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def served_video(tmp_path: Path, vtest: Path) -> Iterator[str]:
    """vtest.avi served over HTTP on 127.0.0.1 (loopback only), for the test's duration."""
    root = tmp_path / "www"
    root.mkdir()
    shutil.copy(vtest, root / "vtest.avi")
    with serve_folder(root) as (base, _requests):
        yield f"{base}/vtest.avi"


def _track(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "deepsort_lib.cli.main", "track", *argv, "-q"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_open_source_reads_a_url(served_video: str) -> None:
    with open_source(served_video) as source:
        assert isinstance(source, UrlSource) and source.size == (768, 576)
        first = next(iter(source))
    assert first[0] == 1 and first[1].shape == (576, 768, 3)


@pytest.mark.slow
def test_track_a_url_writes_tracks(served_video: str, tmp_path: Path) -> None:
    mot = tmp_path / "url.txt"
    proc = _track(served_video, "--max-frames", "12", "--mot", str(mot), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = read_mot(mot)
    assert len(rows) > 0 and set(rows.frames.tolist()) <= set(range(1, 13))


@pytest.mark.slow  # over 1 s on the 2026-11-30 host
def test_unreachable_url_is_one_line(tmp_path: Path) -> None:
    proc = _track("http://127.0.0.1:9/none.avi", "--mot", str(tmp_path / "x.txt"), cwd=tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "stream" in proc.stderr
    assert not (tmp_path / "x.txt").exists()


@pytest.mark.slow
def test_max_age_seconds_follows_the_frame_rate(tmp_path: Path, vtest: Path) -> None:
    # vtest.avi is 10 fps: 0.2 s is 2 frames, so tracks die sooner than with the default 30.
    short, long_ = tmp_path / "short.txt", tmp_path / "long.txt"
    common = ("--max-frames", "60", "--encoder", "none")
    assert (
        _track(
            str(vtest), *common, "--max-age-seconds", "0.2", "--mot", str(short), cwd=tmp_path
        ).returncode
        == 0
    )
    assert (
        _track(str(vtest), *common, "--max-age", "2", "--mot", str(long_), cwd=tmp_path).returncode
        == 0
    )
    assert short.read_bytes() == long_.read_bytes()
    bad = _track(str(vtest), "--max-age-seconds", "-1", cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
