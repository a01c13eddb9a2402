"""Saved state of a :class:`~deepsort_lib.tracking.reentry.ReentryTracker` and of an
:class:`~deepsort_lib.tracking.identity.IdentityMemory`, as plain arrays and numbers.

The same rules as :mod:`deepsort_lib.tracking.state`: nested dicts of numpy arrays, numbers,
strings and ``None`` (no pickled objects), written by :mod:`deepsort_lib.io.state`; every
array is restored as it was (the running sums too, not recomputed), so a restored wrapper
continues *bit-identically* to one that never stopped.

Layouts (version 1)::

    {"format": "deepsort_lib.identity_memory", "version": 1,
     "settings": {retention, capacity, max_cosine_distance, ...}, "next_id": int,
     "entries": {"global_ids": (E,), "cameras": [str] * E, "class_ids": (E,),
                 "last_times": (E,), "last_tlwh": (E, 4), "summary_rows": (E,),
                 "summaries": (sum of rows, D)},
     "calibration": DistanceCalibration.state_dict() or None,
     "camera_cast": CameraCast.state_dict() or None}

    {"format": "deepsort_lib.reentry", "version": 1,
     "tracker": the inner tracker's state_dict(), "memory": the memory's state (above),
     "camera": str, "fps": float | None, "recent": int, "split_distance": float | None,
     "frame": int, "tracks": [one dict per inner track the wrapper follows]}

Additions read with defaults, so files written before them still load: the memory's
``"calibration"`` (absent: a memory with the settings' defaults and a fresh calibration;
``None``: no calibration), ``"camera_cast"`` (absent: no cast learned yet), ``"max_speed":
None`` (no motion gate), and per track ``"pending"`` (absent: ``False``),
``"reask_at"`` (absent: ``None``) and ``"snapshots"`` (absent: none).

This module knows the parts (memory, one followed track, the wrapper's header); the wrapper
(:meth:`deepsort_lib.tracking.reentry.ReentryTracker.state_dict`) assembles them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from deepsort_lib.errors import StateError, reading_state
from deepsort_lib.tracking.calibration import DistanceCalibration
from deepsort_lib.tracking.camera_cast import CameraCast
from deepsort_lib.tracking.identity import IdentityMemory, LostIdentity
from deepsort_lib.tracking.state import STATE_VERSION, check_header, entry_of
from deepsort_lib.tracking.track_appearance import SNAPSHOTS, Observation, TrackAppearance

#: Identifies an identity memory's state.
MEMORY_FORMAT = "deepsort_lib.identity_memory"
#: Identifies a re-entry wrapper's state.
REENTRY_FORMAT = "deepsort_lib.reentry"

_MEMORY_SETTINGS = (
    "retention",
    "capacity",
    "max_cosine_distance",
    "cross_camera_max_cosine_distance",
    "max_speed",
    "position_slack",
    "min_transit",
    "learn_camera_cast",
)
# TrackAppearance fields saved as they are (numbers, None or arrays); the two deques are
# saved as arrays of their observations.
_TRACK_FIELDS = tuple(
    f.name for f in fields(TrackAppearance) if f.name not in ("recent", "history", "snapshots")
)
# Fields added after the first saved files, and their values when a file lacks them.
_TRACK_DEFAULTS: dict[str, Any] = {"pending": False, "reask_at": None}


# -- the memory ------------------------------------------------------------------------------


def memory_state(memory: IdentityMemory) -> dict[str, Any]:
    """The state of ``memory`` (see the module docstring)."""
    entries = memory.entries
    dim = max((e.summary.shape[1] for e in entries), default=0)
    summaries = [np.asarray(e.summary, np.float32).reshape(-1, dim) for e in entries]
    return {
        "format": MEMORY_FORMAT,
        "version": STATE_VERSION,
        "settings": {name: getattr(memory, name) for name in _MEMORY_SETTINGS},
        "next_id": memory.next_id,
        "entries": {
            "global_ids": np.array([e.global_id for e in entries], np.int64),
            "cameras": [e.camera for e in entries],
            "class_ids": np.array([e.class_id for e in entries], np.int64),
            "last_times": np.array([e.last_time for e in entries], np.float64),
            "last_tlwh": np.array([e.last_tlwh for e in entries], np.float64).reshape(-1, 4),
            "summary_rows": np.array([len(s) for s in summaries], np.int64),
            "summaries": (np.concatenate(summaries) if summaries else np.zeros((0, 0), np.float32)),
        },
        "calibration": None if memory.calibration is None else memory.calibration.state_dict(),
        "camera_cast": None if memory.camera_cast is None else memory.camera_cast.state_dict(),
    }


def restore_memory(state: object) -> IdentityMemory:
    """A new memory holding what ``state`` held, handing out the same ids next.

    Raises
    ------
    StateError
        If the state is corrupt, of another format, or from an unsupported version.
    """
    header = check_header(state, MEMORY_FORMAT)
    with reading_state("identity memory"):
        settings = dict(entry_of(header, "settings"))
        saved_calibration = header.get("calibration", {})
        calibrate: bool | DistanceCalibration = saved_calibration is not None
        if saved_calibration:
            calibrate = DistanceCalibration.from_state(saved_calibration)
        memory = IdentityMemory(
            settings.pop("retention"),
            settings.pop("capacity"),
            settings.pop("max_cosine_distance"),
            **settings,
            calibrate=calibrate,
        )
        saved = entry_of(header, "entries")
        rows = np.asarray(entry_of(saved, "summary_rows", "entries"), np.int64)
        summaries = np.asarray(entry_of(saved, "summaries", "entries"), np.float32)
        if int(rows.sum()) != len(summaries):
            raise StateError("identity memory state: summary rows do not add up")
        bounds = np.concatenate([[0], np.cumsum(rows)])
        columns = zip(
            entry_of(saved, "global_ids", "entries"),
            entry_of(saved, "cameras", "entries"),
            entry_of(saved, "class_ids", "entries"),
            entry_of(saved, "last_times", "entries"),
            np.asarray(entry_of(saved, "last_tlwh", "entries"), np.float64),
            strict=True,
        )
        for k, (gid, camera, class_id, last_time, tlwh) in enumerate(columns):
            summary = summaries[bounds[k] : bounds[k + 1]].copy()
            memory.add(
                LostIdentity(int(gid), str(camera), int(class_id), float(last_time), tlwh, summary)
            )
        memory.continue_ids_from(int(entry_of(header, "next_id")))
        saved_cast = header.get("camera_cast")
        if saved_cast is not None and memory.calibration is not None:
            memory.camera_cast = CameraCast.from_state(saved_cast)
    return memory


# -- one followed track ----------------------------------------------------------------------


def _observations(items: deque[Observation]) -> dict[str, np.ndarray]:
    dim = items[0].unit.shape[0] if items else 0
    return {
        "times": np.array([o.time for o in items], np.float64),
        "tlwh": np.array([o.tlwh for o in items], np.float64).reshape(-1, 4),
        "units": np.array([o.unit for o in items], np.float32).reshape(-1, dim),
    }


def _restore_observations(state: Mapping[str, Any], maxlen: int | None) -> deque[Observation]:
    times, tlwh, units = (np.asarray(state[key]) for key in ("times", "tlwh", "units"))
    if not len(times) == len(tlwh) == len(units):
        raise StateError("re-entry state: observation arrays differ in length")
    items = (
        Observation(float(t), b.astype(np.float64), u.astype(np.float32))
        for t, b, u in zip(times, tlwh, units, strict=True)
    )
    return deque(items, maxlen=maxlen)


def track_state(local: TrackAppearance) -> dict[str, Any]:
    """What the wrapper remembers about one inner track."""
    out: dict[str, Any] = {name: getattr(local, name) for name in _TRACK_FIELDS}
    out["recent"] = _observations(local.recent)
    out["history"] = _observations(local.history)
    dim = local.snapshots[0][1].shape[0] if local.snapshots else 0
    out["snapshots"] = {
        "times": np.array([t for t, _ in local.snapshots], np.float64),
        "sums": np.array([v for _, v in local.snapshots], np.float32).reshape(-1, dim),
    }
    return out


def restore_track(state: Mapping[str, Any], recent: int) -> TrackAppearance:
    """The :class:`TrackAppearance` saved by :func:`track_state` (``recent``: the window)."""
    values = {
        name: state.get(name, _TRACK_DEFAULTS[name]) if name in _TRACK_DEFAULTS else state[name]
        for name in _TRACK_FIELDS
    }
    for name in ("first_tlwh", "last_tlwh", "feature_sum", "recent_sum"):
        if values[name] is not None:
            values[name] = np.array(values[name], np.float64)
    if values["split_summary"] is not None:
        values["split_summary"] = np.array(values["split_summary"], np.float32)
    if values["reask_at"] is not None:
        values["reask_at"] = int(values["reask_at"])
    local = TrackAppearance(recent=_restore_observations(state["recent"], recent), **values)
    local.history = _restore_observations(state["history"], local.history.maxlen)
    saved = state.get("snapshots")
    if saved is not None:
        times = np.asarray(saved["times"], np.float64)
        sums = np.asarray(saved["sums"], np.float32)
        if len(times) != len(sums):
            raise StateError("re-entry state: snapshot arrays differ in length")
        local.snapshots = deque(
            ((float(t), v.copy()) for t, v in zip(times, sums, strict=True)), maxlen=SNAPSHOTS
        )
    return local


# -- the wrapper's header --------------------------------------------------------------------


@dataclass(frozen=True)
class ReentryParts:
    """The parts of a saved re-entry wrapper, checked for format and version (what
    :func:`read_reentry_state` returns; the wrapper builds itself from them)."""

    tracker: Mapping[str, Any]
    memory: Mapping[str, Any]
    camera: str
    fps: float | None
    recent: int
    split_distance: float | None
    frame: int
    tracks: dict[int, Mapping[str, Any]]


def reentry_state(
    tracker: Mapping[str, Any],
    memory: Mapping[str, Any],
    *,
    camera: str,
    fps: float | None,
    recent: int,
    split_distance: float | None,
    frame: int,
    tracks: Mapping[int, Mapping[str, Any]],
) -> dict[str, Any]:
    """A wrapper's state from its parts: the inner tracker's state, the memory's
    (:func:`memory_state`), its settings, its frame count and its tracks' states
    (:func:`track_state`, by inner id)."""
    return {
        "format": REENTRY_FORMAT,
        "version": STATE_VERSION,
        "tracker": tracker,
        "memory": memory,
        "camera": camera,
        "fps": fps,
        "recent": recent,
        "split_distance": split_distance,
        "frame": frame,
        "tracks": [{"id": lid, **saved} for lid, saved in tracks.items()],
    }


def read_reentry_state(state: object) -> ReentryParts:
    """The parts of a wrapper's state (:func:`reentry_state`).

    Raises
    ------
    StateError
        If the state is corrupt, of another format, or from an unsupported version.
    """
    header = check_header(state, REENTRY_FORMAT)
    with reading_state("re-entry"):
        fps = entry_of(header, "fps")
        split = entry_of(header, "split_distance")
        return ReentryParts(
            tracker=entry_of(header, "tracker"),
            memory=entry_of(header, "memory"),
            camera=str(entry_of(header, "camera")),
            fps=None if fps is None else float(fps),
            recent=int(entry_of(header, "recent")),
            split_distance=None if split is None else float(split),
            frame=int(entry_of(header, "frame")),
            tracks={int(saved["id"]): saved for saved in entry_of(header, "tracks")},
        )


__all__ = [
    "MEMORY_FORMAT",
    "REENTRY_FORMAT",
    "ReentryParts",
    "memory_state",
    "read_reentry_state",
    "reentry_state",
    "restore_memory",
    "restore_track",
    "track_state",
]
