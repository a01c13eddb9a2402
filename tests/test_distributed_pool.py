"""The model-actor pool on a local Ray cluster (``num_cpus=2``): two videos and a chunked video
give the outputs of the single-process command / the per-task path byte for byte, the CLI's
``--model-actors``, a model actor SIGKILLed mid-run, and a pool that cannot fit.

One cluster serves the module; clips are short (HOG costs ~0.1 s a frame here).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from deepsort_lib.cli.main import main as deepsort_main
from deepsort_lib.distributed.chunks import plan_chunks, stitch
from deepsort_lib.distributed.ray import track_on_ray
from deepsort_lib.distributed.worker import track_span
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.io.mot import format_mot, read_mot
from deepsort_lib.run.options import track_options
from tests.distributed_scenes import kill_first_worker, ray_worker_pids, start_job, video_clip

pytestmark = pytest.mark.slow  # a Ray cluster takes ~15 s to start on 2 cores

VTEST = Path(__file__).resolve().parents[1] / "data" / "vtest.avi"
ACTOR = b"ray::ModelActor"
CHUNKS = {"chunk_frames": 12, "chunk_overlap": 4}  # 24 frames: chunks 1-12, 9-20, 17-24


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return video_clip(VTEST, tmp_path_factory.mktemp("clip") / "long.avi", 24, skip=100)


@pytest.fixture(scope="module")
def chunked_reference(long_clip: Path) -> bytes:
    """What the per-task path computes for the chunked clip, done here chunk by chunk."""
    options = track_options()
    plan = plan_chunks(24, CHUNKS["chunk_frames"], CHUNKS["chunk_overlap"])
    assert len(plan) == 3
    parts = [
        track_span(options, str(long_clip), c.start, c.stop, feature_frames=None) for c in plan
    ]
    return format_mot(stitch(plan, parts).rows).encode()


def test_two_videos_through_the_pool_give_the_single_process_outputs(
    cluster: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clips = [
        video_clip(VTEST, tmp_path / "first.avi", 10),
        video_clip(VTEST, tmp_path / "second.avi", 10, skip=300),
    ]
    report = track_on_ray(clips, tmp_path / "out", track_options(), model_actors=1, batch_frames=3)
    assert [s.frames_served for s in report.sources] == [10, 10]  # every frame went to the pool
    for clip, output in zip(clips, report.outputs, strict=True):
        reference = tmp_path / f"{clip.stem}_single.txt"
        assert deepsort_main(["track", str(clip), "--mot", str(reference), "-q"]) == 0
        assert output.read_bytes() == reference.read_bytes()
        assert len(read_mot(output)) > 10  # people were found and tracked
    # The command line's --model-actors: the same files.
    cli = tmp_path / "cli"
    argv = ["track", *map(str, clips), "--ray", "--model-actors", "1", "-o", f"{cli}/", "-q"]
    assert deepsort_main(argv) == 0
    for output in report.outputs:
        assert (cli / output.name).read_bytes() == output.read_bytes()
    capsys.readouterr()


def test_chunked_video_through_the_pool_is_the_per_task_result(
    cluster: None, long_clip: Path, chunked_reference: bytes, tmp_path: Path
) -> None:
    report = track_on_ray([long_clip], tmp_path / "out", track_options(), model_actors=1, **CHUNKS)
    assert report.sources[0].computed == 3
    assert report.sources[0].frames_served == 12 + 12 + 8
    assert report.outputs[0].read_bytes() == chunked_reference


def test_a_model_actor_killed_mid_run_is_restarted_and_the_output_is_identical(
    cluster: None, long_clip: Path, chunked_reference: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    thread, errors = start_job(
        lambda: track_on_ray([long_clip], out, track_options(), model_actors=1, **CHUNKS)
    )
    deadline = time.monotonic() + 120
    killed = kill_first_worker(ACTOR + b".infer", thread)  # busy with a batch right now
    restarted: set[int] = set()  # the actor's next process: Ray restarted it
    while thread.is_alive() and time.monotonic() < deadline + 180:
        restarted.update(set(ray_worker_pids(ACTOR)) - {killed})
        time.sleep(0.05)
    thread.join(timeout=300)
    assert killed is not None, "no model actor was seen serving a batch"
    assert restarted, "no new model actor process after the kill"
    assert not thread.is_alive()
    assert errors == []
    assert (out / "long.txt").read_bytes() == chunked_reference
    deadline = time.monotonic() + 20
    while ray_worker_pids(ACTOR) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not ray_worker_pids(ACTOR)  # the pool is gone with the job


def test_a_pool_leaving_no_cpu_for_the_tasks_is_refused(
    cluster: None, long_clip: Path, tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match="need 3 CPUs; the cluster has 2"):
        track_on_ray([long_clip], tmp_path / "out", track_options(), model_actors=2)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ConfigurationError, match="model_actors must be a whole number"):
        track_on_ray([long_clip], tmp_path / "out", track_options(), model_actors=-1)
