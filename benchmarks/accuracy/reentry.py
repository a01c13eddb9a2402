"""Re-entry benchmark: identities that leave for G seconds and come back elsewhere.

Run (about 20 minutes on 2 cores; peers only in the peers' virtualenv)::

    PYTHONPATH=$PWD nice -n 5 .venv-peers/bin/python -m benchmarks.accuracy.reentry --seeds 5 \
        --no-peers

It writes ``benchmarks/results/reentry.md`` and ``reentry.json``. With the peers at every gap
(about 35 minutes; ``results/reentry.peers.md`` was made so)::

    PYTHONPATH=$PWD nice -n 10 .venv-peers/bin/python -m benchmarks.accuracy.reentry \
        --seeds 5 --peer-seeds 2 --peer-gaps 1 2 5 10 20 --out benchmarks/results/reentry.peers.md

``--preset recommended --no-cameras --out benchmarks/results/reentry.recommended.md`` runs our
rows on the ``recommended`` preset instead. The reduced CI form is
``benchmarks/test_reentry.py``.

Protocol
--------
*Gap sequences (TUD).* From each TUD ground truth (motmetrics wheel, 25 fps, 640x480), every
identity present for at least ``2 * MIN_SEGMENT`` frames is cut at the middle of its
presence. Its second half is delayed by ``G`` frames and mirrored left-right (it comes back
*elsewhere*). Alternately (by id), the second half keeps the identity (a *returner*, who
should get the old id back) or becomes a new identity with its own appearance (a
*newcomer*, who must not get an old id: the hardest negative, in the place and at the time a
returner would be). Detections and features are simulated as in the accuracy benchmark
(:func:`deepsort_lib.testing.simulation.simulate`).

*Synthetic crowd (long gaps).* :class:`deepsort_lib.testing.synthetic.CrowdScenario` (10 targets,
1920x1080): targets 0-3 are visible for 150 frames, unseen for ``G`` frames (they keep
moving) and visible again for 150 frames; targets 4-6 appear only after the gap
(newcomers); targets 7-9 are always visible. Its feature noise is set to the same norm as
the TUD simulation (``feature_noise / sqrt(D)`` per dimension).

*Scores.* Result boxes are matched to ground-truth boxes per frame (IoU >= 0.5, Hungarian).
A segment's id is the majority id of its matched boxes. **Recovery**: returners whose second
segment has an id of their first. **False re-identification**: second segments (returners'
and newcomers') whose id was the id of *another* identity's first segment, over all second
segments. A segment's *first ids* are its majority id and the id it left with; recovery
accepts either (the stricter majority-only count is reported too), and a correct recovery is
never counted false. *Wrong links* (re-entry rows): a persistent id passed by the memory
between inner tracks of two different people, the memory's own mistakes as opposed to the
inner tracker's switches. IDF1/HOTA by :func:`deepsort_lib.evaluation.evaluate_sequences`.

*Trackers.* ``deepsort_lib original`` (max_age only), the same wrapped in
:class:`~deepsort_lib.tracking.reentry.ReentryTracker` (with and without its online
appearance-switch split, ``split_distance``), the same followed by offline
:func:`~deepsort_lib.tracking.refine.refine`, and the peers of the accuracy benchmark
(deep-sort-realtime, BoxMOT StrongSORT and BoT-SORT, their wrappers from
``benchmarks/accuracy/trackers.py``) with ``max_age`` raised to ``G + 30`` frames.

*No gaps.* The standard accuracy benchmark with and without the wrapper, and with and
without offline refinement, at every noise level.

*Two cameras.* Camera A: TUD-Stadtmitte. Camera B: each of its identities again, mirrored,
starting ``transit`` frames after it left camera A, plus TUD-Campus's identities as local
people; B's features get a fixed camera shift (``normalize(f + shift * c_B)``) and fresh
noise. Both run through one :class:`~deepsort_lib.streams.identity.SharedIdentityStreams`
(a ``MultiStreamTracker`` whose two streams share one IdentityMemory, ``min_transit =
transit / 2``).
Precision: cross-camera links (a B person given an id reported in camera A) that are
right (the majority id the person had in A, or the id they left A with); recall: travellers
so linked, over all travellers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from benchmarks.accuracy.data import SEQUENCES, load_gt
from benchmarks.accuracy.gaps import (
    NEWCOMER_OFFSET,
    Segments,
    crowd_stream,
    gap_ground_truth,
    majority,
    matched_ids,
    memory_links,
    reentry_counts,
)
from benchmarks.accuracy.run import RESULTS_DIR, _simulate_all, _thread_limits
from benchmarks.accuracy.trackers import IMAGE_SIZE, REGISTRY
from deepsort_lib.boxes import Detections
from deepsort_lib.evaluation import OVERALL, evaluate_sequences
from deepsort_lib.io.atomic import AtomicFile
from deepsort_lib.streams.identity import SharedIdentityStreams
from deepsort_lib.streams.tracker import MultiStreamTracker
from deepsort_lib.testing.simulation import NoiseModel, simulate
from deepsort_lib.tracking.identity import IdentityMemory
from deepsort_lib.tracking.reentry import ReentryTracker
from deepsort_lib.tracking.reentry_defaults import PRESET_REENTRY_SECONDS
from deepsort_lib.tracking.reentry_defaults import reentry_memory as default_reentry_memory
from deepsort_lib.tracking.refine import RefineConfig, refine
from deepsort_lib.tracking.tracker import Tracker

Rows = NDArray[np.float64]
FPS = 25
GAP_SECONDS: tuple[float, ...] = (1, 2, 5, 10, 20)
NOISE_LEVELS: tuple[float, ...] = (0.2, 0.4, 0.6)
HEADLINE_NOISE = 0.4
#: Memory of the re-entry rows: the pipeline's and the CLI's default (the ``recommended``
#: preset's 30 s at 25 fps: 750 frames; threshold calibrated online, no motion gate).
_DEFAULT_MEMORY = default_reentry_memory(PRESET_REENTRY_SECONDS["recommended"], FPS)
MEMORY = {
    "retention": _DEFAULT_MEMORY.retention,
    "max_cosine_distance": _DEFAULT_MEMORY.max_cosine_distance,
    "max_speed": _DEFAULT_MEMORY.max_speed,
}


def reentry_memory(**overrides: Any) -> IdentityMemory:
    """The identity memory used by the benchmark's re-entry rows."""
    return IdentityMemory(**{**MEMORY, **overrides})


