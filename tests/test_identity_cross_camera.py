"""Cross-camera acceptance of the calibrated memory: the calibrated threshold plus a
colour-cast offset learned online (bounded, saved/restored); the configured cross-camera
threshold bounds the links the camera cast learns from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deepsort_lib.io.state import load_state, save_state
from deepsort_lib.tracking.calibration import DistanceCalibration
from deepsort_lib.tracking.camera_cast import CROSS_OFFSET_CAP
from deepsort_lib.tracking.identity import IdentityMemory, IdentityQuery, LostIdentity
from deepsort_lib.tracking.reentry_state import memory_state, restore_memory

D = 64
BOX = np.array([0, 0, 10, 20.0])


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _pair_at(rng: np.random.Generator, distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Two unit rows at exactly ``distance`` cosine distance."""
    a = _unit(rng.normal(size=D))
    o = rng.normal(size=D)
    o = _unit(o - (o @ a) * a)
    c = 1.0 - distance
    return a[None], _unit(c * a + np.sqrt(1 - c * c) * o)[None]


def _tight_memory(**kw: Any) -> IdentityMemory:
    """A memory calibrated on a scene with a tight same-identity spread (~0.01)."""
    rng = np.random.default_rng(0)
    memory = IdentityMemory(**kw)
    memory.observe_distances(rng.uniform(0.005, 0.01, 200), rng.uniform(0.6, 1.0, 200))
    assert memory.threshold < 0.02
    return memory


def _ask(memory: IdentityMemory, lost: np.ndarray, new: np.ndarray, camera: str) -> int | None:
    gid = memory.new_id()
    memory.add(LostIdentity(gid, "a", 0, 1.0, BOX, lost))
    return memory.match([IdentityQuery(camera, 0, 5.0, BOX, new)], 5.0)[0]


def test_the_configured_cross_camera_threshold_bounds_the_links_not_the_matches() -> None:
    rng = np.random.default_rng(1)
    lost, new = _pair_at(rng, 0.2)  # a colour cast: far beyond the calibrated 0.015
    memory = _tight_memory()
    assert memory.camera_cast is not None
    # Until the cast's size is learned, another camera is judged like this one: refused (a
    # floor at the configured 0.25 let every look-alike through while a pair warmed up) ...
    assert _ask(memory, lost, new, "a") is None
    assert _ask(memory, lost, new, "b") is None
    # ... but the pair is a link the cast learns from: within LINK_REACH x 0.25.
    assert memory.camera_cast.links("a", "b") == 1
    tight = _tight_memory(cross_camera_max_cosine_distance=0.05)
    assert _ask(tight, lost, new, "b") is None
    assert tight.camera_cast is not None and tight.camera_cast.links("a", "b") == 0
    # Before the calibration is ready, the configured thresholds hold as they are.
    assert _ask(IdentityMemory(), lost, new, "b") is not None
    assert _ask(IdentityMemory(cross_camera_max_cosine_distance=0.15), lost, new, "b") is None


def test_the_cross_camera_offset_is_learned_from_nearest_cross_camera_candidates() -> None:
    cal = DistanceCalibration()
    rng = np.random.default_rng(2)
    cal.add_same(rng.uniform(0.05, 0.15, 300))
    cal.add_different(rng.uniform(0.6, 1.0, 300))
    assert cal.cross_offset() is None  # nothing seen across cameras yet
    # Travellers look 0.2 farther across cameras; the higher ones are newcomers.
    cal.add_cross_best(np.r_[rng.uniform(0.25, 0.35, 30), rng.uniform(0.6, 1.0, 20)])
    offset = cal.cross_offset()
    assert offset is not None and 0.1 < offset < 0.3
    # It moves with the data (the latest `window` distances) and is bounded.
    cal.add_cross_best(np.full(1000, 0.05))
    assert cal.cross_offset() == 0.0
    cal.add_cross_best(np.full(1000, 2.0))
    assert cal.cross_offset() == pytest.approx(cal.upper - cal.lower)


