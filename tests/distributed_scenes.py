"""Small inputs for the distributed tests (synthetic crowd sequences, clips) and the helpers
that kill Ray workers mid-job."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from deepsort_lib.io.mot import MotData, write_mot
from deepsort_lib.testing.synthetic import CrowdScenario


def crowd_sequence(
    root: Path,
    num_frames: int,
    *,
    seed: int = 0,
    num_targets: int = 6,
    features: bool = True,
) -> tuple[Path, np.ndarray]:
    """A MOTChallenge sequence (tiny blank images, det/det.txt, det/det.npy) of a crowd.

    Returns the sequence folder and its ground truth ``(N, 6)`` ``frame, id, tlwh``.
    """
    scenario = CrowdScenario(
        num_targets=num_targets,
        num_frames=num_frames,
        frame_size=(960, 540),
        feature_dim=32 if features else 0,
        false_positives_per_frame=0.2,
        speed=3.0,
        seed=seed,
    )
    (root / "img1").mkdir(parents=True)
    (root / "det").mkdir()
    blank = np.zeros((24, 32, 3), np.uint8)
    frames, tlwh, scores, feats, gt = [], [], [], [], []
    for number, frame in enumerate(scenario.frames(), start=1):
        cv2.imwrite(str(root / "img1" / f"{number:06d}.png"), blank)
        dets = frame.detections
        frames.append(np.full(len(dets), number))
        tlwh.append(dets.tlwh)
        scores.append(dets.scores)
        if dets.features is not None:
            feats.append(dets.features)
        k = len(frame.true_tlwh)
        gt.append(np.column_stack([np.full(k, number), np.arange(1, k + 1), frame.true_tlwh]))
    write_mot(
        root / "det" / "det.txt",
        MotData.from_arrays(np.concatenate(frames), None, np.vstack(tlwh), np.concatenate(scores)),
    )
    if features:
        np.save(root / "det" / "det.npy", np.vstack(feats).astype(np.float32))
    (root / "seqinfo.ini").write_text(
        f"[Sequence]\nname={root.name}\nimDir=img1\nframeRate=25\nseqLength={num_frames}\n"
    )
    return root, np.vstack(gt)


def video_clip(source: Path, target: Path, num_frames: int, *, skip: int = 0) -> Path:
    """The frames ``skip + 1 .. skip + num_frames`` of ``source`` as an MJPG ``.avi``."""
    capture = cv2.VideoCapture(str(source))
    writer = None
    try:
        for i in range(skip + num_frames):
            ok, frame = capture.read()
            if not ok:
                break
            if i < skip:
                continue
            if writer is None:
                h, w = frame.shape[:2]
                writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (w, h))
            writer.write(frame)
    finally:
        capture.release()
        if writer is not None:
            writer.release()
    return target


# -- killing Ray workers mid-job ---------------------------------------------------------------


def ray_worker_pids(title: bytes) -> list[int]:
    """Pids of Ray worker processes whose title starts with ``title`` (Ray titles a task's
    worker ``ray::<task>``, an actor ``ray::<Class>``, and ``ray::<Class>.<method>`` while the
    actor runs that method)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if cmdline.startswith(title):
            pids.append(int(entry.name))
    return pids


def start_job(job: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """``job`` running on a thread, and the list its exception (if any) will be put in."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            job()
        except BaseException as exc:  # reported by the caller's assertions
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def kill_first_worker(
    title: bytes, thread: threading.Thread, timeout_s: float = 120.0, poll_s: float = 0.01
) -> int | None:
    """SIGKILL the first Ray worker titled ``title`` seen while ``thread`` runs; its pid."""
    deadline = time.monotonic() + timeout_s
    while thread.is_alive() and time.monotonic() < deadline:
        found = ray_worker_pids(title)
        if found:
            os.kill(found[0], signal.SIGKILL)
            return found[0]
        time.sleep(poll_s)
    return None
