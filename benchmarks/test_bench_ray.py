"""Ray: 4 videos on a local cluster with 1 vs 2 worker processes, and the cost of a chunk.

``videos``
    Four 10-frame clips of ``data/vtest.avi`` tracked with ``deepsort track``'s defaults (HOG +
    classical encoder), one task per clip, on a local cluster of 1 CPU (one worker process at a
    time) and of 2 CPUs (two). Each task runs OpenCV on one thread. The worker processes are
    warmed up (imports) before timing. The 2-core machine bounds the ratio at 2x.
``chunks``
    A 400-frame sequence with public detections (no decoding, no models: almost no work per
    frame) as one task, and cut into 20 chunks of 20 frames, on 2 CPUs. The wall time per task
    of the 20-chunk run is what a chunk costs whatever its length: Ray's scheduling, opening
    the source and building the pipeline in the task, returning the result, the driver's
    checkpoint. ``task_s_sum`` is the time measured inside the tasks.

Run: ``pytest benchmarks/test_bench_ray.py -p no:cacheprovider -s``; writes ``results/ray.md``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from benchmarks.conftest import ResultTable
from deepsort_lib.distributed.ray import JobReport, track_on_ray
from deepsort_lib.distributed.worker import track_options
from tests.distributed_scenes import crowd_sequence, video_clip

VTEST = Path(__file__).resolve().parents[1] / "data" / "vtest.avi"
FRAMES = 10
ROUNDS = 2
_WALL: dict[int, float] = {}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("clips")
    return [video_clip(VTEST, folder / f"clip{i}.avi", FRAMES, skip=150 * i) for i in range(4)]


@pytest.fixture
def fresh_cluster() -> Iterator[None]:
    yield
    ray.shutdown()


@pytest.mark.parametrize("workers", [1, 2])
def test_four_videos(
    benchmark: pytest.FixtureRequest,
    clips: list[Path],
    tmp_path: Path,
    workers: int,
    results: ResultTable,
    fresh_cluster: None,
) -> None:
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    options = track_options()
    track_on_ray(clips[:workers], tmp_path / "warm", options)  # start and import the workers
    out = tmp_path / "out"

    def run() -> JobReport:
        shutil.rmtree(out, ignore_errors=True)
        return track_on_ray(clips, out, options)

    report: JobReport = benchmark.pedantic(run, rounds=ROUNDS, iterations=1)  # type: ignore[attr-defined]
    assert len(report.outputs) == 4 and all(p.is_file() for p in report.outputs)
    wall = float(benchmark.stats.stats.min)  # type: ignore[attr-defined]
    _WALL[workers] = wall
    inside = sum(s.task_seconds for s in report.sources)
    results.add(
        "ray",
        case="4 videos x 10 frames (HOG + classic)",
        workers=workers,
        tasks=4,
        wall_s=wall,
        task_s_sum=inside,
        fps=4 * FRAMES / wall,
        speedup_vs_1_worker=(_WALL[1] / wall) if 1 in _WALL else float("nan"),
        wall_ms_per_task=1000 * wall / 4,
    )


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
            workers=2,
            tasks=tasks,
            wall_s=seconds,
            task_s_sum=got.sources[0].task_seconds,
            fps=400 / seconds,
            speedup_vs_1_worker=float("nan"),
            wall_ms_per_task=1000 * seconds / tasks,
        )