# --------------------------------------------------------------------------------------------
# Runners


class FeatureRunner:
    """Steps one of our trackers and keeps each reported row's detection feature (zeros
    for a track reported at its prediction)."""

    def __init__(self, tracker: Any) -> None:
        self.tracker = tracker
        self.features: list[NDArray[np.float32]] = []
        #: Per reported row, the inner tracker's id (a re-entry wrapper's ``local_id``).
        self.local_ids: list[int] = []

    def step(self, detections: Detections) -> Rows:
        tracks = self.tracker.update(detections)
        feats = detections.features
        dim = 0 if feats is None else feats.shape[1]
        rows = np.zeros((len(tracks), 5))
        out = np.zeros((len(tracks), dim), np.float32)
        for k, t in enumerate(tracks):
            rows[k, 0] = t.track_id
            rows[k, 1:] = t.tlwh
            self.local_ids.append(int(getattr(t, "local_id", t.track_id)))
            if feats is not None and t.detection_index is not None:
                out[k] = feats[t.detection_index]
        self.features.append(out)
        return rows


def _ours(preset: str) -> FeatureRunner:
    return FeatureRunner(Tracker.from_preset(preset))


def _ours_reentry(preset: str) -> FeatureRunner:
    return FeatureRunner(ReentryTracker(Tracker.from_preset(preset), reentry_memory()))


def _ours_reentry_no_split(preset: str) -> FeatureRunner:
    tracker = ReentryTracker(Tracker.from_preset(preset), reentry_memory(), split_distance=None)
    return FeatureRunner(tracker)


def _peer(name: str, raise_age: Callable[[Any, int], None]) -> Callable[[int], Any]:
    def factory(max_age: int) -> Any:
        runner = REGISTRY[name].factory()
        raise_age(runner, max_age)
        return runner

    return factory


