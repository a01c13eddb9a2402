"""IdentityMemory: feasibility rules, global assignment, retention, capacity, sharing."""

from __future__ import annotations

import pickle
import threading
from dataclasses import replace

import numpy as np
import pytest

from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.tracking.identity import IdentityMemory, IdentityQuery, LostIdentity

D = 16


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture
def looks() -> np.ndarray:
    return np.eye(D, dtype=np.float32)[:6]  # orthogonal looks: distances known exactly


def _lost(gid: int, look: np.ndarray, *, t: float = 10.0, box=(100, 100, 40, 100), cam="a", cls=0):
    return LostIdentity(gid, cam, cls, t, np.array(box, float), look[None, :])


def _query(look: np.ndarray, *, t: float = 20.0, box=(120, 100, 40, 100), cam="a", cls=0):
    return IdentityQuery(cam, cls, t, np.array(box, float), look[None, :])


def test_matches_by_appearance_and_removes_the_entry(looks: np.ndarray) -> None:
    memory = IdentityMemory(retention=100, max_speed=1.0)
    memory.add(_lost(7, looks[0]))
    memory.add(_lost(8, looks[1]))
    assert memory.match([_query(looks[1]), _query(looks[2])], now=20) == [8, None]
    assert 8 not in memory and 7 in memory and len(memory) == 1


@pytest.mark.parametrize(
    ("query_kw", "why"),
    [
        ({"cls": 1}, "other class"),
        ({"t": 10.0}, "seen at the same time as the lost one (overlap)"),
        ({"t": 5.0}, "first seen before the lost one was last seen"),
        ({"t": 200.0}, "older than retention"),
        ({"box": (900, 100, 40, 100), "t": 11.0}, "too far for the gap"),
    ],
)
def test_infeasible_pairs_never_match(looks: np.ndarray, query_kw: dict, why: str) -> None:
    memory = IdentityMemory(retention=100, max_speed=1.0, position_slack=1.0)
    memory.add(_lost(7, looks[0]))
    assert memory.match([_query(looks[0], **query_kw)], now=query_kw.get("t", 20.0)) == [None], why


def test_distance_in_box_heights_grows_with_the_gap(looks: np.ndarray) -> None:
    memory = IdentityMemory(retention=1000, max_speed=0.5, position_slack=1.0)
    # 800 px away = 8 box heights: needs a gap of at least (8 - 1) / 0.5 = 14.
    memory.add(_lost(7, looks[0], t=0.0))
    far = (900, 100, 40, 100)
    assert memory.match([_query(looks[0], t=13.0, box=far)], now=13) == [None]
    assert memory.match([_query(looks[0], t=15.0, box=far)], now=15) == [7]


def test_cosine_threshold(looks: np.ndarray) -> None:
    mixed = _unit(looks[0] + 0.9 * looks[1])  # cosine distance to looks[0] well above 0.2
    memory = IdentityMemory(retention=100, max_speed=1.0, max_cosine_distance=0.2)
    memory.add(_lost(7, looks[0]))
    assert memory.match([_query(mixed)], now=20) == [None]
    loose = IdentityMemory(retention=100, max_speed=1.0, max_cosine_distance=0.6)
    loose.add(_lost(7, looks[0]))
    assert loose.match([_query(mixed)], now=20) == [7]


def test_assignment_is_global_not_greedy(looks: np.ndarray) -> None:
    # q0 is closest to e0 but e0 is q1's only acceptable match: a greedy pass would take e0
    # for q0 and leave q1 unmatched; the global assignment matches both.
    a, b, c = looks[0], looks[1], looks[2]
    e0 = _unit(a + 0.3 * b)
    e1 = _unit(a + 0.3 * c)
    q0 = _unit(a + 0.3 * b + 0.15 * c)  # distances 0.010 to e0, 0.051 to e1
    q1 = _unit(a + 0.3 * b - 0.2 * c)  # distances 0.018 to e0, 0.153 to e1
    memory = IdentityMemory(retention=100, max_speed=1.0, max_cosine_distance=0.06)
    cost, _ = memory.cost_matrix([_query(q0), _query(q1)], [_lost(1, e0), _lost(2, e1)])
    assert cost[0, 0] < cost[0, 1] and cost[1, 0] <= 0.06 < cost[1, 1]
    assert cost[0, 1] <= 0.06
    memory.add(_lost(1, e0))
    memory.add(_lost(2, e1))
    assert memory.match([_query(q0), _query(q1)], now=20) == [2, 1]


