import numpy as np
import pytest

from deepsort_lib import ConfigurationError
from deepsort_lib.tracking.appearance import EmaAppearance, FeatureGallery, normalize_features


def _unit(*v: float) -> np.ndarray:
    x = np.array([v], dtype=np.float32)
    return x / np.linalg.norm(x)


def _reference(samples: list[np.ndarray], query: np.ndarray) -> float:
    g = np.concatenate(samples)
    return float(1 - (g @ query.T).max())


@pytest.mark.parametrize("budget", [1, 3, None])
def test_gallery_keeps_last_budget_features(budget: int | None) -> None:
    rng = np.random.default_rng(0)
    gallery = FeatureGallery(budget)
    feats, _ = normalize_features(rng.normal(size=(40, 6)))
    gallery.add_tracks(feats[:1], 1)
    for f in feats[1:]:
        gallery.update(np.array([0]), f[None])
    kept = feats if budget is None else feats[-budget:]
    queries, _ = normalize_features(rng.normal(size=(5, 6)))
    got = gallery.distance(np.array([0]), queries)[0]
    want = [_reference([kept], q[None]) for q in queries]
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_gallery_rows_follow_births_and_deaths() -> None:
    gallery = FeatureGallery(5)
    a, b, c = _unit(1, 0, 0), _unit(0, 1, 0), _unit(0, 0, 1)
    gallery.add_tracks(np.concatenate([a, b]), 2)
    gallery.keep(np.array([False, True]))  # a dies; its slot is reused below
    gallery.add_tracks(c, 1)
    d = gallery.distance(np.array([0, 1]), np.concatenate([a, b, c]))
    np.testing.assert_allclose(d, [[1, 0, 1], [1, 1, 0]], atol=1e-6)


def test_only_gated_pairs_are_scored() -> None:
    gallery = FeatureGallery(5)
    gallery.add_tracks(np.concatenate([_unit(1, 0), _unit(0, 1)]), 2)
    q = np.concatenate([_unit(1, 0), _unit(0, 1)])
    pairs = np.array([[True, False], [True, True]])
    d = gallery.distance(np.array([0, 1]), q, pairs)
    np.testing.assert_allclose(d, [[0, 1], [1, 0]], atol=1e-6)


def test_zero_rows_carry_no_appearance() -> None:
    gallery = FeatureGallery(5)
    gallery.add_tracks(np.zeros((1, 3), np.float32), 1)
    assert gallery.distance(np.array([0]), _unit(1, 0, 0))[0, 0] == 1.0


def test_ema_moves_towards_new_features() -> None:
    ema = EmaAppearance(alpha=0.5)
    ema.add_tracks(_unit(1, 0), 1)
    ema.update(np.array([0]), _unit(0, 1))
    d = ema.distance(np.array([0]), np.concatenate([_unit(1, 1), _unit(1, 0)]))[0]
    assert d[0] == pytest.approx(0.0, abs=1e-6) and d[1] > 0.2
    with pytest.raises(ConfigurationError):
        EmaAppearance(alpha=1.0)
    with pytest.raises(ConfigurationError):
        FeatureGallery(0)
