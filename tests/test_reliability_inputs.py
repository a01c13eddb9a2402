"""Wrong results without an error, and crashes on the user's input (issue 15): the detection
cache, empty detections, truncated videos, MOT files, CLI option values."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import ROOT, assert_one_line_error, cli, make_sequence, make_video

from deepsort_lib.boxes import Detections
from deepsort_lib.cli.main import main
from deepsort_lib.errors import DeepSortError, InvalidInputError
from deepsort_lib.evaluation import evaluate, evaluate_files
from deepsort_lib.io.detection_cache import DetectionCache, content_fingerprint
from deepsort_lib.io.mot import MotData, read_mot
from deepsort_lib.pipeline import Pipeline
from deepsort_lib.tracking.tracker import Tracker


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def user_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("deepsort") and "error: " in lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# -- the detection cache is keyed by content ---------------------------------------------------


def test_fingerprint_follows_content_not_name(tmp_path: Path) -> None:
    a = tmp_path / "camA" / "clip.avi"
    b = tmp_path / "camB" / "clip.avi"
    a.parent.mkdir()
    b.parent.mkdir()
    payload = bytes(range(256)) * 10_000  # 2.5 MB: head, middle and tail differ
    a.write_bytes(payload)
    b.write_bytes(payload)
    os.utime(b, ns=(a.stat().st_atime_ns, a.stat().st_mtime_ns))
    assert content_fingerprint(a) == content_fingerprint(b)  # same content, other folder
    stamp = (b.stat().st_atime_ns, b.stat().st_mtime_ns)
    b.write_bytes(payload[:-1] + b"\x00")  # same size, last byte differs
    os.utime(b, ns=stamp)
    assert content_fingerprint(a) != content_fingerprint(b)
    b.write_bytes(payload)
    os.utime(b, ns=(stamp[0], stamp[1] + 1))  # touched: rebuilt rather than trusted
    assert content_fingerprint(a) != content_fingerprint(b)
    folder = make_sequence(tmp_path / "seq")
    before = content_fingerprint(folder)
    (folder / "img1" / "000002.jpg").write_bytes(b"other image")
    assert content_fingerprint(folder) != before


def test_same_name_in_two_folders_does_not_share_detections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for cam, frames in (("camA", 6), ("camB", 9)):
        (tmp_path / cam).mkdir()
        make_video(tmp_path / cam / "clip.avi", frames=frames)
    cache = tmp_path / "cache"
    common = ["--encoder", "none", "-q", "--cache-dir", str(cache)]
    code, out, err = run(
        ["track", str(tmp_path / "camA" / "clip.avi"), *common, "--mot", str(tmp_path / "a.txt")],
        capsys,
    )
    assert code == 0, err
    assert "detector run, detections cached" in out
    code, out, err = run(
        ["track", str(tmp_path / "camB" / "clip.avi"), *common, "--mot", str(tmp_path / "b.txt")],
        capsys,
    )
    assert code == 0, err
    assert "detector run, detections cached" in out and "tracked 9 frames" in out
    assert len(list(cache.glob("clip.*.json"))) == 2  # two entries, neither overwritten
    # The same video again does use its cache.
    code, out, err = run(
        ["track", str(tmp_path / "camA" / "clip.avi"), *common, "--mot", str(tmp_path / "c.txt")],
        capsys,
    )
    assert code == 0 and "from cached detections" in out and "tracked 6 frames" in out


# -- no detections at all --------------------------------------------------------------------------


def test_no_detections_anywhere() -> None:
    empty = MotData.empty()
    assert empty.frame_slices() == {}
    cache = DetectionCache(empty, num_frames=4)
    assert len(cache[3]) == 0 and list(cache) == [1, 2, 3, 4]
    built = DetectionCache.from_frames({1: Detections.empty(), 2: Detections.empty()})
    assert len(built) == 2 and len(built[2]) == 0


def test_empty_det_txt_and_empty_cache_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sequence = make_sequence(tmp_path / "seq", det_lines="")
    code, out, err = run(
        ["track", str(sequence), "--encoder", "none", "-q", "--mot", str(tmp_path / "r.txt")],
        capsys,
    )
    assert code == 0, err
    assert "tracked 5 frames from public detections" in out
    assert "warning: no tracks at all" in err
    assert read_mot(tmp_path / "r.txt").frames.size == 0
    # A cache of a video without a single detection, written then read back.
    clip = make_video(tmp_path / "c.avi", frames=4)
    args = ["track", str(clip), "--encoder", "none", "-q", "--cache-dir", str(tmp_path / "k")]
    for name in ("a", "b"):  # built, then reused
        code, out, err = run([*args, "--min-score", "1", "--mot", str(tmp_path / name)], capsys)
        assert code == 0 and "tracked 4 frames" in out, err


# -- truncated video -----------------------------------------------------------------------------


def test_truncated_video_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    full = make_video(tmp_path / "full.avi", frames=20)
    cut = tmp_path / "cut.avi"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    code, out, err = run(
        ["track", str(cut), "--encoder", "none", "-q", "--mot", str(tmp_path / "r.txt")], capsys
    )
    assert code == 0, err
    warnings = [line for line in err.splitlines() if "warning:" in line]
    assert any("declares 20 frames but only" in w for w in warnings), err
    decoded = int(out.split("tracked ")[1].split(" frames")[0])
    assert 0 < decoded < 20
    assert f"(truncated video: {decoded} of 20 declared frames decoded)" in out
    # --max-frames below the decoded count is not a truncation.
    code, out, err = run(
        ["track", str(cut), "--encoder", "none", "-q", "--max-frames", "2", "--mot",
         str(tmp_path / "s.txt")],
        capsys,
    )  # fmt: skip
    assert code == 0 and "truncated video" not in out and "declares" not in err


# -- MOT files -------------------------------------------------------------------------------------

GOOD = "1,1,10,20,30,40,1,-1,-1,-1\n1,2,50,20,30,40,1,-1,-1,-1\n2,1,12,20,30,40,1,-1,-1,-1\n"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (GOOD + "2,1,60,20,30,40,1,-1,-1,-1\n", ["line 4, frame 2", "identity 1 appears twice"]),
        ("1,1.5,10,20,30,40,1\n", ["line 1, frame 1", "identity 1.5 is not an integer"]),
        ("1,1e19,10,20,30,40,1\n", ["line 1, frame 1", "beyond"]),
        ("1,99999999999999999999999,10,20,30,40,1\n", ["line 1", "beyond"]),
        (GOOD + "3,1,10,20,-30,40,1,-1,-1,-1\n", ["line 4, frame 3", "negative box"]),
        (GOOD + "\n3,1,10,20,abc,40,1,-1,-1,-1\n", ["line 5", "not numbers"]),
        (GOOD + "3,1,10,20,inf,40,1,-1,-1,-1\n", ["line 4, frame 3", "infinite"]),
        ("1,1,10,20,30,40\n1,1,10,20,30,40,1\n", ["line 2 has 7"]),
    ],
)
def test_bad_mot_files_name_file_line_and_frame(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = tmp_path / "gt.txt"
    path.write_text(text)
    with pytest.raises(InvalidInputError) as info:
        read_mot(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_bom_and_detection_files_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "gt.txt"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert len(read_mot(path)) == 3
    det = tmp_path / "det.txt"  # id -1 on every row: no identity to repeat
    det.write_text("1,-1,10,20,30,40,0.9\n1,-1,10,20,30,40,0.8\n")
    assert len(read_mot(det)) == 2


def test_evaluate_takes_what_read_mot_returns(tmp_path: Path) -> None:
    gt = tmp_path / "gt.txt"
    res = tmp_path / "res.txt"
    gt.write_text(GOOD)
    res.write_text(GOOD.replace(",1,-1,-1,-1", ",0.9,-1,-1,-1"))
    from_data = evaluate(read_mot(gt), read_mot(res), hota=False)
    from_files = evaluate_files(gt, res, hota=False)
    assert from_data == from_files
    assert from_data.mota == pytest.approx(1.0) and from_data.idf1 == pytest.approx(1.0)
    assert from_data.num_objects == 3


def test_empty_ground_truth_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gt = tmp_path / "gt.txt"
    gt.write_text("")
    res = tmp_path / "res.txt"
    res.write_text(GOOD)
    with pytest.raises(InvalidInputError, match="no boxes to evaluate against"):
        evaluate(read_mot(gt), read_mot(res))
    code, out, err = run(["eval", "--gt", str(gt), "--results", str(res)], capsys)
    user_error(code, err, "no boxes to evaluate against")
    assert "inf" not in out
    dup = tmp_path / "dup.txt"
    dup.write_text(GOOD + "1,1,90,20,30,40,1,-1,-1,-1\n")
    code, _, err = run(["eval", "--gt", str(dup), "--results", str(res)], capsys)
    user_error(code, err, str(dup), "line 4, frame 1", "appears twice")
    with pytest.raises(InvalidInputError, match="row 2, frame 1: identity 1 appears twice"):
        evaluate(np.array([[1, 1, 0, 0, 5, 5], [1, 1, 9, 9, 5, 5]], float), read_mot(res))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"[Sequence]\nname=s\nframeRate=abc\n", "frameRate must be a number"),
        (b"[Sequence]\nname=\xff\xfe\n", "not UTF-8"),
        (b"[Sequence]\nname=a\nname=b\n", "cannot parse"),
    ],
)
def test_bad_seqinfo_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, fragment: str
) -> None:
    sequence = make_sequence(tmp_path / "seq")
    (sequence / "seqinfo.ini").write_bytes(content)
    code, _, err = run(["track", str(sequence), "--encoder", "none", "-q"], capsys)
    user_error(code, err, "seqinfo.ini", fragment)


LINE = st.lists(
    st.one_of(
        st.integers(-(2**70), 2**70).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["", "-1", "nan", "1e400", "0x1", "1_0", "--", "é", "\x00"]),
    ),
    min_size=0,
    max_size=11,
).map(",".join)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(LINE, max_size=8), bom=st.booleans(), raw=st.binary(max_size=40))
def test_fuzz_mot_reader_raises_only_library_errors(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], bom: bool, raw: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.txt"
    for content in (("\ufeff" if bom else "") + "\n".join(lines), None):
        if content is None:
            path.write_bytes(raw)
        else:
            path.write_text(content, encoding="utf-8")
        try:
            data = read_mot(path)
        except DeepSortError:
            continue
        assert np.all(np.isfinite(data.tlwh)) and np.all(data.tlwh[:, 2:] >= 0)
        assert np.all(data.frames >= 0)


# -- CLI option values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--min-score", "nan"], "--min-score must be a finite number"),
        (["--min-score", "2"], "--min-score must be in [0, 1]"),
        (["--min-score", "-0.5"], "--min-score must be in [0, 1]"),
        (["--classes", "99"], "unknown class id 99"),
        (["--providers", "bogus"], "'bogus' is not available"),
        (["--nn-budget", "1000000"], "--nn-budget must be between 0 (keep all) and 10000"),
        (["--nn-budget", "-3"], "--nn-budget must be between"),
        (["--max-cosine-distance", "nan"], "--max-cosine-distance must be a finite number"),
    ],
)
def test_impossible_option_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    clip = make_video(tmp_path / "c.avi", frames=2)
    code, _, err = run(["track", str(clip), "-q", "--mot", str(tmp_path / "r.txt"), *args], capsys)
    user_error(code, err, fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.avi"]  # nothing written


def test_public_detections_keep_their_score_scale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # MOT16's DPM detections score far above 1: --min-score 2 is legitimate there.
    sequence = make_sequence(tmp_path / "seq")
    text = (sequence / "det" / "det.txt").read_text().replace(",0.9,", ",5.0,")
    (sequence / "det" / "det.txt").write_text(text)
    code, _, err = run(
        ["track", str(sequence), "--encoder", "none", "-q", "--min-score", "2", "--n-init", "1",
         "--mot", str(tmp_path / "r.txt")],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert "warning" not in err and len(read_mot(tmp_path / "r.txt")) == 5


def test_argument_errors_are_one_line(tmp_path: Path) -> None:
    proc = cli("quantize-detector", "m.onnx", "-o", "q.onnx", "--frames", "-5", cwd=tmp_path,
               tool="convert_main")  # fmt: skip
    assert_one_line_error(proc, "--frames: expected a number >= 1, got -5")
    proc = cli("track", "x.avi", "--max-frames", "-5", cwd=tmp_path)
    assert_one_line_error(proc, "--max-frames")


def test_version_has_one_source(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    import deepsort_lib

    assert deepsort_lib.__version__ == version("deepsort_lib")
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"deepsort {deepsort_lib.__version__}"
    assert f'version = "{deepsort_lib.__version__}"' in (ROOT / "pyproject.toml").read_text()


def test_detector_returning_an_array_is_named(vtest_frames: list[np.ndarray]) -> None:
    class ArrayDetector:
        def detect(self, frame: np.ndarray) -> np.ndarray:
            return np.array([[10.0, 20.0, 50.0, 120.0, 0.9]])

    pipeline = Pipeline(ArrayDetector(), Tracker())  # type: ignore[arg-type]
    tracker_before = pipeline.tracker
    with pytest.raises(InvalidInputError, match=r"Detections\.from_xyxy.*from_tlwh"):
        list(pipeline.run(enumerate(vtest_frames[:2], start=1)))
    assert pipeline.tracker is tracker_before and not tracker_before.tracks


def test_no_tracks_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = make_video(tmp_path / "c.avi", frames=3)
    code, out, err = run(
        ["track", str(clip), "--encoder", "none", "-q", "--mot", str(tmp_path / "r.txt")], capsys
    )
    assert code == 0
    assert "0 distinct track ids" in out
    assert "deepsort: warning: no tracks at all" in err


@pytest.mark.slow
def test_encoder_given_a_detector_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from deepsort_lib.models.darknet import convert_darknet, write_random_weights

    cfg = ROOT / "tests" / "data" / "small_yolo.cfg"
    weights = write_random_weights(cfg, tmp_path / "small.weights", seed=7)
    model = convert_darknet(cfg, weights, tmp_path / "small.onnx")
    clip = make_video(tmp_path / "c.avi", frames=2)
    code, _, err = run(
        ["track", str(clip), "--encoder", str(model), "-q", "--mot", str(tmp_path / "r.txt")],
        capsys,
    )
    user_error(code, err, "does not work as a re-ID encoder")
    assert not (tmp_path / "r.txt").exists()


def test_every_convert_command_is_described(capsys: pytest.CaptureFixture[str]) -> None:
    from deepsort_lib.cli.main import convert_main

    for command in ("darknet", "quantize-detector", "mars", "quantize-encoder", "fp16-encoder",
                    "reid-metadata"):  # fmt: skip
        with pytest.raises(SystemExit):
            convert_main([command, "--help"])
        text = capsys.readouterr().out
        description = text.split("\n\n")[1]  # usage, then the description paragraph
        assert not description.lstrip().startswith(("positional", "options")), command
        assert len(description.split()) >= 8, (command, description)
