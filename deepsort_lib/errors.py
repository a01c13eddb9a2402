"""The library's exception hierarchy.

Every error the library raises on purpose is a :class:`DeepSortError`. The subclasses also
derive from the matching built-in exception, so ``except ValueError`` keeps working for users
who do not know about this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class DeepSortError(Exception):
    """Base class of every error raised on purpose by deepsort_lib."""


class InvalidInputError(DeepSortError, ValueError):
    """Input data (boxes, scores, features, frames) is malformed.

    Raised before any state changes: the object that rejected the call is unchanged.
    """


class ConfigurationError(DeepSortError, ValueError):
    """A parameter or a combination of parameters is not valid."""


class ModelError(DeepSortError, RuntimeError):
    """A model file cannot be read, converted or run (unknown layout, bad weights, ...)."""


class ConcurrentUseError(DeepSortError, RuntimeError):
    """An object that serves one caller at a time (a ``Tracker``) was entered from a second
    thread while still busy. Nothing was changed by the refused call."""


class StateError(InvalidInputError):
    """A saved tracker state is corrupt, of another format, or from an unsupported version.

    Raised before anything is restored: the object that rejected the state is unchanged.
    """


class SourceError(DeepSortError, OSError):
    """A video, image folder, camera or data file cannot be opened, read or written."""


@contextmanager
def reading_state(what: str) -> Iterator[None]:
    """Turn what a corrupt saved state makes a loader raise (a missing key, a wrong type or
    value, settings a constructor refuses) into one :class:`StateError` naming ``what``;
    a :class:`StateError` raised inside passes unchanged."""
    try:
        yield
    except StateError:
        raise
    except (KeyError, TypeError, ValueError) as exc:  # ConfigurationError is a ValueError
        raise StateError(f"{what} state is corrupt: {exc}") from None


__all__ = [
    "ConcurrentUseError",
    "ConfigurationError",
    "DeepSortError",
    "InvalidInputError",
    "ModelError",
    "SourceError",
    "StateError",
    "reading_state",
]
