"""Camera-motion compensation: the estimator recovers known motion, and on a shaking,
panning camera it must clearly beat the plain constant-velocity tracker."""

import cv2
import numpy as np
import pytest

from deepsort_lib import Detections, InvalidInputError, Tracker
from deepsort_lib.models.camera_motion import CameraMotion, CameraMotionEstimator
from deepsort_lib.tracking.camera import warp_states
from deepsort_lib.tracking.kalman import BoxKalmanModel
from tests.core_state import state_of


def _texture(seed: int = 0, shape: tuple[int, int] = (1400, 2200)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    grey = cv2.GaussianBlur((rng.random(shape) * 255).astype(np.uint8), (0, 0), 3)
    grey = cv2.normalize(grey, None, 0, 255, cv2.NORM_MINMAX)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


@pytest.mark.parametrize("method", ["sparse", "ecc"])
def test_estimator_recovers_a_known_shift(method: str) -> None:
    world = _texture()
    est = CameraMotionEstimator(method)  # type: ignore[arg-type]
    assert isinstance(est, CameraMotion)
    np.testing.assert_allclose(est.estimate(world[100:580, 100:740]), np.eye(2, 3))
    affine = est.estimate(world[95:575, 112:752])  # camera moved right 12 px, up 5 px
    np.testing.assert_allclose(affine[:, :2], np.eye(2), atol=0.01)
    np.testing.assert_allclose(affine[:, 2], [-12, 5], atol=0.5)


def test_estimator_rejects_bad_frames() -> None:
    with pytest.raises(InvalidInputError):
        CameraMotionEstimator().estimate(np.zeros((10, 10, 3), np.float32))  # type: ignore[arg-type]


def test_warp_moves_centre_and_velocity() -> None:
    model = BoxKalmanModel()
    means, covs = model.initiate(np.array([[100.0, 50.0, 0.5, 80.0]]))
    means[0, 4:6] = [3.0, -1.0]
    rot = np.array([[0.0, -1.0, 10.0], [1.0, 0.0, 20.0]])  # 90 degrees + shift
    m2, c2 = warp_states(means, covs, rot)
    np.testing.assert_allclose(m2[0, :4], [10 - 50, 20 + 100, 0.5, 80])
    np.testing.assert_allclose(m2[0, 4:6], [1.0, 3.0])
    assert np.all(np.linalg.eigvalsh(c2[0]) > 0)


def _panning_sequence(frames: int = 80, seed: int = 1):
    """A camera that pans and shakes hard over a textured scene with 8 walking targets."""
    rng = np.random.default_rng(seed)
    world = _texture(seed)
    h, w = 480, 640
    k = 8
    pos = np.column_stack([rng.uniform(700, 1300, k), rng.uniform(500, 800, k)])
    vel = rng.normal(0, 1.0, (k, 2))
    size = np.column_stack([rng.uniform(25, 40, k), rng.uniform(70, 100, k)])
    colours = rng.integers(0, 255, (k, 3))
    for t in range(frames):
        # Pan right, with a shake whose direction flips every few frames.
        cam = np.array([500 + 6 * t + 35 * np.sin(t * 1.3), 400 + 30 * np.cos(t * 1.7)])
        pos += vel
        image = world[int(cam[1]) : int(cam[1]) + h, int(cam[0]) : int(cam[0]) + w].copy()
        tl = pos - np.round(cam)
        boxes = np.column_stack([tl, size])
        inside = (
            (tl[:, 0] > 0)
            & (tl[:, 1] > 0)
            & (tl[:, 0] + size[:, 0] < w)
            & (tl[:, 1] + size[:, 1] < h)
        )
        for (x, y, bw, bh), colour in zip(boxes[inside], colours[inside], strict=True):
            cv2.rectangle(image, (int(x), int(y)), (int(x + bw), int(y + bh)), colour.tolist(), -1)
        jitter = rng.normal(0, 1.0, (int(inside.sum()), 4))
        yield image, boxes[inside] + jitter, np.flatnonzero(inside)


def _identity_switches(use_cmc: bool) -> int:
    tracker = Tracker(n_init=2, output_max_misses=0)
    estimator = CameraMotionEstimator()
    ids_of_target: dict[int, list[int]] = {}
    for image, boxes, targets in _panning_sequence():
        motion = estimator.estimate(image, boxes) if use_cmc else None
        for t in tracker.update(Detections.from_tlwh(boxes), camera_motion=motion):
            ids = ids_of_target.setdefault(int(targets[t.detection_index]), [])
            if not ids or ids[-1] != t.track_id:
                ids.append(t.track_id)
    return sum(len(v) - 1 for v in ids_of_target.values()) + 8 - len(ids_of_target)


@pytest.mark.slow
def test_a_camera_motion_that_overflows_the_states_is_rejected_and_changes_nothing() -> None:
    # Found by the fuzz test: a finite map with a scale of ~1e153 put inf in the covariances.
    tracker = Tracker(n_init=1)
    box = np.array([[100.0, 100.0, 40.0, 80.0]])
    for _ in range(3):
        tracker.update(Detections.from_tlwh(box))
    before = state_of(tracker)
    huge = np.array([[0.0, 0.0, 0.0], [0.0, 1e160, 0.0]])
    with pytest.raises(InvalidInputError, match="no frame-to-frame camera motion"):
        tracker.update(Detections.from_tlwh(np.zeros((0, 4))), camera_motion=huge)
    assert state_of(tracker) == before
    # The warp itself still refuses to overflow (states from elsewhere may be huge).
    means = np.ones((1, 8))
    covariances = np.eye(8)[None]
    with pytest.raises(InvalidInputError):
        warp_states(means, covariances, huge)
    assert np.all(means == 1.0) and np.all(covariances == np.eye(8))


def test_compensation_clearly_wins_on_a_shaking_pan() -> None:
    without = _identity_switches(use_cmc=False)
    with_cmc = _identity_switches(use_cmc=True)
    print(f"identity switches: without CMC {without}, with CMC {with_cmc}")
    assert without >= 10
    assert with_cmc * 4 <= without
