"""MOTChallenge files and the detection cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import InvalidInputError, SourceError
from deepsort_lib.io.detection_cache import DetectionCache
from deepsort_lib.io.mot import MotData, MotWriter, read_mot, write_mot

GT_TEXT = "1,1,10,20,30,60,1,1,0.9\n1,2,50,20,30,60,0,7,0.5\n3,1,12,22,30,60,1,1,1.0\n"


def test_read_ground_truth_nine_columns(tmp_path: Path) -> None:
    path = tmp_path / "gt.txt"
    path.write_text(GT_TEXT)
    data = read_mot(path)
    assert len(data) == 3
    np.testing.assert_array_equal(data.frames, [1, 1, 3])
    np.testing.assert_array_equal(data.ids, [1, 2, 1])
    np.testing.assert_allclose(data.tlwh[1], [50, 20, 30, 60])
    np.testing.assert_allclose(data.scores, [1, 0, 1])
    np.testing.assert_allclose(data.extra[:, 0], [1, 7, 1])  # class
    np.testing.assert_allclose(data.extra[:, 1], [0.9, 0.5, 1.0])  # visibility
    np.testing.assert_allclose(data.extra[:, 2], -1)  # missing 10th column
    slices = data.frame_slices()
    assert sorted(slices) == [1, 3]
    np.testing.assert_array_equal(slices[1], [0, 1])


def test_read_six_columns_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "res.txt"
    path.write_text("2 5 1.5 2.5 3 4\n\n1 6 0 0 10 10\n")
    data = read_mot(path)
    np.testing.assert_array_equal(data.frames, [2, 1])
    np.testing.assert_allclose(data.scores, [1, 1])  # confidence defaults to 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,2,3\n", "columns"),
        ("1,1,10,20,30,40,1\n1,1,10,20,30\n", "different numbers"),
        ("1,1,a,20,30,40,1\n", "not a MOTChallenge"),
        ("1.5,1,10,20,30,40,1\n", "frame numbers"),
        ("1,1,nan,20,30,40,1\n", "NaN"),
    ],
)
def test_malformed_files_raise(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=message):
        read_mot(path)


def test_missing_file_is_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        read_mot(tmp_path / "nope.txt")


def test_empty_file_reads_as_no_rows(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_text("")
    assert len(read_mot(path)) == 0


finite = st.floats(-1e4, 1e4, allow_nan=False).map(lambda v: round(v, 2))


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(1, 5000),
            st.integers(-1, 999),
            finite,
            finite,
            st.floats(0.01, 1e3).map(lambda v: round(v, 2)),
            st.floats(0.01, 1e3).map(lambda v: round(v, 2)),
            st.floats(0, 1).map(lambda v: round(v, 4)),
        ),
        max_size=20,
        # A MOT file has each identity once per frame (the reader checks it).
        unique_by=lambda row: (row[0], row[1]) if row[1] >= 0 else (row[0], row[1], row[2:]),
    )
)
def test_write_read_round_trip(tmp_path_factory: pytest.TempPathFactory, rows: list) -> None:
    table = np.array(rows, dtype=np.float64).reshape(-1, 7)
    data = MotData.from_arrays(table[:, 0], table[:, 1], table[:, 2:6], table[:, 6])
    path = tmp_path_factory.mktemp("mot") / "r.txt"
    write_mot(path, data)
    back = read_mot(path)
    np.testing.assert_array_equal(back.frames, data.frames)
    np.testing.assert_array_equal(back.ids, data.ids)
    np.testing.assert_allclose(back.tlwh, data.tlwh, atol=1e-6)
    np.testing.assert_allclose(back.scores, data.scores, atol=1e-5)
    np.testing.assert_allclose(back.extra, -1)


def test_writer_file_appears_only_on_close(tmp_path: Path) -> None:
    target = tmp_path / "out" / "res.txt"
    writer = MotWriter(target)
    writer.write_frame(1, [3, 4], [[1, 2, 3, 4], [5, 6, 7, 8]], [0.5, 0.25])
    assert not target.exists()
    assert writer.close() == target
    assert read_mot(target).ids.tolist() == [3, 4]
    assert [p.name for p in target.parent.iterdir()] == ["res.txt"]  # no temp left
    assert target.stat().st_mode & 0o044  # readable by others, like open() would make it


def test_writer_abort_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "res.txt"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), MotWriter(target) as writer:
        writer.write_frame(1, [1], [[1, 2, 3, 4]])
        raise RuntimeError("interrupted")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["res.txt"]


def _frames() -> dict[int, Detections]:
    rng = np.random.default_rng(0)
    return {
        1: Detections.from_tlwh(
            [[1, 2, 3, 4], [5, 6, 7, 8]], [0.9, 0.8], [0, 2], rng.normal(size=(2, 16))
        ),
        2: Detections.empty(16),
        4: Detections.from_tlwh([[9, 9, 9, 9]], [0.7], [1], rng.normal(size=(1, 16))),
    }


def test_cache_round_trip_with_features(tmp_path: Path) -> None:
    frames = _frames()
    cache = DetectionCache.from_frames(frames, num_frames=6)
    det, npy = cache.save(tmp_path / "det.txt", tmp_path / "det.npy")
    assert npy is not None
    assert np.load(npy).shape == (3, 16)  # one feature row per det.txt line
    loaded = DetectionCache.load(det, npy, num_frames=6)
    assert list(loaded) == [1, 2, 3, 4, 5, 6]
    for index, want in frames.items():
        got = loaded[index]
        np.testing.assert_allclose(got.tlwh, want.tlwh, atol=0.01)
        np.testing.assert_allclose(got.scores, want.scores, atol=1e-6)
        np.testing.assert_array_equal(got.class_ids, want.class_ids)
        assert got.features is not None and want.features is not None
        np.testing.assert_allclose(got.features, want.features, rtol=1e-6)
    assert len(loaded[5]) == 0 and loaded.feature_dim == 16
    with pytest.raises(KeyError):
        loaded[7]


def test_cache_reads_original_combined_npy(tmp_path: Path) -> None:
    rows = np.array(
        [[1, -1, 10, 20, 30, 60, 0.9, -1, -1, -1], [2, -1, 11, 21, 30, 60, 0.8, -1, -1, -1]]
    )
    features = np.eye(2, 4)
    np.save(tmp_path / "MOT16-02.npy", np.hstack([rows, features]).astype(np.float32))
    cache = DetectionCache.load(None, tmp_path / "MOT16-02.npy")
    assert cache.feature_dim == 4 and len(cache) == 2
    np.testing.assert_allclose(cache[2].features, [[0, 1, 0, 0]])
    np.testing.assert_array_equal(cache[1].class_ids, [0])  # -1 column reads as class 0


def test_cache_row_mismatch_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "det.txt").write_text("1,-1,1,2,3,4,1,-1,-1,-1\n")
    np.save(tmp_path / "det.npy", np.zeros((2, 8), np.float32))
    with pytest.raises(InvalidInputError, match="rows"):
        DetectionCache.load(tmp_path / "det.txt", tmp_path / "det.npy")


def test_cache_with_features_needs_npy_path(tmp_path: Path) -> None:
    cache = DetectionCache.from_frames(_frames())
    with pytest.raises(InvalidInputError, match="features"):
        cache.save(tmp_path / "det.txt")
    assert not (tmp_path / "det.txt").exists()
