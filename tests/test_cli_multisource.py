"""``deepsort track A B ... -o OUTDIR/``: several sources in one process (issue 10).

Each stream's outputs equal a lone ``deepsort track`` of its source; a failing source is
reported while the others complete (exit status 3); Ctrl-C leaves every output complete or
absent; bad input is one line and exit status 2 before anything is written.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from local_http import serve_folder
from reliability_helpers import ROOT, listing, make_sequence, make_video

import deepsort_lib.distributed.ray as ray_driver
from deepsort_lib.cli.main import main
from deepsort_lib.cli.track_many import SOME_STREAMS_FAILED
from deepsort_lib.cli.track_progress import StreamsProgress
from deepsort_lib.streams.decode import StreamState
from deepsort_lib.streams.runner import StreamStatus
from deepsort_lib.streams.sources import unique_names


def track(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(["track", *args])
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(("deepsort: error: ", "deepsort track: error: "))
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def walking_sequence(root: Path, frames: int, shift: int) -> Path:
    """A sequence with two people walking (public detections), ``shift`` pixels apart."""
    lines = "".join(
        f"{i},-1,{10 + shift + 6 * i},40,40,110,0.9,-1,-1,-1\n"
        f"{i},-1,{250 - shift - 5 * i},60,36,100,0.8,-1,-1,-1\n"
        for i in range(1, frames + 1)
    )
    return make_sequence(root, frames, lines)


def vtest_clip(path: Path, vtest: Path, x: int, frames: int = 12) -> Path:
    """``frames`` frames of a 320x240 window of vtest.avi at column ``x`` (people for HOG)."""
    capture = cv2.VideoCapture(str(vtest))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (320, 240))
    for _ in range(frames):
        ok, frame = capture.read()
        assert ok
        writer.write(np.ascontiguousarray(frame[200:440, x : x + 320]))
    writer.release()
    capture.release()
    return path


# -- naming ------------------------------------------------------------------------------------


def test_one_naming_rule_for_every_multi_source_path(tmp_path: Path) -> None:
    (tmp_path / "seq").mkdir()
    specs = ["a/x.mp4", "b/x.mp4", "x-2.avi", "0", "rtsp://cam.local/live/1", str(tmp_path / "seq")]
    names = unique_names(specs)
    assert names == ["x", "x-2", "x-2-2", "camera0", "cam.local_live_1", "seq"]
    assert len(set(names)) == len(names)
    assert ray_driver.unique_names is unique_names  # --ray names OUTDIR/<name>.txt the same way


# -- outputs equal single-source runs ----------------------------------------------------------


def test_sequences_match_single_runs_and_repeated_names_are_distinct(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = walking_sequence(tmp_path / "a" / "seq", 9, 0)
    b = walking_sequence(tmp_path / "b" / "seq", 6, 30)
    options = ["--encoder", "none", "--n-init", "2", "-q"]
    code, out, err = track([str(a), str(b), "-o", str(tmp_path / "out"), *options], capsys)
    assert code == 0, err
    assert listing(tmp_path / "out") == ["seq-2.mp4", "seq-2.txt", "seq.mp4", "seq.txt"]
    assert "seq: tracked 9 frames, 2 distinct track ids" in out
    assert "seq-2: tracked 6 frames, 2 distinct track ids" in out
    for name, seq in (("seq", a), ("seq-2", b)):
        alone = tmp_path / f"{name}.alone.txt"
        code, _, err = track([str(seq), "--mot", str(alone), *options], capsys)
        assert code == 0, err
        multi = (tmp_path / "out" / f"{name}.txt").read_bytes()
        assert multi == alone.read_bytes()
        assert multi.count(b"\n") > 6  # tracks were reported, not two empty files


@pytest.mark.slow
def test_videos_folder_and_sequence_match_single_runs(
    tmp_path: Path, vtest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    left = vtest_clip(clips / "left.avi", vtest, 0)
    right = vtest_clip(clips / "right.avi", vtest, 448)
    folder = clips / "frames"
    folder.mkdir()
    capture = cv2.VideoCapture(str(right))
    for i in range(8):
        ok, frame = capture.read()
        assert ok
        cv2.imwrite(str(folder / f"{i:04d}.png"), frame)
    capture.release()
    seq = walking_sequence(clips / "seq", 7, 10)
    sources = [left, right, folder, seq]
    options = ["--n-init", "2", "--detect-every", "2", "--camera-motion", "sparse", "-q"]
    out_dir = tmp_path / "out"
    code, out, err = track(
        [*map(str, sources), "-o", str(out_dir), "--log", "jsonl", *options], capsys
    )
    assert code == 0, err
    names = ["left", "right", "frames", "seq"]
    for name, frames in zip(names, (12, 12, 8, 7), strict=True):
        assert f"{name}: tracked {frames} frames" in out
    assert listing(out_dir) == sorted(f"{n}.{e}" for n in names for e in ("jsonl", "mp4", "txt"))
    for name, source in zip(names, sources, strict=True):
        alone = tmp_path / f"{name}.txt"
        code, _, err = track([str(source), "--mot", str(alone), *options], capsys)
        assert code == 0, err
        assert (out_dir / f"{name}.txt").read_bytes() == alone.read_bytes(), name
    assert (out_dir / "right.txt").read_text().count("\n") >= 3  # HOG found people to track
    video = cv2.VideoCapture(str(out_dir / "frames.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 8
    video.release()


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local HTTP server over ``tmp_path/www``; ``/once/...`` answers only once."""
    root = tmp_path / "www"
    root.mkdir()
    with serve_folder(root) as (base, _requests):
        yield base, root


