"""Atomic file output: write under a temporary name, rename over the target when complete.

A reader never sees a half-written file under the final name: until :meth:`AtomicFile.commit`
the data lives in a hidden ``.<name>.<random>.part<suffix>`` file in the same directory
(same filesystem, so :func:`os.replace` is atomic), and :meth:`AtomicFile.abort` deletes it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from types import TracebackType

from deepsort_lib.errors import SourceError


def _current_umask() -> int:
    # os.umask can only be read by setting it; done once, at import.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; final files get the usual 0666 & ~umask like open() gives.
_FILE_MODE = 0o666 & ~_current_umask()


class AtomicPath:
    """A temporary path next to ``target`` that is renamed onto it by :meth:`commit`.

    Parameters
    ----------
    target
        The final path. Its directory is created if needed.
    keep_suffix
        Keep the target's suffix at the end of the temporary name (``.x.part.mp4``): needed
        when a library picks the container from the extension (OpenCV's ``VideoWriter``).

    Raises
    ------
    SourceError
        If the directory cannot be created or written.
    """

    def __init__(self, target: str | os.PathLike[str], *, keep_suffix: bool = False) -> None:
        self.target = Path(target)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            suffix = (".part" + self.target.suffix) if keep_suffix else ".part"
            fd, name = tempfile.mkstemp(
                prefix=f".{self.target.name}.", suffix=suffix, dir=self.target.parent
            )
            os.close(fd)
            os.chmod(name, _FILE_MODE)
        except OSError as exc:
            raise SourceError(f"cannot write to {self.target.parent}: {exc.strerror}") from exc
        self.temp = Path(name)
        self.done = False

    def commit(self) -> Path:
        """Rename the temporary file onto the target; returns the target."""
        if not self.done:
            try:
                os.replace(self.temp, self.target)
            except OSError as exc:
                self.abort()
                raise SourceError(f"cannot write {self.target}: {exc.strerror}") from exc
            self.done = True
        return self.target

    def abort(self) -> None:
        """Delete the temporary file; the target is left as it was."""
        if not self.done:
            self.temp.unlink(missing_ok=True)
            self.done = True


class AtomicFile:
    """A text file written atomically; use as a context manager.

    On a clean exit the file is renamed onto ``target``; if the block raises, the temporary
    file is deleted and ``target`` is untouched.
    """

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self._path = AtomicPath(target)
        self._file = open(self._path.temp, "w", encoding="utf-8", newline="\n")

    @property
    def target(self) -> Path:
        """The final path."""
        return self._path.target

    def write(self, text: str) -> None:
        """Append ``text``."""
        self._file.write(text)

    def commit(self) -> Path:
        """Flush, close and rename onto the target."""
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        return self._path.commit()

    def abort(self) -> None:
        """Close and delete the temporary file."""
        if not self._file.closed:
            self._file.close()
        self._path.abort()

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


__all__ = ["AtomicFile", "AtomicPath"]
