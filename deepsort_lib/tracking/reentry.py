"""Re-entry: a wrapper that gives any tracker long-term identities.

:class:`ReentryTracker` wraps a tracker that meets :class:`~deepsort_lib.protocols.Tracker`
(ours, or the user's own) and keeps its ``update()`` / ``predict()`` contract. It maps the
inner tracker's ids (*local* ids) to *persistent* ids handed out by an
:class:`~deepsort_lib.tracking.identity.IdentityMemory`:

* each reported track's appearance is accumulated from the features of the detection it
  matched (``track.detection_index``): a running mean over the whole track and a mean over
  its last ``recent`` detections (tentative tracks too, when the inner tracker exposes a
  ``tracks`` list as :class:`~deepsort_lib.tracking.tracker.Tracker` does);
* when a track stops being reported, its identity goes into the memory (with those two
  means, its last box, time and class); if the inner tracker reports it again, it takes it
  back;
* when a track is reported for the first time (i.e. once confirmed), it is matched against
  the memory (one global assignment for all new tracks of the frame); a match continues the
  old persistent id, otherwise the memory hands out a new one, and the track asks once more
  when its ``recent`` window is full (a match then replaces that provisional id), and again
  whenever a camera pair that was still learning its cast when it was refused progresses
  (:meth:`~deepsort_lib.tracking.identity.IdentityMemory.cast_progress`);
* every ``recent`` features per track and every ``recent`` frames, the wrapper feeds the
  memory's threshold calibration (:mod:`deepsort_lib.tracking.calibration`) with
  same-identity, drift and different-identity distances it observes.

An identity enters the memory as soon as its track is no longer reported, not only once the
inner tracker deletes it after ``max_age``: a person who re-enters elsewhere in the frame
within ``max_age`` gets a new inner track (the motion gate forbids the far-away match) while
the old one is still coasting, and should still get the old identity back. If the old inner
track is later re-matched after its identity was claimed, it gets a fresh persistent id (an
id is never reported twice in one frame).

Time is frames (``fps=None``) or seconds (``fps`` given, or an explicit ``timestamp`` per
update), in the memory's unit. Several wrappers, one per camera, may share one memory: ids
are then global across cameras, :attr:`ReentryTrack.local_id` keeps the camera's own id.

Cost per frame: O(reported tracks) dictionary work plus one ``D``-vector addition per
matched track; every ``recent`` features per track up to 32 ``D``-dot products (drift);
every ``recent`` frames one ``(tracks x tracks)`` product (nearest other track); on frames
where new tracks appear or fill their window, one ``IdentityMemory.match``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import ConfigurationError, reading_state
from deepsort_lib.tracking.identity import IdentityMemory, IdentityQuery, LostIdentity
from deepsort_lib.tracking.reentry_state import (
    memory_state,
    read_reentry_state,
    reentry_state,
    restore_memory,
    restore_track,
    track_state,
)
from deepsort_lib.tracking.reentry_track import ReentryTrack
from deepsort_lib.tracking.track_appearance import TrackAppearance, unit_rows
from deepsort_lib.tracking.tracker import Tracker

FloatArray = NDArray[np.float64]


class ReentryTracker:
    """Wrap ``tracker`` so that identities survive leaving and re-entering (or, with a shared
    memory, moving to another camera).

    Parameters
    ----------
    tracker
        Any object with ``update(detections, ...) -> tracks`` whose tracks have
        ``track_id``, ``tlwh``, ``class_id`` and ``detection_index`` (the protocols of
        :mod:`deepsort_lib.protocols`). Extra arguments of :meth:`update` are passed on.
    memory
        The identity memory; a new private one by default. Share one instance between the
        wrappers of several cameras for global ids.
    camera
        This stream's name (its identities are matched across cameras only after the
        memory's ``min_transit``).
    fps
        Frame rate: with it, the clock is in seconds (frame / fps); without, in frames.
    recent
        How many of a track's latest features form its "recent" mean.
    split_distance
        Cosine distance between the mean of a track's older features and of its ``recent``
        latest ones above which the inner tracker is taken to have switched people: unless
        most of the track follows the current person, the earlier part's identity goes to
        the memory and the track is treated as new (matched against the memory, or given a
        new id); if it later looks like its earlier part again, it takes that identity back.
        ``None`` never splits. Means of ``recent`` features average per-frame noise away, so
        one value suits noisy and clean features.

    Examples
    --------
    >>> from deepsort_lib import Tracker
    >>> from deepsort_lib.tracking.identity import IdentityMemory
    >>> tracker = ReentryTracker(Tracker(), IdentityMemory(retention=60.0), fps=25.0)
    """

    def __init__(
        self,
        tracker: Any,
        memory: IdentityMemory | None = None,
        *,
        camera: str = "0",
        fps: float | None = None,
        recent: int = 10,
        split_distance: float | None = 0.4,
    ) -> None:
        if not callable(getattr(tracker, "update", None)):
            raise ConfigurationError(f"{type(tracker).__name__} has no update() method")
        if fps is not None and not (np.isfinite(fps) and fps > 0):
            raise ConfigurationError(f"fps must be positive, got {fps}")
        if int(recent) != recent or recent < 1:
            raise ConfigurationError(f"recent must be a positive integer, got {recent}")
        self.tracker = tracker
        self.memory = memory if memory is not None else IdentityMemory()
        self.camera = str(camera)
        self.fps = fps
        if split_distance is not None and not 0.0 < split_distance <= 2.0:
            raise ConfigurationError(f"split_distance must be in (0, 2], got {split_distance}")
        self.recent = int(recent)
        self.split_distance = split_distance
        self._frame = 0
        self._now = 0.0  # this step's clock (set first thing in every step)
        self._locals: dict[int, TrackAppearance] = {}

    # -- the tracker contract -----------------------------------------------------------------

    @property
    def min_appearance_score(self) -> float | None:
        """The inner tracker's (the pipeline reads it to skip encoding low scores)."""
        return getattr(self.tracker, "min_appearance_score", None)

    def __len__(self) -> int:
        """The inner tracker's live tracks (or, if it cannot say, the reported ones)."""
        if hasattr(type(self.tracker), "__len__"):
            return len(self.tracker)
        return sum(1 for local in self._locals.values() if local.reported)

    @property
    def now(self) -> float:
        """The clock of the last step (frames, or seconds with ``fps``)."""
        return self._frame / self.fps if self.fps else float(self._frame)

    def update(
        self, detections: Any, *args: Any, timestamp: float | None = None, **kwargs: Any
    ) -> list[ReentryTrack]:
        """The inner tracker's ``update`` under persistent ids.

        ``timestamp`` (optional) sets the clock for this frame (seconds, in the memory's unit;
        needed when cameras run at different or irregular rates). Features are read from the
        ``features`` argument when given, else from ``detections.features``.
        """
        tracks = self.tracker.update(detections, *args, **kwargs)
        features = kwargs.get("features", args[0] if args else None)
        if features is None:
            features = getattr(detections, "features", None)
        return self.observe(tracks, features, timestamp=timestamp)

    def observe(
        self, tracks: Sequence[Any], features: Any = None, *, timestamp: float | None = None
    ) -> list[ReentryTrack]:
        """Persistent ids for the tracks the inner tracker has just reported, when something
        else advanced it (e.g. :class:`~deepsort_lib.streams.tracker.MultiStreamTracker`).

        Call it once per inner update or predict, with that step's tracks and the ``(N, D)``
        features of its detections (``None`` for a predict).
        """
        feats = None if features is None else np.asarray(features, dtype=np.float32)
        return self._step(tracks, feats, timestamp)

    def predict(self, *, timestamp: float | None = None) -> list[ReentryTrack]:
        """The inner tracker's ``predict`` (a frame without detections) under persistent
        ids."""
        predict = getattr(self.tracker, "predict", None)
        if not callable(predict):
            raise ConfigurationError(f"{type(self.tracker).__name__} has no predict() method")
        return self._step(predict(), None, timestamp)

    def reset(self) -> None:
        """Reset the inner tracker and forget its tracks; the memory keeps what it holds."""
        reset = getattr(self.tracker, "reset", None)
        if callable(reset):
            reset()
        self._locals.clear()

    def state_dict(self) -> dict[str, Any]:
        """The inner tracker's state (it needs a ``state_dict``), the memory's (with its
        calibration) and the wrapper's own, as plain arrays and numbers
        (:mod:`deepsort_lib.tracking.reentry_state`); :meth:`from_state` continues from it
        bit-identically.

        Raises
        ------
        ConfigurationError
            If the inner tracker has no ``state_dict`` method.
        """
        inner = getattr(self.tracker, "state_dict", None)
        if not callable(inner):
            raise ConfigurationError(
                f"{type(self.tracker).__name__} has no state_dict(): the inner tracker's "
                "state cannot be saved"
            )
        return reentry_state(
            inner(),
            memory_state(self.memory),
            camera=self.camera,
            fps=self.fps,
            recent=self.recent,
            split_distance=self.split_distance,
            frame=self._frame,
            tracks={lid: track_state(loc) for lid, loc in self._locals.items()},
        )

    @classmethod
    def from_state(
        cls, state: Any, *, tracker: Any = None, memory: IdentityMemory | None = None
    ) -> ReentryTracker:
        """A wrapper continuing from a :meth:`state_dict`.

        ``tracker``: the inner tracker, already restored (default: a
        :class:`~deepsort_lib.tracking.tracker.Tracker` from the saved state). ``memory``: a
        memory to use instead of the saved one (e.g. one restored once and shared by the
        wrappers of several cameras). Raises :class:`~deepsort_lib.errors.StateError` on a
        corrupt or foreign state.
        """
        parts = read_reentry_state(state)
        if tracker is None:
            tracker = Tracker.from_state(parts.tracker)
        if memory is None:
            memory = restore_memory(parts.memory)
        with reading_state("re-entry"):
            wrapper = cls(
                tracker,
                memory,
                camera=parts.camera,
                fps=parts.fps,
                recent=parts.recent,
                split_distance=parts.split_distance,
            )
            wrapper._frame = parts.frame
            wrapper._locals = {
                lid: restore_track(saved, wrapper.recent) for lid, saved in parts.tracks.items()
            }
        return wrapper

    def persistent_id(self, local_id: int) -> int | None:
        """The persistent id of an inner track (``None`` if it was never reported)."""
        local = self._locals.get(local_id)
        return None if local is None else local.global_id

    # -- bookkeeping --------------------------------------------------------------------------

    def _step(
        self, tracks: Sequence[Any], features: NDArray[np.float32] | None, timestamp: float | None
    ) -> list[ReentryTrack]:
        self._frame += 1
        now = float(timestamp) if timestamp is not None else self.now
        self._now = now
        live = getattr(self.tracker, "tracks", None)
        observed = list(live) if live is not None else list(tracks)
        units, has = unit_rows(features)
        same: list[float] = []
        drift: list[tuple[float, float]] = []
        for t in observed:
            self._observe(t, units, has, now, same, drift)
        if live is not None:
            alive = {int(t.track_id) for t in observed}
            for lid in [lid for lid in self._locals if lid not in alive]:
                self._release(lid, now)
                del self._locals[lid]
        reported = {int(t.track_id) for t in tracks}
        for lid in [lid for lid, loc in self._locals.items() if loc.reported]:
            if lid not in reported:
                self._release(lid, now)
        new_ids = [
            int(t.track_id) for t in tracks if self._locals[int(t.track_id)].global_id is None
        ]
        self._assign_new(new_ids)
        for t in tracks:
            loc = self._locals[int(t.track_id)]
            if not loc.reported:
                self._resume(loc)
            loc.last_reported = now
        self._claim_pending(tracks)
        self._reask_after_warm_up(tracks)
        different = self._different_distances(tracks) if self._frame % self.recent == 0 else ()
        if same or drift or len(different):
            elapsed, moved = zip(*drift, strict=True) if drift else ((), ())
            self.memory.observe_distances(same, different, (elapsed, moved))
        self._forget_unclaimable()
        return [
            ReentryTrack(
                int(loc.global_id),  # type: ignore[arg-type]
                int(t.track_id),
                self.camera,
                loc.reidentified,
                t,
            )
            for t in tracks
            for loc in (self._locals[int(t.track_id)],)
        ]

    def _observe(
        self,
        track: Any,
        units: NDArray[np.float32] | None,
        has: NDArray[np.bool_] | None,
        now: float,
        same: list[float],
        drift: list[tuple[float, float]],
    ) -> None:
        lid = int(track.track_id)
        local = self._locals.get(lid)
        if local is None:
            tlwh = np.asarray(track.tlwh, dtype=np.float64)
            local = TrackAppearance(
                now, tlwh, now, tlwh, int(track.class_id), deque(maxlen=self.recent)
            )
            self._locals[lid] = local
        det = track.detection_index
        if det is None or track.time_since_update != 0:
            return  # not seen this frame: keep the last observation
        unit = None
        if units is not None and has is not None and 0 <= det < len(units) and has[det]:
            unit = units[det]
        box = getattr(track, "detection_tlwh", None)
        tlwh = np.asarray(track.tlwh if box is None else box, np.float64)
        part = local.observe(now, tlwh, track.class_id, unit, self.split_distance)
        if part is None:
            if local.split_from is not None and unit is not None:
                self._take_back(local)
            if unit is not None and local.reported and local.feature_count % self.recent == 0:
                # A same-identity distance for the calibration, every `recent` features.
                d = local.self_distance()
                if d is not None:
                    same.append(d)
                drift.extend(local.drift_distances(now))
            return
        # The inner track moved onto someone else: its identity so far becomes claimable
        # (if it was reported) and the track asks the memory again as a new one.
        if local.reported and local.global_id is not None:
            self.memory.add(
                LostIdentity(
                    local.global_id,
                    self.camera,
                    local.class_id,
                    part.last_time,
                    part.last_tlwh,
                    part.summary,
                )
            )
        local.split_from = local.global_id if local.reported else None
        local.split_summary = part.summary if local.split_from is not None else None
        local.global_id = None
        local.reported = False
        local.reidentified = False

    def _take_back(self, local: TrackAppearance) -> None:
        """A split track whose recent mean is back on its earlier person takes its earlier
        identity back (if no one claimed it meanwhile); the id it had in between ends."""
        gid = local.split_from
        if gid is None or gid not in self.memory:  # claimed by another track, or expired
            local.split_from, local.split_summary = None, None
            return
        if not local.reported or not local.returns_to(self.memory.max_cosine_distance):
            return
        if self.memory.withdraw(gid):
            local.global_id = gid
            local.reidentified = True
        local.rejoin()

    def _release(self, lid: int, now: float) -> None:
        """The track is no longer reported: its identity becomes claimable."""
        local = self._locals[lid]
        if not local.reported or local.global_id is None:
            return
        local.reported = False
        summary = local.summary()
        self.memory.add(
            LostIdentity(
                local.global_id,
                self.camera,
                local.class_id,
                local.last_time,
                local.last_tlwh.copy(),
                summary,
            )
        )

    def _resume(self, local: TrackAppearance) -> None:
        """A track reported again takes its identity back, or a fresh one if it was claimed."""
        if local.global_id is not None and not self.memory.withdraw(local.global_id):
            local.global_id = self.memory.new_id()
            local.reidentified = False
        local.reported = True

    def _assign_new(self, lids: list[int]) -> None:
        """New tracks ask the memory at once (one global assignment); a track left
        unmatched gets a provisional id and, if its ``recent`` window is not yet full, asks
        again once it is (:meth:`_claim_pending`): the threshold is calibrated on means of
        ``recent`` features, and a mean of fewer is noisier (a returner may miss at first)."""
        if not lids:
            return
        matches = self._ask(lids)
        for lid, gid in zip(lids, matches, strict=True):
            local = self._locals[lid]
            local.global_id = self.memory.new_id() if gid is None else gid
            local.reidentified = gid is not None
            local.reported = True
            local.pending = gid is None and not local.mature()

    def _claim_pending(self, tracks: Sequence[Any]) -> None:
        """Pending tracks reported this frame whose window has filled ask the memory again;
        a match replaces the provisional id (never reused)."""
        lids = [
            lid
            for lid in (int(t.track_id) for t in tracks)
            if self._locals[lid].pending and self._locals[lid].mature()
        ]
        for lid, gid in zip(lids, self._ask(lids), strict=True):
            local = self._locals[lid]
            local.pending = False
            if gid is not None:
                local.global_id = gid
                local.reidentified = True

    def _reask_after_warm_up(self, tracks: Sequence[Any]) -> None:
        """Tracks refused in warm-up and reported this frame ask again once their camera's
        pairs have progressed (a warm-up link, a cast coming into use or taking its gains);
        a match replaces the provisional id (never reused). Until a pair has its cast, a
        traveller is judged by the raw rule and may be refused; asking again is what lets
        the first travellers of a camera pair be recovered without a floor that lets
        look-alikes through."""
        marked = [
            lid
            for lid in (int(t.track_id) for t in tracks)
            if self._locals[lid].reask_at is not None
        ]
        if not marked:  # the common case: no memory lock, no pass over the camera pairs
            return
        epoch = self.memory.cast_progress(self.camera)
        lids = [lid for lid in marked if self._locals[lid].reask_at != epoch]
        for lid, gid in zip(lids, self._ask(lids, learn=False), strict=True):
            local = self._locals[lid]
            if gid is not None:
                local.global_id, local.reidentified, local.pending = gid, True, False

    def _ask(self, lids: list[int], learn: bool = True) -> list[int | None]:
        """The memory's answer for these tracks (``None``: not a lost identity; ``learn``:
        see :meth:`IdentityMemory.match`). A track left unmatched while a camera pair of
        this camera was in warm-up (not settled yet, see
        :meth:`~deepsort_lib.tracking.camera_cast.CameraCast.settled`) is marked with the
        memory's :meth:`~IdentityMemory.cast_progress` *before* it asked (its own link may be the
        one that brings the cast into use), and asks again once that has changed
        (:meth:`_reask_after_warm_up`)."""
        if not lids:
            return []
        warm = self.memory.in_warm_up(self.camera)
        mark = self.memory.cast_progress(self.camera) if warm else None
        matches = self._match(lids, learn)
        for lid, gid in zip(lids, matches, strict=True):
            self._locals[lid].reask_at = mark if gid is None else None
        return matches

    def _match(self, lids: list[int], learn: bool) -> list[int | None]:
        """The memory's answer for these tracks (``None``: not a lost identity)."""
        if not lids or len(self.memory) == 0:  # nothing to recognise: skip the queries
            return [None] * len(lids)
        queries = [
            IdentityQuery(
                self.camera,
                self._locals[lid].class_id,
                self._locals[lid].first_time,
                self._locals[lid].first_tlwh,
                self._locals[lid].summary(),
            )
            for lid in lids
        ]
        return self.memory.match(queries, self._now, learn=learn)

    def _different_distances(self, tracks: Sequence[Any]) -> FloatArray:
        """Different-identity distances for the calibration: for each track seen this frame
        with a full window, its recent mean against the nearest other such track's whole
        mean (two tracks visible together are two people)."""
        recent, whole = [], []
        for t in tracks:
            loc = self._locals[int(t.track_id)]
            r, w = loc.recent_mean(), loc.whole_mean()
            if t.time_since_update == 0 and r is not None and w is not None:
                recent.append(r)
                whole.append(w)
        if len(recent) < 2:
            return np.zeros(0)
        rm = np.asarray(recent, np.float64)
        wm = np.asarray(whole, np.float64)
        rm /= np.maximum(np.linalg.norm(rm, axis=1, keepdims=True), 1e-12)
        wm /= np.maximum(np.linalg.norm(wm, axis=1, keepdims=True), 1e-12)
        distance = 1.0 - wm @ rm.T
        np.fill_diagonal(distance, np.inf)
        nearest: FloatArray = distance.min(axis=0)
        return nearest

    def _forget_unclaimable(self) -> None:
        # An unreported track whose identity left the memory (claimed, expired, evicted)
        # needs no more state than a brand-new track: drop it so the dict stays bounded by
        # live tracks plus memory entries.
        stale = [
            lid
            for lid, loc in self._locals.items()
            if not loc.reported and loc.global_id is not None and loc.global_id not in self.memory
        ]
        for lid in stale:
            del self._locals[lid]


__all__ = ["ReentryTrack", "ReentryTracker"]
