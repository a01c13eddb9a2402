"""Every setting of the tracker (:class:`TrackerConfig`) and the named presets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from deepsort_lib.errors import ConfigurationError
from deepsort_lib.tracking.kalman import CHI2INV95


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
        box (``detection_index`` is ``None`` for them). The default 1 is the rule of the
        original ``deep_sort_app``, which produced the published results; 0 is the paper's
        rule (only tracks matched this frame).
    match_classes
        Never match a detection to a track of another class (so a track's class never
        changes). On by default; single-class input is unaffected.
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
    max_detections
        Most detections one ``update`` accepts; more is an ``InvalidInputError`` (raised before
        any state changes). Association cost grows with tracks x detections: at the default
        2000, a frame takes well under a second and bounded memory; raise it knowingly.
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
    output_max_misses: int = 1
    match_classes: bool = True
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
    max_detections: int = 2000
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
        check(self.max_detections >= 1, "max_detections must be >= 1")
        check(0.0 < self.coasting_min_presence <= 1.0, "coasting_min_presence must be in (0, 1]")
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


#: Named settings. ``original`` is nwojke's Deep SORT as its ``deep_sort_app`` runs it; the others
#: switch on later published fixes.
#: Their measured effect, option by option, is in ``benchmarks/results/ablation.md``.
PRESETS: dict[str, dict[str, Any]] = {
    "original": {},
    # StrongSORT (Du et al. 2023) without its re-ID model: EMA appearance with its wider
    # cosine threshold, NSA Kalman, one global matching on 0.98 appearance + 0.02 motion,
    # and deep_sort_app's output rule (tracks missed for one frame are still reported; the
    # default since the original's app uses it too).
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
    "botsort": {
        "output_max_misses": 0,  # BoT-SORT reports the tracks matched this frame
        "measurement": "xywh",
        # BoxMOT's 0.5: the paper's 0.6 left a fifth of true boxes, scored 0.5-0.6 when
        # partly occluded, unable to start or confirm a track.
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


__all__ = ["PRESETS", "TrackerConfig"]
