"""Property tests: random streams never break the tracker's invariants."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from deepsort_lib import DeepSortError, Detections, Tracker

finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)
size = st.floats(0.5, 500, allow_nan=False, allow_infinity=False)


@st.composite
def frames(draw: st.DrawFn, dim: int) -> Detections:
    n = draw(st.integers(0, 12))
    xy = draw(arrays(np.float64, (n, 2), elements=finite))
    wh = draw(arrays(np.float64, (n, 2), elements=size))
    scores = draw(arrays(np.float64, (n,), elements=st.floats(0, 1)))
    features = None
    if dim and draw(st.booleans()):
        features = draw(arrays(np.float32, (n, dim), elements=st.floats(-1, 1, width=32)))
    return Detections.from_tlwh(np.column_stack([xy, wh]), scores, None, features)


configs = st.fixed_dictionaries(
    {
        "n_init": st.integers(1, 4),
        "max_age": st.integers(1, 10),
        "nn_budget": st.sampled_from([None, 1, 5]),
        "return_tentative": st.booleans(),
        "output_max_misses": st.integers(0, 2),
        "appearance": st.sampled_from(["gallery", "ema"]),
        "matching": st.sampled_from(["cascade", "global"]),
        "measurement": st.sampled_from(["xyah", "xywh"]),
        "nsa_kalman": st.booleans(),
        "high_score_threshold": st.sampled_from([None, 0.5]),
    }
)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs, stream=st.lists(frames(dim=4), min_size=1, max_size=25), data=st.data())
def test_random_streams_keep_invariants(
    config: dict, stream: list[Detections], data: st.DataObject
) -> None:
    tracker = Tracker(**config)
    seen_dead: set[int] = set()
    alive_before: set[int] = set()
    max_id = 0
    for dets in stream:
        if data.draw(st.integers(0, 9)) == 0:
            out = tracker.predict()
        else:
            out = tracker.update(dets)
        ids = [t.track_id for t in out]
        assert len(ids) == len(set(ids)), "duplicate ids in one frame"
        alive = {t.track_id for t in tracker.tracks}
        assert not (alive & seen_dead), "a deleted id came back"
        new = alive - alive_before
        assert all(i > max_id for i in new), "an id was reused"
        max_id = max([max_id, *alive])
        seen_dead |= alive_before - alive
        alive_before = alive
        # Bounded: every live track was born from a detection in the last max_age frames.
        assert len(tracker) <= sum(len(d) for d in stream)
        for t in out:
            assert np.all(np.isfinite(t.tlwh)) and np.all(np.isfinite(t.covariance))
            if t.detection_index is not None:
                assert 0 <= t.detection_index < len(dets)


@settings(max_examples=80, deadline=None)
@given(
    rows=st.one_of(
        arrays(np.float64, st.tuples(st.integers(0, 5), st.integers(0, 8)), elements=st.floats()),
        st.lists(st.lists(st.floats(), max_size=7), max_size=4),
        st.text(max_size=5),
        st.integers(),
    )
)
def test_arbitrary_input_raises_only_library_errors(rows: object) -> None:
    tracker = Tracker(n_init=1)
    tracker.update(np.array([[0.0, 0.0, 10.0, 10.0]]), box_format="tlwh")
    for box_format in (None, "tlwh", "xyxy"):
        try:
            tracker.update(rows, box_format=box_format)  # type: ignore[arg-type]
        except DeepSortError:
            pass
    # Whatever happened, the tracker still works.
    tracker.update(np.array([[1.0, 1.0, 10.0, 10.0]]), box_format="tlwh")
