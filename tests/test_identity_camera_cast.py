"""The cameras' casts learned from cross-camera links: the cast is learned per pair, robust
to wrong links, follows a change, is saved/restored, and lets the memory refuse a look-alike
that the raw cross-camera distance cannot tell from the traveller."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepsort_lib.errors import ConfigurationError, StateError
from deepsort_lib.io.state import load_state, save_state
from deepsort_lib.tracking.camera_cast import CAST_ALLOWANCE, CameraCast, CastMap, robust_mean
from deepsort_lib.tracking.identity import IdentityMemory, IdentityQuery, LostIdentity
from deepsort_lib.tracking.reentry_state import memory_state, restore_memory

D = 64
BOX = np.array([0, 0, 10, 20.0])


def _unit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)
    return out


def _cast_vector(rng: np.random.Generator, size: float = 0.4) -> np.ndarray:
    return size * _unit(rng.normal(size=D)).astype(np.float64)


def _seen_in_b(
    a: np.ndarray, cast: np.ndarray, rng: np.random.Generator, noise: float = 0.02
) -> np.ndarray:
    """The same person in camera b: camera a's feature plus the cast, a little noise."""
    return _unit(a + cast + noise * rng.normal(size=a.shape) / np.sqrt(D))


def _learned_shift(cast: CameraCast, entry: str = "a", query: str = "b") -> np.ndarray | None:
    """The learned cast as the vector a ``query`` feature is moved by into ``entry``'s terms
    (negated: the shift from ``entry`` to ``query``), or ``None`` while none is in use. The
    tests' casts are translations: whatever shape was chosen, its gains stay near 1."""
    mapping = cast.mapping(entry, query)
    if mapping is None:
        return None
    assert np.allclose(mapping.scale, 1.0, atol=0.35)
    out: np.ndarray = -mapping.offset
    return out


def _link(
    cast: CameraCast, rng: np.random.Generator, shift: np.ndarray, wrong: bool = False
) -> None:
    a = _unit(rng.normal(size=D))
    b = _seen_in_b(_unit(rng.normal(size=D)) if wrong else a, shift, rng)
    cast.learn("a", "b", a, b)


def test_the_cast_of_a_pair_is_learned_from_its_links_in_both_directions() -> None:
    rng = np.random.default_rng(0)
    shift = _cast_vector(rng)
    cast = CameraCast(min_links=4)
    for _ in range(3):
        _link(cast, rng, shift)
    assert cast.mapping("a", "b") is None  # not enough links yet
    _link(cast, rng, shift)
    learned = _learned_shift(cast)
    assert learned is not None and cast.links("b", "a") == 4
    # Differences of unit vectors: the cast's direction and size, up to normalisation.
    cosine = learned @ shift / (np.linalg.norm(learned) * np.linalg.norm(shift))
    assert cosine > 0.8
    reverse = cast.mapping("b", "a")
    forward = cast.mapping("a", "b")
    assert reverse is not None and forward is not None
    # One cast, seen from both sides: the two mappings undo each other.
    x = _unit(rng.normal(size=(5, D))).astype(np.float64)
    assert np.allclose(forward.apply(reverse.apply(x)), x)
    assert cast.mapping("a", "a") is None and cast.mapping("a", "c") is None


def test_a_few_wrong_links_do_not_move_the_cast() -> None:
    rng = np.random.default_rng(1)
    shift = _cast_vector(rng)
    cast = CameraCast()
    plain = []
    for k in range(16):
        wrong = k % 4 == 3  # one link in four is a look-alike taken for the traveller
        a = _unit(rng.normal(size=D))
        b = _seen_in_b(_unit(rng.normal(size=D)) if wrong else a, shift, rng)
        cast.learn("a", "b", a, b)
        plain.append(b - a)
    learned = _learned_shift(cast)
    assert learned is not None
    mean = np.mean(plain, axis=0)
    truth = np.mean(
        [_seen_in_b(x, shift, rng, 0.0) - x for x in _unit(rng.normal(size=(200, D)))], 0
    )
    assert np.linalg.norm(learned - truth) < 0.5 * np.linalg.norm(mean - truth)


def test_robust_mean_of_few_rows_and_of_agreeing_rows() -> None:
    rows = np.array([[1.0, 0.0], [3.0, 0.0]])
    assert np.allclose(robust_mean(rows), [2.0, 0.0])
    rows = np.array([[1.0, 0.0], [1.1, 0.0], [0.9, 0.0], [9.0, 9.0], [-9.0, 5.0]])
    assert np.allclose(robust_mean(rows), [1.0, 0.0])


