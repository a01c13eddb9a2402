"""The public extension points (appearance model, association cost) and the declared protocols."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deepsort_lib import (
    AppearanceModel,
    AssociationCost,
    CameraMotionTracker,
    ConfigurationError,
    CostContext,
    Detections,
    FeatureGallery,
    PredictingTracker,
    ScoreAwareTracker,
    SizedEncoder,
    Track,
    Tracker,
    TrackerProtocol,
    TrackLike,
    TrackState,
)
from tests.core_state import state_of

ROOT = Path(__file__).resolve().parents[1]


def _box(x: float, y: float = 100.0) -> list[float]:
    return [x, y, 40.0, 100.0]


def _python_blocks(section: str) -> list[str]:
    text = (ROOT / "docs" / "concepts.md").read_text(encoding="utf-8")
    part = text[text.index(section) :]
    part = part[: part.index("\n## ", 1)]
    return re.findall(r"```python\n(.*?)```", part, flags=re.S)


@pytest.mark.parametrize("index", [0, 1])
def test_concepts_extension_examples_run_and_print_what_they_say(index: int) -> None:
    blocks = _python_blocks("## Extending the tracker")
    assert len(blocks) == 2
    code = blocks[index]
    promised = re.findall(r"print\(.*\)  # (.*)", code)
    assert promised, "each example says what it prints"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"concepts.md block {index}", "exec"), {})
    assert out.getvalue().splitlines() == promised


class SpyGallery(FeatureGallery):
    """The built-in gallery, logging every call the tracker makes."""

    def __init__(self) -> None:
        super().__init__(budget=10)
        self.calls: list[str] = []

    def add_tracks(self, features: Any, count: int) -> None:
        self.calls.append("add_tracks")
        super().add_tracks(features, count)

    def distance(self, rows: Any, features: Any, pairs: Any = None) -> Any:
        self.calls.append("distance")
        return super().distance(rows, features, pairs)


def test_user_appearance_instance_is_used_and_follows_the_rows() -> None:
    spy = SpyGallery()
    assert isinstance(spy, AppearanceModel)
    tracker = Tracker(n_init=1, appearance_model=spy)
    reference = Tracker(n_init=1)
    a, b = np.eye(2, dtype=np.float32)
    for step in range(20):
        dets = Detections.from_tlwh(
            [_box(100 + 10 * step), _box(400 - 10 * step)], features=np.stack([a, b])
        )
        got = [(t.track_id, t.detection_index) for t in tracker.update(dets)]
        assert got == [(t.track_id, t.detection_index) for t in reference.update(dets)]
    assert {"add_tracks", "distance"} <= set(spy.calls)
    assert len(spy) == len(tracker)


def test_appearance_instance_missing_methods_is_a_configuration_error() -> None:
    class Half:
        dim = None

        def distance(self, rows: Any, features: Any, pairs: Any = None) -> Any:
            return np.zeros((len(rows), len(features)))

    with pytest.raises(ConfigurationError, match="add_tracks"):
        Tracker(appearance_model=Half())  # type: ignore[arg-type]


def test_appearance_instance_is_cleared_when_handed_over() -> None:
    gallery = FeatureGallery(5)
    gallery.add_tracks(np.ones((3, 4), np.float32), 3)
    Tracker(appearance_model=gallery)
    assert len(gallery) == 0


class Constant:
    """A cost that says the same of every pair."""

    max_distance = 0.5

    def __init__(self, value: float) -> None:
        self.value = value
        self.contexts: list[CostContext] = []
        self.appearance: list[np.ndarray | None] = []

    def __call__(self, context: CostContext) -> np.ndarray:
        self.contexts.append(context)
        self.appearance.append(context.appearance)
        return np.full((len(context.track_ids), len(context.detection_tlwh)), self.value)


def _gap_run(cost: AssociationCost | None) -> list[int]:
    """A target seen 3 frames, missed 2, seen again: which ids does it get?"""
    tracker = Tracker(n_init=1, association_cost=cost)
    ids = []
    for step in range(8):
        if step in (3, 4):
            tracker.update(Detections.empty())
            continue
        ids += [t.track_id for t in tracker.update(Detections.from_tlwh([_box(100 + 2 * step)]))]
    return ids


def test_user_cost_decides_the_first_stage() -> None:
    # After two misses only the first stage can pick the track up again (the IoU stage takes
    # tracks missed for one frame): a cost that forbids everything starts a new id, a cost
    # that allows everything (inside the gate) keeps it, as the built-in IoU cost does.
    assert _gap_run(None) == [1] * 6
    assert _gap_run(Constant(0.0)) == [1] * 6
    assert _gap_run(Constant(1.0)) == [1, 1, 1, 2, 2, 2]


def test_cost_context_holds_the_candidates() -> None:
    cost = Constant(0.0)
    tracker = Tracker(n_init=1, association_cost=cost)
    feats = np.array([[3.0, 4.0], [0.0, 2.0]], np.float32)
    tracker.update(Detections.from_tlwh([_box(100), _box(400)], class_ids=[1, 2], features=feats))
    dets = Detections.from_tlwh(
        [_box(102), _box(402), _box(800)], scores=[0.9, 0.8, 0.7], features=np.eye(3, 2)
    )
    tracker.update(dets)
    ctx = cost.contexts[-1]
    assert ctx.track_ids.tolist() == [1, 2] and ctx.track_class_ids.tolist() == [1, 2]
    assert ctx.time_since_update.tolist() == [1, 1]
    np.testing.assert_allclose(ctx.detection_tlwh, dets.tlwh)
    np.testing.assert_allclose(ctx.detection_scores, [0.9, 0.8, 0.7])
    assert ctx.mahalanobis.shape == (2, 3) and ctx.mahalanobis[0, 0] < ctx.gating_threshold
    assert ctx.mahalanobis[0, 2] > ctx.gating_threshold
    assert ctx.detection_features is not None
    np.testing.assert_allclose(np.linalg.norm(ctx.detection_features, axis=1), [1, 1, 0])
    appearance = cost.appearance[-1]
    assert appearance is not None and appearance.shape == (2, 3)
    # Track 1 learnt (0.6, 0.8); detection 0 is (1, 0): cosine distance 0.4. Detection 2
    # is outside the gate and has no features: 1.0.
    np.testing.assert_allclose(appearance[0], [0.4, 1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(appearance[1, 1], 0.0, atol=1e-6)

    class Blind(Constant):  # never looks at the appearance during the call
        def __call__(self, context: CostContext) -> np.ndarray:
            self.contexts.append(context)
            return np.zeros((len(context.track_ids), len(context.detection_tlwh)))

    blind = Blind(0.0)
    tracker = Tracker(n_init=1, association_cost=blind)
    tracker.update(Detections.from_tlwh([_box(100)], features=feats[:1]))
    tracker.update(Detections.from_tlwh([_box(102)], features=feats[:1]))
    with pytest.raises(RuntimeError, match="during the call"):
        _ = blind.contexts[
            -1
        ].appearance  # the model has moved on since    assert not ctx.track_tlwh.flags.writeable


def test_bad_cost_output_is_an_error_and_changes_nothing() -> None:
    class WrongShape(Constant):
        def __call__(self, context: CostContext) -> np.ndarray:
            return np.zeros((1, 1))

    tracker = Tracker(n_init=1, association_cost=WrongShape(0.0))
    tracker.update(Detections.from_tlwh([_box(100), _box(400)]))
    before = state_of(tracker)
    with pytest.raises(ConfigurationError, match="shape"):
        tracker.update(Detections.from_tlwh([_box(104), _box(404)]))
    assert state_of(tracker) == before


def test_cost_without_max_distance_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="max_distance"):
        Tracker(association_cost=lambda ctx: np.zeros(0))  # type: ignore[arg-type]


def test_our_tracker_declares_the_optional_capabilities() -> None:
    tracker = Tracker(high_score_threshold=0.6)
    for protocol in (TrackerProtocol, PredictingTracker, CameraMotionTracker, ScoreAwareTracker):
        assert isinstance(tracker, protocol)
    assert tracker.min_appearance_score == 0.6
    assert Tracker().min_appearance_score is None


def test_a_track_needs_no_kalman_state() -> None:
    t = Track(7, np.array([1.0, 2, 3, 4]), np.array([1.0, 2, 3, 4]), 0, 0.9,
              TrackState.CONFIRMED, 1, 1, 0, 0)  # fmt: skip
    assert t.mean is None and t.covariance is None
    assert isinstance(t, TrackLike)

    class Minimal:  # what a custom tracker may report
        track_id = 1
        tlwh = detection_tlwh = np.zeros(4)
        class_id = 0
        confidence = 1.0
        time_since_update = 0
        detection_index = None

    assert isinstance(Minimal(), TrackLike)


def test_pipeline_reads_min_appearance_score_not_the_config() -> None:
    from deepsort_lib.pipeline import Pipeline

    class Plain:
        def update(self, detections: object) -> list[Track]:
            return []

    class Thresholded(Plain):
        min_appearance_score = 0.7

    assert Pipeline(None, Tracker(high_score_threshold=0.6)).encode_min_score == 0.6
    assert Pipeline(None, Thresholded()).encode_min_score == 0.7
    assert Pipeline(None, Plain()).encode_min_score is None


def test_sized_encoder_protocol() -> None:
    class Enc:
        feature_dim = 8

        def encode(self, frame: np.ndarray, tlwh: np.ndarray) -> np.ndarray:
            return np.zeros((len(tlwh), 8), np.float32)

    class Unsized:
        def encode(self, frame: np.ndarray, tlwh: np.ndarray) -> np.ndarray:
            return np.zeros((len(tlwh), 8), np.float32)

    assert isinstance(Enc(), SizedEncoder)
    assert not isinstance(Unsized(), SizedEncoder)
