"""A pool of Ray actors serving the models: each loads the detector and encoder once.

::

    tracking task (per source / chunk)            model actors (any node)
    ─ decode frames ─ batch of B frames ──put──▶  ModelActor.infer: detect_frames over the
    ◀── detections + features (object store) ───  batch, CrossStreamEncoder over its crops
    ─ tracker.update (local, stateful)

* **How tasks reach the pool**: the driver creates the actors and passes their handles to every
  task inside a :class:`PoolClient` (a plain, picklable list of handles). A task sends its
  batches round-robin over the actors, starting at an offset of its own, so concurrent tasks
  spread over the pool. No names to clash between jobs on a shared cluster, nothing to look
  up; the actors die with the job (the driver kills them at the end).
* **Batches**: a batch is a few consecutive frames of one task; the frames travel as the
  call's arguments through the object store, the detections come back the same way. An actor
  serves calls from any task, one batch at a time (its models use the CPUs it reserved).
* **Faults**: an actor that dies (killed, out of memory, node lost) is restarted by Ray
  (``max_restarts``), reloading its models, and the calls it had not answered are sent again
  (``max_task_retries``). The models are stateless, so a retried call returns the same
  detections and the output does not change.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from deepsort_lib.boxes import Detections
from deepsort_lib.distributed.models import Frame, ModelServer
from deepsort_lib.errors import ConfigurationError


class ModelActor:
    """The body of a pool actor: a :class:`ModelServer`, OpenCV on the actor's CPUs."""

    def __init__(self, options: argparse.Namespace, choices: Sequence[str], threads: int) -> None:
        import cv2

        cv2.setNumThreads(max(1, threads))
        self.server = ModelServer(options, choices)

    def infer(
        self, frames: Sequence[Frame], given: Sequence[Detections] | None, choice: str
    ) -> list[Detections]:
        """See :meth:`ModelServer.infer`."""
        return self.server.infer(frames, given, choice)


class PoolClient:
    """What a task is given to reach the pool (a :class:`~.models.ModelClient`).

    Parameters
    ----------
    actors
        Handles of the pool's actors.
    offset
        The task's first actor (batches then go round-robin).
    """

    def __init__(self, actors: Sequence[Any], offset: int = 0) -> None:
        if not actors:
            raise ConfigurationError("a model pool needs at least one actor")
        self.actors = list(actors)
        self._next = offset
        #: Frames this client sent to the pool.
        self.frames_sent = 0

    def for_task(self, offset: int) -> PoolClient:
        """A client over the same actors starting at ``offset``."""
        return PoolClient(self.actors, offset)

    def submit(
        self, frames: Sequence[Frame], given: Sequence[Detections] | None, choice: str
    ) -> Any:
        """Send a batch to the next actor; the handle is the call's object reference."""
        actor = self.actors[self._next % len(self.actors)]
        self._next += 1
        self.frames_sent += len(frames)
        return actor.infer.remote(list(frames), None if given is None else list(given), choice)

    def result(self, handle: Any) -> list[Detections]:
        """The batch's detections (waits for them)."""
        import ray

        return list(ray.get(handle))


def start_pool(
    ray: Any,
    options: argparse.Namespace,
    choices: Sequence[str],
    *,
    actors: int,
    actor_cpus: float,
    max_restarts: int,
) -> PoolClient:
    """Create ``actors`` model actors reserving ``actor_cpus`` CPUs each; their client."""
    remote = ray.remote(ModelActor).options(
        num_cpus=actor_cpus,
        max_restarts=max_restarts,
        max_task_retries=max_restarts,
    )
    threads = max(1, int(actor_cpus))
    handles = [remote.remote(options, list(choices), threads) for _ in range(actors)]
    return PoolClient(handles)


def stop_pool(ray: Any, client: PoolClient | None) -> None:
    """Kill the pool's actors (they hold models; the job is over)."""
    if client is None:
        return
    for actor in client.actors:
        ray.kill(actor, no_restart=True)


def check_resources(ray: Any, actors: int, actor_cpus: float, task_cpus: float) -> None:
    """Refuse a pool that would leave no CPU for the tracking tasks (they would never start).

    Raises
    ------
    ConfigurationError
        If ``actors * actor_cpus + task_cpus`` exceeds the cluster's CPUs.
    """
    total = float(ray.cluster_resources().get("CPU", 0.0))
    needed = actors * actor_cpus + task_cpus
    if needed > total + 1e-9:
        raise ConfigurationError(
            f"{actors} model actor(s) x {actor_cpus:g} CPU plus a tracking task's "
            f"{task_cpus:g} CPU need {needed:g} CPUs; the cluster has {total:g}: use fewer "
            "actors (--model-actors), fewer CPUs each (--model-actor-cpus) or per task "
            "(--ray-task-cpus)"
        )


__all__ = ["ModelActor", "PoolClient", "check_resources", "start_pool", "stop_pool"]
