"""supervision.Detections in and out, against the real supervision package (test extra)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import supervision as sv

from deepsort_lib import InvalidInputError, Tracker
from deepsort_lib.interop import from_supervision, to_supervision


def _frame(shift: float, order: list[int]) -> sv.Detections:
    """Three people walking right; rows in ``order`` so that row != identity."""
    xyxy = np.array([[10, 20, 50, 120], [200, 30, 240, 130], [400, 40, 440, 140]], dtype=np.float64)
    xyxy[:, [0, 2]] += shift
    names = np.array(["ann", "bob", "cy"])
    masks = np.zeros((3, 8, 8), dtype=bool)
    for i in range(3):
        masks[i, i, i] = True  # a pixel that says which person the mask belongs to
    rows = np.array(order)
    return sv.Detections(
        xyxy=xyxy[rows],
        mask=masks[rows],
        confidence=np.array([0.9, 0.8, 0.7])[rows],
        class_id=np.array([0, 0, 2])[rows],
        data={"name": names[rows], "height_m": np.array([1.6, 1.8, 1.7])[rows]},
    )


def test_from_supervision_reads_boxes_scores_classes() -> None:
    sv_dets = _frame(0.0, [2, 0, 1])
    dets = from_supervision(sv_dets)
    np.testing.assert_allclose(dets.xyxy, sv_dets.xyxy)
    np.testing.assert_allclose(dets.scores, sv_dets.confidence)
    np.testing.assert_array_equal(dets.class_ids, sv_dets.class_id)


def test_from_supervision_defaults_and_empty() -> None:
    bare = sv.Detections(xyxy=np.array([[0.0, 0.0, 10.0, 20.0]]))
    dets = from_supervision(bare, features=np.ones((1, 4)))
    assert dets.scores.tolist() == [1.0] and dets.class_ids.tolist() == [0]
    assert dets.feature_dim == 4
    assert len(from_supervision(sv.Detections.empty())) == 0


def test_from_supervision_rejects_other_objects_and_empty_boxes() -> None:
    with pytest.raises(InvalidInputError, match=r"supervision\.Detections"):
        from_supervision(np.zeros((2, 4)))
    with pytest.raises(InvalidInputError, match="positive"):
        from_supervision(sv.Detections(xyxy=np.array([[5.0, 5.0, 5.0, 9.0]])))


def test_round_trip_keeps_data_and_masks_through_detection_index() -> None:
    tracker = Tracker(n_init=1)
    orders = [[0, 1, 2], [2, 0, 1], [1, 2, 0], [0, 2, 1]]
    names_by_id: dict[int, str] = {}
    for step, order in enumerate(orders):
        sv_in = _frame(3.0 * step, order)
        tracks = tracker.update(from_supervision(sv_in))
        out = to_supervision(tracks, sv_in)
        assert isinstance(out, sv.Detections) and len(out) == 3
        assert out.tracker_id is not None and out.mask is not None
        for k, track in enumerate(tracks):
            assert out.tracker_id[k] == track.track_id
            row = track.detection_index
            assert row is not None
            assert out.data["name"][k] == sv_in.data["name"][row]
            assert out.data["height_m"][k] == sv_in.data["height_m"][row]
            person = ["ann", "bob", "cy"].index(str(out.data["name"][k]))
            assert out.mask[k, person, person]  # the mask followed its detection
            assert out.class_id[k] == sv_in.class_id[row]
            # The same person keeps the same identity although the rows were shuffled.
            assert names_by_id.setdefault(track.track_id, str(out.data["name"][k])) == str(
                out.data["name"][k]
            )
    assert len(names_by_id) == 3
    # supervision can filter the result like any of its own detections.
    assert len(out[out.class_id == 2]) == 1


def test_output_boxes_kalman_or_detection() -> None:
    tracker = Tracker(n_init=1)
    sv_in = _frame(0.0, [0, 1, 2])
    tracks = tracker.update(from_supervision(sv_in))
    kalman = to_supervision(tracks)
    det = to_supervision(tracks, use_detection_box=True)
    np.testing.assert_allclose(det.xyxy, sv_in.xyxy[[t.detection_index for t in tracks]])
    np.testing.assert_allclose(kalman.xyxy, np.array([t.xyxy for t in tracks]))
    assert kalman.data == {}


def test_coasting_tracks_get_blank_data() -> None:
    tracker = Tracker(n_init=1, output_max_misses=1)
    tracker.update(from_supervision(_frame(0.0, [0, 1, 2])))
    sv_in = _frame(3.0, [1])  # only bob is seen: ann and cy coast one frame
    tracks = tracker.update(from_supervision(sv_in))
    out = to_supervision(tracks, sv_in)
    assert len(out) == 3
    seen = [t.detection_index is not None for t in tracks]
    assert sum(seen) == 1
    for k, ok in enumerate(seen):
        if ok:
            assert out.data["name"][k] == "bob" and out.data["height_m"][k] == 1.8
        else:
            assert out.data["name"][k] is None and np.isnan(out.data["height_m"][k])
            assert out.mask is not None and not out.mask[k].any()
    # A frame with no detections at all: every reported track coasts.
    empty_in = sv.Detections.empty()
    empty_in.data = {"name": np.array([], dtype=str)}
    tracks = tracker.update(from_supervision(empty_in))
    out = to_supervision(tracks, empty_in)
    assert len(out) == len(tracks) and all(v is None for v in out.data["name"])


def test_wrong_frame_detections_are_an_error() -> None:
    tracker = Tracker(n_init=1)
    tracks = tracker.update(from_supervision(_frame(0.0, [0, 1, 2])))
    with pytest.raises(InvalidInputError, match="outside detections_in"):
        to_supervision(tracks, _frame(0.0, [0]))


def test_no_tracks_gives_empty_detections() -> None:
    out = to_supervision([], _frame(0.0, [0, 1, 2]))
    assert len(out) == 0 and out.tracker_id is not None and len(out.tracker_id) == 0


def test_importing_interop_imports_neither_package() -> None:
    code = (
        "import sys, deepsort_lib.interop\n"
        "bad = [m for m in ('supervision', 'ultralytics', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_list_data_and_integer_data_follow_tracks() -> None:
    tracker = Tracker(n_init=1, output_max_misses=1)
    first = _frame(0.0, [0, 1, 2])
    first.data["ids_list"] = ["a", "b", "c"]
    first.data["frame_no"] = np.array([7, 8, 9])
    tracks = tracker.update(from_supervision(first))
    out = to_supervision(tracks, first)
    assert out.data["ids_list"] == [first.data["ids_list"][t.detection_index] for t in tracks]
    assert out.data["frame_no"].dtype.kind == "i"
    second = _frame(3.0, [2])
    second.data["ids_list"] = ["c"]
    second.data["frame_no"] = np.array([10])
    tracks = tracker.update(from_supervision(second))
    out = to_supervision(tracks, second)
    for k, track in enumerate(tracks):
        want = None if track.detection_index is None else "c"
        assert out.data["ids_list"][k] == want
        assert out.data["frame_no"][k] == (None if want is None else 10)
