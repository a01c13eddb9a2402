"""Seeded synthetic crowds: detections with ground-truth identities, for tests and benchmarks.

Targets move with a slowly changing velocity inside a frame, bounce off its borders (so they
cross each other often), and are detected with box jitter, random misses, bursts of misses,
and false positives. Each target has a unit appearance vector; its detections carry that
vector plus noise, and false positives carry random vectors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import Detections


@dataclass(frozen=True)
class SyntheticFrame:
    """One frame of a synthetic stream.

    Attributes
    ----------
    detections
        What a detector + encoder would report.
    target_ids
        ``(N,)`` ground-truth identity of each detection, ``-1`` for false positives.
    true_tlwh
        ``(K, 4)`` true boxes of every target in this frame.
    """

    detections: Detections
    target_ids: NDArray[np.int64]
    true_tlwh: NDArray[np.float64]


@dataclass(frozen=True)
class CrowdScenario:
    """Parameters of a synthetic crowd.

    Parameters
    ----------
    num_targets
        Number of targets, all present for the whole stream.
    num_frames
        Stream length.
    feature_dim
        Appearance feature length; 0 for motion-only detections.
    frame_size
        (width, height) of the scene in pixels.
    miss_probability
        Chance that a visible target is not detected in a frame.
    burst_probability
        Chance per frame that a target starts a burst of consecutive misses.
    burst_length
        Length of such a burst, in frames.
    false_positives_per_frame
        Mean number of false detections per frame (Poisson).
    position_jitter
        Standard deviation of box jitter, as a fraction of the box height.
    feature_noise
        Standard deviation of the per-dimension noise added to the identity vector.
    speed
        Typical speed in pixels per frame.
    seed
        Random seed; the same scenario always yields the same stream.
    """

    num_targets: int = 10
    num_frames: int = 300
    feature_dim: int = 128
    frame_size: tuple[int, int] = (1920, 1080)
    miss_probability: float = 0.05
    burst_probability: float = 0.01
    burst_length: int = 8
    false_positives_per_frame: float = 0.5
    position_jitter: float = 0.02
    feature_noise: float = 0.05
    speed: float = 4.0
    seed: int = 0

    def frames(self) -> Iterator[SyntheticFrame]:
        """Generate the stream frame by frame."""
        rng = np.random.default_rng(self.seed)
        k = self.num_targets
        width, height = self.frame_size
        heights = rng.uniform(60, 200, k)
        widths = heights * rng.uniform(0.35, 0.6, k)
        x = rng.uniform(0, width - widths)
        y = rng.uniform(0, height - heights)
        angle = rng.uniform(0, 2 * np.pi, k)
        vx, vy = self.speed * np.cos(angle), self.speed * np.sin(angle)
        identity = rng.normal(size=(k, max(self.feature_dim, 1)))
        identity /= np.linalg.norm(identity, axis=1, keepdims=True)
        burst_left = np.zeros(k, dtype=np.int64)
        for _ in range(self.num_frames):
            # Smoothly varying velocity, reflected at the borders.
            vx += rng.normal(0, 0.1 * self.speed, k) * 0.2
            vy += rng.normal(0, 0.1 * self.speed, k) * 0.2
            x += vx
            y += vy
            out_x = (x < 0) | (x + widths > width)
            out_y = (y < 0) | (y + heights > height)
            vx[out_x] *= -1
            vy[out_y] *= -1
            x = np.clip(x, 0, width - widths)
            y = np.clip(y, 0, height - heights)
            true_tlwh = np.column_stack([x, y, widths, heights])

            burst_left = np.maximum(burst_left - 1, 0)
            starts = rng.random(k) < self.burst_probability
            burst_left[starts] = self.burst_length
            seen = (rng.random(k) >= self.miss_probability) & (burst_left == 0)
            ids = np.flatnonzero(seen)
            jitter = rng.normal(0, self.position_jitter, (len(ids), 4)) * heights[ids, None]
            boxes = true_tlwh[ids] + jitter
            boxes[:, 2:] = np.maximum(boxes[:, 2:], 4.0)
            scores = rng.uniform(0.5, 1.0, len(ids))

            n_fp = rng.poisson(self.false_positives_per_frame)
            fp_h = rng.uniform(40, 200, n_fp)
            fp = np.column_stack(
                [
                    rng.uniform(0, width - 100, n_fp),
                    rng.uniform(0, height - 200, n_fp),
                    fp_h * rng.uniform(0.3, 0.7, n_fp),
                    fp_h,
                ]
            )
            all_boxes = np.concatenate([boxes, fp.reshape(-1, 4)])
            all_scores = np.concatenate([scores, rng.uniform(0.3, 0.8, n_fp)])
            target_ids = np.concatenate([ids, np.full(n_fp, -1)]).astype(np.int64)
            features = None
            if self.feature_dim > 0:
                feats = identity[ids] + rng.normal(
                    0, self.feature_noise, (len(ids), self.feature_dim)
                )
                fp_feats = rng.normal(size=(n_fp, self.feature_dim))
                features = np.concatenate([feats, fp_feats]).astype(np.float32)
                features /= np.linalg.norm(features, axis=1, keepdims=True)
            order = rng.permutation(len(target_ids))
            yield SyntheticFrame(
                Detections.from_tlwh(
                    all_boxes[order],
                    all_scores[order],
                    None,
                    None if features is None else features[order],
                ),
                target_ids[order],
                true_tlwh,
            )


__all__ = ["CrowdScenario", "SyntheticFrame"]
