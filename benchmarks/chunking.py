"""Chunked against whole-video tracking: what cutting a video into chunks costs in accuracy.

No Ray is needed: :func:`deepsort_lib.distributed.chunks.track_in_chunks` computes in this
process exactly what a distributed run computes (each chunk on a fresh tracker, then
stitching). Two scenes:

* the accuracy benchmark's (``benchmarks/accuracy/run.py``): simulated detections and features
  on the TUD ground truth shipped with motmetrics, several seeds;
* a long synthetic crowd (:class:`deepsort_lib.testing.synthetic.CrowdScenario`).

For every chunk setting it reports IDF1, HOTA and ID switches (pooled) against the unchunked
run, and the switches that fall on chunk boundaries (in the ``window`` frames from each cut)
in both runs: the difference is what stitching failed to link.

Run::

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.chunking   # results/ray_chunking.md

``tests/test_distributed_chunks.py`` checks the headline claim on a reduced form.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deepsort_lib import Tracker
from deepsort_lib.boxes import Detections, iou_matrix
from deepsort_lib.distributed.chunks import StitchResult, track_in_chunks
from deepsort_lib.evaluation import OVERALL, evaluate_sequences
from deepsort_lib.testing.synthetic import CrowdScenario

RESULTS = Path(__file__).resolve().parent / "results"
#: (chunk frames, overlap) settings of the sweep, per scene; the first is the default. The TUD
#: sequences (179 and 71 frames) are shorter than a default chunk: they are also cut shorter.
TUD_SETTINGS: tuple[tuple[int, int], ...] = ((1000, 100), (120, 30), (100, 30), (60, 20), (60, 10))
CROWD_SETTINGS: tuple[tuple[int, int], ...] = (
    (1000, 100),
    (2000, 100),
    (500, 100),
    (1000, 50),
    (250, 50),
    (100, 30),
)


@dataclass(frozen=True)
class Scene:
    """One sequence: per-frame detections and its ground truth ``(N, >=6)``."""

    name: str
    frames: list[tuple[int, Detections]]
    gt: np.ndarray


def tud_scenes(seed: int) -> list[Scene]:
    """The accuracy benchmark's simulated detections on the TUD sequences."""
    from benchmarks.accuracy.data import SEQUENCES, load_gt
    from benchmarks.accuracy.trackers import IMAGE_SIZE
    from deepsort_lib.testing.simulation import NoiseModel, simulate

    scenes = []
    for i, name in enumerate(SEQUENCES):
        gt = load_gt(name)
        sim = simulate(
            gt, NoiseModel(feature_noise=0.4), seed=seed * 1000 + i, image_size=IMAGE_SIZE
        )
        frames = list(sim.per_frame())
        # track_in_chunks wants frames 1..N: the TUD sequences start at 1 and have every frame.
        scenes.append(Scene(f"{name}/seed{seed}", frames, gt))
    return scenes


def crowd_scene(num_frames: int, seed: int, num_targets: int = 20) -> Scene:
    """A synthetic crowd with its ground truth."""
    frames: list[tuple[int, Detections]] = []
    gt = []
    scenario = CrowdScenario(num_targets=num_targets, num_frames=num_frames, seed=seed)
    for number, frame in enumerate(scenario.frames(), start=1):
        frames.append((number, frame.detections))
        k = len(frame.true_tlwh)
        ones = np.ones(k)
        gt.append(
            np.column_stack([np.full(k, number), np.arange(1, k + 1), frame.true_tlwh, ones, ones])
        )
    return Scene(f"crowd{num_targets}x{num_frames}/seed{seed}", frames, np.vstack(gt))


