"""The whole distributed path on a local Ray cluster (``num_cpus=2``): many videos, a chunked
sequence, resume from checkpoints, a worker SIGKILLed mid-chunk, the CLI.

One cluster serves the module (Ray takes ~15 s to start on 2 cores); inputs are short.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import ray

from deepsort_lib.cli.main import main as deepsort_main
from deepsort_lib.distributed.checkpoint import CHECKPOINT_DIR
from deepsort_lib.distributed.chunks import plan_chunks, stitch
from deepsort_lib.distributed.ray import track_on_ray
from deepsort_lib.distributed.worker import track_span
from deepsort_lib.io.mot import MotData, read_mot
from deepsort_lib.run.options import track_options
from tests.distributed_scenes import crowd_sequence, kill_first_worker, start_job, video_clip

pytestmark = pytest.mark.slow  # a Ray cluster takes ~15 s to start on 2 cores

VTEST = Path(__file__).resolve().parents[1] / "data" / "vtest.avi"
TASK = "deepsort_track_chunk"


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def sequence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-frame crowd as a MOTChallenge sequence with public detections and features."""
    root, _ = crowd_sequence(tmp_path_factory.mktemp("seq") / "crowd", 300, seed=4)
    return root


@pytest.fixture(scope="module")
def chunked_reference(sequence: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The chunked sequence's output of an undisturbed run on the cluster (C=100, O=30)."""
    out = tmp_path_factory.mktemp("undisturbed")
    track_on_ray([sequence], out, track_options(), chunk_frames=100, chunk_overlap=30)
    return (out / "crowd.txt").read_bytes()


def test_two_videos_give_the_single_process_outputs(cluster: None, tmp_path: Path) -> None:
    clips = [
        video_clip(VTEST, tmp_path / "first.avi", 12),
        video_clip(VTEST, tmp_path / "second.avi", 12, skip=300),
    ]
    report = track_on_ray(clips, tmp_path / "out", track_options())
    assert [p.name for p in report.outputs] == ["first.txt", "second.txt"]
    assert [s.computed for s in report.sources] == [1, 1]
    for clip, output in zip(clips, report.outputs, strict=True):
        reference = tmp_path / f"{clip.stem}_single.txt"
        assert deepsort_main(["track", str(clip), "--mot", str(reference), "-q"]) == 0
        got = output.read_bytes()
        assert got == reference.read_bytes()
        assert len(read_mot(output)) > 10  # HOG + classic encoder found and tracked people
    assert not (tmp_path / "out" / CHECKPOINT_DIR).exists()


def test_chunked_sequence_is_stitched_into_one_id_space(
    cluster: None, sequence: Path, chunked_reference: bytes, tmp_path: Path
) -> None:
    options = track_options()
    plan = plan_chunks(300, 100, 30)
    assert len(plan) == 4
    # What the workers computed, done here chunk by chunk, and stitched: the same file.
    parts = [track_span(options, str(sequence), c.start, c.stop, feature_frames=None) for c in plan]
    local = stitch(plan, parts)
    from deepsort_lib.io.mot import format_mot

    assert chunked_reference.decode() == format_mot(local.rows)
    # Every frame once; the first chunk is the unchunked command's output.
    rows = read_mot_text(chunked_reference, tmp_path)
    assert len(set(zip(rows.frames.tolist(), rows.ids.tolist(), strict=True))) == len(rows)
    single = tmp_path / "single.txt"
    assert deepsort_main(["track", str(sequence), "--mot", str(single), "-q"]) == 0
    whole = read_mot(single)
    np.testing.assert_array_equal(
        rows.as_array()[rows.frames <= 100], whole.as_array()[whole.frames <= 100]
    )
    assert set(rows.frames.tolist()) == set(whole.frames.tolist())
    # Ids are consistent across the cuts: every person keeps one id through the whole video,
    # as in the unchunked run (same number of distinct ids, each linked at every boundary).
    assert len(np.unique(rows.ids)) == len(np.unique(whole.ids))
    for boundary in local.boundaries:
        assert len(boundary.links) >= 6 and boundary.new_ids == []


def read_mot_text(text: bytes, folder: Path) -> MotData:
    path = folder / "rows.txt"
    path.write_bytes(text)
    return read_mot(path)


def test_resume_skips_finished_chunks(
    cluster: None, sequence: Path, chunked_reference: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done: list[str] = []

    class Interrupted(Exception):
        pass

    def stop_after_two(line: str) -> None:
        done.append(line)
        if len(done) == 2:
            raise Interrupted  # the driver stops, as on Ctrl-C, after two chunks

    with pytest.raises(Interrupted):
        track_on_ray(
            [sequence],
            out,
            track_options(),
            chunk_frames=100,
            chunk_overlap=30,
            on_event=stop_after_two,
        )
    assert not (out / "crowd.txt").exists()
    saved = list((out / CHECKPOINT_DIR).rglob("*.npz"))
    assert len(saved) == 2
    assert not [p for p in (out / CHECKPOINT_DIR).rglob("*") if p.name.startswith(".")]

    report = track_on_ray([sequence], out, track_options(), chunk_frames=100, chunk_overlap=30)
    assert (report.sources[0].resumed, report.sources[0].computed) == (2, 2)
    assert (out / "crowd.txt").read_bytes() == chunked_reference
    assert not (out / CHECKPOINT_DIR).exists()
    # Other options: the checkpoints of this job would not be used (they are keyed).
    assert sorted(os.listdir(out)) == ["crowd.txt"]


def test_a_worker_killed_mid_chunk_is_retried_and_the_output_is_identical(
    cluster: None, sequence: Path, chunked_reference: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    thread, errors = start_job(
        lambda: track_on_ray(
            [sequence], out, track_options(), chunk_frames=100, chunk_overlap=30, max_retries=3
        )
    )
    killed = kill_first_worker(f"ray::{TASK}".encode(), thread, poll_s=0.02)
    thread.join(timeout=300)
    assert killed is not None, "no worker was seen running a chunk"
    assert not thread.is_alive()
    assert errors == []
    assert not Path(f"/proc/{killed}").exists() or b"zombie" in _state(killed)
    assert (out / "crowd.txt").read_bytes() == chunked_reference


def _state(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/status").read_bytes().lower()
    except OSError:
        return b"zombie"


def test_cli_tracks_on_the_cluster_and_refuses_bad_options(
    cluster: None,
    sequence: Path,
    chunked_reference: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "cli"
    argv = [str(sequence), "--ray", "--chunk-frames", "100", "--chunk-overlap", "30"]
    assert deepsort_main(["track", *argv, "-o", f"{out}/", "-q"]) == 0
    assert (out / "crowd.txt").read_bytes() == chunked_reference
    printed = capsys.readouterr().out
    assert f"wrote {out / 'crowd.txt'}" in printed and "4 chunk(s)" in printed

    for extra, message in (
        (["--mot", str(tmp_path / "x.txt")], "--mot is not supported with --ray"),
        (["-o", str(tmp_path / "video.mp4")], "-o is the output folder"),
        (["-o", f"{tmp_path / 'bad'}/", "--chunk-overlap", "60"], "at most half"),
    ):
        assert deepsort_main(["track", *argv, *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    missing = tmp_path / "nope.avi"
    assert deepsort_main(["track", str(missing), "--ray", "-o", f"{tmp_path / 'none'}/"]) == 2
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "none").exists() and not (tmp_path / "bad").exists()
