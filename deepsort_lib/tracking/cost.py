"""The association cost as a public extension point.

By default the first matching stage of :class:`~deepsort_lib.tracking.tracker.Tracker` costs a
(track, detection) pair by the cosine distance of their appearance (Deep SORT), optionally
blended with the motion distance (StrongSORT), or by ``1 - IoU`` on frames without features.
Any object with a ``max_distance`` attribute and a ``__call__(context) -> (T, N) array``
replaces that cost (compare norfair's distance functions and nwojke's metric object). The
tracker still applies the Mahalanobis gate and, with ``match_classes``, the class rule on top
of what it returns, and runs the cascade (or the global matching) on the result.

Example
-------
A cost that mixes appearance with centre distance in pixels::

    class CentreAndAppearance:
        max_distance = 0.5

        def __call__(self, ctx: CostContext) -> np.ndarray:
            centre_t = ctx.track_tlwh[:, :2] + ctx.track_tlwh[:, 2:] / 2
            centre_d = ctx.detection_tlwh[:, :2] + ctx.detection_tlwh[:, 2:] / 2
            pixels = np.linalg.norm(centre_t[:, None] - centre_d[None], axis=2)
            looks = 1.0 if ctx.appearance is None else ctx.appearance
            return 0.5 * looks + 0.5 * np.minimum(pixels / 200.0, 1.0)

    tracker = Tracker(association_cost=CentreAndAppearance())
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class CostContext:
    """What a custom association cost may look at, for ``T`` candidate tracks and ``N``
    detections of one frame. Every array is read-only to the cost.

    Attributes
    ----------
    track_ids, track_class_ids, time_since_update
        ``(T,)`` identity, class and detector frames since the last match of each track.
    track_tlwh
        ``(T, 4)`` the tracks' predicted boxes (top-left x, y, width, height; pixels).
    detection_tlwh, detection_scores, detection_class_ids
        ``(N, 4)``, ``(N,)``, ``(N,)`` this frame's candidate detections.
    detection_features
        ``(N, D)`` their L2-normalised features, or ``None`` on a frame without features.
    mahalanobis
        ``(T, N)`` squared Mahalanobis distance of each detection to each track's prediction.
    gating_threshold
        The gate on ``mahalanobis`` the tracker applies to the result.
    """

    track_ids: IntArray
    track_class_ids: IntArray
    time_since_update: IntArray
    track_tlwh: FloatArray
    detection_tlwh: FloatArray
    detection_scores: FloatArray
    detection_class_ids: IntArray
    detection_features: NDArray[np.float32] | None
    mahalanobis: FloatArray
    gating_threshold: float
    _appearance: Callable[[], FloatArray | None] = field(repr=False)

    @cached_property
    def appearance(self) -> FloatArray | None:
        """``(T, N)`` cosine distance from the tracker's appearance model (computed on first
        use, inside the gate only; 1.0 elsewhere and where either side has no appearance), or
        ``None`` on a frame without features. Only available during the call."""
        return self._appearance()


@runtime_checkable
class AssociationCost(Protocol):
    """A user-supplied cost of the first matching stage.

    Attributes
    ----------
    max_distance
        Pairs costing more than this are never matched.
    """

    max_distance: float

    def __call__(self, context: CostContext) -> FloatArray:
        """The ``(T, N)`` cost of every (track, detection) pair; lower is better."""
        ...


__all__ = ["AssociationCost", "CostContext"]
