"""One frame's association for many streams at once, equal to each stream's own matching.

The streams' predicted tracks and their detections arrive concatenated (row ``i`` belongs to
stream ``row_stream[i]``, detection ``j`` to ``col_stream[j]``). The candidate (track,
detection) pairs of each stream are listed (in the first round only detections within the
gate's reach on x, found by sorting), their gate, appearance and IoU costs computed in one
vectorised pass over all streams, and each matching round
(:class:`~deepsort_lib.tracking.matching.FrameMatcher`'s cascade or global matching, the IoU
round, the low-score round) is resolved for all streams together.

Why the result is each stream's own
-----------------------------------
A round hands the Hungarian solver a cost matrix clamped at ``max_distance + 1e-5`` and keeps
the pairs costing at most ``max_distance`` (the *feasible* ones). When no two feasible pairs of
a sub-problem share a track or a detection, every optimal assignment contains all of them
(swapping any of them out raises the total by at least 1e-5) and nothing else survives the
threshold: the answer is the feasible set itself, whatever the solver's tie-breaking. That is
the common case (tracks far apart, or clear appearance), resolved here without the solver.

Where a stream has a real choice (two feasible pairs sharing a track or a detection), its
sub-problem goes to the lone matcher's own functions on the lone matcher's own matrix: IoU
costs here equal the lone ones bit for bit, so an IoU round is solved in place (rows in the
lone order); the first round is recomputed for that stream exactly as its matcher computes it
(its appearance store's ``distance``, ``matching_cascade`` or ``min_cost_matching``). A stream
with a detection without appearance (an all-zero feature row, which its matcher handles in a
separate pass) is *handed back*: the caller runs that stream's own
:class:`~deepsort_lib.tracking.matching.FrameMatcher` on the same predicted state.

Costs computed here equal the lone tracker's bit for bit except the cosine distances: a float32
dot product summed in another order differs by at most about ``D * 2**-24``; a stream with a
pair within three times that of a threshold has its first round recomputed exactly
(``appearance_margin``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import iou_pairs
from deepsort_lib.tracking.appearance import NO_APPEARANCE
from deepsort_lib.tracking.association import (
    INFEASIBLE_COST,
    Assignment,
    gate,
    matching_cascade,
    min_cost_matching,
)
from deepsort_lib.tracking.config import TrackerConfig
from deepsort_lib.tracking.kalman import BoxKalmanModel, measurement_to_tlwh
from deepsort_lib.tracking.track import TrackState

FloatArray = NDArray[np.float64]
FeatureArray = NDArray[np.float32]
IndexArray = NDArray[np.intp]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_CONFIRMED = int(TrackState.CONFIRMED)


class StoredFeatures(Protocol):
    """An appearance store that lists its kept features (the built-in ones do)."""

    def distance(
        self, rows: IndexArray, features: FeatureArray, pairs: BoolArray | None = None
    ) -> FloatArray:
        """``(len(rows), N)`` cosine distances (see ``AppearanceModel.distance``)."""
        ...

    def best_similarity(self, rows: IndexArray, features: FeatureArray) -> FeatureArray:
        """Per pair, the largest dot product with a kept feature of the track (or -inf)."""
        ...


@dataclass
class FrameBatch:
    """Predicted tracks and detections of many streams, concatenated (what matching reads).

    Rows of one stream are contiguous and in the stream's own order; so are detections.
    """

    n_streams: int
    row_offsets: IntArray  # (S + 1,)
    col_offsets: IntArray  # (S + 1,)
    row_stream: IndexArray  # (R,)
    col_stream: IndexArray  # (C,)
    means: FloatArray
    covariances: FloatArray
    states: IntArray
    time_since_update: IntArray
    class_ids: IntArray
    det_tlwh: FloatArray
    det_scores: FloatArray
    det_class_ids: IntArray
    measurements: FloatArray
    features: FeatureArray | None  # L2-normalised, or None: the group has no features


@dataclass
class BatchMatches:
    """The frame's assignment of every stream, in global rows and columns.

    Each array is grouped by stream (ascending) and, within a stream, in the order the
    stream's own matcher reports it (that order decides the order appearance is learnt in).
    """

    rows: IndexArray
    cols: IndexArray
    low_rows: IndexArray  # rows matched in the low-score round (they do not learn appearance)
    new_cols: IndexArray  # unmatched high-score detections, ascending: they start tracks
    handed_back: int  # streams resolved by their own matcher


#: Runs one stream's own matcher; returns its local assignment and low-score matched rows.
StreamMatcher = Callable[[int], tuple[Assignment, IndexArray]]


def appearance_margin(dim: int) -> float:
    """How far two float32 cosine distances of ``dim``-long unit vectors, summed in different
    orders, can be apart (each is within ``dim * 2**-24`` of the exact value; the rest covers
    the final ``1 - dot`` rounding)."""
    return (3 * dim + 4) * 2.0**-24


def match_streams(
    batch: FrameBatch,
    config: TrackerConfig,
    kalman: BoxKalmanModel,
    stores: Sequence[StoredFeatures],
    own_matcher: StreamMatcher,
) -> BatchMatches:
    """Every matching round of one frame for every stream (see the module docstring)."""
    cfg = config
    n_rows, n_cols = len(batch.row_stream), len(batch.col_stream)
    handed = np.zeros(batch.n_streams, dtype=bool)
    scores = batch.det_scores
    if cfg.high_score_threshold is None:
        high = np.arange(n_cols)
        low = np.zeros(0, dtype=np.intp)
    else:
        high = np.flatnonzero(scores >= cfg.high_score_threshold)
        low = np.flatnonzero(
            (scores < cfg.high_score_threshold) & (scores >= cfg.low_score_threshold)
        )
    if batch.features is not None and len(high):
        # A detection without appearance is matched in a pass of its own: hand back.
        blind = high[~np.any(batch.features[high] != 0, axis=1)]
        handed[batch.col_stream[blind]] = True

    row_done = np.zeros(n_rows, dtype=bool)
    col_free = np.ones(n_cols, dtype=bool)
    found: list[tuple[IndexArray, IndexArray, IntArray, IntArray, IntArray]] = []

    # Round 1: confirmed tracks on gated appearance (or IoU without features).
    confirmed = np.flatnonzero(batch.states == _CONFIRMED)
    pr, pc = _gate_candidates(batch, cfg, kalman, confirmed, high)
    if len(pr):
        cost, max_distance, margin, cascade = _first_round_cost(batch, cfg, kalman, stores, pr, pc)
        levels = batch.time_since_update[pr]
        if cascade:
            possible = cost <= max_distance + margin
            visit = np.unique(levels[possible])
            visit = visit[visit <= cfg.max_age]
        else:
            visit = np.zeros(1, dtype=np.int64)
            levels = np.zeros(len(pr), dtype=np.int64)
        redo = np.zeros(batch.n_streams, dtype=bool)
        first: list[IndexArray] = []
        for level in visit:
            sel = np.flatnonzero((levels == level) & col_free[pc])
            at, busy = _resolve(pr[sel], pc[sel], cost[sel], max_distance, margin, batch)
            take = sel[at]
            redo |= busy
            row_done[pr[take]] = True
            col_free[pc[take]] = False
            first.append(take)
        kept = np.concatenate(first) if first else np.zeros(0, dtype=np.intp)
        # Streams with a real choice (or a cost within rounding of the threshold): their
        # first round again, exactly as their own matcher computes it.
        redo &= ~handed
        kept = kept[~redo[batch.row_stream[pr[kept]]]]
        rows, cols = pr[kept], pc[kept]
        parts_r, parts_c = [rows], [cols]
        for s in np.flatnonzero(redo).tolist():
            mine_r = confirmed[batch.row_stream[confirmed] == s]
            mine_c = high[batch.col_stream[high] == s]
            row_done[mine_r] = False
            col_free[mine_c] = True
            exact = _exact_first_round(batch, cfg, kalman, stores[s], s, mine_r, mine_c)
            row_done[exact.track_rows] = True
            col_free[exact.detection_cols] = False
            parts_r.append(exact.track_rows)
            parts_c.append(exact.detection_cols)
        rows, cols = np.concatenate(parts_r), np.concatenate(parts_c)
        level_key = batch.time_since_update[rows] if cascade else np.zeros(len(rows), np.int64)
        found.append((rows, cols, np.zeros(len(rows), dtype=np.int64), level_key, rows))

    # Round 2: IoU for tentative tracks and confirmed ones seen in the last frame.
    unconfirmed = np.flatnonzero(batch.states != _CONFIRMED)
    left = confirmed[~row_done[confirmed]]
    recent = left[batch.time_since_update[left] == 1]
    candidates = np.sort(np.concatenate([unconfirmed, recent]))
    taken = _iou_round(batch, cfg, candidates, high[col_free[high]], cfg.max_iou_distance, True)
    if len(taken[0]):
        rows, cols = taken
        row_done[rows] = True
        col_free[cols] = False
        # The lone matcher lists tentative tracks first, then the recent confirmed ones.
        is_conf = (batch.states[rows] == _CONFIRMED).astype(np.int64)
        found.append((rows, cols, np.ones(len(rows), dtype=np.int64), is_conf, rows))

    # Round 3 (ByteTrack): low-score detections for the recent confirmed tracks left.
    low_rows = np.zeros(0, dtype=np.intp)
    if len(low):
        still = recent[~row_done[recent]]
        rows, cols = _iou_round(batch, cfg, still, low, cfg.low_score_max_iou_distance, False)
        if len(rows):
            low_rows = rows
            zeros = np.zeros(len(rows), dtype=np.int64)
            found.append((rows, cols, np.full(len(rows), 2), zeros, rows))

    return _assemble(batch, found, high[col_free[high]], low_rows, handed, own_matcher)


def _first_round_cost(
    batch: FrameBatch,
    cfg: TrackerConfig,
    kalman: BoxKalmanModel,
    stores: Sequence[StoredFeatures],
    pr: IndexArray,
    pc: IndexArray,
) -> tuple[FloatArray, float, float, bool]:
    """Gated first-round cost of every listed pair, its threshold, rounding margin, and
    whether the round is a cascade."""
    rows, local = np.unique(pr, return_inverse=True)
    threshold = cfg.effective_gating_threshold
    mahalanobis = kalman.pair_gating_distance(
        batch.means[rows],
        batch.covariances[rows],
        batch.measurements,
        local.astype(np.intp),
        pc,
        cfg.gating_only_position,
        threshold,
    )
    if batch.features is None:
        cost = 1.0 - iou_pairs(_state_tlwh(batch, pr, cfg), batch.det_tlwh[pc])
        max_distance, margin, cascade = cfg.max_iou_distance, 0.0, True
    else:
        inside = np.flatnonzero(mahalanobis <= threshold)
        cost = np.full(len(pr), NO_APPEARANCE)
        cost[inside] = _pair_cosine_distance(batch, stores, pr[inside], pc[inside])
        if cfg.matching == "global":
            motion = np.minimum(mahalanobis / threshold, 1.0)
            w = cfg.appearance_weight
            cost = np.where(cost < INFEASIBLE_COST, w * cost + (1 - w) * motion, cost)
        max_distance = cfg.max_cosine_distance
        margin = appearance_margin(batch.features.shape[1])
        cascade = cfg.matching != "global"
    cost[mahalanobis > threshold] = INFEASIBLE_COST
    if cfg.match_classes:
        cost[batch.class_ids[pr] != batch.det_class_ids[pc]] = INFEASIBLE_COST
    return cost, max_distance, margin, cascade


def _iou_round(
    batch: FrameBatch,
    cfg: TrackerConfig,
    rows: IndexArray,
    cols: IndexArray,
    max_distance: float,
    tentative_first: bool,
) -> tuple[IndexArray, IndexArray]:
    """One IoU matching round over same-stream pairs of ``rows`` x ``cols``.

    IoU costs here are the lone matcher's bit for bit, so a stream with a real choice is
    solved right here on the matrix its own matcher would build (rows in its order:
    tentative tracks first in the second round)."""
    pr, pc = _same_stream_pairs(rows, cols, batch.row_stream, batch.col_stream, batch.n_streams)
    if len(pr) == 0:
        return pr, pc
    cost = 1.0 - iou_pairs(_state_tlwh(batch, pr, cfg), batch.det_tlwh[pc])
    cost[batch.time_since_update[pr] > 1] = INFEASIBLE_COST
    if cfg.match_classes:
        cost[batch.class_ids[pr] != batch.det_class_ids[pc]] = INFEASIBLE_COST
    at, busy = _resolve(pr, pc, cost, max_distance, 0.0, batch)
    if not busy.any():
        return pr[at], pc[at]
    pair_stream = batch.row_stream[pr]
    at = at[~busy[pair_stream[at]]]
    parts = [at]
    for s in np.flatnonzero(busy).tolist():
        block = np.flatnonzero(pair_stream == s)  # a full row-major product
        own_rows = np.unique(pr[block])
        n_cols = len(block) // len(own_rows)
        matrix = cost[block].reshape(len(own_rows), n_cols)
        order = np.arange(len(own_rows))
        if tentative_first:
            confirmed = batch.states[own_rows] == _CONFIRMED
            order = np.argsort(confirmed, kind="stable")
        solved = min_cost_matching(matrix[order], max_distance, order, np.arange(n_cols))
        parts.append(block[solved.track_rows * n_cols + solved.detection_cols])
    at = np.concatenate(parts)
    return pr[at], pc[at]


def _resolve(
    pr: IndexArray,
    pc: IndexArray,
    cost: FloatArray,
    max_distance: float,
    margin: float,
    batch: FrameBatch,
) -> tuple[IndexArray, BoolArray]:
    """Positions of the feasible pairs of one sub-problem per stream, and the streams where
    the answer is not the feasible set itself (a shared track or detection, or a cost within
    ``margin`` of the threshold)."""
    busy = np.zeros(batch.n_streams, dtype=bool)
    possible = cost <= max_distance + margin
    if margin > 0:
        unsure = possible & (cost > max_distance - margin)
        busy[batch.row_stream[pr[unsure]]] = True
    at = np.flatnonzero(possible)
    rows, cols = pr[at], pc[at]
    shared_row = np.bincount(rows, minlength=len(batch.row_stream))[rows] > 1
    shared_col = np.bincount(cols, minlength=len(batch.col_stream))[cols] > 1
    busy[batch.row_stream[rows[shared_row | shared_col]]] = True
    return at, busy


def _exact_first_round(
    batch: FrameBatch,
    cfg: TrackerConfig,
    kalman: BoxKalmanModel,
    store: StoredFeatures,
    stream: int,
    rows: IndexArray,
    cols: IndexArray,
) -> Assignment:
    """One stream's first round as its own matcher computes it (same calls, same matrix)."""
    if len(rows) == 0 or len(cols) == 0:
        return Assignment(unmatched_rows=rows, unmatched_cols=cols)
    threshold = cfg.effective_gating_threshold
    mahalanobis = kalman.gating_distance(
        batch.means[rows],
        batch.covariances[rows],
        batch.measurements[cols],
        cfg.gating_only_position,
        threshold,
    )
    if batch.features is None:
        pr = np.repeat(rows, len(cols))
        pc = np.tile(cols, len(rows))
        iou = iou_pairs(_state_tlwh(batch, pr, cfg), batch.det_tlwh[pc])
        cost = (1.0 - iou).reshape(len(rows), len(cols))
        max_distance = cfg.max_iou_distance
    else:
        inside = mahalanobis <= threshold
        local = rows - batch.row_offsets[stream]
        cost = store.distance(local, batch.features[cols], inside)
        if cfg.matching == "global":
            motion = np.minimum(mahalanobis / threshold, 1.0)
            w = cfg.appearance_weight
            cost = np.where(cost < INFEASIBLE_COST, w * cost + (1 - w) * motion, cost)
        max_distance = cfg.max_cosine_distance
    cost = gate(cost, mahalanobis, threshold)
    if cfg.match_classes:
        cost[batch.class_ids[rows][:, None] != batch.det_class_ids[cols][None, :]] = INFEASIBLE_COST
    if cfg.matching == "global" and batch.features is not None:
        return min_cost_matching(cost, max_distance, rows, cols)
    levels = batch.time_since_update[rows]
    return matching_cascade(cost, max_distance, levels, rows, cols, cfg.max_age)


