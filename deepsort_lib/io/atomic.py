"""Atomic file output: write under a temporary name, rename over the target when complete.

A reader never sees a half-written file under the final name: until :meth:`AtomicFile.commit`
the data lives in a hidden ``.<name>.<random>.part<suffix>`` file in the same directory
(same filesystem, so :func:`os.replace` is atomic), and :meth:`AtomicFile.abort` deletes it.

Output-safety rules (the one place they are enforced; docs/cli.md states them for users):

* an output that resolves to a protected input (the same file through symlinks, hard links
  or ``a/../a``) is refused before anything is written;
* a directory is never a target;
* a symlink target stays a symlink: the file it points to is replaced atomically;
* a special file that exists (``/dev/null``, a FIFO, a device) is never replaced: the data is
  written into it directly, as ``open()`` would;
* the temporary name stays within 255 bytes, so any legal file name can be written;
* the final file gets the mode ``open()`` would give it (``0666 & ~umask``).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

from deepsort_lib.errors import SourceError

PathLike = str | os.PathLike[str]

#: Longest file name (bytes) on the usual filesystems (ext4, xfs, btrfs, tmpfs, APFS, NTFS).
NAME_MAX = 255


def _current_umask() -> int:
    # os.umask can only be read by setting it; done once, at import.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files; final files get the usual 0666 & ~umask like open() gives.
_FILE_MODE = 0o666 & ~_current_umask()


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (through links and ``..``), existing or not."""
    try:
        if os.path.samefile(a, b):
            return True
    except OSError:
        pass  # one of them does not exist (yet): compare where they would resolve to
    return os.path.realpath(a) == os.path.realpath(b)


