"""A blind re-entry check: a scene written apart from the re-entry mechanism and its tuning.

The lead engineer wrote this scene without reading the calibration code or its stress
families, and it was never run while that code was tuned: it plays the part of the
independent check that found issue 21. It differs from every other generator in the repo:

* *Appearance*: 256-d features. Identities come in clothing groups (look-alikes share a group
  centroid); each identity has a front and a back view (a person walking left shows one,
  walking right the other), and the scene is lit unevenly (a left-to-right light gradient
  adds a fixed direction to every feature in proportion to the box's position). A person who
  leaves on the left and comes back on the right looks different for two reasons at once.
* *Geometry*: 1280x720 at 15 fps (or 30), perspective box heights (60 px at the horizon to
  200 px in front), entries and exits at any of the left, right and bottom edges, re-entry
  at a different edge than the exit half of the time.
* *Gaps* of 2-12 s; newcomers from the same clothing groups arrive throughout; 10 % of
  detections missed, 4 % box jitter.

Scores (own definitions, from the detections' ground-truth ids, no IoU matching): a *visit*
is one identity's presence between absences of at least 2 s; its id is the majority id of
the tracks reported on its detections. **Recovery**: later visits of an identity whose id is
its previous visit's. **False re-identification**: visits after the first frame (returns and
newcomers' arrivals) whose id is the id of another identity's earlier visit, over all such
visits.

Run::

    PYTHONPATH=$PWD python -m benchmarks.accuracy.reentry_blind --seeds 3

It writes ``benchmarks/results/reentry_blind.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise, product
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from deepsort_lib import Detections, Tracker
from deepsort_lib.tracking.reentry import ReentryTracker

WIDTH, HEIGHT = 1280.0, 720.0
DIM = 256
EDGES = ("left", "right", "bottom")


@dataclass
class Person:
    """One identity: its look and its planned visits (frame ranges, entry and exit edges)."""

    look: NDArray[np.float64]
    views: NDArray[np.float64]  # (2, DIM): walking left, walking right
    visits: list[tuple[int, int, str, str]] = field(default_factory=list)


def _unit(v: NDArray[np.float64]) -> NDArray[np.float64]:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _edge_point(edge: str, rng: np.random.Generator) -> NDArray[np.float64]:
    if edge == "left":
        return np.array([-20.0, rng.uniform(0.35, 0.9) * HEIGHT])
    if edge == "right":
        return np.array([WIDTH + 20.0, rng.uniform(0.35, 0.9) * HEIGHT])
    return np.array([rng.uniform(0.15, 0.85) * WIDTH, HEIGHT + 40.0])


def make_people(
    rng: np.random.Generator, frames: int, fps: float, returners: int, newcomers: int
) -> list[Person]:
    """Returners visit two or three times with 2-12 s gaps; newcomers visit once."""
    groups = _unit(rng.normal(size=(4, DIM)))
    people = []
    for k in range(returners + newcomers):
        group = groups[k % len(groups)]
        look = _unit(group + 0.45 * _unit(rng.normal(size=DIM)))
        views = _unit(look + 0.3 * _unit(rng.normal(size=(2, DIM))))
        person = Person(look, views)
        start = int(rng.uniform(0, 0.4 if k < returners else 0.85) * frames)
        for _ in range(int(rng.integers(2, 4)) if k < returners else 1):
            length = int(rng.uniform(4, 8) * fps)
            entry = str(rng.choice(EDGES))
            leave = str(rng.choice([e for e in EDGES if e != entry]))
            if start + length >= frames:
                break
            person.visits.append((start, start + length, entry, leave))
            start += length + int(rng.uniform(2, 12) * fps)
        if person.visits:
            people.append(person)
    return people


def render(
    people: list[Person], frames: int, rng: np.random.Generator, light: NDArray[np.float64]
) -> list[tuple[Detections, NDArray[np.int64]]]:
    """Each frame's detections (with features) and their ground-truth ids."""
    per_frame: list[list[tuple[NDArray[np.float64], NDArray[np.float32], int]]] = [
        [] for _ in range(frames)
    ]
    for pid, person in enumerate(people):
        for start, stop, entry, leave in person.visits:
            a, b = _edge_point(entry, rng), _edge_point(leave, rng)
            for f in range(start, stop):
                t = (f - start) / (stop - start - 1)
                cx, foot = a + t * (b - a) + rng.normal(0, 2.0, 2)
                height = 60.0 + 140.0 * float(np.clip(foot / HEIGHT, 0, 1))
                box = np.array([cx - 0.2 * height, foot - height, 0.4 * height, height])
                box += rng.normal(0, 0.04 * height, 4)
                if rng.random() < 0.1 or box[2] < 8 or box[3] < 16:
                    continue
                inside = 0 < cx < WIDTH and foot - height < HEIGHT
                if not inside:
                    continue
                view = person.views[int(b[0] > a[0])]
                shade = (cx / WIDTH - 0.5) * light
                feature = _unit(view + shade + 0.25 * _unit(rng.normal(size=DIM)))
                per_frame[f].append((box, feature.astype(np.float32), pid))
    out = []
    for rows in per_frame:
        if not rows:
            out.append((Detections.empty(), np.zeros(0, np.int64)))
            continue
        boxes = np.array([r[0] for r in rows])
        feats = np.stack([r[1] for r in rows])
        scores = rng.uniform(0.5, 1.0, len(rows))
        dets = Detections.from_tlwh(boxes, scores, np.zeros(len(rows), int), feats)
        out.append((dets, np.array([r[2] for r in rows], np.int64)))
    return out


