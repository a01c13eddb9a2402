"""Ray: 4 videos on a local cluster, per-task models vs a model-actor pool, 1 vs 2 workers;
where the time goes; and the cost of a chunk.

``videos``
    Four 10-frame clips of ``data/vtest.avi`` tracked with ``deepsort track``'s defaults (HOG +
    classical encoder: the zero-download chain), one task per clip, on a local cluster of 1 CPU
    and of 2 CPUs ("workers"). ``per-task``: each task builds its own models and runs them
    (one task per CPU at a time, OpenCV on one thread). ``pool``: as many model actors as
    workers, each reserving 0.5 CPU, serve batches of 4 frames; tasks reserve 0.5 CPU and keep
    only decoding and the tracker. The worker processes (and the actors' imports) are warmed up
    before timing. The 2-core machine bounds the ratio at 2x.
``costs``
    The pieces: starting a model actor (a new worker process: imports, models; the pool is
    started by each job), building the models in a task (HOG + classic), running them on one
    frame, and one batch of 4 frames sent to an actor that returns nothing (object store, both
    ways).
``chunks``
    A 400-frame sequence with public detections (no decoding, no models: almost no work per
    frame) as one task, and cut into 20 chunks of 20 frames, on 2 CPUs. The wall time per task
    of the 20-chunk run is what a chunk costs whatever its length: Ray's scheduling, opening
    the source and building the pipeline in the task, returning the result, the driver's
    checkpoint. ``task_s_sum`` is the time measured inside the tasks.

Run: ``pytest benchmarks/test_bench_ray.py -p no:cacheprovider -s``; writes ``results/ray.md``
and ``results/ray_costs.md``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import ray

from benchmarks.conftest import ResultTable
from deepsort_lib.distributed.ray import JobReport, track_on_ray
from deepsort_lib.distributed.worker import BATCH_FRAMES
from deepsort_lib.run.build import build_pipeline
from deepsort_lib.run.options import track_options
from tests.distributed_scenes import crowd_sequence, video_clip

VTEST = Path(__file__).resolve().parents[1] / "data" / "vtest.avi"
FRAMES = 10
ROUNDS = 2
_WALL: dict[tuple[str, int], float] = {}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    return [video_clip(VTEST, folder / f"clip{i}.avi", FRAMES, skip=150 * i) for i in range(4)]


@pytest.fixture
def fresh_cluster() -> Iterator[None]:
    yield
    ray.shutdown()


def _settings(models: str, workers: int) -> dict[str, float]:
    if models == "per-task":
        return {"model_actors": 0, "task_cpus": 1.0}
    return {"model_actors": workers, "model_actor_cpus": 0.5, "task_cpus": 0.5}


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("models", ["per-task", "pool"])
def test_four_videos(
    benchmark: pytest.FixtureRequest,
    clips: list[Path],
    tmp_path: Path,
    models: str,
    workers: int,
    results: ResultTable,
    fresh_cluster: None,
) -> None:
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    options = track_options()
    settings: dict[str, Any] = _settings(models, workers)
    track_on_ray(clips[:workers], tmp_path / "warm", options, **settings)  # start the workers
    out = tmp_path / "out"

    def run() -> JobReport:
        shutil.rmtree(out, ignore_errors=True)
        return track_on_ray(clips, out, options, **settings)

    report: JobReport = benchmark.pedantic(run, rounds=ROUNDS, iterations=1)  # type: ignore[attr-defined]
    assert len(report.outputs) == 4 and all(p.is_file() for p in report.outputs)
    served = sum(s.frames_served for s in report.sources)
    assert served == (4 * FRAMES if models == "pool" else 0)
    wall = float(benchmark.stats.stats.min)  # type: ignore[attr-defined]
    _WALL[models, workers] = wall
    inside = sum(s.task_seconds for s in report.sources)
    per_task = _WALL.get(("per-task", workers))
    results.add(
        "ray",
        case="4 videos x 10 frames (HOG + classic)",
        models=models,
        workers=workers,
        tasks=4,
        wall_s=wall,
        task_s_sum=inside,
        fps=4 * FRAMES / wall,
        speedup_vs_1_worker=_WALL[models, 1] / wall if (models, 1) in _WALL else float("nan"),
        vs_per_task=per_task / wall if per_task else float("nan"),
        wall_ms_per_task=1000 * wall / 4,
    )


class _Echo:
    """An actor that receives a batch of frames and returns nothing: the transfer alone."""

    def infer(self, frames: list[Any]) -> int:
        return len(frames)


def test_where_the_time_goes(clips: list[Path], results: ResultTable, fresh_cluster: None) -> None:
    from deepsort_lib.distributed.models import ModelServer
    from deepsort_lib.io.video import open_source

    options = track_options()
    with open_source(str(clips[0])) as opened:
        frames = [frame for _, frame in opened][:BATCH_FRAMES]
        build = []
        for _ in range(5):
            start = time.perf_counter()
            build_pipeline(options, opened)
            build.append(time.perf_counter() - start)
    server = ModelServer(options, ["hog"])
    server.infer(frames[:1])
    start = time.perf_counter()
    server.infer(frames)
    infer = (time.perf_counter() - start) / len(frames)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    echo: Any = ray.remote(_Echo).options(num_cpus=0.5).remote()
    ray.get(echo.infer.remote(frames))  # started and warm
    trips = []
    for _ in range(10):
        start = time.perf_counter()
        ray.get(echo.infer.remote(frames))
        trips.append(time.perf_counter() - start)
    from deepsort_lib.distributed.pool import ModelActor

    start = time.perf_counter()
    actor: Any = ray.remote(ModelActor).options(num_cpus=0.5).remote(options, ["hog"], 1)
    ray.get(actor.infer.remote(frames[:1], None, "hog"))
    started = time.perf_counter() - start - infer
    ray.kill(actor)
    height, width = frames[0].shape[:2]
    for piece, seconds in (
        ("start a model actor (process, imports, models; once per job)", started),
        ("build the models in a task (HOG + classic)", min(build)),
        ("detect + encode one frame (HOG + classic)", infer),
        (f"send {BATCH_FRAMES} frames {width}x{height} to an actor and back", min(trips)),
    ):
        results.add("ray_costs", piece=piece, ms=1000 * seconds)


def test_chunk_overhead(
    tmp_path: Path, benchmark: pytest.FixtureRequest, results: ResultTable, fresh_cluster: None
) -> None:
    sequence, _ = crowd_sequence(tmp_path / "seq", 400, seed=1)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    options = track_options(encoder="none")
    track_on_ray([sequence], tmp_path / "warm", options, chunk_frames=100, chunk_overlap=0)
    out = tmp_path / "out"

    def run() -> JobReport:
        shutil.rmtree(out, ignore_errors=True)
        return track_on_ray([sequence], out, options, chunk_frames=20, chunk_overlap=0)

    report: JobReport = benchmark.pedantic(run, rounds=ROUNDS, iterations=1)  # type: ignore[attr-defined]
    chunks = len(report.sources[0].chunks)
    assert chunks == 20 and report.sources[0].computed == chunks
    wall = float(benchmark.stats.stats.min)  # type: ignore[attr-defined]
    start = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    single = track_on_ray([sequence], out, options)
    single_wall = time.perf_counter() - start
    for name, got, seconds in (
        ("1 task x 400 frames", single, single_wall),
        ("20 chunks x 20 frames", report, wall),
    ):
        tasks = len(got.sources[0].chunks)
        results.add(
            "ray",
            case=f"{name}, public detections",
            models="none needed",
            workers=2,
            tasks=tasks,
            wall_s=seconds,
            task_s_sum=got.sources[0].task_seconds,
            fps=400 / seconds,
            speedup_vs_1_worker=float("nan"),
            vs_per_task=float("nan"),
            wall_ms_per_task=1000 * seconds / tasks,
        )
