"""Offline refinement of a finished run: split impure tracklets, link fragments, then GSI.

For recorded video every track is known from start to end, so mistakes an online tracker
cannot undo can be repaired afterwards:

1. **Split** (:func:`split_tracklets`): an id that jumped from one person to another shows
   an abrupt change of appearance. For every frame ``t`` of a tracklet with at least
   ``2 * window`` featured boxes, the cosine distance between the mean feature of the
   ``window`` boxes before ``t`` and of the ``window`` boxes from ``t`` on is computed (a
   two-window change-point statistic); if its maximum exceeds ``split_distance``, the
   tracklet is cut there and both parts are examined again.
2. **Link** (:func:`link_tracklets`): tracklets that belong together (a person lost and
   found again under a new id) are joined by one global assignment
   (``scipy.optimize.linear_sum_assignment``) of tracklet ends to tracklet starts. A pair
   ``(a, b)`` is feasible when ``b`` starts after ``a`` ends, within ``max_gap`` frames,
   both have the same class, and ``b``'s first box centre is within
   ``position_slack + max_speed * gap`` box heights of ``a``'s last one. Its cost is the
   cosine distance between the tracklets' mean features; pairs above
   ``max_cosine_distance`` are not linked. Linked tracklets take the id of the first.
3. **Interpolate and smooth**:
   :func:`~deepsort_lib.tracking.postprocess.gaussian_smoothed_interpolation`.

Arrays in, arrays out: ``frames (N,)``, ``ids (N,)``, ``tlwh (N, 4)``, ``features (N, D)``
(a zero row: no appearance for that box). Files (a MOTChallenge results file and its features
file) are read and written by :mod:`deepsort_lib.io.features` (``refine_file``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment

from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.tracking.postprocess import gaussian_smoothed_interpolation

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_INFEASIBLE = 1e5


@dataclass(frozen=True)
class RefineConfig:
    """Parameters of :func:`refine` (see the module docstring).

    Attributes
    ----------
    split
        Run the split step.
    window
        Boxes per side of the change-point statistic.
    split_distance
        Cosine distance between the two windows' means above which a tracklet is cut.
    link
        Run the link step.
    max_gap
        Longest gap (frames) between two tracklets that may be linked.
    max_cosine_distance
        Largest cosine distance between linked tracklets' mean features.
    max_speed
        Fastest plausible motion across a gap, in box heights per frame.
    position_slack
        Distance in box heights allowed whatever the gap.
    gsi
        Run gap interpolation and smoothing afterwards.
    gsi_max_gap, gsi_sigma
        Parameters of the interpolation (frames) and smoothing (frames).
    """

    split: bool = True
    window: int = 10
    split_distance: float = 0.4
    link: bool = True
    max_gap: int = 1000
    max_cosine_distance: float = 0.2
    max_speed: float = 0.1
    position_slack: float = 1.0
    gsi: bool = True
    gsi_max_gap: int = 20
    gsi_sigma: float = 2.0

    def __post_init__(self) -> None:
        if self.window < 1 or self.max_gap < 1 or self.gsi_max_gap < 1:
            raise ConfigurationError("window, max_gap and gsi_max_gap must be >= 1")
        for name in ("split_distance", "max_cosine_distance"):
            if not 0.0 <= getattr(self, name) <= 2.0:
                raise ConfigurationError(f"{name} must be in [0, 2]")
        for name in ("max_speed", "position_slack", "gsi_sigma"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ConfigurationError(f"{name} must be a finite number >= 0")
        if self.gsi_sigma <= 0:
            raise ConfigurationError("gsi_sigma must be positive")


def check_rows(
    frames: ArrayLike, ids: ArrayLike, tlwh: ArrayLike | None, features: ArrayLike | None
) -> tuple[IntArray, IntArray, FloatArray | None, NDArray[np.float32] | None]:
    """Validate row arrays; returns them as int64 frames and ids, float boxes and features."""
    f = np.asarray(frames)
    i = np.asarray(ids)
    if f.ndim != 1 or i.shape != f.shape:
        raise InvalidInputError(f"frames and ids must be (N,) arrays, got {f.shape}, {i.shape}")
    n = len(f)
    if n and (not np.all(np.isfinite(f)) or np.any(f != np.round(f))):
        raise InvalidInputError("frames must be integers")
    if n and (not np.all(np.isfinite(i)) or np.any(i != np.round(i))):
        raise InvalidInputError("ids must be integers")
    boxes = None
    if tlwh is not None:
        boxes = np.asarray(tlwh, dtype=np.float64)
        if boxes.shape != (n, 4) or not np.all(np.isfinite(boxes)):
            raise InvalidInputError(f"tlwh must be a finite ({n}, 4) array, got {boxes.shape}")
    feats = None
    if features is not None:
        feats = np.asarray(features, dtype=np.float32)
        if feats.ndim != 2 or len(feats) != n or not np.all(np.isfinite(feats)):
            raise InvalidInputError(f"features must be a finite ({n}, D) array")
    frame_i = f.astype(np.int64)
    id_i = i.astype(np.int64)
    key = np.unique(np.column_stack([frame_i, id_i]), axis=0) if n else np.zeros((0, 2))
    if len(key) != n:
        raise InvalidInputError("an id appears twice in one frame")
    return frame_i, id_i, boxes, feats


def _unit_rows(features: NDArray[np.float32]) -> tuple[FloatArray, NDArray[np.bool_]]:
    feats = features.astype(np.float64)
    norms = np.linalg.norm(feats, axis=1)
    seen = norms > 0
    feats[seen] /= norms[seen, None]
    return feats, seen


def _change_point(unit: FloatArray, window: int) -> tuple[int, float]:
    """Position (index of the first row after the cut) and distance of the largest change
    between the means of ``window`` rows before and after; ``(-1, 0)`` if too short."""
    n = len(unit)
    if n < 2 * window:
        return -1, 0.0
    csum = np.vstack([np.zeros((1, unit.shape[1])), np.cumsum(unit, axis=0)])
    cuts = np.arange(window, n - window + 1)
    before = csum[cuts] - csum[cuts - window]
    after = csum[cuts + window] - csum[cuts]
    nb = np.linalg.norm(before, axis=1)
    na = np.linalg.norm(after, axis=1)
    cos = (before * after).sum(axis=1) / np.maximum(nb * na, 1e-12)
    dist = 1.0 - cos
    k = int(np.argmax(dist))
    return int(cuts[k]), float(dist[k])


def split_tracklets(
    frames: ArrayLike,
    ids: ArrayLike,
    features: ArrayLike,
    *,
    window: int = 10,
    split_distance: float = 0.4,
) -> IntArray:
    """Cut tracklets at abrupt appearance changes.

    Returns
    -------
    ndarray
        ``(N,)`` new ids: the first part of a cut tracklet keeps its id, later parts get
        ids above every existing one.
    """
    frame_i, id_i, _, feats = check_rows(frames, ids, None, features)
    out = id_i.copy()
    if len(id_i) == 0 or feats is None:
        return out
    unit, seen = _unit_rows(feats)
    next_id = int(id_i.max()) + 1
    for tid in np.unique(id_i):
        rows = np.flatnonzero((id_i == tid) & seen)
        rows = rows[np.argsort(frame_i[rows], kind="stable")]
        pending = [rows]
        pieces: list[NDArray[np.intp]] = []
        while pending:
            part = pending.pop()
            cut, dist = _change_point(unit[part], window)
            if cut < 0 or dist <= split_distance:
                pieces.append(part)
                continue
            pending.extend([part[:cut], part[cut:]])
        if len(pieces) <= 1:
            continue
        pieces.sort(key=lambda p: int(frame_i[p[0]]))
        all_rows = np.flatnonzero(id_i == tid)
        # Featureless rows follow the piece in effect at their frame.
        starts = np.array([frame_i[p[0]] for p in pieces])
        which = np.searchsorted(starts, frame_i[all_rows], side="right") - 1
        which = np.maximum(which, 0)
        new = np.array([tid, *range(next_id, next_id + len(pieces) - 1)], dtype=np.int64)
        next_id += len(pieces) - 1
        out[all_rows] = new[which]
    return out


@dataclass(frozen=True)
class _Tracklets:
    ids: IntArray
    start: IntArray
    end: IntArray
    first_tlwh: FloatArray
    last_tlwh: FloatArray
    classes: IntArray
    mean: FloatArray  # (T, D) unit mean features; zero rows: no appearance


def _tracklets(
    frame_i: IntArray,
    id_i: IntArray,
    boxes: FloatArray,
    unit: FloatArray,
    seen: NDArray[np.bool_],
    class_ids: IntArray,
) -> _Tracklets:
    order = np.lexsort((frame_i, id_i))
    sid = id_i[order]
    bounds = np.flatnonzero(np.r_[True, sid[1:] != sid[:-1], True])
    first = order[bounds[:-1]]
    last = order[bounds[1:] - 1]
    sums = np.add.reduceat(np.where(seen[order, None], unit[order], 0.0), bounds[:-1], axis=0)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    mean = np.where(norms > 0, sums / np.maximum(norms, 1e-12), 0.0)
    return _Tracklets(
        ids=id_i[first],
        start=frame_i[first],
        end=frame_i[last],
        first_tlwh=boxes[first],
        last_tlwh=boxes[last],
        classes=class_ids[first],
        mean=mean,
    )


def assign_with_rejection(cost: FloatArray, threshold: float) -> list[tuple[int, int]]:
    """Pairs ``(row, col)`` of one global assignment maximising ``sum(threshold - cost)``.

    Each row may also stay unpaired at no cost (dummy columns), so an assignment never
    trades one good pair for two mediocre ones just to pair more rows; pairs costing
    ``>= 1e5`` are infeasible.
    """
    n_rows = cost.shape[0]
    if cost.size == 0:
        return []
    gain = np.where(cost < _INFEASIBLE, cost - threshold, _INFEASIBLE)
    padded = np.hstack([gain, np.zeros((n_rows, n_rows))])
    rows, cols = linear_sum_assignment(padded)
    n_cols = cost.shape[1]
    return [
        (int(r), int(c))
        for r, c in zip(rows, cols, strict=True)
        if c < n_cols and cost[r, c] < _INFEASIBLE
    ]


def link_tracklets(
    frames: ArrayLike,
    ids: ArrayLike,
    tlwh: ArrayLike,
    features: ArrayLike,
    *,
    class_ids: ArrayLike | None = None,
    max_gap: int = 1000,
    max_cosine_distance: float = 0.2,
    max_speed: float = 0.1,
    position_slack: float = 1.0,
) -> IntArray:
    """Join tracklets that belong together (one global assignment of ends to starts).

    Returns
    -------
    ndarray
        ``(N,)`` new ids: every tracklet of a linked chain takes the id of its first one.
    """
    frame_i, id_i, boxes, feats = check_rows(frames, ids, tlwh, features)
    assert boxes is not None and feats is not None
    n = len(id_i)
    classes = np.zeros(n, np.int64) if class_ids is None else np.asarray(class_ids, np.int64)
    if classes.shape != (n,):
        raise InvalidInputError(f"class_ids must be ({n},), got {classes.shape}")
    if n == 0:
        return id_i.copy()
    unit, seen = _unit_rows(feats)
    tr = _tracklets(frame_i, id_i, boxes, unit, seen, classes)
    gap = tr.start[None, :] - tr.end[:, None]  # [a, b]: frames from a's end to b's start
    feasible = (gap >= 1) & (gap <= max_gap) & (tr.classes[:, None] == tr.classes[None, :])
    a_c = tr.last_tlwh[:, :2] + tr.last_tlwh[:, 2:] / 2
    b_c = tr.first_tlwh[:, :2] + tr.first_tlwh[:, 2:] / 2
    dist = np.sqrt(((a_c[:, None, :] - b_c[None, :, :]) ** 2).sum(axis=2))
    heights = np.maximum((tr.last_tlwh[:, None, 3] + tr.first_tlwh[None, :, 3]) / 2, 1e-6)
    feasible &= dist / heights <= position_slack + max_speed * np.maximum(gap, 0)
    has = np.any(tr.mean != 0, axis=1)
    feasible &= has[:, None] & has[None, :]
    cosine = 1.0 - np.einsum("ad,bd->ab", tr.mean, tr.mean)
    cost = np.where(feasible & (cosine <= max_cosine_distance), cosine, _INFEASIBLE)
    pairs = assign_with_rejection(cost, max_cosine_distance)
    successor = dict(pairs)
    has_pred = set(successor.values())
    mapping: dict[int, int] = {}
    for head in range(len(tr.ids)):
        if head in has_pred:
            continue
        node: int | None = head
        while node is not None:
            mapping[int(tr.ids[node])] = int(tr.ids[head])
            node = successor.get(node)
    out = np.array([mapping[int(t)] for t in id_i.tolist()], dtype=np.int64)
    return out


def refine(
    results: ArrayLike,
    features: ArrayLike | None = None,
    config: RefineConfig | None = None,
    *,
    class_ids: ArrayLike | None = None,
) -> FloatArray:
    """Split, link, then interpolate and smooth a finished run.

    Parameters
    ----------
    results
        ``(N, >=6)`` MOTChallenge result rows ``frame, id, x, y, w, h, ...``.
    features
        ``(N, D)`` the appearance feature of each row (zero row: none). Without features
        only the GSI step runs.
    config
        :class:`RefineConfig`.
    class_ids
        Optional ``(N,)`` class of each row (links never join two classes).

    Returns
    -------
    ndarray
        ``(M, >=6)`` refined rows sorted by (id, frame); further columns are kept (see
        :mod:`deepsort_lib.tracking.postprocess` for interpolated rows).
    """
    cfg = config or RefineConfig()
    rows = np.array(results, dtype=np.float64)
    if rows.ndim != 2 or (rows.size and rows.shape[1] < 6):
        raise InvalidInputError("results must be an (N, >=6) array: frame, id, x, y, w, h, ...")
    rows = rows.reshape(-1, max(rows.shape[1], 6))
    frame_i, id_i, _, feats = check_rows(rows[:, 0], rows[:, 1], rows[:, 2:6], features)
    ids = id_i
    if feats is not None and len(rows):
        if cfg.split:
            ids = split_tracklets(
                frame_i, ids, feats, window=cfg.window, split_distance=cfg.split_distance
            )
        if cfg.link:
            ids = link_tracklets(
                frame_i,
                ids,
                rows[:, 2:6],
                feats,
                class_ids=class_ids,
                max_gap=cfg.max_gap,
                max_cosine_distance=cfg.max_cosine_distance,
                max_speed=cfg.max_speed,
                position_slack=cfg.position_slack,
            )
    out = rows.copy()
    out[:, 1] = ids
    out = out[np.lexsort((out[:, 0], out[:, 1]))]
    if cfg.gsi and len(out):
        out = gaussian_smoothed_interpolation(out, cfg.gsi_max_gap, cfg.gsi_sigma)
    return out


__all__ = [
    "RefineConfig",
    "assign_with_rejection",
    "link_tracklets",
    "refine",
    "split_tracklets",
]
