"""Entry points of the ``deepsort`` and ``deepsort-convert`` commands.

Each sub-command lives in its own module exposing ``register(subparsers)``, which adds a
parser whose ``handler`` default is a function ``(args) -> int``.

Exit status and signals (docs/cli.md states them for users):

* 0: success; 2: a user error (:class:`~deepsort_lib.errors.DeepSortError` or ``OSError``),
  printed as one line without a traceback; argparse's own usage errors are 2 as well;
  3: ``deepsort track A B ...`` finished but some of its streams failed (each named on stderr);
* SIGINT (Ctrl-C), SIGTERM and SIGHUP stop the run the same way: outputs are aborted (no
  temporary ``.part`` file stays behind, previous files are kept), one line is printed and
  the exit status is 128 + the signal number (130, 143, 129);
* a closed standard output (``deepsort track ... | head -c0``) ends the command quietly with
  status 2 (files already written stay written).

This module imports only the standard library (tests/test_wiring_signals.py checks it): the
stop signals are handled from the first line of :func:`main`, and everything else (the
sub-commands, OpenCV, onnxruntime, the models) is imported after that, so a Ctrl-C while they
load is the same one line as any other.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn

#: Modules providing the sub-commands of ``deepsort``.
TRACK_COMMANDS: tuple[str, ...] = (
    "deepsort_lib.cli.track",
    "deepsort_lib.cli.evaluate",
    "deepsort_lib.cli.refine",
)
#: Modules providing the sub-commands of ``deepsort-convert``.
CONVERT_COMMANDS: tuple[str, ...] = (
    "deepsort_lib.cli.convert_reid",
    "deepsort_lib.cli.convert_darknet",
)
#: Signals that stop a command like Ctrl-C does (``timeout``, ``kill``, ``docker stop``, a
#: closed terminal).
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit status 2, as the library's errors)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


class Stopped(KeyboardInterrupt):
    """Raised in the main thread by a stop signal; handled exactly like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _stop_signals_raise() -> Iterator[None]:
    """Turn SIGINT/SIGTERM/SIGHUP into :class:`Stopped`; repeats are ignored during cleanup."""
    raised: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        if raised:
            return  # already stopping: let the cleanup finish
        raised.append(signum)
        raise Stopped(signum)

    previous: dict[signal.Signals, Callable[[int, FrameType | None], object] | int | None] = {}
    try:
        for sig in STOP_SIGNALS:
            previous[sig] = signal.signal(sig, handler)
    except ValueError:
        pass  # not the main thread (embedded use): keep the caller's handlers
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


def _say(prog: str, message: str) -> None:
    try:
        print(f"{prog}: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass  # stderr is closed too: nothing more can be said


def _silence_stdout() -> None:
    # Python flushes stdout again at exit; with the reader gone that would print
    # "Exception ignored ... BrokenPipeError". Point it at /dev/null instead.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _run(prog: str, description: str, modules: Sequence[str], argv: Sequence[str] | None) -> int:
    with _stop_signals_raise():
        try:
            parser = _Parser(prog=prog, description=description)
            parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
            subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
            for name in modules:
                importlib.import_module(name).register(subparsers)
            args = parser.parse_args(argv)
            return int(args.handler(args))
        except Stopped as exc:
            name = signal.Signals(exc.signum).name
            _say(prog, f"interrupted by {name}; unfinished outputs were discarded")
            return 128 + exc.signum
        except KeyboardInterrupt:
            _say(prog, "interrupted; unfinished outputs were discarded")
            return 130
        except Exception as exc:
            if not _user_error(prog, exc):
                raise  # a bug: the traceback is what a report needs
            return 2


def _user_error(prog: str, exc: Exception) -> bool:
    """Print ``exc`` in one line if it is the user's (bad input, file, disk); else False."""
    # Imported here, not at the top: this module loads nothing before the signals are handled.
    from deepsort_lib.errors import DeepSortError

    if isinstance(exc, DeepSortError):  # first: SourceError is an OSError too
        _say(prog, f"error: {_one_line(exc)}")
    elif isinstance(exc, BrokenPipeError):
        _silence_stdout()
        _say(prog, "error: standard output was closed before the command finished")
    elif isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        _say(prog, f"error: {where}{_one_line(exc) if not exc.strerror else exc.strerror}")
    else:
        return False
    return True


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _version() -> str:
    from deepsort_lib import __version__

    return __version__


def main(argv: Sequence[str] | None = None) -> int:
    """``deepsort``: track objects in videos, evaluate results."""
    return _run(
        "deepsort",
        "Deep SORT multi-object tracking: track videos, evaluate results.",
        TRACK_COMMANDS,
        argv,
    )


def convert_main(argv: Sequence[str] | None = None) -> int:
    """``deepsort-convert``: turn Darknet / TensorFlow models into ONNX, quantise them."""
    return _run(
        "deepsort-convert",
        "Convert and quantise models for deepsort_lib.",
        CONVERT_COMMANDS,
        argv,
    )


if __name__ == "__main__":
    sys.exit(main())
