"""Assignment of detections to tracks: gated cost matrices, Hungarian matching, the cascade.

Everything works on index arrays into the tracker's track arrays (rows) and the frame's
detections (columns), and on cost matrices computed once per frame for all candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

#: Cost of a forbidden pair (outside the gate, or never allowed). Any value above a matching
#: threshold behaves the same; this one is finite so the Hungarian solver always has a solution.
INFEASIBLE_COST = 1e5


def _empty() -> IndexArray:
    return np.zeros(0, dtype=np.intp)


@dataclass
class Assignment:
    """Matched (track row, detection column) pairs plus what stayed unmatched."""

    track_rows: IndexArray = field(default_factory=_empty)
    detection_cols: IndexArray = field(default_factory=_empty)
    unmatched_rows: IndexArray = field(default_factory=_empty)
    unmatched_cols: IndexArray = field(default_factory=_empty)

    def extend(self, other: Assignment) -> None:
        """Append another assignment's matches (its unmatched sets are not merged)."""
        self.track_rows = np.concatenate([self.track_rows, other.track_rows])
        self.detection_cols = np.concatenate([self.detection_cols, other.detection_cols])


def min_cost_matching(
    cost: FloatArray, max_distance: float, rows: IndexArray, cols: IndexArray
) -> Assignment:
    """Optimal assignment on ``cost`` (``len(rows) x len(cols)``) with a rejection threshold.

    Entries above ``max_distance`` are clamped just above it before solving, so that
    infeasible pairs cannot distort the optimum among feasible ones; pairs still above the
    threshold after solving are reported unmatched.
    """
    if len(rows) == 0 or len(cols) == 0:
        return Assignment(unmatched_rows=rows, unmatched_cols=cols)
    clamped = np.minimum(cost, max_distance + 1e-5)
    if not np.any(clamped <= max_distance):
        return Assignment(unmatched_rows=rows, unmatched_cols=cols)
    # Imported on first use: scipy.optimize takes about a second to import.
    from scipy.optimize import linear_sum_assignment

    r, c = linear_sum_assignment(clamped)
    ok = clamped[r, c] <= max_distance
    r, c = r[ok], c[ok]
    row_matched = np.zeros(len(rows), dtype=bool)
    col_matched = np.zeros(len(cols), dtype=bool)
    row_matched[r] = True
    col_matched[c] = True
    return Assignment(rows[r], cols[c], rows[~row_matched], cols[~col_matched])


def matching_cascade(
    cost: FloatArray,
    max_distance: float,
    levels: NDArray[np.int64],
    rows: IndexArray,
    cols: IndexArray,
    max_level: int | None = None,
) -> Assignment:
    """Deep SORT's matching cascade.

    Tracks are matched in rounds by ``levels`` (their frames since the last match): the most
    recently seen tracks first, each round taking only the detections left over, so a track
    that has been invisible for long cannot steal a detection from one seen a frame ago.

    Parameters
    ----------
    cost
        ``(len(rows), len(cols))`` gated cost of every candidate pair.
    max_distance
        Pairs costing more are never matched.
    levels
        ``(len(rows),)`` time since update of each candidate track.
    rows, cols
        Track rows and detection columns that ``cost`` covers.
    max_level
        The cascade depth: levels above it are not visited (their tracks stay unmatched).
        Deep SORT's depth is ``max_age``, so a track missed for ``max_age`` frames in a row
        (level ``max_age + 1`` at association) is never matched again and gets deleted.
    """
    result = Assignment(unmatched_cols=cols)
    remaining = np.ones(len(cols), dtype=bool)
    matched_rows = np.zeros(len(rows), dtype=bool)
    # Levels without tracks are skipped, so iterating the distinct levels is the same cascade.
    visit = np.unique(levels)
    if max_level is not None:
        visit = visit[visit <= max_level]
    for level in visit:
        if not remaining.any():
            break
        level_rows = np.flatnonzero(levels == level)
        level_cols = np.flatnonzero(remaining)
        sub = cost[np.ix_(level_rows, level_cols)]
        step = min_cost_matching(sub, max_distance, level_rows, level_cols)
        if len(step.track_rows) == 0:
            continue
        remaining[step.detection_cols] = False
        matched_rows[step.track_rows] = True
        result.extend(Assignment(rows[step.track_rows], cols[step.detection_cols]))
    result.unmatched_rows = rows[~matched_rows]
    result.unmatched_cols = cols[remaining]
    return result


def gate(cost: FloatArray, gating_distance: FloatArray, threshold: float) -> FloatArray:
    """``cost`` with pairs whose squared Mahalanobis distance exceeds ``threshold`` forbidden."""
    out = cost.copy()
    out[gating_distance > threshold] = INFEASIBLE_COST
    return out


__all__ = ["INFEASIBLE_COST", "Assignment", "gate", "matching_cascade", "min_cost_matching"]