def _assemble(
    batch: FrameBatch,
    found: list[tuple[IndexArray, IndexArray, IntArray, IntArray, IntArray]],
    new_cols: IndexArray,
    low_rows: IndexArray,
    handed: BoolArray,
    own_matcher: StreamMatcher,
) -> BatchMatches:
    """Matches of the streams resolved here, in each lone matcher's order, plus those of the
    streams handed back to their own matcher."""
    if found:
        rows, cols, stage, sub, tie = (np.concatenate(part) for part in zip(*found, strict=True))
    else:
        rows = cols = np.zeros(0, dtype=np.intp)
        stage = sub = tie = np.zeros(0, dtype=np.int64)
    keep = ~handed[batch.row_stream[rows]]
    rows, cols, stage, sub, tie = rows[keep], cols[keep], stage[keep], sub[keep], tie[keep]
    order = np.lexsort((tie, sub, stage, batch.row_stream[rows]))
    rows, cols = rows[order], cols[order]
    new_cols = new_cols[~handed[batch.col_stream[new_cols]]]
    low_rows = low_rows[~handed[batch.row_stream[low_rows]]]
    back = np.flatnonzero(handed)
    if len(back):
        parts_r, parts_c, parts_low, parts_new = [rows], [cols], [low_rows], [new_cols]
        for s in back.tolist():
            assignment, low_local = own_matcher(s)
            r0, c0 = int(batch.row_offsets[s]), int(batch.col_offsets[s])
            parts_r.append(assignment.track_rows + r0)
            parts_c.append(assignment.detection_cols + c0)
            parts_low.append(low_local + r0)
            parts_new.append(assignment.unmatched_cols + c0)
        rows, cols = np.concatenate(parts_r), np.concatenate(parts_c)
        by_stream = np.argsort(batch.row_stream[rows], kind="stable")
        rows, cols = rows[by_stream], cols[by_stream]
        low_rows = np.sort(np.concatenate(parts_low))
        new_cols = np.sort(np.concatenate(parts_new))
    return BatchMatches(
        rows.astype(np.intp),
        cols.astype(np.intp),
        low_rows.astype(np.intp),
        new_cols.astype(np.intp),
        len(back),
    )


