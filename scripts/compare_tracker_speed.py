"""Per-frame ``Tracker.update`` time of this checkout against an older revision, on one host.

Hosts differ, so the only honest speed figure after a refactor is a side-by-side ratio: this
script checks REV out into a temporary git worktree, replays the same synthetic crowd streams
(K = 10, 50, 200 targets, 60 frames, 128-d features, generated once by this checkout) through
``Tracker()`` of both, alternating, and prints the best time per frame of each and the ratio.

Run: ``.venv/bin/python scripts/compare_tracker_speed.py 8bd7bbd`` (the first release's
benchmark commit). Exit status 0; it reports and does not judge.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

CROWDS = (10, 50, 200)
ROOT = Path(__file__).resolve().parent.parent

# Runs in a child process with the revision's package first on sys.path; prints one line per K.
_TIMER = """
import pickle, sys, time
sys.path.insert(0, sys.argv[1])
from threadpoolctl import threadpool_limits
from deepsort_lib import Detections, Tracker
streams = pickle.load(open(sys.argv[2], "rb"))
for k, frames in streams.items():
    dets = [Detections.from_tlwh(t, scores=s, features=f) for t, s, f in frames]
    best = float("inf")
    for _ in range(int(sys.argv[3])):
        with threadpool_limits(1):
            tracker = Tracker()
            start = time.perf_counter()
            for d in dets:
                tracker.update(d)
            best = min(best, (time.perf_counter() - start) / len(dets))
    print(k, best * 1e3)
"""


def _streams(path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from deepsort_lib.testing.synthetic import CrowdScenario

    frames = {
        k: [
            (f.detections.tlwh, f.detections.scores, f.detections.features)
            for f in CrowdScenario(num_targets=k, num_frames=60, seed=0).frames()
        ]
        for k in CROWDS
    }
    path.write_bytes(pickle.dumps(frames))


def _time(package_root: Path, streams: Path, repeats: int) -> dict[int, float]:
    out = subprocess.run(
        [sys.executable, "-c", _TIMER, str(package_root), str(streams), str(repeats)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {int(k): float(ms) for k, ms in (line.split() for line in out.splitlines())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="git revision to compare against, e.g. 8bd7bbd")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (best kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old, streams = Path(tmp) / "old", Path(tmp) / "streams.pkl"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old), args.revision],
            check=True,
        )
        try:
            _streams(streams)
            best: dict[str, dict[int, float]] = {"this": {}, args.revision: {}}
            for _ in range(args.rounds):
                for name, root in (("this", ROOT), (args.revision, old)):
                    for k, ms in _time(root, streams, repeats=5).items():
                        best[name][k] = min(best[name].get(k, float("inf")), ms)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)])
    print(f"| K | this checkout, ms/frame | {args.revision}, ms/frame | ratio (this / old) |")
    print("|---|---|---|---|")
    for k in CROWDS:
        now, then = best["this"][k], best[args.revision][k]
        print(f"| {k} | {now:.3f} | {then:.3f} | {now / then:.2f} |")


if __name__ == "__main__":
    main()