def _is_special(path: Path) -> bool:
    """Whether ``path`` exists (following links) and is neither a regular file nor a folder."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _temp_affixes(name: str, suffix: str) -> tuple[str, str]:
    """``mkstemp`` prefix and suffix whose name, random part included, fits in NAME_MAX bytes."""
    # mkstemp adds 8 random characters; the rest is ".", name, "." and the suffix.
    room = NAME_MAX - 8 - 2 - len(suffix.encode())
    encoded = name.encode()
    if len(encoded) > room:
        name = encoded[: max(room, 1)].decode(errors="ignore")
    return f".{name}.", suffix


def check_output_paths(
    outputs: Mapping[str, PathLike | None], inputs: Mapping[str, PathLike | None] = {}
) -> None:
    """Refuse outputs that would destroy an input, each other, or a folder.

    Parameters
    ----------
    outputs
        What each output is called for the user (``"-o"``, ``"--mot"``) → its path (``None``:
        not written).
    inputs
        What each input is called → its path (``None``: not used).

    Raises
    ------
    SourceError
        If an output is a directory, resolves to an input (also through links and ``..``), or
        two outputs resolve to one file. Nothing has been written then.
    """
    given = [(label, Path(p)) for label, p in outputs.items() if p is not None]
    sources = [(label, Path(p)) for label, p in inputs.items() if p is not None]
    for i, (label, path) in enumerate(given):
        if path.is_dir():
            raise SourceError(f"{label} {path} is a directory, not a file")
        for in_label, source in sources:
            if same_file(path, source):
                raise SourceError(
                    f"refusing to write {label} {path}: it is the input {in_label} {source}"
                )
        for other_label, other in given[i + 1 :]:
            if same_file(path, other) and not _is_special(path):
                raise SourceError(
                    f"{label} {path} and {other_label} {other} are the same file: "
                    "give each output its own path"
                )


class AtomicPath:
    """A temporary path next to ``target`` that is renamed onto it by :meth:`commit`.

    Parameters
    ----------
    target
        The final path. Its directory is created if needed. A symlink is followed (the link
        stays, the file it points to is replaced); an existing special file (device, FIFO) is
        written directly, without a temporary file (:attr:`direct` is then ``True``).
    keep_suffix
        Keep the target's suffix at the end of the temporary name (``.x.part.mp4``): needed
        when a library picks the container from the extension (OpenCV's ``VideoWriter``).
    protect
        Inputs this output must not replace (model or video files being converted or read).

    Raises
    ------
    SourceError
        If ``target`` is a directory or one of ``protect``, or the directory cannot be
        created or written.
    """

    def __init__(
        self,
        target: PathLike,
        *,
        keep_suffix: bool = False,
        protect: Iterable[PathLike] = (),
    ) -> None:
        self.target = Path(target)
        for source in protect:
            if same_file(self.target, Path(source)):
                raise SourceError(f"refusing to write {self.target}: it is the input {source}")
        if self.target.is_dir():
            raise SourceError(f"output {self.target} is a directory, not a file")
        # Write where the link points: os.replace on the link itself would turn it into a file.
        self._final = (
            Path(os.path.realpath(self.target)) if self.target.is_symlink() else self.target
        )
        self.done = False
        self.aborted = False
        self.direct = _is_special(self._final)
        if self.direct:
            self.temp = self._final  # written in place: a device or FIFO cannot be swapped
            return
        try:
            self._final.parent.mkdir(parents=True, exist_ok=True)
            suffix = (".part" + self._final.suffix) if keep_suffix else ".part"
            prefix, suffix = _temp_affixes(self._final.name, suffix)
            fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=self._final.parent)
            os.close(fd)
            os.chmod(name, _FILE_MODE)
        except OSError as exc:
            raise SourceError(
                f"cannot write to {self._final.parent}: {exc.strerror or exc}"
            ) from exc
        self.temp = Path(name)

    def commit(self) -> Path:
        """Rename the temporary file onto the target; returns the target.

        Raises
        ------
        SourceError
            If the rename fails (the temporary file is deleted), or the path was aborted.
        """
        if self.aborted:
            raise SourceError(f"{self.target} was not written: its write was aborted")
        if not self.done:
            if not self.direct:
                try:
                    os.replace(self.temp, self._final)
                except OSError as exc:
                    self.abort()
                    raise SourceError(f"cannot write {self.target}: {exc.strerror or exc}") from exc
            self.done = True
        return self.target

    def abort(self) -> None:
        """Delete the temporary file; the target is left as it was."""
        if not self.done:
            if not self.direct:
                self.temp.unlink(missing_ok=True)
            self.done = True
            self.aborted = True


class AtomicFile:
    """A text file written atomically; use as a context manager.

    On a clean exit the file is renamed onto ``target``; if the block raises, the temporary
    file is deleted and ``target`` is untouched. A failed write (disk full, I/O error) raises
    :class:`~deepsort_lib.errors.SourceError` and deletes the temporary file.
    """

    def __init__(self, target: PathLike, *, protect: Iterable[PathLike] = ()) -> None:
        self._path = AtomicPath(target, protect=protect)
        try:
            self._file = open(self._path.temp, "w", encoding="utf-8", newline="\n")
        except OSError as exc:
            self._path.abort()
            raise SourceError(f"cannot write {self.target}: {exc.strerror or exc}") from exc

    @property
    def target(self) -> Path:
        """The final path."""
        return self._path.target

    def _fail(self, exc: OSError) -> SourceError:
        self.abort()
        return SourceError(f"cannot write {self.target}: {exc.strerror or exc}")

    def write(self, text: str) -> None:
        """Append ``text``."""
        try:
            self._file.write(text)
        except OSError as exc:
            raise self._fail(exc) from exc

    def finish(self) -> None:
        """Flush and close the temporary file (everything is on disk), without publishing it."""
        if not self._file.closed:
            try:
                self._file.flush()
                if not self._path.direct:
                    os.fsync(self._file.fileno())
                self._file.close()
            except OSError as exc:
                raise self._fail(exc) from exc

    def commit(self) -> Path:
        """Flush, close and rename onto the target."""
        self.finish()
        return self._path.commit()

    def abort(self) -> None:
        """Close and delete the temporary file."""
        if not self._file.closed:
            try:
                self._file.close()
            except OSError:
                pass  # the buffered data is being discarded anyway (e.g. the disk is full)
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


__all__ = ["NAME_MAX", "AtomicFile", "AtomicPath", "check_output_paths", "same_file"]
