"""Per-chunk checkpoints: the tracks of each finished chunk, saved atomically, for resuming.

A distributed job writes one ``.npz`` per finished chunk (or per whole source) under
``<output folder>/.deepsort-ray/<source name>-<job key>/``; re-running the same job loads them
and runs only the chunks that have none. The job key (:func:`job_key`) hashes the source's
content fingerprint and every option that changes the tracks, so a checkpoint is never used for
another source, another model or other tracker settings. Files are written with
:class:`~deepsort_lib.io.atomic.AtomicPath`: a checkpoint exists complete or not at all. The
folder is deleted once the job's outputs are written.

What is saved is the chunk's *result* (its MOT rows and the appearance features of the rows
in its overlaps) in the state file format of :mod:`deepsort_lib.io.state` (versioned
``.npz`` + JSON, nothing pickled; the same files as ``Tracker.state_dict()``), format
``deepsort_lib.chunk_checkpoint``. A chunk interrupted half-way is run again from its start,
so the chunk length bounds the work a failure loses; resuming mid-chunk from a saved tracker
state would also need the detector's schedule (``--detect-every``) and the camera-motion
estimator's previous frame, and is not done.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deepsort_lib.distributed.chunks import Chunk, ChunkTracks
from deepsort_lib.errors import DeepSortError
from deepsort_lib.io.mot import MotData
from deepsort_lib.io.state import load_state, save_state

#: Identifies a chunk checkpoint among state files.
CHECKPOINT_FORMAT = "deepsort_lib.chunk_checkpoint"
#: Version of the checkpoint layout; files of another version are not used (the chunk reruns).
CHECKPOINT_VERSION = 2
#: Name of the hidden folder of checkpoints inside the output folder.
CHECKPOINT_DIR = ".deepsort-ray"


def job_key(fingerprint: str, options: Mapping[str, Any]) -> str:
    """A short hex key of a source's content fingerprint and the options that change tracks."""
    text = json.dumps(
        {"source": fingerprint, "options": dict(options)}, sort_keys=True, default=str
    )
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


class CheckpointStore:
    """The checkpoints of one source of one job.

    Parameters
    ----------
    root
        The job's output folder; checkpoints go to ``root/.deepsort-ray/<name>-<key>/``.
    name
        The source's output name.
    key
        :func:`job_key` of the source and options.
    """

    def __init__(self, root: str | Path, name: str, key: str) -> None:
        self.base = Path(root) / CHECKPOINT_DIR
        self.folder = self.base / f"{name}-{key}"
        self.key = key
        #: Checkpoint files found unreadable (they are ignored and overwritten).
        self.corrupt: list[Path] = []

    def path(self, chunk: Chunk) -> Path:
        """File of ``chunk``'s checkpoint."""
        return self.folder / f"chunk-{chunk.index:05d}-{chunk.start}-{chunk.stop}.npz"

    def save(self, chunk: Chunk, tracks: ChunkTracks) -> Path:
        """Write ``chunk``'s tracks atomically; returns the file.

        Raises
        ------
        SourceError
            If the folder cannot be written (nothing is left behind).
        """
        rows = tracks.rows
        state: dict[str, Any] = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "key": self.key,
            "span": [chunk.start, chunk.stop],
            "rows": {
                "frames": rows.frames,
                "ids": rows.ids,
                "tlwh": rows.tlwh,
                "scores": rows.scores,
            },
            "features": tracks.features,
        }
        return save_state(self.path(chunk), state)

    def load(self, chunk: Chunk) -> ChunkTracks | None:
        """``chunk``'s saved tracks, or ``None`` if there is no usable checkpoint."""
        path = self.path(chunk)
        if not path.is_file():
            return None
        try:
            state = load_state(path)
            if (
                state.get("format") != CHECKPOINT_FORMAT
                or state.get("version") != CHECKPOINT_VERSION
                or state.get("key") != self.key
                or state.get("span") != [chunk.start, chunk.stop]
            ):
                return None
            rows = state["rows"]
            data = MotData.from_arrays(rows["frames"], rows["ids"], rows["tlwh"], rows["scores"])
            return ChunkTracks(data, state["features"])
        except (OSError, ValueError, KeyError, TypeError, DeepSortError):
            self.corrupt.append(path)
            return None

    def clear(self) -> None:
        """Delete this source's checkpoints (and the checkpoint folder once it is empty)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        try:
            self.base.rmdir()
        except OSError:
            pass  # other sources' checkpoints are still there


__all__ = [
    "CHECKPOINT_DIR",
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "CheckpointStore",
    "job_key",
]
