"""Seeded scenes of walking people as per-frame Detections, for the multi-stream tests and
benchmarks (self-contained: no dependence on the accuracy benchmark's simulation)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from deepsort_lib.boxes import Detections


def walking_frames(
    seed: int,
    n_frames: int,
    n_ids: int = 6,
    *,
    feature_dim: int = 16,
    miss_rate: float = 0.1,
    false_positives: float = 0.3,
    image_size: tuple[float, float] = (640.0, 480.0),
    mean_life: float | None = None,
) -> Iterator[Detections]:
    """Yield ``n_frames`` frames of up to ``n_ids`` people crossing the image.

    Boxes jitter, detections are missed at ``miss_rate`` and about ``false_positives``
    spurious boxes appear per frame. Features are a per-person unit vector plus noise (false
    positives get random ones). Without ``mean_life`` each person is present for one random
    span of the sequence; with it, people leave after about ``mean_life`` frames and are
    replaced by new people (a steady turnover of identities, for long runs).
    """
    rng = np.random.default_rng(seed)
    width, height = image_size
    if mean_life is None:
        start = rng.uniform(0, max(n_frames - 20, 1), n_ids).astype(int)
        life = rng.integers(20, max(n_frames, 21), n_ids)
    else:
        start = np.zeros(n_ids, int)
        life = rng.geometric(1.0 / mean_life, n_ids)
    pos = np.column_stack([rng.uniform(0, width - 60, n_ids), rng.uniform(0, height - 150, n_ids)])
    vel = rng.normal(0, 2.0, (n_ids, 2))
    size = np.column_stack([rng.uniform(30, 60, n_ids), rng.uniform(80, 150, n_ids)])
    base = rng.normal(size=(n_ids, feature_dim))
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    for f in range(n_frames):
        if mean_life is not None:
            gone = np.flatnonzero(f >= start + life)
            if len(gone):  # replaced by new people elsewhere, with new appearances
                start[gone] = f
                life[gone] = rng.geometric(1.0 / mean_life, len(gone))
                pos[gone] = np.column_stack(
                    [rng.uniform(0, width - 60, len(gone)), rng.uniform(0, height - 150, len(gone))]
                )
                fresh = rng.normal(size=(len(gone), feature_dim))
                base[gone] = fresh / np.linalg.norm(fresh, axis=1, keepdims=True)
        pos += vel
        pos[:, 0] %= width - 60
        pos[:, 1] %= height - 150
        alive = (f >= start) & (f < start + life) & (rng.uniform(size=n_ids) >= miss_rate)
        idx = np.flatnonzero(alive)
        boxes = np.column_stack([pos[idx], size[idx]]) + rng.normal(0, 1.5, (len(idx), 4))
        feats = base[idx] + rng.normal(0, 0.15, (len(idx), feature_dim))
        n_fp = rng.poisson(false_positives)
        fp_boxes = np.column_stack(
            [
                rng.uniform(0, width - 60, n_fp),
                rng.uniform(0, height - 150, n_fp),
                rng.uniform(20, 60, n_fp),
                rng.uniform(40, 150, n_fp),
            ]
        )
        boxes = np.concatenate([boxes, fp_boxes])
        boxes[:, 2:] = np.maximum(boxes[:, 2:], 5.0)
        feats = np.concatenate([feats, rng.normal(size=(n_fp, feature_dim))])
        scores = np.concatenate([rng.uniform(0.5, 1.0, len(idx)), rng.uniform(0.2, 0.7, n_fp)])
        yield Detections.from_tlwh(boxes, scores, None, feats.astype(np.float32))


def walking_scene(seed: int, n_frames: int, n_ids: int = 6, **options: object) -> list[Detections]:
    """:func:`walking_frames` as a list."""
    return list(walking_frames(seed, n_frames, n_ids, **options))  # type: ignore[arg-type]
