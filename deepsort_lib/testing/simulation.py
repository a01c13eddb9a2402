"""Seeded detector and re-ID simulation on real ground truth.

Turns annotated boxes (MOTChallenge ground truth) into what a detector + appearance encoder
would report, so trackers can be compared on real motion and real occlusions without a
detector. Every tracker in a comparison must get the *same* simulated detections.

Noise model (all parameters in :class:`NoiseModel`; the defaults are what the accuracy
benchmark uses). For every ground-truth box of every frame:

1. **Occlusion.** ``occlusion`` = the largest fraction of the box covered by one other box
   that stands in front of it (its bottom edge is lower in the image, the usual ground-plane
   depth cue).
2. **Misses.** The box is dropped with probability
   ``miss_rate + occlusion_miss * occlusion`` (independent per box), and whenever its identity
   is inside a *miss burst*: each identity starts a burst with probability ``burst_rate`` per
   frame, lasting a uniform ``burst_length`` = [min, max] frames (detector drop-outs of several
   frames, which a tracker must bridge).
3. **Box jitter.** Centre moves by ``N(0, jitter * w)`` and ``N(0, jitter * h)``; width and
   height are multiplied by ``exp(N(0, size_jitter))``.
4. **Score.** ``clip(N(score_mean - score_occlusion * occlusion, score_std), 0.01, 1)``:
   occluded targets get lower scores, as with real detectors.
5. **Appearance feature.** Each identity has a random unit vector ``e_id`` in ``R^D``. A
   detection's feature is ``normalize(e_id + feature_noise * g)`` with ``g ~ N(0, I / D)``
   (so ``|g| ≈ 1``); the cosine distance between two detections of one identity is then about
   ``1 - 1 / (1 + feature_noise**2)`` (0.2, Deep SORT's gate, at ``feature_noise = 0.5``).
   When the box is overlapped by another target's box, the feature is *contaminated*: mixed
   with the other identity's vector with weight ``contamination * overlap`` before
   normalisation (``overlap`` = fraction of this box covered by the other), as a crop that
   contains two people yields a blend.

Then ``Poisson(false_positives)`` false positives per frame are added: sizes drawn from the
sequence's ground-truth boxes, positions uniform over the image, scores
``clip(N(fp_score_mean, fp_score_std), 0.01, 1)``, random unit features.

Randomness comes from one seed, split with :class:`numpy.random.SeedSequence` into
independent streams for boxes, identity vectors and feature noise. Changing only
``feature_noise`` therefore keeps the boxes, misses and scores identical (a clean sweep).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.boxes import Detections, tlwh_to_xyxy
from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.io.mot import MotData

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class NoiseModel:
    """Parameters of the detection and appearance noise (see the module docstring)."""

    miss_rate: float = 0.08
    occlusion_miss: float = 0.4
    burst_rate: float = 0.015
    burst_length: tuple[int, int] = (3, 12)
    jitter: float = 0.04
    size_jitter: float = 0.06
    score_mean: float = 0.85
    score_std: float = 0.08
    score_occlusion: float = 0.5
    false_positives: float = 0.5
    fp_score_mean: float = 0.35
    fp_score_std: float = 0.15
    feature_dim: int = 128
    feature_noise: float = 0.4
    contamination: float = 0.5

    def __post_init__(self) -> None:
        probs = {
            "miss_rate": self.miss_rate,
            "occlusion_miss": self.occlusion_miss,
            "burst_rate": self.burst_rate,
            "contamination": self.contamination,
        }
        for name, value in probs.items():
            if not 0.0 <= value <= 1.0:
                raise ConfigurationError(f"{name} must be in [0, 1], got {value}")
        nonneg = {
            "jitter": self.jitter,
            "size_jitter": self.size_jitter,
            "score_std": self.score_std,
            "score_occlusion": self.score_occlusion,
            "false_positives": self.false_positives,
            "fp_score_std": self.fp_score_std,
            "feature_noise": self.feature_noise,
        }
        for name, value in nonneg.items():
            if not value >= 0.0:
                raise ConfigurationError(f"{name} must be >= 0, got {value}")
        lo, hi = self.burst_length
        if not 1 <= lo <= hi:
            raise ConfigurationError(
                f"burst_length must be (min, max) with 1 <= min <= max, got {self.burst_length}"
            )
        if self.feature_dim < 2:
            raise ConfigurationError(f"feature_dim must be >= 2, got {self.feature_dim}")


@dataclass(frozen=True)
class SimulatedSequence:
    """Simulated detections of a whole sequence, rows sorted by frame.

    Attributes
    ----------
    frames
        ``(F,)`` every frame number of the sequence, in order, including frames where
        nothing was detected (trackers must still be stepped on them).
    frame
        ``(N,)`` frame number of each detection.
    tlwh
        ``(N, 4)`` boxes.
    scores
        ``(N,)`` detector confidences in (0, 1].
    features
        ``(N, D)`` unit-norm appearance features, float32.
    gt_ids
        ``(N,)`` identity the detection came from, ``-1`` for false positives (for analysis
        only; never give it to a tracker).
    occlusion
        ``(N,)`` occlusion fraction of the source box (0 for false positives).
    """

    frames: IntArray
    frame: IntArray
    tlwh: FloatArray
    scores: FloatArray
    features: NDArray[np.float32]
    gt_ids: IntArray
    occlusion: FloatArray

    def __len__(self) -> int:
        return len(self.frame)

    def per_frame(self) -> Iterator[tuple[int, Detections]]:
        """Yield ``(frame_number, detections)`` for every frame, empty ones included."""
        bounds = np.searchsorted(self.frame, np.stack([self.frames, self.frames + 1]))
        for f, a, b in zip(self.frames, bounds[0], bounds[1], strict=True):
            yield (
                int(f),
                Detections.from_tlwh(self.tlwh[a:b], self.scores[a:b], None, self.features[a:b]),
            )

    def as_mot_detections(self) -> FloatArray:
        """``(N, 7)`` MOTChallenge det rows ``frame, -1, x, y, w, h, score``."""
        return np.column_stack([self.frame, -np.ones(len(self)), self.tlwh, self.scores]).astype(
            np.float64
        )


def occlusion_fractions(tlwh: ArrayLike) -> tuple[FloatArray, IntArray]:
    """For boxes of one frame: the largest fraction of each box covered by a box in front.

    A box is *in front* of another when its bottom edge is lower in the image.

    Returns
    -------
    fraction, occluder
        ``(N,)`` covered fraction in [0, 1] and ``(N,)`` index of the box covering most
        (``-1`` where nothing overlaps).
    """
    boxes = np.asarray(tlwh, dtype=np.float64).reshape(-1, 4)
    n = len(boxes)
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    xyxy = tlwh_to_xyxy(boxes)
    tl = np.maximum(xyxy[:, None, :2], xyxy[None, :, :2])
    br = np.minimum(xyxy[:, None, 2:], xyxy[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0.0, None), axis=2)
    area = np.maximum(boxes[:, 2] * boxes[:, 3], 1e-9)
    covered = inter / area[:, None]  # [i, j]: fraction of i covered by j
    in_front = xyxy[None, :, 3] > xyxy[:, None, 3]  # [i, j]: j stands in front of i
    covered = np.where(in_front, covered, 0.0)
    np.fill_diagonal(covered, 0.0)
    occluder = np.argmax(covered, axis=1)
    fraction = np.clip(covered[np.arange(n), occluder], 0.0, 1.0)
    return fraction, np.where(fraction > 0, occluder, -1).astype(np.int64)


def _unit(x: FloatArray) -> FloatArray:
    out: FloatArray = x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
    return out


def _burst_mask(
    frames: IntArray, ids: IntArray, rate: float, length: tuple[int, int], rng: np.random.Generator
) -> NDArray[np.bool_]:
    """Which (frame, id) rows fall inside a miss burst of their identity."""
    span = np.arange(int(frames.min()), int(frames.max()) + 1)
    uid = np.unique(ids)
    # starts[k, t]: identity k starts a burst at frame span[t]; bursts cover [t, t + L).
    starts = rng.random((len(uid), len(span))) < rate
    lengths = rng.integers(length[0], length[1] + 1, size=starts.shape)
    covered = np.zeros((len(uid), len(span) + 1), dtype=np.int64)
    k, t = np.nonzero(starts)
    np.add.at(covered, (k, t), 1)
    np.add.at(covered, (k, np.minimum(t + lengths[k, t], len(span))), -1)
    inside = np.cumsum(covered, axis=1)[:, :-1] > 0
    mask: NDArray[np.bool_] = inside[np.searchsorted(uid, ids), frames - span[0]]
    return mask


def _gt_array(gt: MotData | ArrayLike) -> FloatArray:
    """Ground truth as an ``(N, >=6)`` float array, from a :class:`MotData` or an array."""
    if isinstance(gt, MotData):
        return gt.as_array()
    try:
        array = np.asarray(gt, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"gt must be a MotData (deepsort_lib.io.mot.read_mot) or an (N, >=6) MOT array, "
            f"got {type(gt).__name__}"
        ) from exc
    if array.ndim != 2 or array.shape[1] < 6 or len(array) == 0:
        raise InvalidInputError(
            f"gt must be a non-empty MotData or (N, >=6) MOT array, got shape {array.shape}"
        )
    return array


def simulate(
    gt: MotData | ArrayLike,
    noise: NoiseModel | None = None,
    *,
    seed: int = 0,
    image_size: tuple[float, float] | None = None,
) -> SimulatedSequence:
    """Simulate a detector and a re-ID encoder on a sequence's ground truth.

    Parameters
    ----------
    gt
        MOTChallenge ground truth: what :func:`deepsort_lib.io.mot.read_mot` returns, or an
        ``(N, >=6)`` array ``frame, id, x, y, w, h, ...``. Rows whose 7th column is 0 ("do
        not consider") are ignored.
    noise
        The noise model; default :class:`NoiseModel()`.
    seed
        Seed of every random draw: the same ``gt``, ``noise`` and ``seed`` give bit-identical
        output.
    image_size
        ``(width, height)`` for placing false positives; default: the extent of the boxes.

    Returns
    -------
    SimulatedSequence
    """
    noise = noise or NoiseModel()
    array = _gt_array(gt)
    if array.shape[1] >= 7:
        array = array[array[:, 6] != 0]
    if len(array) == 0:
        raise InvalidInputError("gt has no rows to consider (every 7th-column flag is 0)")
    array = array[np.lexsort((array[:, 1], array[:, 0]))]
    frame = array[:, 0].astype(np.int64)
    ids = array[:, 1].astype(np.int64)
    boxes = array[:, 2:6]
    if np.any(boxes[:, 2:] <= 0):
        raise InvalidInputError("gt boxes must have positive width and height")
    frames = np.arange(int(frame.min()), int(frame.max()) + 1, dtype=np.int64)
    if image_size is None:
        xyxy = tlwh_to_xyxy(boxes)
        image_size = (float(np.max(xyxy[:, 2])), float(np.max(xyxy[:, 3])))

    box_seq, id_seq, feat_seq = np.random.SeedSequence(seed).spawn(3)
    rng = np.random.default_rng(box_seq)
    id_rng = np.random.default_rng(id_seq)
    feat_rng = np.random.default_rng(feat_seq)

    # 1. Occlusion per box, per frame (a loop over frames: the pairwise overlaps are per frame).
    occlusion = np.zeros(len(array))
    occluder_id = -np.ones(len(array), dtype=np.int64)
    bounds = np.searchsorted(frame, np.stack([frames, frames + 1]))
    for a, b in zip(bounds[0], bounds[1], strict=True):
        frac, occ = occlusion_fractions(boxes[a:b])
        occlusion[a:b] = frac
        occluder_id[a:b] = np.where(occ >= 0, ids[a:b][np.maximum(occ, 0)], -1)

    # 2. Misses: independent + occlusion-driven + bursts.
    p_miss = np.clip(noise.miss_rate + noise.occlusion_miss * occlusion, 0.0, 1.0)
    missed = rng.random(len(array)) < p_miss
    missed |= _burst_mask(frame, ids, noise.burst_rate, noise.burst_length, rng)

    # 3. Jitter (drawn for every box, so the draws do not depend on which boxes were missed).
    w, h = boxes[:, 2], boxes[:, 3]
    centre = boxes[:, :2] + boxes[:, 2:] / 2.0
    centre = centre + rng.normal(size=(len(array), 2)) * noise.jitter * np.column_stack([w, h])
    size = boxes[:, 2:] * np.exp(rng.normal(size=(len(array), 2)) * noise.size_jitter)
    tlwh = np.column_stack([centre - size / 2.0, size])

    # 4. Scores.
    scores = np.clip(
        rng.normal(noise.score_mean - noise.score_occlusion * occlusion, noise.score_std),
        0.01,
        1.0,
    )

    # 5. Features.
    uid = np.unique(ids)
    identity_vectors = _unit(id_rng.normal(size=(len(uid), noise.feature_dim)))
    own = identity_vectors[np.searchsorted(uid, ids)]
    other = identity_vectors[np.searchsorted(uid, np.where(occluder_id >= 0, occluder_id, uid[0]))]
    mix = np.where(occluder_id >= 0, noise.contamination * occlusion, 0.0)[:, None]
    g = feat_rng.normal(size=(len(array), noise.feature_dim)) / np.sqrt(noise.feature_dim)
    features = _unit((1.0 - mix) * own + mix * other + noise.feature_noise * g)

    # False positives.
    n_fp = rng.poisson(noise.false_positives, size=len(frames))
    fp_frame = np.repeat(frames, n_fp)
    k = len(fp_frame)
    fp_size = boxes[rng.integers(0, len(boxes), size=k), 2:]
    fp_tl = rng.random((k, 2)) * np.maximum(np.asarray(image_size) - fp_size, 1.0)
    fp_scores = np.clip(rng.normal(noise.fp_score_mean, noise.fp_score_std, size=k), 0.01, 1.0)
    fp_features = _unit(feat_rng.normal(size=(k, noise.feature_dim)))

    keep = ~missed
    out_frame = np.concatenate([frame[keep], fp_frame])
    order = np.argsort(out_frame, kind="stable")
    return SimulatedSequence(
        frames=frames,
        frame=out_frame[order],
        tlwh=np.concatenate([tlwh[keep], np.column_stack([fp_tl, fp_size])])[order],
        scores=np.concatenate([scores[keep], fp_scores])[order],
        features=np.concatenate([features[keep], fp_features])[order].astype(np.float32),
        gt_ids=np.concatenate([ids[keep], -np.ones(k, dtype=np.int64)])[order],
        occlusion=np.concatenate([occlusion[keep], np.zeros(k)])[order],
    )


def same_identity_distances(sim: SimulatedSequence) -> FloatArray:
    """Cosine distances between consecutive detections of one identity.

    For every identity, its detections in frame order, and ``1 - cos`` between each one and
    the next (frames missed in between are skipped): what a tracker sees when it compares a
    detection with the track's previous feature. False positives are left out.
    """
    true = np.flatnonzero(sim.gt_ids >= 0)
    order = true[np.lexsort((sim.frame[true], sim.gt_ids[true]))]
    same = sim.gt_ids[order[1:]] == sim.gt_ids[order[:-1]]
    a, b = order[:-1][same], order[1:][same]
    feats = sim.features.astype(np.float64)
    out: FloatArray = 1.0 - np.einsum("ij,ij->i", feats[a], feats[b])
    return out


def median_same_identity_distance(
    gts: Sequence[MotData | ArrayLike],
    noise: NoiseModel,
    seed: int = 0,
    image_size: tuple[float, float] | None = None,
) -> float:
    """Median of :func:`same_identity_distances` pooled over the simulations of ``gts``."""
    dists = [
        same_identity_distances(simulate(gt, noise, seed=seed + i, image_size=image_size))
        for i, gt in enumerate(gts)
    ]
    pooled = np.concatenate(dists)
    if len(pooled) == 0:
        raise InvalidInputError("no identity is detected twice: no distance to measure")
    return float(np.median(pooled))


def calibrate_feature_noise(
    gts: Sequence[MotData | ArrayLike],
    target_median: float,
    noise: NoiseModel | None = None,
    seed: int = 0,
    image_size: tuple[float, float] | None = None,
    tolerance: float = 1e-4,
) -> float:
    """The ``feature_noise`` at which the median same-identity cosine distance is a target.

    Without occlusion the distance is about ``s**2 / (1 + s**2)`` for ``feature_noise = s``;
    contamination by occluders raises it for some boxes. This solves for ``s`` by bisection on
    the simulated median (:func:`median_same_identity_distance`, which grows with ``s``),
    everything else in ``noise`` fixed.

    Parameters
    ----------
    gts
        Ground truth of the sequences to pool.
    target_median
        Wanted median cosine distance, in (0, 1).
    noise
        The rest of the noise model (its ``feature_noise`` is ignored).
    seed, image_size
        As for :func:`simulate` (sequence ``i`` uses ``seed + i``).
    tolerance
        Stop when the bracket on ``feature_noise`` is this narrow.

    Returns
    -------
    float
        The calibrated ``feature_noise``.
    """
    if not 0.0 < target_median < 1.0:
        raise ConfigurationError(f"target_median must be in (0, 1), got {target_median}")
    base = noise or NoiseModel()

    def median(s: float) -> float:
        return median_same_identity_distance(gts, replace(base, feature_noise=s), seed, image_size)

    if median(0.0) >= target_median:
        raise ConfigurationError(
            f"even without feature noise the median distance is {median(0.0):.3f} "
            f"(occluder contamination); it cannot reach {target_median}"
        )
    lo, hi = 0.0, 1.0
    while median(hi) < target_median:
        lo, hi = hi, 2.0 * hi
        if hi > 1e3:
            raise ConfigurationError(f"no feature_noise reaches median {target_median}")
    while hi - lo > tolerance:
        mid = 0.5 * (lo + hi)
        if median(mid) < target_median:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


__all__ = [
    "NoiseModel",
    "SimulatedSequence",
    "calibrate_feature_noise",
    "median_same_identity_distance",
    "occlusion_fractions",
    "same_identity_distances",
    "simulate",
]
