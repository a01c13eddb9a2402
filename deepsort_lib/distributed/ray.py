"""The Ray job driver: many videos, and long videos in chunks, tracked on a Ray cluster.

::

    driver (this process)                              Ray workers (any node)
    ─ check sources, options, outputs ─┐
    ─ plan chunks, load checkpoints ───┼─ task per source / per chunk ─▶ track_span (a fresh
    ◀── ChunkTracks (object store) ────┘                                  tracker per task)
    ─ checkpoint each result (atomic) ─ stitch a source's chunks ─ write OUTDIR/<name>.txt
                                               model actors (``model_actors > 0``) ◀─ frames
                                               detector + encoder, loaded once ─▶ detections

* Tracking is stateful, so a task is a whole source, or a chunk of one
  (:mod:`deepsort_lib.distributed.chunks`); tasks are independent and run in any order.
* Workers only compute: they read the source, run the models and the tracker, and return
  arrays. With ``model_actors`` > 0 the models run in a pool of actors instead
  (:mod:`deepsort_lib.distributed.pool`): a task sends them batches of frames and keeps only
  the tracker. The driver writes every file (checkpoints, outputs), atomically
  (:mod:`deepsort_lib.io.atomic`), on its own filesystem: a multi-node cluster needs no shared
  output folder, only that every node can read the sources at the same path.
* A worker that dies (killed, out of memory, node lost) is retried by Ray (``max_retries``);
  each task starts its span from scratch, so the result does not depend on the retry.
* Each finished task's result is checkpointed at once; running the same job again loads the
  checkpoints and submits only what is missing. They are deleted when the job succeeds.

Ray is imported when a job runs, never at import time (the ``[ray]`` extra is optional).
"""

from __future__ import annotations

import argparse
import importlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deepsort_lib.distributed.checkpoint import CheckpointStore, job_key
from deepsort_lib.distributed.job import TRACK_KEYS, check_job, feature_frames
from deepsort_lib.distributed.planning import DEFAULT_OVERLAP, Chunk
from deepsort_lib.distributed.results import ChunkTracks
from deepsort_lib.distributed.stitching import BoundaryLinks, stitch
from deepsort_lib.distributed.worker import BATCH_FRAMES
from deepsort_lib.errors import ConfigurationError, DeepSortError, SourceError
from deepsort_lib.streams.sources import unique_names


class ClusterError(DeepSortError):
    """The cluster could not run the job (Ray missing or unreachable, retries spent)."""


