"""Never lose the user's data: outputs never replace inputs, each other, folders or special
files; failed writes fail the run and keep the previous file (issue 15)."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from reliability_helpers import ROOT, assert_one_line_error, cli, listing, make_sequence, make_video

from deepsort_lib.cli.main import main
from deepsort_lib.errors import SourceError
from deepsort_lib.io.atomic import NAME_MAX, AtomicFile, AtomicPath, check_output_paths
from deepsort_lib.io.video_writer import VideoWriter

# -- the atomic writer ---------------------------------------------------------------------------


def test_refuses_a_target_that_is_a_protected_input(tmp_path: Path) -> None:
    source = tmp_path / "in.avi"
    source.write_bytes(b"precious")
    (tmp_path / "same").mkdir()
    (tmp_path / "link.avi").symlink_to(source)
    os.link(source, tmp_path / "hard.avi")
    for target in (
        source,
        tmp_path / "same" / ".." / "in.avi",
        tmp_path / "link.avi",
        tmp_path / "hard.avi",
    ):
        with pytest.raises(SourceError, match="refusing to write"):
            AtomicPath(target, protect=[source])
        with pytest.raises(SourceError, match="refusing to write"):
            AtomicFile(target, protect=[str(source)])
    assert source.read_bytes() == b"precious"
    assert listing(tmp_path) == ["hard.avi", "in.avi", "link.avi", "same"]  # no temporary file


def test_check_output_paths_names_the_conflict(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"--mot .* and --log .* are the same file"):
        check_output_paths({"--mot": tmp_path / "x.csv", "--log": tmp_path / "d/../x.csv"})
    with pytest.raises(SourceError, match="is a directory"):
        check_output_paths({"-o": tmp_path})
    with pytest.raises(SourceError, match="it is the input SOURCE"):
        check_output_paths({"-o": tmp_path / "a.avi"}, {"SOURCE": tmp_path / "a.avi"})
    check_output_paths({"-o": tmp_path / "a.mp4", "--mot": None}, {"SOURCE": tmp_path / "a.avi"})


def test_directory_target_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="is a directory"):
        AtomicPath(tmp_path)


def test_symlink_target_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old\n")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with AtomicFile(link) as out:
        out.write("new\n")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new\n"
    assert listing(tmp_path) == ["link.txt", "real.txt"]


def test_dev_null_is_written_not_replaced() -> None:
    before = os.stat(os.devnull)
    with AtomicFile(os.devnull) as out:
        out.write("discarded\n")
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev
    assert not [p for p in Path("/dev").iterdir() if p.name.startswith(".null.")]


def test_fifo_is_written_into(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    with AtomicFile(fifo) as out:
        out.write("1,1,10,20,30,40,1,-1,-1,-1\n")
    reader.join(timeout=30)
    assert received == [b"1,1,10,20,30,40,1,-1,-1,-1\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert listing(tmp_path) == ["pipe"]


@pytest.mark.parametrize("suffix", [".txt", ".mp4"])
def test_longest_legal_name_works(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / ("n" * (254 - len(suffix)) + suffix)
    assert len(target.name.encode()) == 254
    path = AtomicPath(target, keep_suffix=True)
    assert len(path.temp.name.encode()) <= NAME_MAX
    assert path.temp.name.endswith(".part" + suffix)
    path.temp.write_text("x")
    assert path.commit() == target and target.read_text() == "x"
    # Multi-byte names are cut on a character boundary.
    wide = tmp_path / ("é" * 125 + ".txt")
    with AtomicFile(wide) as out:
        out.write("y")
    assert wide.read_text() == "y"


def test_final_mode_follows_the_umask(tmp_path: Path) -> None:
    mask = os.umask(0)
    os.umask(mask)
    with AtomicFile(tmp_path / "m.txt") as out:
        out.write("x")
    assert stat.S_IMODE((tmp_path / "m.txt").stat().st_mode) == 0o666 & ~mask


def test_enospc_while_writing_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r.txt"
    target.write_text("good\n")

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("deepsort_lib.io.atomic.os.fsync", full)
    out = AtomicFile(target)
    out.write("new\n")
    with pytest.raises(SourceError, match="No space left"):
        out.commit()
    with pytest.raises(SourceError, match="was not written"):
        out.commit()
    assert target.read_text() == "good\n"
    assert listing(tmp_path) == ["r.txt"]


def test_video_writer_detects_dropped_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenCV drops frames silently on a full disk; the writer counts what reached the file."""
    real_writer = cv2.VideoWriter

    class Dropping:
        fourcc = staticmethod(real_writer.fourcc)

        def __init__(self, *args: object) -> None:
            self.inner = real_writer(*args)
            self.count = 0

        def isOpened(self) -> bool:
            return bool(self.inner.isOpened())

        def write(self, frame: np.ndarray) -> None:
            self.count += 1
            if self.count <= 2:  # then the "disk" is full
                self.inner.write(frame)

        def release(self) -> None:
            self.inner.release()

    monkeypatch.setattr("deepsort_lib.io.video.cv2.VideoWriter", Dropping)
    target = tmp_path / "v.avi"
    target.write_bytes(b"previous video")
    writer = VideoWriter(target, 10.0, "MJPG")
    for _ in range(5):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    with pytest.raises(SourceError, match="2 of 5 frames"):
        writer.close()
    with pytest.raises(SourceError, match="was not written"):
        writer.close()  # a second close does not pretend success
    assert target.read_bytes() == b"previous video"
    assert listing(tmp_path) == ["v.avi"]


