"""The shapes of a camera's cast: each fit recovers its own shape from links, a minority of
wrong links does not move it, the shape is chosen by leave-one-out error, gains need
``GAIN_MIN_LINKS`` links, and links nothing explains give no cast."""

from __future__ import annotations

import numpy as np
import pytest

from deepsort_lib.tracking.cast_fit import (
    GAIN_MIN_LINKS,
    GAIN_RANGE,
    camera_normalisation,
    cast_distances,
    fit_cast,
    translation,
    white_balance,
)

D = 64


def _unit(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = x / np.linalg.norm(x, axis=-1, keepdims=True)
    return out


def _people(rng: np.random.Generator, n: int) -> np.ndarray:
    return _unit(rng.normal(size=(n, D)))


def _noisy(x: np.ndarray, rng: np.random.Generator, noise: float = 0.02) -> np.ndarray:
    return _unit(x + noise * rng.normal(size=x.shape) / np.sqrt(D))


def _gains(rng: np.random.Generator) -> np.ndarray:
    out: np.ndarray = np.exp(0.3 * rng.normal(size=D))
    return out


def test_each_shape_recovers_its_own_cast() -> None:
    rng = np.random.default_rng(0)
    a = _people(rng, 16)
    shift = 0.3 * _unit(rng.normal(size=D))
    gains = _gains(rng)
    shifted = _noisy(a + shift, rng)
    scaled = _noisy(a * gains, rng)
    # Raw, each camera puts its people far from themselves; each fit takes its shape off.
    for fit, b in ((translation, shifted), (white_balance, scaled), (camera_normalisation, scaled)):
        raw = 1.0 - np.einsum("ij,ij->i", a, b)
        after = cast_distances(fit(a, b), a, b)
        assert np.median(after) < 0.25 * np.median(raw), fit.__name__
    gain, offset = white_balance(a, scaled)
    assert np.allclose(offset, 0.0)
    # Gains up to a common scale (cosine ignores it), shrunk towards 1 a little.
    assert np.corrcoef(np.log(gain), np.log(gains))[0, 1] > 0.9
    gain, offset = translation(a, shifted)
    assert np.allclose(gain, 1.0)
    assert offset @ shift / (np.linalg.norm(offset) * np.linalg.norm(shift)) > 0.9


@pytest.mark.parametrize("fit", [white_balance, camera_normalisation])
def test_a_minority_of_wrong_links_does_not_move_a_gain(fit: object) -> None:
    rng = np.random.default_rng(1)
    gains = _gains(rng)
    a = _people(rng, 20)
    b = _noisy(a * gains, rng)
    wrong = b.copy()
    wrong[::4] = _noisy(_people(rng, 5) * gains, rng)  # one link in four: someone else
    assert callable(fit)
    clean, trimmed = fit(a, b), fit(a, wrong)
    test_a = _people(rng, 50)
    test_b = _noisy(test_a * gains, rng)
    assert np.median(cast_distances(trimmed, test_a, test_b)) < 2.0 * np.median(
        cast_distances(clean, test_a, test_b)
    )
    raw = 1.0 - np.einsum("ij,ij->i", test_a, test_b)
    assert np.median(cast_distances(trimmed, test_a, test_b)) < 0.3 * np.median(raw)


def test_the_shape_is_chosen_by_leave_one_out_error() -> None:
    rng = np.random.default_rng(2)
    a = _people(rng, 16)
    gains = _gains(rng)
    cast = fit_cast(a, _noisy(a * gains, rng))
    assert cast is not None
    gain, _ = cast
    assert np.corrcoef(np.log(gain), np.log(gains))[0, 1] > 0.9
    # A translation: whatever shape wins, it explains new people as well as the translation.
    shift = 0.3 * _unit(rng.normal(size=D))
    b = _noisy(a + shift, rng)
    cast = fit_cast(a, b)
    assert cast is not None
    test_a = _people(rng, 50)
    test_b = _noisy(test_a + shift, rng)
    chosen = np.median(cast_distances(cast, test_a, test_b))
    assert chosen <= 1.5 * np.median(cast_distances(translation(a, b), test_a, test_b))


def test_gains_need_enough_links_and_stay_in_range() -> None:
    rng = np.random.default_rng(3)
    a = _people(rng, GAIN_MIN_LINKS - 1)
    few = fit_cast(a, _noisy(a * _gains(rng), rng))
    assert few is None or np.allclose(few[0], 1.0)  # a translation, or nothing
    a = _people(rng, 12)
    extreme = np.where(np.arange(D) % 2 == 0, 20.0, 0.02)
    gain, _ = white_balance(a, _unit(a * extreme))
    assert gain.min() >= GAIN_RANGE[0] and gain.max() <= GAIN_RANGE[1]


def test_links_nothing_explains_give_no_cast() -> None:
    rng = np.random.default_rng(4)
    a = _people(rng, 16)
    assert fit_cast(a, _people(rng, 16)) is None  # every link someone else
    mixing = rng.normal(size=(D, D)) / np.sqrt(D)
    assert fit_cast(a, _unit(a + 0.6 * a @ mixing.T)) is None  # a viewpoint mixes dimensions


def test_links_of_one_person_keep_gain_one_where_they_do_not_vary() -> None:
    # Every link the same feature: the offset fit has no spread to learn a gain from.
    rng = np.random.default_rng(5)
    a = np.repeat(_people(rng, 1), 10, axis=0)
    b = np.repeat(_people(rng, 1), 10, axis=0)
    gain, offset = camera_normalisation(a, b)
    assert np.allclose(gain, 1.0) and np.isfinite(offset).all()
    assert np.allclose(cast_distances((gain, offset), a, b), 0.0, atol=1e-9)
