"""Offline refinement: split at appearance change-points, link fragments, GSI; files and CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepsort_lib.cli.main import main
from deepsort_lib.errors import ConfigurationError, InvalidInputError, SourceError
from deepsort_lib.io.features import (
    features_path_for,
    join_features,
    load_features,
    refine_file,
    save_features,
)
from deepsort_lib.io.mot import MotData, read_mot, write_mot
from deepsort_lib.tracking.refine import (
    RefineConfig,
    link_tracklets,
    refine,
    split_tracklets,
)

D = 32
RNG_LOOKS = np.random.default_rng(5).normal(size=(6, D))
LOOKS = RNG_LOOKS / np.linalg.norm(RNG_LOOKS, axis=1, keepdims=True)


def _feats(person: np.ndarray, noise: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    f = LOOKS[person] + noise * rng.normal(size=(len(person), D)) / np.sqrt(D)
    return (f / np.linalg.norm(f, axis=1, keepdims=True)).astype(np.float32)


def _track(tid: int, frames: range, x0: float, vx: float = 1.0) -> tuple[np.ndarray, ...]:
    f = np.arange(frames.start, frames.stop)
    boxes = np.column_stack(
        [
            x0 + vx * (f - f[0]),
            np.full(len(f), 100.0),
            np.full(len(f), 40.0),
            np.full(len(f), 100.0),
        ]
    )
    return f, np.full(len(f), tid), boxes


def test_split_cuts_where_the_person_changes() -> None:
    frames = np.arange(100)
    ids = np.full(100, 7)
    person = np.where(frames < 55, 0, 1)
    new = split_tracklets(frames, ids, _feats(person, 0.5))
    assert np.all(new[:55] == 7) and np.all(new[55:] == 8)


def test_split_keeps_a_pure_noisy_tracklet() -> None:
    frames = np.arange(200)
    new = split_tracklets(frames, np.full(200, 3), _feats(np.zeros(200, int), 0.8))
    assert np.all(new == 3)


def test_split_handles_several_changes_and_unsorted_rows() -> None:
    frames = np.arange(150)
    person = np.repeat([0, 1, 0], 50)
    order = np.random.default_rng(1).permutation(150)
    new = split_tracklets(frames[order], np.full(150, 1)[order], _feats(person, 0.3)[order])
    back = np.empty_like(new)
    back[order] = new
    assert len({*back[:50]}) == len({*back[50:100]}) == len({*back[100:]}) == 1
    assert len({back[0], back[60], back[120]}) == 3


def test_link_joins_fragments_of_one_person_only() -> None:
    f1, i1, b1 = _track(1, range(0, 40), 50)
    f2, i2, b2 = _track(2, range(70, 120), 100)  # person 0 again after 30 frames
    f3, i3, b3 = _track(3, range(45, 120), 90)  # person 1: starts in the gap, nearby
    frames = np.concatenate([f1, f2, f3])
    ids = np.concatenate([i1, i2, i3])
    boxes = np.vstack([b1, b2, b3])
    person = np.r_[np.zeros(len(f1) + len(f2), int), np.ones(len(f3), int)]
    new = link_tracklets(frames, ids, boxes, _feats(person, 0.5))
    assert set(new[ids == 2]) == {1} and set(new[ids == 3]) == {3}


@pytest.mark.parametrize(
    ("second", "why"),
    [
        (range(30, 80), "overlaps the first in time"),
        (range(45, 80), "too far for a 5-frame gap"),
    ],
)
def test_link_respects_feasibility(second: range, why: str) -> None:
    f1, i1, b1 = _track(1, range(0, 40), 50)
    f2, i2, b2 = _track(2, second, 500)
    frames, ids, boxes = np.r_[f1, f2], np.r_[i1, i2], np.vstack([b1, b2])
    new = link_tracklets(frames, ids, boxes, _feats(np.zeros(len(frames), int), 0.3))
    assert set(new[ids == 2]) == {2}, why


def test_link_never_joins_two_classes() -> None:
    f1, i1, b1 = _track(1, range(0, 40), 50)
    f2, i2, b2 = _track(2, range(50, 80), 60)
    frames, ids, boxes = np.r_[f1, f2], np.r_[i1, i2], np.vstack([b1, b2])
    feats = _feats(np.zeros(len(frames), int), 0.3)
    assert set(link_tracklets(frames, ids, boxes, feats)) == {1}
    classes = np.r_[np.zeros(len(f1), int), np.ones(len(f2), int)]
    assert set(link_tracklets(frames, ids, boxes, feats, class_ids=classes)) == {1, 2}


def test_link_chains_three_fragments() -> None:
    parts = [
        _track(t, r, x)
        for t, r, x in ((5, range(0, 20), 50), (9, range(30, 50), 80), (2, range(60, 90), 110))
    ]
    frames = np.concatenate([p[0] for p in parts])
    ids = np.concatenate([p[1] for p in parts])
    boxes = np.vstack([p[2] for p in parts])
    new = link_tracklets(frames, ids, boxes, _feats(np.zeros(len(frames), int), 0.4))
    assert set(new) == {5}


def test_refine_splits_links_and_fills_gaps() -> None:
    # id 1 follows person 0, then jumps to person 1 at frame 60; person 0 comes back as id 2.
    f1, i1, b1 = _track(1, range(0, 100), 50)
    f2, i2, b2 = _track(2, range(110, 160), 170)
    person = np.r_[np.where(f1 < 60, 0, 1), np.zeros(len(f2), int)]
    keep = (f1 < 20) | (f1 > 25)  # a 6-frame gap for GSI to fill
    rows = np.vstack(
        [
            np.column_stack([f1, i1, b1])[keep],
            np.column_stack([f2, i2, b2]),
        ]
    )
    feats = _feats(person, 0.4)[np.r_[keep, np.ones(len(f2), bool)]]
    out = refine(rows, feats, RefineConfig(max_speed=0.5))
    first = {int(r[1]) for r in out if r[0] < 60}
    second = {int(r[1]) for r in out if 60 <= r[0] < 100}
    third = {int(r[1]) for r in out if r[0] >= 110}
    assert first == third and first.isdisjoint(second) and len(second) == 1
    assert set(out[out[:, 1] == 1, 0].astype(int)) >= set(range(0, 60))  # the gap is filled


def test_refine_without_features_is_gsi_only() -> None:
    f, i, b = _track(1, range(0, 30), 50)
    rows = np.column_stack([f, i, b])[np.r_[0:10, 15:30]]
    out = refine(rows)
    assert len(out) == 30 and set(out[:, 1]) == {1}


def test_refine_rejects_bad_input() -> None:
    rows = np.column_stack([np.zeros(2), np.ones(2), np.ones((2, 4))])
    with pytest.raises(InvalidInputError, match="twice"):
        refine(rows)
    with pytest.raises(InvalidInputError):
        refine(rows[:1], np.ones((2, D)))
    with pytest.raises(ConfigurationError):
        RefineConfig(window=0)


# -- files -----------------------------------------------------------------------------------


def _write_run(tmp_path: Path) -> tuple[Path, np.ndarray]:
    f1, i1, b1 = _track(1, range(0, 40), 50)
    f2, i2, b2 = _track(2, range(60, 100), 80)
    results = tmp_path / "run.txt"
    write_mot(results, MotData.from_arrays(np.r_[f1, f2], np.r_[i1, i2], np.vstack([b1, b2])))
    feats = _feats(np.zeros(80, int), 0.3)
    save_features(features_path_for(results), np.r_[f1, f2], np.r_[i1, i2], feats)
    return results, feats


def test_refine_file_links_using_the_features_file(tmp_path: Path) -> None:
    results, _ = _write_run(tmp_path)
    before = results.read_bytes()
    out = refine_file(results, config=RefineConfig(max_speed=0.5))
    assert out == tmp_path / "run.refined.txt"
    assert set(read_mot(out).ids) == {1}
    assert results.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "run.features.npz",
        "run.refined.txt",
        "run.txt",
    ]


def test_refine_file_never_replaces_an_input(tmp_path: Path) -> None:
    results, _ = _write_run(tmp_path)
    before = results.read_bytes()
    for target in (results, features_path_for(results)):
        with pytest.raises(ConfigurationError):
            refine_file(results, target)
    assert results.read_bytes() == before
    with pytest.raises(ConfigurationError):
        refine_file(results, tmp_path)  # a directory


def test_failed_refine_leaves_the_previous_output(tmp_path: Path) -> None:
    results, _ = _write_run(tmp_path)
    out = tmp_path / "out.txt"
    out.write_text("previous\n")
    bad = tmp_path / "bad.npz"
    np.savez(bad, frame=np.zeros(3), id=np.zeros(3))  # no features array
    with pytest.raises(InvalidInputError, match="features"):
        refine_file(results, out, features_path=bad)
    assert out.read_text() == "previous\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_features_files_round_trip_and_join(tmp_path: Path) -> None:
    feats = _feats(np.zeros(4, int), 0.3)
    path = save_features(tmp_path / "f.npz", [1, 1, 2, 3], [4, 5, 4, 4], feats)
    frame, ids, loaded = load_features(path)
    assert frame.tolist() == [1, 1, 2, 3] and ids.tolist() == [4, 5, 4, 4]
    np.testing.assert_array_equal(loaded, feats)
    joined = join_features([3, 9, 1], [4, 4, 5], frame, ids, loaded)
    np.testing.assert_array_equal(joined[0], feats[3])
    assert not joined[1].any()
    np.testing.assert_array_equal(joined[2], feats[1])
    npy = tmp_path / "f.npy"
    np.save(npy, np.column_stack([frame, ids, feats]))
    np.testing.assert_allclose(load_features(npy)[2], feats, rtol=1e-6)
    with pytest.raises(SourceError):
        load_features(tmp_path / "missing.npz")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(InvalidInputError):
        load_features(tmp_path / "junk.npy")
    with pytest.raises(ConfigurationError):
        save_features(tmp_path / "f.txt", [1], [1], feats[:1])


def test_cli_refine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results, _ = _write_run(tmp_path)
    out = tmp_path / "cli.txt"
    assert main(["refine", str(results), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert set(read_mot(out).ids) == {1}
    assert main(["refine", str(results), "-o", str(results)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("deepsort: error:") and "\n" not in err
    assert main(["refine", str(tmp_path / "nope.txt")]) == 2
    assert main(["refine", str(results), "--no-link", "-o", str(tmp_path / "n.txt")]) == 0
    assert set(read_mot(tmp_path / "n.txt").ids) == {1, 2}
