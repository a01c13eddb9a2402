"""Tracker state as plain data: what ``state_dict`` returns and ``load_state_dict`` accepts.

A state is a nested ``dict`` of numpy arrays, ``str``, ``int``, ``float``, ``bool`` and ``None``
(no pickled objects), so it can be written by :mod:`deepsort_lib.io.state` and read back in
another process or on another machine. Restoring copies every internal array as it was, slot
layout included, so a restored tracker continues *bit-identically* to one that never stopped.

Layout (version 1)::

    {"format": "deepsort_lib.tracker", "version": 1,
     "config": {TrackerConfig field: value, ...},
     "next_id": int,
     "table": {TrackTable column: array, ...},
     "appearance": {"type": "FeatureGallery" | "FlatGallery" | "EmaAppearance", ...arrays},
     "gaps": {GapStatistics arrays} or None}

A reader accepts every version up to :data:`STATE_VERSION`; a newer or foreign state is a
:class:`~deepsort_lib.errors.StateError` naming what it found.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, ClassVar, TypeVar

import numpy as np

from deepsort_lib.errors import ConfigurationError, StateError
from deepsort_lib.tracking.table import TrackTable

#: Identifies a single tracker's state.
TRACKER_FORMAT = "deepsort_lib.tracker"
#: The newest state layout this library writes and reads.
STATE_VERSION = 1

# Trailing shape and dtype kind of every TrackTable column ("i": integer, "f": float).
_COLUMNS: dict[str, tuple[tuple[int, ...], str]] = {
    "track_ids": ((), "i"),
    "means": ((8,), "f"),
    "covariances": ((8, 8), "f"),
    "states": ((), "i"),
    "hits": ((), "i"),
    "ages": ((), "i"),
    "time_since_update": ((), "i"),
    "class_ids": ((), "i"),
    "confidences": ((), "f"),
    "detection_tlwh": ((4,), "f"),
    "detection_index": ((), "i"),
}


def check_header(state: object, expected_format: str) -> Mapping[str, Any]:
    """The state as a mapping, after checking its format name and version.

    Raises
    ------
    StateError
        If ``state`` is not a mapping, names another format, or has a version this library
        does not read.
    """
    if not isinstance(state, Mapping):
        raise StateError(f"a state must be a dict, got {type(state).__name__}")
    found = state.get("format")
    if found != expected_format:
        raise StateError(f"not a {expected_format} state (format {found!r})")
    version = state.get("version")
    if not isinstance(version, int | np.integer) or not 1 <= int(version) <= STATE_VERSION:
        raise StateError(
            f"{expected_format} state version {version!r} is not supported: this deepsort_lib "
            f"reads versions 1 to {STATE_VERSION} (a newer library wrote it?)"
        )
    return state


def entry_of(state: Mapping[str, Any], key: str, where: str = "state") -> Any:
    """``state[key]``, or a :class:`StateError` naming what is missing."""
    try:
        return state[key]
    except (KeyError, TypeError):
        raise StateError(f"{where} lacks {key!r}") from None


def table_state(table: TrackTable) -> dict[str, np.ndarray]:
    """Copies of every column of ``table``."""
    return {f.name: getattr(table, f.name).copy() for f in fields(table)}


def table_from_state(state: Mapping[str, Any]) -> TrackTable:
    """A :class:`TrackTable` from :func:`table_state`'s output, shapes and types checked."""
    columns: dict[str, np.ndarray] = {}
    rows: int | None = None
    for name, (trailing, kind) in _COLUMNS.items():
        value = np.asarray(entry_of(state, name, "the track table"))
        if value.dtype.kind not in (kind, "u" if kind == "i" else kind) or value.shape[1:] != (
            trailing
        ):
            raise StateError(
                f"track table column {name!r} has dtype {value.dtype} and shape {value.shape}"
            )
        if rows is None:
            rows = value.shape[0]
        elif value.shape[0] != rows:
            raise StateError(f"track table column {name!r} has {value.shape[0]} rows, not {rows}")
        dtype = np.float64 if kind == "f" else np.int64
        columns[name] = value.astype(dtype, copy=True)
    return TrackTable(**columns)


