"""One frame's association of detections to tracks: every matching round of Deep SORT.

:class:`FrameMatcher` reads the tracker's track table and appearance store and returns the
frame's :class:`~deepsort_lib.tracking.association.Assignment`; it changes no state (the
tracker applies the result). The rounds, in order:

1. Matching cascade over confirmed tracks (or one global matching): cosine appearance
   distance, or a user-supplied :class:`~deepsort_lib.tracking.cost.AssociationCost`, gated by
   the squared Mahalanobis distance. Detections without appearance (all-zero feature rows)
   are matched on motion after the others.
2. IoU matching of the tentative tracks and of confirmed tracks missed for one frame.
3. Optionally (ByteTrack), a second IoU round with the low-score detections.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import (
    Detections,
    iou_matrix,
    iou_pairs,
    overlapping_pairs,
)
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.tracking.appearance import AppearanceModel
from deepsort_lib.tracking.association import (
    INFEASIBLE_COST,
    Assignment,
    gate,
    matching_cascade,
    min_cost_matching,
)
from deepsort_lib.tracking.config import TrackerConfig
from deepsort_lib.tracking.cost import AssociationCost, CostContext
from deepsort_lib.tracking.kalman import BoxKalmanModel, measurement_to_tlwh
from deepsort_lib.tracking.table import TrackTable
from deepsort_lib.tracking.track import TrackState

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

_CONFIRMED = int(TrackState.CONFIRMED)


class FrameMatcher:
    """The association step of :class:`~deepsort_lib.tracking.tracker.Tracker` (private).

    Parameters
    ----------
    config, kalman, appearance, cost
        The tracker's settings, motion model, appearance store and optional custom cost.
    """

    def __init__(
        self,
        config: TrackerConfig,
        kalman: BoxKalmanModel,
        appearance: AppearanceModel,
        cost: AssociationCost | None,
    ) -> None:
        self.config = config
        self.kalman = kalman
        self.appearance = appearance
        self.cost = cost
        self.table = TrackTable()

    def match(
        self,
        table: TrackTable,
        dets: Detections,
        measurements: FloatArray,
        normalized: NDArray[np.float32] | None,
    ) -> tuple[Assignment, IndexArray]:
        """Every matching round of one frame, on ``table``'s predicted tracks.

        Returns the assignment and the track rows matched in the low-score round.
        """
        self.table = table
        return self._associate_all(dets, measurements, normalized)

    def state_tlwh(self, rows: IndexArray) -> FloatArray:
        """The Kalman boxes of ``rows`` as tlwh."""
        return measurement_to_tlwh(self.table.means[rows, :4], self.config.measurement)

    def _associate_all(
        self,
        dets: Detections,
        measurements: FloatArray,
        normalized: NDArray[np.float32] | None,
    ) -> tuple[Assignment, IndexArray]:
        """Every matching round of one frame; changes no state."""
        cfg = self.config
        table = self.table
        scores = dets.scores
        if cfg.high_score_threshold is None:
            high = np.arange(len(dets))
            low = np.zeros(0, dtype=np.intp)
        else:
            high = np.flatnonzero(scores >= cfg.high_score_threshold)
            low = np.flatnonzero(
                (scores < cfg.high_score_threshold) & (scores >= cfg.low_score_threshold)
            )
        assignment = self._associate(dets, measurements, normalized, high)
        if not len(low):
            return assignment, np.zeros(0, dtype=np.intp)
        leftovers = assignment.unmatched_rows
        second_rows = leftovers[
            (table.states[leftovers] == _CONFIRMED) & (table.time_since_update[leftovers] == 1)
        ]
        second = min_cost_matching(
            self._iou_cost(second_rows, dets, low),
            cfg.low_score_max_iou_distance,
            second_rows,
            low,
        )
        assignment.extend(second)
        return assignment, second.track_rows

    def _iou_cost(self, rows: IndexArray, dets: Detections, cols: IndexArray) -> FloatArray:
        cost = _iou_distance(self.state_tlwh(rows), dets.tlwh[cols])
        cost[self.table.time_since_update[rows] > 1, :] = INFEASIBLE_COST
        return self._forbid_other_classes(cost, rows, dets, cols)

    def _forbid_other_classes(
        self, cost: FloatArray, rows: IndexArray, dets: Detections, cols: IndexArray
    ) -> FloatArray:
        if self.config.match_classes and cost.size:
            own = self.table.class_ids[rows]
            cost[own[:, None] != dets.class_ids[cols][None, :]] = INFEASIBLE_COST
        return cost

    def _associate(
        self,
        dets: Detections,
        measurements: FloatArray,
        features: NDArray[np.float32] | None,
        cols: IndexArray,
    ) -> Assignment:
        cfg = self.config
        table = self.table
        confirmed = np.flatnonzero(table.states == _CONFIRMED)
        unconfirmed = np.flatnonzero(table.states != _CONFIRMED)

        first = self._first_stage(dets, measurements, features, confirmed, cols)

        # IoU stage: tentative tracks, and confirmed ones that were seen in the last frame.
        left = first.unmatched_rows
        recent = left[table.time_since_update[left] == 1]
        candidates = np.concatenate([unconfirmed, recent])
        second = min_cost_matching(
            self._iou_cost(candidates, dets, first.unmatched_cols),
            cfg.max_iou_distance,
            candidates,
            first.unmatched_cols,
        )
        result = Assignment(first.track_rows, first.detection_cols)
        result.extend(second)
        stale = left[table.time_since_update[left] != 1]
        result.unmatched_rows = np.concatenate([stale, second.unmatched_rows])
        result.unmatched_cols = second.unmatched_cols
        return result

    def _first_stage(
        self,
        dets: Detections,
        measurements: FloatArray,
        features: NDArray[np.float32] | None,
        rows: IndexArray,
        cols: IndexArray,
    ) -> Assignment:
        """Cascade (or global) matching of confirmed tracks on gated appearance.

        A detection whose feature row is all zeros has no appearance: it is matched as on a
        frame without features (motion only), after the detections that have one.
        """
        if features is None or self.cost is not None or len(cols) == 0:
            return self._first_stage_on(dets, measurements, features, rows, cols)
        seen = np.any(features[cols] != 0, axis=1)
        if seen.all():
            return self._first_stage_on(dets, measurements, features, rows, cols)
        looks = self._first_stage_on(dets, measurements, features, rows, cols[seen])
        blind = self._first_stage_on(dets, measurements, None, looks.unmatched_rows, cols[~seen])
        result = Assignment(looks.track_rows, looks.detection_cols)
        result.extend(blind)
        result.unmatched_rows = np.sort(blind.unmatched_rows)
        result.unmatched_cols = np.sort(
            np.concatenate([looks.unmatched_cols, blind.unmatched_cols])
        )
        return result

    def _first_stage_on(
        self,
        dets: Detections,
        measurements: FloatArray,
        features: NDArray[np.float32] | None,
        rows: IndexArray,
        cols: IndexArray,
    ) -> Assignment:
        cfg = self.config
        table = self.table
        if len(rows) == 0 or len(cols) == 0:
            return Assignment(unmatched_rows=rows, unmatched_cols=cols)
        threshold = cfg.effective_gating_threshold
        mahalanobis = self.kalman.gating_distance(
            table.means[rows],
            table.covariances[rows],
            measurements[cols],
            cfg.gating_only_position,
            threshold,
        )
        inside = mahalanobis <= threshold
        if self.cost is not None:
            cost, max_distance = self._custom_cost(dets, features, rows, cols, mahalanobis, inside)
        elif features is None:
            # Motion only: IoU in place of appearance, still gated and cascaded.
            cost = _iou_distance(self.state_tlwh(rows), dets.tlwh[cols])
            max_distance = cfg.max_iou_distance
        else:
            # Appearance only where the gate lets a pair through; the rest is gated below.
            cost = self.appearance.distance(rows, features[cols], inside)
            if cfg.matching == "global":
                motion = np.minimum(mahalanobis / threshold, 1.0)
                w = cfg.appearance_weight
                cost = np.where(cost < INFEASIBLE_COST, w * cost + (1 - w) * motion, cost)
            max_distance = cfg.max_cosine_distance
        cost = gate(cost, mahalanobis, threshold)
        cost = self._forbid_other_classes(cost, rows, dets, cols)
        if cfg.matching == "global" and (features is not None or self.cost is not None):
            return min_cost_matching(cost, max_distance, rows, cols)
        levels = table.time_since_update[rows]
        return matching_cascade(cost, max_distance, levels, rows, cols, cfg.max_age)

    def _custom_cost(
        self,
        dets: Detections,
        features: NDArray[np.float32] | None,
        rows: IndexArray,
        cols: IndexArray,
        mahalanobis: FloatArray,
        inside: NDArray[np.bool_],
    ) -> tuple[FloatArray, float]:
        table = self.table
        query = None if features is None else features[cols]

        in_call = [True]

        def appearance() -> FloatArray | None:
            # The appearance model moves on after this frame: compute now or never.
            if not in_call[0]:
                raise RuntimeError("CostContext.appearance is only available during the call")
            return None if query is None else self.appearance.distance(rows, query, inside)

        context = CostContext(
            track_ids=_frozen(table.track_ids[rows]),
            track_class_ids=_frozen(table.class_ids[rows]),
            time_since_update=_frozen(table.time_since_update[rows]),
            track_tlwh=_frozen(self.state_tlwh(rows)),
            detection_tlwh=_frozen(dets.tlwh[cols]),
            detection_scores=_frozen(dets.scores[cols]),
            detection_class_ids=_frozen(dets.class_ids[cols]),
            detection_features=None if query is None else _frozen(query),
            mahalanobis=_frozen(mahalanobis),
            gating_threshold=self.config.effective_gating_threshold,
            _appearance=appearance,
        )
        assert self.cost is not None
        try:
            raw = np.asarray(self.cost(context), dtype=np.float64)
        finally:
            in_call[0] = False
        if raw.shape != (len(rows), len(cols)):
            raise ConfigurationError(
                f"association_cost returned shape {raw.shape}, expected {(len(rows), len(cols))}"
            )
        # NaN would make the Hungarian solver fail: treat it as "never match".
        cost = np.where(np.isnan(raw), INFEASIBLE_COST, raw)
        return cost, float(self.cost.max_distance)


#: Above this many pairs, IoU is computed only for overlapping boxes (found by sorting).
_SPARSE_IOU_MIN_PAIRS = 65536


def _iou_distance(tlwh_a: FloatArray, tlwh_b: FloatArray) -> FloatArray:
    """``1 - IoU`` of every pair; for many pairs without building ``M x N x 2`` temporaries."""
    m, n = len(tlwh_a), len(tlwh_b)
    if m * n > _SPARSE_IOU_MIN_PAIRS:
        pairs = overlapping_pairs(tlwh_a, tlwh_b, m * n // 4)
        if pairs is not None:
            i, j = pairs
            out = np.ones((m, n))
            out[i, j] = 1.0 - iou_pairs(tlwh_a[i], tlwh_b[j])
            return out
    return 1.0 - iou_matrix(tlwh_a, tlwh_b)


def _frozen(array: NDArray[Any]) -> NDArray[Any]:
    array.flags.writeable = False
    return array


__all__ = ["FrameMatcher"]
