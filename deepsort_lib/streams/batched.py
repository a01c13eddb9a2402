"""Advance many streams' trackers by one frame in one batched pass (struct of arrays).

:class:`~deepsort_lib.tracking.tracker.Tracker` advances one stream: a handful of numpy calls
per step, each costing microseconds of Python whatever the number of tracks. Called once per
stream that overhead is paid N times a batch. :func:`advance_trackers` instead concatenates the
track tables of all streams that share one configuration (the stream is a column), and runs
the Kalman prediction, camera-motion compensation, the Mahalanobis gate, the appearance and IoU
costs, the matching rounds (:mod:`deepsort_lib.streams.batched_matching`), the Kalman update,
the lifecycle bookkeeping and the output once over all of them; only the appearance stores
(one per tracker) and the rare stream whose matching has a real choice to make are visited
one by one. The tables are then split back: every stream keeps its own ordinary ``Tracker``,
so saving, restoring, reading or wrapping one stream works as before.

Each step is the lone tracker's step with the same arithmetic on the same numbers (every
operation here is row- or pair-wise), so each stream's output and state are what its own
``Tracker.update`` would give, bit for bit (``tests/test_streams_batched.py`` checks it over
every preset). Trackers this engine cannot stand in for run their own ``update``: a filterpy
Kalman backend, a user-supplied association cost or appearance model, a subclass of
``Tracker`` (:func:`can_batch`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import cast

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.streams.batched_matching import (
    FrameBatch,
    StoredFeatures,
    match_streams,
)
from deepsort_lib.tracking.appearance import EmaAppearance, FeatureGallery, normalize_features
from deepsort_lib.tracking.association import Assignment
from deepsort_lib.tracking.camera import warp_states
from deepsort_lib.tracking.config import TrackerConfig
from deepsort_lib.tracking.flat_gallery import FlatGallery
from deepsort_lib.tracking.kalman import BoxKalmanModel, measurement_to_tlwh, tlwh_to_measurement
from deepsort_lib.tracking.matching import FrameMatcher
from deepsort_lib.tracking.table import TrackTable
from deepsort_lib.tracking.track import Track, TrackState, tracks_from_rows
from deepsort_lib.tracking.tracker import Tracker

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

_TENTATIVE = int(TrackState.TENTATIVE)
_CONFIRMED = int(TrackState.CONFIRMED)
_COLUMNS = tuple(f.name for f in fields(TrackTable))
_STORES = (FeatureGallery, EmaAppearance, FlatGallery)


def can_batch(tracker: Tracker) -> bool:
    """Whether :func:`advance_trackers` reproduces this tracker's ``update`` exactly."""
    return (
        type(tracker) is Tracker  # a subclass may change update: it runs its own
        and type(tracker.kalman) is BoxKalmanModel
        and tracker.association_cost is None
        and type(tracker.appearance_model) in _STORES
    )


def advance_trackers(
    trackers: Sequence[Tracker],
    detections: Sequence[Detections],
    camera_motion: Sequence[FloatArray | None],
) -> list[list[Track]]:
    """``[t.update(d, camera_motion=m) for t, d, m in ...]``, batched across trackers.

    Parameters
    ----------
    trackers
        Distinct trackers for which :func:`can_batch` holds.
    detections
        One frame's :class:`~deepsort_lib.boxes.Detections` per tracker, already checked
        as ``Tracker.update`` checks them (``MultiStreamTracker`` checks the whole batch).
    camera_motion
        Per tracker, ``None`` or a validated ``(2, 3)`` affine map.

    Returns
    -------
    list
        Per tracker, the tracks its ``update`` returns.
    """
    out: list[list[Track]] = [[] for _ in trackers]
    groups: dict[tuple[TrackerConfig, int | None], list[int]] = {}
    for i, (tracker, dets) in enumerate(zip(trackers, detections, strict=True)):
        groups.setdefault((tracker.config, dets.feature_dim), []).append(i)
    for members in groups.values():
        tracks = _advance_group(
            [trackers[i] for i in members],
            [detections[i] for i in members],
            [camera_motion[i] for i in members],
        )
        for i, stream_tracks in zip(members, tracks, strict=True):
            out[i] = stream_tracks
    return out


def _offsets(sizes: list[int]) -> NDArray[np.int64]:
    return np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)


