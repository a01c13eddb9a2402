"""Crop geometry as the original Deep SORT cut crops, on boxes checkable by hand."""

from __future__ import annotations

import numpy as np
import pytest

from deepsort_lib.errors import InvalidInputError
from deepsort_lib.models.crops import crop_regions, extract_crops

FRAME_SHAPE = (100, 200, 3)  # H, W


def coded_frame() -> np.ndarray:
    """Every pixel tells its own position: B = x % 256, G = y, R = x // 256."""
    ys, xs = np.mgrid[0 : FRAME_SHAPE[0], 0 : FRAME_SHAPE[1]]
    return np.stack([xs % 256, ys, xs // 256], axis=2).astype(np.uint8)


@pytest.mark.parametrize(
    ("box", "region"),
    [
        # width 10 -> 0.5 * 40 = 20 around centre x 55: x from 45 to 65.
        ((50, 20, 10, 40), (45, 20, 65, 60)),
        # too wide: width 40 -> 20 around centre x 70.
        ((50, 20, 40, 40), (60, 20, 80, 60)),
        # fractions truncate: x0 = 10.7 - (15 - 20) / 2 = 13.2, x1 = 28.2, y 5.2 .. 35.2.
        ((10.7, 5.2, 20, 30), (13, 5, 28, 35)),
        # partly outside top-left: clipped to 0.
        ((-10, -5, 20, 40), (0, 0, 10, 35)),
        # partly outside bottom-right: clipped to the frame size (exclusive ends).
        ((190, 90, 20, 40), (190, 90, 200, 100)),
        # zero width is replaced by aspect * height, so the box is still usable.
        ((30, 10, 0, 20), (25, 10, 35, 30)),
    ],
)
def test_regions_are_aspect_corrected_and_clipped(box: tuple, region: tuple) -> None:
    regions, valid = crop_regions(np.array([box], float), FRAME_SHAPE, 0.5)
    assert valid.tolist() == [True]
    assert tuple(regions[0]) == region


@pytest.mark.parametrize(
    "box",
    [
        (300, 10, 10, 20),  # right of the frame
        (-50, -50, 10, 20),  # above-left of the frame
        (10, 100, 10, 20),  # starts on the bottom edge
        (10, 10, 5, 0),  # zero height
        (10, 10, 0, 0),  # zero area
    ],
)
def test_empty_regions_are_invalid(box: tuple) -> None:
    _, valid = crop_regions(np.array([box], float), FRAME_SHAPE, 0.5)
    assert valid.tolist() == [False]


def test_crop_of_exact_size_is_the_frame_region() -> None:
    frame = coded_frame()
    crops, valid = extract_crops(frame, [[50, 20, 10, 40]], (20, 40))
    assert valid.tolist() == [True]
    np.testing.assert_array_equal(crops[0], frame[20:60, 45:65])


def test_crop_is_resized_to_model_size() -> None:
    frame = np.zeros(FRAME_SHAPE, np.uint8)
    frame[20:60, 45:65] = (10, 20, 30)
    frame[:, :45] = 255  # outside the region: must not leak in
    crops, _ = extract_crops(frame, [[50, 20, 10, 40]], (64, 128))
    assert crops.shape == (1, 128, 64, 3)
    assert np.all(crops[0] == (10, 20, 30))


def test_batch_equals_one_by_one_and_invalid_rows_are_black() -> None:
    frame = np.random.default_rng(1).integers(0, 256, FRAME_SHAPE, dtype=np.uint8)
    boxes = np.array([[50, 20, 10, 40], [300, 10, 10, 20], [-10, -5, 20, 40], [12.5, 3, 7, 61]])
    crops, valid = extract_crops(frame, boxes, (16, 32))
    assert valid.tolist() == [True, False, True, True]
    assert not crops[1].any()
    for i in (0, 2, 3):
        single, _ = extract_crops(frame, boxes[i : i + 1], (16, 32))
        np.testing.assert_array_equal(crops[i], single[0])


def test_mask_skips_boxes() -> None:
    frame = coded_frame()
    boxes = np.array([[50, 20, 10, 40], [10, 10, 20, 40]])
    crops, valid = extract_crops(frame, boxes, (20, 40), mask=np.array([False, True]))
    assert valid.tolist() == [False, True]
    assert not crops[0].any()
    assert crops[1].any()


def test_empty_box_list() -> None:
    for empty in ([], np.zeros((0, 4))):
        crops, valid = extract_crops(coded_frame(), empty, (64, 128))
        assert crops.shape == (0, 128, 64, 3)
        assert valid.shape == (0,)


@pytest.mark.parametrize(
    "boxes",
    [
        [[1, 2, 3]],  # wrong shape
        [[1, 2, -3, 4]],  # negative width
        [[1, 2, 3, np.nan]],
        [[1, 2, 3, np.inf]],
        "abc",
    ],
)
def test_bad_boxes_raise(boxes: object) -> None:
    with pytest.raises(InvalidInputError):
        extract_crops(coded_frame(), boxes, (64, 128))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((10, 10), np.uint8),
        np.zeros((10, 10, 3), np.float32),
        np.zeros((10, 10, 4), np.uint8),
        np.zeros((0, 10, 3), np.uint8),
    ],
)
def test_bad_frames_raise(frame: np.ndarray) -> None:
    with pytest.raises(InvalidInputError):
        extract_crops(frame, [[0, 0, 5, 5]], (64, 128))


def test_bad_mask_raises() -> None:
    with pytest.raises(InvalidInputError):
        extract_crops(coded_frame(), [[0, 0, 5, 5]], (4, 8), mask=np.array([1]))
