"""Ablation of the recommended preset (issue 13): each mechanism's effect over the whole sweep.

Every variant is the ``recommended`` preset with one mechanism taken out or swapped for its
alternative (plus the presets it grew from), run on exactly the inputs of the accuracy
benchmark (:mod:`benchmarks.accuracy.run`: nine conditions of detection x feature noise, TUD
ground truth, the same seeds). Gains and losses are reported against ``recommended`` in every
condition, so a mechanism that helps at one noise level and hurts at another shows both.

Run (about 12 minutes per seed on 2 busy cores; ``--first-seed`` and ``--merge`` split it)::

    PYTHONPATH=$PWD .venv/bin/python -m benchmarks.accuracy.ablation --seeds 5

It writes ``benchmarks/results/ablation.md`` and ``ablation.json`` (per seed, the format of
``accuracy.json``). It needs no peer.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.accuracy.conditions import CONDITIONS, conditions
from benchmarks.accuracy.data import SEQUENCES
from benchmarks.accuracy.run import RESULTS_DIR, Cell, _atomic_write, load_cells, run
from benchmarks.accuracy.trackers import TrackerSpec, _OursRunner, register

#: The variant every other one is compared with.
BASE = "recommended"


@dataclass(frozen=True)
class Variant:
    """One configuration of our tracker: a preset plus overrides."""

    name: str
    preset: str
    options: dict[str, Any] = field(default_factory=dict)
    what: str = ""

    @property
    def tracker_name(self) -> str:
        return f"ablation: {self.name}"


def variants() -> list[Variant]:
    """The recommended preset, each mechanism out or swapped, and the presets it grew from."""
    return [
        Variant(BASE, "recommended", what="the preset"),
        Variant(
            "- adaptive coasting (report 1 miss)",
            "recommended",
            {"adaptive_coasting": False, "output_max_misses": 1},
            "deep_sort_app's fixed rule: missed tracks reported for one frame",
        ),
        Variant(
            "- adaptive coasting (report 5 misses)",
            "recommended",
            {"adaptive_coasting": False, "output_max_misses": 5},
            "a fixed coasting length, right for light detection noise",
        ),
        Variant(
            "- adaptive coasting (report 12 misses)",
            "recommended",
            {"adaptive_coasting": False, "output_max_misses": 12},
            "a fixed coasting length, right for heavy detection noise",
        ),
        Variant(
            "adaptive coasting at P >= 0.65",
            "recommended",
            {"coasting_min_presence": 0.65},
            "a stricter presence threshold than 0.5",
        ),
        Variant(
            "- lost tracks keep their size",
            "recommended",
            {"freeze_lost_size": False},
            "size velocity extrapolated while coasting",
        ),
        Variant(
            "+ NSA Kalman",
            "recommended",
            {"nsa_kalman": True},
            "StrongSORT's confidence-scaled measurement noise",
        ),
        Variant(
            "cascade instead of global matching",
            "recommended",
            {"matching": "cascade"},
            "Deep SORT's matching cascade on the EMA distance",
        ),
        Variant(
            "gallery instead of EMA appearance",
            "recommended",
            {"appearance": "gallery"},
            "Deep SORT's nearest neighbour over 100 features",
        ),
        Variant("preset strongsort", "strongsort", what="Tracker.from_preset('strongsort')"),
        Variant(
            "preset original (app rule)",
            "original",
            {"output_max_misses": 1},
            "the paper's tracker, deep_sort_app's output rule",
        ),
        Variant("preset botsort", "botsort", what="high-score threshold 0.5 (fixed)"),
        Variant(
            "preset botsort, threshold 0.6",
            "botsort",
            {"high_score_threshold": 0.6},
            "the withdrawn threshold",
        ),
    ]


def _register(chosen: Sequence[Variant]) -> list[str]:
    for v in chosen:
        register(
            TrackerSpec(
                name=v.tracker_name,
                factory=lambda v=v: _OursRunner(v.preset, **v.options),  # type: ignore[misc]
                package="deepsort_lib",
                output_rule="tracks returned by update, Kalman box",
                uses_appearance=True,
                settings=f"Tracker.from_preset({v.preset!r}, **{v.options!r})",
            )
        )
    return [v.tracker_name for v in chosen]


def markdown(
    cells: list[Cell], chosen: Sequence[Variant], seeds: Sequence[int], command: str
) -> str:
    by = {(c.tracker, c.condition): c for c in cells}
    conds = [c.name for c in CONDITIONS if (chosen[0].tracker_name, c.name) in by]
    base = f"ablation: {BASE}"
    date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
    lines = [
        "# Ablation of the recommended preset (issue 13)",
        "",
        f"- Date (UTC): {date}; command: `{command}`; seeds {list(seeds)}, mean over seeds.",
        "- Inputs: the accuracy benchmark's nine conditions (detection noise x feature noise, "
        "`benchmarks/accuracy/conditions.py`) on TUD-Stadtmitte + TUD-Campus; metrics pooled "
        "over both sequences.",
        f"- Δ: difference to `{BASE}` in the same condition, in HOTA points; negative = the "
        "variant is worse, i.e. the mechanism it removes helps there. Mean Δ ± the standard "
        "deviation over seeds of the per-seed mean Δ.",
        "",
        "## HOTA, mean over the sweep, and the change per condition",
        "",
        "| variant | what | HOTA % | IDF1 % | IDSW | mean ΔHOTA | "
        + " | ".join(f"Δ {c}" for c in conds)
        + " | worse in |",
        "|---|---|---|---|---|---|" + "---|" * len(conds) + "---|",
    ]
    for v in chosen:
        name = v.tracker_name
        hota = np.mean([by[(name, c)].mean("hota") for c in conds])
        idf1 = np.mean([by[(name, c)].mean("idf1") for c in conds])
        idsw = np.mean([by[(name, c)].mean("num_switches") for c in conds])
        per_seed = np.array(
            [
                [
                    a["hota"] - b["hota"]
                    for a, b in zip(by[(name, c)].per_seed, by[(base, c)].per_seed, strict=True)
                ]
                for c in conds
            ]
        )  # (conds, seeds)
        deltas = 100 * per_seed.mean(axis=1)
        mean_delta = 100 * per_seed.mean(axis=0)
        worse = int(np.sum(deltas < -0.05))
        lines.append(
            f"| {v.name} | {v.what} | {100 * hota:.1f} | {100 * idf1:.1f} | {idsw:.1f} | "
            f"{mean_delta.mean():+.1f} ± {mean_delta.std():.1f} | "
            + " | ".join(f"{d:+.1f}" for d in deltas)
            + f" | {worse}/{len(conds)} |"
        )
    lines += [
        "",
        "## IDF1 % per condition",
        "",
        "| variant | " + " | ".join(conds) + " |",
        "|---|" + "---|" * len(conds),
    ]
    for v in chosen:
        vals = [f"{100 * by[(v.tracker_name, c)].mean('idf1'):.1f}" for c in conds]
        lines.append(f"| {v.name} | " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def _payload(cells: list[Cell], seeds: Sequence[int], command: str) -> dict[str, Any]:
    return {
        "command": command,
        "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "seeds": list(seeds),
        "sequences": list(SEQUENCES),
        "results": [
            {"tracker": c.tracker, "condition": c.condition, "per_seed": c.per_seed} for c in cells
        ],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--conditions", nargs="+", help="subset of the sweep (default: all)")
    parser.add_argument("--only", nargs="+", help="variant names to run (default: all)")
    parser.add_argument("--merge", nargs="+", type=Path, help="merge earlier ablation JSONs")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    parser.add_argument("--name", default="ablation", help="file stem of the reports")
    args = parser.parse_args(argv)
    command = "python -m benchmarks.accuracy.ablation " + shlex.join(
        sys.argv[1:] if argv is None else list(argv)
    )
    chosen = [v for v in variants() if not args.only or v.name in args.only]
    if args.only and BASE not in args.only:
        chosen.insert(0, variants()[0])
    names = _register(chosen)
    if args.merge:
        cells, seeds, _ = load_cells(args.merge)
        runs = [json.loads(Path(p).read_text(encoding="utf-8"))["command"] for p in args.merge]
        command = "; ".join(dict.fromkeys(runs)) + f"; merged by {command}"
        present = {c.tracker for c in cells}
        chosen = [v for v in chosen if v.tracker_name in present]
    else:
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        cells = run(seeds, conditions(args.conditions), names, progress=False)
    text = markdown(cells, chosen, seeds, command)
    _atomic_write(args.out / f"{args.name}.md", text)
    _atomic_write(
        args.out / f"{args.name}.json", json.dumps(_payload(cells, seeds, command), indent=1) + "\n"
    )
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
