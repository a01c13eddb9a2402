"""Golden outputs of the tracker: a fingerprint of every frame of every configuration.

Refactors of the tracking core must not change what it reports. This script runs every preset
(``PRESETS`` in ``deepsort_lib/tracking/tracker.py``) and a set of option combinations over

* the accuracy benchmark's simulated detections (``deepsort_lib.testing.simulation.simulate`` on the
  two TUD ground truths shipped in the motmetrics wheel, seed 0, default noise), and
* a seeded random stream built here (several classes, zero feature rows, camera motion and
  ``predict()``-only frames),

and records, per configuration, the SHA-256 of each frame's output
``(track_id, tlwh, class_id, confidence, detection_index)``. It also records a SHA-256 of each
input stream, so a check can tell "the inputs changed" (the simulator moved on) apart from
"the tracker changed".

Usage (from the repository root, with ``PYTHONPATH=$PWD``)::

    .venv/bin/python scripts/golden_outputs.py --write tests/data/golden_outputs.json
    .venv/bin/python scripts/golden_outputs.py --check tests/data/golden_outputs.json

``--check`` exits 1 and names the first differing frame of each differing configuration.
A change of behaviour that is meant (a bug fix) regenerates the file in its own commit whose
message says why.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deepsort_lib import Detections, Tracker
from deepsort_lib.tracking.tracker import PRESETS

#: Rounding of floats before hashing: far below any meaningful difference, far above the last
#: bits that a reordering of floating-point sums could move.
DECIMALS = 6
#: Hex characters kept of each frame's SHA-256 (64 bits: collisions are not a concern here).
DIGEST_CHARS = 16


@dataclass(frozen=True)
class Step:
    """One frame of an input stream: ``detections is None`` means a ``predict()``-only frame."""

    detections: Detections | None
    camera_motion: np.ndarray | None = None


Stream = list[Step]


def _tud_streams() -> dict[str, Stream]:
    import motmetrics

    from deepsort_lib.io.mot import read_mot
    from deepsort_lib.testing.simulation import NoiseModel, simulate

    streams: dict[str, Stream] = {}
    root = Path(motmetrics.__file__).resolve().parent / "data"
    for i, name in enumerate(("TUD-Stadtmitte", "TUD-Campus")):
        gt = read_mot(root / name / "gt.txt").as_array()
        sim = simulate(gt, NoiseModel(), seed=i, image_size=(640, 480))
        streams[name] = [Step(dets) for _, dets in sim.per_frame()]
    return streams


def random_stream(num_frames: int = 150, seed: int = 7) -> Stream:
    """Seeded targets with classes, jitter, misses, false positives and zero feature rows."""
    rng = np.random.default_rng(seed)
    k, dim = 12, 16
    pos = rng.uniform([50, 50], [1200, 600], size=(k, 2))
    vel = rng.normal(0, 4, size=(k, 2))
    size = rng.uniform([30, 60], [60, 160], size=(k, 2))
    classes = rng.integers(0, 3, size=k)
    identity = rng.normal(size=(k, dim))
    identity /= np.linalg.norm(identity, axis=1, keepdims=True)
    steps: Stream = []
    for f in range(num_frames):
        pos += vel
        vel += rng.normal(0, 0.3, size=(k, 2))
        seen = rng.random(k) > 0.1
        n_fp = int(rng.poisson(0.7))
        tl = pos[seen] + rng.normal(0, 2, size=(int(seen.sum()), 2))
        wh = size[seen] * np.exp(rng.normal(0, 0.03, size=(int(seen.sum()), 2)))
        fp_tl = rng.uniform([0, 0], [1200, 600], size=(n_fp, 2))
        fp_wh = rng.uniform([30, 60], [60, 160], size=(n_fp, 2))
        tlwh = np.concatenate([np.column_stack([tl, wh]), np.column_stack([fp_tl, fp_wh])])
        feats = np.concatenate(
            [
                identity[seen] + rng.normal(0, 0.3, size=(int(seen.sum()), dim)),
                rng.normal(size=(n_fp, dim)),
            ]
        )
        feats[rng.random(len(feats)) < 0.05] = 0.0  # "no appearance" rows
        scores = np.concatenate([rng.uniform(0.4, 1.0, seen.sum()), rng.uniform(0.1, 0.7, n_fp)])
        cls = np.concatenate([classes[seen], rng.integers(0, 3, size=n_fp)])
        order = rng.permutation(len(tlwh))
        dets = Detections.from_tlwh(
            tlwh[order], scores[order], cls[order], feats[order].astype(np.float32)
        )
        motion = None
        if f % 10 == 5:
            shift = rng.normal(0, 3, size=2)
            motion = np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]]])
        steps.append(Step(dets, motion))
        if f % 25 == 24:
            steps.append(Step(None))
    return steps


def streams() -> dict[str, Stream]:
    """Every input stream, by name."""
    out = _tud_streams()
    out["random"] = random_stream()
    return out


def _motion_only(stream: Stream) -> Stream:
    return [
        Step(None if s.detections is None else s.detections.with_features(None), s.camera_motion)
        for s in stream
    ]


#: Configurations: name -> (streams it runs on, tracker factory, stream transform).
Config = tuple[tuple[str, ...], Callable[[], Tracker], Callable[[Stream], Stream] | None]
ALL = ("TUD-Stadtmitte", "TUD-Campus", "random")


def _preset(name: str, **kw: Any) -> Callable[[], Tracker]:
    return lambda: Tracker.from_preset(name, **kw)


def configs() -> dict[str, Config]:
    """Every preset plus option combinations that reach the other code paths."""
    out: dict[str, Config] = {f"preset:{p}": (ALL, _preset(p), None) for p in PRESETS}
    out.update(
        {
            "default": (ALL, Tracker, None),
            "motion-only": (ALL, Tracker, _motion_only),
            "tentative+misses2": (
                ALL,
                _preset("original", return_tentative=True, output_max_misses=2),
                None,
            ),
            "n_init1+max_age5": (ALL, _preset("original", n_init=1, max_age=5), None),
            "budget-none+position-gate": (
                ALL,
                _preset("original", nn_budget=None, gating_only_position=True),
                None,
            ),
            "budget1+cos0.3": (
                ALL,
                _preset("original", nn_budget=1, max_cosine_distance=0.3),
                None,
            ),
            "global+xywh+nsa": (
                ALL,
                _preset("original", matching="global", measurement="xywh", nsa_kalman=True),
                None,
            ),
            "bytetrack0.5": (ALL, _preset("original", high_score_threshold=0.5), None),
            "match_classes": (ALL, _preset("original", match_classes=True), None),
            "filterpy": (("TUD-Campus",), _preset("original", kalman_backend="filterpy"), None),
        }
    )
    return out


def _frame_digest(tracks: list[Any]) -> str:
    h = hashlib.sha256()
    for t in tracks:
        det = -1 if t.detection_index is None else int(t.detection_index)
        box = ",".join(f"{v:.{DECIMALS}f}" for v in np.asarray(t.tlwh, dtype=np.float64))
        h.update(
            f"{t.track_id};{box};{int(t.class_id)};{float(t.confidence):.{DECIMALS}f};{det}|".encode()
        )
    return h.hexdigest()[:DIGEST_CHARS]


def _stream_digest(stream: Stream) -> str:
    h = hashlib.sha256()
    for s in stream:
        if s.detections is None:
            h.update(b"predict|")
            continue
        d = s.detections
        for a in (d.tlwh, d.scores, d.class_ids, d.features, s.camera_motion):
            h.update(b"-" if a is None else np.round(np.asarray(a, np.float64), 9).tobytes())
        h.update(b"|")
    return h.hexdigest()


def run_stream(tracker: Tracker, stream: Stream) -> Iterator[str]:
    """The digest of every frame's output."""
    for s in stream:
        if s.detections is None:
            out = tracker.predict()
        else:
            out = tracker.update(s.detections, camera_motion=s.camera_motion)
        yield _frame_digest(out)


