"""What a stream reads from: files, folders and cameras via ``io.video``, plus live URLs.

:func:`deepsort_lib.io.video.open_source` opens video files, image folders, MOTChallenge
sequences, camera indices and live network streams (``rtsp://``, ``http(s)://``, ...: its
:class:`~deepsort_lib.io.url.UrlSource`, re-exported here).

A *live* source (a camera or a URL) has no natural end: when it stops delivering frames that is
a failure, and the runner reconnects per its :class:`~deepsort_lib.streams.runner.RetryPolicy`.
A file, folder or sequence ending is simply the end of its stream.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.io.url import LIVE_SCHEMES, UrlSource, is_url
from deepsort_lib.io.video import FrameSource, open_source

Frame = NDArray[np.uint8]

SourceSpec = (
    str
    | os.PathLike[str]
    | int
    | FrameSource
    | Iterable[tuple[int, Frame]]
    | Callable[[], FrameSource | Iterable[tuple[int, Frame]]]
)


def is_live(spec: object) -> bool:
    """Whether a source spec is live: a camera index (int or digits) or a stream URL."""
    if isinstance(spec, bool):
        return False
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return True
    return is_url(spec) or bool(getattr(spec, "live", False))


def source_name(spec: object, default: str) -> str:
    """A short file-name-safe name for a source: file stem, folder, ``camera0``, URL host+path."""
    if isinstance(spec, bool):
        name = default
    elif isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        name = f"camera{int(spec)}"
    elif is_url(spec):
        parts = urlsplit(str(spec))
        name = (parts.hostname or "") + parts.path.rstrip("/")
    elif isinstance(spec, (str, os.PathLike)):
        path = Path(spec)
        name = path.name if path.is_dir() else path.stem
    else:
        name = str(getattr(spec, "name", "") or default)
    return safe_name(name, default)


def safe_name(name: str, default: str) -> str:
    """``name`` with anything but letters, digits, ``.``, ``_`` and ``-`` replaced by ``_``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return safe or default


def unique_names(specs: Iterable[object], prefix: str = "source") -> list[str]:
    """One output name per source, in order: :func:`source_name`, repeats made ``-2``, ``-3``.

    The one naming rule of every multi-source output (``deepsort track A B -o OUTDIR/``, with
    or without ``--ray``, and :class:`~deepsort_lib.streams.runner.MultiSourceRunner`):
    ``a/x.mp4`` and ``b/x.mp4`` become ``x`` and ``x-2``. A source without a name of its own
    is ``<prefix><position>``.
    """
    return distinct_names(source_name(spec, f"{prefix}{i}") for i, spec in enumerate(specs))


def distinct_names(wanted: Iterable[str]) -> list[str]:
    """``wanted`` with repeats suffixed ``-2``, ``-3``, ... (``x, x, x`` -> ``x, x-2, x-3``)."""
    names: list[str] = []
    for base in wanted:
        name, k = base, 1
        while name in names:
            k += 1
            name = f"{base}-{k}"
        names.append(name)
    return names


def opener(spec: SourceSpec) -> Callable[[], Any] | None:
    """A function that (re)opens the source, or ``None`` for an already-open one-shot iterable.

    Paths and camera indices go to :func:`~deepsort_lib.io.video.open_source`, URLs to
    :class:`UrlSource`; a callable is used as is (it is the user's own opener).
    """
    if is_url(spec):
        url = str(spec)
        return lambda: UrlSource(url)
    if isinstance(spec, (str, os.PathLike, int)) and not isinstance(spec, bool):
        path_or_index = spec
        return lambda: open_source(path_or_index)
    if callable(spec) and not isinstance(spec, FrameSource):
        return spec
    return None


__all__ = [
    "LIVE_SCHEMES",
    "SourceSpec",
    "UrlSource",
    "distinct_names",
    "is_live",
    "is_url",
    "opener",
    "safe_name",
    "source_name",
    "unique_names",
]
