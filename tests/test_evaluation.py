"""Evaluation wrappers (motmetrics + TrackEval), the ``deepsort eval`` command, and the
sanity check that our tracker fed with ground truth scores ~100%."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.accuracy.data import gt_path, load_gt
from deepsort_lib.cli.main import main
from deepsort_lib.errors import ConfigurationError, InvalidInputError, SourceError
from deepsort_lib.evaluation import (
    OVERALL,
    evaluate,
    evaluate_files,
    evaluate_sequences,
    format_table,
    hota_available,
)


def _track(frames: range, ident: int, x0: float = 0.0) -> np.ndarray:
    f = np.asarray(list(frames), dtype=float)
    return np.column_stack(
        [f, np.full_like(f, ident), x0 + 5 * f, 10 + 0 * f, 20 + 0 * f, 50 + 0 * f]
    )


def test_trackeval_is_installed() -> None:
    # HOTA is part of the benchmark table; setup must install TrackEval.
    assert hota_available()


def test_perfect_results() -> None:
    gt = np.vstack([_track(range(1, 11), 1), _track(range(1, 11), 2, x0=200)])
    r = evaluate(gt, gt)
    assert (r.mota, r.motp, r.idf1, r.precision, r.recall) == (1.0, 1.0, 1.0, 1.0, 1.0)
    assert (r.num_switches, r.num_fragmentations, r.num_false_positives, r.num_misses) == (0,) * 4
    assert (r.mostly_tracked, r.mostly_lost, r.num_objects, r.num_frames) == (2, 0, 20, 10)
    assert r.hota == pytest.approx(1.0) and r.deta == pytest.approx(1.0)


def test_one_identity_switch_by_hand() -> None:
    gt = _track(range(1, 5), 7)
    res = np.vstack([_track(range(1, 3), 1), _track(range(3, 5), 2)])
    r = evaluate(gt, res)
    assert r.num_switches == 1
    assert r.mota == pytest.approx(1 - 1 / 4)
    assert r.idf1 == pytest.approx(2 * 2 / (4 + 4))  # best id covers 2 of 4 frames
    # HOTA by its definition: DetA = 1; every TP has TPA=2, FNA=2, FPA=0, so AssA = 0.5.
    assert r.deta == pytest.approx(1.0)
    assert r.assa == pytest.approx(0.5)
    assert r.hota == pytest.approx(np.sqrt(0.5))


def test_miss_and_false_positive_by_hand() -> None:
    gt = _track(range(1, 11), 1)
    res = gt[1:].copy()  # frame 1 missed
    fp = np.array([[5, 9, 400, 400, 20, 50]], dtype=float)
    r = evaluate(gt, np.vstack([res, fp]))
    assert (r.num_misses, r.num_false_positives, r.num_switches) == (1, 1, 0)
    assert r.mota == pytest.approx(1 - 2 / 10)
    assert r.recall == pytest.approx(0.9) and r.precision == pytest.approx(9 / 10)


def test_iou_threshold_decides_matches() -> None:
    gt = _track(range(1, 4), 1)
    res = gt.copy()
    res[:, 2] += 5.0  # width 20: IoU = 15*50 / (25*50) = 0.6
    assert evaluate(gt, res, iou_threshold=0.5).mota == pytest.approx(1.0)
    assert evaluate(gt, res, iou_threshold=0.5).motp == pytest.approx(0.6)
    assert evaluate(gt, res, iou_threshold=0.7).mota == pytest.approx(-1.0)


def test_ignored_ground_truth_rows() -> None:
    gt = np.column_stack([_track(range(1, 5), 1), np.ones(4)])
    gt[2, 6] = 0  # frame 3: "do not consider"
    res = np.delete(gt, 2, axis=0)[:, :6]
    r = evaluate(gt, res)
    assert r.num_objects == 3 and r.mota == pytest.approx(1.0)


def test_matches_motmetrics_published_tud_campus_numbers(tmp_path: Path) -> None:
    # motmetrics' README lists these for its bundled TUD-Campus test.txt (py-motmetrics 1.4).
    test_txt = gt_path("TUD-Campus").with_name("test.txt")
    r = evaluate_files(gt_path("TUD-Campus"), test_txt, hota=False)
    assert r.idf1 == pytest.approx(0.558, abs=5e-4)
    assert r.mota == pytest.approx(0.526, abs=5e-4)
    assert 1 - r.motp == pytest.approx(0.277, abs=5e-4)
    assert (r.num_switches, r.num_fragmentations) == (7, 7)
    assert (r.mostly_tracked, r.partially_tracked, r.mostly_lost) == (1, 6, 1)
    assert (r.num_false_positives, r.num_misses) == (13, 150)
    assert r.hota is None


def test_pooled_over_sequences() -> None:
    a = _track(range(1, 5), 1)
    b = _track(range(1, 7), 1)
    out = evaluate_sequences({"a": (a, a[:2]), "b": (b, b)})
    assert set(out) == {"a", "b", OVERALL}
    assert out["a"].num_misses == 2 and out["b"].num_misses == 0
    assert out[OVERALL].num_objects == 10
    assert out[OVERALL].mota == pytest.approx(1 - 2 / 10)
    assert out[OVERALL].hota is not None and out["a"].hota is not None
    assert out["b"].hota == pytest.approx(1.0)
    assert out[OVERALL].hota < 1.0


def test_empty_results() -> None:
    gt = _track(range(1, 5), 1)
    r = evaluate(gt, np.zeros((0, 6)))
    assert r.num_misses == 4 and r.mota == pytest.approx(0.0) and r.recall == 0.0


def test_bad_inputs() -> None:
    gt = _track(range(1, 3), 1)
    with pytest.raises(InvalidInputError):
        evaluate(gt, np.zeros((3, 4)))
    with pytest.raises(InvalidInputError):
        evaluate(gt, np.array([[1, 1, 0, 0, -5, 10]], dtype=float))
    with pytest.raises(ConfigurationError):
        evaluate(gt, gt, iou_threshold=0.0)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="file not found"):
        evaluate_files(tmp_path / "missing.txt", tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("1,2,three,4,5,6\n")
    with pytest.raises(InvalidInputError, match="not a MOTChallenge file"):
        evaluate_files(bad, bad)
    short = tmp_path / "short.txt"
    short.write_text("1,2,3\n")
    with pytest.raises(InvalidInputError, match="expected 6 to 10"):
        evaluate_files(short, short)
    with pytest.raises(SourceError, match=r"(?i)is a directory"):
        evaluate_files(tmp_path, tmp_path)


def test_format_table() -> None:
    gt = _track(range(1, 5), 1)
    text = format_table({"mine": evaluate(gt, gt, hota=False)})
    header, row = text.splitlines()
    assert header.split()[:4] == ["name", "MOTA", "MOTP", "IDF1"]
    assert row.split()[:5] == ["mine", "100.0", "100.0", "100.0", "-"]


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_eval_prints_table(capsys: pytest.CaptureFixture[str]) -> None:
    gt = gt_path("TUD-Campus")
    assert main(["eval", "--gt", str(gt), "--results", str(gt.with_name("test.txt"))]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:2] == ["name", "MOTA"]
    assert out[1].split()[1] == "52.6"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        ("frame,id,x\n", "not a MOTChallenge file"),
        ("1,1,1\n", "expected 6 to 10"),
    ],
)
def test_cli_eval_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    res = tmp_path / "res.txt"
    if content is not None:
        res.write_text(content)
    code = main(["eval", "--gt", str(gt_path("TUD-Campus")), "--results", str(res)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("deepsort: error:") and message in err[0]


def test_cli_eval_bad_iou(capsys: pytest.CaptureFixture[str]) -> None:
    gt = str(gt_path("TUD-Campus"))
    assert main(["eval", "--gt", gt, "--results", gt, "--iou", "1.5"]) == 2
    assert "--iou" in capsys.readouterr().err


# -- Sanity: our tracker on ground truth -------------------------------------------------------


def _track_ground_truth(gt: np.ndarray, box: str, **settings: object) -> np.ndarray:
    from deepsort_lib.boxes import Detections
    from deepsort_lib.tracking.tracker import Tracker

    # Perfect re-ID: one random unit vector per identity.
    uid = np.unique(gt[:, 1].astype(int))
    vectors = np.random.default_rng(0).normal(size=(len(uid), 128))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    tracker = Tracker(**{"output_max_misses": 0, **settings})  # type: ignore[arg-type]
    rows = []
    for frame in range(int(gt[:, 0].min()), int(gt[:, 0].max()) + 1):
        g = gt[gt[:, 0] == frame]
        feats = vectors[np.searchsorted(uid, g[:, 1].astype(int))].astype(np.float32)
        dets = Detections.from_tlwh(g[:, 2:6], np.ones(len(g)), None, feats)
        for t in tracker.update(dets):
            rows.append([frame, t.track_id, *getattr(t, box)])
    return np.array(rows)


@pytest.mark.parametrize("sequence", ["TUD-Stadtmitte", "TUD-Campus"])
def test_ground_truth_as_detections_scores_100(sequence: str) -> None:
    gt = load_gt(sequence)
    # n_init=1: every box is reported from its first frame, with its own detection.
    r = evaluate(gt, _track_ground_truth(gt, "detection_tlwh", n_init=1))
    assert (r.mota, r.idf1, r.hota) == (1.0, 1.0, pytest.approx(1.0))


@pytest.mark.slow
@pytest.mark.parametrize("sequence", ["TUD-Stadtmitte", "TUD-Campus"])
def test_ground_truth_as_detections_original_settings(sequence: str) -> None:
    gt = load_gt(sequence)
    ids = len(np.unique(gt[:, 1]))
    r = evaluate(gt, _track_ground_truth(gt, "detection_tlwh"))
    # Only the n_init - 1 = 2 tentative frames of each identity are not reported.
    assert (r.num_switches, r.num_false_positives) == (0, 0)
    assert r.num_misses <= 2 * ids
    assert r.mota >= 1 - 2 * ids / len(gt) and r.idf1 > 0.97
    # The Kalman box lags a little behind sudden box changes, but stays on target.
    k = evaluate(gt, _track_ground_truth(gt, "tlwh"))
    assert k.num_switches == 0 and k.mota > 0.9 and k.idf1 > 0.95