def compute(only: set[str] | None = None, stream_names: set[str] | None = None) -> dict[str, Any]:
    """``{"inputs": {stream: sha}, "outputs": {config: {stream: [frame sha, ...]}}}``.

    ``only`` and ``stream_names`` restrict the run to some configurations and streams.
    """
    data = streams()
    outputs: dict[str, dict[str, list[str]]] = {}
    for name, (names, factory, transform) in configs().items():
        if only is not None and name not in only:
            continue
        outputs[name] = {}
        for sname in names:
            if stream_names is not None and sname not in stream_names:
                continue
            stream = data[sname] if transform is None else transform(data[sname])
            outputs[name][sname] = list(run_stream(factory(), stream))
    return {
        "inputs": {k: _stream_digest(v) for k, v in data.items()},
        "outputs": outputs,
    }


def compare(expected: dict[str, Any], actual: dict[str, Any], partial: bool = False) -> list[str]:
    """Human-readable differences (empty: identical).

    ``partial``: ``actual`` covers only some configurations or streams; compare those.
    """
    problems = []
    for sname, sha in expected["inputs"].items():
        if actual["inputs"].get(sname) != sha:
            problems.append(f"input stream {sname} changed (the simulator, not the tracker)")
    for name, per_stream in actual["outputs"].items():
        for sname, got in per_stream.items():
            frames = expected["outputs"].get(name, {}).get(sname)
            if frames is None:
                problems.append(f"{name} on {sname}: no golden output recorded")
            elif got != frames:
                first = next(
                    (i for i, (a, b) in enumerate(zip(frames, got, strict=False)) if a != b),
                    min(len(frames), len(got)),
                )
                problems.append(f"{name} on {sname}: first differing frame {first}")
    if not partial:
        for name, per_stream in expected["outputs"].items():
            missing = set(per_stream) - set(actual["outputs"].get(name, {}))
            if missing:
                problems.append(f"{name}: not computed on {sorted(missing)}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path, help="record the golden outputs to this JSON file")
    mode.add_argument("--check", type=Path, help="compare with this JSON file")
    args = parser.parse_args(argv)
    actual = compute()
    if args.write:
        args.write.write_text(json.dumps(actual, indent=1, sort_keys=True) + "\n")
        n = sum(len(f) for s in actual["outputs"].values() for f in s.values())
        print(f"wrote {len(actual['outputs'])} configurations, {n} frames, to {args.write}")
        return 0
    problems = compare(json.loads(args.check.read_text()), actual)
    for p in problems:
        print(p)
    if not problems:
        print(f"identical: {len(actual['outputs'])} configurations")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
