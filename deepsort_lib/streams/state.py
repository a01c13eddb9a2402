"""A :class:`MultiStreamTracker`'s state as plain data, and back (checkpoint, resume, move).

Layout (version 1)::

    {"format": "deepsort_lib.multistream", "version": 1,
     "default_config": {TrackerConfig field: value}, "auto_add": bool, "on_gap": str,
     "global_ids": None or {"next": int, "pairs": [[stream id, local id, global id], ...]},
     "streams": [{"id": stream id, "tracker": Tracker.state_dict(),
                  "last_index": int | float | None, "feature_dim": int | None,
                  "frames": int, "pairs_at_prune": int}, ...]}

Streams are a list (in the order they were added) so that ids of any JSON-able kind survive:
``str``, ``int``, ``float``, ``bool``, ``None`` and tuples of them. Other hashables (custom
objects) cannot be saved; name such streams with strings. This module is the multi-stream
tracker's own serialiser and reads its private fields on purpose.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from deepsort_lib.errors import StateError
from deepsort_lib.tracking.state import check_header, entry_of
from deepsort_lib.tracking.tracker import Tracker, TrackerConfig

if TYPE_CHECKING:
    from deepsort_lib.streams.tracker import GlobalIdAllocator, MultiStreamTracker

#: Identifies a multi-stream tracker's state.
MULTISTREAM_FORMAT = "deepsort_lib.multistream"
_VERSION = 1  # read by check_header up to tracking.state.STATE_VERSION


def _check_saveable_id(stream_id: object) -> None:
    if isinstance(stream_id, tuple):
        for part in stream_id:
            _check_saveable_id(part)
    elif not (stream_id is None or isinstance(stream_id, str | int | float)):
        raise StateError(
            f"stream id {stream_id!r} ({type(stream_id).__name__}) cannot be saved: use str, "
            "int, float or tuples of them as stream ids"
        )


def _ids_state(ids: GlobalIdAllocator) -> dict[str, Any]:
    pairs = [[sid, local, glob] for sid, table in ids._ids.items() for local, glob in table.items()]
    return {"next": ids._next, "pairs": pairs}


def _load_ids(ids: GlobalIdAllocator, state: Mapping[str, Any]) -> None:
    ids._next = int(entry_of(state, "next", "global id state"))
    for pair in entry_of(state, "pairs", "global id state"):
        sid, local, glob = pair
        sid = _as_id(sid)
        ids._ids.setdefault(sid, {})[int(local)] = int(glob)
        ids._owner[int(glob)] = (sid, int(local))


def _as_id(value: Any) -> Hashable:
    # JSON has no tuples; io.state restores them, a list here came from elsewhere.
    if isinstance(value, list):
        return tuple(_as_id(v) for v in value)
    return value  # type: ignore[no-any-return]


def multistream_state(tracker: MultiStreamTracker) -> dict[str, Any]:
    """The state of ``tracker`` (see the module docstring).

    Raises
    ------
    StateError
        If a stream id cannot be saved.
    ConfigurationError
        If a stream's tracker uses an appearance model that cannot be saved.
    """
    streams = []
    for sid, stream in tracker._streams.items():
        _check_saveable_id(sid)
        streams.append(
            {
                "id": sid,
                "tracker": stream.tracker.state_dict(),
                "last_index": stream.last_index,
                "feature_dim": stream.feature_dim,
                "frames": stream.frames,
                "pairs_at_prune": stream.pairs_at_prune,
            }
        )
    return {
        "format": MULTISTREAM_FORMAT,
        "version": _VERSION,
        "default_config": asdict(tracker.default_config),
        "auto_add": tracker.auto_add,
        "on_gap": tracker.on_gap,
        "global_ids": None if tracker.ids is None else _ids_state(tracker.ids),
        "streams": streams,
    }


def restore_multistream(cls: type[MultiStreamTracker], state: object) -> MultiStreamTracker:
    """A new ``cls`` continuing from ``state`` (every stream, its tracker and frame numbering).

    Raises
    ------
    StateError
        If the state is corrupt, of another format, or from an unsupported version.
    """
    from deepsort_lib.streams.tracker import _Stream

    header = check_header(state, MULTISTREAM_FORMAT)
    try:
        config = TrackerConfig(**entry_of(header, "default_config"))
        out = cls(
            config,
            auto_add=bool(entry_of(header, "auto_add")),
            global_ids=entry_of(header, "global_ids") is not None,
            on_gap=entry_of(header, "on_gap"),
        )
        for saved in entry_of(header, "streams"):
            sid = _as_id(entry_of(saved, "id", "a stream"))
            out._streams[sid] = _Stream(
                Tracker.from_state(entry_of(saved, "tracker", f"stream {sid!r}")),
                last_index=entry_of(saved, "last_index", f"stream {sid!r}"),
                feature_dim=entry_of(saved, "feature_dim", f"stream {sid!r}"),
                frames=int(entry_of(saved, "frames", f"stream {sid!r}")),
                pairs_at_prune=int(entry_of(saved, "pairs_at_prune", f"stream {sid!r}")),
            )
        if out.ids is not None:
            _load_ids(out.ids, header["global_ids"])
    except StateError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise StateError(f"corrupt multistream state: {exc}") from exc
    return out


__all__ = ["MULTISTREAM_FORMAT", "multistream_state", "restore_multistream"]
