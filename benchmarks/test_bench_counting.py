"""Line counting on simulated TUD runs: our LineCounter vs supervision's LineZone, same tracks.

Protocol. For each TUD sequence shipped in the motmetrics wheel and each seed,
:func:`deepsort_lib.testing.simulation.simulate` turns the ground truth into detections (as the
accuracy benchmark does) and our tracker (``original`` preset) runs on them. Every frame's
tracks go, unchanged, to every counter. Three vertical counting lines (x = 160, 320, 480 px,
full height: TUD pedestrians walk across the image) are counted per direction.

The truth is the ground-truth trajectories' crossings: for every annotated identity, the
number of sign changes of its bottom-centre's side of the line between consecutive annotated
frames, per direction (computed here independently of the counters).

Three track sources: the tracker's confirmed tracks (what ``update`` returns by default); the
same tracker with ``return_tentative=True`` (unconfirmed tracks too, as in supervision issue
2578: our counter skips them by design, LineZone counts whatever it is given); and a tracker
whose identities flicker (``n_init=1, max_age=1``: a person missed for one frame comes back
under a new id).

Figures: absolute count error summed over lines and directions (and over seeds and
sequences), next to the true number of crossings. Also, side by side in one run, the time per
frame of both counters on the same tracks.

Run: ``pytest benchmarks/test_bench_counting.py -p no:cacheprovider -s`` (writes
``benchmarks/results/counting.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import supervision as sv

from benchmarks.accuracy.data import SEQUENCES, load_gt
from benchmarks.conftest import ResultTable
from deepsort_lib import Tracker
from deepsort_lib.counting import LineCounter, anchor_points
from deepsort_lib.interop import to_supervision
from deepsort_lib.testing.simulation import NoiseModel, simulate
from deepsort_lib.tracking.track import Track

SEEDS = (0, 1, 2)
LINES_X = (160.0, 320.0, 480.0)
IMAGE_SIZE = (640, 480)


def true_crossings(gt: np.ndarray, x: float) -> dict[str, int]:
    """Ground-truth crossings of the vertical line at ``x``, per direction of travel.

    Every change of side of an identity's bottom-centre between consecutive annotated frames
    is one crossing (frames where it is exactly on the line are skipped).
    """
    counts = {"left_to_right": 0, "right_to_left": 0}
    for ident in np.unique(gt[:, 1]):
        rows = gt[gt[:, 1] == ident]
        rows = rows[np.argsort(rows[:, 0], kind="stable")]
        feet_x = anchor_points(rows[:, 2:6])[:, 0]
        side = np.sign(feet_x - x)
        side = side[side != 0]
        steps = np.diff(side)
        counts["left_to_right"] += int(np.sum(steps > 0))
        counts["right_to_left"] += int(np.sum(steps < 0))
    return counts


class _Ours:
    def __init__(self, x: float, **kwargs: Any) -> None:
        self.line = LineCounter((x, 0.0), (x, float(IMAGE_SIZE[1])), **kwargs)

    def update(self, tracks: list[Track]) -> None:
        self.line.update(tracks)

    def counts(self) -> tuple[int, int]:
        return self.line.in_count, self.line.out_count


class _LineZone:
    def __init__(self, x: float, anchors: Any = None) -> None:
        kwargs = {} if anchors is None else {"triggering_anchors": anchors}
        self.zone = sv.LineZone(sv.Point(x, 0.0), sv.Point(x, float(IMAGE_SIZE[1])), **kwargs)

    def update(self, tracks: list[Track]) -> None:
        self.zone.trigger(to_supervision(tracks))

    def counts(self) -> tuple[int, int]:
        return self.zone.in_count, self.zone.out_count


COUNTERS: dict[str, Callable[[float], Any]] = {
    "deepsort_lib LineCounter": lambda x: _Ours(x),
    "deepsort_lib, no hysteresis": lambda x: _Ours(x, min_distance=0.0, min_frames=1),
    "sv.LineZone (default anchors)": lambda x: _LineZone(x),
    "sv.LineZone (bottom centre)": lambda x: _LineZone(x, [sv.Position.BOTTOM_CENTER]),
}
#: Tracker settings of each track source.
SOURCES: dict[str, dict[str, Any]] = {
    "confirmed": {},
    "with tentative": {"return_tentative": True},
    # Identities that flicker: every track is reported from its first frame and dies after
    # one miss, so an occluded or missed person comes back under a new id.
    "flickering ids": {"n_init": 1, "max_age": 1},
}


def test_direction_convention_matches() -> None:
    # A vertical line drawn top to bottom: moving right is "in" for both counters.
    ours, zone = _Ours(320.0, min_frames=1), _LineZone(320.0)
    for step, x in enumerate(range(200, 460, 20)):
        box = np.array([x - 10.0, 100.0, 20.0, 60.0])
        track = Track(1, box, box, 0, 0.9, 2, 5, 5 + step, 0, 0, np.zeros(8), np.eye(8))  # type: ignore[arg-type]
        ours.update([track])
        zone.update([track])
    assert ours.counts() == zone.counts() == (1, 0)


def _run_all() -> dict[tuple[str, str], dict[str, int]]:
    """Summed counts and errors per (source, counter) over seeds, sequences and lines."""
    totals: dict[tuple[str, str], dict[str, int]] = {}
    for seq_index, sequence in enumerate(SEQUENCES):
        gt = load_gt(sequence)
        truth = {x: true_crossings(gt, x) for x in LINES_X}
        for seed in SEEDS:
            sim = simulate(gt, NoiseModel(), seed=seed * 1000 + seq_index, image_size=IMAGE_SIZE)
            for source, settings in SOURCES.items():
                tracker = Tracker(**settings)
                counters = {(name, x): make(x) for name, make in COUNTERS.items() for x in LINES_X}
                for _, dets in sim.per_frame():
                    tracks = tracker.update(dets)
                    for counter in counters.values():
                        counter.update(tracks)
                for (name, x), counter in counters.items():
                    got_in, got_out = counter.counts()
                    want = truth[x]
                    # Line from (x, 0) down to (x, H): moving right is "in" (checked above).
                    want_in, want_out = want["left_to_right"], want["right_to_left"]
                    slot = totals.setdefault(
                        (source, name), {"true": 0, "counted": 0, "abs_error": 0}
                    )
                    slot["true"] += want_in + want_out
                    slot["counted"] += got_in + got_out
                    slot["abs_error"] += abs(got_in - want_in) + abs(got_out - want_out)
    return totals


@pytest.mark.slow
def test_counting_error_vs_ground_truth(results: ResultTable) -> None:
    totals = _run_all()
    for (source, name), slot in totals.items():
        results.add(
            "counting",
            tracks=source,
            counter=name,
            true_crossings=slot["true"],
            counted=slot["counted"],
            abs_error=slot["abs_error"],
            error_pct=100.0 * slot["abs_error"] / max(slot["true"], 1),
        )
    ours = totals[("with tentative", "deepsort_lib LineCounter")]
    zone = totals[("with tentative", "sv.LineZone (bottom centre)")]
    # Our counter ignores tentative tracks: its result does not change with them.
    assert ours == totals[("confirmed", "deepsort_lib LineCounter")]
    assert ours["abs_error"] < zone["abs_error"]


def _frames_of_tracks() -> list[list[Track]]:
    gt = load_gt(SEQUENCES[0])
    sim = simulate(gt, NoiseModel(), seed=0, image_size=IMAGE_SIZE)
    tracker = Tracker()
    return [tracker.update(dets) for _, dets in sim.per_frame()]


@pytest.mark.benchmark(group="counting-speed")
@pytest.mark.parametrize("name", ["deepsort_lib LineCounter", "sv.LineZone (bottom centre)"])
def test_counter_speed(name: str, benchmark: Any, results: ResultTable) -> None:
    frames = _frames_of_tracks()
    # LineZone needs sv.Detections: convert outside the timed loop so only counting is timed.
    inputs: list[Any] = (
        frames if name.startswith("deepsort") else [to_supervision(t) for t in frames]
    )

    def run() -> None:
        counter = COUNTERS[name](320.0)
        step = counter.line.update if name.startswith("deepsort") else counter.zone.trigger
        for item in inputs:
            step(item)

    benchmark.pedantic(run, rounds=5, iterations=1)
    per_frame_us = 1e6 * benchmark.stats.stats.median / len(inputs)
    results.add("counting_speed", counter=name, frames=len(inputs), us_per_frame=per_frame_us)
    assert per_frame_us > 0