def _dsr_age(runner: Any, age: int) -> None:
    runner.tracker.tracker.max_age = age


def _strongsort_age(runner: Any, age: int) -> None:
    runner.tracker.max_age = age


def _botsort_age(runner: Any, age: int) -> None:
    runner.tracker.max_time_lost = age


#: Peers with max_age raised to cover the gap: name -> factory(max_age).
PEERS: dict[str, Callable[[int], Any]] = {
    "deep-sort-realtime (max_age=G+30)": _peer("deep-sort-realtime", _dsr_age),
    "BoxMOT StrongSORT (max_age=G+30)": _peer("BoxMOT StrongSORT", _strongsort_age),
    "BoxMOT BoT-SORT (max_time_lost=G+30)": _peer("BoxMOT BoT-SORT", _botsort_age),
}


def run_stream(runner: Any, frames: Sequence[tuple[int, Detections]]) -> tuple[Rows, Any]:
    """Step ``runner`` through ``frames``; ``(M, 6)`` rows and ``(M, D)`` features (or
    ``None`` when the runner keeps none)."""
    out = []
    for frame, dets in frames:
        rows = runner.step(dets)
        out.append(np.column_stack([np.full(len(rows), frame), rows]))
    rows = np.vstack(out) if out else np.zeros((0, 6))
    feats = getattr(runner, "features", None)
    return rows, (np.vstack(feats) if feats else None)


def _scores(pairs: dict[str, tuple[Rows, Rows]]) -> dict[str, float]:
    m = evaluate_sequences(pairs)[OVERALL]
    return {"idf1": m.idf1, "hota": float("nan") if m.hota is None else m.hota, "mota": m.mota}


# --------------------------------------------------------------------------------------------
# The runs


@dataclass
class Row:
    """Results of one tracker in one condition, summed / averaged over seeds."""

    scenario: str
    tracker: str
    gap_s: float
    noise: float
    counts: dict[str, int] = field(default_factory=dict)
    idf1: list[float] = field(default_factory=list)
    hota: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, counts: dict[str, int], scores: dict[str, float], secs: float) -> None:
        for k, v in counts.items():
            self.counts[k] = self.counts.get(k, 0) + v
        self.idf1.append(scores["idf1"])
        self.hota.append(scores["hota"])
        self.seconds += secs

    def summary(self) -> dict[str, Any]:
        c = self.counts
        return {
            "scenario": self.scenario,
            "tracker": self.tracker,
            "gap_s": self.gap_s,
            "noise": self.noise,
            "recovery": c.get("recovered", 0) / max(c.get("returners", 0), 1),
            "false_reid": c.get("false_reid", 0) / max(c.get("second_segments", 0), 1),
            "returners": c.get("returners", 0),
            "second_segments": c.get("second_segments", 0),
            "counts": dict(c),
            "seeds": len(self.idf1),
            "idf1": float(np.mean(self.idf1)) if self.idf1 else float("nan"),
            "hota": float(np.nanmean(self.hota)) if self.hota else float("nan"),
        }


def _tracker_factories(gap: int, peers: bool, preset: str) -> dict[str, Callable[[], Any]]:
    ours = f"deepsort_lib {preset}"
    out: dict[str, Callable[[], Any]] = {
        ours: partial(_ours, preset),
        f"{ours} + re-entry": partial(_ours_reentry, preset),
        f"{ours} + re-entry, no split": partial(_ours_reentry_no_split, preset),
    }
    if peers:
        for name, make in PEERS.items():
            out[name] = partial(make, gap + 30)
    return out


