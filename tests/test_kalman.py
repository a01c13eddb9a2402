"""The batched Kalman filter must equal filterpy, the reference, on random sequences."""

import numpy as np
import pytest

from deepsort_lib.tracking.kalman import (
    CHI2INV95,
    BoxKalmanModel,
    FilterpyBoxFilter,
    FilterpyKalmanModel,
)


def _random_boxes(rng: np.random.Generator, n: int, measurement: str) -> np.ndarray:
    centre = rng.uniform(0, 1000, (n, 2))
    h = rng.uniform(20, 300, n)
    second = rng.uniform(0.2, 1.0, n) if measurement == "xyah" else h * rng.uniform(0.2, 1.0, n)
    return np.column_stack([centre, second, h])


@pytest.mark.parametrize("measurement", ["xyah", "xywh"])
@pytest.mark.parametrize("nsa", [False, True])
def test_batched_filter_equals_filterpy(measurement: str, nsa: bool) -> None:
    rng = np.random.default_rng(7)
    model = BoxKalmanModel(measurement=measurement)  # type: ignore[arg-type]
    n = 12
    z0 = _random_boxes(rng, n, measurement)
    refs = [FilterpyBoxFilter(model, z) for z in z0]
    means, covs = model.initiate(z0)
    for step in range(60):
        means, covs = model.predict(means, covs)
        for ref in refs:
            ref.predict()
        # Not every track is updated every step: misses must keep both in lockstep too.
        upd = np.flatnonzero(rng.random(n) < 0.7)
        z = means[upd, :4] + rng.normal(0, 2.0, (len(upd), 4)) * [1, 1, 0.01, 1]
        conf = rng.uniform(0.1, 0.99, len(upd)) if nsa else None
        if len(upd):
            means[upd], covs[upd] = model.update(means[upd], covs[upd], z, conf)
        for k, i in enumerate(upd):
            refs[i].update(z[k], None if conf is None else conf[k])
        ref_means = np.array([r.mean for r in refs])
        ref_covs = np.array([r.covariance for r in refs])
        np.testing.assert_allclose(means, ref_means, rtol=1e-9, atol=1e-9 * np.abs(ref_means).max())
        np.testing.assert_allclose(covs, ref_covs, rtol=1e-9, atol=1e-9 * np.abs(ref_covs).max())
        if step % 10 == 0:
            probes = _random_boxes(rng, 7, measurement)
            for only_position in (False, True):
                batched = model.gating_distance(means, covs, probes, only_position)
                ref_d = np.array([r.gating_distance(probes, only_position) for r in refs])
                np.testing.assert_allclose(batched, ref_d, rtol=1e-9)


def test_filterpy_backend_model_matches_batched() -> None:
    rng = np.random.default_rng(3)
    fast, ref = BoxKalmanModel(), FilterpyKalmanModel()
    z = _random_boxes(rng, 5, "xyah")
    m1, p1 = fast.initiate(z)
    m2, p2 = ref.initiate(z)
    for _ in range(20):
        m1, p1 = fast.predict(m1, p1)
        m2, p2 = ref.predict(m2, p2)
        meas = m1[:, :4] + rng.normal(0, 1, (5, 4)) * [1, 1, 0.01, 1]
        m1, p1 = fast.update(m1, p1, meas)
        m2, p2 = ref.update(m2, p2, meas)
    np.testing.assert_allclose(m1, m2, rtol=1e-9)
    np.testing.assert_allclose(p1, p2, rtol=1e-9, atol=1e-12)


def test_noise_model_is_deep_sort() -> None:
    model = BoxKalmanModel()
    mean, cov = model.initiate(np.array([[100.0, 50.0, 0.5, 200.0]]))
    h = 200.0
    expected_std = [
        2 * h / 20,
        2 * h / 20,
        1e-2,
        2 * h / 20,
        10 * h / 160,
        10 * h / 160,
        1e-5,
        10 * h / 160,
    ]
    np.testing.assert_allclose(np.sqrt(np.diag(cov[0])), expected_std)
    np.testing.assert_array_equal(mean[0, 4:], 0)
    assert CHI2INV95[4] == pytest.approx(9.4877) and CHI2INV95[2] == pytest.approx(5.9915)


def test_gating_distance_zero_at_prediction_and_grows() -> None:
    model = BoxKalmanModel()
    mean, cov = model.initiate(np.array([[100.0, 100.0, 0.5, 100.0]]))
    probes = np.array(
        [[100.0, 100.0, 0.5, 100.0], [110.0, 100.0, 0.5, 100.0], [150, 100, 0.5, 100]]
    )
    d = model.gating_distance(mean, cov, probes)[0]
    assert d[0] == pytest.approx(0.0, abs=1e-12)
    assert 0 < d[1] < d[2]
