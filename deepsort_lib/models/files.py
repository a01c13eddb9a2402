"""Writing model files, all through :class:`~deepsort_lib.io.atomic.AtomicPath`.

One rule for all of them (Darknet → ONNX, re-ID conversion and metadata, int8 and fp16 copies,
test weights): the file is written under a hidden temporary name in the target's folder and
renamed onto the target only when complete, with the usual ``0666 & ~umask`` mode. A failed
write leaves the previous file as it was and no temporary file behind.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import onnx

from deepsort_lib.errors import ConfigurationError, SourceError

# One rule for "is this output one of the inputs" (links, hard links, a/../a): io.atomic's.
from deepsort_lib.io.atomic import AtomicPath, same_file

PathLike = str | os.PathLike[str]


def refuse_overwrite(target: PathLike, inputs: Iterable[PathLike]) -> None:
    """Raise :class:`ConfigurationError` if ``target`` is one of ``inputs`` (by any path or link).

    Converters call it before their work, so a wrong ``-o`` fails at once; it is the same rule
    :class:`~deepsort_lib.io.atomic.AtomicPath` applies (``protect``) when the file is created.
    """
    for source in inputs:
        if same_file(Path(target), Path(source)):
            raise ConfigurationError(f"the output {target} is the input {source}; choose another")


def write_atomically(
    target: PathLike,
    write: Callable[[Path], object],
    *,
    inputs: Iterable[PathLike] = (),
) -> Path:
    """Call ``write(temporary_path)``, then rename the temporary file onto ``target``.

    Parameters
    ----------
    target
        The final path; its folder is created if needed.
    write
        Writes the whole file at the path it is given.
    inputs
        Files the output must not replace (the converter's own inputs): an output that is one
        of them, by any path or link, is refused before anything is written. An existing
        directory, device or FIFO is refused too; a symbolic link keeps pointing where it
        did, at the new file.

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    ConfigurationError
        If ``target`` is one of ``inputs`` or exists and is not a regular file.
    SourceError
        If the folder cannot be written (full disk, permissions).
    """
    path = Path(target)
    protected = tuple(inputs)
    refuse_overwrite(path, protected)  # the user's mistake: a ConfigurationError, at once
    # Unlike the tracker's outputs, a model is never written into a device or FIFO (an ONNX
    # writer would block on a FIFO with no reader) nor a folder: refuse them.
    if path.exists() and not path.is_file():
        raise ConfigurationError(f"the output {path} exists and is not a regular file")
    # AtomicPath follows a symbolic link (the link stays, the file it points to is replaced)
    # and checks the inputs again where the file is created.
    out = AtomicPath(path, protect=protected)
    try:
        write(out.temp)
    except OSError as exc:
        out.abort()
        raise SourceError(f"cannot write {path}: {exc.strerror or exc}") from exc
    except BaseException:
        out.abort()
        raise
    return out.commit()


def write_bytes(target: PathLike, data: bytes, *, inputs: Iterable[PathLike] = ()) -> Path:
    """Write ``data`` to ``target`` atomically (see :func:`write_atomically`)."""
    return write_atomically(target, lambda temp: temp.write_bytes(data), inputs=inputs)


def save_model(model: onnx.ModelProto, path: PathLike, *, inputs: Iterable[PathLike] = ()) -> Path:
    """Save an ONNX model atomically (see :func:`write_atomically`)."""
    return write_atomically(path, lambda temp: onnx.save(model, str(temp)), inputs=inputs)


__all__ = ["refuse_overwrite", "save_model", "write_atomically", "write_bytes"]
