"""The seeded detector / re-ID simulation used by the accuracy benchmark."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.io.mot import MotData, read_mot
from deepsort_lib.testing.simulation import (
    NoiseModel,
    calibrate_feature_noise,
    median_same_identity_distance,
    occlusion_fractions,
    same_identity_distances,
    simulate,
)

QUIET = NoiseModel(
    miss_rate=0.0,
    occlusion_miss=0.0,
    burst_rate=0.0,
    jitter=0.0,
    size_jitter=0.0,
    false_positives=0.0,
    feature_noise=0.0,
    contamination=0.0,
)


def _walkers(n_ids: int = 4, n_frames: int = 200, spacing: float = 150.0) -> np.ndarray:
    """Ground truth of ``n_ids`` people walking side by side, never overlapping."""
    f = np.repeat(np.arange(1, n_frames + 1), n_ids)
    i = np.tile(np.arange(1, n_ids + 1), n_frames)
    x = 10.0 + spacing * (i - 1) + 0.5 * f
    return np.column_stack([f, i, x, np.full_like(x, 50.0), np.full_like(x, 40.0), 100.0 + 0 * x])


def _tud() -> np.ndarray:
    from benchmarks.accuracy.data import load_gt

    return load_gt("TUD-Stadtmitte")


def test_same_seed_same_output_and_other_seed_differs() -> None:
    gt = _tud()
    a, b, c = simulate(gt, seed=3), simulate(gt, seed=3), simulate(gt, seed=4)
    for name in ("frame", "tlwh", "scores", "features", "gt_ids"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert len(a) != len(c) or not np.array_equal(a.tlwh, c.tlwh)


def test_feature_noise_changes_only_the_features() -> None:
    gt = _tud()
    lo = simulate(gt, NoiseModel(feature_noise=0.2), seed=1)
    hi = simulate(gt, NoiseModel(feature_noise=0.6), seed=1)
    np.testing.assert_array_equal(lo.tlwh, hi.tlwh)
    np.testing.assert_array_equal(lo.scores, hi.scores)
    np.testing.assert_array_equal(lo.gt_ids, hi.gt_ids)
    assert not np.allclose(lo.features, hi.features)


def test_quiet_model_reproduces_ground_truth() -> None:
    gt = _walkers()
    sim = simulate(gt, QUIET, seed=0)
    assert len(sim) == len(gt)
    np.testing.assert_allclose(sim.tlwh, gt[:, 2:6])
    np.testing.assert_array_equal(sim.gt_ids, gt[:, 1])
    np.testing.assert_array_equal(sim.frames, np.arange(1, 201))


def test_do_not_consider_rows_are_ignored() -> None:
    gt = _walkers(n_ids=2, n_frames=5)
    gt = np.column_stack([gt, np.ones(len(gt))])
    gt[gt[:, 1] == 2, 6] = 0
    sim = simulate(gt, QUIET, seed=0)
    assert set(sim.gt_ids.tolist()) == {1}


def test_independent_miss_rate() -> None:
    gt = _walkers(n_ids=5, n_frames=400)
    sim = simulate(gt, NoiseModel(**{**QUIET.__dict__, "miss_rate": 0.3}), seed=0)
    kept = len(sim) / len(gt)
    assert kept == pytest.approx(0.7, abs=0.02)


def test_bursts_miss_several_consecutive_frames() -> None:
    gt = _walkers(n_ids=3, n_frames=300)
    noise = NoiseModel(**{**QUIET.__dict__, "burst_rate": 0.02, "burst_length": (4, 8)})
    sim = simulate(gt, noise, seed=2)
    runs = []
    for ident in (1, 2, 3):
        seen = np.zeros(302, dtype=bool)
        seen[sim.frame[sim.gt_ids == ident]] = True
        seen[[0, 301]] = True  # sentinels outside the sequence
        missing = np.flatnonzero(~seen)
        if len(missing) == 0:
            continue
        breaks = np.flatnonzero(np.diff(missing) > 1)
        starts = np.r_[missing[0], missing[breaks + 1]]
        ends = np.r_[missing[breaks], missing[-1]]
        for s, e in zip(starts, ends, strict=True):
            if s > 1 and e < 300:  # bursts cut by the sequence ends can be shorter
                runs.append(e - s + 1)
    assert len(runs) >= 5
    assert min(runs) >= 4


def test_jitter_scale() -> None:
    gt = _walkers(n_ids=5, n_frames=400)
    sim = simulate(gt, NoiseModel(**{**QUIET.__dict__, "jitter": 0.05}), seed=0)
    centre_dx = (sim.tlwh[:, 0] + sim.tlwh[:, 2] / 2) - (gt[:, 2] + gt[:, 4] / 2)
    centre_dy = (sim.tlwh[:, 1] + sim.tlwh[:, 3] / 2) - (gt[:, 3] + gt[:, 5] / 2)
    assert np.std(centre_dx) == pytest.approx(0.05 * 40, rel=0.1)
    assert np.std(centre_dy) == pytest.approx(0.05 * 100, rel=0.1)
    np.testing.assert_allclose(sim.tlwh[:, 2:], gt[:, 4:6])


def test_false_positives_count_ids_and_features() -> None:
    gt = _walkers(n_ids=2, n_frames=500)
    sim = simulate(gt, NoiseModel(**{**QUIET.__dict__, "false_positives": 2.0}), seed=0)
    fp = sim.gt_ids == -1
    assert fp.sum() / 500 == pytest.approx(2.0, rel=0.1)
    assert np.all(sim.scores[fp] > 0) and np.all(sim.scores[fp] <= 1)
    assert sim.scores[fp].mean() < sim.scores[~fp].mean()
    # False-positive features are random: far from every identity's (noise-free) vector.
    identity = sim.features[~fp][[0, 1]]
    assert np.abs(sim.features[fp] @ identity.T).max() < 0.5


def test_feature_noise_sets_same_identity_cosine_distance() -> None:
    gt = _walkers(n_ids=3, n_frames=300)
    for s in (0.2, 0.5):
        sim = simulate(gt, NoiseModel(**{**QUIET.__dict__, "feature_noise": s}), seed=0)
        np.testing.assert_allclose(np.linalg.norm(sim.features, axis=1), 1.0, atol=1e-5)
        f = sim.features[sim.gt_ids == 1].astype(np.float64)
        d = 1.0 - f[:-1] @ f[1:].T
        assert np.mean(np.diag(d)) == pytest.approx(1 - 1 / (1 + s**2), abs=0.02)
        other = sim.features[sim.gt_ids == 2].astype(np.float64)
        assert np.mean(1.0 - f @ other.T) > 0.8  # different identities: nearly orthogonal


def test_overlap_contaminates_features_and_lowers_scores() -> None:
    # Identity 2 walks in front of identity 1 (lower bottom edge) and covers half of it.
    n = 100
    f = np.repeat(np.arange(1, n + 1), 2)
    ids = np.tile([1, 2], n)
    x = np.where(ids == 1, 100.0, 120.0)
    y = np.where(ids == 1, 50.0, 60.0)
    gt = np.column_stack([f, ids, x, y, np.full(2 * n, 40.0), np.full(2 * n, 100.0)])
    noise = NoiseModel(**{**QUIET.__dict__, "contamination": 0.5, "score_std": 0.0})
    sim = simulate(gt, noise, seed=0)
    back, front = sim.gt_ids == 1, sim.gt_ids == 2
    assert np.all(sim.occlusion[back] > 0.4) and np.all(sim.occlusion[front] == 0)
    assert sim.scores[back].max() < sim.scores[front].min()
    clean = simulate(gt, QUIET, seed=0)
    e1, e2 = clean.features[back][0], clean.features[front][0]
    mixed = sim.features[back][0]
    # Covered 45%: mixed with weight 0.5 * 0.45 towards the occluder's vector.
    expected = 0.225 / np.hypot(0.775, 0.225)
    assert mixed @ e2 == pytest.approx(
        expected + e1 @ e2 * 0.775 / np.hypot(0.775, 0.225), abs=0.03
    )
    assert mixed @ e1 < 0.99
    np.testing.assert_allclose(sim.features[front], clean.features[front], atol=1e-6)


def test_occlusion_fractions_by_hand() -> None:
    boxes = np.array([[0, 0, 10, 10], [5, 2, 10, 10], [100, 100, 5, 5]], dtype=float)
    frac, occluder = occlusion_fractions(boxes)
    # Box 1 (bottom 12) is in front of box 0 (bottom 10) and covers 5x8 of its 10x10.
    np.testing.assert_allclose(frac, [0.4, 0.0, 0.0])
    np.testing.assert_array_equal(occluder, [1, -1, -1])


def test_per_frame_yields_every_frame() -> None:
    gt = _walkers(n_ids=1, n_frames=20)
    noise = NoiseModel(**{**QUIET.__dict__, "burst_rate": 0.2, "burst_length": (3, 3)})
    sim = simulate(gt, noise, seed=0)
    frames = list(sim.per_frame())
    assert [f for f, _ in frames] == list(range(1, 21))
    assert sum(len(d) for _, d in frames) == len(sim)
    assert any(len(d) == 0 for _, d in frames)
    assert all(d.features is not None and d.features.shape[1] == 128 for _, d in frames)


@pytest.mark.parametrize(
    "kwargs",
    [{"miss_rate": 1.5}, {"jitter": -0.1}, {"burst_length": (5, 2)}, {"feature_dim": 1}],
)
def test_invalid_noise_model(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        NoiseModel(**kwargs)  # type: ignore[arg-type]


def test_invalid_ground_truth() -> None:
    with pytest.raises(InvalidInputError):
        simulate(np.zeros((3, 4)))
    with pytest.raises(InvalidInputError):
        simulate(np.array([[1, 1, 0, 0, 0, 10]], dtype=float))


def test_invalid_ground_truth_types() -> None:
    with pytest.raises(InvalidInputError, match="MotData"):
        simulate("not a table")
    everything_ignored = np.column_stack([_walkers(n_ids=1, n_frames=3), np.zeros(3)])
    with pytest.raises(InvalidInputError, match="no rows to consider"):
        simulate(everything_ignored)


# -- issue 14: what io.mot returns is accepted ------------------------------------------------


def test_simulate_takes_what_read_mot_returns(tmp_path: Path) -> None:
    from benchmarks.accuracy.data import gt_path

    data = read_mot(gt_path("TUD-Campus"))
    assert isinstance(data, MotData)
    from_reader = simulate(data, seed=5)
    from_array = simulate(data.as_array(), seed=5)
    assert len(from_reader) > 0
    for name in ("frame", "tlwh", "scores", "features", "gt_ids"):
        np.testing.assert_array_equal(getattr(from_reader, name), getattr(from_array, name))


def test_read_mot_consider_flag_is_respected(tmp_path: Path) -> None:
    gt = _walkers(n_ids=2, n_frames=5)
    rows = np.column_stack([gt, np.where(gt[:, 1] == 2, 0.0, 1.0), -np.ones((len(gt), 3))])
    path = tmp_path / "gt.txt"
    path.write_text("\n".join(",".join(f"{v:g}" for v in r) for r in rows) + "\n")
    sim = simulate(read_mot(path), QUIET, seed=0)
    assert set(sim.gt_ids.tolist()) == {1}


# -- calibration of the feature noise to a median same-identity cosine distance ---------------


def test_same_identity_distances_follow_each_identity_in_frame_order() -> None:
    gt = _walkers(n_ids=3, n_frames=50)
    assert np.allclose(same_identity_distances(simulate(gt, QUIET, seed=0)), 0.0, atol=1e-6)
    noisy = simulate(gt, NoiseModel(**{**QUIET.__dict__, "feature_noise": 0.5}), seed=0)
    d = same_identity_distances(noisy)
    assert len(d) == 3 * 49  # one per consecutive pair of each identity, none across them
    assert np.median(d) == pytest.approx(0.25 / 1.25, abs=0.02)


@pytest.mark.parametrize("target", [0.1, 0.2, 0.35])
def test_calibrated_feature_noise_hits_the_median(target: float) -> None:
    gts = [_tud()]
    s = calibrate_feature_noise(gts, target)
    assert median_same_identity_distance(gts, NoiseModel(feature_noise=s)) == pytest.approx(
        target, abs=0.002
    )
    # Occluders' contamination adds to the noise: a little less is needed than without it.
    assert s <= np.sqrt(target / (1 - target)) + 0.01


def test_calibration_rejects_unreachable_targets() -> None:
    with pytest.raises(ConfigurationError):
        calibrate_feature_noise([_tud()], 1.2)
    with pytest.raises(ConfigurationError):
        calibrate_feature_noise([_tud()], 0.0)


def test_benchmark_conditions_hit_their_targets() -> None:
    """The sweep's levels (benchmarks/accuracy/conditions.py) still mean what they say."""
    from benchmarks.accuracy.conditions import CONDITIONS
    from benchmarks.accuracy.data import SEQUENCES, load_gt
    from benchmarks.accuracy.trackers import IMAGE_SIZE

    gts = [load_gt(s) for s in SEQUENCES]
    n_gt = sum(len(g) for g in gts)
    n_frames = sum(len(np.unique(g[:, 0])) for g in gts)
    for cond in CONDITIONS:
        noise = cond.noise()
        medians, recalls, fps = [], [], []
        for seed in range(3):
            sims = [
                simulate(g, noise, seed=seed * 1000 + i, image_size=IMAGE_SIZE)
                for i, g in enumerate(gts)
            ]
            recalls.append(sum(int(np.sum(s.gt_ids >= 0)) for s in sims) / n_gt)
            fps.append(sum(int(np.sum(s.gt_ids < 0)) for s in sims) / n_frames)
            medians.append(
                float(np.median(np.concatenate([same_identity_distances(s) for s in sims])))
            )
        assert np.mean(recalls) == pytest.approx(cond.detection.recall, abs=0.02), cond.name
        assert np.mean(fps) == pytest.approx(cond.detection.false_positives, rel=0.15), cond.name
        assert np.mean(medians) == pytest.approx(cond.features.median_distance, abs=0.01), cond.name
