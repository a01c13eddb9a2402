import numpy as np
import pytest

from deepsort_lib import Detection, Detections, InvalidInputError
from deepsort_lib.boxes import (
    as_detections,
    iou_matrix,
    tlwh_to_xyah,
    tlwh_to_xywh,
    tlwh_to_xyxy,
    xyah_to_tlwh,
    xywh_to_tlwh,
    xyxy_to_tlwh,
)


def test_conversions_hand_checked() -> None:
    tlwh = np.array([[10.0, 20.0, 30.0, 60.0]])
    np.testing.assert_allclose(tlwh_to_xyxy(tlwh), [[10, 20, 40, 80]])
    np.testing.assert_allclose(tlwh_to_xyah(tlwh), [[25, 50, 0.5, 60]])
    np.testing.assert_allclose(tlwh_to_xywh(tlwh), [[25, 50, 30, 60]])


def test_conversions_round_trip() -> None:
    rng = np.random.default_rng(0)
    tlwh = np.column_stack([rng.uniform(-50, 500, (20, 2)), rng.uniform(1, 200, (20, 2))])
    np.testing.assert_allclose(xyxy_to_tlwh(tlwh_to_xyxy(tlwh)), tlwh)
    np.testing.assert_allclose(xyah_to_tlwh(tlwh_to_xyah(tlwh)), tlwh)
    np.testing.assert_allclose(xywh_to_tlwh(tlwh_to_xywh(tlwh)), tlwh)


def test_iou_matrix_hand_checked() -> None:
    a = np.array([[0, 0, 10, 10], [100, 100, 5, 5]])
    b = np.array([[5, 0, 10, 10], [0, 0, 10, 10]])
    iou = iou_matrix(a, b)
    np.testing.assert_allclose(iou, [[50 / 150, 1.0], [0.0, 0.0]])
    assert iou_matrix(np.zeros((0, 4)), b).shape == (0, 2)


def test_detections_from_xyxy_and_defaults() -> None:
    d = Detections.from_xyxy([[10, 20, 40, 80]])
    np.testing.assert_allclose(d.tlwh, [[10, 20, 30, 60]])
    np.testing.assert_array_equal(d.scores, [1.0])
    np.testing.assert_array_equal(d.class_ids, [0])
    assert d.features is None and len(d) == 1
    assert d.class_ids.dtype == np.int64 and d.tlwh.dtype == np.float64


def test_detections_are_read_only_copies() -> None:
    boxes = np.array([[0.0, 0.0, 10.0, 10.0]])
    d = Detections.from_tlwh(boxes)
    boxes[0, 0] = 99
    assert d.tlwh[0, 0] == 0
    with pytest.raises(ValueError):
        d.tlwh[0, 0] = 1


def test_subset_and_empty() -> None:
    d = Detections.from_tlwh(
        [[0, 0, 1, 1], [1, 1, 2, 2]], [0.1, 0.9], [3, 4], np.eye(2, dtype=np.float32)
    )
    sub = d[d.scores > 0.5]
    assert len(sub) == 1 and sub.class_ids[0] == 4 and sub.feature_dim == 2
    assert len(Detections.empty()) == 0
    assert Detections.empty(feature_dim=8).feature_dim == 8


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tlwh": [[0, 0, np.nan, 1]]}, "NaN"),
        ({"tlwh": [[0, 0, np.inf, 1]]}, "NaN"),
        ({"tlwh": [[0, 0, 0, 1]]}, "positive"),
        ({"tlwh": [[0, 0, 1, -1]]}, "positive"),
        ({"tlwh": [[0, 0, 1]]}, "shape"),
        ({"tlwh": [[0, 0, 1, 1]], "scores": [0.5, 0.5]}, "rows"),
        ({"tlwh": [[0, 0, 1, 1]], "class_ids": [0.5]}, "whole"),
        ({"tlwh": [[0, 0, 1, 1]], "class_ids": ["person"]}, "integers"),
        ({"tlwh": [[0, 0, 1, 1]], "features": np.zeros((2, 4))}, "rows"),
        ({"tlwh": [[0, 0, 1, 1]], "features": [[np.nan]]}, "NaN"),
        ({"tlwh": "boxes"}, "numeric"),
    ],
)
def test_invalid_detections_raise_typed_error(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        Detections.from_tlwh(**kwargs)


def test_as_detections_accepts_arrays_lists_and_none() -> None:
    rows = np.array([[0, 0, 10, 20, 0.9, 2]])
    d = as_detections(rows, box_format="tlwh")
    assert d.scores[0] == 0.9 and d.class_ids[0] == 2
    np.testing.assert_allclose(d.tlwh, [[0, 0, 10, 20]])
    corners = as_detections(rows, box_format="xyxy")
    np.testing.assert_allclose(corners.tlwh, [[0, 0, 10, 20]])
    d4 = as_detections(rows[:, :4], features=np.ones((1, 3)), box_format="tlwh")
    assert d4.feature_dim == 3
    objs = [
        Detection([0, 0, 10, 20], 0.8, 1, [1.0, 0.0]),
        Detection((5, 5, 5, 5), 0.7, 0, [0.0, 1.0]),
    ]
    d2 = as_detections(objs)
    assert len(d2) == 2 and d2.feature_dim == 2 and d2.class_ids.tolist() == [1, 0]
    assert len(as_detections(None)) == 0 and len(as_detections([])) == 0
    with pytest.raises(InvalidInputError):
        as_detections(np.zeros((2, 7)))
    with pytest.raises(InvalidInputError):
        as_detections([Detection([0, 0, 1, 1], feature=[1.0]), Detection([0, 0, 1, 1])])
    with pytest.raises(InvalidInputError):
        as_detections(42)


@pytest.mark.parametrize("rows", [np.array([[100, 50, 140, 150, 0.9, 0]]), [[1, 2, 3, 4]]])
def test_raw_array_without_box_format_is_refused_naming_the_ways_out(rows: object) -> None:
    with pytest.raises(InvalidInputError, match=r"Detections\.from_xyxy") as info:
        as_detections(rows)
    assert "from_tlwh" in str(info.value) and "box_format" in str(info.value)
    with pytest.raises(InvalidInputError, match="box_format must be one of"):
        as_detections(rows, box_format="xywh")


def test_xyxy_rows_read_as_corners() -> None:
    # The SORT / BoxMOT / Ultralytics row layout.
    d = as_detections(np.array([[100, 50, 140, 150, 0.9, 3]]), box_format="xyxy")
    np.testing.assert_allclose(d.tlwh, [[100, 50, 40, 100]])
    assert d.scores.tolist() == [0.9] and d.class_ids.tolist() == [3]
