"""Ablation of the tracker's upgrades (issue 7): each option's own effect, seeds averaged.

Starting from the original Deep SORT, every option is switched on alone, then the named
presets are run, all on the same simulated inputs as the peer benchmark
(:mod:`benchmarks.accuracy.run`: TUD-Stadtmitte + TUD-Campus ground truth, seeded detection and
feature noise). Gains and losses are reported against the original, per noise level.

Run (about 4 minutes on 2 cores)::

    .venv/bin/python -m benchmarks.accuracy.ablation --seeds 5

It writes ``benchmarks/results/ablation.md`` and ``ablation.json``. Camera-motion
compensation needs images and is measured separately (``tests/test_camera_motion.py``:
identity switches on a shaking, panning camera).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.accuracy.data import SEQUENCES, load_gt
from benchmarks.accuracy.run import RESULTS_DIR, Cell, _simulate_all, _thread_limits, run_tracker
from benchmarks.accuracy.trackers import TrackerSpec, _OursRunner
from deepsort_lib.evaluation import OVERALL, evaluate_sequences
from deepsort_lib.simulation import NoiseModel, SimulatedSequence
from deepsort_lib.tracking.postprocess import gaussian_smoothed_interpolation
from deepsort_lib.tracking.tracker import PRESETS, Tracker

METRICS = ("mota", "idf1", "hota", "num_switches", "ms_per_frame")


@dataclass(frozen=True)
class Variant:
    """One configuration of our tracker, optionally followed by offline post-processing."""

    name: str
    options: dict[str, Any]
    preset: str = "original"
    gsi: bool = False
    what: str = ""

    def tracker(self) -> Tracker:
        return Tracker.from_preset(self.preset, **self.options)


def variants() -> list[Variant]:
    """Original, one option at a time, then the presets."""
    single = [
        Variant("original", {}, what="the paper's algorithm and settings"),
        Variant(
            "+ app output rule",
            {"output_max_misses": 1},
            what="also report tracks missed this frame (deep_sort_app's rule)",
        ),
        Variant("+ EMA appearance", {"appearance": "ema"}, what="StrongSORT's feature EMA"),
        Variant(
            "+ EMA, cosine 0.45",
            {"appearance": "ema", "max_cosine_distance": 0.45},
            what="EMA with StrongSORT's wider threshold",
        ),
        Variant("+ NSA Kalman", {"nsa_kalman": True}, what="R scaled by 1 - confidence"),
        Variant(
            "+ global matching",
            {"matching": "global"},
            what="one Hungarian solve, 0.98 appearance + 0.02 motion, no cascade",
        ),
        Variant("+ xywh Kalman", {"measurement": "xywh"}, what="BoT-SORT's state"),
        Variant(
            "+ low-score round",
            {"high_score_threshold": 0.6, "low_score_threshold": 0.1},
            what="ByteTrack's second IoU round",
        ),
        Variant("+ GSI", {}, gsi=True, what="offline gap interpolation + Gaussian smoothing"),
    ]
    presets = [
        Variant(f"preset {name}", {}, preset=name, what=f"Tracker.from_preset({name!r})")
        for name in PRESETS
        if name != "original"
    ]
    offline = [
        Variant(f"preset {name} + GSI", {}, preset=name, gsi=True, what="offline")
        for name in PRESETS
        if name != "original"
    ]
    return single + presets + offline


@dataclass
class Result(Cell):
    """A :class:`~benchmarks.accuracy.run.Cell` that remembers its variant."""

    variant: Variant = field(default_factory=lambda: Variant("original", {}))

    @property
    def level(self) -> float:
        return self.feature_noise


def _run_one(variant: Variant, sim: SimulatedSequence) -> tuple[np.ndarray, float]:
    spec = TrackerSpec(
        name=variant.name,
        factory=lambda: _OursRunner(variant.preset, **variant.options),
        package="deepsort_lib",
        output_rule="tracks returned by update, Kalman box",
        uses_appearance=True,
    )
    rows, elapsed = run_tracker(spec, sim)
    if variant.gsi and len(rows):
        rows = gaussian_smoothed_interpolation(rows, max_gap=20, sigma=1.5)
        rows = rows[np.lexsort((rows[:, 1], rows[:, 0]))]
    return rows, elapsed


def run(
    seeds: Sequence[int],
    levels: Sequence[float],
    chosen: Sequence[Variant],
    progress: Callable[[str], None] | None = None,
) -> list[Result]:
    gts = {s: load_gt(s) for s in SEQUENCES}
    results = {(v.name, lvl): Result(v.name, lvl, variant=v) for v in chosen for lvl in levels}
    with _thread_limits():
        for seed in seeds:
            for level in levels:
                sims = _simulate_all(gts, seed, replace(NoiseModel(), feature_noise=level))
                n_frames = sum(len(s.frames) for s in sims.values())
                for v in chosen:
                    pairs, total = {}, 0.0
                    for seq, sim in sims.items():
                        rows, secs = _run_one(v, sim)
                        pairs[seq] = (gts[seq], rows)
                        total += secs
                    m = evaluate_sequences(pairs)[OVERALL]
                    rec = {k: float(getattr(m, k)) for k in ("mota", "idf1", "hota")}
                    rec["num_switches"] = float(m.num_switches)
                    rec["ms_per_frame"] = 1e3 * total / n_frames
                    results[(v.name, level)].per_seed.append(rec)
                    if progress:
                        progress(f"seed {seed} noise {level} {v.name}: IDF1 {rec['idf1']:.3f}")
    return list(results.values())


def markdown(results: list[Result], levels: Sequence[float], command: str) -> str:
    date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    seeds = len(results[0].per_seed)
    lines = [
        "# Ablation of the tracker options (issue 7)",
        "",
        f"- Date (UTC): {date}; command: `{command}`; {seeds} seeds, mean over seeds.",
        "- Inputs: the accuracy benchmark's simulated detections on TUD-Stadtmitte + "
        "TUD-Campus ground truth (see docs/evaluation.md); metrics pooled over both.",
        "- Δ columns: difference to `original` at the same noise level, in points.",
        "- ms/frame: tracker update only, BLAS limited to 1 thread; GSI time not included.",
        "",
    ]
    base = {
        lvl: next(r for r in results if r.variant.name == "original" and r.level == lvl)
        for lvl in levels
    }
    for lvl in levels:
        lines += [
            f"## Feature noise {lvl}",
            "",
            "| variant | what | MOTA % | IDF1 % | HOTA % | ΔMOTA | ΔIDF1 | ΔHOTA | IDSW "
            "| ms/frame |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in (r for r in results if r.level == lvl):
            b = base[lvl]
            lines.append(
                f"| {r.variant.name} | {r.variant.what} | {100 * r.mean('mota'):.1f} | "
                f"{100 * r.mean('idf1'):.1f} | {100 * r.mean('hota'):.1f} | "
                f"{100 * (r.mean('mota') - b.mean('mota')):+.1f} | "
                f"{100 * (r.mean('idf1') - b.mean('idf1')):+.1f} | "
                f"{100 * (r.mean('hota') - b.mean('hota')):+.1f} | "
                f"{r.mean('num_switches'):.1f} | {r.mean('ms_per_frame'):.2f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (0..N-1)")
    parser.add_argument(
        "--noise", type=float, nargs="+", default=[0.4, 0.6], help="feature-noise levels"
    )
    parser.add_argument("--only", nargs="*", help="variant names to run (default: all)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    args = parser.parse_args(argv)
    chosen = [v for v in variants() if not args.only or v.name in args.only]
    results = run(
        range(args.seeds),
        args.noise,
        chosen,
        progress=lambda s: print(s, file=sys.stderr, flush=True),
    )
    command = "python -m benchmarks.accuracy.ablation " + shlex.join(
        sys.argv[1:] if argv is None else list(argv)
    )
    text = markdown(results, args.noise, command)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ablation.md").write_text(text)
    data = [
        {
            "variant": r.variant.name,
            "options": r.variant.options,
            "preset": r.variant.preset,
            "gsi": r.variant.gsi,
            "feature_noise": r.level,
            **{k: r.mean(k) for k in METRICS},
        }
        for r in results
    ]
    (args.out / "ablation.json").write_text(json.dumps(data, indent=2))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
