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
objects) cannot be saved; name such streams with strings. The multi-stream tracker hands
this module its parts (:class:`MultistreamParts`); this module does not import it.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from deepsort_lib.errors import StateError
from deepsort_lib.streams.global_ids import GlobalIdAllocator, StreamId
from deepsort_lib.tracking.state import check_header, entry_of
from deepsort_lib.tracking.tracker import Tracker, TrackerConfig

#: Identifies a multi-stream tracker's state.
MULTISTREAM_FORMAT = "deepsort_lib.multistream"
_VERSION = 1  # read by check_header up to tracking.state.STATE_VERSION


@dataclass
class StreamSlot:
    """What a multi-stream tracker keeps per stream: its tracker and frame bookkeeping."""

    tracker: Tracker
    last_index: int | float | None = None
    feature_dim: int | None = None
    frames: int = 0
    pairs_at_prune: int = 0


@dataclass
class MultistreamParts:
    """A multi-stream tracker's state, parsed: what its constructor and streams need."""

    default_config: TrackerConfig
    auto_add: bool
    on_gap: str
    ids: GlobalIdAllocator | None
    streams: dict[StreamId, StreamSlot]


def _check_saveable_id(stream_id: object) -> None:
    if isinstance(stream_id, tuple):
        for part in stream_id:
            _check_saveable_id(part)
    elif not (stream_id is None or isinstance(stream_id, str | int | float)):
        raise StateError(
            f"stream id {stream_id!r} ({type(stream_id).__name__}) cannot be saved: use str, "
            "int, float or tuples of them as stream ids"
        )


def _load_ids(state: Mapping[str, Any]) -> GlobalIdAllocator:
    ids = GlobalIdAllocator()
    pairs = [
        (_as_id(sid), int(local), int(glob))
        for sid, local, glob in entry_of(state, "pairs", "global id state")
    ]
    ids.restore(int(entry_of(state, "next", "global id state")), pairs)
    return ids


def _as_id(value: Any) -> Hashable:
    # JSON has no tuples; io.state restores them, a list here came from elsewhere.
    if isinstance(value, list):
        return tuple(_as_id(v) for v in value)
    return value  # type: ignore[no-any-return]


def multistream_state(parts: MultistreamParts) -> dict[str, Any]:
    """The state of a multi-stream tracker given as its parts (see the module docstring).

    Raises
    ------
    StateError
        If a stream id cannot be saved.
    ConfigurationError
        If a stream's tracker uses an appearance model that cannot be saved.
    """
    streams = []
    for sid, stream in parts.streams.items():
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
    ids = parts.ids
    return {
        "format": MULTISTREAM_FORMAT,
        "version": _VERSION,
        "default_config": asdict(parts.default_config),
        "auto_add": parts.auto_add,
        "on_gap": parts.on_gap,
        "global_ids": None if ids is None else {"next": ids.next_id, "pairs": ids.as_pairs()},
        "streams": streams,
    }


def read_multistream(state: object) -> MultistreamParts:
    """The parts of a saved multi-stream tracker (every stream's tracker restored).

    Raises
    ------
    StateError
        If the state is corrupt, of another format, or from an unsupported version.
    """
    header = check_header(state, MULTISTREAM_FORMAT)
    try:
        config = TrackerConfig(**entry_of(header, "default_config"))
        streams: dict[StreamId, StreamSlot] = {}
        for saved in entry_of(header, "streams"):
            sid = _as_id(entry_of(saved, "id", "a stream"))
            streams[sid] = StreamSlot(
                Tracker.from_state(entry_of(saved, "tracker", f"stream {sid!r}")),
                last_index=entry_of(saved, "last_index", f"stream {sid!r}"),
                feature_dim=entry_of(saved, "feature_dim", f"stream {sid!r}"),
                frames=int(entry_of(saved, "frames", f"stream {sid!r}")),
                pairs_at_prune=int(entry_of(saved, "pairs_at_prune", f"stream {sid!r}")),
            )
        saved_ids = entry_of(header, "global_ids")
        on_gap = entry_of(header, "on_gap")
        if on_gap not in ("ignore", "predict"):
            raise StateError(f"corrupt multistream state: on_gap {on_gap!r}")
        return MultistreamParts(
            default_config=config,
            auto_add=bool(entry_of(header, "auto_add")),
            on_gap=on_gap,
            ids=None if saved_ids is None else _load_ids(saved_ids),
            streams=streams,
        )
    except StateError:
        raise
    except (TypeError, ValueError, KeyError) as exc:
        raise StateError(f"corrupt multistream state: {exc}") from exc


__all__ = [
    "MULTISTREAM_FORMAT",
    "MultistreamParts",
    "StreamSlot",
    "multistream_state",
    "read_multistream",
]