def _state_tlwh(batch: FrameBatch, rows: IndexArray, cfg: TrackerConfig) -> FloatArray:
    return measurement_to_tlwh(batch.means[rows, :4], cfg.measurement)


def _gate_candidates(
    batch: FrameBatch,
    cfg: TrackerConfig,
    kalman: BoxKalmanModel,
    rows: IndexArray,
    cols: IndexArray,
) -> tuple[IndexArray, IndexArray]:
    """The same-stream (row, col) pairs that may pass the Mahalanobis gate, grouped by row
    (ascending): a detection farther from a track's predicted centre on x than the gate
    reaches (with a margin for rounding) fails the gate (see ``BoxKalmanModel
    .gating_distance``), so only detections within reach on x are listed, found by sorting
    instead of building every pair. Rows whose reach is not finite meet every detection."""
    if len(rows) == 0 or len(cols) == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    projected, s = kalman.project(batch.means[rows], batch.covariances[rows])
    with np.errstate(invalid="ignore", over="ignore"):
        reach = np.sqrt(cfg.effective_gating_threshold * s[:, 0, 0]) * (1 + 1e-5) + 1e-6
    x = batch.measurements[cols, 0]
    finite_x = np.isfinite(x)
    bad = ~np.isfinite(reach) | ~(s[:, 0, 0] > 0) | ~np.isfinite(projected[:, 0])
    if not finite_x.all() or bad.all():
        return _same_stream_pairs(rows, cols, batch.row_stream, batch.col_stream, batch.n_streams)
    low, high = float(x.min()), float(x.max())
    span = (high - low) + 2 * float(reach[~bad].max()) + 2.0
    stream_of_col = batch.col_stream[cols]
    keys = stream_of_col * span + (x - low)
    order = np.lexsort((x, stream_of_col))
    keys = keys[order]
    row_stream = batch.row_stream[rows]
    count = np.bincount(stream_of_col, minlength=batch.n_streams)
    seg_end = np.cumsum(count)
    seg_start = seg_end - count
    centre = row_stream * span + (projected[:, 0] - low)
    lo = np.searchsorted(keys, np.where(bad, -np.inf, centre - reach), side="left")
    hi = np.searchsorted(keys, np.where(bad, np.inf, centre + reach), side="right")
    lo = np.clip(lo, seg_start[row_stream], seg_end[row_stream])
    hi = np.clip(hi, seg_start[row_stream], seg_end[row_stream])
    per_row = np.maximum(hi - lo, 0)
    pair_row = np.repeat(np.arange(len(rows)), per_row)
    offset = np.arange(int(per_row.sum())) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    pair_col = order[np.repeat(lo, per_row) + offset]
    # Within a row, detections in ascending order (as in the full product).
    by_row = np.lexsort((pair_col, pair_row))
    return rows[pair_row[by_row]], cols[pair_col[by_row]]


