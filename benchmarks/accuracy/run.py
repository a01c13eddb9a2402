"""Accuracy benchmark: our tracker vs peers on real ground truth with simulated detections.

Run the full benchmark (on demand; about 3 minutes per seed on 2 idle cores, 15 on 2 busy
ones: ``--first-seed`` runs one seed at a time and ``--merge`` joins the JSON reports)::

    bash scripts/setup_peers.sh
    PYTHONPATH=$PWD .venv-peers/bin/python -m benchmarks.accuracy.run --seeds 5

It writes ``benchmarks/results/accuracy.md``, ``accuracy.csv`` and ``accuracy.json``.
The reduced CI form is ``benchmarks/test_accuracy.py``.

Protocol
--------
The sweep has nine conditions: three levels of detection noise (recall, false positives,
jitter) x three of feature noise (median same-person cosine distance); see
:mod:`benchmarks.accuracy.conditions`. For every seed and condition,
:func:`deepsort_lib.testing.simulation.simulate` turns each sequence's ground truth into
detections + features (the same for every tracker). Each
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
import io
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.accuracy.conditions import CONDITIONS, Condition, conditions
from benchmarks.accuracy.data import SEQUENCES, load_gt
from benchmarks.accuracy.trackers import IMAGE_SIZE, REGISTRY, TrackerSpec, package_version
from deepsort_lib.evaluation import OVERALL, evaluate_sequences
from deepsort_lib.testing.simulation import NoiseModel, SimulatedSequence, simulate

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
#: The row time ratios are relative to.
REFERENCE = "deepsort_lib original"
#: The preset the claim of issue 13 is about (the default a user who does not choose gets).
RECOMMENDED = "deepsort_lib recommended"
METRICS = ("mota", "idf1", "hota", "deta", "assa", "num_switches", "ms_per_frame")


@dataclass
class Cell:
    """Results of one tracker in one condition of the sweep, one entry per seed."""

    tracker: str
    condition: str
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


def _score(pairs: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    m = evaluate_sequences(pairs)[OVERALL]
    rec = {k: float(getattr(m, k)) for k in ("mota", "idf1", "hota", "deta", "assa")}
    rec["num_switches"] = float(m.num_switches)
    return rec


def run(
    seeds: Sequence[int],
    conds: Sequence[Condition] | None = None,
    tracker_names: Sequence[str] | None = None,
    sequences: Sequence[str] = SEQUENCES,
    progress: bool = True,
) -> list[Cell]:
    """Run the sweep; one :class:`Cell` per (tracker, condition)."""
    conds = list(conds) if conds else list(CONDITIONS)
    names = list(tracker_names) if tracker_names else list(REGISTRY)
    unknown = [n for n in names if n not in REGISTRY]
    if unknown:
        raise SystemExit(f"unknown tracker(s) {unknown}; known: {list(REGISTRY)}")
    gts = {s: load_gt(s) for s in sequences}
    cells = {(n, c.name): Cell(n, c.name) for n in names for c in conds}
    with _thread_limits():
        # Untimed warm-up of every tracker (imports, lazy initialisation, first-call caches).
        warm = _simulate_all({s: gts[s] for s in sequences[:1]}, 10**6, conds[0].noise())
        for name in names:
            run_tracker(REGISTRY[name], next(iter(warm.values())))
        for seed in seeds:
            # Boxes and scores depend only on the detection level: a tracker that ignores the
            # features is run once per detection level and its result reused.
            motion_only: dict[tuple[str, str], dict[str, float]] = {}
            for cond in conds:
                sims = _simulate_all(gts, seed, cond.noise())
                n_frames = sum(len(s.frames) for s in sims.values())
                for name in names:
                    spec = REGISTRY[name]
                    key = (name, cond.detection.name)
                    if not spec.uses_appearance and key in motion_only:
                        cells[(name, cond.name)].per_seed.append(motion_only[key])
                        continue
                    pairs = {}
                    total = 0.0
                    for seq, sim in sims.items():
                        rows, secs = run_tracker(spec, sim)
                        pairs[seq] = (gts[seq], rows)
                        total += secs
                    rec = _score(pairs)
                    rec["ms_per_frame"] = 1e3 * total / n_frames
                    rec["seed"] = float(seed)
                    if not spec.uses_appearance:
                        motion_only[key] = rec
                    cells[(name, cond.name)].per_seed.append(rec)
                    if progress:
                        print(
                            f"seed {seed} {cond.name:18s} {name:40s} HOTA {100 * rec['hota']:5.1f} "
                            f"IDF1 {100 * rec['idf1']:5.1f} IDSW {rec['num_switches']:3.0f} "
                            f"{rec['ms_per_frame']:.2f} ms/frame",
                            file=sys.stderr,
                            flush=True,
                        )
    return list(cells.values())


# --------------------------------------------------------------------------------------------
# The claim: the recommended preset against the best peer


def is_peer(name: str) -> bool:
    """Peers are every tracker that is not one of ours."""
    return not name.startswith("deepsort_lib")


@dataclass(frozen=True)
class Claim:
    """The recommended preset against every peer, per condition and on average.

    Attributes
    ----------
    gap_to_first
        Per condition: HOTA of the recommended preset minus the best HOTA of any *other*
        tracker (ours and peers), in points; >= -0.5 is "first or within 0.5 of first".
    best_peer
        Per condition: the peer with the best HOTA.
    hota_margin, idf1_margin
        Mean over conditions of the recommended preset minus the mean over conditions of
        the best peer (the peer with the best sweep average), in points.
    best_peer_overall
        That peer.
    time_ratio
        Mean over conditions and seeds of ms/frame of the recommended preset divided by that
        of the original preset in the same seed and condition.
    """

    gap_to_first: dict[str, float]
    best_peer: dict[str, str]
    hota_margin: float
    idf1_margin: float
    best_peer_overall: str
    time_ratio: float


def claim(cells: list[Cell], ours: str = RECOMMENDED) -> Claim:
    """Compute :class:`Claim` from the cells of a run (``ours`` and at least one peer)."""
    by = {(c.tracker, c.condition): c for c in cells}
    conds = list(dict.fromkeys(c.condition for c in cells))
    names = list(dict.fromkeys(c.tracker for c in cells))
    peers = [n for n in names if is_peer(n)]
    if ours not in names or not peers:
        raise ValueError(f"claim needs {ours!r} and at least one peer in the cells")
    gap, best = {}, {}
    for cond in conds:
        others = [n for n in names if n != ours]
        gap[cond] = 100 * (
            by[(ours, cond)].mean("hota") - max(by[(n, cond)].mean("hota") for n in others)
        )
        best[cond] = max(peers, key=lambda n, cond=cond: by[(n, cond)].mean("hota"))

    def sweep_mean(name: str, key: str) -> float:
        return float(np.mean([by[(name, c)].mean(key) for c in conds]))

    top = max(peers, key=lambda n: sweep_mean(n, "hota"))
    ratios = []
    if REFERENCE in names:
        for cond in conds:
            pairs = zip(by[(ours, cond)].per_seed, by[(REFERENCE, cond)].per_seed, strict=True)
            ratios += [a["ms_per_frame"] / b["ms_per_frame"] for a, b in pairs]
    return Claim(
        gap_to_first=gap,
        best_peer=best,
        hota_margin=100 * (sweep_mean(ours, "hota") - sweep_mean(top, "hota")),
        idf1_margin=100 * (sweep_mean(ours, "idf1") - sweep_mean(top, "idf1")),
        best_peer_overall=top,
        time_ratio=float(np.mean(ratios)) if ratios else float("nan"),
    )


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


def _sweep_average(cell_list: list[Cell], key: str) -> tuple[float, float]:
    """Mean over conditions; spread = std over seeds of the per-seed mean over conditions."""
    per_seed = np.array([[r[key] for r in c.per_seed] for c in cell_list])  # (conds, seeds)
    by_seed = per_seed.mean(axis=0)
    return float(by_seed.mean()), float(by_seed.std())


def _fmt(mean: float, std: float, n: int, scale: float = 100.0, digits: int = 1) -> str:
    if np.isnan(mean):
        return "-"
    if n > 1:
        return f"{scale * mean:.{digits}f} ± {scale * std:.{digits}f}"
    return f"{scale * mean:.{digits}f}"


def markdown(
    cells: list[Cell],
    seeds: Sequence[int],
    conds: Sequence[Condition],
    command: str,
    sequences: Sequence[str],
    merged: bool = False,
) -> str:
    names = list(dict.fromkeys(c.tracker for c in cells))
    by = {(c.tracker, c.condition): c for c in cells}
    env = environment(names)
    n = len(seeds)
    lines = [
        "# Accuracy benchmark: detection noise x feature noise",
        "",
        f"- Date (UTC): {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M')}",
        f"- Command: `{command}`",
        f"- Sequences (real ground truth from the motmetrics wheel): {', '.join(sequences)}; "
        "metrics pooled over both.",
        f"- Seeds: {list(seeds)}; values are mean ± standard deviation over seeds.",
        "- Detections and features: `deepsort_lib.testing.simulation.simulate`; the conditions "
        "are in `benchmarks/accuracy/conditions.py`:",
    ]
    for d in {c.detection.name: c.detection for c in conds}.values():
        lines.append(
            f"  - `{d.name}`: recall ≈ {100 * d.recall:.0f}% of ground-truth boxes, "
            f"{d.false_positives} false positives per frame, centre jitter "
            f"{d.fields['jitter']} x box size"
        )
    for f in {c.features.name: c.features for c in conds}.values():
        lines.append(
            f"  - `{f.name}`: median cosine distance between consecutive detections of one "
            f"person {f.median_distance:.2f} (feature_noise {f.feature_noise})"
        )
    lines += [
        "- Timing: tracker step (input conversion + update) only, BLAS/OpenMP limited to 1 "
        "thread for every tracker (threadpoolctl; torch.set_num_threads(1)).",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in env.items()),
    ]
    if merged:
        lines.append(
            "- Merged from several runs (see the command): times, and time ratios, compare "
            "fairly only between trackers timed in the same run, under the same machine load."
        )
    lines.append("")
    if RECOMMENDED in names and any(is_peer(x) for x in names):
        cl = claim(cells)
        worst = min(cl.gap_to_first, key=lambda k: cl.gap_to_first[k])
        lines += [
            "## The claim (issue 13)",
            "",
            f"- `{RECOMMENDED}` against the best peer on average (`{cl.best_peer_overall}`): "
            f"HOTA {cl.hota_margin:+.1f}, IDF1 {cl.idf1_margin:+.1f} points "
            "(target: >= +2 each).",
            f"- HOTA gap to the best other tracker, per condition (>= -0.5: first or within 0.5 "
            f"of first): worst {cl.gap_to_first[worst]:+.1f} in `{worst}`; "
            + ", ".join(f"{k} {v:+.1f}" for k, v in cl.gap_to_first.items())
            + ".",
            f"- Time per frame: {cl.time_ratio:.2f}x the original preset (target: <= 1.5x).",
            "",
        ]
    lines += [
        "## Average over the sweep",
        "",
        "Mean over the conditions; ± is the standard deviation over seeds of that mean. Time "
        f"ratio: ms/frame divided by that of `{REFERENCE}` in the same seed and condition, "
        "averaged (less sensitive to machine load than ms/frame).",
        "",
        "| tracker | MOTA % | IDF1 % | HOTA % | DetA % | AssA % | IDSW | ms/frame | time ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    cond_names = [c.name for c in conds]
    for name in names:
        mine = [by[(name, c)] for c in cond_names]
        cols = [_fmt(*_sweep_average(mine, k), n) for k in ("mota", "idf1", "hota", "deta", "assa")]
        cols.append(_fmt(*_sweep_average(mine, "num_switches"), n, scale=1.0))
        cols.append(_fmt(*_sweep_average(mine, "ms_per_frame"), n, scale=1.0, digits=2))
        ratio = "-"
        if (REFERENCE, cond_names[0]) in by:
            r = [
                a["ms_per_frame"] / b["ms_per_frame"]
                for c in cond_names
                for a, b in zip(by[(name, c)].per_seed, by[(REFERENCE, c)].per_seed, strict=True)
            ]
            ratio = f"{np.mean(r):.2f}"
        lines.append(f"| {name} | " + " | ".join(cols) + f" | {ratio} |")
    for key, label in (("hota", "HOTA %"), ("idf1", "IDF1 %"), ("num_switches", "IDSW")):
        scale = 1.0 if key == "num_switches" else 100.0
        lines += [
            "",
            f"## Per condition: {label}",
            "",
            "Trackers that ignore appearance show the same value in every `cos-*` column of a "
            "detection level. **Bold**: the best in the column.",
            "",
            "| tracker | " + " | ".join(cond_names) + " |",
            "|---|" + "---|" * len(cond_names),
        ]
        best = {
            c: (min if key == "num_switches" else max)(by[(x, c)].mean(key) for x in names)
            for c in cond_names
        }
        for name in names:
            vals = []
            for c in cond_names:
                cell = by[(name, c)]
                text = _fmt(cell.mean(key), cell.std(key), n, scale=scale)
                vals.append(f"**{text}**" if cell.mean(key) == best[c] else text)
            lines.append(f"| {name} | " + " | ".join(vals) + " |")
    lines += ["", "## Trackers: settings and output rules", ""]
    lines += ["| tracker | settings | output rule |", "|---|---|---|"]
    for name in names:
        s = REGISTRY[name]
        lines.append(f"| {name} | {s.settings} | {s.output_rule} |")
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
    conds: Sequence[Condition],
    command: str,
    sequences: Sequence[str] = SEQUENCES,
    merged: bool = False,
) -> dict[str, Path]:
    """Write ``<stem>.md``, ``<stem>.csv`` (one row per tracker x condition x seed), ``.json``."""
    names = list(dict.fromkeys(c.tracker for c in cells))
    md = markdown(cells, seeds, conds, command, sequences, merged)
    rows = [["tracker", "condition", "seed", *METRICS]]
    for c in cells:
        for r in c.per_seed:
            rows.append(
                [c.tracker, c.condition, str(int(r["seed"]))]
                + [("" if r.get(k) is None else repr(float(r[k]))) for k in METRICS]
            )
    sio = io.StringIO()
    csv.writer(sio, lineterminator="\n").writerows(rows)
    payload = {
        "command": command,
        "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "seeds": list(seeds),
        "conditions": {
            c.name: {"noise_model": asdict(c.noise()), "recall_target": c.detection.recall}
            | {"median_cosine_target": c.features.median_distance}
            for c in conds
        },
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
                "condition": c.condition,
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
    _atomic_write(paths["csv"], sio.getvalue())
    _atomic_write(paths["json"], json.dumps(payload, indent=1, allow_nan=True) + "\n")
    return paths


def load_cells(paths: Sequence[Path]) -> tuple[list[Cell], list[int], list[str]]:
    """Cells of earlier runs' JSON reports, merged: a later file's (tracker, condition, seed)
    replaces an earlier one's, so a run of a few trackers can update a full run.

    Returns the cells (every tracker in every condition, seeds in order), the seeds and the
    sequences (which must be the same in every file).
    """
    records: dict[tuple[str, str], dict[int, dict[str, float]]] = {}
    sequences: list[str] | None = None
    for path in paths:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if sequences is not None and data["sequences"] != sequences:
            raise SystemExit(f"{path}: sequences {data['sequences']} differ from {sequences}")
        sequences = data["sequences"]
        for res in data["results"]:
            for rec in res["per_seed"]:
                records.setdefault((res["tracker"], res["condition"]), {})[int(rec["seed"])] = rec
    if sequences is None:
        raise SystemExit("nothing to merge")
    seeds = sorted({seed for per in records.values() for seed in per})
    missing = [key for key, per in records.items() if sorted(per) != seeds]
    if missing:
        raise SystemExit(f"the merged files do not cover seeds {seeds} for {missing[:3]}")
    cells = [Cell(t, c, [per[s] for s in seeds]) for (t, c), per in records.items()]
    return cells, seeds, sequences


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.accuracy.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds are first..first+N-1")
    parser.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        help="instead of running: merge these JSON reports of earlier runs (later files win)",
    )
    parser.add_argument(
        "--conditions",
        nargs="+",
        help=f"subset of the sweep's cells (default: all): {[c.name for c in CONDITIONS]}",
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
    command = "python -m benchmarks.accuracy.run " + shlex.join(
        list(argv) if argv is not None else sys.argv[1:]
    )
    t0 = time.perf_counter()
    if args.merge:
        cells, seeds, args.sequences = load_cells(args.merge)
        runs = [json.loads(Path(p).read_text(encoding="utf-8"))["command"] for p in args.merge]
        command = "; ".join(dict.fromkeys(runs)) + f"; merged by {command}"
        merged = set(c.condition for c in cells)
        conds = [c for c in CONDITIONS if c.name in merged]
        order = {n: i for i, n in enumerate(REGISTRY)}
        cells.sort(key=lambda c: (order.get(c.tracker, len(order)), c.condition))
    else:
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        conds = conditions(args.conditions)
        cells = run(seeds, conds, args.trackers, args.sequences)
    paths = write_reports(
        cells, args.out, args.name, seeds, conds, command.strip(), args.sequences, bool(args.merge)
    )
    print(paths["md"].read_text(encoding="utf-8"))
    print(f"wrote {', '.join(str(p) for p in paths.values())} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
