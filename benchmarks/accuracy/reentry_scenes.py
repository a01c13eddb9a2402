"""Re-entry stress scenes that do not come from the accuracy benchmark's simulator.

Each :class:`Family` fixes a *feature model* (how appearance vectors are generated) and a
*geometry* (frame rate, image and box sizes, where people leave and come back, how many are
around). A scene (:func:`build_scene`) has four kinds of people:

* *stayers*, visible the whole time (crowd density, and the "different people" the wrapper
  sees side by side);
* *returners*, visible for 4-7 s, away for a gap drawn uniformly from ``gap_s`` (2-12 s),
  then visible again for 4-6 s, entering from another edge than they left by when
  ``other_edge`` (and with another box size: ``rescale``);
* *leavers*, visible for 4-7 s, then gone for good;
* *newcomers*, first seen while the returners come back; a fraction ``lookalike`` of them
  are near-duplicates of a departed person (leaver or returner): the hardest negatives.

Detections: each visible person is detected with probability ``1 - miss`` (plus per-person
drop-out bursts), with box jitter; a few false positives per frame carry random features.

None of this uses :mod:`deepsort_lib.testing.simulation` or
:mod:`deepsort_lib.testing.synthetic` (the generators the wrapper was developed on).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from benchmarks.accuracy.gaps import NEWCOMER_OFFSET, Segments
from deepsort_lib.boxes import Detections

Rows = NDArray[np.float64]
F32 = NDArray[np.float32]


def _unit(x: NDArray[np.float64]) -> NDArray[np.float64]:
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)


# --------------------------------------------------------------------------------------------
# Feature models: identities(rng, n, like) -> params; sample(rng, who, frame, camera) -> (m, D)


def _make_lookalikes(
    vectors: NDArray[np.float64], like: list[int], distance: float, rng: np.random.Generator
) -> None:
    """In place: row ``i`` becomes a unit vector ``distance`` (a random unit direction)
    away from row ``like[i]``, for every ``like[i] >= 0`` (the look-alike newcomers)."""
    for i, j in enumerate(like):
        if j >= 0:
            vectors[i] = _unit(vectors[j] + distance * _unit(rng.normal(size=vectors.shape[1])))


class FeatureModel:
    """Base: ``identities`` makes per-person parameters (``like[i]`` = index of the person
    person ``i`` is a near-duplicate of, or -1); ``sample`` draws features."""

    dim: int

    def identities(self, rng: np.random.Generator, like: list[int]) -> None:
        raise NotImplementedError

    def sample(
        self, rng: np.random.Generator, who: NDArray[np.int64], frame: int, camera: int
    ) -> F32:
        raise NotImplementedError


@dataclass
class PoseModes(FeatureModel):
    """Each person has three appearance modes (views: front, side, back) around a centre;
    each frame shows one mode (sticky: switches with ``switch`` per frame); noise is
    anisotropic with per-person, per-dimension scales (log-normal)."""

    dim: int = 128
    mode_spread: float = 0.45
    noise: float = 0.35
    anisotropy: float = 0.8
    lookalike_distance: float = 0.35
    switch: float = 0.04
    modes: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 3, 1)))
    scales: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 1)))
    current: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def identities(self, rng: np.random.Generator, like: list[int]) -> None:
        n, d = len(like), self.dim
        centres = _unit(rng.normal(size=(n, d)))
        _make_lookalikes(centres, like, self.lookalike_distance, rng)
        self.modes = _unit(
            centres[:, None, :] + self.mode_spread * _unit(rng.normal(size=(n, 3, d)))
        )
        self.scales = np.exp(self.anisotropy * rng.normal(size=(n, d)))
        self.scales /= np.sqrt((self.scales**2).mean(axis=1, keepdims=True))
        self.current = rng.integers(0, 3, size=n)

    def sample(
        self, rng: np.random.Generator, who: NDArray[np.int64], frame: int, camera: int
    ) -> F32:
        flip = rng.random(len(who)) < self.switch
        self.current[who[flip]] = rng.integers(0, 3, size=int(flip.sum()))
        base = self.modes[who, self.current[who]]
        g = rng.normal(size=base.shape) * self.scales[who] / np.sqrt(self.dim)
        return _unit(base + self.noise * g).astype(np.float32)


@dataclass
class DriftLight(FeatureModel):
    """Appearance drifts over time (an Ornstein-Uhlenbeck walk per person) and a global
    illumination vector, whose strength follows a slow cycle, is added to every feature;
    each camera has its own illumination direction."""

    dim: int = 256
    noise: float = 0.45
    drift: float = 0.25
    light: float = 0.6
    period_s: float = 30.0
    fps: float = 10.0
    lookalike_distance: float = 0.4
    base: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 1)))
    offset: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 1)))
    lights: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 1)))
    last: int = -1

    def identities(self, rng: np.random.Generator, like: list[int]) -> None:
        n, d = len(like), self.dim
        self.base = _unit(rng.normal(size=(n, d)))
        _make_lookalikes(self.base, like, self.lookalike_distance, rng)
        self.offset = np.zeros((n, d))
        self.lights = _unit(rng.normal(size=(4, d)))
        self.last = -1

    def sample(
        self, rng: np.random.Generator, who: NDArray[np.int64], frame: int, camera: int
    ) -> F32:
        while self.last < frame:  # advance every person's drift one frame
            self.last += 1
            rho = np.exp(-1.0 / (10.0 * self.fps))  # 10 s correlation time
            step = np.sqrt(1 - rho**2) * self.drift
            self.offset = rho * self.offset + step * _unit(rng.normal(size=self.offset.shape))
        phase = 0.5 * (1 + np.sin(2 * np.pi * frame / (self.period_s * self.fps)))
        light = self.light * phase * self.lights[camera % len(self.lights)]
        g = rng.normal(size=(len(who), self.dim)) / np.sqrt(self.dim)
        return _unit(self.base[who] + self.offset[who] + light + self.noise * g).astype(np.float32)


@dataclass
class HeavyTail(FeatureModel):
    """512-d features with Student-t noise (heavy tails) and outlier frames: with
    ``outliers`` a detection's feature is a blend with someone else's or pure clutter."""

    dim: int = 512
    noise: float = 0.4
    df: float = 2.5
    outliers: float = 0.08
    lookalike_distance: float = 0.3
    base: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 1)))

    def identities(self, rng: np.random.Generator, like: list[int]) -> None:
        n, d = len(like), self.dim
        self.base = _unit(rng.normal(size=(n, d)))
        _make_lookalikes(self.base, like, self.lookalike_distance, rng)

    def sample(
        self, rng: np.random.Generator, who: NDArray[np.int64], frame: int, camera: int
    ) -> F32:
        m = len(who)
        t = rng.standard_t(self.df, size=(m, self.dim)) / np.sqrt(self.df / (self.df - 2))
        out = self.base[who] + self.noise * t / np.sqrt(self.dim)
        bad = rng.random(m) < self.outliers
        other = self.base[rng.integers(0, len(self.base), size=m)]
        clutter = _unit(rng.normal(size=(m, self.dim)))
        mix = np.where(rng.random((m, 1)) < 0.5, other, clutter)
        out[bad] = _unit(out[bad]) + 0.9 * mix[bad]
        return _unit(out).astype(np.float32)


@dataclass
class UniformCrowd(FeatureModel):
    """Everyone wears one of a few outfits: identities are drawn around ``outfits``
    cluster centres (so many people look alike), with isotropic noise."""

    dim: int = 128
    outfits: int = 4
    spread: float = 0.75
    noise: float = 0.3
    lookalike_distance: float = 0.25
    base: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 1)))

    def identities(self, rng: np.random.Generator, like: list[int]) -> None:
        n, d = len(like), self.dim
        centres = _unit(rng.normal(size=(self.outfits, d)))
        pick = rng.integers(0, self.outfits, size=n)
        self.base = _unit(centres[pick] + self.spread * _unit(rng.normal(size=(n, d))))
        _make_lookalikes(self.base, like, self.lookalike_distance, rng)

    def sample(
        self, rng: np.random.Generator, who: NDArray[np.int64], frame: int, camera: int
    ) -> F32:
        g = rng.normal(size=(len(who), self.dim)) / np.sqrt(self.dim)
        return _unit(self.base[who] + self.noise * g).astype(np.float32)


@dataclass
class ReluLowRank(FeatureModel):
    """CNN-like features: a person is a point in a 16-d latent space, the feature is
    ``relu(W z + b + noise)`` with a positive bias (non-negative, high baseline similarity
    between everybody, as post-ReLU embeddings), with multiplicative per-dimension noise."""

    dim: int = 256
    rank: int = 16
    bias: float = 0.6
    noise: float = 0.5
    gain_noise: float = 0.25
    lookalike_distance: float = 0.45
    camera_shift: float = 0.5
    z: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 1)))
    w: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 1)))
    b: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    cams: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 1)))

    def identities(self, rng: np.random.Generator, like: list[int]) -> None:
        n = len(like)
        self.z = rng.normal(size=(n, self.rank))
        for i, j in enumerate(like):
            if j >= 0:
                self.z[i] = self.z[j] + self.lookalike_distance * np.sqrt(self.rank) * _unit(
                    rng.normal(size=self.rank)
                )
        self.w = rng.normal(size=(self.dim, self.rank)) / np.sqrt(self.rank)
        self.b = self.bias + 0.2 * rng.normal(size=self.dim)
        self.cams = self.camera_shift * rng.normal(size=(4, self.dim))

    def sample(
        self, rng: np.random.Generator, who: NDArray[np.int64], frame: int, camera: int
    ) -> F32:
        pre = self.z[who] @ self.w.T + self.b + self.cams[camera % len(self.cams)] * (camera > 0)
        pre = pre + self.noise * rng.normal(size=pre.shape)
        pre = pre * np.exp(self.gain_noise * rng.normal(size=pre.shape))
        return _unit(np.maximum(pre, 0.0) + 1e-6).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Families


@dataclass(frozen=True)
class Family:
    """One family of stress scenes (see the module docstring)."""

    name: str
    summary: str
    features: Callable[[], FeatureModel]
    fps: float = 25.0
    image: tuple[float, float] = (1280.0, 720.0)
    box_height: tuple[float, float] = (80.0, 200.0)
    stayers: int = 5
    returners: int = 6
    leavers: int = 3
    newcomers: int = 4
    lookalike: float = 0.5
    gap_s: tuple[float, float] = (2.0, 12.0)
    other_edge: bool = True
    rescale: tuple[float, float] = (0.7, 1.4)
    miss: float = 0.08
    false_positives: float = 0.3


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "pose-modes",
            "128-d, three view modes per person, anisotropic per-person noise; 25 fps, "
            "1280x720, boxes 80-200 px; half the newcomers near-duplicates",
            PoseModes,
        ),
        Family(
            "drift-light",
            "256-d, appearance drifting over time plus a cycling global illumination; "
            "10 fps, 1920x1080, small boxes 40-90 px, 8 stayers",
            lambda: DriftLight(fps=10.0),
            fps=10.0,
            image=(1920.0, 1080.0),
            box_height=(40.0, 90.0),
            stayers=8,
        ),
        Family(
            "heavy-tail-512",
            "512-d, Student-t noise (df 2.5) and 8 % outlier frames (blends, clutter); "
            "30 fps, 640x480, large boxes 120-260 px, 3 stayers, 12 % misses",
            HeavyTail,
            fps=30.0,
            image=(640.0, 480.0),
            box_height=(120.0, 260.0),
            stayers=3,
            miss=0.12,
        ),
        Family(
            "uniform-crowd",
            "128-d, four outfits shared by everybody (many look-alikes), every newcomer a "
            "near-duplicate; 25 fps, 1920x1080, boxes 60-140 px, 12 stayers",
            UniformCrowd,
            image=(1920.0, 1080.0),
            box_height=(60.0, 140.0),
            stayers=12,
            lookalike=1.0,
        ),
        Family(
            "relu-lowrank",
            "HELD OUT (never used while tuning): 256-d non-negative features relu(W z + b) "
            "from a 16-d latent, multiplicative noise; 15 fps, 1280x720, boxes 70-160 px, "
            "re-entry at any edge",
            ReluLowRank,
            fps=15.0,
            box_height=(70.0, 160.0),
            other_edge=False,
        ),
    )
}

#: The family kept out of the tuning loop (decided before any tuning; see the results file).
HELD_OUT = "relu-lowrank"


# --------------------------------------------------------------------------------------------
# Scenes


@dataclass
class Scene:
    """Frames (per camera), ground truth (per camera) and who is who."""

    fps: float
    frames: dict[int, list[tuple[int, Detections]]]
    gt: dict[int, Rows]
    segments: Segments
    dim: int
    #: Per camera, per frame: the ground-truth id of each detection (-1: false positive).
    owners: dict[int, list[NDArray[np.int64]]] = field(default_factory=dict)


@dataclass
class _Visit:
    person: int
    start: int
    end: int  # inclusive
    p0: NDArray[np.float64]  # centre at start
    p1: NDArray[np.float64]  # centre at end
    height: float
    camera: int = 0


def _edge_point(
    rng: np.random.Generator, edge: int, w: float, h: float, box: float
) -> NDArray[np.float64]:
    half_w, half_h = 0.2 * box + 1, 0.5 * box + 1
    if edge == 0:  # left
        return np.array([half_w, rng.uniform(half_h, h - half_h)])
    if edge == 1:  # right
        return np.array([w - half_w, rng.uniform(half_h, h - half_h)])
    if edge == 2:  # top
        return np.array([rng.uniform(half_w, w - half_w), half_h])
    return np.array([rng.uniform(half_w, w - half_w), h - half_h])


def _walk(
    rng: np.random.Generator,
    anchor: NDArray[np.float64],
    box: float,
    frames: int,
    fps: float,
    w: float,
    h: float,
    toward: NDArray[np.float64] | None = None,
) -> NDArray[np.float64]:
    """Where a walker starting (or ending) at ``anchor`` is after (before) ``frames``: 0.4-1.2
    box heights per second, heading roughly toward ``toward`` (default the image centre)."""
    target = np.array([w / 2, h / 2]) if toward is None else toward
    angle = np.arctan2(*(target - anchor)[::-1]) + rng.uniform(-0.8, 0.8)
    step = rng.uniform(0.4, 1.2) * box * frames / fps
    end = anchor + step * np.array([np.cos(angle), np.sin(angle)])
    half = np.array([0.2 * box + 1, 0.5 * box + 1])
    return np.clip(end, half, np.maximum(np.array([w, h]) - half, half + 1))


def _inside(rng: np.random.Generator, w: float, h: float, box: float) -> NDArray[np.float64]:
    return np.array(
        [
            rng.uniform(0.15 * w, 0.85 * w),
            rng.uniform(max(0.5 * box + 1, 0.2 * h), max(0.5 * box + 2, 0.8 * h)),
        ]
    )


def long_version(family: Family) -> Family:
    """``family`` over a longer stretch: 20 returners away 2-40 s, 6 leavers, 14 newcomers
    (the look-alike fraction unchanged). The cross-camera memory learns the cameras' cast from
    the people it links; the 6 returners of a short scene are mostly decided before it has
    (see ``docs/identity.md``)."""
    return replace(family, returners=20, leavers=6, newcomers=14, gap_s=(2.0, 40.0))


def build_scene(
    family: Family,
    seed: int,
    *,
    cameras: int = 1,
    camera_shift: float = 0.3,
    camera_gain: float = 0.0,
    camera_mix: float = 0.0,
) -> Scene:
    """One scene of ``family``. With ``cameras=2``, every returner's second visit and every
    newcomer are in camera 1 (another image, its own illumination where the feature model
    has one, plus a fixed shift ``camera_shift`` of every feature), stayers and leavers in
    camera 0: cross-camera identity. With ``camera_gain`` > 0, camera 1's cast is instead a
    fixed per-dimension gain ``exp(camera_gain * N(0, 1))`` (a white balance: it scales
    features rather than shifting them), and ``camera_shift`` is not used; with
    ``camera_mix`` > 0, camera 1 mixes the dimensions, ``f + camera_mix * M f`` with ``M`` a
    fixed Gaussian matrix scaled by ``1 / sqrt(dim)`` (a colour transform, no shift)."""
    rng = np.random.default_rng(seed)
    fps = family.fps
    w, h = family.image
    n_r, n_l, n_n, n_s = family.returners, family.leavers, family.newcomers, family.stayers
    # Person indices: stayers, returners, leavers, newcomers.
    returners = list(range(n_s, n_s + n_r))
    leavers = list(range(n_s + n_r, n_s + n_r + n_l))
    newcomers = list(range(n_s + n_r + n_l, n_s + n_r + n_l + n_n))
    departed = returners + leavers
    like = [-1] * (n_s + n_r + n_l + n_n)
    for i in newcomers:
        if rng.random() < family.lookalike:
            like[i] = int(rng.choice(departed))
    model = family.features()
    model.identities(rng, like)
    heights = rng.uniform(*family.box_height, size=len(like))
    visits: list[_Visit] = []
    seg = Segments()
    second_starts = []
    for p in returners + leavers:
        start = int(rng.uniform(0, 1.5) * fps)
        end = start + int(rng.uniform(4, 7) * fps)
        exit_edge = int(rng.integers(0, 4))
        out_at = _edge_point(rng, exit_edge, w, h, heights[p])
        from_ = _walk(rng, out_at, heights[p], end - start, fps, w, h)
        visits.append(_Visit(p, start, end, from_, out_at, heights[p]))
        if p in returners:
            gap = round(rng.uniform(*family.gap_s) * fps)
            s2 = end + gap + 1
            e2 = s2 + int(rng.uniform(4, 6) * fps)
            edges = [e for e in range(4) if e != exit_edge] if family.other_edge else list(range(4))
            entry = int(rng.choice(edges))
            h2 = heights[p] * rng.uniform(*family.rescale)
            h2 = float(np.clip(h2, 0.8 * family.box_height[0], 1.2 * family.box_height[1]))
            in_at = _edge_point(rng, entry, w, h, h2)
            to = _walk(rng, in_at, h2, e2 - s2, fps, w, h)
            visits.append(_Visit(p, s2, e2, in_at, to, h2, cameras - 1))
            seg.returners[p + 1] = (end, s2)
            second_starts.append(s2)
    lo = min(second_starts) if second_starts else int(3 * fps)
    hi = max(second_starts) if second_starts else int(10 * fps)
    for p in newcomers:
        s2 = int(rng.uniform(lo, hi + 1))
        e2 = s2 + int(rng.uniform(4, 6) * fps)
        hp = heights[p]
        in_at = _edge_point(rng, int(rng.integers(0, 4)), w, h, hp)
        to = _walk(rng, in_at, hp, e2 - s2, fps, w, h)
        visits.append(_Visit(p, s2, e2, in_at, to, hp, cameras - 1))
        seg.newcomers[p + 1 + NEWCOMER_OFFSET] = (like[p] + 1 if like[p] >= 0 else -1, s2)
    total = max(v.end for v in visits) + 1
    for p in range(n_s):
        at = _inside(rng, w, h, heights[p])
        toward = _inside(rng, w, h, heights[p])
        visits.append(
            _Visit(
                p,
                0,
                total - 1,
                at,
                _walk(rng, at, heights[p], total, fps, w, h, toward),
                heights[p],
            )
        )
    gt_id = {p: p + 1 for p in range(len(like))}
    for p in newcomers:
        gt_id[p] = p + 1 + NEWCOMER_OFFSET
    # Per-person detector drop-out bursts.
    burst = {p: np.zeros(total, bool) for p in range(len(like))}
    for p in burst:
        for _ in range(rng.poisson(total / (8 * fps))):
            b0 = int(rng.integers(0, total))
            burst[p][b0 : b0 + int(rng.integers(2, max(3, int(0.4 * fps))))] = True
    shifts = _unit(rng.normal(size=(cameras, model.dim)))
    # Other camera models draw from their own generators: the scene's stream stays the same.
    if camera_gain > 0:
        draws = np.random.default_rng(seed + 1).normal(size=(cameras, model.dim))
        gains = np.exp(camera_gain * draws)
    if camera_mix > 0:
        dim = model.dim
        mixing = np.random.default_rng(seed + 2).normal(size=(dim, dim)) / np.sqrt(dim)
    frames: dict[int, list[tuple[int, Detections]]] = {c: [] for c in range(cameras)}
    gt_rows: dict[int, list[list[float]]] = {c: [] for c in range(cameras)}
    owners: dict[int, list[NDArray[np.int64]]] = {c: [] for c in range(cameras)}
    for f in range(total):
        for cam in range(cameras):
            boxes, who = [], []
            for v in visits:
                if v.camera != cam or not v.start <= f <= v.end:
                    continue
                a = (f - v.start) / max(v.end - v.start, 1)
                c = (1 - a) * v.p0 + a * v.p1
                bh = v.height
                bw = 0.4 * bh
                true = [c[0] - bw / 2, c[1] - bh / 2, bw, bh]
                gt_rows[cam].append([f + 1, gt_id[v.person], *true, 1.0])
                if rng.random() < family.miss or burst[v.person][f]:
                    continue
                jit = rng.normal(size=4) * [0.03 * bw, 0.03 * bh, 0.04, 0.04]
                boxes.append(
                    [true[0] + jit[0], true[1] + jit[1], bw * np.exp(jit[2]), bh * np.exp(jit[3])]
                )
                who.append(v.person)
            feats = (
                model.sample(rng, np.asarray(who, np.int64), f, cam)
                if who
                else np.zeros((0, model.dim), np.float32)
            )
            if cam > 0 and len(feats) and camera_mix > 0:  # another camera: its own mixing
                feats = _unit(feats + camera_mix * feats @ mixing.T).astype(np.float32)
            elif cam > 0 and len(feats) and camera_gain > 0:  # another camera: its own gains
                feats = _unit(feats * gains[cam]).astype(np.float32)
            elif cam > 0 and len(feats):  # another camera: its own colour cast
                feats = _unit(feats + camera_shift * shifts[cam]).astype(np.float32)
            scores = np.clip(rng.normal(0.85, 0.08, size=len(who)), 0.3, 1.0)
            n_fp = rng.poisson(family.false_positives)
            owners[cam].append(np.array([gt_id[p] for p in who] + [-1] * n_fp, np.int64))
            if n_fp:
                fh = rng.uniform(*family.box_height, size=n_fp)
                fb = np.column_stack(
                    [rng.uniform(0, w - 0.4 * fh), rng.uniform(0, h - fh), 0.4 * fh, fh]
                )
                boxes.extend(fb.tolist())
                feats = np.vstack(
                    [feats, _unit(rng.normal(size=(n_fp, model.dim))).astype(np.float32)]
                )
                scores = np.concatenate(
                    [scores, np.clip(rng.normal(0.4, 0.15, size=n_fp), 0.05, 1.0)]
                )
            frames[cam].append(
                (
                    f + 1,
                    Detections.from_tlwh(
                        np.asarray(boxes, np.float64).reshape(-1, 4),
                        scores,
                        None,
                        feats.astype(np.float32),
                    ),
                )
            )
    gt = {}
    for cam, rows in gt_rows.items():
        arr = np.asarray(rows, np.float64).reshape(-1, 7)
        gt[cam] = arr[np.lexsort((arr[:, 1], arr[:, 0]))]
    return Scene(fps, frames, gt, seg, model.dim, owners)


__all__ = [
    "FAMILIES",
    "HELD_OUT",
    "Family",
    "FeatureModel",
    "Scene",
    "build_scene",
    "long_version",
]