def _advance_group(
    trackers: list[Tracker],
    detections: list[Detections],
    camera_motion: list[FloatArray | None],
) -> list[list[Track]]:
    """One frame of trackers that share a configuration and a feature length."""
    cfg = trackers[0].config
    kalman = trackers[0].kalman
    n_streams = len(trackers)
    tables = [t.track_table for t in trackers]
    stores = [t.appearance_model for t in trackers]
    row_sizes = [len(t) for t in tables]
    row_offsets = _offsets(row_sizes)
    row_stream = np.repeat(np.arange(n_streams), row_sizes)
    col = {name: np.concatenate([getattr(t, name) for t in tables]) for name in _COLUMNS}

    # Prediction (Tracker._predict_all with miss=True), then camera motion per stream.
    means, covs = col["means"], col["covariances"]
    if len(means):
        if cfg.freeze_lost_size:
            means = means.copy()
            means[col["time_since_update"] > 0, 6:8] = 0.0
        means, covs = kalman.predict(means, covs)
    ages = col["ages"] + 1
    tsu = col["time_since_update"] + 1
    for s, affine in enumerate(camera_motion):
        a, b = int(row_offsets[s]), int(row_offsets[s + 1])
        if affine is not None and b > a:
            means[a:b], covs[a:b] = warp_states(means[a:b], covs[a:b], affine, cfg.measurement)
    states = col["states"]

    # This frame's detections.
    col_sizes = [len(d) for d in detections]
    col_offsets = _offsets(col_sizes)
    col_stream = np.repeat(np.arange(n_streams), col_sizes)
    det_tlwh = np.concatenate([d.tlwh for d in detections])
    det_scores = np.concatenate([d.scores for d in detections])
    det_class = np.concatenate([d.class_ids for d in detections])
    normalized = None
    if detections[0].feature_dim is not None:
        features = np.concatenate([np.asarray(d.features) for d in detections])
        normalized, _ = normalize_features(features)
    measurements = tlwh_to_measurement(det_tlwh, cfg.measurement)

    batch = FrameBatch(
        n_streams=n_streams,
        row_offsets=row_offsets,
        col_offsets=col_offsets,
        row_stream=row_stream,
        col_stream=col_stream,
        means=means,
        covariances=covs,
        states=states,
        time_since_update=tsu,
        class_ids=col["class_ids"],
        det_tlwh=det_tlwh,
        det_scores=det_scores,
        det_class_ids=det_class,
        measurements=measurements,
        features=normalized,
    )

    def own_matcher(s: int) -> tuple[Assignment, IndexArray]:
        a, b = int(row_offsets[s]), int(row_offsets[s + 1])
        c, d = int(col_offsets[s]), int(col_offsets[s + 1])
        predicted = TrackTable(
            **{name: col[name][a:b] for name in _COLUMNS},
        )
        predicted.means, predicted.covariances = means[a:b], covs[a:b]
        predicted.time_since_update, predicted.ages = tsu[a:b], ages[a:b]
        matcher = FrameMatcher(cfg, kalman, stores[s], None)
        feats = None if normalized is None else normalized[c:d]
        return matcher.match(predicted, detections[s], measurements[c:d], feats)

    stored = [cast(StoredFeatures, store) for store in stores]  # can_batch checked them
    matches = match_streams(batch, cfg, kalman, stored, own_matcher)
    # Nothing above changed any tracker; from here on nothing depends on user input.

    # Matched tracks (Tracker._apply_matches).
    hits = col["hits"]
    class_ids, confidences = col["class_ids"].copy(), col["confidences"]
    detection_tlwh = col["detection_tlwh"]
    detection_index = np.full(len(row_stream), -1, dtype=np.int64)
    rows, cols = matches.rows, matches.cols
    gaps = [t.gap_statistics for t in trackers]
    if len(rows):
        conf = np.clip(det_scores[cols], 0.0, 1.0 - 1e-6) if cfg.nsa_kalman else None
        means[rows], covs[rows] = kalman.update(means[rows], covs[rows], measurements[cols], conf)
        if cfg.adaptive_coasting:
            back = rows[(states[rows] == _CONFIRMED) & (tsu[rows] > 1)]
            for s in np.unique(row_stream[back]).tolist():
                stats = gaps[s]
                if stats is not None:
                    stats.record_returns(tsu[back[row_stream[back] == s]] - 1)
        hits[rows] += 1
        tsu[rows] = 0
        class_ids[rows] = det_class[cols]
        confidences[rows] = det_scores[cols]
        detection_tlwh[rows] = det_tlwh[cols]
        detection_index[rows] = cols - col_offsets[col_stream[cols]]
        promote = (states[rows] == _TENTATIVE) & (hits[rows] >= cfg.n_init)
        states[rows[promote]] = _CONFIRMED
        if normalized is not None:
            teach = ~np.isin(rows, matches.low_rows)
            bounds = np.searchsorted(row_stream[rows], np.arange(n_streams + 1))
            for s in np.flatnonzero(np.diff(bounds)).tolist():
                part = slice(int(bounds[s]), int(bounds[s + 1]))
                learn = teach[part]
                stores[s].update(rows[part][learn] - row_offsets[s], normalized[cols[part][learn]])

    # Deletions (Tracker._mark_missed).
    dead = (tsu > 0) & ((states == _TENTATIVE) | (tsu > cfg.max_age))
    dead_per_stream = np.bincount(row_stream[dead], minlength=n_streams)
    if cfg.adaptive_coasting:
        lost = np.bincount(row_stream[dead & (states == _CONFIRMED)], minlength=n_streams)
        for s, stats in enumerate(gaps):
            if stats is not None:
                stats.record_deletions(int(lost[s]))
    for s in np.flatnonzero(dead_per_stream).tolist():
        a, b = int(row_offsets[s]), int(row_offsets[s + 1])
        stores[s].keep(~dead[a:b])

    # New tracks (Tracker._start_tracks).
    new_cols = matches.new_cols
    new_stream = col_stream[new_cols]
    new_count = np.bincount(new_stream, minlength=n_streams)
    new_ids = np.zeros(len(new_cols), dtype=np.int64)
    new_bounds = _offsets(new_count.tolist())
    for s in np.flatnonzero(new_count).tolist():
        a, b = int(new_bounds[s]), int(new_bounds[s + 1])
        first = trackers[s].take_track_ids(b - a)
        new_ids[a:b] = np.arange(first, first + b - a, dtype=np.int64)
        stores[s].add_tracks(None if normalized is None else normalized[new_cols[a:b]], b - a)
    new_means, new_covs = kalman.initiate(measurements[new_cols])
    n_new = len(new_cols)
    ones = np.ones(n_new, dtype=np.int64)
    born = TrackTable(
        track_ids=new_ids,
        means=new_means,
        covariances=new_covs,
        states=np.full(n_new, _CONFIRMED if cfg.n_init <= 1 else _TENTATIVE, dtype=np.int64),
        hits=ones,
        ages=ones.copy(),
        time_since_update=np.zeros(n_new, dtype=np.int64),
        class_ids=det_class[new_cols],
        confidences=det_scores[new_cols],
        detection_tlwh=det_tlwh[new_cols],
        detection_index=(new_cols - col_offsets[new_stream]).astype(np.int64),
    )

    # The next tables: each stream's surviving rows in order, then its new tracks.
    alive = np.flatnonzero(~dead)
    current = TrackTable(
        track_ids=col["track_ids"],
        means=means,
        covariances=covs,
        states=states,
        hits=hits,
        ages=ages,
        time_since_update=tsu,
        class_ids=class_ids,
        confidences=confidences,
        detection_tlwh=detection_tlwh,
        detection_index=detection_index,
    ).select(alive)
    order = np.argsort(np.concatenate([row_stream[alive], new_stream]), kind="stable")
    current.append(born)
    merged = current.select(order)
    sizes = np.bincount(np.concatenate([row_stream[alive], new_stream]), minlength=n_streams)
    offsets = _offsets(sizes.tolist())
    merged_stream = np.repeat(np.arange(n_streams), sizes)
    for s, table in enumerate(tables):
        a, b = int(offsets[s]), int(offsets[s + 1])
        for name in _COLUMNS:
            setattr(table, name, getattr(merged, name)[a:b])

    # Output (Tracker._output), one snapshot for all streams, split by stream.
    max_misses = np.array(
        [cfg.output_max_misses if g is None else g.max_misses() for g in gaps], dtype=np.int64
    )
    wanted = (merged.states == _CONFIRMED) & (merged.time_since_update <= max_misses[merged_stream])
    if cfg.return_tentative:
        wanted |= (merged.states == _TENTATIVE) & (merged.time_since_update == 0)
    shown = np.flatnonzero(wanted)
    tracks = tracks_from_rows(
        merged.select(shown), measurement_to_tlwh(merged.means[shown, :4], cfg.measurement)
    )
    cuts = np.searchsorted(merged_stream[shown], np.arange(n_streams + 1)).tolist()
    return [tracks[cuts[s] : cuts[s + 1]] for s in range(n_streams)]


__all__ = ["advance_trackers", "can_batch"]
