"""The zero-download ClassicEncoder: fixed dimension, unit rows, colour and shape properties."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.models.classic import ClassicEncoder
from deepsort_lib.protocols import Encoder

VIDEO = Path(__file__).resolve().parents[1] / "data" / "vtest.avi"


def scene(seed: int = 0) -> np.ndarray:
    """A textured grey-green background."""
    rng = np.random.default_rng(seed)
    frame = rng.normal((90, 110, 100), 12, (240, 320, 3))
    return np.clip(frame, 0, 255).astype(np.uint8)


def draw_person(
    frame: np.ndarray, x: int, y: int, h: int, shirt: tuple, trousers: tuple
) -> np.ndarray:
    """A crude pedestrian: skin head, shirt torso, trousers legs; tlwh returned."""
    w = h // 3
    cv2.ellipse(frame, (x + w // 2, y + h // 10), (w // 4, h // 10), 0, 0, 360, (120, 150, 200), -1)
    cv2.rectangle(frame, (x, y + h // 5), (x + w, y + h // 2), shirt, -1)
    cv2.rectangle(frame, (x + w // 8, y + h // 2), (x + w - w // 8, y + h), trousers, -1)
    return np.array([x, y, w, h], float)


RED, BLUE, DARK = (30, 30, 200), (200, 60, 20), (40, 40, 40)


def test_dimension_and_unit_rows() -> None:
    encoder = ClassicEncoder()
    assert encoder.feature_dim == 4 * (8 * 3 + 4) + 288
    assert isinstance(encoder, Encoder)
    frame = scene()
    boxes = np.array([[10, 10, 30, 90], [200, 100, 40, 120], [400, 10, 10, 10], [5, 5, 5, 0]])
    features = encoder.encode(frame, boxes)
    assert features.shape == (4, encoder.feature_dim) and features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(features[:2], axis=1), 1.0, atol=1e-6)
    assert not features[2:].any()  # outside the frame / zero height: zero rows
    assert encoder.encode(frame, np.zeros((0, 4))).shape == (0, encoder.feature_dim)


def test_uniform_colour_falls_in_hand_computed_bins() -> None:
    encoder = ClassicEncoder()
    bins = 8 * 3 + 4
    red = np.zeros((100, 100, 3), np.uint8)
    red[:] = (0, 0, 255)  # HSV (0, 255, 255): hue bin 0, top saturation bin 2 -> bin 2
    features = encoder.encode(red, [[20, 10, 30, 60]])[0]
    expected = np.zeros(encoder.feature_dim, np.float32)
    expected[[s * bins + 2 for s in range(4)]] = 0.5  # HOG of a flat image is zero
    np.testing.assert_allclose(features, expected, atol=1e-6)
    grey = np.full((100, 100, 3), 128, np.uint8)  # unsaturated: brightness bin 128 * 4 // 256
    features = encoder.encode(grey, [[20, 10, 30, 60]])[0]
    assert set(np.flatnonzero(features)) == {s * bins + 24 + 2 for s in range(4)}


def test_batch_equals_one_by_one_exactly() -> None:
    encoder = ClassicEncoder()
    frame = scene(3)
    boxes = np.array([[10, 10, 30, 90], [200, 100, 40, 120], [100.5, 30.2, 50, 100]])
    batch = encoder.encode(frame, boxes)
    singles = np.concatenate([encoder.encode(frame, b[None]) for b in boxes])
    np.testing.assert_array_equal(batch, singles)


def test_same_person_is_closer_than_different_clothes() -> None:
    encoder = ClassicEncoder()
    a, b = scene(1), scene(2)
    person = draw_person(a, 40, 30, 150, RED, DARK)
    moved = draw_person(b, 180, 50, 140, RED, DARK)  # same clothes, other place and size
    other = draw_person(b, 100, 40, 150, BLUE, DARK)  # different shirt
    f_person = encoder.encode(a, person[None])[0]
    f_moved, f_other = encoder.encode(b, np.stack([moved, other]))
    same, different = float(f_person @ f_moved), float(f_person @ f_other)
    assert same > different + 0.1
    assert same > 0.85


def test_hog_sees_shape_when_colour_is_equal() -> None:
    encoder = ClassicEncoder(colour_weight=0.0)
    frame = scene(4)
    upright = draw_person(frame, 40, 30, 150, RED, DARK)
    upright2 = draw_person(frame, 200, 40, 140, RED, DARK)
    stripes = frame.copy()
    stripes[20:200, 120:180:6] = (30, 30, 200)  # vertical bars: a very different gradient field
    f = encoder.encode(stripes, np.stack([upright, upright2, [120, 20, 60, 180]]))
    assert float(f[0] @ f[1]) > float(f[0] @ f[2])


def test_on_real_video_frames_features_are_stable_over_one_frame() -> None:
    capture = cv2.VideoCapture(str(VIDEO))
    frames = [capture.read()[1] for _ in range(2)]
    capture.release()
    encoder = ClassicEncoder()
    boxes = np.array([[100, 100, 60, 160], [400, 200, 60, 160], [600, 50, 60, 160]])
    now, then = encoder.encode(frames[0], boxes), encoder.encode(frames[1], boxes)
    self_similarity = np.sum(now * then, axis=1)
    cross = now @ then.T
    assert np.all(self_similarity > 0.95)
    assert np.all(self_similarity >= cross.max(axis=0) - 1e-6)


def test_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        ClassicEncoder(crop_size=(100, 64))  # not a multiple of the HOG block
    with pytest.raises(ConfigurationError):
        ClassicEncoder(colour_weight=1.5)
    with pytest.raises(ConfigurationError):
        ClassicEncoder(stripes=0)
    colour_only = ClassicEncoder(hog_cell=0)
    assert colour_only.feature_dim == 4 * 28
    with pytest.raises(InvalidInputError):
        colour_only.encode(np.zeros((10, 10), np.uint8), [[0, 0, 5, 5]])