def test_the_cast_follows_a_camera_whose_light_changed() -> None:
    rng = np.random.default_rng(2)
    old, new = _cast_vector(rng), _cast_vector(rng)
    cast = CameraCast(links_kept=10)
    for _ in range(10):
        _link(cast, rng, old)
    before = _learned_shift(cast)
    for _ in range(10):
        _link(cast, rng, new)
    after = _learned_shift(cast)
    assert before is not None and after is not None

    def cosine(x: np.ndarray, y: np.ndarray) -> float:
        return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))

    assert cosine(before, old) > 0.8 and cosine(after, new) > 0.8
    assert cosine(after, old) < 0.5 * cosine(before, old)


def test_links_within_one_camera_or_without_appearance_teach_nothing() -> None:
    cast = CameraCast(min_links=1)
    x = np.ones(D, np.float32)
    cast.learn("a", "a", x, x)
    cast.learn("a", "b", np.zeros(D), x)
    cast.learn("a", "b", np.full(D, np.nan), x)
    assert cast.links("a", "b") == 0 and cast.mapping("a", "b") is None
    with pytest.raises(ConfigurationError):
        CameraCast(min_links=0)


def _calibrated_memory(rng: np.random.Generator) -> IdentityMemory:
    """A memory calibrated on a tight scene (same-identity distances 0.002-0.006)."""
    memory = IdentityMemory()
    memory.observe_distances(rng.uniform(0.002, 0.006, 200), rng.uniform(0.6, 1.0, 200))
    return memory


def _memory_with_cast(rng: np.random.Generator, shift: np.ndarray) -> IdentityMemory:
    """A memory calibrated on a tight scene (same-identity ~0.005) that has linked eight
    travellers from camera a to camera b."""
    memory = _calibrated_memory(rng)
    assert memory.camera_cast is not None
    for _ in range(8):
        a = _unit(rng.normal(size=D))
        memory.camera_cast.learn("a", "b", a, _seen_in_b(a, shift, rng))
    return memory


