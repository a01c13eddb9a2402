"""Many streams in one process: a multi-stream tracker, cross-stream model batching, a runner.

==========================================  =================================================
:class:`MultiStreamTracker`                 one ``update`` advances a batch of streams, each
                                            with its own :class:`~deepsort_lib.Tracker`
:class:`StreamFrame`                        one entry of such a batch
:class:`GlobalIdAllocator`                  track ids unique across streams
:class:`~.batching.CrossStreamEncoder`      one encoder call over the crops of many frames
:class:`~.pipeline.MultiStreamPipeline`     models + trackers over one batch of frames
:class:`~.runner.MultiSourceRunner`         many sources, decode threads, failure policy
:class:`~.identity.SharedIdentityStreams`   one identity memory across streams (cameras)
==========================================  =================================================

The model-side pieces and the runner import OpenCV; they load on first use, so importing
this package for the tracker alone stays light.
"""

from typing import TYPE_CHECKING

from deepsort_lib.streams.tracker import GlobalIdAllocator, MultiStreamTracker, StreamFrame

if TYPE_CHECKING:
    from deepsort_lib.streams.batching import CrossStreamEncoder, detect_frames
    from deepsort_lib.streams.identity import SharedIdentityStreams
    from deepsort_lib.streams.pipeline import MultiStreamPipeline
    from deepsort_lib.streams.runner import (
        MultiSourceRunner,
        RetryPolicy,
        RunReport,
        StreamState,
        StreamStatus,
        outputs,
    )
    from deepsort_lib.streams.sources import UrlSource

_LAZY = {
    "CrossStreamEncoder": "deepsort_lib.streams.batching",
    "detect_frames": "deepsort_lib.streams.batching",
    "MultiStreamPipeline": "deepsort_lib.streams.pipeline",
    "MultiSourceRunner": "deepsort_lib.streams.runner",
    "RetryPolicy": "deepsort_lib.streams.runner",
    "RunReport": "deepsort_lib.streams.runner",
    "StreamState": "deepsort_lib.streams.runner",
    "StreamStatus": "deepsort_lib.streams.runner",
    "outputs": "deepsort_lib.streams.runner",
    "UrlSource": "deepsort_lib.streams.sources",
    "SharedIdentityStreams": "deepsort_lib.streams.identity",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'deepsort_lib.streams' has no attribute {name!r}")


__all__ = [
    "CrossStreamEncoder",
    "GlobalIdAllocator",
    "MultiSourceRunner",
    "MultiStreamPipeline",
    "MultiStreamTracker",
    "RetryPolicy",
    "RunReport",
    "SharedIdentityStreams",
    "StreamFrame",
    "StreamState",
    "StreamStatus",
    "UrlSource",
    "detect_frames",
    "outputs",
]
