"""The re-identification threshold that calibrates itself online (tracking/calibration.py),
its use by IdentityMemory and ReentryTracker, its saved state, and bad input."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from deepsort_lib import Detections, Tracker
from deepsort_lib.errors import ConfigurationError, InvalidInputError, StateError
from deepsort_lib.io.state import load_state, save_state
from deepsort_lib.tracking.calibration import DistanceCalibration
from deepsort_lib.tracking.identity import IdentityMemory, IdentityQuery, LostIdentity
from deepsort_lib.tracking.reentry import ReentryTracker
from deepsort_lib.tracking.reentry_state import memory_state, restore_memory

D = 32


def _fed(same: np.ndarray, different: np.ndarray, **kw: float) -> DistanceCalibration:
    cal = DistanceCalibration(**kw)  # type: ignore[arg-type]
    cal.add_same(same)
    cal.add_different(different)
    return cal


def test_the_prior_holds_until_both_samples_are_large_enough() -> None:
    cal = DistanceCalibration(prior=0.25, min_samples=20)
    cal.add_same(np.full(50, 0.01))
    cal.add_different(np.full(19, 0.8))
    assert cal.threshold == 0.25 and cal.distinct is None and not cal.ready
    cal.add_different([0.8])
    assert cal.ready and cal.threshold < 0.05 and cal.distinct


def test_the_threshold_moves_with_the_same_identity_spread() -> None:
    rng = np.random.default_rng(0)
    different = rng.uniform(0.6, 1.0, 300)
    tight = _fed(rng.uniform(0.005, 0.015, 300), different)
    loose = _fed(rng.uniform(0.05, 0.15, 300), different)
    assert tight.threshold == pytest.approx(1.25 * np.quantile(tight.same.sample(), 0.95))
    assert loose.threshold == pytest.approx(1.25 * np.quantile(loose.same.sample(), 0.95))
    assert 5 * tight.threshold < loose.threshold
    # Only the latest `window` distances count: feeding a new spread moves the threshold.
    tight.add_same(rng.uniform(0.05, 0.15, 1000))
    assert tight.threshold == pytest.approx(loose.threshold, rel=0.1)


def test_the_threshold_stays_below_the_hardest_negatives_and_within_bounds() -> None:
    rng = np.random.default_rng(1)
    # Near negatives: the midpoint rule caps the threshold below them.
    cal = _fed(rng.uniform(0.08, 0.1, 200), rng.uniform(0.15, 0.9, 200))
    d05 = np.quantile(cal.different.sample(), 0.05)
    assert cal.threshold <= 0.5 * (0.1 + d05) + 1e-9 and cal.threshold < d05
    huge = _fed(rng.uniform(0.9, 1.0, 200), rng.uniform(1.9, 2.0, 200), upper=0.5)
    assert huge.threshold == 0.5
    tiny = _fed(np.zeros(200), rng.uniform(0.5, 1.0, 200), lower=0.01)
    assert tiny.threshold == 0.01


def test_a_scene_where_everybody_looks_alike_refuses_to_re_identify() -> None:
    rng = np.random.default_rng(2)
    cal = _fed(rng.uniform(0.05, 0.3, 200), rng.uniform(0.05, 0.3, 200), lower=0.01)
    assert cal.distinct is False and cal.threshold == 0.01
    memory = IdentityMemory(calibrate=cal)
    look = np.ones((1, D), np.float32) / np.sqrt(D)
    near = look + 0.3 * rng.normal(size=(1, D)).astype(np.float32) / np.sqrt(D)
    near /= np.linalg.norm(near)
    memory.add(LostIdentity(memory.new_id(), "0", 0, 1.0, np.array([0, 0, 10, 20.0]), look))
    # The prior (0.25) would accept this pair; the calibration refuses it.
    query = IdentityQuery("0", 0, 2.0, np.array([0, 0, 10, 20.0]), near)
    assert 1 - float(look[0] @ near[0]) < 0.25
    assert memory.match([query], 2.0) == [None]


def test_drift_seen_within_tracks_loosens_the_threshold_for_long_gaps_only() -> None:
    rng = np.random.default_rng(3)
    cal = _fed(rng.uniform(0.005, 0.01, 300), rng.uniform(0.6, 1.0, 300))
    elapsed = rng.uniform(0, 12, 600)
    cal.add_drift(elapsed, 0.01 + 0.01 * elapsed)  # appearance moves 0.01 per second
    short, long = cal.thresholds([0.5, 11.0])
    # Each gap gets how much more tracks change over a similar time (here, bins of 2.4 s)
    # than over the shortest elapsed times, on top of the base threshold.
    g0 = np.quantile(0.01 + 0.01 * elapsed[elapsed < 2.4], 0.95)
    g_long = np.quantile(0.01 + 0.01 * elapsed[elapsed >= 9.6], 0.95)
    assert short == pytest.approx(cal.threshold)
    assert long == pytest.approx(cal.threshold + (g_long - g0), rel=1e-3)
    assert long > 5 * cal.threshold
    # Without drift samples every gap gets the base threshold.
    flat = _fed(cal.same.sample(), cal.different.sample())
    assert np.all(flat.thresholds([0.5, 11.0]) == flat.threshold)


def test_appearance_that_cycles_without_growing_gets_no_drift_allowance() -> None:
    # Views of one person (front, side, back): windows far apart differ as much as windows
    # close together, and as much as the same-identity spread already says. Counting that
    # variation again as drift would admit look-alikes at every gap.
    rng = np.random.default_rng(4)
    cal = _fed(rng.uniform(0.05, 0.15, 300), rng.uniform(0.6, 1.0, 300))
    elapsed = rng.uniform(0, 12, 600)
    cal.add_drift(elapsed, rng.uniform(0.0, 0.2, 600))  # big, but not growing with time
    thresholds = cal.thresholds([0.5, 5.0, 11.0])
    assert np.all(thresholds < cal.threshold + 0.02)
    assert np.all(thresholds < 0.2)  # below the cycle's own q95 times the old 1.5 margin


def test_non_finite_distances_are_ignored() -> None:
    cal = DistanceCalibration()
    cal.add_same([np.nan, np.inf, 0.1])
    cal.add_drift([1.0, np.nan], [np.nan, 0.2])
    assert len(cal.same) == 1 and len(cal.drift) == 0


@pytest.mark.parametrize(
    "kw",
    [
        {"lower": 0.3, "upper": 0.2},
        {"prior": 3.0},
        {"margin": 0.5},
        {"window": 0},
        {"same_quantile": 1.5},
    ],
)
def test_bad_settings_are_configuration_errors(kw: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        DistanceCalibration(**kw)  # type: ignore[arg-type]


# -- saved state -------------------------------------------------------------------------------


def test_the_calibration_is_saved_and_restored_with_the_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    memory = IdentityMemory()
    memory.observe_distances(
        rng.uniform(0, 0.05, 1500),
        rng.uniform(0.5, 1, 300),
        (rng.uniform(0, 9, 40), rng.uniform(0, 0.1, 40)),
    )
    path = save_state(tmp_path / "memory.npz", memory_state(memory))
    copy = restore_memory(load_state(path))
    assert copy.calibration is not None and memory.calibration is not None
    assert copy.threshold == memory.threshold != memory.max_cosine_distance
    gaps = np.array([0.5, 3.0, 8.0])
    np.testing.assert_array_equal(
        copy.calibration.thresholds(gaps), memory.calibration.thresholds(gaps)
    )
    # The rings continue where they were: the same next distances give the same threshold.
    more = rng.uniform(0.1, 0.2, 700)
    memory.observe_distances(more)
    copy.observe_distances(more)
    assert copy.threshold == memory.threshold


def test_memory_states_without_calibration_still_load() -> None:
    state = memory_state(IdentityMemory(calibrate=False))
    assert state["calibration"] is None
    assert restore_memory(state).calibration is None
    older = memory_state(IdentityMemory(max_speed=0.1))
    del older["calibration"]  # written before the calibration existed
    restored = restore_memory(older)
    assert restored.calibration is not None and not restored.calibration.ready
    assert restored.max_speed == 0.1


def test_a_corrupt_calibration_is_a_state_error() -> None:
    state = memory_state(IdentityMemory())
    state["calibration"]["same"]["values"] = np.zeros(3)
    with pytest.raises(StateError, match="calibration"):
        restore_memory(state)
    state = memory_state(IdentityMemory())
    state["calibration"]["settings"]["margin"] = 0.1
    with pytest.raises(StateError, match="calibration"):
        restore_memory(state)


# -- online, in the wrapper ----------------------------------------------------------------------


def _walkers(noise: float, frames: int = 200, people: int = 5, seed: int = 0) -> list[Detections]:
    rng = np.random.default_rng(seed)
    looks = rng.normal(size=(people, D))
    looks /= np.linalg.norm(looks, axis=1, keepdims=True)
    out = []
    for f in range(frames):
        boxes = [
            [40.0 + 110 * i + 0.5 * f, 100.0 + 30 * (i % 2), 40.0, 100.0] for i in range(people)
        ]
        feats = looks + noise * rng.normal(size=(people, D)) / np.sqrt(D)
        out.append(
            Detections.from_tlwh(boxes, np.full(people, 0.9), None, feats.astype(np.float32))
        )
    return out


def test_the_wrapper_calibrates_the_memory_from_the_stream() -> None:
    thresholds = []
    for noise in (0.5, 1.0):
        wrapper = ReentryTracker(Tracker(), fps=25.0)
        for dets in _walkers(noise):
            wrapper.update(dets)
        cal = wrapper.memory.calibration
        assert cal is not None and cal.ready and cal.distinct
        thresholds.append(wrapper.memory.threshold)
    # Noisier features, wider same-identity spread, a looser threshold; both far from the
    # prior, which suits neither.
    assert thresholds[0] < thresholds[1] < 0.25
    assert thresholds[1] > 2 * thresholds[0] > 2 * 0.01


def test_a_stream_that_never_re_enters_re_identifies_nobody() -> None:
    wrapper = ReentryTracker(Tracker(), fps=25.0)
    plain = Tracker()
    for dets in _walkers(0.3):
        got, want = wrapper.update(dets), plain.update(dets)
        assert [t.local_id for t in got] == [t.track_id for t in want]
        assert not any(t.reidentified for t in got)
    assert len(wrapper.memory) == 0


def test_bad_features_in_observe_are_a_no_op_for_appearance() -> None:
    frames = _walkers(0.2, frames=60)
    clean, dirty = ReentryTracker(Tracker(), fps=25.0), ReentryTracker(Tracker(), fps=25.0)
    inner_clean, inner_dirty = clean.tracker, dirty.tracker
    for k, dets in enumerate(frames):
        a = clean.observe(inner_clean.update(dets), None if k == 30 else dets.features)
        bad = np.full_like(dets.features, np.nan) if k == 30 else dets.features
        b = dirty.observe(inner_dirty.update(dets), bad)
        assert [t.track_id for t in a] == [t.track_id for t in b]
    # A frame of NaN features counts as a frame without features: same appearance.
    for lid, loc in clean._locals.items():
        np.testing.assert_array_equal(loc.summary(), dirty._locals[lid].summary())
    # Zero-length and 1-D features carry no appearance either.
    for odd in (np.zeros((5, 0), np.float32), np.zeros(5, np.float32)):
        before = {lid: loc.feature_count for lid, loc in dirty._locals.items()}
        dirty.observe(inner_dirty.update(frames[-1]), odd)
        assert {
            lid: loc.feature_count for lid, loc in dirty._locals.items() if lid in before
        } == before


def test_bad_detections_change_nothing_already_tracked() -> None:
    wrapper = ReentryTracker(Tracker(), fps=25.0)
    for dets in _walkers(0.2, frames=40):
        wrapper.update(dets)
    before = wrapper.state_dict()
    with pytest.raises(InvalidInputError):
        bad = np.full((1, D), np.nan, np.float32)
        wrapper.update(Detections.from_tlwh([[0, 0, 10, 20.0]], [0.9], None, bad))
    after = wrapper.state_dict()
    assert after["frame"] == before["frame"]
    for x, y in zip(before["tracks"], after["tracks"], strict=True):
        np.testing.assert_array_equal(x["feature_sum"], y["feature_sum"])


def test_a_nan_summary_is_refused_by_the_memory() -> None:
    memory = IdentityMemory()
    bad = np.full((1, D), np.nan, np.float32)
    with pytest.raises(InvalidInputError, match="NaN"):
        memory.add(LostIdentity(1, "0", 0, 1.0, np.zeros(4), bad))
    assert len(memory) == 0


def test_reentry_state_knows_nothing_of_the_wrapper() -> None:
    import deepsort_lib.tracking.reentry_state as module

    tree = ast.parse(Path(module.__file__).read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "deepsort_lib.tracking.reentry" not in imported
    assert "deepsort_lib.tracking.tracker" not in imported
