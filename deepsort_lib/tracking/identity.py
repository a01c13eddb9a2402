"""A bounded memory of lost identities, for re-entry and across cameras.

When a track stops being reported, its identity goes into an :class:`IdentityMemory` with an
appearance summary (a few L2-normalised mean features), its last box, the time it was last
seen, its class and the camera that saw it. A new track, once it is reported, is matched
against the memory (:meth:`IdentityMemory.match`): one global assignment
(``scipy.optimize.linear_sum_assignment``) on the cosine distance between summaries, under
feasibility constraints, accepting pairs at or below a cosine threshold. A matched identity
leaves the memory and continues under the new track.

Feasibility of (lost identity ``e``, new track ``q``):

* same class;
* no overlap in time: ``e`` was last seen strictly before ``q`` was first seen;
* not too old: ``q.first_time - e.last_time <= retention``;
* same camera, only when ``max_speed`` is set (default: no motion gate, a person may come
  back by any edge): plausible motion: the distance between ``e``'s last box centre and
  ``q``'s first box centre, in box heights (the mean of the two heights), is at most
  ``position_slack + max_speed * gap`` (``max_speed`` in box heights per time unit);
* another camera: the gap is at least ``min_transit`` (box positions of two cameras are not
  comparable, so appearance alone decides).

The acceptance threshold calibrates itself online by default (``calibrate=True``): the
wrappers feed the memory's :class:`~deepsort_lib.tracking.calibration.DistanceCalibration`
with same-identity and different-identity distances they observe, and
:attr:`IdentityMemory.threshold` follows the scene (``max_cosine_distance`` is its prior
until enough samples are in). ``calibrate=False`` keeps the fixed ``max_cosine_distance``.
Across cameras a camera's light, colour and viewpoint change every feature it gives (its
*cast*): the memory learns each camera pair's cast (a translation, a per-dimension gain, or
both) from the people it would link across that pair without it
(:mod:`~deepsort_lib.tracking.camera_cast`) and, from the pair's fourth link
on (while the cast explains its links), compares its pairs with the cast taken off, under the
same-camera threshold (times ``CAST_ALLOWANCE``). Until then the cross-camera threshold is
the calibrated one plus a scalar offset, learned online
(:meth:`~deepsort_lib.tracking.calibration.DistanceCalibration.cross_offset`: a low quantile
of each asking track's nearest cross-camera distance minus the median same-identity
distance, at most ``CROSS_OFFSET_CAP`` times the calibrated threshold); until it is
learned the offset is ``cross_camera_max_cosine_distance -
max_cosine_distance`` (if positive), and until the calibration is ready the threshold is
``cross_camera_max_cosine_distance`` itself. There is no floor: the configured cross-camera
threshold bounds the links the casts are learned from (:data:`LINK_REACH` times it), not the
matches. A track refused while one of its camera's pairs is not settled (no cast in use, or
too few links for a gain) may ask again (:meth:`IdentityMemory.in_warm_up`,
:meth:`IdentityMemory.cast_progress`; the re-entry wrapper does).

Time units are whatever the callers use: frames, or seconds when the trackers know their frame
rate (:class:`~deepsort_lib.tracking.reentry.ReentryTracker` ``fps=``). Several trackers
(one per camera) may share one memory: it hands out the global ids and is thread-safe.

Capacity is bounded: beyond ``capacity`` entries the oldest (earliest lost) is evicted, and
entries older than ``retention`` are dropped whenever the memory is used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import linear_sum_assignment

from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.tracking.calibration import DistanceCalibration
from deepsort_lib.tracking.camera_cast import (
    CAST_ALLOWANCE,
    CROSS_OFFSET_CAP,
    LINK_REACH,
    CameraCast,
    CastMap,
    pairs_with_cast,
    take_off_cast,
)
from deepsort_lib.tracking.identity_records import IdentityQuery, LostIdentity

FloatArray = NDArray[np.float64]
Float32Array = NDArray[np.float32]
IndexArray = NDArray[np.intp]
BoolArray = NDArray[np.bool_]

_INFEASIBLE = 1e5


class IdentityMemory:
    """Bounded, shareable memory of lost identities (see the module docstring).

    Parameters
    ----------
    retention
        How long a lost identity stays matchable, in the callers' time unit (seconds when the
        trackers are given ``fps``, frames otherwise).
    capacity
        Most identities kept; the earliest lost is evicted first.
    max_cosine_distance
        Largest cosine distance between summaries accepted as the same identity (same
        camera): fixed with ``calibrate=False``, else the calibration's prior. The distance
        of a pair is the largest, over the lost identity's summary rows, of that row's
        smallest distance to the query's rows.
    cross_camera_max_cosine_distance
        The same across cameras (default: ``max_cosine_distance``); a camera's own colour
        and viewpoint usually shift features, so it may need to be looser. With calibration,
        it is the cross-camera threshold until the calibration is ready, its excess over
        ``max_cosine_distance`` is the cast's allowance until its size is learned, and
        ``LINK_REACH`` times it bounds the links the camera casts learn from.
    max_speed
        Fastest plausible motion while unseen, in box heights per time unit (same camera);
        ``None`` (default): no motion gate.
    position_slack
        Distance in box heights allowed whatever the gap (detection jitter, a step aside).
    min_transit
        Shortest time between leaving one camera and appearing in another.
    calibrate
        Calibrate the threshold online (see the module docstring); or a
        :class:`~deepsort_lib.tracking.calibration.DistanceCalibration` to use.
    learn_camera_cast
        With calibration, learn each camera pair's cast from the people linked across it
        and compare cross-camera pairs with it taken off
        (:mod:`~deepsort_lib.tracking.camera_cast`).

    Notes
    -----
    Cost: :meth:`add` and :meth:`withdraw` are O(1) dictionary operations; :meth:`match` is
    one ``(Q·K) x (E·K)`` float32 product (``Q`` new tracks, ``E`` feasible entries, ``K``
    summary rows) and one ``Q x E`` assignment, and runs only on frames where a new track is
    first reported.
    """

    def __init__(
        self,
        retention: float = 1500.0,
        capacity: int = 1000,
        max_cosine_distance: float = 0.25,
        *,
        cross_camera_max_cosine_distance: float | None = None,
        max_speed: float | None = None,
        position_slack: float = 1.0,
        min_transit: float = 0.0,
        calibrate: bool | DistanceCalibration = True,
        learn_camera_cast: bool = True,
    ) -> None:
        checks = {
            "retention": retention,
            "max_speed": 0.0 if max_speed is None else max_speed,
            "position_slack": position_slack,
            "min_transit": min_transit,
        }
        for name, value in checks.items():
            if not (np.isfinite(value) and value >= 0):
                raise ConfigurationError(f"{name} must be a finite number >= 0, got {value}")
        cross = (
            max_cosine_distance
            if cross_camera_max_cosine_distance is None
            else cross_camera_max_cosine_distance
        )
        for name, value in (("max_cosine_distance", max_cosine_distance), ("cross", cross)):
            if not 0.0 <= value <= 2.0:
                raise ConfigurationError(f"{name} must be in [0, 2], got {value}")
        if int(capacity) != capacity or capacity < 1:
            raise ConfigurationError(f"capacity must be a positive integer, got {capacity}")
        self.retention = float(retention)
        self.capacity = int(capacity)
        self.max_cosine_distance = float(max_cosine_distance)
        self.cross_camera_max_cosine_distance = float(cross)
        self.max_speed = None if max_speed is None else float(max_speed)
        self.position_slack = float(position_slack)
        self.min_transit = float(min_transit)
        self.calibration: DistanceCalibration | None
        if isinstance(calibrate, DistanceCalibration):
            self.calibration = calibrate
        else:
            self.calibration = DistanceCalibration(self.max_cosine_distance) if calibrate else None
        self.learn_camera_cast = bool(learn_camera_cast)
        #: The cameras' learned casts (with calibration only: a fixed memory stays fixed).
        self.camera_cast: CameraCast | None = (
            CameraCast() if self.calibration and self.learn_camera_cast else None
        )
        self._entries: OrderedDict[int, LostIdentity] = OrderedDict()
        self._next_id = 1
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Number of lost identities held."""
        return len(self._entries)

    def __contains__(self, global_id: object) -> bool:
        return global_id in self._entries

    @property
    def entries(self) -> list[LostIdentity]:
        """The identities held, earliest lost first."""
        with self._lock:
            return list(self._entries.values())

    @property
    def threshold(self) -> float:
        """The same-camera acceptance threshold now: calibrated, or ``max_cosine_distance``."""
        if self.calibration is None:
            return self.max_cosine_distance
        with self._lock:
            return self.calibration.threshold

    def observe_distances(
        self,
        same: ArrayLike = (),
        different: ArrayLike = (),
        drift: tuple[ArrayLike, ArrayLike] = ((), ()),
    ) -> None:
        """Feed the calibration same- and different-identity cosine distances and drift
        ``(elapsed, distances)`` pairs (a no-op without calibration; non-finite values are
        ignored)."""
        if self.calibration is None:
            return
        with self._lock:
            self.calibration.add_same(same)
            self.calibration.add_different(different)
            self.calibration.add_drift(*drift)

    @property
    def next_id(self) -> int:
        """The id :meth:`new_id` hands out next."""
        return self._next_id

    def continue_ids_from(self, next_id: int) -> None:
        """Hand out ids from ``next_id`` on (a restored memory continues its numbering); ids
        never go backwards."""
        with self._lock:
            self._next_id = max(self._next_id, int(next_id))

    def new_id(self) -> int:
        """A global id never handed out before by this memory (starts at 1)."""
        with self._lock:
            gid = self._next_id
            self._next_id += 1
            return gid

    def add(self, entry: LostIdentity) -> None:
        """Remember a lost identity (replacing an entry of the same id); evicts the oldest
        beyond ``capacity``."""
        summary = np.asarray(entry.summary, dtype=np.float32)
        if summary.ndim != 2:
            raise InvalidInputError(f"summary must be (K, D), got shape {summary.shape}")
        if not np.isfinite(summary).all():
            raise InvalidInputError("summary has NaN or infinite values")
        with self._lock:
            self._entries.pop(entry.global_id, None)
            self._entries[entry.global_id] = entry
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def withdraw(self, global_id: int) -> bool:
        """Take an identity back out (its track was found again). ``False`` if it is no longer
        held (claimed by another track, expired or evicted)."""
        with self._lock:
            return self._entries.pop(global_id, None) is not None

    def expire(self, now: float) -> None:
        """Drop identities last seen more than ``retention`` before ``now``."""
        with self._lock:
            self._expire(now)

    def _expire(self, now: float) -> None:
        old = [g for g, e in self._entries.items() if now - e.last_time > self.retention]
        for g in old:
            del self._entries[g]

    def clear(self) -> None:
        """Forget every identity (ids keep counting up)."""
        with self._lock:
            self._entries.clear()

    def in_warm_up(self, camera: str) -> bool:
        """Whether a lost identity of another camera is held whose camera pair with
        ``camera`` is not settled yet (no cast in use, or too few links for a gain:
        :meth:`~deepsort_lib.tracking.camera_cast.CameraCast.settled`; ``False`` without a
        learned cast): a track refused now may be accepted once the pair has learned
        more."""
        cast = self.camera_cast
        if cast is None:
            return False
        with self._lock:
            cameras = {e.camera for e in self._entries.values()} - {camera}
            return any(not cast.settled(other, camera) for other in cameras)

    def cast_progress(self, camera: str) -> int:
        """How far ``camera``'s camera pairs have learned their casts (0 without a learned
        cast; :meth:`~deepsort_lib.tracking.camera_cast.CameraCast.progress`): a track
        refused in warm-up asks again when it changes."""
        with self._lock:
            return 0 if self.camera_cast is None else self.camera_cast.progress(camera)

    def match(
        self, queries: list[IdentityQuery], now: float, *, learn: bool = True
    ) -> list[int | None]:
        """Assign lost identities to new tracks; matched identities leave the memory.

        Parameters
        ----------
        queries
            The new tracks.
        now
            The current time (for expiry).
        learn
            Learn the cameras' casts from these queries (``False`` for tracks asking again,
            which were learned from when they first asked).

        Returns
        -------
        list
            Per query, the global id it continues, or ``None`` (a new identity).
        """
        result: list[int | None] = [None] * len(queries)
        with self._lock:
            self._expire(now)
            if not queries or not self._entries:
                return result
            entries = list(self._entries.values())
            cost, limit, raw, raw_limit = self._costs(queries, entries)
            if learn:
                self._learn_cross(queries, entries, raw, raw_limit)
            cost[cost > limit] = _INFEASIBLE
            # Each pair gains (threshold - distance); a query may stay unmatched at no cost,
            # so one good match is never traded for two mediocre ones.
            gain = np.where(cost < _INFEASIBLE, cost - limit, _INFEASIBLE)
            rows, cols = linear_sum_assignment(np.hstack([gain, np.zeros((len(queries),) * 2)]))
            for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                if c < len(entries) and cost[r, c] < _INFEASIBLE:
                    result[r] = entries[c].global_id
                    del self._entries[entries[c].global_id]
        return result

    def _learn_cross(
        self,
        queries: list[IdentityQuery],
        entries: list[LostIdentity],
        raw: FloatArray,
        raw_limit: FloatArray,
    ) -> None:
        """Learn what cameras do from the *raw* cross-camera costs (no cast taken off): each
        query's nearest feasible cross-camera distance measures the cast's size (the
        calibration's offset), and its nearest entry, within ``LINK_REACH`` times the raw
        threshold (at least ``cross_camera_max_cosine_distance``), is a link the pair's cast
        is learned from. Raw, so that a cast learned wrong cannot refuse the links that would
        correct it."""
        if self.calibration is None:
            return
        q_cam = np.array([q.camera for q in queries], dtype=object)
        e_cam = np.array([e.camera for e in entries], dtype=object)
        cross = np.where(q_cam[:, None] != e_cam[None, :], raw, _INFEASIBLE)
        nearest = cross.argmin(axis=1)
        best = cross[np.arange(len(queries)), nearest]
        self.calibration.add_cross_best(best[best < _INFEASIBLE])
        if self.camera_cast is None:
            return
        reach = LINK_REACH * np.maximum(raw_limit, self.cross_camera_max_cosine_distance)
        for i, j in enumerate(nearest.tolist()):
            q, e = queries[i], entries[j]
            if best[i] <= reach[i, j] and len(q.summary) and len(e.summary):
                gap = q.first_time - e.last_time
                self.camera_cast.learn(e.camera, q.camera, e.summary[0], q.summary[0], gap)

    def cost_matrix(
        self, queries: list[IdentityQuery], entries: list[LostIdentity]
    ) -> tuple[FloatArray, FloatArray]:
        """Cosine cost of every (query, entry) pair, ``1e5`` where infeasible, and each pair's
        acceptance threshold (the cameras' learned casts taken off)."""
        cost, limit, _, _ = self._costs(queries, entries)
        return cost, limit

    def _costs(
        self, queries: list[IdentityQuery], entries: list[LostIdentity]
    ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """:meth:`cost_matrix`'s cost and threshold, then the same *raw* (as if no camera
        cast were learned; the same arrays where no cast is taken off), from one pass."""
        nq, ne = len(queries), len(entries)
        cost = np.full((nq, ne), _INFEASIBLE)
        if nq == 0 or ne == 0:
            none = np.zeros((nq, ne))
            return cost, none, cost, none
        q_cam = np.array([q.camera for q in queries], dtype=object)
        e_cam = np.array([e.camera for e in entries], dtype=object)
        same_cam = q_cam[:, None] == e_cam[None, :]
        q_cls = np.array([q.class_id for q in queries])
        e_cls = np.array([e.class_id for e in entries])
        q_t = np.array([q.first_time for q in queries], dtype=np.float64)
        e_t = np.array([e.last_time for e in entries], dtype=np.float64)
        gap = q_t[:, None] - e_t[None, :]
        feasible = (q_cls[:, None] == e_cls[None, :]) & (gap > 0) & (gap <= self.retention)
        feasible &= np.where(same_cam, True, gap >= self.min_transit)
        if self.max_speed is not None:
            # Plausible motion within one camera, in box heights.
            q_box = np.array([q.first_tlwh for q in queries], dtype=np.float64).reshape(nq, 4)
            e_box = np.array([e.last_tlwh for e in entries], dtype=np.float64).reshape(ne, 4)
            q_c = q_box[:, :2] + q_box[:, 2:] / 2
            e_c = e_box[:, :2] + e_box[:, 2:] / 2
            dist = np.sqrt(((q_c[:, None, :] - e_c[None, :, :]) ** 2).sum(axis=2))
            heights = np.maximum((q_box[:, None, 3] + e_box[None, :, 3]) / 2, 1e-6)
            reach = self.position_slack + self.max_speed * np.maximum(gap, 0)
            feasible &= np.where(same_cam, dist / heights <= reach, True)
        casts = self._casts(q_cam, e_cam, feasible & ~same_cam)
        raw_limit, under_cast = self._limits(np.maximum(gap, 0.0), same_cam)
        limit = raw_limit
        if casts:
            limit = np.where(pairs_with_cast(casts, q_cam, e_cam), under_cast, raw_limit)
        q_rows = [np.asarray(q.summary, dtype=np.float32) for q in queries]
        e_rows = [np.asarray(e.summary, dtype=np.float32) for e in entries]
        dims = {r.shape[1] for r in q_rows + e_rows if r.size}
        if len(dims) > 1:
            raise InvalidInputError(f"appearance summaries of different lengths: {sorted(dims)}")
        q_owner = np.repeat(np.arange(nq), [len(r) for r in q_rows])
        e_owner = np.repeat(np.arange(ne), [len(r) for r in e_rows])
        if not dims or not feasible.any() or len(q_owner) == 0 or len(e_owner) == 0:
            return cost, limit, cost, raw_limit
        q_all = np.concatenate([r for r in q_rows if r.size])
        e_all = np.concatenate([r for r in e_rows if r.size])
        sim = np.matmul(q_all, e_all.T).astype(np.float64)
        raw = _summary_costs(sim, q_owner, e_owner, feasible) if casts else None
        for (entry_camera, query_camera), cast in casts.items():
            take_off_cast(
                sim,
                q_all,
                e_all,
                q_cam[q_owner] == query_camera,
                e_cam[e_owner] == entry_camera,
                cast,
            )
        cost = _summary_costs(sim, q_owner, e_owner, feasible)
        return cost, limit, (cost if raw is None else raw), raw_limit

    def _casts(
        self, q_cam: NDArray[np.object_], e_cam: NDArray[np.object_], cross: NDArray[np.bool_]
    ) -> dict[tuple[str, str], CastMap]:
        """The learned cast of each (entry camera, query camera) pair among ``cross`` pairs."""
        if self.camera_cast is None:
            return {}
        pairs = {(str(e_cam[j]), str(q_cam[i])) for i, j in zip(*np.nonzero(cross), strict=True)}
        out = {}
        for entry_camera, query_camera in pairs:
            cast = self.camera_cast.mapping(entry_camera, query_camera)
            if cast is not None:
                out[(entry_camera, query_camera)] = cast
        return out

    def _limits(
        self, gap: FloatArray, same_cam: NDArray[np.bool_]
    ) -> tuple[FloatArray, FloatArray]:
        """Each pair's acceptance threshold with no cast taken off (see the module
        docstring), and the threshold of a cross-camera pair whose cast is taken off."""
        if self.calibration is None:
            fixed: FloatArray = np.where(
                same_cam, self.max_cosine_distance, self.cross_camera_max_cosine_distance
            ).astype(np.float64)
            return fixed, fixed  # no calibration, no cast learned
        limit = self.calibration.thresholds(gap)
        # Across cameras, until the pair's cast is learned: the calibrated threshold plus the
        # cast's size learned between cameras (at most CROSS_OFFSET_CAP thresholds), or the
        # configured allowance until learned (the configured threshold itself until
        # calibrated). No floor: the configured cross-camera threshold only bounds the links
        # learned from (a floor let every look-alike through while a pair warmed up).
        learned = self.calibration.cross_offset()
        extra = (
            max(self.cross_camera_max_cosine_distance - self.max_cosine_distance, 0.0)
            if learned is None
            else np.minimum(learned, CROSS_OFFSET_CAP * limit)
        )
        cross = (
            np.clip(limit + extra, 0.0, 2.0)
            if self.calibration.ready
            else np.full(limit.shape, self.cross_camera_max_cosine_distance)
        )
        raw: FloatArray = np.where(same_cam, limit, cross)
        # With the pair's cast taken off, a traveller is nearly as close as within one camera:
        # the cast is an estimate from a few links, hence the allowance.
        under_cast: FloatArray = np.minimum(CAST_ALLOWANCE * limit, self.calibration.upper)
        return raw, under_cast


def _summary_costs(
    similarity: FloatArray, q_owner: IndexArray, e_owner: IndexArray, feasible: BoolArray
) -> FloatArray:
    """``(Q, E)`` cosine costs from the similarities of all summary rows (row ``i`` of
    ``similarity`` belongs to query ``q_owner[i]``, column ``j`` to entry ``e_owner[j]``),
    ``1e5`` where infeasible.

    Each summary row of the lost identity (whole track, recent frames) must be matched by
    some row of the query: the pair's similarity is the worst of the entry rows' best
    similarities. A track that switched people has two rows far apart and so matches neither
    person well (safer than matching whichever is closer)."""
    nq, ne = feasible.shape
    best = np.full((nq, len(e_owner)), -np.inf)
    np.maximum.at(best, q_owner, similarity)
    pair = np.full((nq, ne), np.inf)
    np.minimum.at(pair.T, e_owner, best.T)
    distance = 1.0 - pair
    cost = np.full((nq, ne), _INFEASIBLE)
    ok = feasible & np.isfinite(distance)
    cost[ok] = distance[ok]
    return cost


__all__ = ["IdentityMemory", "IdentityQuery", "LostIdentity"]
