"""Re-entry stress families: recovery, false re-identification and IDF1 per family.

Run (the results file; about 10 minutes on 2 shared cores)::

    PYTHONPATH=$PWD nice -n 10 .venv/bin/python -m benchmarks.accuracy.reentry_families \
        --seeds 4

It writes ``benchmarks/results/reentry_families.md`` and ``.json``. The families are in
:mod:`benchmarks.accuracy.reentry_scenes`; the held-out one
(:data:`~benchmarks.accuracy.reentry_scenes.HELD_OUT`) was fixed before any tuning and is
reported apart.

Trackers (each inner tracker ``Tracker.from_preset(preset)``):

* ``plain``: the inner tracker alone;
* ``fixed``: ``ReentryTracker(tracker, IdentityMemory(max_cosine_distance=0.25,
  max_speed=0.1, calibrate=False), fps=fps)``: the library defaults before the online
  calibration (a fixed cosine threshold and a motion gate);
* ``default``: ``ReentryTracker(tracker, fps=fps)``: today's library defaults;
* ``default, cross +0.05`` (two cameras only): the defaults with
  ``IdentityMemory(cross_camera_max_cosine_distance=0.30)``: a cross-camera allowance of
  0.05 over the calibrated threshold until the cast's size is learned (0 by default), and
  links learned from within 0.60 (0.50);
* ``default, no cast`` (two cameras only): the defaults with
  ``IdentityMemory(learn_camera_cast=False)``: what the learned camera cast adds.

Cross-camera rows run two cameras through one
:class:`~deepsort_lib.streams.identity.SharedIdentityStreams` (returners come back and
newcomers appear in camera 1, with its own colour cast). ``two cameras, long`` is the same on
:func:`~benchmarks.accuracy.reentry_scenes.long_version` of the family (20 returners away
2-40 s): the memory has linked enough people to have learned the cast.
``two cameras, long, gain`` is the same with camera 1's cast a per-dimension gain
(``exp(0.3 N(0, 1))``, a white balance) rather than a shift, and ``two cameras, long, mix``
with camera 1 mixing dimensions (``f + 0.3 M f``): casts that are not translations.
``one camera, long`` (the defaults only) runs the long scenes in one camera.

Scores as in :mod:`benchmarks.accuracy.reentry` (:func:`~benchmarks.accuracy.gaps.reentry_counts`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from benchmarks.accuracy.gaps import Segments, reentry_counts
from benchmarks.accuracy.reentry_scenes import (
    FAMILIES,
    HELD_OUT,
    Scene,
    build_scene,
    long_version,
)
from benchmarks.accuracy.run import RESULTS_DIR
from deepsort_lib.evaluation import OVERALL, evaluate_sequences
from deepsort_lib.io.atomic import AtomicFile
from deepsort_lib.streams.identity import SharedIdentityStreams
from deepsort_lib.streams.tracker import MultiStreamTracker
from deepsort_lib.tracking.identity import IdentityMemory
from deepsort_lib.tracking.reentry import ReentryTracker
from deepsort_lib.tracking.tracker import Tracker

Rows = NDArray[np.float64]
#: Frame offset that puts camera 1 after camera 0 on one scoring axis.
CAMERA_OFFSET = 1_000_000


def fixed_memory() -> IdentityMemory:
    """The library's memory defaults before the online calibration (a fixed threshold and
    a motion gate of 0.1 box heights per time unit)."""
    return IdentityMemory(max_cosine_distance=0.25, max_speed=0.1, calibrate=False)


TRACKERS: dict[str, Callable[[str, float], Any]] = {
    "plain": lambda preset, fps: Tracker.from_preset(preset),
    "fixed": lambda preset, fps: ReentryTracker(
        Tracker.from_preset(preset), fixed_memory(), fps=fps
    ),
    "default": lambda preset, fps: ReentryTracker(Tracker.from_preset(preset), fps=fps),
}
#: Two-camera rows only: the defaults with a configured cross-camera threshold of 0.30 instead
#: of 0.25 (what a user who measured their cameras' colour cast would set).
CROSS_ALLOWANCE = "default, cross +0.05"
#: Long two-camera scenes whose camera 1 scales each feature dimension (a white balance)
#: instead of shifting features: a cast that is not a translation. Chosen before any run on
#: it; held out of the tuning of the learned camera cast.
GAIN = "two cameras, long, gain"
CAMERA_GAIN = 0.3
#: The same with camera 1 mixing feature dimensions (a colour transform): chosen after the
#: gain rows had shaped the cast's explanation test, and held out of it.
MIX = "two cameras, long, mix"
CAMERA_MIX = 0.3
#: One camera, the long scenes (20 returners away 2-40 s): the defaults only.
ONE_LONG = "one camera, long"
#: Two-camera rows only: the defaults without the learned camera cast.
NO_CAST = "default, no cast"
#: Two-camera memories of the rows that are not library defaults.
CROSS_MEMORIES: dict[str, Callable[[], IdentityMemory]] = {
    "fixed": fixed_memory,
    CROSS_ALLOWANCE: lambda: IdentityMemory(cross_camera_max_cosine_distance=0.30),
    NO_CAST: lambda: IdentityMemory(learn_camera_cast=False),
}


def _run(tracker: Any, frames: Sequence[tuple[int, Any]]) -> Rows:
    out = []
    for f, dets in frames:
        for t in tracker.update(dets):
            out.append([f, t.track_id, *t.tlwh])
    return np.asarray(out, np.float64).reshape(-1, 6)


def one_camera(scene: Scene, tracker: Any) -> tuple[dict[str, int], Rows, Rows]:
    res = _run(tracker, scene.frames[0])
    return reentry_counts(scene.gt[0], res, scene.segments), scene.gt[0], res


def two_cameras(
    scene: Scene, preset: str, memory: IdentityMemory | None
) -> tuple[dict[str, int], Rows, Rows]:
    shared = SharedIdentityStreams(MultiStreamTracker(preset=preset), memory, fps=scene.fps)
    cams = sorted(scene.frames)
    by = {c: dict(scene.frames[c]) for c in cams}
    rows: dict[int, list[list[float]]] = {c: [] for c in cams}
    last = max(max(by[c]) for c in cams)
    for f in range(1, last + 1):
        out = shared.update([(c, f, by[c][f]) for c in cams if f in by[c]])
        for c, tracks in out.items():
            rows[int(c)].extend([f, t.track_id, *t.tlwh] for t in tracks)
    gts, ress = [], []
    for c in cams:
        g = scene.gt[c].copy()
        r = np.asarray(rows[c], np.float64).reshape(-1, 6)
        g[:, 0] += c * CAMERA_OFFSET
        r[:, 0] += c * CAMERA_OFFSET
        gts.append(g)
        ress.append(r)
    seg = Segments(
        {k: (a, b + CAMERA_OFFSET) for k, (a, b) in scene.segments.returners.items()},
        {k: (a, b + CAMERA_OFFSET) for k, (a, b) in scene.segments.newcomers.items()},
    )
    gt, res = np.vstack(gts), np.vstack(ress)
    return reentry_counts(gt, res, seg), gt, res


def _unit_mean(rows: list[NDArray[np.float32]]) -> NDArray[np.float64]:
    m = np.mean(np.asarray(rows, np.float64), axis=0)
    return m / max(float(np.linalg.norm(m)), 1e-12)


def separability(scene: Scene, window: int = 10) -> dict[str, list[float]]:
    """Ground-truth distances (no tracker): each returner's first visit, summarised as the
    memory holds it (whole mean and mean of its last ``window`` features), against the mean
    of the first ``window`` features of its second visit (the larger of the two cosine
    distances, as the memory measures); and each newcomer's smallest such distance to any
    departed person. What any threshold on this distance can achieve."""
    feats: dict[int, list[tuple[int, NDArray[np.float32]]]] = {}
    for (f, dets), owner in zip(scene.frames[0], scene.owners[0], strict=True):
        assert dets.features is not None
        for k, gid in enumerate(owner.tolist()):
            if gid >= 0:
                feats.setdefault(gid, []).append((f, dets.features[k]))

    def entry(gid: int, end: int) -> list[NDArray[np.float64]]:
        first = [x for f, x in feats.get(gid, []) if f <= end]
        return [_unit_mean(first), _unit_mean(first[-window:])] if first else []

    def distance(rows: list[NDArray[np.float64]], q: NDArray[np.float64]) -> float:
        return max(1.0 - float(r @ q) for r in rows)

    seg = scene.segments
    departed = {g: entry(g, end) for g, (end, _) in seg.returners.items()}
    # Leavers: gone (not newcomers, not returners) a second or more before the scene ends.
    last_frame = len(scene.frames[0])
    for g, seen in feats.items():
        if g in seg.returners or g in seg.newcomers:
            continue
        if max(f for f, _ in seen) < last_frame - scene.fps:
            departed[g] = entry(g, last_frame)
    out: dict[str, list[float]] = {"returners": [], "newcomers": []}
    for g, (_, start) in seg.returners.items():
        second = [x for f, x in feats.get(g, []) if f >= start][:window]
        if second and departed[g]:
            out["returners"].append(distance(departed[g], _unit_mean(second)))
    for g in seg.newcomers:
        q = [x for _, x in feats.get(g, [])][:window]
        if q:
            qm = _unit_mean(q)
            out["newcomers"].append(min(distance(r, qm) for r in departed.values() if r))
    return out


def oracle(
    distances: dict[str, list[float]], second_segments: int, max_false: float = 0.02
) -> tuple[float, float]:
    """The best recovery any single threshold reaches with false re-identification at most
    ``max_false`` (of all second segments), and that threshold."""
    ret = np.sort(np.asarray(distances["returners"]))
    new = np.sort(np.asarray(distances["newcomers"]))
    best, best_t = 0.0, 0.0
    for t in np.concatenate([[0.0], ret]):
        false = np.searchsorted(new, t, side="right") / max(second_segments, 1)
        rec = np.searchsorted(ret, t, side="right") / max(len(ret), 1)
        if false <= max_false and rec > best:
            best, best_t = rec, float(t)
    return best, best_t


def run(
    families: Sequence[str],
    seeds: Sequence[int],
    presets: Sequence[str],
    trackers: Sequence[str],
    cameras: bool = True,
    progress: bool = True,
    long_scenes: bool = True,
) -> list[dict[str, Any]]:
    """One row per (family, setting, preset, tracker): counts pooled over seeds
    (``long_scenes``: the defaults' ``one camera, long`` rows too)."""
    acc: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for fam in families:
        family = FAMILIES[fam]
        for seed in seeds:
            scene = build_scene(family, seed)
            long = long_version(family)
            long_scene = build_scene(long, seed) if long_scenes else scene
            two = {}
            if cameras:
                two["two cameras"] = build_scene(family, seed, cameras=2)
                two["two cameras, long"] = build_scene(long, seed, cameras=2)
                two[GAIN] = build_scene(long, seed, cameras=2, camera_gain=CAMERA_GAIN)
                two[MIX] = build_scene(long, seed, cameras=2, camera_mix=CAMERA_MIX)
            for preset in presets:
                for name in [*trackers, CROSS_ALLOWANCE, NO_CAST]:
                    one = name in TRACKERS
                    settings = [("one camera", scene)] if one else []
                    if name == "default" and long_scenes:
                        settings.append((ONE_LONG, long_scene))
                    if name != "plain":
                        settings += [
                            (setting, sc)
                            for setting, sc in two.items()
                            if setting == "two cameras" or name in ("default", NO_CAST)
                        ]
                    for setting, sc in settings:
                        t0 = time.perf_counter()
                        if setting in ("one camera", ONE_LONG):
                            counts, gt, res = one_camera(sc, TRACKERS[name](preset, sc.fps))
                        else:
                            make = CROSS_MEMORIES.get(name)
                            counts, gt, res = two_cameras(sc, preset, make() if make else None)
                        idf1 = evaluate_sequences({"s": (gt, res)})[OVERALL].idf1
                        row = acc.setdefault(
                            (fam, setting, preset, name),
                            {
                                "family": fam,
                                "setting": setting,
                                "preset": preset,
                                "tracker": name,
                                "counts": {},
                                "idf1": [],
                                "seconds": 0.0,
                                "seeds": [],
                            },
                        )
                        for k, v in counts.items():
                            row["counts"][k] = row["counts"].get(k, 0) + v
                        row["idf1"].append(float(idf1))
                        row["seeds"].append(seed)
                        row["seconds"] += time.perf_counter() - t0
                        if progress:
                            c = counts
                            print(
                                f"{fam:15s} {setting:11s} seed {seed} {preset:12s} {name:8s} "
                                f"rec {c['recovered']}/{c['returners']} "
                                f"false {c['false_reid']}/{c['second_segments']} IDF1 {idf1:.3f}",
                                file=sys.stderr,
                                flush=True,
                            )
    out = []
    for row in acc.values():
        c = row["counts"]
        row["recovery"] = c["recovered"] / max(c["returners"], 1)
        row["false_reid"] = c["false_reid"] / max(c["second_segments"], 1)
        row["idf1"] = float(np.mean(row["idf1"]))
        out.append(row)
    return out


def _frac(k: int, n: int) -> str:
    return f"{k}/{n} = {100 * k / n:.1f} %" if n else "—"


def separability_table(families: Sequence[str], seeds: Sequence[int]) -> list[dict[str, Any]]:
    """Per family, pooled over seeds: :func:`separability` and :func:`oracle`."""
    out = []
    for fam, scenes in ((f, kind) for f in families for kind in ("short", "long")):
        family = FAMILIES[fam] if scenes == "short" else long_version(FAMILIES[fam])
        pooled: dict[str, list[float]] = {"returners": [], "newcomers": []}
        segments = 0
        for seed in seeds:
            scene = build_scene(family, seed)
            d = separability(scene)
            for k in pooled:
                pooled[k] += d[k]
            segments += len(scene.segments.returners) + len(scene.segments.newcomers)
        best, t = oracle(pooled, segments)
        ret, new = np.asarray(pooled["returners"]), np.asarray(pooled["newcomers"])
        out.append(
            {
                "family": fam,
                "scenes": scenes,
                "returner_median": float(np.median(ret)),
                "returner_max": float(ret.max()),
                "newcomer_min": float(new.min()),
                "oracle_recovery": best,
                "oracle_threshold": t,
            }
        )
    return out


def markdown(
    rows: list[dict[str, Any]],
    command: str,
    seeds: Sequence[int],
    separable: Sequence[dict[str, Any]] = (),
) -> str:
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Re-entry on stress families the wrapper was not developed on",
        "",
        f"Generated {date} by `{command}` (seeds {list(seeds)}); scenes in "
        "`benchmarks/accuracy/reentry_scenes.py`, protocol in "
        "`benchmarks/accuracy/reentry_families.py`. Targets: recovery >= 90 % with false "
        "re-identification <= 2 % in every family.",
        "",
        f"**Held out:** `{HELD_OUT}` was chosen before any tuning and never run while tuning; "
        "it is reported in its own table.",
        "",
        "**Held out for the learned camera cast:** the `two cameras, long, mix` rows (camera 1 "
        "mixes feature dimensions) were chosen before any run on them and run only for this "
        "file. The `gain` rows were held out too, until their first run showed that a cast "
        "which is not a translation made the memory refuse travellers; the explanation test "
        "(`camera_cast.explains`) was added after it. `relu-lowrank` likewise exposed the "
        "early-links lock-out of the first version (see docs/identity.md).",
        "",
        "## Families",
        "",
        "| family | description |",
        "|---|---|",
    ]
    for f in FAMILIES.values():
        lines.append(f"| {f.name} | {f.summary} |")
    if separable:
        lines += [
            "",
            "## What any threshold can do (ground truth, no tracker)",
            "",
            "Cosine distance between a returner's first visit (whole mean and mean of its last "
            "10 features, the larger distance, as the memory measures) and the mean of the "
            "first 10 features of its second visit; for newcomers, the smallest such distance "
            "to anyone who left. *Oracle*: the best recovery a single threshold reaches with "
            "false re-identification <= 2 % on these clean, correctly assigned features.",
            "",
            "| family | scenes | returners: median | returners: max | newcomers: min "
            "| oracle recovery | at threshold |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for r in separable:
            lines.append(
                f"| {r['family']} | {r['scenes']} | {r['returner_median']:.3f} | "
                f"{r['returner_max']:.3f} | "
                f"{r['newcomer_min']:.3f} | {100 * r['oracle_recovery']:.1f} % | "
                f"{r['oracle_threshold']:.3f} |"
            )
    lines += _summary(rows)
    for title, keep in (
        ("Tuning families", lambda r: r["family"] != HELD_OUT),
        ("Held-out family", lambda r: r["family"] == HELD_OUT),
    ):
        sel = [r for r in rows if keep(r)]
        if not sel:
            continue
        lines += [
            "",
            f"## {title}",
            "",
            "| family | setting | preset | tracker | recovery | false re-id | IDF1 % |",
            "|---|---|---|---|---:|---:|---:|",
        ]
        for r in sorted(sel, key=lambda r: (r["family"], r["setting"], r["preset"], r["tracker"])):
            c = r["counts"]
            lines.append(
                f"| {r['family']} | {r['setting']} | {r['preset']} | {r['tracker']} | "
                f"{_frac(c['recovered'], c['returners'])} | "
                f"{_frac(c['false_reid'], c['second_segments'])} | {100 * r['idf1']:.1f} |"
            )
    return "\n".join(lines) + "\n"


#: The summary's columns: every setting the library defaults run in.
SUMMARY_SETTINGS = ("one camera", ONE_LONG, "two cameras", "two cameras, long", GAIN, MIX)


def _summary(rows: list[dict[str, Any]]) -> list[str]:
    """The library defaults at a glance: recovery and false re-identification per family and
    setting, marked where both targets are met."""
    cells = {
        (r["family"], r["preset"], r["setting"]): r["counts"]
        for r in rows
        if r["tracker"] == "default"
    }
    keys = sorted({(f, p) for f, p, _ in cells}, key=lambda k: (k[0] == HELD_OUT, k))
    if not keys:
        return []
    short = [s.replace("two cameras", "2 cams") for s in SUMMARY_SETTINGS]
    lines = [
        "",
        "## Summary: the library defaults",
        "",
        "Recovery / false re-identification, `ReentryTracker` or `SharedIdentityStreams` with "
        "default settings; **bold** where both targets are met (recovery >= 90 %, false "
        "re-identification <= 2 %).",
        "",
        "| family | preset | " + " | ".join(short) + " |",
        "|---|---|" + "---:|" * len(short),
    ]
    for fam, preset in keys:
        out = []
        for setting in SUMMARY_SETTINGS:
            c = cells.get((fam, preset, setting))
            if c is None or not c["returners"] or not c["second_segments"]:
                out.append("—")
                continue
            rec = 100 * c["recovered"] / c["returners"]
            false = 100 * c["false_reid"] / c["second_segments"]
            text = f"{rec:.0f} / {false:.1f}"
            out.append(f"**{text}**" if rec >= 90 and false <= 2 else text)
        name = f"{fam} (held out)" if fam == HELD_OUT else fam
        lines.append(f"| {name} | {preset} | " + " | ".join(out) + " |")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--presets", nargs="+", default=["original", "recommended"])
    parser.add_argument("--trackers", nargs="+", default=list(TRACKERS))
    parser.add_argument("--no-cameras", action="store_true")
    parser.add_argument("--out", default=str(RESULTS_DIR / "reentry_families.md"))
    args = parser.parse_args(argv)
    seeds = list(range(args.seeds))
    with threadpool_limits(limits=1):  # one BLAS thread: small matrices, shared cores
        rows = run(args.families, seeds, args.presets, args.trackers, not args.no_cameras)
        separable = separability_table(args.families, seeds)
    command = (
        "PYTHONPATH=$PWD nice -n 10 .venv/bin/python -m benchmarks.accuracy.reentry_families "
        + shlex.join(argv if argv is not None else sys.argv[1:])
    )
    with AtomicFile(args.out) as out:
        out.write(markdown(rows, command.strip(), seeds, separable))
    with AtomicFile(str(args.out).removesuffix(".md") + ".json") as out:
        doc = {"seeds": seeds, "held_out": HELD_OUT, "rows": rows, "separability": separable}
        out.write(json.dumps(doc, indent=1) + "\n")
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