def run_gaps(
    seeds: Sequence[int],
    noise_levels: Sequence[float],
    gap_seconds: Sequence[float],
    *,
    peers: bool,
    peer_noise: Sequence[float] | None = None,
    peer_gaps: Sequence[float] | None = None,
    peer_seeds: Sequence[int] | None = None,
    peer_scenarios: Sequence[str] = ("TUD", "crowd"),
    crowd: bool = True,
    progress: bool = True,
    preset: str = "original",
) -> list[Row]:
    """The gap benchmark; one :class:`Row` per (scenario, tracker, gap, noise).

    Peers run at the levels of ``peer_noise``, gaps of ``peer_gaps``, seeds of
    ``peer_seeds`` and scenarios of ``peer_scenarios`` only (default: all; they are 10-50x
    slower than ours with max_age raised).
    """
    gts = {s: load_gt(s) for s in SEQUENCES}
    rows: dict[tuple[str, str, float, float], Row] = {}

    def row(scn: str, name: str, g: float, lvl: float) -> Row:
        return rows.setdefault((scn, name, g, lvl), Row(scn, name, g, lvl))

    for seed in seeds:
        for level in noise_levels:
            for g_s in gap_seconds:
                gap = round(g_s * FPS)
                scenes: dict[str, list[tuple[str, list[Any], Rows, Segments]]] = {"TUD": []}
                for i, (name, gt) in enumerate(gts.items()):
                    gt_gap, seg = gap_ground_truth(gt, gap, IMAGE_SIZE[0])
                    sim = simulate(
                        gt_gap,
                        NoiseModel(feature_noise=level),
                        seed=seed * 1000 + i,
                        image_size=IMAGE_SIZE,
                    )
                    scenes["TUD"].append((name, list(sim.per_frame()), gt_gap, seg))
                if crowd:
                    frames, gt_c, seg_c = crowd_stream(gap, level, seed)
                    scenes["crowd"] = [("crowd", frames, gt_c, seg_c)]
                for scn, parts in scenes.items():
                    with_peers = (
                        peers
                        and (peer_noise is None or level in peer_noise)
                        and (peer_gaps is None or g_s in peer_gaps)
                        and (peer_seeds is None or seed in peer_seeds)
                        and scn in peer_scenarios
                    )
                    for tname, factory in _tracker_factories(gap, with_peers, preset).items():
                        try:
                            runners = [factory() for _ in parts]
                        except ImportError as exc:
                            if progress:
                                print(f"skip {tname}: {exc}", file=sys.stderr)
                            continue
                        total: dict[str, int] = {}
                        pairs: dict[str, tuple[Rows, Rows]] = {}
                        refined: dict[str, tuple[Rows, Rows]] = {}
                        refined_total: dict[str, int] = {}
                        t0 = time.perf_counter()
                        for runner, (pname, frames, gt_p, seg) in zip(runners, parts, strict=True):
                            res, feats = run_stream(runner, frames)
                            pairs[pname] = (gt_p, res)
                            counts = reentry_counts(gt_p, res, seg)
                            if "re-entry" in tname:
                                local = np.asarray(runner.local_ids, dtype=np.int64)
                                counts |= memory_links(gt_p, res, local)
                            for k, v in counts.items():
                                total[k] = total.get(k, 0) + v
                            if tname == f"deepsort_lib {preset}" and feats is not None:
                                ref = refine(res, feats, RefineConfig())
                                refined[pname] = (gt_p, ref)
                                for k, v in reentry_counts(gt_p, ref, seg).items():
                                    refined_total[k] = refined_total.get(k, 0) + v
                        secs = time.perf_counter() - t0
                        row(scn, tname, g_s, level).add(total, _scores(pairs), secs)
                        if refined:
                            row(scn, f"deepsort_lib {preset} + offline refine", g_s, level).add(
                                refined_total, _scores(refined), 0.0
                            )
                        if progress:
                            s = row(scn, tname, g_s, level).summary()
                            print(
                                f"seed {seed} noise {level} gap {g_s:>4}s {scn:5s} {tname:40s} "
                                f"recovery {s['recovery']:.2f} false {s['false_reid']:.3f} "
                                f"IDF1 {s['idf1']:.3f}",
                                file=sys.stderr,
                                flush=True,
                            )
    return list(rows.values())