def import_ray() -> Any:
    """The ``ray`` module, or a :class:`ClusterError` saying how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise ClusterError(
            "Ray is not installed: pip install 'deepsort_lib[ray]' (or pip install ray)"
        ) from None


@dataclass
class SourceReport:
    """What the job did for one source."""

    source: str
    name: str
    output: Path
    chunks: list[Chunk]
    computed: int = 0  #: tasks run in this job
    resumed: int = 0  #: chunks loaded from checkpoints
    task_seconds: float = 0.0  #: time spent inside the tasks run
    frames_served: int = 0  #: frames its tasks sent to the model actors
    boundaries: list[BoundaryLinks] = field(default_factory=list)
    rows: int = 0
    track_ids: int = 0


@dataclass
class JobReport:
    """Totals of :func:`track_on_ray`."""

    sources: list[SourceReport]
    wall_time: float = 0.0

    @property
    def outputs(self) -> list[Path]:
        """The files written, one per source."""
        return [s.output for s in self.sources]


@dataclass(frozen=True)
class _Task:
    source: int
    chunk: Chunk
    feature_frames: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class _Resources:
    task_cpus: float
    max_retries: int
    model_actors: int
    model_actor_cpus: float
    batch_frames: int


def _run_task(
    options: argparse.Namespace,
    source: str,
    start: int,
    stop: int | None,
    feature_frames: tuple[tuple[int, int], ...],
    models: Any = None,
    batch_frames: int = BATCH_FRAMES,
) -> tuple[ChunkTracks, float, int]:
    """Body of a Ray task: one span, with OpenCV using only the CPUs Ray gave the task."""
    import cv2

    from deepsort_lib.distributed.worker import track_span

    ray = import_ray()
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU", 1.0)
    cv2.setNumThreads(max(1, int(cpus)))
    begin = time.perf_counter()
    tracks = track_span(
        options,
        source,
        start,
        stop,
        feature_frames=feature_frames,
        models=models,
        batch_frames=batch_frames,
    )
    sent = int(getattr(models, "frames_sent", 0))
    return tracks, time.perf_counter() - begin, sent


def _connect(ray: Any, address: str | None, num_cpus: int | None) -> bool:
    """Join or start a cluster unless one is connected; whether this call started it."""
    if ray.is_initialized():
        return False
    try:
        if address in (None, "", "local"):
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError, ...
        where = "a local Ray cluster" if address in (None, "", "local") else f"Ray at {address}"
        raise ClusterError(f"cannot start or join {where}: {' '.join(str(exc).split())}") from exc
    return True


def _unwrap(ray: Any, exc: BaseException) -> BaseException:
    """The library error a task raised, or a :class:`ClusterError` for a cluster failure."""
    cause = getattr(exc, "cause", None)
    if isinstance(exc, ray.exceptions.RayTaskError) and isinstance(cause, DeepSortError):
        return cause
    if isinstance(exc, ray.exceptions.RayTaskError) and isinstance(cause, OSError):
        return SourceError(f"a worker failed to read or write: {cause}")
    return ClusterError(f"a task failed on the cluster: {' '.join(str(exc).split())[:300]}")


def track_on_ray(
    sources: Sequence[str | os.PathLike[str]],
    output_dir: str | os.PathLike[str],
    options: argparse.Namespace | None = None,
    *,
    chunk_frames: int | None = None,
    chunk_overlap: int = DEFAULT_OVERLAP,
    address: str | None = None,
    num_cpus: int | None = None,
    task_cpus: float = 1.0,
    max_retries: int = 3,
    resume: bool = True,
    on_event: Callable[[str], None] | None = None,
    model_actors: int = 0,
    model_actor_cpus: float = 1.0,
    batch_frames: int = BATCH_FRAMES,
) -> JobReport:
    """Track ``sources`` on a Ray cluster; write ``output_dir/<name>.txt`` (MOT) for each.

    Parameters
    ----------
    sources
        Video files, image folders or MOTChallenge sequences (paths every node can read).
    output_dir
        Folder of the outputs (created), on the driver's machine. Each source's results are
        named after it (``a.avi`` -> ``a.txt``; repeated names get ``-2``, ``-3``).
    options
        ``deepsort track`` options (:func:`~deepsort_lib.run.options.track_options`;
        default: the command's defaults): detector, encoder, preset, tracker settings,
        ``max_frames``...
    chunk_frames
        ``None``: one task per source (outputs identical to ``deepsort track``). Otherwise
        cut each source into chunks of this many frames, tracked in parallel and stitched.
    chunk_overlap
        Frames shared by consecutive chunks (see :mod:`deepsort_lib.distributed.chunks`).
    address
        Cluster to join (``"auto"``, ``"host:6379"``, ``"ray://host:10001"``); ``None`` or
        ``"local"`` starts one on this machine (unless this process is already connected).
    num_cpus
        CPUs of a cluster started here (default: all).
    task_cpus
        CPUs reserved per task (OpenCV uses that many threads in it).
    max_retries
        Times Ray re-runs a task whose worker died (and restarts a model actor that died).
    resume
        Use the checkpoints of an earlier, interrupted run of the same job.
    on_event
        Called with a line of progress (a task finished, an output written).
    model_actors
        ``0``: each task builds its own detector and encoder. Otherwise a pool of this many
        Ray actors loads them once each and serves every task's frames, in batches of
        ``batch_frames`` (:mod:`deepsort_lib.distributed.pool`); the outputs are the same.
    model_actor_cpus
        CPUs reserved per model actor (its OpenCV threads). The actors and one task must fit
        in the cluster's CPUs.
    batch_frames
        Frames per batch a task sends to the pool.

    Returns
    -------
    JobReport

    Raises
    ------
    DeepSortError
        A bad source, option or output (before anything runs), an error in a task, or a
        :class:`ClusterError`. Outputs of sources finished before a failure are written, and
        checkpoints of finished chunks are kept for the next run.
    """
    options = options if options is not None else _default_options()
    if getattr(options, "cache_dir", None) is not None:
        raise ConfigurationError("--cache-dir is not supported on a cluster")
    if int(max_retries) != max_retries or max_retries < 0:
        raise ConfigurationError(f"max_retries must be a whole number >= 0, got {max_retries}")
    if not task_cpus > 0:
        raise ConfigurationError(f"task_cpus must be > 0, got {task_cpus}")
    if int(model_actors) != model_actors or model_actors < 0:
        raise ConfigurationError(f"model_actors must be a whole number >= 0, got {model_actors}")
    if not model_actor_cpus > 0:
        raise ConfigurationError(f"model_actor_cpus must be > 0, got {model_actor_cpus}")
    if int(batch_frames) != batch_frames or batch_frames < 1:
        raise ConfigurationError(f"batch_frames must be a whole number >= 1, got {batch_frames}")
    if not sources:
        raise ConfigurationError("give at least one source")
    specs = [os.fspath(s) for s in sources]
    root = Path(output_dir)
    if root.exists() and not root.is_dir():
        raise ConfigurationError(f"the output folder {root} is a file")
    names = unique_names(specs)
    outputs = [root / f"{name}.txt" for name in names]
    job = check_job(specs, options, outputs, chunk_frames, chunk_overlap)
    plans = job.plans
    from deepsort_lib.io.detection_cache import content_fingerprint

    settings = {key: getattr(options, key, None) for key in TRACK_KEYS}
    settings["chunks"] = [chunk_frames, chunk_overlap]
    stores = [
        CheckpointStore(root, name, job_key(content_fingerprint(spec), settings))
        for name, spec in zip(names, specs, strict=True)
    ]
    reports = [
        SourceReport(spec, name, out, plan)
        for spec, name, out, plan in zip(specs, names, outputs, plans, strict=True)
    ]
    say = on_event or (lambda _line: None)
    start = time.perf_counter()

    ray = import_ray()
    started = _connect(ray, address, num_cpus)
    resources = _Resources(
        task_cpus, int(max_retries), int(model_actors), float(model_actor_cpus), int(batch_frames)
    )
    try:
        choices = [c for c in job.model_choices if c is not None]
        _execute(ray, specs, options, plans, stores, reports, resume, resources, choices, say)
    finally:
        if started:
            ray.shutdown()
    for store in stores:
        store.clear()
    return JobReport(reports, time.perf_counter() - start)


def _default_options() -> argparse.Namespace:
    from deepsort_lib.run.options import track_options

    return track_options()


def _execute(
    ray: Any,
    specs: list[str],
    options: argparse.Namespace,
    plans: list[list[Chunk]],
    stores: list[CheckpointStore],
    reports: list[SourceReport],
    resume: bool,
    resources: _Resources,
    choices: list[str],
    say: Callable[[str], None],
) -> None:
    results: list[dict[int, ChunkTracks]] = [{} for _ in specs]
    pending: list[_Task] = []
    for i, plan in enumerate(plans):
        whole = len(plan) == 1
        for chunk in plan:
            loaded = stores[i].load(chunk) if resume else None
            if loaded is not None:
                results[i][chunk.index] = loaded
                reports[i].resumed += 1
                continue
            spans = () if whole else feature_frames(plan, chunk.index)
            pending.append(_Task(i, chunk, spans))
    for i in range(len(specs)):
        if len(results[i]) == len(plans[i]):
            _finish(i, plans, results, reports, say)
    if not pending:
        return
    remote = ray.remote(_run_task).options(
        name="deepsort_track_chunk",
        num_cpus=resources.task_cpus,
        max_retries=resources.max_retries,
    )
    pool = None
    if resources.model_actors and choices:
        from deepsort_lib.distributed.pool import check_resources, start_pool

        check_resources(
            ray, resources.model_actors, resources.model_actor_cpus, resources.task_cpus
        )
        pool = start_pool(
            ray,
            options,
            sorted(set(choices)),
            actors=resources.model_actors,
            actor_cpus=resources.model_actor_cpus,
            max_restarts=resources.max_retries,
        )
    options_ref = ray.put(options)
    refs: dict[Any, _Task] = {}
    for k, task in enumerate(pending):
        whole = len(plans[task.source]) == 1
        stop = None if whole else task.chunk.stop
        models = None if pool is None else pool.for_task(k)
        ref = remote.remote(
            options_ref,
            specs[task.source],
            task.chunk.start,
            stop,
            task.feature_frames,
            models,
            resources.batch_frames,
        )
        refs[ref] = task
    try:
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            task = refs.pop(ready[0])
            try:
                tracks, seconds, served = ray.get(ready[0])
            except Exception as exc:  # a task error or a cluster failure, reported as ours
                raise _unwrap(ray, exc) from None
            i = task.source
            stores[i].save(task.chunk, tracks)
            results[i][task.chunk.index] = tracks
            reports[i].computed += 1
            reports[i].task_seconds += seconds
            reports[i].frames_served += served
            say(
                f"{reports[i].name}: chunk {task.chunk.index + 1}/{len(plans[i])} "
                f"(frames {task.chunk.start}..{task.chunk.stop}) done in {seconds:.1f} s"
            )
            if len(results[i]) == len(plans[i]):
                _finish(i, plans, results, reports, say)
    finally:
        for ref in refs:
            ray.cancel(ref, force=True)
        from deepsort_lib.distributed.pool import stop_pool

        stop_pool(ray, pool)


def _finish(
    i: int,
    plans: list[list[Chunk]],
    results: list[dict[int, ChunkTracks]],
    reports: list[SourceReport],
    say: Callable[[str], None],
) -> None:
    """Stitch one source's chunks and write its output atomically."""
    import numpy as np

    from deepsort_lib.io.mot import write_mot

    plan = plans[i]
    parts = [results[i][c.index] for c in plan]
    if len(plan) == 1:
        rows = parts[0].rows
    else:
        stitched = stitch(plan, parts)
        rows = stitched.rows
        reports[i].boundaries = stitched.boundaries
    write_mot(reports[i].output, rows)
    reports[i].rows = len(rows)
    reports[i].track_ids = len(np.unique(rows.ids))
    say(f"wrote {reports[i].output}")


__all__ = [
    "TRACK_KEYS",
    "ClusterError",
    "JobReport",
    "SourceReport",
    "import_ray",
    "track_on_ray",
]
