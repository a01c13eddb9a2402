"""The ``--cache-dir`` of ``deepsort track``: where cached detections live and when they apply.

A cache entry is three files named ``<source name>.<content fingerprint>.<detector>.<encoder>``
plus ``.det.txt`` (MOT rows), ``.npy`` (features, when an encoder ran) and ``.json``
(metadata, written last: an entry without it is incomplete and rebuilt). The fingerprint is
:func:`~deepsort_lib.io.detection_cache.content_fingerprint` of the source, so two
different videos that
share a file name (``camA/clip.avi``, ``camB/clip.avi``, or a re-encoded clip) never share
detections. The metadata also records the model files' identity and the detection filters;
any difference rebuilds the entry.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepsort_lib.io.atomic import AtomicFile
from deepsort_lib.run.build import BUILTIN_MODELS, tag

if TYPE_CHECKING:
    from deepsort_lib.io.detection_cache import DetectionCache
    from deepsort_lib.io.video import FrameSource


def source_identity(args: argparse.Namespace) -> str:
    """Content fingerprint of the source (a camera has none: its name is used)."""
    from deepsort_lib.io.detection_cache import content_fingerprint

    text = str(args.source)
    if text.isdigit() or not Path(text).exists():
        return f"camera{text}"
    return content_fingerprint(text)


def cache_paths(args: argparse.Namespace, source: FrameSource) -> tuple[Path, Path, Path]:
    """``(det.txt, features .npy, metadata .json)`` of this run's cache entry."""
    fingerprint = source_identity(args)[:12]
    key = f"{tag(source.name)}.{fingerprint}.{tag(args.detector or 'hog')}.{tag(args.encoder)}"
    root = Path(args.cache_dir)
    return root / f"{key}.det.txt", root / f"{key}.npy", root / f"{key}.json"


def model_identity(choice: str) -> str:
    """A built-in model's name, or a model file's resolved path, size and mtime."""
    path = Path(choice)
    if choice in BUILTIN_MODELS or not path.is_file():
        return choice
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def cache_settings(args: argparse.Namespace) -> dict[str, Any]:
    """What the cached detections depend on: the source's content, models and filters."""
    return {
        "source": source_identity(args),
        "detector": model_identity(args.detector or "hog"),
        "encoder": model_identity(args.encoder),
        "classes": args.classes,
        "min_score": args.min_score,
    }


def load_cache(
    args: argparse.Namespace, source: FrameSource, frames_needed: int | None
) -> DetectionCache | None:
    """The cached detections for this run, or ``None`` when they must be (re)built."""
    from deepsort_lib.io.detection_cache import DetectionCache

    det, npy, meta = cache_paths(args, source)
    if not meta.is_file():
        return None
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        covered = int(info["num_frames"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if info.get("settings") != cache_settings(args):
        return None  # another source content, other models or filters: rebuild
    if not (info.get("complete") or (frames_needed is not None and covered >= frames_needed)):
        return None
    return DetectionCache.load(det, npy if npy.is_file() else None, covered)


def save_cache(
    args: argparse.Namespace, source: FrameSource, cache: DetectionCache, complete: bool
) -> None:
    """Write the cache entry; the metadata last."""
    det, npy, meta = cache_paths(args, source)
    cache.save(det, npy if cache.features is not None else None)
    info = {
        "source": str(args.source),
        "detector": args.detector or "hog",
        "encoder": args.encoder,
        "num_frames": cache.num_frames,
        "complete": complete,
        "settings": cache_settings(args),
        "det": det.name,
        "features": npy.name if cache.features is not None else None,
    }
    with AtomicFile(meta) as out:
        out.write(json.dumps(info, indent=2) + "\n")


__all__ = [
    "cache_paths",
    "cache_settings",
    "load_cache",
    "model_identity",
    "save_cache",
    "source_identity",
    "tag",
]