def test_capacity_evicts_the_earliest_lost(looks: np.ndarray) -> None:
    memory = IdentityMemory(retention=100, capacity=2)
    for gid in (1, 2, 3):
        memory.add(_lost(gid, looks[gid]))
    assert [e.global_id for e in memory.entries] == [2, 3]


def test_expire_and_withdraw(looks: np.ndarray) -> None:
    memory = IdentityMemory(retention=10)
    memory.add(_lost(1, looks[0], t=0.0))
    memory.add(_lost(2, looks[1], t=5.0))
    memory.expire(12.0)
    assert [e.global_id for e in memory.entries] == [2]
    assert memory.withdraw(2) and not memory.withdraw(2) and len(memory) == 0


def test_cross_camera_needs_min_transit_and_ignores_position(looks: np.ndarray) -> None:
    memory = IdentityMemory(retention=100, min_transit=5.0, max_speed=0.0, position_slack=0.0)
    memory.add(_lost(4, looks[0], cam="a", t=10.0))
    far = (600, 400, 40, 100)
    assert memory.match([_query(looks[0], cam="b", t=12.0, box=far)], now=12) == [None]
    assert memory.match([_query(looks[0], cam="b", t=16.0, box=far)], now=16) == [4]


def test_cross_camera_threshold_is_separate(looks: np.ndarray) -> None:
    shifted = _unit(looks[0] + 0.7 * looks[3])
    memory = IdentityMemory(retention=100, max_cosine_distance=0.1)
    memory.add(_lost(4, looks[0], cam="a"))
    assert memory.match([_query(shifted, cam="b")], now=20) == [None]
    loose = IdentityMemory(
        retention=100, max_cosine_distance=0.1, cross_camera_max_cosine_distance=0.5
    )
    loose.add(_lost(4, looks[0], cam="a"))
    assert loose.match([_query(shifted, cam="b")], now=20) == [4]


def test_no_appearance_never_matches(looks: np.ndarray) -> None:
    memory = IdentityMemory(retention=100, max_speed=1.0, max_cosine_distance=2.0)
    memory.add(_lost(1, looks[0]))
    blind = IdentityQuery(
        "a", 0, 20.0, np.array([120.0, 100, 40, 100]), np.zeros((0, 0), np.float32)
    )
    assert memory.match([blind], now=20) == [None]


def test_summaries_of_different_lengths_are_rejected(looks: np.ndarray) -> None:
    memory = IdentityMemory(retention=100, max_speed=1.0)
    memory.add(_lost(1, looks[0]))
    with pytest.raises(InvalidInputError):
        memory.match([_query(looks[0, :8])], now=20)
    assert len(memory) == 1


def test_new_ids_are_unique_across_threads() -> None:
    memory = IdentityMemory()
    got: list[int] = []
    lock = threading.Lock()

    def grab() -> None:
        mine = [memory.new_id() for _ in range(500)]
        with lock:
            got.extend(mine)

    threads = [threading.Thread(target=grab) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == list(range(1, 2001))


def test_pickles_without_its_lock(looks: np.ndarray) -> None:
    memory = IdentityMemory(retention=100)
    memory.add(_lost(1, looks[0]))
    copy = pickle.loads(pickle.dumps(memory))
    assert [e.global_id for e in copy.entries] == [1] and copy.new_id() == memory.new_id()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"retention": -1},
        {"capacity": 0},
        {"capacity": 2.5},
        {"max_cosine_distance": 3.0},
        {"max_speed": float("nan")},
        {"min_transit": -0.1},
    ],
)
def test_bad_settings_are_configuration_errors(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError):
        IdentityMemory(**kwargs)


def test_every_summary_row_of_the_lost_identity_must_match(looks: np.ndarray) -> None:
    # A lost track whose whole-track mean is person 0 but whose recent frames were person 1
    # (an id that switched) matches neither person: both of its rows must be close.
    switched = LostIdentity(
        9, "a", 0, 10.0, np.array([100.0, 100, 40, 100]), np.stack([looks[0], looks[1]])
    )
    for person in (0, 1):
        memory = IdentityMemory(retention=100, max_speed=1.0)
        memory.add(switched)
        assert memory.match([_query(looks[person])], now=20) == [None]
    consistent = replace(switched, summary=np.stack([looks[0], _unit(looks[0] + 0.1 * looks[2])]))
    memory = IdentityMemory(retention=100, max_speed=1.0)
    memory.add(consistent)
    assert memory.match([_query(looks[0])], now=20) == [9]
