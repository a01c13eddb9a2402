"""Past one machine: many videos and long videos on a Ray cluster (the optional ``[ray]`` extra).

==========================================  =================================================
:mod:`~deepsort_lib.distributed.chunks`     long videos in chunks: the method, and the names of
                                            ``planning`` (chunk plans), ``results`` (what a
                                            chunk returns) and ``stitching`` (linking ids)
:mod:`~deepsort_lib.distributed.checkpoint` per-chunk result checkpoints (resume)
:mod:`~deepsort_lib.distributed.job`        a job's checks and plans, before anything runs
:mod:`~deepsort_lib.distributed.worker`     what a task does: track a span of one source
:mod:`~deepsort_lib.distributed.models`     detector + encoder served to tasks in batches
:mod:`~deepsort_lib.distributed.pool`       those models in a pool of Ray actors
:mod:`~deepsort_lib.distributed.ray`        the job driver: tasks on the cluster, outputs
==========================================  =================================================

Only :mod:`~deepsort_lib.distributed.ray` and :mod:`~deepsort_lib.distributed.pool` use Ray,
importing it when a job runs; only this package imports them: the core library never does.
See ``docs/distributed.md``.
"""
