"""``deepsort track``: user errors are one line on stderr and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepsort_lib.cli.main import TRACK_COMMANDS, main
from deepsort_lib.io.mot import read_mot

ROOT = Path(__file__).resolve().parents[1]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["track", *args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one line, no traceback
    assert lines[0].startswith("deepsort: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_registered() -> None:
    assert "deepsort_lib.cli.track" in TRACK_COMMANDS


def test_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["track", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--detector",
        "--encoder",
        "--classes",
        "--output",
        "--mot",
        "--log",
        "--max-frames",
        "--show-fps",
        "--detect-every",
        "--cache-dir",
        "--max-cosine-distance",
        "--nn-budget",
        "--max-iou-distance",
        "--max-age",
        "--n-init",
        "--gating-only-position",
        "--min-score",
        "--providers",
    ):
        assert option in text
    assert "(default: 0.2)" in text and "(default: 30)" in text


def test_missing_video(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli([str(tmp_path / "nope.avi"), "-q"], capsys)
    assert_user_error(code, err, "not found", "nope.avi")


def test_unreadable_video(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00garbage" * 500)
    code, _, err = run_cli([str(junk), "-q", "-o", str(tmp_path / "o.mp4")], capsys)
    assert_user_error(code, err, "junk.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.mp4"]  # no output started


def test_missing_model(tmp_path: Path, vtest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli([str(vtest), "--detector", str(tmp_path / "yolov3.onnx")], capsys)
    assert_user_error(code, err, "detector model not found")
    code, _, err = run_cli([str(vtest), "--encoder", str(tmp_path / "mars.onnx")], capsys)
    assert_user_error(code, err, "encoder model not found")


def test_model_that_is_not_onnx(
    tmp_path: Path, vtest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = tmp_path / "yolov3.weights"
    weights.write_bytes(b"\x00" * 64)
    code, _, err = run_cli([str(vtest), "--detector", str(weights)], capsys)
    assert_user_error(code, err, ".onnx", "deepsort-convert")


def test_corrupt_model(tmp_path: Path, vtest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "mars.onnx"
    bad.write_bytes(b"not a protobuf" * 10)
    out = tmp_path / "o.mp4"
    code, _, err = run_cli([str(vtest), "--encoder", str(bad), "-o", str(out)], capsys)
    assert_user_error(code, err, "model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mars.onnx"]  # nothing written


def test_bad_options(tmp_path: Path, vtest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli([str(vtest), "--classes", "car"], capsys)
    assert_user_error(code, err, "unknown class 'car'")
    code, _, err = run_cli([str(vtest), "--log", str(tmp_path / "t.txt")], capsys)
    assert_user_error(code, err, ".jsonl or .csv")
    code, _, err = run_cli([str(vtest), "-o", str(tmp_path / "o.gif")], capsys)
    assert_user_error(code, err, ".mp4 or .avi")
    code, _, err = run_cli([str(vtest), "--encoder", "none", "--max-iou-distance", "2"], capsys)
    assert_user_error(code, err, "max_iou_distance")
    code, _, err = run_cli([str(vtest), "--encoder", "none", "--preset", "fastest"], capsys)
    assert_user_error(code, err, "unknown preset")
    code, _, err = run_cli([str(vtest), "--detector", "public"], capsys)
    assert_user_error(code, err, "MOTChallenge sequence")
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli([str(vtest), "--cache-dir", str(tmp_path / "file")], capsys)
    assert_user_error(code, err, "not a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_argument_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["x.avi", "--max-frames", "0"], ["x.avi", "--detect-every", "two"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["track", *args])
        assert exit_info.value.code == 2
        assert "error:" in capsys.readouterr().err


def test_console_exit_status(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "deepsort_lib.cli.main", "track", str(tmp_path / "none.avi")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"deepsort: error: video file not found: {tmp_path / 'none.avi'}"
    ]


@pytest.mark.slow
def test_track_with_cache_then_retrack(
    tmp_path: Path, vtest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    common = [
        str(vtest),
        "--encoder",
        "none",
        "--max-frames",
        "15",
        "--cache-dir",
        str(tmp_path / "cache"),
        "-q",
    ]
    code, stdout, _ = run_cli(
        [
            *common,
            "-o",
            str(out / "v.mp4"),
            "--mot",
            str(out / "a.txt"),
            "--log",
            str(out / "a.jsonl"),
            "--show-fps",
        ],
        capsys,
    )
    assert code == 0
    for name in ("v.mp4", "a.txt", "a.jsonl"):
        assert f"wrote {out / name}" in stdout
    assert "detector run, detections cached" in stdout  # not "from cached detections"
    cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
    # <name>.<content fingerprint>.<detector>.<encoder>
    assert len(cached) == 2 and cached[0].endswith(".hog.none.det.txt")
    assert cached[0].startswith("vtest.") and cached[1] == cached[0][: -len("det.txt")] + "json"

    # Same settings from the cache: identical results, and the detector is not run.
    import deepsort_lib.models.hog as hog

    def no_detector(*_a: object, **_k: object) -> None:
        raise AssertionError("the detector ran although detections were cached")

    original = hog.HOGDetector.detect
    hog.HOGDetector.detect = no_detector  # type: ignore[assignment,method-assign]
    try:
        code, stdout, err = run_cli([*common, "--mot", str(out / "b.txt")], capsys)
        assert code == 0, err
        assert "from cached detections" in stdout
        assert (out / "a.txt").read_text() == (out / "b.txt").read_text()
        # Other tracker settings from the same cache.
        code, _, err = run_cli([*common, "--mot", str(out / "c.txt"), "--n-init", "1"], capsys)
        assert code == 0, err
    finally:
        hog.HOGDetector.detect = original  # type: ignore[method-assign]
    a, c = read_mot(out / "a.txt"), read_mot(out / "c.txt")
    assert c.frames.min() < a.frames.min()  # n_init=1 reports tracks from the first frame
    # Other detection filters invalidate the cache: the detector runs again.
    code, stdout, err = run_cli(
        [*common, "--mot", str(out / "d.txt"), "--min-score", "0.7"], capsys
    )
    assert code == 0, err
    assert "detector run, detections cached" in stdout  # the cache was rebuilt
    meta = json.loads((tmp_path / "cache" / cached[1]).read_text())
    assert meta["settings"]["min_score"] == 0.7
    assert np.all(read_mot(out / "d.txt").scores >= 0.7)


def test_interrupted_run_leaves_no_outputs(
    tmp_path: Path,
    vtest: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import deepsort_lib.models.hog as hog

    calls = {"n": 0}
    original = hog.HOGDetector.detect

    def interrupted(self: hog.HOGDetector, frame: object) -> object:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, frame)  # type: ignore[arg-type]

    monkeypatch.setattr(hog.HOGDetector, "detect", interrupted)
    code, _, err = run_cli(
        [
            str(vtest),
            "--encoder",
            "none",
            "-q",
            "-o",
            str(tmp_path / "v.mp4"),
            "--mot",
            str(tmp_path / "r.txt"),
            "--log",
            str(tmp_path / "t.csv"),
        ],
        capsys,
    )
    assert code == 130 and "interrupted" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_camera_motion_and_detect_every(
    tmp_path: Path, vtest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mot = tmp_path / "r.txt"
    code, stdout, err = run_cli(
        [
            str(vtest),
            "--encoder",
            "none",
            "--max-frames",
            "8",
            "--camera-motion",
            "sparse",
            "--detect-every",
            "2",
            "--n-init",
            "1",
            "--mot",
            str(mot),
            "-q",
        ],
        capsys,
    )
    assert code == 0, err
    assert "tracked 8 frames" in stdout
    assert set(read_mot(mot).frames.tolist()) <= set(range(1, 9))


def _mot_sequence(root: Path, n: int = 6, features: bool = False) -> Path:
    import cv2
    import numpy as np

    seq = root / "SEQ-01"
    (seq / "img1").mkdir(parents=True)
    (seq / "det").mkdir()
    rows = []
    for i in range(1, n + 1):
        frame = np.full((120, 160, 3), 30, np.uint8)
        x = 10 + 5 * i
        frame[30:90, x : x + 25] = 220
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.jpg"), frame)
        rows.append(f"{i},-1,{x},30,25,60,0.95,-1,-1,-1")
    (seq / "det" / "det.txt").write_text("\n".join(rows) + "\n")
    if features:
        np.save(seq / "det" / "det.npy", np.tile(np.eye(1, 8, dtype=np.float32), (n, 1)))
    (seq / "seqinfo.ini").write_text(
        f"[Sequence]\nname=SEQ-01\nimDir=img1\nframeRate=10\nseqLength={n}\n"
    )
    return seq


@pytest.mark.parametrize("features", [False, True])
def test_mot_sequence_with_public_detections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], features: bool
) -> None:
    seq = _mot_sequence(tmp_path, features=features)
    mot = tmp_path / "res" / "SEQ-01.txt"
    # With cached features the (default, classic) encoder is never run.
    encoder = "classic" if features else "none"
    code, stdout, err = run_cli([str(seq), "--encoder", encoder, "--mot", str(mot), "-q"], capsys)
    assert code == 0, err
    assert "from public detections" in stdout
    results = read_mot(mot)
    assert results.frames.tolist() == [3, 4, 5, 6]  # confirmed after n_init = 3 frames
    assert set(results.ids.tolist()) == {1}


@pytest.mark.slow
def test_zero_download_default(
    tmp_path: Path, vtest: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import cv2

    monkeypatch.chdir(tmp_path)
    code, stdout, err = run_cli([str(vtest), "--max-frames", "12", "-q"], capsys)
    assert code == 0, err
    # With no output option: out/<name>_tracked.mp4 and out/<name>_tracks.txt, and it says so.
    assert stdout.splitlines()[1:] == [
        "wrote out/vtest_tracked.mp4",
        "wrote out/vtest_tracks.txt",
    ]
    capture = cv2.VideoCapture(str(tmp_path / "out" / "vtest_tracked.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    assert int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)) == 768
    assert len(read_mot(tmp_path / "out" / "vtest_tracks.txt")) > 0


@pytest.mark.slow
def test_yolo_detector_from_the_command_line(
    tmp_path: Path, vtest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepsort_lib.models.darknet import convert_darknet, write_random_weights

    cfg = ROOT / "tests" / "data" / "small_yolo.cfg"
    weights = write_random_weights(cfg, tmp_path / "small.weights", seed=7, objectness_bias=-1.0)
    model = convert_darknet(cfg, weights, tmp_path / "small.onnx")
    common = [str(vtest), "--detector", str(model), "--encoder", "none", "-q"]
    mot = tmp_path / "r.txt"
    code, stdout, err = run_cli(
        [*common, "--classes", "0,1", "--max-frames", "3", "--mot", str(mot)], capsys
    )
    assert code == 0, err
    assert "tracked 3 frames" in stdout and mot.is_file()
    code, _, err = run_cli([*common, "--classes", "unicorn"], capsys)
    assert_user_error(code, err, "unknown class 'unicorn'")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"garbage")
    code, _, err = run_cli([str(vtest), "--detector", str(bad)], capsys)
    assert_user_error(code, err, "model")
