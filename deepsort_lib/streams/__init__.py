"""Many streams in one process: a multi-stream tracker, cross-stream model batching, a runner.

=========================================  ==================================================
:class:`MultiStreamTracker`                one ``update`` advances a batch of streams, each
                                           with its own :class:`~deepsort_lib.Tracker`
:class:`StreamFrame`                       one entry of such a batch
:class:`GlobalIdAllocator`                 track ids unique across streams
=========================================  ==================================================

The model-side pieces (:mod:`deepsort_lib.streams.batching`) and the multi-source runner
(:mod:`deepsort_lib.streams.runner`) import OpenCV; they load on first use.
"""

from deepsort_lib.streams.tracker import GlobalIdAllocator, MultiStreamTracker, StreamFrame

__all__ = ["GlobalIdAllocator", "MultiStreamTracker", "StreamFrame"]
