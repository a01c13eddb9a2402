"""Issue 13's tracker mechanisms: adaptive coasting output, lost tracks keeping their size,
and the ``recommended`` and ``botsort`` presets."""

from __future__ import annotations

import numpy as np
import pytest

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.tracking.coasting import GapStatistics
from deepsort_lib.tracking.tracker import PRESETS, Tracker, TrackerConfig

# -- GapStatistics ------------------------------------------------------------------------------


def _stats(**kwargs: float) -> GapStatistics:
    g = GapStatistics(30, **kwargs)  # type: ignore[arg-type]
    g.record_returns(np.array([1] * 10 + [3] * 5 + [8] * 2))
    g.record_deletions(2)
    return g


def test_presence_by_hand() -> None:
    # R(1) = 17, R(2) = R(3) = 7, R(4..8) = 2, R(9) = 0; D + D0 = 3.
    p = _stats().presence()
    np.testing.assert_allclose(p[[1, 2, 3, 4, 8, 9]], [17 / 20, 0.7, 0.7, 0.4, 0.4, 0.0])
    assert p[0] == 1.0


def test_cutoff_is_the_last_gap_with_enough_presence() -> None:
    assert _stats().max_misses() == 3  # presence 0.7 up to 3 misses, 0.4 from 4
    assert _stats(min_presence=0.75).max_misses() == 1
    assert _stats(min_presence=0.3).max_misses() == 8


def test_no_evidence_means_the_floor_and_the_prior_stops_endless_coasting() -> None:
    g = GapStatistics(30, floor=1)
    assert g.max_misses() == 1
    g.record_returns(np.array([2]))  # one gap seen, no track ever left: prior D0 = 1
    assert g.max_misses() == 2
    g.record_returns(np.array([40]))  # longer than max_age: counted at max_age
    assert g.presence()[30] == pytest.approx(0.5)
    g.clear()
    assert g.max_misses() == 1 and g.observations == 0


def test_floor_is_kept_when_evidence_says_less() -> None:
    g = GapStatistics(30, floor=2)
    g.record_deletions(50)
    g.record_returns(np.array([1]))
    assert g.max_misses() == 2


@pytest.mark.parametrize(
    "kwargs",
    [{"max_gap": 0}, {"min_presence": 0.0}, {"min_presence": 1.5}, {"prior_deletions": -1}],
)
def test_invalid_gap_statistics(kwargs: dict[str, float]) -> None:
    args = {"max_gap": 30, **kwargs}
    with pytest.raises(ConfigurationError):
        GapStatistics(**args)  # type: ignore[arg-type]


def test_invalid_coasting_presence() -> None:
    with pytest.raises(ConfigurationError, match="coasting_min_presence"):
        TrackerConfig(coasting_min_presence=0.0)


# -- the tracker hooks --------------------------------------------------------------------------


def _walker(frame: int, height: float = 100.0) -> Detections:
    return Detections.from_tlwh([[10.0 + 3 * frame, 50.0, 40.0, height]], [0.9])


def _reported_during_gaps(tracker: Tracker, gap: int, cycles: int) -> list[int]:
    """One person walking; the detector sees 6 frames then misses ``gap``, ``cycles`` times.

    Returns, per cycle, how many of the missed frames the person was reported in.
    """
    reported = []
    frame = 0
    for _ in range(cycles):
        for _ in range(6):
            tracker.update(_walker(frame))
            frame += 1
        shown = 0
        for _ in range(gap):
            out = tracker.update(Detections.empty())
            shown += len(out)
            assert all(t.detection_index is None for t in out)  # predicted, not detected
            frame += 1
        reported.append(shown)
    return reported


def test_adaptive_coasting_learns_the_detectors_gaps() -> None:
    fixed = _reported_during_gaps(Tracker.from_preset("strongsort"), gap=4, cycles=6)
    assert fixed == [1] * 6  # deep_sort_app's rule: one missed frame, whatever the detector
    learned = _reported_during_gaps(
        Tracker(adaptive_coasting=True, output_max_misses=1), gap=4, cycles=6
    )
    assert learned[0] == 1  # nothing learned yet: the floor
    assert learned[-1] == 4  # every 4-frame gap so far ended with the person found again
    assert learned == sorted(learned)


def test_adaptive_coasting_stops_early_when_tracks_usually_leave() -> None:
    tracker = Tracker(adaptive_coasting=True, output_max_misses=1, max_age=5)
    # Ten people appear one after another and leave for good: every gap ends in deletion.
    for person in range(10):
        for frame in range(5):
            tracker.update(Detections.from_tlwh([[50.0 * person, 50.0 + frame, 40, 100]]))
        for _ in range(7):
            tracker.update(Detections.empty())
    assert tracker._gaps is not None and tracker._gaps.observations == 10
    assert tracker._gaps.max_misses() == 1


def test_reset_forgets_the_gap_statistics() -> None:
    tracker = Tracker(adaptive_coasting=True, output_max_misses=0)
    _reported_during_gaps(tracker, gap=3, cycles=4)
    assert tracker._gaps is not None and tracker._gaps.max_misses() == 3
    tracker.reset()
    assert tracker._gaps.max_misses() == 0  # back to the floor, output_max_misses


def test_lost_tracks_keep_their_size() -> None:
    def coasting_heights(freeze: bool) -> list[float]:
        tracker = Tracker(n_init=1, output_max_misses=6, freeze_lost_size=freeze)
        for frame in range(12):  # the box grows 4 px a frame
            tracker.update(_walker(frame, height=100.0 + 4 * frame))
        return [float(tracker.update(Detections.empty())[0].tlwh[3]) for _ in range(6)]

    frozen, extrapolated = coasting_heights(True), coasting_heights(False)
    # The first missed frame still uses the last velocity; from then on the size stays.
    assert np.ptp(frozen[1:]) < 1e-9
    assert extrapolated[-1] - extrapolated[1] > 10.0


def test_freeze_does_not_change_tracks_that_are_matched() -> None:
    a, b = Tracker(n_init=1), Tracker(n_init=1, freeze_lost_size=True)
    for frame in range(20):
        ta, tb = a.update(_walker(frame, 100 + frame)), b.update(_walker(frame, 100 + frame))
        np.testing.assert_array_equal(ta[0].mean, tb[0].mean)


# -- presets -------------------------------------------------------------------------------------


def test_recommended_preset() -> None:
    cfg = Tracker.from_preset("recommended").config
    assert cfg.adaptive_coasting and cfg.freeze_lost_size
    assert cfg.appearance == "ema" and cfg.matching == "global"
    assert not cfg.nsa_kalman
    assert cfg.high_score_threshold is None  # every detection can start and keep a track
    # The mechanisms are off in every other preset: they stay what they were.
    for name, options in PRESETS.items():
        if name != "recommended":
            other = TrackerConfig(**options)
            assert not other.adaptive_coasting and not other.freeze_lost_size, name


def test_botsort_preset_keeps_partly_occluded_people() -> None:
    cfg = Tracker.from_preset("botsort").config
    assert cfg.high_score_threshold == 0.5
    tracker = Tracker.from_preset("botsort", n_init=1)
    # A person scored 0.55 (partly occluded) starts a track; the 0.6 threshold forbade it.
    out = tracker.update(Detections.from_tlwh([[10, 20, 40, 100]], [0.55]))
    assert [t.track_id for t in out] == [1]