def test_with_the_cast_taken_off_the_memory_links_the_traveller_and_refuses_the_look_alike() -> (
    None
):
    rng = np.random.default_rng(3)
    shift = _cast_vector(rng, 0.3)
    person = _unit(rng.normal(size=D))
    look_alike = _unit(person + 0.25 * _unit(rng.normal(size=D)))
    traveller_in_b = _seen_in_b(person, shift, rng)
    look_alike_in_b = _seen_in_b(look_alike, shift, rng)
    lost = LostIdentity(1, "a", 0, 1.0, BOX, person[None])
    queries = [
        IdentityQuery("b", 0, 5.0, BOX, look_alike_in_b[None]),
        IdentityQuery("b", 0, 5.0, BOX, traveller_in_b[None]),
    ]
    # Raw distances: the cast puts the traveller as far as the look-alike, and a memory
    # without a learned cast (nor its size: no cross-camera asks yet) judges them alike:
    # both refused. (Its floor, the configured 0.25, accepted both until 2026-12-08.)
    raw = 1.0 - np.array([q.summary[0] @ person for q in queries])
    assert raw.min() < 0.25 and raw.max() < 0.25
    naive = _calibrated_memory(rng)
    _, naive_limit = naive.cost_matrix(queries, [lost])
    assert (raw > naive_limit[:, 0]).all()

    memory = _memory_with_cast(rng, shift)
    cost, limit = memory.cost_matrix(queries, [lost])
    assert cost[1, 0] < 0.02 < cost[0, 0]  # traveller as close as within one camera
    assert cost[1, 0] <= limit[1, 0] < cost[0, 0]
    memory.add(lost)
    assert memory.match(queries, 5.0) == [None, 1]
    # Same-camera pairs are untouched by the cast.
    same = IdentityQuery("a", 0, 5.0, BOX, person[None])
    cost_same, _ = memory.cost_matrix([same], [LostIdentity(2, "a", 0, 1.0, BOX, person[None])])
    assert cost_same[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_pairs_under_a_learned_cast_get_an_allowance_for_the_cast_s_error() -> None:
    rng = np.random.default_rng(9)
    memory = _memory_with_cast(rng, _cast_vector(rng, 0.3))
    person = _unit(rng.normal(size=D))
    lost = [LostIdentity(1, "a", 0, 1.0, BOX, person[None])]
    there = IdentityQuery("b", 0, 5.0, BOX, person[None])
    here = IdentityQuery("a", 0, 5.0, BOX, person[None])
    _, limit = memory.cost_matrix([there, here], lost)
    assert memory.calibration is not None
    same_camera = memory.calibration.thresholds([4.0])[0]
    assert limit[1, 0] == pytest.approx(same_camera)
    assert limit[0, 0] == pytest.approx(CAST_ALLOWANCE * same_camera)
    assert CAST_ALLOWANCE > 1.0


def test_cross_camera_asks_teach_the_cast_and_same_camera_ones_do_not() -> None:
    rng = np.random.default_rng(4)
    shift = _cast_vector(rng, 0.3)
    memory = _calibrated_memory(rng)
    assert memory.camera_cast is not None
    got = []
    for gid in range(10, 16):
        a = _unit(rng.normal(size=D))
        memory.add(LostIdentity(gid, "a", 0, 1.0, BOX, a[None]))
        got += memory.match([IdentityQuery("b", 0, 5.0, BOX, _seen_in_b(a, shift, rng)[None])], 5)
    # Each ask is a link; the first four are judged raw (refused: the cast is 0.045 here,
    # the calibrated threshold 0.01), the next ones with the four links' cast taken off.
    assert got == [None] * 4 + [14, 15]
    assert memory.camera_cast.links("a", "b") == 6
    learned = _learned_shift(memory.camera_cast)
    assert learned is not None and learned @ shift / np.linalg.norm(learned) > 0.2
    a = _unit(rng.normal(size=D))
    memory.add(LostIdentity(20, "a", 0, 1.0, BOX, a[None]))
    assert memory.match([IdentityQuery("a", 0, 5.0, BOX, a[None])], 5) == [20]
    assert memory.camera_cast.links("a", "b") == 6


def test_a_cast_from_wrong_early_links_is_not_used_and_the_travellers_correct_it() -> None:
    # The cast learns from each ask's nearest raw pair (within LINK_REACH times the raw
    # threshold), not from the matches it lets through; and a cast that does not explain its
    # own links is not used. Four wrong early links therefore neither lock the travellers
    # out for long nor stay.
    rng = np.random.default_rng(6)
    shift = _cast_vector(rng, 0.3)
    memory = _calibrated_memory(rng)
    assert memory.camera_cast is not None
    for _ in range(4):
        memory.camera_cast.learn("a", "b", _unit(rng.normal(size=D)), _unit(rng.normal(size=D)))
    assert memory.camera_cast.mapping("a", "b") is None  # random links explain nothing
    got = []
    for gid in range(10, 22):
        a = _unit(rng.normal(size=D))
        memory.add(LostIdentity(gid, "a", 0, 1.0, BOX, a[None]))
        query = IdentityQuery("b", 0, 5.0, BOX, _seen_in_b(a, shift, rng)[None])
        got.append(memory.match([query], 5.0)[0] == gid)
    # Refused while the wrong links outvote the travellers' (the raw rule has no floor),
    # then linked with the travellers' cast taken off.
    assert got == [False] * 5 + [True] * 7
    learned = _learned_shift(memory.camera_cast)
    assert learned is not None
    assert learned @ shift / (np.linalg.norm(learned) * np.linalg.norm(shift)) > 0.8


def test_only_a_cast_that_explains_its_links_is_used() -> None:
    # A shift (a translation) and a per-dimension gain (a white balance) are explained:
    # taking the learned cast off removes most of each link's distance. A camera that mixes
    # dimensions (another viewpoint) is not: the raw rule stays.
    rng = np.random.default_rng(7)
    shift = _cast_vector(rng, 0.3)
    gains = np.exp(0.3 * rng.normal(size=D))
    mixing = rng.normal(size=(D, D)) / np.sqrt(D)
    shifted, scaled, mixed = CameraCast(), CameraCast(), CameraCast()
    people = _unit(rng.normal(size=(12, D)))
    for a in people:
        shifted.learn("a", "b", a, _seen_in_b(a, shift, rng))
        scaled.learn("a", "b", a, _unit(a * gains))
        mixed.learn("a", "b", a, _unit(a + 0.6 * mixing @ a))
    assert shifted.mapping("a", "b") is not None
    assert mixed.mapping("a", "b") is None
    # The white balance is learned: a new person seen through it maps back close to
    # camera a, far closer than raw.
    mapping = scaled.mapping("a", "b")
    assert mapping is not None
    newcomers = _unit(rng.normal(size=(50, D))).astype(np.float64)
    seen = _unit(newcomers * gains).astype(np.float64)
    back = mapping.apply(seen)
    corrected = 1.0 - np.einsum("ij,ij->i", _unit(back), newcomers)
    raw = 1.0 - np.einsum("ij,ij->i", seen, newcomers)
    assert np.median(corrected) < 0.3 * np.median(raw)
    assert isinstance(mapping, CastMap)


def test_the_cast_is_saved_and_restored_and_older_states_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    memory = _memory_with_cast(rng, _cast_vector(rng))
    path = save_state(tmp_path / "memory.npz", memory_state(memory))
    copy = restore_memory(load_state(path))
    assert copy.camera_cast is not None and memory.camera_cast is not None
    saved, restored_map = memory.camera_cast.mapping("a", "b"), copy.camera_cast.mapping("a", "b")
    assert saved is not None and restored_map is not None
    assert np.allclose(saved.scale, restored_map.scale)
    assert np.allclose(saved.offset, restored_map.offset)
    assert copy.camera_cast.links("a", "b") == 8
    # Saved before casts were learned: loads with none.
    older = memory_state(memory)
    del older["camera_cast"]
    restored = restore_memory(older)
    assert restored.camera_cast is not None and restored.camera_cast.links("a", "b") == 0
    # Corrupt: a clear StateError.
    bad = memory_state(memory)
    bad["camera_cast"]["rows"] = bad["camera_cast"]["rows"][:3]
    with pytest.raises(StateError):
        restore_memory(bad)
    bad = memory_state(memory)
    bad["camera_cast"]["pairs"] = [["b", "a"]]
    with pytest.raises(StateError):
        restore_memory(bad)
    bad = memory_state(memory)
    bad["camera_cast"]["rows"][0, 0] = np.nan
    with pytest.raises(StateError):
        restore_memory(bad)


def test_a_fixed_memory_learns_no_cast() -> None:
    assert IdentityMemory(calibrate=False).camera_cast is None


def test_progress_moves_with_warm_up_links_and_when_the_cast_comes_into_use() -> None:
    rng = np.random.default_rng(11)
    shift = _cast_vector(rng, 0.3)
    cast = CameraCast(min_links=4)
    seen = [cast.progress("b")]
    for _ in range(6):
        a = _unit(rng.normal(size=D))
        cast.learn("a", "b", a, _seen_in_b(a, shift, rng))
        seen.append(cast.progress("b"))
    # One per link up to min_links, one more when the cast comes into use, then still.
    assert seen == [0, 1, 2, 3, 5, 5, 5]
    assert cast.progress("a") == 5 and cast.progress("c") == 0
    # An unexplained cast (a camera mixing dimensions) never comes into use: progress stops
    # at min_links, so refused tracks stop asking again.
    mixing = rng.normal(size=(D, D)) / np.sqrt(D)
    mixed = CameraCast(min_links=4)
    for _ in range(8):
        a = _unit(rng.normal(size=D))
        mixed.learn("a", "b", a, _unit(a + 0.6 * mixing @ a))
    assert mixed.progress("b") == 4


def test_through_a_white_balance_the_memory_links_the_traveller_and_refuses_the_look_alike() -> (
    None
):
    # A camera scaling each dimension is not a translation; from GAIN_MIN_LINKS links its
    # per-dimension gain is learned and taken off, as a shift is.
    rng = np.random.default_rng(12)
    gains = np.exp(0.3 * rng.normal(size=D))
    memory = _calibrated_memory(rng)
    assert memory.camera_cast is not None
    for _ in range(12):
        a = _unit(rng.normal(size=D))
        memory.camera_cast.learn("a", "b", a, _unit(a * gains))
    mapping = memory.camera_cast.mapping("a", "b")
    assert mapping is not None and not np.allclose(mapping.scale, 1.0)
    person = _unit(rng.normal(size=D))
    look_alike = _unit(person + 0.25 * _unit(rng.normal(size=D)))
    queries = [
        IdentityQuery("b", 0, 5.0, BOX, _unit(look_alike * gains)[None]),
        IdentityQuery("b", 0, 5.0, BOX, _unit(person * gains)[None]),
    ]
    lost = LostIdentity(1, "a", 0, 1.0, BOX, person[None])
    cost, limit = memory.cost_matrix(queries, [lost])
    assert cost[1, 0] <= limit[1, 0] < cost[0, 0]
    memory.add(lost)
    assert memory.match(queries, 5.0) == [None, 1]


def test_a_pair_settles_when_its_cast_may_take_any_shape() -> None:
    # A translation is in use from min_links links, but a white balance needs
    # GAIN_MIN_LINKS: until then the pair is not settled (refused tracks may ask again),
    # and its progress moves once more when the cast takes its gains.
    rng = np.random.default_rng(13)
    gains = np.exp(0.3 * rng.normal(size=D))
    shift = _cast_vector(rng, 0.3)
    scaled, shifted = CameraCast(min_links=4), CameraCast(min_links=4)
    progress, settled = [], []
    for _ in range(10):
        a = _unit(rng.normal(size=D))
        scaled.learn("a", "b", a, _unit(a * gains))
        shifted.learn("a", "b", a, _seen_in_b(a, shift, rng))
        progress.append(scaled.progress("b"))
        settled.append((scaled.settled("a", "b"), shifted.settled("a", "b")))
    assert progress[:3] == [1, 2, 3]
    assert progress[-1] == 6  # 4 warm-up links, in use, with gains
    assert progress[6] < progress[7] == progress[-1]  # the gain comes with the 8th link
    assert settled[6] == (False, False) and settled[7] == (True, True)
    # Without a cast in use a pair never settles.
    assert not CameraCast().settled("a", "b")
