"""``deepsort track --reentry SECONDS``: long-term identities from the command line."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from deepsort_lib.cli.main import main
from deepsort_lib.io.mot import read_mot


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["track", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _leave_and_return(root: Path) -> Path:
    """A 25 fps MOT sequence with cached features: person A walks for 30 frames, is unseen
    for 50 (2 s), then comes back 150 px away; person B is there throughout."""
    seq = root / "SEQ-RE"
    (seq / "img1").mkdir(parents=True)
    (seq / "det").mkdir()
    rng = np.random.default_rng(0)
    looks = rng.normal(size=(2, 32))
    rows, feats = [], []
    blank = np.zeros((24, 32, 3), np.uint8)
    n = 110
    for f in range(1, n + 1):
        cv2.imwrite(str(seq / "img1" / f"{f:06d}.png"), blank)
        people = [(1, 500.0, 200.0)]
        if f <= 30:
            people.append((0, 100.0 + 2 * f, 100.0))
        elif f > 80:
            people.append((0, 310.0 - 2 * (f - 80), 100.0))
        for who, x, y in people:
            rows.append(f"{f},-1,{x:.1f},{y:.1f},40,100,0.95,-1,-1,-1")
            feats.append(looks[who] + 0.2 * rng.normal(size=32) / np.sqrt(32))
    (seq / "det" / "det.txt").write_text("\n".join(rows) + "\n")
    np.save(seq / "det" / "det.npy", np.array(feats, np.float32))
    (seq / "seqinfo.ini").write_text(
        f"[Sequence]\nname=SEQ-RE\nimDir=img1\nframeRate=25\nseqLength={n}\nimWidth=640\n"
        "imHeight=480\n"
    )
    return seq


def _ids_of_a(mot: Path) -> set[int]:
    res = read_mot(mot)
    left = res.tlwh[:, 0] < 400  # person A is always left of person B (x = 500)
    return set(res.ids[left].tolist())


@pytest.mark.parametrize(
    ("preset", "off", "on"),
    [("original", [], ["--reentry", "10"]), ("recommended", ["--reentry", "0"], [])],
)
def test_reentry_keeps_the_id_of_a_person_who_comes_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], preset: str, off: list[str], on: list[str]
) -> None:
    # Off by default in 'original' (Deep SORT as published), on by default in 'recommended'.
    seq = _leave_and_return(tmp_path)
    common = [str(seq), "--preset", preset, "--encoder", "classic", "--max-age", "10", "-q"]
    code, _, err = _run([*common, *off, "--mot", str(tmp_path / "plain.txt")], capsys)
    assert code == 0, err
    assert len(_ids_of_a(tmp_path / "plain.txt")) == 2  # max_age alone: a new id
    code, _, err = _run([*common, *on, "--mot", str(tmp_path / "re.txt")], capsys)
    assert code == 0, err
    assert len(_ids_of_a(tmp_path / "re.txt")) == 1  # the old id again


def test_default_reentry_applies_to_each_of_several_sources(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each source has its own memory: every output is what a lone run of it writes.
    seq = _leave_and_return(tmp_path)
    common = ["--encoder", "classic", "--max-age", "10", "-q"]
    code, _, err = _run([str(seq), *common, "--mot", str(tmp_path / "lone.txt")], capsys)
    assert code == 0, err
    out = tmp_path / "many"
    code, _, err = _run([str(seq), str(seq), *common, "--no-video", "-o", str(out)], capsys)
    assert code == 0, err
    written = sorted(out.glob("*.txt"))
    assert len(written) == 2
    lone = (tmp_path / "lone.txt").read_text()
    assert all(path.read_text() == lone for path in written)
    assert len(_ids_of_a(written[0])) == 1


def test_explicit_reentry_needs_features(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seq = _leave_and_return(tmp_path)
    (seq / "det" / "det.npy").unlink()
    args = [str(seq), "--encoder", "none", "-q", "--mot", str(tmp_path / "o.txt")]
    code, _, err = _run([*args, "--reentry", "10"], capsys)
    assert code == 2 and "--reentry needs appearance features" in err
    assert not (tmp_path / "o.txt").exists()
    code, _, err = _run(args, capsys)  # the default just stays off without features
    assert code == 0, err


@pytest.mark.parametrize("value", ["-1", "-3", "soon"])
def test_bad_reentry_seconds_exit_2(capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["track", "x.avi", "--reentry", value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--reentry" in err and "Traceback" not in err


def test_reentry_with_ray_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["track", "a.avi", "b.avi", "--ray", "2", "--reentry", "5"])
    err = capsys.readouterr().err
    assert code == 2 and "--reentry does not work with --ray" in err
    assert len(err.strip().splitlines()) == 1


def test_default_reentry_needs_a_reid_models_features(tmp_path: Path) -> None:
    import argparse

    from deepsort_lib.io.video import open_source
    from deepsort_lib.run.build import feature_kind, reentry_seconds

    seq = _leave_and_return(tmp_path)

    def options(**kw: object) -> argparse.Namespace:
        return argparse.Namespace(
            **{"encoder": "classic", "preset": "recommended", "reentry": None, **kw}
        )

    with open_source(str(seq)) as source:
        assert feature_kind(options(), source, None) == "reid"  # the sequence's det.npy
        assert feature_kind(options(), source, object()) == "classic"  # a detector runs
        assert feature_kind(options(encoder="none"), source, object()) == "none"
        assert feature_kind(options(encoder="m.onnx"), source, object()) == "reid"
    assert reentry_seconds(options(), "reid") == 30.0
    assert reentry_seconds(options(), "classic") is None  # hand-made features: off
    assert reentry_seconds(options(preset="original"), "reid") is None
    assert reentry_seconds(options(reentry=12.0), "classic") == 12.0  # asked for: on
    assert reentry_seconds(options(reentry=0.0), "reid") is None