@pytest.mark.slow
def test_live_url_matches_a_single_run(
    tmp_path: Path, vtest: Path, http_server: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, root = http_server
    vtest_clip(root / "cam.avi", vtest, 448, frames=10)
    seq = walking_sequence(tmp_path / "seq", 12, 0)
    options = ["--n-init", "2", "--max-frames", "8", "-q"]
    out_dir = tmp_path / "out"
    code, out, err = track([f"{base}/cam.avi", str(seq), "-o", str(out_dir), *options], capsys)
    assert code == 0, err
    alone = tmp_path / "alone.txt"
    code, _, err = track([f"{base}/cam.avi", "--mot", str(alone), *options], capsys)
    assert code == 0, err
    name = unique_names([f"{base}/cam.avi"])[0]
    assert (out_dir / f"{name}.txt").read_bytes() == alone.read_bytes()
    assert alone.read_text().count("\n") >= 4
    assert f"{name}: tracked 8 frames" in out and "seq: tracked 8 frames" in out


# -- a source failing among healthy ones -----------------------------------------------------


def test_a_failing_url_is_reported_and_the_others_complete(
    tmp_path: Path, http_server: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, root = http_server
    (root / "once").mkdir()
    writer = cv2.VideoWriter(str(root / "once" / "cam.avi"), cv2.VideoWriter.fourcc(*"MJPG"),
                             10.0, (64, 48))  # fmt: skip
    for i in range(5):
        writer.write(np.full((48, 64, 3), 20 * i, np.uint8))
    writer.release()
    seq = walking_sequence(tmp_path / "seq", 30, 0)
    out_dir = tmp_path / "out"
    url = f"{base}/once/cam.avi"
    code, out, err = track(
        [url, str(seq), "-o", str(out_dir), "--encoder", "none", "--no-video", "-q",
         "--retries", "2", "--retry-backoff", "0.01"],
        capsys,
    )  # fmt: skip
    assert code == SOME_STREAMS_FAILED == 3, err
    name = unique_names([url])[0]
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("deepsort: error: ")]
    assert len(lines) == 1, err  # one line per failed stream
    assert lines[0].startswith(f"deepsort: error: {name} ({url}) failed after 2 retries")
    assert "cannot open" in lines[0]
    # The healthy stream completed; the failed one kept its 5 frames (its file is complete).
    assert "seq: tracked 30 frames" in out and f"{name}: tracked 5 frames" in out
    assert listing(out_dir) == sorted([f"{name}.txt", "seq.txt"])
    assert (out_dir / "seq.txt").read_text().count("\n") > 20


@pytest.mark.slow
def test_a_truncated_video_among_several_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = make_video(tmp_path / "full.avi", frames=20)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    seq = walking_sequence(tmp_path / "seq", 4, 0)
    out_dir = tmp_path / "out"
    code, out, err = track(
        [str(cut), str(seq), "-o", str(out_dir), "--encoder", "none", "--no-video", "-q"], capsys
    )
    assert code == 0, err
    decoded = int(out.split("cut: tracked ")[1].split(" frames")[0])
    assert 0 < decoded < 20
    assert f"cut: {cut} declares 20 frames but only {decoded} could be decoded" in err
    assert listing(out_dir) == ["cut.txt", "seq.txt"]


# -- interrupted -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_leaves_outputs_complete_or_absent(
    tmp_path: Path, vtest: Path, sig: signal.Signals
) -> None:
    seq = walking_sequence(tmp_path / "seq", 5, 0)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "vtest.txt").write_text("previous results\n")
    code = "import sys; from deepsort_lib.cli.main import main; sys.exit(main())"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "track", str(vtest), str(seq), "-o", str(out_dir),
         "--encoder", "none", "-q"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        # The short sequence is done (its files are final) and the long video is under way.
        while not {"seq.txt", "seq.mp4"} <= set(listing(out_dir)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never got going"
            time.sleep(0.05)
        assert any(".part" in name for name in listing(out_dir))
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, err
    assert err.strip().splitlines() == [
        f"deepsort: interrupted by {sig.name}; unfinished outputs were discarded"
    ]
    assert listing(out_dir) == ["seq.mp4", "seq.txt", "vtest.txt"]  # no .part, no half video
    assert (out_dir / "vtest.txt").read_text() == "previous results\n"
    assert (out_dir / "seq.txt").read_text().count("\n") >= 2  # the finished stream is whole


# -- bad input: one line, exit 2, nothing written ---------------------------------------------


def test_an_unopenable_source_among_several(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seq = walking_sequence(tmp_path / "seq", 3, 0)
    out_dir = tmp_path / "out"
    code, _, err = track([str(seq), str(tmp_path / "nope.avi"), "-o", str(out_dir)], capsys)
    one_line_error(code, err, "nope.avi")
    assert not out_dir.exists()


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        (["-o", "FILE"], ("is a file", "must be a folder")),
        (["-o", "out/v.mp4"], ("-o is the output folder", "v.mp4")),
        (["--mot", "r.txt"], ("OUTDIR/<name>.txt", "drop --mot")),
        (["--log", "t.jsonl"], ("'jsonl' or 'csv'",)),
        (["--cache-dir", "cache"], ("one source at a time",)),
        (["--count-line", "1,2,3"], ("x1,y1,x2,y2",)),
        (["--detector", "public"], ("det/det.txt",)),  # the folder has no public detections
        (["--retries", "-1"], ("--retries",)),
        (["--retry-backoff", "inf"], ("--retry-backoff",)),
    ],
)
def test_bad_options_with_several_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], fragments: tuple[str]
) -> None:
    seq = walking_sequence(tmp_path / "seq", 3, 0)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i}.png"), np.zeros((48, 64, 3), np.uint8))
    (tmp_path / "FILE").write_text("keep me\n")
    extra = [str(tmp_path / e) if e in ("FILE", "out/v.mp4") else e for e in extra]
    before = listing(tmp_path)
    code, _, err = track([str(seq), str(frames), *extra], capsys)
    one_line_error(code, err, *fragments)
    assert listing(tmp_path) == before
    assert (tmp_path / "FILE").read_text() == "keep me\n"


