"""Per-chunk checkpoints: the tracks of each finished chunk, saved atomically, for resuming.

A distributed job writes one ``.npz`` per finished chunk (or per whole source) under
``<output folder>/.deepsort-ray/<source name>-<job key>/``; re-running the same job loads them
and runs only the chunks that have none. The job key (:func:`job_key`) hashes the source's
content fingerprint and every option that changes the tracks, so a checkpoint is never used for
another source, another model or other tracker settings. Files are written with
:class:`~deepsort_lib.io.atomic.AtomicPath`: a checkpoint exists complete or not at all. The
folder is deleted once the job's outputs are written.

What is saved is the chunk's *result* (its MOT rows and the appearance features of the rows
in its overlaps), not the tracker's state: a chunk interrupted half-way is run again from its
start. With a serialisable tracker state (``Tracker.state_dict()``, the multi-stream issue),
a chunk could also checkpoint every few hundred frames and resume mid-way; results would
still be saved as here.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from deepsort_lib.distributed.chunks import Chunk, ChunkTracks
from deepsort_lib.errors import InvalidInputError
from deepsort_lib.io.atomic import AtomicPath
from deepsort_lib.io.mot import MotData

#: Version of the checkpoint layout; files of another version are not used.
CHECKPOINT_VERSION = 1
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
        target = AtomicPath(self.path(chunk), keep_suffix=True)
        arrays: dict[str, Any] = {
            "version": np.int64(CHECKPOINT_VERSION),
            "key": np.array(self.key),
            "span": np.array([chunk.start, chunk.stop], np.int64),
            "frames": tracks.rows.frames,
            "ids": tracks.rows.ids,
            "tlwh": tracks.rows.tlwh,
            "scores": tracks.rows.scores,
        }
        if tracks.features is not None:
            arrays["features"] = tracks.features
        try:
            with open(target.temp, "wb") as file:
                np.savez(file, **arrays)
        except BaseException:
            target.abort()
            raise
        return target.commit()

    def load(self, chunk: Chunk) -> ChunkTracks | None:
        """``chunk``'s saved tracks, or ``None`` if there is no usable checkpoint."""
        path = self.path(chunk)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                if (
                    int(data["version"]) != CHECKPOINT_VERSION
                    or str(data["key"]) != self.key
                    or [int(v) for v in data["span"]] != [chunk.start, chunk.stop]
                ):
                    return None
                rows = MotData.from_arrays(
                    data["frames"], data["ids"], data["tlwh"], data["scores"]
                )
                features = data["features"] if "features" in data.files else None
                return ChunkTracks(rows, features)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, InvalidInputError):
            self.corrupt.append(path)
            return None

    def clear(self) -> None:
        """Delete this source's checkpoints (and the checkpoint folder once it is empty)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        try:
            self.base.rmdir()
        except OSError:
            pass  # other sources' checkpoints are still there


__all__ = ["CHECKPOINT_DIR", "CHECKPOINT_VERSION", "CheckpointStore", "job_key"]
