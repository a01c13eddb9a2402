"""Property-based fuzz of Tracker.update: hostile input raises only library errors and leaves
the tracker byte-identical; accepted input never breaks it (issue 15)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from deepsort_lib import DeepSortError, Detections, Tracker
from tests.core_state import state_of

any_float = st.floats(allow_nan=True, allow_infinity=True, width=64)
extreme = st.sampled_from([0.0, -0.0, 1e-320, 1e-30, 0.5, 1.0, 1e8, 1e15, 1e39, 1e154, 1e308])
number = st.one_of(any_float, extreme, st.integers(-(2**70), 2**70).map(float))


def _raw(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["float", "complex", "uint64", "object", "list", "text"]))
    n = draw(st.integers(0, 4))
    cols = draw(st.sampled_from([3, 4, 5, 6, 7]))
    if kind == "float":
        return draw(arrays(np.float64, (n, cols), elements=number))
    if kind == "complex":
        return draw(
            arrays(np.complex128, (n, cols), elements=st.complex_numbers(max_magnitude=1e3))
        )
    if kind == "uint64":
        return draw(arrays(np.uint64, (n, cols)))
    if kind == "object":
        return np.array(
            draw(st.lists(st.one_of(number, st.text(max_size=2)), min_size=cols, max_size=cols))
            * n,
            dtype=object,
        ).reshape(n, cols)
    if kind == "list":
        return draw(st.lists(st.lists(number, min_size=cols, max_size=cols), max_size=n))
    return draw(st.text(max_size=4))


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for one update: a mix of sane and hostile pieces."""
    n = draw(st.integers(0, 4))
    tlwh = draw(arrays(np.float64, (n, 4), elements=st.one_of(st.floats(1, 500), number)))
    call: dict[str, Any] = {}
    if draw(st.booleans()):
        call["detections"] = _raw(draw)
        call["box_format"] = draw(st.sampled_from([None, "tlwh", "xyxy", "xywh"]))
        return call
    kwargs: dict[str, Any] = {}
    if draw(st.booleans()):
        kwargs["scores"] = draw(
            arrays(np.float64, (n,), elements=st.one_of(st.floats(0, 1), number))
        )
    if draw(st.booleans()):
        kwargs["class_ids"] = draw(
            st.one_of(
                arrays(np.float64, (n,), elements=number),
                arrays(np.int64, (n,)),
                arrays(np.uint64, (n,)),
            )
        )
    if draw(st.booleans()):
        dim = draw(st.sampled_from([4, 3]))
        kwargs["features"] = draw(
            arrays(np.float64, (n, dim), elements=st.one_of(st.floats(-1, 1), number))
        )
    call["detections"] = (tlwh, kwargs)
    if draw(st.integers(0, 4)) == 0:
        call["camera_motion"] = draw(
            arrays(np.float64, draw(st.sampled_from([(2, 3), (3, 3)])), elements=number)
        )
    return call


def _warm(options: dict[str, Any]) -> Tracker:
    tracker = Tracker(n_init=1, **options)
    feats = np.eye(4, dtype=np.float32)[:3]
    for step in range(3):
        x = 100.0 + 3 * step
        tracker.update(
            Detections.from_tlwh(
                [[x, 50, 40, 100], [x + 200, 50, 40, 100], [x + 400, 50, 40, 90]], features=feats
            )
        )
    return tracker


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    options=st.sampled_from(
        [{}, {"appearance": "ema"}, {"nn_budget": None}, {"matching": "global"}]
    ),
    calls=st.lists(updates(), min_size=1, max_size=4),
)
@pytest.mark.slow
def test_update_raises_only_library_errors_and_rejections_change_nothing(
    options: dict[str, Any], calls: list[dict[str, Any]]
) -> None:
    tracker = _warm(options)
    for call in calls:
        before = state_of(tracker)
        call = dict(call)
        detections = call.pop("detections")
        try:
            if isinstance(detections, tuple):
                tlwh, kwargs = detections
                detections = Detections.from_tlwh(tlwh, **kwargs)
            out = tracker.update(detections, **call)
        except DeepSortError:
            assert state_of(tracker) == before
            continue
        for t in out:
            assert np.all(np.isfinite(t.tlwh)) and np.all(np.isfinite(t.covariance))
    # Whatever happened, the tracker still works.
    tracker.update(Detections.from_tlwh([[110.0, 50, 40, 100]], features=np.eye(4)[:1]))
