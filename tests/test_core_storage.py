"""Appearance storage follows what is kept: it shrinks after bursts and resets, an unlimited or
huge budget does not preallocate or multiply memory (issue 15, load and resources)."""

from __future__ import annotations

import numpy as np
import pytest

from deepsort_lib import Detections, FeatureGallery, Tracker
from deepsort_lib.testing.synthetic import CrowdScenario
from deepsort_lib.tracking.flat_gallery import FlatGallery


def _burst(n: int, dim: int = 32, seed: int = 0) -> Detections:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 20000, (n, 2))
    return Detections.from_tlwh(
        np.column_stack([xy, np.full((n, 2), 30.0)]),
        features=rng.normal(size=(n, dim)).astype(np.float32),
    )


def _stream(frames: int = 60, dim: int = 32) -> list[Detections]:
    return [
        f.detections
        for f in CrowdScenario(num_targets=5, num_frames=frames, feature_dim=dim, seed=1).frames()
    ]


@pytest.mark.parametrize("options", [{}, {"nn_budget": None}, {"appearance": "ema"}])
def test_storage_shrinks_back_after_a_burst_and_after_reset(options: dict) -> None:
    tracker = Tracker(max_detections=10_000, **options)
    stream = _stream()
    for d in stream[:20]:
        tracker.update(d)
    normal = tracker._appearance.nbytes  # type: ignore[attr-defined]
    tracker.update(_burst(10_000))
    burst = tracker._appearance.nbytes  # type: ignore[attr-defined]
    assert burst > 10_000 * 32 * 4  # the burst's features were held...
    for d in stream[20:]:
        tracker.update(d)
    after = tracker._appearance.nbytes  # type: ignore[attr-defined]
    assert after <= max(4 * normal, 200_000), (normal, burst, after)  # ...and let go
    tracker.reset()
    assert tracker._appearance.nbytes <= 200_000  # type: ignore[attr-defined]


@pytest.mark.slow
def test_unlimited_budget_memory_follows_the_features_kept() -> None:
    tracker = Tracker(nn_budget=None, max_age=1000)
    for d in _stream(frames=600):
        tracker.update(d)
    gallery = tracker._appearance
    assert isinstance(gallery, FlatGallery)
    kept_bytes = gallery.stored * 32 * 4
    assert gallery.stored > 5 * 500  # every feature of every live track is kept
    # The samples themselves, plus owner and sequence numbers, at most doubled by growth.
    assert gallery.nbytes <= 2 * (kept_bytes + gallery.stored * 16) + 1024 * (32 * 4 + 16)


def test_huge_budget_does_not_preallocate() -> None:
    tracker = Tracker(nn_budget=1_000_000)
    for d in _stream(frames=10):
        tracker.update(d)
    assert tracker._appearance.nbytes < 1_000_000  # type: ignore[attr-defined]


@pytest.mark.parametrize("budget", [None, 3, 300])
def test_flat_gallery_gives_the_dense_gallery_tracks(budget: int | None) -> None:
    dense = Tracker(appearance_model=FeatureGallery(budget), max_age=10)
    flat = Tracker(appearance_model=FlatGallery(budget), max_age=10)
    for fr in CrowdScenario(num_targets=12, num_frames=150, feature_dim=16, seed=7).frames():
        a = [(t.track_id, t.detection_index) for t in dense.update(fr.detections)]
        b = [(t.track_id, t.detection_index) for t in flat.update(fr.detections)]
        assert a == b


def test_flat_gallery_distances_equal_dense_with_budget_and_deaths() -> None:
    rng = np.random.default_rng(3)
    dense, flat = FeatureGallery(4), FlatGallery(4)
    for g in (dense, flat):
        g.add_tracks(None, 5)
    for step in range(30):
        rows = rng.choice(len(dense), size=3, replace=False)
        feats = rng.normal(size=(3, 8)).astype(np.float32)
        feats /= np.linalg.norm(feats, axis=1, keepdims=True)
        for g in (dense, flat):
            g.update(rows, feats)
        if step % 7 == 6:
            mask = np.ones(len(dense), bool)
            mask[step % len(dense)] = False
            for g in (dense, flat):
                g.keep(mask)
                g.add_tracks(feats[:2], 2)
        q = rng.normal(size=(4, 8)).astype(np.float32)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        rows_all = np.arange(len(dense))
        np.testing.assert_allclose(
            flat.distance(rows_all, q), dense.distance(rows_all, q), atol=1e-6
        )