def run_no_gap(
    seeds: Sequence[int], noise_levels: Sequence[float], preset: str = "original"
) -> list[dict[str, Any]]:
    """Standard accuracy benchmark: ``preset``, + re-entry, + offline refine (IDF1/HOTA)."""
    ours = f"deepsort_lib {preset}"
    gts = {s: load_gt(s) for s in SEQUENCES}
    acc: dict[tuple[str, float], list[dict[str, float]]] = {}
    for seed in seeds:
        for level in noise_levels:
            sims = _simulate_all(gts, seed, replace(NoiseModel(), feature_noise=level))
            results: dict[str, dict[str, tuple[Rows, Rows]]] = {
                ours: {},
                f"{ours} + re-entry": {},
                f"{ours} + offline refine": {},
                f"{ours} + re-entry + offline refine": {},
            }
            for seq, sim in sims.items():
                frames = list(sim.per_frame())
                for name, factory in (
                    (ours, _ours),
                    (f"{ours} + re-entry", _ours_reentry),
                ):
                    res, feats = run_stream(factory(preset), frames)
                    results[name][seq] = (gts[seq], res)
                    results[name + " + offline refine"][seq] = (gts[seq], refine(res, feats))
            for name, pairs in results.items():
                acc.setdefault((name, level), []).append(_scores(pairs))
    return [
        {
            "tracker": name,
            "noise": level,
            "idf1": float(np.mean([r["idf1"] for r in recs])),
            "hota": float(np.mean([r["hota"] for r in recs])),
            "mota": float(np.mean([r["mota"] for r in recs])),
        }
        for (name, level), recs in acc.items()
    ]


def two_cameras(seed: int, feature_noise: float, shift: float, transit: int) -> dict[str, float]:
    """Cross-camera id precision and recall of two ReentryTrackers sharing one memory."""
    gt_a = load_gt("TUD-Stadtmitte")
    gt_a = gt_a[gt_a[:, 6] != 0]
    travel = gt_a.copy()
    for tid in np.unique(gt_a[:, 1]):
        mine = gt_a[:, 1] == tid
        first, last = gt_a[mine, 0].min(), gt_a[mine, 0].max()
        travel[mine, 0] += (last - first) + transit
        travel[mine, 2] = IMAGE_SIZE[0] - gt_a[mine, 2] - gt_a[mine, 4]
    local = load_gt("TUD-Campus")
    local = local[local[:, 6] != 0].copy()
    local[:, 1] += NEWCOMER_OFFSET
    gt_b = np.vstack([travel, local])
    gt_b = gt_b[np.lexsort((gt_b[:, 1], gt_b[:, 0]))]
    noise = NoiseModel(feature_noise=feature_noise)
    # The same seed gives every identity the same appearance vector in both cameras.
    sim_a = simulate(gt_a, noise, seed=seed, image_size=IMAGE_SIZE)
    sim_b = simulate(gt_b, noise, seed=seed, image_size=IMAGE_SIZE)
    rng = np.random.default_rng(seed + 7)
    dim = noise.feature_dim
    cam = rng.normal(size=dim)
    cam /= np.linalg.norm(cam)
    fresh = rng.normal(size=sim_b.features.shape) * feature_noise / np.sqrt(dim)
    fb = sim_b.features + shift * cam + fresh
    fb = (fb / np.linalg.norm(fb, axis=1, keepdims=True)).astype(np.float32)
    sim_b = replace(sim_b, features=fb)
    memory = reentry_memory(
        min_transit=transit / 2, cross_camera_max_cosine_distance=MEMORY["max_cosine_distance"]
    )
    shared = SharedIdentityStreams(MultiStreamTracker(preset="original"), memory)
    frames_a = dict(sim_a.per_frame())
    frames_b = dict(sim_b.per_frame())
    last = max(max(frames_a), max(frames_b))
    out: dict[str, list[Rows]] = {"a": [], "b": []}
    empty = Detections.from_tlwh(np.zeros((0, 4)), None, None, np.zeros((0, dim), np.float32))
    for f in range(1, last + 1):  # both cameras in lockstep on one clock (frames)
        tracks = shared.update([("a", f, frames_a.get(f, empty)), ("b", f, frames_b.get(f, empty))])
        for name, reported in tracks.items():
            rows = [[f, t.track_id, *t.tlwh] for t in reported]
            out[str(name)].append(np.array(rows, dtype=np.float64).reshape(-1, 6))
    res_a, res_b = np.vstack(out["a"]), np.vstack(out["b"])
    got_a, got_b = matched_ids(gt_a, res_a), matched_ids(gt_b, res_b)
    # The ids a person had in camera A: the majority one and the one they left with (an
    # inner switch or fragment in A changes the id the memory holds).
    id_a: dict[int, set[int]] = {}
    for t in np.unique(gt_a[:, 1]).astype(int):
        mine = got_a[gt_a[:, 1] == t]
        seen = mine[mine >= 0]
        id_a[t] = {majority(mine), int(seen[-1])} - {-1} if len(seen) else set()
    a_ids = {int(v) for v in got_a if v >= 0}
    links = correct = travellers = 0
    for t in np.unique(gt_b[:, 1]).astype(int):
        gid = majority(got_b[gt_b[:, 1] == t])
        if t < NEWCOMER_OFFSET:
            travellers += 1
        if gid >= 0 and gid in a_ids:
            links += 1
            correct += int(gid in id_a.get(t, set()))
    return {
        "links": links,
        "correct": correct,
        "travellers": travellers,
        "precision": correct / links if links else float("nan"),
        "recall": correct / travellers if travellers else float("nan"),
    }


