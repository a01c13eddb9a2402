"""The Deep SORT tracker: predict, associate, update, manage track lifecycles.

All per-track state lives in arrays (struct of arrays, row ``i`` is track ``i``, rows kept in
creation order), so one frame costs a handful of vectorised operations plus one Hungarian
solve per cascade level, whatever the number of tracks.

One ``update`` does, in order (Wojke, Bewley & Paulus 2017, "Simple Online and Realtime
Tracking with a Deep Association Metric"):

1. Kalman prediction of every track (and, optionally, camera-motion compensation).
2. Matching cascade over confirmed tracks, by frames since their last match: cosine
   appearance distance, gated by the squared Mahalanobis distance (chi-square 95%).
3. IoU matching of the tentative tracks and of the confirmed tracks missed for one frame
   against the detections left over.
4. Optionally (ByteTrack), a second IoU round with the low-score detections.
5. Kalman update of matched tracks, miss bookkeeping, deletion, and new tentative tracks
   for the unmatched (high-score) detections.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.boxes import (
    Detections,
    as_detections,
    iou_matrix,
    tlwh_to_xyah,
    tlwh_to_xywh,
    xyah_to_tlwh,
    xywh_to_tlwh,
)
from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.tracking.appearance import (
    AppearanceModel,
    EmaAppearance,
    FeatureGallery,
    normalize_features,
)
from deepsort_lib.tracking.association import (
    INFEASIBLE_COST,
    Assignment,
    gate,
    matching_cascade,
    min_cost_matching,
)
from deepsort_lib.tracking.camera import warp_states
from deepsort_lib.tracking.coasting import GapStatistics
from deepsort_lib.tracking.kalman import CHI2INV95, BoxKalmanModel, FilterpyKalmanModel
from deepsort_lib.tracking.track import Track, TrackState

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

_TENTATIVE = int(TrackState.TENTATIVE)
_CONFIRMED = int(TrackState.CONFIRMED)


@dataclass(frozen=True)
class TrackerConfig:
    """Every tracker setting. The defaults are the original Deep SORT's.

    Parameters
    ----------
    max_cosine_distance
        Largest cosine distance at which a detection may match a track on appearance.
    nn_budget
        Appearance features kept per track for the nearest-neighbour metric (``None``: all).
    max_iou_distance
        Largest ``1 - IoU`` accepted in the IoU matching stage.
    max_age
        Missed detector frames after which a confirmed track is deleted.
    n_init
        Consecutive matched frames before a track is confirmed.
    gating_only_position
        Gate on the box centre only (2 dof) instead of the whole box (4 dof).
    gating_threshold
        Squared Mahalanobis gate; ``None`` uses the chi-square 95% quantile (9.4877 for 4 dof,
        5.9915 for 2).
    std_weight_position, std_weight_velocity
        Kalman noise per unit box size (1/20 and 1/160).
    return_tentative
        Also return tentative tracks matched this frame (so the first frames are not empty).
    output_max_misses
        Also return confirmed tracks missed for up to this many frames, at their predicted
        box (``detection_index`` is ``None`` for them). 0 returns only tracks matched this
        frame; the original ``deep_sort_app`` used 1.
    match_classes
        Never match a detection to a track of another class.
    kalman_backend
        ``"numpy"`` (batched, fast) or ``"filterpy"`` (the reference, one filter per track).
    appearance
        ``"gallery"`` (Deep SORT nearest neighbour) or ``"ema"`` (StrongSORT moving average).
    ema_alpha
        Memory of the EMA appearance (StrongSORT: 0.9).
    nsa_kalman
        Scale the measurement noise by ``1 - confidence`` (NSA Kalman, StrongSORT).
    matching
        ``"cascade"`` (Deep SORT) or ``"global"`` (one Hungarian solve over all confirmed
        tracks with a combined cost, StrongSORT's vanilla matching).
    appearance_weight
        For ``matching="global"``: cost = w * appearance + (1 - w) * motion, where motion is
        the squared Mahalanobis distance divided by the gate (StrongSORT: w = 0.98).
    measurement
        Kalman measurement: ``"xyah"`` (Deep SORT) or ``"xywh"`` (BoT-SORT).
    high_score_threshold
        ``None``: every detection is used alike. Otherwise detections scoring below it only
        take part in a second IoU round with the tracks left over (ByteTrack) and never start
        tracks.
    low_score_threshold
        With ``high_score_threshold``: detections below this are dropped.
    low_score_max_iou_distance
        ``1 - IoU`` threshold of the low-score round (ByteTrack: 0.5).
    freeze_lost_size
        Zero the box-size velocity of a track missed in the last frame before predicting it
        (ByteTrack): a lost track keeps its size instead of extrapolating one noisy size
        change, which matters when coasting tracks are reported or re-matched late.
    adaptive_coasting
        Report a missed confirmed track while it is probably still there, as estimated from
        how this tracker's earlier gaps ended (:mod:`deepsort_lib.tracking.coasting`);
        ``output_max_misses`` is then the least number of misses reported.
    coasting_min_presence
        With ``adaptive_coasting``: the probability of presence down to which a missed track
        is reported.
    """

    max_cosine_distance: float = 0.2
    nn_budget: int | None = 100
    max_iou_distance: float = 0.7
    max_age: int = 30
    n_init: int = 3
    gating_only_position: bool = False
    gating_threshold: float | None = None
    std_weight_position: float = 1.0 / 20
    std_weight_velocity: float = 1.0 / 160
    return_tentative: bool = False
    output_max_misses: int = 0
    match_classes: bool = False
    kalman_backend: Literal["numpy", "filterpy"] = "numpy"
    appearance: Literal["gallery", "ema"] = "gallery"
    ema_alpha: float = 0.9
    nsa_kalman: bool = False
    matching: Literal["cascade", "global"] = "cascade"
    appearance_weight: float = 0.98
    measurement: Literal["xyah", "xywh"] = "xyah"
    high_score_threshold: float | None = None
    low_score_threshold: float = 0.1
    low_score_max_iou_distance: float = 0.5
    # -- issue 13 hooks (recommended preset) --
    freeze_lost_size: bool = False
    adaptive_coasting: bool = False
    coasting_min_presence: float = 0.5

    def __post_init__(self) -> None:
        def check(ok: bool, message: str) -> None:
            if not ok:
                raise ConfigurationError(message)

        check(0.0 <= self.max_cosine_distance <= 2.0, "max_cosine_distance must be in [0, 2]")
        check(self.nn_budget is None or self.nn_budget >= 1, "nn_budget must be >= 1 or None")
        check(0.0 <= self.max_iou_distance <= 1.0, "max_iou_distance must be in [0, 1]")
        check(self.max_age >= 1, "max_age must be >= 1")
        check(self.n_init >= 1, "n_init must be >= 1")
        check(
            self.gating_threshold is None or self.gating_threshold > 0,
            "gating_threshold must be positive",
        )
        check(self.output_max_misses >= 0, "output_max_misses must be >= 0")
        check(0.0 < self.coasting_min_presence <= 1.0, "coasting_min_presence must be in (0, 1]")
        check(self.kalman_backend in ("numpy", "filterpy"), "kalman_backend: 'numpy' or 'filterpy'")
        check(self.appearance in ("gallery", "ema"), "appearance must be 'gallery' or 'ema'")
        check(0.0 <= self.ema_alpha < 1.0, "ema_alpha must be in [0, 1)")
        check(self.matching in ("cascade", "global"), "matching must be 'cascade' or 'global'")
        check(0.0 <= self.appearance_weight <= 1.0, "appearance_weight must be in [0, 1]")
        check(self.measurement in ("xyah", "xywh"), "measurement must be 'xyah' or 'xywh'")
        if self.high_score_threshold is not None:
            check(
                self.low_score_threshold <= self.high_score_threshold,
                "low_score_threshold must not exceed high_score_threshold",
            )
        check(
            0.0 <= self.low_score_max_iou_distance <= 1.0,
            "low_score_max_iou_distance must be in [0, 1]",
        )
        check(
            self.std_weight_position > 0 and self.std_weight_velocity > 0,
            "Kalman noise weights must be positive",
        )

    @property
    def effective_gating_threshold(self) -> float:
        """The Mahalanobis gate in use."""
        if self.gating_threshold is not None:
            return self.gating_threshold
        return CHI2INV95[2 if self.gating_only_position else 4]


#: Named settings. ``original`` is the paper; the others switch on later published fixes.
#: Their measured effect, option by option, is in ``benchmarks/results/ablation.md``.
PRESETS: dict[str, dict[str, Any]] = {
    "original": {},
    # StrongSORT (Du et al. 2023) without its re-ID model: EMA appearance with its wider
    # cosine threshold, NSA Kalman, one global matching on 0.98 appearance + 0.02 motion,
    # and deep_sort_app's output rule (tracks missed for one frame are still reported).
    "strongsort": {
        "appearance": "ema",
        "nsa_kalman": True,
        "matching": "global",
        "max_cosine_distance": 0.45,
        "appearance_weight": 0.98,
        "output_max_misses": 1,
    },
    # BoT-SORT (Aharon et al. 2022) as far as it maps onto Deep SORT: (x, y, w, h) state,
    # ByteTrack's low-score round, EMA appearance. Add camera-motion compensation by passing
    # ``camera_motion=`` to ``update`` (the pipeline's ``--camera-motion``).
    # The high-score threshold is BoxMOT's 0.5 (the paper's 0.6 left a fifth of true boxes,
    # scored 0.5-0.6 when partly occluded, unable to start or confirm a track).
    "botsort": {
        "measurement": "xywh",
        "high_score_threshold": 0.5,
        "low_score_threshold": 0.1,
        "appearance": "ema",
        "max_cosine_distance": 0.25,
    },
    # What a user who does not choose gets (issue 13): StrongSORT's association (EMA
    # appearance, one global matching on 0.98 appearance + 0.02 motion, cosine gate 0.45)
    # without NSA Kalman, with lost tracks keeping their size, and coasting output whose
    # length follows the detector's own miss pattern. Every choice against the alternatives,
    # over the whole sweep of detection x feature noise: benchmarks/results/ablation.md.
    "recommended": {
        "appearance": "ema",
        "matching": "global",
        "max_cosine_distance": 0.45,
        "appearance_weight": 0.98,
        "freeze_lost_size": True,
        "adaptive_coasting": True,
        "output_max_misses": 1,
    },
}


class Tracker:
    """Deep SORT multi-object tracker.

    Parameters
    ----------
    config
        A :class:`TrackerConfig`; keyword arguments override its fields.
    **overrides
        Any :class:`TrackerConfig` field, e.g. ``Tracker(max_age=60, n_init=1)``.

    Examples
    --------
    >>> from deepsort_lib import Tracker, Detections
    >>> tracker = Tracker(n_init=1)
    >>> tracks = tracker.update(Detections.from_tlwh([[10, 20, 30, 60]]))
    >>> [t.track_id for t in tracks]
    [1]
    """

    def __init__(self, config: TrackerConfig | None = None, **overrides: Any) -> None:
        base = config or TrackerConfig()
        unknown = set(overrides) - {f.name for f in fields(TrackerConfig)}
        if unknown:
            raise ConfigurationError(f"unknown tracker option(s): {', '.join(sorted(unknown))}")
        self.config: TrackerConfig = replace(base, **overrides) if overrides else base
        model_cls = (
            FilterpyKalmanModel if self.config.kalman_backend == "filterpy" else BoxKalmanModel
        )
        self.kalman: BoxKalmanModel = model_cls(
            self.config.std_weight_position,
            self.config.std_weight_velocity,
            self.config.measurement,
        )
        self._next_id = 1
        self._feature_dim: int | None = None
        self._appearance = self._new_appearance()
        self._gaps = (
            GapStatistics(
                self.config.max_age,
                self.config.coasting_min_presence,
                floor=self.config.output_max_misses,
            )
            if self.config.adaptive_coasting
            else None
        )
        self._clear_arrays()

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> Tracker:
        """A tracker with named settings (see :data:`PRESETS`), optionally overridden."""
        if name not in PRESETS:
            raise ConfigurationError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
        return cls(TrackerConfig(**{**PRESETS[name], **overrides}))

    def _new_appearance(self) -> AppearanceModel:
        if self.config.appearance == "ema":
            return EmaAppearance(self.config.ema_alpha)
        return FeatureGallery(self.config.nn_budget)

    def _clear_arrays(self) -> None:
        self._ids = np.zeros(0, dtype=np.int64)
        self._means = np.zeros((0, 8))
        self._covs = np.zeros((0, 8, 8))
        self._states = np.zeros(0, dtype=np.int64)
        self._hits = np.zeros(0, dtype=np.int64)
        self._ages = np.zeros(0, dtype=np.int64)
        self._tsu = np.zeros(0, dtype=np.int64)
        self._class_ids = np.zeros(0, dtype=np.int64)
        self._confidences = np.zeros(0)
        self._det_tlwh = np.zeros((0, 4))
        self._det_index = np.zeros(0, dtype=np.int64)

    # -- public API --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every track. Identities keep counting up (they are never reused)."""
        self._clear_arrays()
        self._appearance.clear()
        if self._gaps is not None:
            self._gaps.clear()

    def __len__(self) -> int:
        """Number of live (tentative or confirmed) tracks."""
        return int(self._ids.shape[0])

    @property
    def tracks(self) -> list[Track]:
        """Snapshot of every live track, tentative ones included."""
        return self._snapshot(np.arange(len(self)))

    def update(
        self,
        detections: Detections | Sequence[Any] | NDArray[Any] | None,
        features: ArrayLike | None = None,
        *,
        camera_motion: ArrayLike | None = None,
    ) -> list[Track]:
        """Advance one frame with this frame's detections.

        Parameters
        ----------
        detections
            A :class:`~deepsort_lib.boxes.Detections`, a list of
            :class:`~deepsort_lib.boxes.Detection`, or an ``(N, 4|5|6)`` array of
            ``tlwh[, score[, class_id]]`` rows. An empty input is a frame without detections.
        features
            Optional ``(N, D)`` appearance features (overrides those in ``detections``).
            Without features the frame is associated on motion alone (IoU and Mahalanobis).
        camera_motion
            Optional ``(2, 3)`` affine map from the previous frame's pixel coordinates to this
            frame's (e.g. from :class:`~deepsort_lib.camera_motion.CameraMotionEstimator`),
            applied to the predicted tracks before association.

        Returns
        -------
        list of Track
            Confirmed tracks matched in this frame (see ``return_tentative`` and
            ``output_max_misses`` for more).

        Raises
        ------
        InvalidInputError
            On malformed input; the tracker is left exactly as it was.
        """
        dets = as_detections(detections, features)
        affine = self._check_camera_motion(camera_motion)
        self._check_feature_dim(dets)
        # Nothing above changed any state; everything below cannot fail on user input.
        self._predict_all(miss=True)
        if affine is not None:
            self._means, self._covs = warp_states(
                self._means, self._covs, affine, self.config.measurement
            )
        self._det_index[:] = -1
        cfg = self.config
        scores = dets.scores
        if cfg.high_score_threshold is None:
            high = np.arange(len(dets))
            low = np.zeros(0, dtype=np.intp)
        else:
            high = np.flatnonzero(scores >= cfg.high_score_threshold)
            low = np.flatnonzero(
                (scores < cfg.high_score_threshold) & (scores >= cfg.low_score_threshold)
            )
        normalized = None
        if dets.features is not None:
            normalized, _ = normalize_features(dets.features)
        measurements = self._to_measurement(dets.tlwh)

        assignment = self._associate(dets, measurements, normalized, high)
        if len(low):
            leftovers = assignment.unmatched_rows
            second_rows = leftovers[
                (self._states[leftovers] == _CONFIRMED) & (self._tsu[leftovers] == 1)
            ]
            second = min_cost_matching(
                self._iou_cost(second_rows, dets, low),
                cfg.low_score_max_iou_distance,
                second_rows,
                low,
            )
            assignment.extend(second)
            low_matched = second.track_rows
        else:
            low_matched = np.zeros(0, dtype=np.intp)

        self._apply_matches(assignment, dets, measurements, normalized, low_matched)
        self._mark_missed()
        self._start_tracks(assignment.unmatched_cols, dets, measurements, normalized)
        return self._output()

    def predict(self) -> list[Track]:
        """Advance one frame without running the detector (e.g. detect every N frames).

        Tracks move by their Kalman prediction and grow older, but the frame does not count
        as a miss: ``time_since_update`` counts detector frames only.

        Returns
        -------
        list of Track
            The tracks ``update`` would report, at their predicted boxes.
        """
        self._predict_all(miss=False)
        self._det_index[:] = -1
        return self._output()

    # -- steps -------------------------------------------------------------------------------

    def _check_camera_motion(self, camera_motion: ArrayLike | None) -> FloatArray | None:
        if camera_motion is None:
            return None
        try:
            affine = np.asarray(camera_motion, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError("camera_motion must be a numeric (2, 3) array") from exc
        if affine.shape != (2, 3) or not np.all(np.isfinite(affine)):
            raise InvalidInputError(
                f"camera_motion must be a finite (2, 3) affine matrix, got shape {affine.shape}"
            )
        return affine

    def _check_feature_dim(self, dets: Detections) -> None:
        dim = dets.feature_dim
        if dim is None:
            return
        known = self._appearance.dim
        if known is not None and dim != known:
            raise InvalidInputError(
                f"features have dimension {dim} but this tracker's tracks use {known}"
            )

    def _to_measurement(self, tlwh: FloatArray) -> FloatArray:
        return tlwh_to_xywh(tlwh) if self.config.measurement == "xywh" else tlwh_to_xyah(tlwh)

    def _state_tlwh(self, rows: IndexArray) -> FloatArray:
        boxes = self._means[rows, :4]
        return xywh_to_tlwh(boxes) if self.config.measurement == "xywh" else xyah_to_tlwh(boxes)

    def _predict_all(self, miss: bool) -> None:
        if len(self) == 0:
            return
        if self.config.freeze_lost_size:
            self._means[self._tsu > 0, 6:8] = 0.0  # size velocities (a or w, and h)
        self._means, self._covs = self.kalman.predict(self._means, self._covs)
        self._ages += 1
        if miss:
            self._tsu += 1

    def _iou_cost(self, rows: IndexArray, dets: Detections, cols: IndexArray) -> FloatArray:
        cost = 1.0 - iou_matrix(self._state_tlwh(rows), dets.tlwh[cols])
        cost[self._tsu[rows] > 1, :] = INFEASIBLE_COST
        return self._forbid_other_classes(cost, rows, dets, cols)

    def _forbid_other_classes(
        self, cost: FloatArray, rows: IndexArray, dets: Detections, cols: IndexArray
    ) -> FloatArray:
        if self.config.match_classes and cost.size:
            cost[self._class_ids[rows][:, None] != dets.class_ids[cols][None, :]] = INFEASIBLE_COST
        return cost

    def _associate(
        self,
        dets: Detections,
        measurements: FloatArray,
        features: NDArray[np.float32] | None,
        cols: IndexArray,
    ) -> Assignment:
        cfg = self.config
        confirmed = np.flatnonzero(self._states == _CONFIRMED)
        unconfirmed = np.flatnonzero(self._states != _CONFIRMED)

        first = self._first_stage(dets, measurements, features, confirmed, cols)

        # IoU stage: tentative tracks, and confirmed ones that were seen in the last frame.
        left = first.unmatched_rows
        recent = left[self._tsu[left] == 1]
        candidates = np.concatenate([unconfirmed, recent])
        second = min_cost_matching(
            self._iou_cost(candidates, dets, first.unmatched_cols),
            cfg.max_iou_distance,
            candidates,
            first.unmatched_cols,
        )
        result = Assignment(first.track_rows, first.detection_cols)
        result.extend(second)
        stale = left[self._tsu[left] != 1]
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
        """Cascade (or global) matching of confirmed tracks on gated appearance."""
        cfg = self.config
        if len(rows) == 0 or len(cols) == 0:
            return Assignment(unmatched_rows=rows, unmatched_cols=cols)
        threshold = cfg.effective_gating_threshold
        mahalanobis = self.kalman.gating_distance(
            self._means[rows], self._covs[rows], measurements[cols], cfg.gating_only_position
        )
        inside = mahalanobis <= threshold
        if features is None:
            # Motion only: IoU in place of appearance, still gated and cascaded.
            cost = 1.0 - iou_matrix(self._state_tlwh(rows), dets.tlwh[cols])
            max_distance = cfg.max_iou_distance
        else:
            # Appearance only where the gate lets a pair through; the rest is gated below.
            cost = self._appearance.distance(rows, features[cols], inside)
            if cfg.matching == "global":
                motion = np.minimum(mahalanobis / threshold, 1.0)
                w = cfg.appearance_weight
                cost = np.where(cost < INFEASIBLE_COST, w * cost + (1 - w) * motion, cost)
            max_distance = cfg.max_cosine_distance
        cost = gate(cost, mahalanobis, threshold)
        cost = self._forbid_other_classes(cost, rows, dets, cols)
        if cfg.matching == "global" and features is not None:
            return min_cost_matching(cost, max_distance, rows, cols)
        return matching_cascade(cost, max_distance, self._tsu[rows], rows, cols)

    def _apply_matches(
        self,
        assignment: Assignment,
        dets: Detections,
        measurements: FloatArray,
        features: NDArray[np.float32] | None,
        low_matched_rows: IndexArray,
    ) -> None:
        rows, cols = assignment.track_rows, assignment.detection_cols
        if len(rows) == 0:
            return
        confidences = dets.scores[cols] if self.config.nsa_kalman else None
        if confidences is not None:
            confidences = np.clip(confidences, 0.0, 1.0 - 1e-6)
        self._means[rows], self._covs[rows] = self.kalman.update(
            self._means[rows], self._covs[rows], measurements[cols], confidences
        )
        if self._gaps is not None:
            back = rows[(self._states[rows] == _CONFIRMED) & (self._tsu[rows] > 1)]
            self._gaps.record_returns(self._tsu[back] - 1)  # frames missed before this match
        self._hits[rows] += 1
        self._tsu[rows] = 0
        self._class_ids[rows] = dets.class_ids[cols]
        self._confidences[rows] = dets.scores[cols]
        self._det_tlwh[rows] = dets.tlwh[cols]
        self._det_index[rows] = cols
        promote = (self._states[rows] == _TENTATIVE) & (self._hits[rows] >= self.config.n_init)
        self._states[rows[promote]] = _CONFIRMED
        if features is not None:
            # Low-score boxes are often occluded: they move tracks but do not teach appearance.
            teach = ~np.isin(rows, low_matched_rows)
            self._appearance.update(rows[teach], features[cols[teach]])

    def _mark_missed(self) -> None:
        missed = self._tsu > 0
        dead = missed & ((self._states == _TENTATIVE) | (self._tsu > self.config.max_age))
        if self._gaps is not None:
            self._gaps.record_deletions(int(np.count_nonzero(dead & (self._states == _CONFIRMED))))
        if dead.any():
            keep = ~dead
            for name in (
                "_ids", "_means", "_covs", "_states", "_hits", "_ages", "_tsu",
                "_class_ids", "_confidences", "_det_tlwh", "_det_index",
            ):  # fmt: skip
                setattr(self, name, getattr(self, name)[keep])
            self._appearance.keep(keep)

    def _start_tracks(
        self,
        cols: IndexArray,
        dets: Detections,
        measurements: FloatArray,
        features: NDArray[np.float32] | None,
    ) -> None:
        n = len(cols)
        if n == 0:
            return
        means, covs = self.kalman.initiate(measurements[cols])
        state = _CONFIRMED if self.config.n_init <= 1 else _TENTATIVE
        ones = np.ones(n, dtype=np.int64)
        self._ids = np.concatenate([self._ids, np.arange(self._next_id, self._next_id + n)])
        self._next_id += n
        self._means = np.concatenate([self._means, means])
        self._covs = np.concatenate([self._covs, covs])
        self._states = np.concatenate([self._states, np.full(n, state, dtype=np.int64)])
        self._hits = np.concatenate([self._hits, ones])
        self._ages = np.concatenate([self._ages, ones])
        self._tsu = np.concatenate([self._tsu, np.zeros(n, dtype=np.int64)])
        self._class_ids = np.concatenate([self._class_ids, dets.class_ids[cols]])
        self._confidences = np.concatenate([self._confidences, dets.scores[cols]])
        self._det_tlwh = np.concatenate([self._det_tlwh, dets.tlwh[cols]])
        self._det_index = np.concatenate([self._det_index, cols.astype(np.int64)])
        self._appearance.add_tracks(None if features is None else features[cols], n)

    # -- output ------------------------------------------------------------------------------

    def _output(self) -> list[Track]:
        cfg = self.config
        max_misses = cfg.output_max_misses if self._gaps is None else self._gaps.max_misses()
        wanted = (self._states == _CONFIRMED) & (self._tsu <= max_misses)
        if cfg.return_tentative:
            wanted |= (self._states == _TENTATIVE) & (self._tsu == 0)
        return self._snapshot(np.flatnonzero(wanted))

    def _snapshot(self, rows: IndexArray) -> list[Track]:
        # Fresh arrays: the Track objects may keep views into them safely.
        tlwh = self._state_tlwh(rows)
        det_tlwh = self._det_tlwh[rows]
        means = self._means[rows]
        covs = self._covs[rows]
        columns = zip(
            self._ids[rows].tolist(),
            self._class_ids[rows].tolist(),
            self._confidences[rows].tolist(),
            self._states[rows].tolist(),
            self._hits[rows].tolist(),
            self._ages[rows].tolist(),
            self._tsu[rows].tolist(),
            self._det_index[rows].tolist(),
            strict=True,
        )
        return [
            Track(
                track_id=tid,
                tlwh=tlwh[i],
                detection_tlwh=det_tlwh[i],
                class_id=cls,
                confidence=conf,
                state=TrackState(state),
                hits=hits,
                age=age,
                time_since_update=tsu,
                detection_index=None if det < 0 else det,
                mean=means[i],
                covariance=covs[i],
            )
            for i, (tid, cls, conf, state, hits, age, tsu, det) in enumerate(columns)
        ]


__all__ = ["PRESETS", "Tracker", "TrackerConfig"]