def test_an_output_that_would_replace_an_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seq = walking_sequence(tmp_path / "seq", 3, 0)
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"mp4v"), 10.0, (64, 48))
    for i in range(3):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    kept = clip.read_bytes()
    code, _, err = track([str(seq), str(clip), "-o", str(tmp_path)], capsys)
    one_line_error(code, err, "refusing to write", "clip.mp4")
    assert clip.read_bytes() == kept
    assert listing(tmp_path) == ["clip.mp4", "seq"]


@pytest.mark.parametrize("flag", [["--retries", "3"], ["--retry-backoff", "1"], ["--no-video"]])
def test_several_sources_options_with_one_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    seq = walking_sequence(tmp_path / "seq", 3, 0)
    code, _, err = track([str(seq), *flag], capsys)
    one_line_error(code, err, flag[0], "several sources")


# -- progress ----------------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_every_stream_and_its_state() -> None:
    screen = _Tty()
    progress = StreamsProgress({"a": "a", "b": "b", "cam": "cam"}, stream=screen)
    for _ in range(3):
        progress.frame("a")
    progress.frame("b")
    progress.status(StreamStatus("b", "b", False, StreamState.RECONNECTING))
    progress.status(StreamStatus("cam", "cam", True, StreamState.FAILED))
    line = progress.line(time.perf_counter() + 1.0)  # a second after the first frame
    assert line.startswith("a 3 3.0fps") or line.startswith("a 3 2.9fps"), line
    assert "b 1 retrying" in line and "cam 0 failed" in line
    progress.status(StreamStatus("a", "a", False, StreamState.FINISHED))
    assert progress.line().startswith("a 3 done | ")
    progress.close()
    assert screen.getvalue().endswith("\n") and screen.getvalue().count("\r") >= 3


def test_progress_redraws_a_few_times_per_second_and_not_off_a_terminal() -> None:
    screen = _Tty()
    progress = StreamsProgress({"a": "a"}, stream=screen)
    for _ in range(1000):
        progress.frame("a")  # a thousand frames in well under a second
    assert 1 <= screen.getvalue().count("\r") <= 5
    untouched = _Tty()
    StreamsProgress({"a": "a"}, stream=untouched).close()  # e.g. a bad input: no stray line
    assert untouched.getvalue() == ""
    piped = io.StringIO()
    quiet = StreamsProgress({"a": "a"}, stream=piped)
    quiet.frame("a")
    quiet.status(StreamStatus("a", "a", False, StreamState.FAILED))
    quiet.close()
    assert piped.getvalue() == ""