# --------------------------------------------------------------------------------------------
# Report


def _pct(x: float) -> str:
    return "—" if not np.isfinite(x) else f"{100 * x:.1f}"


def _pooled(gaps: list[dict[str, Any]]) -> list[str]:
    """Counts pooled over gaps and seeds, per scenario, noise and tracker."""
    pools: dict[tuple[str, float, str], dict[str, int]] = {}
    seeds: dict[tuple[str, float, str], set[int]] = {}
    for g in gaps:
        key = (g["scenario"], g["noise"], g["tracker"])
        pool = pools.setdefault(key, {})
        for k, v in g["counts"].items():
            pool[k] = pool.get(k, 0) + v
        seeds.setdefault(key, set()).add(g["seeds"])
    lines = [
        "## Pooled over gaps and seeds",
        "",
        "Recovery: the returner's second segment has the id it left with or the majority id "
        "of its first segment (strict: the majority id only). Wrong links (re-entry only): "
        "persistent ids passed by the memory between inner tracks of two different people.",
        "",
        "| scenario | noise | tracker | seeds | recovery | strict recovery | false re-id | "
        "wrong links |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]

    def frac(k: int, n: int) -> str:
        return f"{k}/{n} = {_pct(k / n if n else float('nan'))} %"

    for (scn, level, name), c in sorted(pools.items()):
        links = frac(c["wrong_links"], c["links"]) if "links" in c else "—"
        lines.append(
            f"| {scn} | {level} | {name} | {max(seeds[(scn, level, name)])} | "
            f"{frac(c['recovered'], c['returners'])} | "
            f"{frac(c['recovered_majority'], c['returners'])} | "
            f"{frac(c['false_reid'], c['second_segments'])} | {links} |"
        )
    return [*lines, ""]


def markdown(
    gaps: list[dict[str, Any]],
    no_gap: list[dict[str, Any]],
    cameras: list[dict[str, Any]],
    command: str,
    seeds: Sequence[int],
) -> str:
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Re-entry, offline refinement and cross-camera identity",
        "",
        f"Generated {date} by `{command}` (seeds {list(seeds)}); protocol in "
        "`benchmarks/accuracy/reentry.py`. Recovery: returners given their old id. False "
        "re-id: second segments (returners and newcomers) given another identity's old id. "
        "IDF1/HOTA in %, mean over seeds.",
        "",
    ]
    lines += _pooled(gaps)
    for scn in sorted({g["scenario"] for g in gaps}):
        lines += [f"## Gaps: {scn}", ""]
        for level in sorted({g["noise"] for g in gaps}):
            sel = [g for g in gaps if g["scenario"] == scn and g["noise"] == level]
            if not sel:
                continue
            head = " (default noise)" if level == HEADLINE_NOISE else ""
            lines += [
                f"### feature noise {level}{head}",
                "",
                "| tracker | gap (s) | recovery % | false re-id % | returners | IDF1 | HOTA |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            for g in sorted(sel, key=lambda g: (g["tracker"], g["gap_s"])):
                lines.append(
                    f"| {g['tracker']} | {g['gap_s']:g} | {_pct(g['recovery'])} | "
                    f"{_pct(g['false_reid'])} | {g['returners']} | {_pct(g['idf1'])} | "
                    f"{_pct(g['hota'])} |"
                )
            lines.append("")
    lines += [
        "## No gaps: the standard accuracy benchmark (TUD, simulated detections)",
        "",
        "| tracker | noise | IDF1 | HOTA | MOTA |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in sorted(no_gap, key=lambda r: (r["noise"], r["tracker"])):
        lines.append(
            f"| {r['tracker']} | {r['noise']} | {_pct(r['idf1'])} | {_pct(r['hota'])} | "
            f"{_pct(r['mota'])} |"
        )
    lines += [
        "",
        "## Two cameras (TUD-Stadtmitte travellers, TUD-Campus locals)",
        "",
        "| noise | camera shift | transit (s) | links | precision % | recall % |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for c in cameras:
        lines.append(
            f"| {c['noise']} | {c['shift']} | {c['transit_s']:g} | {c['links']} | "
            f"{_pct(c['precision'])} | {_pct(c['recall'])} |"
        )
    return "\n".join(lines) + "\n"


def _write(path: Any, text: str) -> None:
    with AtomicFile(path) as out:
        out.write(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--noise", type=float, nargs="+", default=list(NOISE_LEVELS))
    parser.add_argument("--gaps", type=float, nargs="+", default=list(GAP_SECONDS))
    parser.add_argument("--no-peers", action="store_true", help="only our trackers")
    parser.add_argument(
        "--peer-noise",
        type=float,
        nargs="+",
        default=[HEADLINE_NOISE],
        help="noise levels at which the peers run (default: the headline level)",
    )
    parser.add_argument(
        "--peer-gaps",
        type=float,
        nargs="+",
        default=[1.0, 5.0],
        help="gaps (s) at which the peers run (default: 1 5)",
    )
    parser.add_argument(
        "--peer-seeds",
        type=int,
        default=None,
        help="run the peers on the first N seeds only, on TUD only (default: every seed, "
        "TUD and crowd)",
    )
    parser.add_argument(
        "--preset",
        default="original",
        help="preset of our inner tracker (default: original, max_age only)",
    )
    parser.add_argument("--no-cameras", action="store_true", help="skip the two-camera simulation")
    parser.add_argument("--out", default=str(RESULTS_DIR / "reentry.md"))
    args = parser.parse_args(argv)
    seeds = list(range(args.seeds))
    with _thread_limits():
        gaps = [
            r.summary()
            for r in run_gaps(
                seeds,
                args.noise,
                args.gaps,
                peers=not args.no_peers,
                peer_noise=args.peer_noise,
                peer_gaps=args.peer_gaps,
                peer_seeds=None if args.peer_seeds is None else seeds[: args.peer_seeds],
                peer_scenarios=("TUD", "crowd") if args.peer_seeds is None else ("TUD",),
                preset=args.preset,
            )
        ]
        no_gap = run_no_gap(seeds, args.noise, args.preset)
        cameras = []
        for level in [] if args.no_cameras else args.noise:
            for shift in (0.3, 0.6):
                for transit_s in (2.0, 10.0):
                    recs = [two_cameras(s, level, shift, int(transit_s * FPS)) for s in seeds]
                    links = sum(r["links"] for r in recs)
                    correct = sum(r["correct"] for r in recs)
                    travellers = sum(r["travellers"] for r in recs)
                    cameras.append(
                        {
                            "noise": level,
                            "shift": shift,
                            "transit_s": transit_s,
                            "links": links,
                            "precision": correct / links if links else float("nan"),
                            "recall": correct / travellers if travellers else float("nan"),
                        }
                    )
    command = (
        "PYTHONPATH=$PWD nice -n 10 .venv-peers/bin/python -m benchmarks.accuracy.reentry "
        + shlex.join(argv if argv is not None else sys.argv[1:])
    )
    out = args.out
    _write(out, markdown(gaps, no_gap, cameras, command.strip(), seeds))
    _write(
        str(out).removesuffix(".md") + ".json",
        json.dumps({"gaps": gaps, "no_gap": no_gap, "cameras": cameras}, indent=1) + "\n",
    )
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
