"""Long videos in chunks: plan overlapping chunks, then stitch their track ids into one space.

A video of N frames is cut into chunks of ``chunk_frames`` (C) frames; chunk ``k + 1`` starts
``overlap`` (O) frames before chunk ``k`` ends. Each chunk is tracked independently (by any
worker, in any order), so its track ids are its own. Stitching then links the ids of
consecutive chunks over the frames they share:

* every pair (track ``a`` of the earlier chunk, track ``b`` of the later one) present in the
  shared frames gets a score: the mean IoU of their boxes over the frames where both are
  reported, times the fraction of their presence that is shared
  (``sum IoU / max(frames of a, frames of b)``), so a pair seen together for two frames does not
  beat a pair seen together for forty;
* a one-to-one assignment (Hungarian) on ``1 - score`` links the pairs scoring at least
  ``min_score``; when both chunks carry appearance features, the cosine distance of the
  tracks' mean features breaks near-ties (it adds at most ``appearance_weight * 2`` to a cost);
* the earlier chunk's rows cover the shared frames (an online tracker is at its best at the
  end of a chunk, while the later chunk is still confirming its tracks there), the later
  chunk's rows start right after them: no frame is missing or written twice;
* ids: the first chunk keeps its own (its rows are exactly those of an unchunked run); a
  linked track of a later chunk takes the id of its partner; an unlinked one gets a new id
  above every id used so far, in order of first appearance.

How C and O trade accuracy for parallelism (docs/distributed.md has the measurements): a
video gives about ``N / (C - O)`` chunks to run in parallel, each re-tracking ``O`` frames
already tracked by its neighbour (work overhead ``O / (C - O)``). O must exceed the tracker's
``n_init`` (a track is reported only once confirmed) plus the longest occlusion to bridge,
otherwise tracks crossing a boundary cannot be linked and change id there. C only sets how many
boundaries there are.

Everything here is numpy on arrays; no Ray, no I/O. The pieces live in
:mod:`~deepsort_lib.distributed.planning` (:func:`plan_chunks`),
:mod:`~deepsort_lib.distributed.results` (what a chunk returns) and
:mod:`~deepsort_lib.distributed.stitching` (linking ids); this module gathers them.
"""

from __future__ import annotations

from deepsort_lib.distributed.planning import (
    DEFAULT_CHUNK_FRAMES,
    DEFAULT_OVERLAP,
    Chunk,
    plan_chunks,
)
from deepsort_lib.distributed.results import ChunkTracks, TrackCollector
from deepsort_lib.distributed.stitching import (
    BoundaryLinks,
    StitchResult,
    link_boundary,
    link_scores,
    stitch,
    track_in_chunks,
)

__all__ = [
    "DEFAULT_CHUNK_FRAMES",
    "DEFAULT_OVERLAP",
    "BoundaryLinks",
    "Chunk",
    "ChunkTracks",
    "StitchResult",
    "TrackCollector",
    "link_boundary",
    "link_scores",
    "plan_chunks",
    "stitch",
    "track_in_chunks",
]