def test_the_learned_offset_loosens_cross_camera_by_the_cast_s_size_up_to_a_cap() -> None:
    rng = np.random.default_rng(3)
    memory = IdentityMemory()
    memory.observe_distances(rng.uniform(0.05, 0.15, 300), rng.uniform(0.8, 1.0, 300))
    base = memory.threshold
    assert memory.calibration is not None and 0.15 < base < 0.25
    # A large cast: nearest cross-camera candidates at base + 0.3.
    memory.calibration.add_cross_best(rng.uniform(0.4, 0.5, 40))
    offset = memory.calibration.cross_offset()
    assert offset is not None and offset > base
    _, limit = memory.cost_matrix(
        [IdentityQuery("b", 0, 5.0, BOX, _unit(rng.normal(size=(1, D))))],
        [LostIdentity(1, "a", 0, 1.0, BOX, _unit(rng.normal(size=(1, D))))],
    )
    # Capped at CROSS_OFFSET_CAP thresholds (at one until 2026-12-08): a white balance's
    # cast is not learned as a vector, and only the offset can admit its travellers.
    assert limit[0, 0] == pytest.approx(base + min(offset, CROSS_OFFSET_CAP * base))
    assert limit[0, 0] > 2 * base
    # A tight scene (threshold ~0.012) whose cross-camera candidates are 0.4 away.
    tight = _tight_memory()
    assert tight.calibration is not None
    tight.calibration.add_cross_best(rng.uniform(0.4, 0.5, 40))
    _, limit = tight.cost_matrix(
        [IdentityQuery("b", 0, 5.0, BOX, _unit(rng.normal(size=(1, D))))],
        [LostIdentity(1, "a", 0, 1.0, BOX, _unit(rng.normal(size=(1, D))))],
    )
    assert limit[0, 0] == pytest.approx((1 + CROSS_OFFSET_CAP) * tight.threshold)


def test_a_memory_matching_across_cameras_feeds_the_offset() -> None:
    rng = np.random.default_rng(4)
    memory = _tight_memory(learn_camera_cast=False)
    assert memory.calibration is not None
    for _ in range(12):
        lost, new = _pair_at(rng, 0.1)
        _ask(memory, lost, new, "b")
    assert len(memory.calibration.cross_best) == 12
    assert memory.calibration.cross_offset() == pytest.approx(
        0.1 - np.median(memory.calibration.same.sample()), abs=1e-3
    )
    # Same-camera asks say nothing about a camera's cast.
    lost, new = _pair_at(rng, 0.1)
    _ask(memory, lost, new, "a")
    assert len(memory.calibration.cross_best) == 12
    # With the camera cast learned (from the first 4 raw links on), the asks still measure
    # the raw cast's size, and every raw-acceptable nearest pair still teaches the cast.
    learning = _tight_memory()
    assert learning.calibration is not None and learning.camera_cast is not None
    for _ in range(12):
        _ask(learning, *_pair_at(rng, 0.1), "b")
    assert len(learning.calibration.cross_best) == 12
    assert learning.camera_cast.links("a", "b") == 12


def test_the_learned_offset_is_saved_and_restored(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    memory = _tight_memory()
    assert memory.calibration is not None
    memory.calibration.add_cross_best(rng.uniform(0.05, 0.1, 30))
    path = save_state(tmp_path / "memory.npz", memory_state(memory))
    copy = restore_memory(load_state(path))
    assert copy.calibration is not None
    assert copy.calibration.cross_offset() == memory.calibration.cross_offset() is not None
    # A state saved before the offset existed loads with nothing learned across cameras.
    older = memory_state(memory)
    del older["calibration"]["cross_best"]
    del older["calibration"]["settings"]["cross_quantile"]
    restored = restore_memory(older)
    assert restored.calibration is not None and restored.calibration.cross_offset() is None
    assert restored.threshold == memory.threshold
