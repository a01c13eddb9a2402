"""Track ids unique across the streams of a multi-stream tracker."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

StreamId = Hashable


class GlobalIdAllocator:
    """Maps ``(stream id, local track id)`` to ids unique across every stream.

    Global ids start at 1 and are handed out in the order pairs are first seen; they are never
    reused. Only pairs of live tracks are kept: :meth:`prune` drops the pairs of tracks their
    stream no longer has, so memory follows the live tracks, not the run's length.
    """

    def __init__(self) -> None:
        self._next = 1
        self._ids: dict[StreamId, dict[int, int]] = {}
        self._owner: dict[int, tuple[StreamId, int]] = {}

    @property
    def next_id(self) -> int:
        """The id the next new pair will get."""
        return self._next

    def global_id(self, stream_id: StreamId, local_id: int) -> int:
        """The global id of a stream's track, allocating one on first sight."""
        table = self._ids.setdefault(stream_id, {})
        found = table.get(local_id)
        if found is None:
            found = table[local_id] = self._next
            self._owner[found] = (stream_id, local_id)
            self._next += 1
        return found

    def lookup(self, global_id: int) -> tuple[StreamId, int] | None:
        """``(stream id, local id)`` of a global id still mapped, else ``None``."""
        return self._owner.get(global_id)

    def pairs(self, stream_id: StreamId) -> int:
        """Number of pairs kept for a stream."""
        return len(self._ids.get(stream_id, ()))

    def prune(self, stream_id: StreamId, live_local_ids: Iterable[int]) -> None:
        """Forget the stream's pairs whose local id is not in ``live_local_ids``."""
        table = self._ids.get(stream_id)
        if not table:
            return
        live = set(live_local_ids)
        for local in [k for k in table if k not in live]:
            del self._owner[table.pop(local)]

    def forget_stream(self, stream_id: StreamId) -> None:
        """Drop every pair of a stream (its global ids are not reused)."""
        for global_id in self._ids.pop(stream_id, {}).values():
            del self._owner[global_id]

    def as_pairs(self) -> list[list[object]]:
        """Every kept pair as ``[stream id, local id, global id]`` (for saving)."""
        return [
            [sid, local, glob] for sid, table in self._ids.items() for local, glob in table.items()
        ]

    def restore(self, next_id: int, pairs: Iterable[tuple[StreamId, int, int]]) -> None:
        """Continue from saved :meth:`as_pairs` and :attr:`next_id` (replacing what is kept)."""
        self._next = int(next_id)
        self._ids = {}
        self._owner = {}
        for sid, local, glob in pairs:
            self._ids.setdefault(sid, {})[int(local)] = int(glob)
            self._owner[int(glob)] = (sid, int(local))


__all__ = ["GlobalIdAllocator", "StreamId"]
