"""Past one machine: many videos and long videos on a Ray cluster (the optional ``[ray]`` extra).

==========================================  =================================================
:mod:`~deepsort_lib.distributed.chunks`     chunk planning and id stitching (numpy only)
:mod:`~deepsort_lib.distributed.checkpoint` per-chunk result checkpoints (resume)
:mod:`~deepsort_lib.distributed.ray`        the job driver: tasks on the cluster, outputs
==========================================  =================================================

Only :mod:`deepsort_lib.distributed.ray` imports Ray, and only this package imports that
module: the core library never does. See ``docs/distributed.md``.
"""