class ArrayState:
    """Mixin: ``state_dict``/``load_state_dict`` over the attributes named in ``STATE_FIELDS``.

    Arrays are copied both ways, so neither side can change the other afterwards; the
    attributes are saved as they are (private storage layout included), which is what makes a
    restored object behave bit-identically.
    """

    STATE_FIELDS: ClassVar[tuple[str, ...]] = ()

    def state_dict(self) -> dict[str, Any]:
        """The attributes in ``STATE_FIELDS``, arrays copied, plus the class name as ``type``."""
        out: dict[str, Any] = {"type": type(self).__name__}
        for name in self.STATE_FIELDS:
            value = getattr(self, name)
            out[name] = value.copy() if isinstance(value, np.ndarray) else value
        return out

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Set the attributes from :meth:`state_dict`'s output (of the same class).

        Raises
        ------
        StateError
            If the state is of another class, lacks an attribute, or an array attribute is
            not an array of the kind it replaces.
        """
        kind = type(self).__name__
        if state.get("type") != kind:
            raise StateError(f"appearance state is a {state.get('type')!r}, expected {kind!r}")
        values: dict[str, Any] = {}
        for name in self.STATE_FIELDS:
            value = entry_of(state, name, f"{kind} state")
            current = getattr(self, name)
            if isinstance(current, np.ndarray):
                value = np.asarray(value)
                if value.ndim != current.ndim or value.dtype.kind != current.dtype.kind:
                    raise StateError(f"{kind} state {name!r} has the wrong shape or dtype")
                value = value.astype(current.dtype, copy=True)
            elif isinstance(value, np.generic):
                value = value.item()
            values[name] = value
        for name, value in values.items():
            setattr(self, name, value)


def tracker_state(
    config: Mapping[str, Any],
    next_id: int,
    table: TrackTable,
    appearance: object,
    gaps: ArrayState | None,
) -> dict[str, Any]:
    """A tracker's state (the layout in this module's docstring) from its parts.

    Raises
    ------
    ConfigurationError
        If ``appearance`` (a user's appearance model) has no ``state_dict`` method.
    """
    saver = getattr(appearance, "state_dict", None)
    if saver is None:
        raise ConfigurationError(
            f"appearance model {type(appearance).__name__} cannot be saved: "
            "it has no state_dict()/load_state_dict() methods"
        )
    return {
        "format": TRACKER_FORMAT,
        "version": STATE_VERSION,
        "config": dict(config),
        "next_id": int(next_id),
        "table": table_state(table),
        "appearance": saver(),
        "gaps": None if gaps is None else gaps.state_dict(),
    }


def saved_config(state: object) -> dict[str, Any]:
    """The tracker settings a state was saved with (header checked first).

    Raises
    ------
    StateError
        If the state is not a tracker state of a readable version, or has no settings.
    """
    config = entry_of(check_header(state, TRACKER_FORMAT), "config")
    if not isinstance(config, Mapping):
        raise StateError("the state's tracker settings are not a mapping")
    return dict(config)


A = TypeVar("A")
G = TypeVar("G", bound=ArrayState)


def restore_tracker(
    state: object, config: Mapping[str, Any], appearance: A, gaps: G | None
) -> tuple[TrackTable, A, G | None, int]:
    """New parts of a tracker with settings ``config``, continuing from ``state``.

    ``appearance`` and ``gaps`` are the tracker's current objects: copies of them are loaded,
    so on any error nothing the caller holds has changed.

    Returns
    -------
    table, appearance, gaps, next_id

    Raises
    ------
    StateError
        If the state is corrupt, of another format or version, inconsistent, or was saved
        with settings other than ``config`` (the differing fields are named).
    """
    saved = saved_config(state)
    if saved != dict(config):
        differ = sorted(k for k in saved.keys() | config.keys() if saved.get(k) != config.get(k))
        raise StateError(f"state was saved with other tracker settings: {', '.join(differ)}")
    assert isinstance(state, Mapping)  # checked by saved_config
    table = table_from_state(entry_of(state, "table"))
    appearance = copy.deepcopy(appearance)
    loader = getattr(appearance, "load_state_dict", None)
    if loader is None:
        raise StateError(f"appearance model {type(appearance).__name__} cannot load a state")
    loader(entry_of(state, "appearance"))
    gaps = copy.deepcopy(gaps)
    if gaps is not None:
        saved_gaps = entry_of(state, "gaps")
        if not isinstance(saved_gaps, Mapping):
            raise StateError("state lacks the coasting statistics its settings use")
        gaps.load_state_dict(saved_gaps)
    next_id = entry_of(state, "next_id")
    if not isinstance(next_id, int | np.integer) or next_id < 1:
        raise StateError(f"state has an invalid next_id {next_id!r}")
    rows = len(table)
    if len(appearance) != rows or (rows and int(table.track_ids.max()) >= next_id):  # type: ignore[arg-type]
        raise StateError("state is inconsistent: its tracks and appearance store disagree")
    return table, appearance, gaps, int(next_id)


__all__ = [
    "STATE_VERSION",
    "TRACKER_FORMAT",
    "ArrayState",
    "check_header",
    "entry_of",
    "restore_tracker",
    "saved_config",
    "table_from_state",
    "table_state",
    "tracker_state",
]