def _same_stream_pairs(
    rows: IndexArray,
    cols: IndexArray,
    row_stream: IndexArray,
    col_stream: IndexArray,
    n_streams: int,
) -> tuple[IndexArray, IndexArray]:
    """Every (row, col) pair of the same stream, row-major; ``rows`` and ``cols`` ascending
    (so grouped by stream)."""
    if len(rows) == 0 or len(cols) == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    rs = row_stream[rows]
    col_count = np.bincount(col_stream[cols], minlength=n_streams)
    col_start = np.cumsum(col_count) - col_count
    per_row = col_count[rs]
    total = int(per_row.sum())
    pair_row = np.repeat(np.arange(len(rows)), per_row)
    offset = np.arange(total) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    pair_col = col_start[rs][pair_row] + offset
    return rows[pair_row], cols[pair_col]


def _pair_cosine_distance(
    batch: FrameBatch, stores: Sequence[StoredFeatures], pr: IndexArray, pc: IndexArray
) -> FloatArray:
    """Smallest cosine distance from each pair's detection to its track's kept features
    (``NO_APPEARANCE`` for a track without any), as the appearance stores define it."""
    out = np.full(len(pr), NO_APPEARANCE)
    features = batch.features
    if features is None or len(pr) == 0:
        return out
    bounds = np.searchsorted(batch.row_stream[pr], np.arange(batch.n_streams + 1))
    best = np.full(len(pr), -np.inf, dtype=np.float32)
    for s in np.flatnonzero(np.diff(bounds)).tolist():
        part = slice(int(bounds[s]), int(bounds[s + 1]))
        local = pr[part] - batch.row_offsets[s]
        best[part] = stores[s].best_similarity(local, features[pc[part]])
    seen = np.isfinite(best)
    out[seen] = 1.0 - best[seen]
    return out


__all__ = [
    "BatchMatches",
    "FrameBatch",
    "StoredFeatures",
    "StreamMatcher",
    "appearance_margin",
    "match_streams",
]
