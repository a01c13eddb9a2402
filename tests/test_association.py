import numpy as np

from deepsort_lib.tracking.association import (
    INFEASIBLE_COST,
    gate,
    matching_cascade,
    min_cost_matching,
)


def test_min_cost_matching_rejects_pairs_over_threshold() -> None:
    cost = np.array([[0.1, 0.9], [0.8, 0.95]])
    a = min_cost_matching(cost, 0.5, np.array([10, 11]), np.array([20, 21]))
    assert a.track_rows.tolist() == [10] and a.detection_cols.tolist() == [20]
    assert a.unmatched_rows.tolist() == [11] and a.unmatched_cols.tolist() == [21]


def test_infeasible_pairs_do_not_distort_the_optimum() -> None:
    # Unclamped, the solver would take 0.3 + 0.3 to avoid the huge entry; clamped, it keeps
    # the clearly best pair (0.0) and leaves the other row unmatched.
    cost = np.array([[0.0, 0.3], [0.3, INFEASIBLE_COST]])
    a = min_cost_matching(cost, 0.2, np.arange(2), np.arange(2))
    assert list(zip(a.track_rows, a.detection_cols, strict=True)) == [(0, 0)]


def test_cascade_gives_recent_tracks_priority() -> None:
    # Track 0 was lost 5 frames ago and is slightly closer; track 1 was seen a frame ago.
    cost = np.array([[0.05], [0.10]])
    levels = np.array([5, 1])
    a = matching_cascade(cost, 0.2, levels, np.array([0, 1]), np.array([0]))
    assert a.track_rows.tolist() == [1] and a.unmatched_rows.tolist() == [0]
    # Plain global matching would have picked the other one.
    g = min_cost_matching(cost, 0.2, np.array([0, 1]), np.array([0]))
    assert g.track_rows.tolist() == [0]


def test_gate_forbids_far_pairs() -> None:
    cost = np.zeros((2, 2))
    maha = np.array([[1.0, 20.0], [9.5, 3.0]])
    gated = gate(cost, maha, 9.4877)
    assert gated.tolist() == [[0.0, INFEASIBLE_COST], [INFEASIBLE_COST, 0.0]]


def test_empty_inputs() -> None:
    a = min_cost_matching(np.zeros((0, 3)), 0.5, np.zeros(0, np.intp), np.arange(3))
    assert a.unmatched_cols.tolist() == [0, 1, 2]
    c = matching_cascade(
        np.zeros((2, 0)), 0.5, np.array([1, 2]), np.arange(2), np.zeros(0, np.intp)
    )
    assert c.unmatched_rows.tolist() == [0, 1]


def test_cascade_depth_skips_levels_beyond_max_level() -> None:
    cost = np.array([[0.05], [0.05]])
    levels = np.array([31, 30])
    a = matching_cascade(cost, 0.2, levels, np.array([0, 1]), np.array([0]), max_level=30)
    assert a.track_rows.tolist() == [1] and a.unmatched_rows.tolist() == [0]
    only_too_old = matching_cascade(cost[:1], 0.2, levels[:1], np.array([0]), np.array([0]), 30)
    assert only_too_old.track_rows.tolist() == [] and only_too_old.unmatched_cols.tolist() == [0]
