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
                 "summaries": (sum of rows, D)}}

    {"format": "deepsort_lib.reentry", "version": 1,
     "tracker": the inner tracker's state_dict(), "memory": the memory's state (above),
     "camera": str, "fps": float | None, "recent": int, "split_distance": float | None,
     "frame": int, "tracks": [one dict per inner track the wrapper follows]}
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import numpy as np

from deepsort_lib.errors import ConfigurationError, StateError
from deepsort_lib.tracking.identity import IdentityMemory, LostIdentity
from deepsort_lib.tracking.state import STATE_VERSION, check_header, entry_of
from deepsort_lib.tracking.track_appearance import Observation, TrackAppearance

if TYPE_CHECKING:
    from deepsort_lib.tracking.reentry import ReentryTracker

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
)
# TrackAppearance fields saved as they are (numbers, None or arrays); the two deques are
# saved as arrays of their observations.
_TRACK_FIELDS = tuple(
    f.name for f in fields(TrackAppearance) if f.name not in ("recent", "history")
)


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
    }


def restore_memory(state: object) -> IdentityMemory:
    """A new memory holding what ``state`` held, handing out the same ids next.

    Raises
    ------
    StateError
        If the state is corrupt, of another format, or from an unsupported version.
    """
    header = check_header(state, MEMORY_FORMAT)
    try:
        settings = dict(entry_of(header, "settings"))
        memory = IdentityMemory(
            settings.pop("retention"),
            settings.pop("capacity"),
            settings.pop("max_cosine_distance"),
            **settings,
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
    except StateError:
        raise
    except (ConfigurationError, KeyError, TypeError, ValueError) as exc:
        raise StateError(f"identity memory state is corrupt: {exc}") from None
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
    return out


def restore_track(state: Mapping[str, Any], recent: int) -> TrackAppearance:
    """The :class:`TrackAppearance` saved by :func:`track_state` (``recent``: the window)."""
    values = {name: state[name] for name in _TRACK_FIELDS}
    for name in ("first_tlwh", "last_tlwh", "feature_sum", "recent_sum"):
        if values[name] is not None:
            values[name] = np.array(values[name], np.float64)
    if values["split_summary"] is not None:
        values["split_summary"] = np.array(values["split_summary"], np.float32)
    local = TrackAppearance(recent=_restore_observations(state["recent"], recent), **values)
    local.history = _restore_observations(state["history"], local.history.maxlen)
    return local


# -- the wrapper -----------------------------------------------------------------------------


def reentry_state(wrapper: ReentryTracker) -> dict[str, Any]:
    """The state of ``wrapper``: its inner tracker's, its memory's and its own.

    Raises
    ------
    ConfigurationError
        If the inner tracker has no ``state_dict`` method.
    """
    inner = getattr(wrapper.tracker, "state_dict", None)
    if not callable(inner):
        raise ConfigurationError(
            f"{type(wrapper.tracker).__name__} has no state_dict(): the inner tracker's state "
            "cannot be saved"
        )
    return {
        "format": REENTRY_FORMAT,
        "version": STATE_VERSION,
        "tracker": inner(),
        "memory": memory_state(wrapper.memory),
        "camera": wrapper.camera,
        "fps": wrapper.fps,
        "recent": wrapper.recent,
        "split_distance": wrapper.split_distance,
        "frame": wrapper._frame,
        "tracks": [{"id": lid, **track_state(loc)} for lid, loc in wrapper._locals.items()],
    }


def restore_reentry(
    cls: type[ReentryTracker],
    state: object,
    tracker: Any = None,
    memory: IdentityMemory | None = None,
) -> ReentryTracker:
    """A new ``cls`` continuing from ``state`` (see :meth:`ReentryTracker.from_state`).

    Raises
    ------
    StateError
        If the state is corrupt, of another format, or from an unsupported version.
    """
    header = check_header(state, REENTRY_FORMAT)
    if tracker is None:
        from deepsort_lib.tracking.tracker import Tracker

        tracker = Tracker.from_state(entry_of(header, "tracker"))
    if memory is None:
        memory = restore_memory(entry_of(header, "memory"))
    try:
        wrapper = cls(
            tracker,
            memory,
            camera=str(entry_of(header, "camera")),
            fps=entry_of(header, "fps"),
            recent=int(entry_of(header, "recent")),
            split_distance=entry_of(header, "split_distance"),
        )
        wrapper._frame = int(entry_of(header, "frame"))
        wrapper._locals = {
            int(saved["id"]): restore_track(saved, wrapper.recent)
            for saved in entry_of(header, "tracks")
        }
    except StateError:
        raise
    except (ConfigurationError, KeyError, TypeError, ValueError) as exc:
        raise StateError(f"re-entry state is corrupt: {exc}") from None
    return wrapper


__all__ = [
    "MEMORY_FORMAT",
    "REENTRY_FORMAT",
    "memory_state",
    "reentry_state",
    "restore_memory",
    "restore_reentry",
    "restore_track",
    "track_state",
]
