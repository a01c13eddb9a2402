"""The Deep SORT tracker: predict, associate, update, manage track lifecycles.

All per-track state lives in one :class:`~deepsort_lib.tracking.table.TrackTable` (struct of
arrays, row ``i`` is track ``i``, rows kept in creation order), so one frame costs a handful of
vectorised operations plus one Hungarian solve per cascade level, whatever the number of
tracks.

One ``update`` does, in order (Wojke, Bewley & Paulus 2017, "Simple Online and Realtime
Tracking with a Deep Association Metric"):

1. Kalman prediction of every track (and, optionally, camera-motion compensation).
2. Matching cascade over confirmed tracks, by frames since their last match: cosine
   appearance distance (or a user-supplied cost), gated by the squared Mahalanobis distance
   (chi-square 95%).
3. IoU matching of the tentative tracks and of the confirmed tracks missed for one frame
   against the detections left over.
4. Optionally (ByteTrack), a second IoU round with the low-score detections.
5. Kalman update of matched tracks, miss bookkeeping, deletion, and new tentative tracks
   for the unmatched (high-score) detections.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, fields, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.boxes import (
    Detections,
    as_detections,
)
from deepsort_lib.errors import ConcurrentUseError, ConfigurationError, InvalidInputError
from deepsort_lib.tracking.appearance import (
    AppearanceModel,
    check_appearance_model,
    make_appearance,
    normalize_features,
)
from deepsort_lib.tracking.association import (
    Assignment,
)
from deepsort_lib.tracking.camera import as_affine, warp_states
from deepsort_lib.tracking.coasting import GapStatistics
from deepsort_lib.tracking.config import PRESETS, TrackerConfig
from deepsort_lib.tracking.cost import AssociationCost
from deepsort_lib.tracking.kalman import (
    BoxKalmanModel,
    FilterpyKalmanModel,
    measurement_to_tlwh,
    tlwh_to_measurement,
)
from deepsort_lib.tracking.matching import FrameMatcher
from deepsort_lib.tracking.state import restore_tracker, saved_config, tracker_state
from deepsort_lib.tracking.table import TrackTable
from deepsort_lib.tracking.track import Track, TrackState, tracks_from_rows

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

_TENTATIVE = int(TrackState.TENTATIVE)
_CONFIRMED = int(TrackState.CONFIRMED)


class Tracker:
    """Deep SORT multi-object tracker.

    Parameters
    ----------
    config
        A :class:`TrackerConfig`; keyword arguments override its fields.
    appearance_model
        Optional appearance store replacing the one ``config.appearance`` names (any object
        with the methods of :class:`~deepsort_lib.tracking.appearance.AppearanceModel`). The
        tracker owns it from then on: it is cleared now and follows the tracker's rows.
    association_cost
        Optional cost of the first matching stage (an
        :class:`~deepsort_lib.tracking.cost.AssociationCost`) replacing the built-in one.
    **overrides
        Any :class:`TrackerConfig` field, e.g. ``Tracker(max_age=60, n_init=1)``.

    Notes
    -----
    One tracker follows one stream, called from one thread at a time. A call that arrives
    while another thread is inside the same tracker raises
    :class:`~deepsort_lib.errors.ConcurrentUseError` and changes nothing (a cheap
    non-blocking check, not a queue). Separate trackers are independent.

    Examples
    --------
    >>> from deepsort_lib import Tracker, Detections
    >>> tracker = Tracker(n_init=1)
    >>> tracks = tracker.update(Detections.from_tlwh([[10, 20, 30, 60]]))
    >>> [t.track_id for t in tracks]
    [1]
    """

    def __init__(
        self,
        config: TrackerConfig | None = None,
        *,
        appearance_model: AppearanceModel | None = None,
        association_cost: AssociationCost | None = None,
        **overrides: Any,
    ) -> None:
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
        if association_cost is not None and not (
            callable(association_cost) and hasattr(association_cost, "max_distance")
        ):
            raise ConfigurationError(
                "association_cost needs a max_distance attribute and a __call__(context) method"
            )
        self._cost = association_cost
        self._next_id = 1
        if appearance_model is None:
            self._appearance = make_appearance(
                self.config.appearance, self.config.nn_budget, self.config.ema_alpha
            )
        else:
            check_appearance_model(appearance_model)
            appearance_model.clear()
            self._appearance = appearance_model
        self._gaps = (
            GapStatistics(
                self.config.max_age,
                self.config.coasting_min_presence,
                floor=self.config.output_max_misses,
            )
            if self.config.adaptive_coasting
            else None
        )
        self._table = TrackTable()
        self._matcher = FrameMatcher(self.config, self.kalman, self._appearance, self._cost)
        self._matcher.table = self._table  # the matcher always reads this tracker's table
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["_lock"]  # locks do not copy or pickle; a copy gets its own
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        if not self._lock.acquire(blocking=False):
            raise ConcurrentUseError(
                "this Tracker is already running in another thread; use one tracker per "
                "stream and one thread at a time"
            )
        try:
            yield
        finally:
            self._lock.release()

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> Tracker:
        """A tracker with named settings (see :data:`PRESETS`), optionally overridden.

        ``appearance_model=`` and ``association_cost=`` are passed on to the constructor.
        """
        if name not in PRESETS:
            raise ConfigurationError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
        plugins = {
            k: overrides.pop(k) for k in ("appearance_model", "association_cost") if k in overrides
        }
        return cls(TrackerConfig(**{**PRESETS[name], **overrides}), **plugins)

    # -- public API --------------------------------------------------------------------------

    @property
    def min_appearance_score(self) -> float | None:
        """Lowest detection score whose appearance feature this tracker uses (``None``: all).

        Detections scoring below it are matched on IoU only, so a pipeline need not encode
        them (``Pipeline(encode_min_score="auto")``).
        """
        return self.config.high_score_threshold

    def reset(self) -> None:
        """Forget every track. Identities keep counting up (they are never reused)."""
        with self._exclusive():
            self._table = TrackTable()
            self._matcher.table = self._table
            self._appearance.clear()
            if self._gaps is not None:
                self._gaps.clear()

    # -- saved state (checkpoint / resume; the layout is in tracking/state.py) ----------------

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this tracker elsewhere, as plain arrays and numbers.

        A tracker given this state by :meth:`load_state_dict` (or built by :meth:`from_state`),
        in this process or another, returns exactly what this one would from the next
        ``update`` on. Write it to a file with :func:`deepsort_lib.io.state.save_state`.

        Raises
        ------
        ConfigurationError
            If a user-supplied ``appearance_model`` has no ``state_dict`` method.
        """
        with self._exclusive():
            return tracker_state(
                asdict(self.config), self._next_id, self._table, self._appearance, self._gaps
            )

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from a :meth:`state_dict` of a tracker with the same settings.

        Raises
        ------
        StateError
            If the state is corrupt, of another format or version, or was saved with other
            settings (the differing fields are named); the tracker is then unchanged.
        """
        with self._exclusive():
            restored = restore_tracker(state, asdict(self.config), self._appearance, self._gaps)
            self._table, self._appearance, self._gaps, self._next_id = restored
            self._matcher.appearance, self._matcher.table = self._appearance, self._table

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, Any],
        *,
        appearance_model: AppearanceModel | None = None,
        association_cost: AssociationCost | None = None,
    ) -> Tracker:
        """A tracker with the saved settings, continuing from ``state``.

        A custom ``association_cost`` is code, not state: pass it again. So is a custom
        ``appearance_model`` (its contents are restored from the state).

        Raises
        ------
        StateError
            If the state is corrupt, of another format, or from an unsupported version.
        """
        config = TrackerConfig(**saved_config(state))
        tracker = cls(config, appearance_model=appearance_model, association_cost=association_cost)
        tracker.load_state_dict(state)
        return tracker

    # -- parts, for an engine that advances many trackers at once (streams/batched.py) -----

    @property
    def track_table(self) -> TrackTable:
        """The live track table (struct of arrays). Read it; only a batched engine that
        replaces this tracker's ``update`` step for step may change it."""
        return self._table

    @property
    def appearance_model(self) -> AppearanceModel:
        """The appearance store whose rows follow :attr:`track_table`."""
        return self._appearance

    @property
    def gap_statistics(self) -> GapStatistics | None:
        """The adaptive-coasting statistics (``None`` without ``adaptive_coasting``)."""
        return self._gaps

    @property
    def association_cost(self) -> AssociationCost | None:
        """The user-supplied first-stage cost, if any."""
        return self._cost

    def exclusive(self) -> AbstractContextManager[None]:
        """Hold this tracker as ``update`` does, for an engine that advances it.

        Raises
        ------
        ConcurrentUseError
            If another thread is inside this tracker.
        """
        return self._exclusive()

    def take_track_ids(self, count: int) -> int:
        """Reserve ``count`` new track ids; returns the first (they are consecutive)."""
        first = self._next_id
        self._next_id += int(count)
        return first

    def __len__(self) -> int:
        """Number of live (tentative or confirmed) tracks."""
        return len(self._table)

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
        box_format: str | None = None,
    ) -> list[Track]:
        """Advance one frame with this frame's detections.

        Parameters
        ----------
        detections
            A :class:`~deepsort_lib.boxes.Detections` (build one with
            ``Detections.from_xyxy`` or ``Detections.from_tlwh``), a list of
            :class:`~deepsort_lib.boxes.Detection`, or, with ``box_format``, an
            ``(N, 4|5|6)`` array of ``box[, score[, class_id]]`` rows. An empty input is a
            frame without detections.
        features
            Optional ``(N, D)`` appearance features (overrides those in ``detections``).
            Without features the frame is associated on motion alone (IoU and Mahalanobis).
        camera_motion
            Optional ``(2, 3)`` affine map from the previous frame's pixel coordinates to this
            frame's (e.g. from :class:`~deepsort_lib.models.camera_motion.CameraMotionEstimator`),
            applied to the predicted tracks before association.
        box_format
            ``"xyxy"`` or ``"tlwh"``: how to read a raw array's boxes. A non-empty raw array
            without it is an ``InvalidInputError`` (no guessing).

        Returns
        -------
        list of Track
            Confirmed tracks matched in this frame (see ``return_tentative`` and
            ``output_max_misses`` for more).

        Raises
        ------
        InvalidInputError
            On malformed input, or more than ``max_detections`` boxes; the tracker is left
            exactly as it was.
        ConcurrentUseError
            If another thread is inside this tracker; nothing is changed.
        """
        with self._exclusive():
            return self._update(detections, features, camera_motion, box_format)

    def _update(
        self,
        detections: Detections | Sequence[Any] | NDArray[Any] | None,
        features: ArrayLike | None,
        camera_motion: ArrayLike | None,
        box_format: str | None,
    ) -> list[Track]:
        dets = as_detections(detections, features, box_format)
        if len(dets) > self.config.max_detections:
            raise InvalidInputError(
                f"{len(dets)} detections in one frame, more than max_detections="
                f"{self.config.max_detections} (raise it in TrackerConfig if you mean it)"
            )
        affine = None if camera_motion is None else as_affine(camera_motion)
        self._check_feature_dim(dets)
        # Nothing above changed any state. Prediction and association below build new arrays
        # and only swap them in, so an unexpected error there (a user cost raising, say) can
        # put the old ones back; from _apply_matches on nothing can fail on user input.
        table = self._table
        saved = (table.means, table.covariances, table.ages, table.time_since_update)
        saved_index = table.detection_index
        try:
            self._predict_all(miss=True)
            if affine is not None:
                table.means, table.covariances = warp_states(
                    table.means, table.covariances, affine, self.config.measurement
                )
            table.detection_index = np.full(len(table), -1, dtype=np.int64)
            normalized = None
            if dets.features is not None:
                normalized, _ = normalize_features(dets.features)
            measurements = self._to_measurement(dets.tlwh)
            assignment, low_matched = self._matcher.match(table, dets, measurements, normalized)
        except BaseException:
            table.means, table.covariances, table.ages, table.time_since_update = saved
            table.detection_index = saved_index
            raise
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
        with self._exclusive():
            self._predict_all(miss=False)
            self._table.detection_index = np.full(len(self._table), -1, dtype=np.int64)
            return self._output()

    # -- steps -------------------------------------------------------------------------------

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
        return tlwh_to_measurement(tlwh, self.config.measurement)

    def _state_tlwh(self, rows: IndexArray) -> FloatArray:
        return measurement_to_tlwh(self._table.means[rows, :4], self.config.measurement)

    def _predict_all(self, miss: bool) -> None:
        # New arrays (no in-place writes): update() may have to put the old ones back.
        table = self._table
        if len(table) == 0:
            return
        means = table.means
        if self.config.freeze_lost_size:
            means = means.copy()
            means[table.time_since_update > 0, 6:8] = 0.0  # size velocities (a or w, and h)
        table.means, table.covariances = self.kalman.predict(means, table.covariances)
        table.ages = table.ages + 1
        if miss:
            table.time_since_update = table.time_since_update + 1

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
        table = self._table
        confidences = dets.scores[cols] if self.config.nsa_kalman else None
        if confidences is not None:
            confidences = np.clip(confidences, 0.0, 1.0 - 1e-6)
        table.means[rows], table.covariances[rows] = self.kalman.update(
            table.means[rows], table.covariances[rows], measurements[cols], confidences
        )
        if self._gaps is not None:
            back = rows[(table.states[rows] == _CONFIRMED) & (table.time_since_update[rows] > 1)]
            self._gaps.record_returns(table.time_since_update[back] - 1)  # misses before now
        table.hits[rows] += 1
        table.time_since_update[rows] = 0
        table.class_ids[rows] = dets.class_ids[cols]
        table.confidences[rows] = dets.scores[cols]
        table.detection_tlwh[rows] = dets.tlwh[cols]
        table.detection_index[rows] = cols
        promote = (table.states[rows] == _TENTATIVE) & (table.hits[rows] >= self.config.n_init)
        table.states[rows[promote]] = _CONFIRMED
        if features is not None:
            # Low-score boxes are often occluded: they move tracks but do not teach appearance.
            teach = ~np.isin(rows, low_matched_rows)
            self._appearance.update(rows[teach], features[cols[teach]])

    def _mark_missed(self) -> None:
        table = self._table
        missed = table.time_since_update > 0
        dead = missed & (
            (table.states == _TENTATIVE) | (table.time_since_update > self.config.max_age)
        )
        if self._gaps is not None:
            self._gaps.record_deletions(int(np.count_nonzero(dead & (table.states == _CONFIRMED))))
        if dead.any():
            keep = ~dead
            table.keep(keep)
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
        self._table.append(
            TrackTable(
                track_ids=np.arange(self._next_id, self._next_id + n, dtype=np.int64),
                means=means,
                covariances=covs,
                states=np.full(n, state, dtype=np.int64),
                hits=ones,
                ages=ones,
                time_since_update=np.zeros(n, dtype=np.int64),
                class_ids=dets.class_ids[cols],
                confidences=dets.scores[cols],
                detection_tlwh=dets.tlwh[cols],
                detection_index=cols.astype(np.int64),
            )
        )
        self._next_id += n
        self._appearance.add_tracks(None if features is None else features[cols], n)

    # -- output ------------------------------------------------------------------------------

    def _output(self) -> list[Track]:
        cfg = self.config
        table = self._table
        max_misses = cfg.output_max_misses if self._gaps is None else self._gaps.max_misses()
        wanted = (table.states == _CONFIRMED) & (table.time_since_update <= max_misses)
        if cfg.return_tentative:
            wanted |= (table.states == _TENTATIVE) & (table.time_since_update == 0)
        return self._snapshot(np.flatnonzero(wanted))

    def _snapshot(self, rows: IndexArray) -> list[Track]:
        return tracks_from_rows(self._table.select(rows), self._state_tlwh(rows))


__all__ = ["PRESETS", "Tracker", "TrackerConfig"]
