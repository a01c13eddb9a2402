"""Stitching: link the track ids of consecutive chunks over their shared frames, into one space.

The method (scores, assignment, which chunk covers the shared frames, id numbering) is
described in :mod:`deepsort_lib.distributed.chunks`. Numpy (and one scipy assignment) on
arrays; no Ray, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.boxes import Detections, iou_matrix
from deepsort_lib.distributed.planning import (
    DEFAULT_CHUNK_FRAMES,
    DEFAULT_OVERLAP,
    Chunk,
    plan_chunks,
)
from deepsort_lib.distributed.results import ChunkTracks, TrackCollector
from deepsort_lib.errors import InvalidInputError
from deepsort_lib.io.mot import MotData

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class BoundaryLinks:
    """How the ids of chunk ``boundary`` and chunk ``boundary + 1`` were linked.

    Attributes
    ----------
    boundary
        Index of the earlier chunk.
    first_frame, last_frame
        The shared frames.
    cut
        First frame taken from the later chunk.
    links
        ``(earlier id, later id, score)`` of each linked pair.
    new_ids
        Later-chunk ids reported after the cut that were not linked (they got new ids).
    """

    boundary: int
    first_frame: int
    last_frame: int
    cut: int
    links: list[tuple[int, int, float]] = field(default_factory=list)
    new_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True, eq=False)
class StitchResult:
    """The stitched output of a chunked run.

    Attributes
    ----------
    rows
        MOT rows of every frame, each frame from exactly one chunk, ids in one space.
    features
        Matching feature rows, when every chunk had features.
    boundaries
        One :class:`BoundaryLinks` per pair of consecutive chunks.
    id_maps
        Per chunk: its local id -> final id (for every id it reported after its cut).
    """

    rows: MotData
    features: NDArray[np.float32] | None
    boundaries: list[BoundaryLinks]
    id_maps: list[dict[int, int]]

    @property
    def cuts(self) -> list[int]:
        """First frame of each chunk after the first: where an id could change."""
        return [b.cut for b in self.boundaries]


def _mean_features(part: ChunkTracks, ids: IntArray) -> NDArray[np.float64] | None:
    if part.features is None:
        return None
    out = np.zeros((len(ids), part.features.shape[1]))
    for i, tid in enumerate(ids):
        rows = part.features[part.rows.ids == tid].astype(np.float64)
        rows = rows[np.abs(rows).sum(axis=1) > 0]  # all-zero rows carry no appearance
        if len(rows):
            mean = rows.mean(axis=0)
            norm = float(np.sqrt((mean * mean).sum()))
            out[i] = mean / norm if norm > 0 else 0.0
    return out


def link_scores(earlier: ChunkTracks, later: ChunkTracks) -> tuple[IntArray, IntArray, FloatArray]:
    """Scores of every (earlier id, later id) pair over the rows given (the shared frames).

    Returns
    -------
    ids_a, ids_b, score
        The ids of each side and the ``(len(ids_a), len(ids_b))`` scores in [0, 1]:
        ``sum over frames where both appear of IoU / max(frames of a, frames of b)``.
    """
    a, b = earlier.rows, later.rows
    ids_a = np.unique(a.ids)
    ids_b = np.unique(b.ids)
    total = np.zeros((len(ids_a), len(ids_b)))
    if not (len(ids_a) and len(ids_b)):
        return ids_a, ids_b, total
    col_a = np.searchsorted(ids_a, a.ids)
    col_b = np.searchsorted(ids_b, b.ids)
    count_a = np.bincount(col_a, minlength=len(ids_a))
    count_b = np.bincount(col_b, minlength=len(ids_b))
    rows_b = b.frame_slices()
    for frame, rows_a in a.frame_slices().items():
        other = rows_b.get(frame)
        if other is None:
            continue
        iou = iou_matrix(a.tlwh[rows_a], b.tlwh[other])
        # A track appears at most once per frame, so each cell is added once per frame.
        np.add.at(total, (col_a[rows_a][:, None], col_b[other][None, :]), iou)
    score = total / np.maximum(count_a[:, None], count_b[None, :])
    return ids_a, ids_b, score


def link_boundary(
    earlier: ChunkTracks,
    later: ChunkTracks,
    *,
    min_score: float = 0.5,
    appearance_weight: float = 0.01,
) -> list[tuple[int, int, float]]:
    """One-to-one links between the ids of two chunks over their shared frames' rows.

    Parameters
    ----------
    earlier, later
        Each chunk's rows of the shared frames only.
    min_score
        Smallest :func:`link_scores` value for a link.
    appearance_weight
        Weight of the cosine distance of the tracks' mean features (when both have them) in
        the assignment cost ``1 - score + weight * distance``: a tie-breaker.

    Returns
    -------
    list of (earlier id, later id, score)
    """
    from scipy.optimize import linear_sum_assignment

    ids_a, ids_b, score = link_scores(earlier, later)
    if not (len(ids_a) and len(ids_b)):
        return []
    cost = 1.0 - score
    feat_a, feat_b = _mean_features(earlier, ids_a), _mean_features(later, ids_b)
    if feat_a is not None and feat_b is not None and appearance_weight:
        known = (np.abs(feat_a).sum(axis=1) > 0)[:, None] & (np.abs(feat_b).sum(axis=1) > 0)
        # Elementwise, not a BLAS product: these matrices are tiny (see no-BLAS rule).
        similarity = (feat_a[:, None, :] * feat_b[None, :, :]).sum(axis=2)
        cost = cost + appearance_weight * np.where(known, 1.0 - similarity, 1.0)
    allowed = score >= min_score
    cost = np.where(allowed, cost, 1e6)
    rows, cols = linear_sum_assignment(cost)
    return [
        (int(ids_a[r]), int(ids_b[c]), float(score[r, c]))
        for r, c in zip(rows, cols, strict=True)
        if allowed[r, c]
    ]


def stitch(
    chunks: Sequence[Chunk],
    results: Sequence[ChunkTracks],
    *,
    min_score: float = 0.5,
    appearance_weight: float = 0.01,
) -> StitchResult:
    """Join the tracks of consecutive chunks into one output with one id space.

    Parameters
    ----------
    chunks
        The plan (:func:`plan_chunks`).
    results
        What tracking each chunk reported, in plan order.
    min_score, appearance_weight
        See :func:`link_boundary`.

    Returns
    -------
    StitchResult

    Raises
    ------
    InvalidInputError
        If the plan and the results disagree (count, or a row outside its chunk).
    """
    if len(chunks) != len(results) or not chunks:
        raise InvalidInputError(f"{len(chunks)} chunks but {len(results)} results")
    for chunk, result in zip(chunks, results, strict=True):
        f = result.rows.frames
        if len(f) and (f.min() < chunk.start or f.max() > chunk.stop):
            raise InvalidInputError(
                f"chunk {chunk.index} ({chunk.start}..{chunk.stop}) has rows of frames "
                f"{int(f.min())}..{int(f.max())}"
            )
    with_features = all(r.features is not None for r in results)
    id_maps: list[dict[int, int]] = []
    boundaries: list[BoundaryLinks] = []
    parts: list[ChunkTracks] = []
    previous: dict[int, int] = {}  # local id of the previous chunk -> final id
    next_id = 1
    for k, (chunk, result) in enumerate(zip(chunks, results, strict=True)):
        kept = result.frames_between(chunk.keep_start, chunk.stop)
        mapping: dict[int, int] = {}
        if k == 0:
            mapping = {int(t): int(t) for t in np.unique(kept.rows.ids)}
        else:
            before = chunks[k - 1]
            shared_a = results[k - 1].frames_between(chunk.start, before.stop)
            shared_b = result.frames_between(chunk.start, before.stop)
            links = link_boundary(
                shared_a, shared_b, min_score=min_score, appearance_weight=appearance_weight
            )
            for a, b, _ in links:
                # The shared frames lie within the earlier chunk's kept frames (overlap <= half
                # a chunk), so every earlier id seen there already has its final id.
                mapping[b] = previous[a]
            new_ids: list[int] = []
            for tid in _first_appearance_order(kept.rows):
                if tid not in mapping:
                    mapping[tid] = next_id
                    new_ids.append(tid)
                    next_id += 1
            boundaries.append(
                BoundaryLinks(k - 1, chunk.start, before.stop, chunk.keep_start, links, new_ids)
            )
        if mapping:
            next_id = max(next_id, max(mapping.values()) + 1)
        id_maps.append(mapping)
        ids = np.array([mapping.get(int(t), -1) for t in kept.rows.ids], np.int64)
        parts.append(
            ChunkTracks(
                MotData(kept.rows.frames, ids, kept.rows.tlwh, kept.rows.scores, kept.rows.extra),
                kept.features if with_features else None,
            )
        )
        previous = mapping
    rows = MotData(
        np.concatenate([p.rows.frames for p in parts]),
        np.concatenate([p.rows.ids for p in parts]),
        np.concatenate([p.rows.tlwh for p in parts]),
        np.concatenate([p.rows.scores for p in parts]),
        np.concatenate([p.rows.extra for p in parts]),
    )
    features = (
        np.concatenate([p.features for p in parts if p.features is not None])
        if with_features
        else None
    )
    return StitchResult(rows, features, boundaries, id_maps)


def _first_appearance_order(rows: MotData) -> list[int]:
    """Ids in order of their first row (rows are in frame order)."""
    _, first = np.unique(rows.ids, return_index=True)
    return [int(rows.ids[i]) for i in np.sort(first)]


def track_in_chunks(
    frames: Sequence[tuple[int, Detections]],
    make_tracker: Callable[[], Any],
    chunk_frames: int = DEFAULT_CHUNK_FRAMES,
    overlap: int = DEFAULT_OVERLAP,
    *,
    min_score: float = 0.5,
    appearance_weight: float = 0.01,
) -> StitchResult:
    """Track a sequence of per-frame detections chunk by chunk (in this process) and stitch.

    The reference of what a distributed run computes, for evaluation and tests: each chunk
    gets a fresh tracker from ``make_tracker()`` and the frames ``chunk.start..chunk.stop``.

    Parameters
    ----------
    frames
        ``(frame number, detections)`` of every frame, frame numbers ``1..N`` in order.
    make_tracker
        Returns a fresh tracker (anything with ``update(detections) -> tracks``).
    chunk_frames, overlap, min_score, appearance_weight
        See :func:`plan_chunks` and :func:`stitch`.
    """
    numbers = [int(f) for f, _ in frames]
    if numbers != list(range(1, len(numbers) + 1)):
        raise InvalidInputError("frames must be numbered 1..N in order")
    plan = plan_chunks(len(numbers), chunk_frames, overlap)
    results = []
    for chunk in plan:
        tracker = make_tracker()
        collector = TrackCollector()
        for number, dets in frames[chunk.start - 1 : chunk.stop]:
            collector.add(number, tracker.update(dets), dets)
        results.append(collector.result())
    return stitch(plan, results, min_score=min_score, appearance_weight=appearance_weight)


__all__ = [
    "BoundaryLinks",
    "StitchResult",
    "link_boundary",
    "link_scores",
    "stitch",
    "track_in_chunks",
]