def switch_frames(gt: np.ndarray, res: np.ndarray, iou_threshold: float = 0.5) -> np.ndarray:
    """Frame numbers of the ID switches motmetrics counts (one entry per switch)."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=False)
    frames = np.union1d(gt[:, 0], res[:, 0]).astype(np.int64)
    for frame in frames:
        g = gt[gt[:, 0] == frame]
        r = res[res[:, 0] == frame]
        iou = iou_matrix(g[:, 2:6], r[:, 2:6])
        dist = 1.0 - iou
        dist[iou < iou_threshold] = np.nan
        acc.update(g[:, 1].astype(np.int64), r[:, 1].astype(np.int64), dist, frameid=int(frame))
    events = acc.mot_events
    switches = events[events["Type"] == "SWITCH"]
    return np.asarray(switches.index.get_level_values("FrameId"), np.int64)


def on_boundaries(frames: np.ndarray, cuts: Sequence[int], window: int) -> int:
    """How many of ``frames`` fall in ``[cut, cut + window)`` of some cut."""
    return int(sum(((frames >= c) & (frames < c + window)).sum() for c in cuts))


_WHOLE: dict[int, StitchResult] = {}


def whole_run(scene: Scene) -> StitchResult:
    """The unchunked run of ``scene`` (computed once per scene)."""
    if id(scene) not in _WHOLE:
        _WHOLE[id(scene)] = track_in_chunks(scene.frames, Tracker, len(scene.frames), 0)
    return _WHOLE[id(scene)]


def compare(
    scenes: Sequence[Scene], chunk_frames: int, overlap: int, window: int = 30
) -> dict[str, Any]:
    """Unchunked vs chunked tracking of ``scenes`` (pooled metrics, boundary switches)."""
    whole: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    chunked: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    boundary_whole = boundary_chunked = cuts_total = 0
    for scene in scenes:
        ref = whole_run(scene)
        got: StitchResult = track_in_chunks(scene.frames, Tracker, chunk_frames, overlap)
        whole[scene.name] = (scene.gt, ref.rows.as_array())
        chunked[scene.name] = (scene.gt, got.rows.as_array())
        cuts = got.cuts
        cuts_total += len(cuts)
        boundary_whole += on_boundaries(switch_frames(scene.gt, ref.rows.as_array()), cuts, window)
        boundary_chunked += on_boundaries(
            switch_frames(scene.gt, got.rows.as_array()), cuts, window
        )
    a = evaluate_sequences(whole)[OVERALL]
    b = evaluate_sequences(chunked)[OVERALL]
    return {
        "chunk_frames": chunk_frames,
        "overlap": overlap,
        "boundaries": cuts_total,
        "idf1_whole": 100 * a.idf1,
        "idf1_chunked": 100 * b.idf1,
        "hota_whole": 100 * (a.hota or 0.0),
        "hota_chunked": 100 * (b.hota or 0.0),
        "switches_whole": a.num_switches,
        "switches_chunked": b.num_switches,
        "boundary_switches_whole": boundary_whole,
        "boundary_switches_chunked": boundary_chunked,
    }


def _table(title: str, rows: list[dict[str, Any]]) -> str:
    lines = [
        f"### {title}",
        "",
        "| C | O | boundaries | IDF1 whole | IDF1 chunked | Δ | HOTA whole | HOTA chunked | Δ "
        "| IDsw whole | IDsw chunked | boundary IDsw whole | boundary IDsw chunked |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['chunk_frames']} | {r['overlap']} | {r['boundaries']} "
            f"| {r['idf1_whole']:.2f} | {r['idf1_chunked']:.2f} "
            f"| {r['idf1_chunked'] - r['idf1_whole']:+.2f} "
            f"| {r['hota_whole']:.2f} | {r['hota_chunked']:.2f} "
            f"| {r['hota_chunked'] - r['hota_whole']:+.2f} "
            f"| {r['switches_whole']} | {r['switches_chunked']} "
            f"| {r['boundary_switches_whole']} | {r['boundary_switches_chunked']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    """Run the sweep and write ``results/ray_chunking.md`` and ``.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--crowd-frames", type=int, default=2500)
    args = parser.parse_args(argv)
    seeds = list(range(args.seeds))
    tud = [s for seed in seeds for s in tud_scenes(seed)]
    crowd = [crowd_scene(args.crowd_frames, seed) for seed in seeds]
    report: dict[str, list[dict[str, Any]]] = {"tud": [], "crowd": []}
    for c, o in TUD_SETTINGS:
        report["tud"].append(compare(tud, c, o))
        print("tud", report["tud"][-1], flush=True)
    for c, o in CROWD_SETTINGS:
        report["crowd"].append(compare(crowd, c, o))
        print("crowd", report["crowd"][-1], flush=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        f"<!-- written by benchmarks/chunking.py on {stamp}; do not edit -->\n"
        f"Seeds {seeds}; TUD-Stadtmitte + TUD-Campus (179 + 71 frames, feature noise 0.4); "
        f"crowd: 20 targets x {args.crowd_frames} frames. C = chunk frames, O = overlap; "
        "boundary IDsw = switches within 30 frames after a cut. First row: the defaults.\n\n"
        + _table("TUD, simulated detections", report["tud"])
        + "\n"
        + _table("Long synthetic crowd", report["crowd"])
    )
    (RESULTS / "ray_chunking.md").write_text(text)
    (RESULTS / "ray_chunking.json").write_text(json.dumps(report, indent=1))
    print(text)


if __name__ == "__main__":
    main()