# -- the command line ----------------------------------------------------------------------------


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return make_video(tmp_path / "a.avi")


@pytest.mark.slow
def test_cli_refuses_outputs_onto_inputs(clip: Path, tmp_path: Path) -> None:
    original = clip.read_bytes()
    (tmp_path / "same").mkdir()
    (tmp_path / "dir.mp4").mkdir()
    common = ["track", "a.avi", "--encoder", "none", "-q"]
    cases = [
        (["-o", "a.avi"], "it is the input SOURCE"),
        (["--mot", "a.avi"], "it is the input SOURCE"),
        (["-o", "same/../a.avi"], "it is the input SOURCE"),
        (["--mot", "x.csv", "--log", "x.csv"], "are the same file"),
        (["-o", "dir.mp4"], "is a directory"),
        (["--mot", "same"], "is a directory"),
    ]
    for extra, message in cases:
        proc = cli(*common, *extra, cwd=tmp_path)
        assert_one_line_error(proc, message)
        assert clip.read_bytes() == original
    assert listing(tmp_path) == ["a.avi", "dir.mp4", "same"]
    assert listing(tmp_path / "same") == []


@pytest.mark.slow
def test_cli_writes_into_dev_null(clip: Path, tmp_path: Path) -> None:
    before = os.stat(os.devnull)
    proc = cli(
        "track", "a.avi", "--encoder", "none", "-q", "--mot", os.devnull, "--max-frames", "3",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {os.devnull}" in proc.stdout
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


@pytest.mark.slow
def test_convert_refuses_to_overwrite_its_input(tmp_path: Path) -> None:
    cfg = tmp_path / "v.cfg"
    cfg.write_text((ROOT / "tests" / "data" / "small_yolo.cfg").read_text())
    weights = tmp_path / "v.weights"
    weights.write_bytes(b"\0" * 64)
    before = cfg.read_bytes()
    proc = cli("darknet", "v.cfg", "v.weights", "-o", "v.cfg", cwd=tmp_path, tool="convert_main")
    assert_one_line_error(proc, "refusing to write -o v.cfg")
    assert cfg.read_bytes() == before
    proc = cli(
        "quantize-detector", "v.weights", "--calibration-video", "v.cfg", "-o", "./v.weights",
        cwd=tmp_path, tool="convert_main",
    )  # fmt: skip
    assert_one_line_error(proc, "refusing to write -o v.weights: it is the input MODEL")
    proc = cli("fp16-encoder", "v.weights", "-o", "v.weights", cwd=tmp_path, tool="convert_main")
    assert_one_line_error(proc, "refusing to write")
    assert listing(tmp_path) == ["v.cfg", "v.weights"]
    assert weights.read_bytes() == b"\0" * 64


def run_in_process(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["track", *args])
    return code, capsys.readouterr().err


def test_enospc_on_mot_and_log_fails_the_run(
    clip: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    for name in ("r.txt", "t.csv", "v.avi"):
        (out / name).write_text(f"previous {name}\n")

    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("deepsort_lib.io.atomic.os.fsync", full)
    code, err = run_in_process(
        [str(clip), "--encoder", "none", "-q", "--max-frames", "4", "-o", str(out / "v.avi"),
         "--mot", str(out / "r.txt"), "--log", str(out / "t.csv")],
        capsys,
    )  # fmt: skip
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0], err
    for name in ("r.txt", "t.csv", "v.avi"):  # every output kept its previous content
        assert (out / name).read_text() == f"previous {name}\n"
    assert listing(out) == ["r.txt", "t.csv", "v.avi"]  # no .part left, also of the video


def test_rename_failure_of_one_output_cleans_up_the_others(
    clip: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_replace = os.replace

    def failing_replace(src: str, dst: str) -> None:
        if str(dst).endswith(".txt"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_replace(src, dst)

    monkeypatch.setattr("deepsort_lib.io.atomic.os.replace", failing_replace)
    code, err = run_in_process(
        [str(clip), "--encoder", "none", "-q", "--max-frames", "3", "-o",
         str(tmp_path / "v.mp4"), "--mot", str(tmp_path / "r.txt"), "--log",
         str(tmp_path / "t.jsonl")],
        capsys,
    )  # fmt: skip
    assert code == 2 and "Input/output error" in err and len(err.strip().splitlines()) == 1
    # The video was published before the MOT file failed; the log was not left behind.
    assert not list(tmp_path.glob(".*part*"))
    assert not (tmp_path / "r.txt").exists() and not (tmp_path / "t.jsonl").exists()


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 400 KiB tmpfs, when this process may mount one (root in a container)."""
    mount = tmp_path / "small"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {proc.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


@pytest.mark.slow
def test_full_disk_video_and_mot_fail_cleanly(small_fs: Path, tmp_path: Path) -> None:
    make_video(tmp_path / "big.avi", frames=8, size=(640, 480))
    good = small_fs / "v.avi"
    good.write_bytes(b"a good video from yesterday")
    proc = cli(
        "track", str(tmp_path / "big.avi"), "--encoder", "none", "-q", "-o", str(good),
        cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(proc, f"writing {good} failed")
    assert good.read_bytes() == b"a good video from yesterday"
    assert listing(small_fs) == ["v.avi"]
    # Fill the disk, then ask for a MOT file there (public detections: there are tracks).
    sequence = make_sequence(tmp_path / "seq")
    filler = small_fs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    proc = cli(
        "track", str(sequence), "--encoder", "none", "-q", "--mot", str(small_fs / "r.txt"),
        "--n-init", "1",
        cwd=tmp_path,
    )  # fmt: skip
    assert_one_line_error(proc, "No space left on device")
    assert listing(small_fs) == ["filler", "v.avi"]


def test_pipeline_refuses_a_sink_onto_its_source(clip: Path, tmp_path: Path) -> None:
    from deepsort_lib.io.sinks import MotSink, TrackLogSink
    from deepsort_lib.pipeline import Pipeline
    from deepsort_lib.tracking.tracker import Tracker

    original = clip.read_bytes()
    pipeline = Pipeline(None, Tracker())
    (tmp_path / "sub").mkdir()
    for target in (clip, tmp_path / "sub" / ".." / "a.avi"):
        with pytest.raises(SourceError, match="it is the input source"):
            pipeline.process(str(clip), sinks=[MotSink(target)])
    log = tmp_path / "t.csv"
    with pytest.raises(SourceError, match="are the same file"):
        pipeline.process(str(clip), sinks=[MotSink(log), TrackLogSink(log)])
    assert clip.read_bytes() == original
    assert listing(tmp_path) == ["a.avi", "sub"]  # the refused sinks' temporary files are gone
    assert listing(tmp_path / "sub") == []


def test_cli_writes_the_longest_legal_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sequence = make_sequence(tmp_path / "seq")
    mot = tmp_path / ("r" * 250 + ".txt")
    log = tmp_path / ("t" * 248 + ".jsonl")
    code = main(
        ["track", str(sequence), "--encoder", "none", "-q", "--n-init", "1", "--mot", str(mot),
         "--log", str(log)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert len(mot.name) == 254 and len(log.name) == 254
    assert mot.read_text().count("\n") == 5 and log.read_text().count("\n") == 5
    assert listing(tmp_path) == sorted([log.name, mot.name, "seq"])
