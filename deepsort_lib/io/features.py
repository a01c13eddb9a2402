"""Per-box appearance features next to a MOTChallenge results file, and offline refinement
of such a file (:func:`refine_file`, the file-level form of
:func:`deepsort_lib.tracking.refine.refine`).

Features file format (next to ``RESULTS.txt`` as ``RESULTS.features.npz``): a NumPy ``.npz``
with ``frame`` ``(N,)`` int64, ``id`` ``(N,)`` int64 and ``features`` ``(N, D)`` float32, one
row per reported box; rows are joined to the results by ``(frame, id)``, and a result row
without a features row has no appearance (zeros). A plain ``.npy`` ``(N, 2 + D)`` array of
``frame, id, feature...`` rows is accepted too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.errors import ConfigurationError, InvalidInputError, SourceError
from deepsort_lib.io.atomic import AtomicPath, same_file
from deepsort_lib.io.mot import MotData, read_mot, write_mot
from deepsort_lib.tracking.refine import RefineConfig, check_rows, refine

if TYPE_CHECKING:
    from deepsort_lib.boxes import Detections
    from deepsort_lib.tracking.track import Track

IntArray = NDArray[np.int64]


def features_path_for(results_path: str | os.PathLike[str]) -> Path:
    """Where the features of ``RESULTS.txt`` live: ``RESULTS.features.npz`` next to it."""
    path = Path(results_path)
    return path.with_name(path.stem + ".features.npz")


def save_features(
    path: str | os.PathLike[str], frames: ArrayLike, ids: ArrayLike, features: ArrayLike
) -> Path:
    """Write a features file (``.npz``, see the module docstring) atomically."""
    atomic = _features_target(path)
    try:
        _write_npz(atomic, frames, ids, features)
        return atomic.commit()
    except BaseException:
        atomic.abort()
        raise


def _features_target(
    path: str | os.PathLike[str], protect: Iterable[str | os.PathLike[str]] = ()
) -> AtomicPath:
    """The temporary file of a features file (its name is checked first)."""
    target = Path(path)
    if target.suffix != ".npz":
        raise ConfigurationError(f"features file must end in .npz, got {target.name}")
    return AtomicPath(target, protect=protect)


def _write_npz(atomic: AtomicPath, frames: ArrayLike, ids: ArrayLike, features: ArrayLike) -> None:
    """Write the rows into ``atomic``'s temporary file (not published)."""
    frame_i, id_i, _, feats = check_rows(frames, ids, None, features)
    if feats is None:
        raise InvalidInputError("features are required")
    try:
        with open(atomic.temp, "wb") as handle:
            np.savez(handle, frame=frame_i, id=id_i, features=feats)
            handle.flush()
            if not atomic.direct:
                os.fsync(handle.fileno())
    except OSError as exc:
        raise SourceError(f"cannot write {atomic.target}: {exc.strerror or exc}") from exc


class _ResultWithDetections(Protocol):
    """What :class:`FeaturesSink` reads of a :class:`~deepsort_lib.results.FrameResult`."""

    @property
    def frame_index(self) -> int: ...

    @property
    def detections(self) -> Detections: ...

    @property
    def tracks(self) -> list[Track]: ...