def score(reported: list[list[tuple[int, int]]], fps: float, people: int) -> dict[str, int]:
    """Visits, recoveries and false re-identifications from ``(gt id, track id)`` per frame."""
    seen: dict[int, list[tuple[int, int]]] = {p: [] for p in range(people)}
    for f, rows in enumerate(reported):
        for gt, tid in rows:
            seen[gt].append((f, tid))
    visits: list[tuple[int, int, int]] = []  # (first frame, person, majority id)
    last_ids: dict[int, list[int]] = {}
    for pid, rows in seen.items():
        chunks: list[list[tuple[int, int]]] = []
        for f, tid in rows:
            if not chunks or f - chunks[-1][-1][0] >= 2 * fps:
                chunks.append([])
            chunks[-1].append((f, tid))
        ids = [Counter(t for _, t in c).most_common(1)[0][0] for c in chunks]
        visits += [(c[0][0], pid, i) for c, i in zip(chunks, ids, strict=True)]
        last_ids[pid] = ids
    counts = Counter[str]()
    for ids in last_ids.values():
        counts["returns"] += max(len(ids) - 1, 0)
        counts["recovered"] += sum(a == b for a, b in pairwise(ids))
    visits.sort()
    owner: dict[int, int] = {}
    for first, pid, tid in visits:
        if first > 0:
            counts["arrivals"] += 1
            counts["false_reid"] += int(tid in owner and owner[tid] != pid)
        owner.setdefault(tid, pid)
    return dict(counts)


def run_scene(preset: str, seed: int, fps: float, light: float, reentry: bool) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    frames = int(120 * fps)
    people = make_people(rng, frames, fps, returners=14, newcomers=10)
    direction = light * _unit(rng.normal(size=DIM))
    stream = render(people, frames, rng, direction)
    inner = Tracker.from_preset(preset)
    tracker: Any = ReentryTracker(inner, fps=fps) if reentry else inner
    reported = []
    for dets, gt in stream:
        tracks = tracker.update(dets)
        reported.append(
            [
                (int(gt[t.detection_index]), int(t.track_id))
                for t in tracks
                if t.detection_index is not None
            ]
        )
    return score(reported, fps, len(people))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/reentry_blind.md")
    args = parser.parse_args(argv)
    rows = []
    configs = product(("original", "recommended"), (15.0, 30.0), (0.0, 0.4), (True, False))
    for preset, fps, light, reentry in configs:
        total = Counter[str]()
        tick = time.perf_counter()
        for seed in range(args.seeds):
            total.update(run_scene(preset, seed, fps, light, reentry=reentry))
        row = {
            "tracker": "ReentryTracker" if reentry else "plain Tracker",
            "preset": preset,
            "fps": fps,
            "light": light,
            **total,
            "seconds": round(time.perf_counter() - tick, 1),
        }
        rows.append(row)
        print(row, flush=True)
    lines = [
        "# Blind re-entry check (`benchmarks/accuracy/reentry_blind.py`)",
        "",
        f"`PYTHONPATH=$PWD python -m benchmarks.accuracy.reentry_blind --seeds {args.seeds}`, "
        f"{time.strftime('%Y-%m-%d')}; ReentryTracker(Tracker.from_preset(p), fps=fps) with the "
        "library defaults, and the plain Tracker (its own id switches); "
        f"seeds 0..{args.seeds - 1}.",
        "",
        "| tracker | preset | fps | light | recovery | false re-id |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        rec = f"{r.get('recovered', 0)}/{r.get('returns', 0)}"
        rec += f" = {100 * r.get('recovered', 0) / max(r.get('returns', 0), 1):.1f} %"
        fal = f"{r.get('false_reid', 0)}/{r.get('arrivals', 0)}"
        fal += f" = {100 * r.get('false_reid', 0) / max(r.get('arrivals', 0), 1):.1f} %"
        lines.append(
            f"| {r['tracker']} | {r['preset']} | {r['fps']:g} | {r['light']:g} | {rec} | {fal} |"
        )
    out = Path(args.out)
    out.write_text("\n".join(lines) + "\n")
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
