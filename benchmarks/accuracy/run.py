"""Accuracy benchmark: our tracker vs peers on real ground truth with simulated detections.

Run the full benchmark (on demand; about 10 minutes on 2 cores)::

    bash scripts/setup_peers.sh
    .venv-peers/bin/python -m benchmarks.accuracy.run --seeds 5

It writes ``benchmarks/results/accuracy.md``, ``accuracy.csv`` and ``accuracy.json``.
The reduced CI form is ``benchmarks/test_accuracy.py`` (one seed, two noise levels).

Protocol
--------
For every seed and every feature-noise level, :func:`deepsort_lib.simulation.simulate` turns
each sequence's ground truth into detections + features (the same for every tracker). Each
tracker gets a fresh state per sequence and is stepped on every frame, empty frames
included. Its per-frame output (see the tracker's *output rule*) is scored with
:func:`deepsort_lib.evaluation.evaluate_sequences` (motmetrics + TrackEval HOTA), pooled over
the sequences. The table reports the mean (and standard deviation) over seeds.

Timing: only the tracker's ``step`` (input conversion + update) is timed, with
``time.perf_counter``, while BLAS/OpenMP pools are limited to ONE thread for every tracker
(``threadpoolctl.threadpool_limits(1)``, ``torch.set_num_threads(1)`` for BoxMOT). ms/frame =
total step time / number of frames, mean over seeds.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.accuracy.data import SEQUENCES, load_gt
from benchmarks.accuracy.trackers import IMAGE_SIZE, REGISTRY, TrackerSpec, package_version
from deepsort_lib.evaluation import OVERALL, evaluate_sequences
from deepsort_lib.simulation import NoiseModel, SimulatedSequence, simulate

#: Feature-noise levels of the sweep (cosine distance within one identity ≈ 1 - 1/(1+s²):
#: 0.04, 0.08, 0.14, 0.20, 0.26 — around Deep SORT's 0.2 gate).
DEFAULT_NOISE_LEVELS: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6)
#: The level of the headline table.
HEADLINE_NOISE = 0.4
RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
#: The row time ratios are relative to.
REFERENCE = "deepsort_lib original"
METRICS = ("mota", "idf1", "hota", "deta", "assa", "num_switches", "ms_per_frame")


@dataclass
class Cell:
    """Results of one tracker at one noise level, one entry per seed."""

    tracker: str
    feature_noise: float
    per_seed: list[dict[str, float]] = field(default_factory=list)

    def mean(self, key: str) -> float:
        vals = [r[key] for r in self.per_seed if r.get(key) is not None]
        return float(np.mean(vals)) if vals else float("nan")

    def std(self, key: str) -> float:
        vals = [r[key] for r in self.per_seed if r.get(key) is not None]
        return float(np.std(vals)) if vals else float("nan")


def _thread_limits() -> Any:
    from threadpoolctl import threadpool_limits

    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    return threadpool_limits(limits=1)


def run_tracker(spec: TrackerSpec, sim: SimulatedSequence) -> tuple[np.ndarray, float]:
    """Step a fresh tracker through one simulated sequence.

    Returns
    -------
    rows, seconds
        ``(M, 6)`` MOT result rows ``frame, id, x, y, w, h`` and the time spent in ``step``.
    """
    runner = spec.factory()
    out: list[np.ndarray] = []
    elapsed = 0.0
    for frame, dets in sim.per_frame():
        t0 = time.perf_counter()
        rows = runner.step(dets)
        elapsed += time.perf_counter() - t0
        if len(rows):
            out.append(np.column_stack([np.full(len(rows), frame), rows]))
    result = np.vstack(out) if out else np.zeros((0, 6))
    return result, elapsed


def _simulate_all(
    gts: dict[str, np.ndarray], seed: int, noise: NoiseModel
) -> dict[str, SimulatedSequence]:
    # Each sequence gets its own stream, derived from the seed and the sequence's position.
    return {
        name: simulate(gt, noise, seed=seed * 1000 + i, image_size=IMAGE_SIZE)
        for i, (name, gt) in enumerate(gts.items())
    }


def run(
    seeds: Sequence[int],
    noise_levels: Sequence[float],
    tracker_names: Sequence[str] | None = None,
    sequences: Sequence[str] = SEQUENCES,
    base_noise: NoiseModel | None = None,
    progress: bool = True,
) -> list[Cell]:
    """Run the benchmark; one :class:`Cell` per (tracker, noise level)."""
    names = list(tracker_names) if tracker_names else list(REGISTRY)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise SystemExit(f"unknown tracker(s) {unknown}; known: {list(REGISTRY)}")
    base = base_noise or NoiseModel()
    gts = {s: load_gt(s) for s in sequences}
    cells = {(n, lvl): Cell(n, lvl) for n in names for lvl in noise_levels}
    with _thread_limits():
        # Untimed warm-up of every tracker (imports, lazy initialisation, first-call caches).
        warm = _simulate_all({s: gts[s] for s in sequences[:1]}, 10**6, base)
        for name in names:
            run_tracker(REGISTRY[name], next(iter(warm.values())))
        for seed in seeds:
            for li, level in enumerate(noise_levels):
                sims = _simulate_all(gts, seed, replace(base, feature_noise=level))
                n_frames = sum(len(s.frames) for s in sims.values())
                for name in names:
                    spec = REGISTRY[name]
                    if not spec.uses_appearance and li > 0:
                        # Boxes and scores do not depend on the feature noise: reuse.
                        cells[(name, level)].per_seed.append(
                            cells[(name, noise_levels[0])].per_seed[-1]
                        )
                        continue
                    pairs = {}
                    total = 0.0
                    for seq, sim in sims.items():
                        rows, secs = run_tracker(spec, sim)
                        pairs[seq] = (gts[seq], rows)
                        total += secs
                    m = evaluate_sequences(pairs)[OVERALL]
                    rec = {k: getattr(m, k) for k in ("mota", "idf1", "hota", "deta", "assa")}
                    rec["num_switches"] = float(m.num_switches)
                    rec["ms_per_frame"] = 1e3 * total / n_frames
                    rec["seed"] = float(seed)
                    cells[(name, level)].per_seed.append(rec)
                    if progress:
                        print(
                            f"seed {seed} noise {level:.2f} {name:32s} MOTA {100 * m.mota:5.1f} "
                            f"IDF1 {100 * m.idf1:5.1f} IDSW {m.num_switches:3d} "
                            f"{rec['ms_per_frame']:.2f} ms/frame",
                            file=sys.stderr,
                            flush=True,
                        )
    return list(cells.values())


# --------------------------------------------------------------------------------------------
# Reports


def environment(names: Sequence[str]) -> dict[str, Any]:
    """Versions of everything that shaped the numbers."""
    packages = ["deepsort_lib", "numpy", "scipy", "motmetrics", "trackeval"]
    packages += sorted({REGISTRY[n].package for n in names} - set(packages))
    info: dict[str, Any] = {p: package_version(p) for p in packages}
    if "boxmot" in packages:
        info["torch"] = package_version("torch")
    info["python"] = platform.python_version()
    info["machine"] = f"{platform.machine()}, {os.cpu_count()} logical CPUs"
    return info


def _pct(cell: Cell, key: str) -> str:
    m, s = cell.mean(key), cell.std(key)
    if np.isnan(m):
        return "-"
    return f"{100 * m:.1f} ± {100 * s:.1f}" if len(cell.per_seed) > 1 else f"{100 * m:.1f}"


def _num(cell: Cell, key: str, fmt: str = ".1f") -> str:
    m, s = cell.mean(key), cell.std(key)
    return f"{m:{fmt}} ± {s:{fmt}}" if len(cell.per_seed) > 1 else f"{m:{fmt}}"


def markdown(
    cells: list[Cell],
    seeds: Sequence[int],
    noise_levels: Sequence[float],
    command: str,
    headline: float,
    sequences: Sequence[str],
) -> str:
    names = list(dict.fromkeys(c.tracker for c in cells))
    by = {(c.tracker, c.feature_noise): c for c in cells}
    env = environment(names)
    head = headline if headline in noise_levels else noise_levels[len(noise_levels) // 2]
    lines = [
        "# Accuracy benchmark",
        "",
        f"- Date (UTC): {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M')}",
        f"- Command: `{command}`",
        f"- Sequences (real ground truth from the motmetrics wheel): {', '.join(sequences)}; "
        "metrics pooled over both.",
        f"- Seeds: {list(seeds)}; values are mean ± standard deviation over seeds.",
        "- Detections and features: `deepsort_lib.simulation.simulate` with `NoiseModel()` "
        "defaults, feature noise swept (see docs/evaluation.md).",
        "- Timing: tracker step (input conversion + update) only, BLAS/OpenMP limited to 1 "
        "thread for every tracker (threadpoolctl; torch.set_num_threads(1)).",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in env.items()),
        "",
        f"## Headline: feature noise {head}",
        "",
        f"Time ratio: ms/frame divided by that of `{REFERENCE}` in the same seed, averaged "
        "over seeds (less sensitive to machine load than ms/frame).",
        "",
        "| tracker | MOTA % | IDF1 % | HOTA % | DetA % | AssA % | IDSW | ms/frame | time ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    ref = by.get((REFERENCE, head))
    for n in names:
        c = by[(n, head)]
        ratio = "-"
        if ref is not None:
            pairs = zip(c.per_seed, ref.per_seed, strict=True)
            r = [a["ms_per_frame"] / b["ms_per_frame"] for a, b in pairs]
            ratio = f"{np.mean(r):.2f}"
        lines.append(
            f"| {n} | {_pct(c, 'mota')} | {_pct(c, 'idf1')} | {_pct(c, 'hota')} | "
            f"{_pct(c, 'deta')} | {_pct(c, 'assa')} | {_num(c, 'num_switches')} | "
            f"{_num(c, 'ms_per_frame', '.2f')} | {ratio} |"
        )
    for key, label in (("idf1", "IDF1 %"), ("hota", "HOTA %"), ("num_switches", "IDSW")):
        lines += [
            "",
            f"## Sweep over feature noise: {label}",
            "",
            "Cosine distance between two detections of one identity ≈ 1 − 1/(1 + noise²).",
            "Trackers that ignore appearance show the same value in every column.",
            "",
            "| tracker | " + " | ".join(f"noise {lvl}" for lvl in noise_levels) + " |",
            "|---|" + "---|" * len(noise_levels),
        ]
        for n in names:
            vals = [
                f"{100 * by[(n, lvl)].mean(key):.1f}"
                if key != "num_switches"
                else f"{by[(n, lvl)].mean(key):.1f}"
                for lvl in noise_levels
            ]
            lines.append(f"| {n} | " + " | ".join(vals) + " |")
    lines += ["", "## Trackers: settings and output rules", ""]
    lines += ["| tracker | settings | output rule |", "|---|---|---|"]
    for n in names:
        s = REGISTRY[n]
        lines.append(f"| {n} | {s.settings} | {s.output_rule} |")
    return "\n".join(lines) + "\n"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_reports(
    cells: list[Cell],
    out_dir: Path,
    stem: str,
    seeds: Sequence[int],
    noise_levels: Sequence[float],
    command: str,
    headline: float = HEADLINE_NOISE,
    sequences: Sequence[str] = SEQUENCES,
) -> dict[str, Path]:
    """Write ``<stem>.md``, ``<stem>.csv`` (one row per tracker × noise × seed), ``.json``."""
    names = list(dict.fromkeys(c.tracker for c in cells))
    md = markdown(cells, seeds, noise_levels, command, headline, sequences)
    header = ["tracker", "feature_noise", "seed", *METRICS]
    csv_lines = []
    buf_rows = [header]
    for c in cells:
        for r in c.per_seed:
            buf_rows.append(
                [c.tracker, str(c.feature_noise), str(int(r["seed"]))]
                + [("" if r.get(k) is None else repr(float(r[k]))) for k in METRICS]
            )
    import io

    sio = io.StringIO()
    csv.writer(sio, lineterminator="\n").writerows(buf_rows)
    csv_lines.append(sio.getvalue())
    payload = {
        "command": command,
        "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "seeds": list(seeds),
        "noise_levels": list(noise_levels),
        "sequences": list(sequences),
        "environment": environment(names),
        "trackers": {
            n: {
                "settings": REGISTRY[n].settings,
                "output_rule": REGISTRY[n].output_rule,
                "uses_appearance": REGISTRY[n].uses_appearance,
            }
            for n in names
        },
        "results": [
            {
                "tracker": c.tracker,
                "feature_noise": c.feature_noise,
                "mean": {k: c.mean(k) for k in METRICS},
                "std": {k: c.std(k) for k in METRICS},
                "per_seed": c.per_seed,
            }
            for c in cells
        ],
    }
    paths = {
        "md": out_dir / f"{stem}.md",
        "csv": out_dir / f"{stem}.csv",
        "json": out_dir / f"{stem}.json",
    }
    _atomic_write(paths["md"], md)
    _atomic_write(paths["csv"], "".join(csv_lines))
    _atomic_write(paths["json"], json.dumps(payload, indent=1, allow_nan=True) + "\n")
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.accuracy.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (0..N-1)")
    parser.add_argument(
        "--noise",
        type=float,
        nargs="+",
        default=list(DEFAULT_NOISE_LEVELS),
        help="feature-noise levels of the sweep",
    )
    parser.add_argument("--trackers", nargs="+", help=f"subset of: {list(REGISTRY)}")
    parser.add_argument("--sequences", nargs="+", default=list(SEQUENCES))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--name", default="accuracy", help="file stem of the reports")
    parser.add_argument("--list", action="store_true", help="list the trackers and exit")
    args = parser.parse_args(argv)
    if args.list:
        for n, s in REGISTRY.items():
            print(f"{n}: {s.settings}; output: {s.output_rule}")
        return 0
    seeds = list(range(args.seeds))
    command = "python -m benchmarks.accuracy.run " + shlex.join(
        list(argv) if argv is not None else sys.argv[1:]
    )
    t0 = time.perf_counter()
    cells = run(seeds, args.noise, args.trackers, args.sequences)
    paths = write_reports(
        cells, args.out, args.name, seeds, args.noise, command.strip(), sequences=args.sequences
    )
    print(paths["md"].read_text(encoding="utf-8"))
    print(f"wrote {', '.join(str(p) for p in paths.values())} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