class FeaturesSink:
    """A pipeline sink that writes the features file of a run (``deepsort track --save-features``).

    One row per reported track that was matched to a detection this frame: the frame, the
    track id and that detection's appearance feature (``detections.features`` row
    ``track.detection_index``). Tracks reported without a detection this frame (coasting,
    or frames skipped by ``detect_every``) have no row; :func:`join_features` gives them
    zeros. Rows are kept in memory and written on :meth:`finish`; like the other sinks, the
    file appears under its name only on :meth:`close`, and :meth:`abort` removes it.

    Parameters
    ----------
    path
        The ``.npz`` to write, usually :func:`features_path_for` ``(RESULTS.txt)``.
    protect
        Inputs the file must not replace.

    Raises
    ------
    ConfigurationError
        If ``path`` does not end in ``.npz``.
    SourceError
        If ``path`` is a directory or a protected input, or cannot be written.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, protect: Iterable[str | os.PathLike[str]] = ()
    ) -> None:
        self._atomic = _features_target(path, protect)
        self._frames: list[int] = []
        self._ids: list[int] = []
        self._features: list[NDArray[np.float32]] = []
        self._dim: int | None = None
        self._finished = False

    @property
    def path(self) -> Path:
        """Final path of the features file."""
        return self._atomic.target

    def write(self, result: _ResultWithDetections) -> None:
        """Keep the feature of every track matched to a detection this frame.

        Raises
        ------
        ConfigurationError
            If a track is matched to a detection that has no feature (no encoder ran).
        """
        feats = result.detections.features
        for track in result.tracks:
            row = track.detection_index
            if row is None:
                continue
            if feats is None:
                raise ConfigurationError(
                    "--save-features needs appearance features: the detections of frame "
                    f"{result.frame_index} have none (use an encoder, not --encoder none)"
                )
            self._frames.append(result.frame_index)
            self._ids.append(track.track_id)
            self._features.append(np.asarray(feats[row], dtype=np.float32))
            self._dim = feats.shape[1]

    def finish(self) -> None:
        """Write the rows to the temporary file, without publishing it."""
        if self._finished:
            return
        dim = self._dim if self._dim is not None else 0
        table = np.stack(self._features) if self._features else np.zeros((0, dim), dtype=np.float32)
        try:
            _write_npz(self._atomic, self._frames, self._ids, table)
        except BaseException:
            self.abort()
            raise
        self._finished = True

    def close(self) -> Path:
        """Finish: the file appears at :attr:`path`."""
        self.finish()
        return self._atomic.commit()

    def abort(self) -> None:
        """Discard the rows and the temporary file; a previous file stays as it was."""
        self._features.clear()
        self._atomic.abort()


def load_features(
    path: str | os.PathLike[str],
) -> tuple[IntArray, IntArray, NDArray[np.float32]]:
    """Read a features file: ``(frame, id, features)``.

    Raises
    ------
    SourceError
        If it cannot be read.
    InvalidInputError
        If it is not a features file.
    """
    file = Path(path)
    try:
        loaded = np.load(file, allow_pickle=False)
    except FileNotFoundError as exc:
        raise SourceError(f"features file not found: {file}") from exc
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{file}: not a features file ({exc})") from exc
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            missing = {"frame", "id", "features"} - set(loaded.files)
            if missing:
                raise InvalidInputError(f"{file}: missing array(s) {sorted(missing)}")
            frame, ids, feats = loaded["frame"], loaded["id"], loaded["features"]
    else:
        table = np.asarray(loaded)
        if table.ndim != 2 or table.shape[1] < 3:
            raise InvalidInputError(f"{file}: expected an (N, 2 + D) array, got {table.shape}")
        frame, ids, feats = table[:, 0], table[:, 1], table[:, 2:]
    try:
        frame_i, id_i, _, f = check_rows(frame, ids, None, feats)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{file}: {exc}") from exc
    assert f is not None
    return frame_i, id_i, f


def join_features(
    frames: ArrayLike,
    ids: ArrayLike,
    feature_frames: ArrayLike,
    feature_ids: ArrayLike,
    features: NDArray[np.float32],
) -> NDArray[np.float32]:
    """Features of each ``(frame, id)`` row, zeros where the features file has none."""
    f = np.asarray(frames, np.int64)
    i = np.asarray(ids, np.int64)
    ff = np.asarray(feature_frames, np.int64)
    fi = np.asarray(feature_ids, np.int64)
    out = np.zeros((len(f), features.shape[1]), dtype=np.float32)
    if len(ff) == 0 or len(f) == 0:
        return out
    # Join on a combined key, sorted once.
    span = int(max(i.max(), fi.max()) - min(i.min(), fi.min()) + 1)
    base = int(min(i.min(), fi.min()))
    key = f * span + (i - base)
    fkey = ff * span + (fi - base)
    order = np.argsort(fkey)
    pos = np.searchsorted(fkey[order], key)
    pos = np.minimum(pos, len(order) - 1)
    hit = fkey[order][pos] == key
    out[hit] = features[order[pos[hit]]]
    return out


def refine_file(
    results_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str] | None = None,
    *,
    features_path: str | os.PathLike[str] | None = None,
    config: RefineConfig | None = None,
) -> Path:
    """Refine a MOTChallenge results file using its features file; returns the output path.

    Parameters
    ----------
    results_path
        ``RESULTS.txt`` written by ``deepsort track``.
    output_path
        Where to write; default ``RESULTS.refined.txt`` next to the input. It may not be the
        input or its features file.
    features_path
        Default :func:`features_path_for` ``(results_path)``. Without it (missing default
        file) only the GSI step runs.
    config
        :class:`RefineConfig`.

    Raises
    ------
    ConfigurationError
        If the output would replace an input.
    SourceError, InvalidInputError
        If an input cannot be read or parsed; nothing is written.
    """
    src = Path(results_path)
    out = Path(output_path) if output_path is not None else src.with_name(src.stem + ".refined.txt")
    feat_file = Path(features_path) if features_path is not None else features_path_for(src)
    for protected in (src, feat_file):
        if same_file(out, protected):
            raise ConfigurationError(f"output {out} would replace the input {protected}")
    if out.exists() and not out.is_file():
        raise ConfigurationError(f"output {out} exists and is not a regular file")
    data = read_mot(src)
    features = None
    if features_path is not None or feat_file.exists():
        ff, fi, fv = load_features(feat_file)
        features = join_features(data.frames, data.ids, ff, fi, fv)
    table = data.as_array()
    refined = refine(table, features, config)
    written = MotData.from_arrays(
        refined[:, 0], refined[:, 1], refined[:, 2:6], refined[:, 6], refined[:, 7:10]
    )
    return write_mot(out, written)


__all__ = [
    "FeaturesSink",
    "features_path_for",
    "join_features",
    "load_features",
    "refine_file",
    "save_features",
]
