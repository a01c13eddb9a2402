"""Cross-stream batching: one detector call and one encoder call per batch, same results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from deepsort_lib import Detections, Tracker
from deepsort_lib.errors import InvalidInputError, ModelError
from deepsort_lib.models.classic import ClassicEncoder
from deepsort_lib.pipeline import Pipeline, encode_detections
from deepsort_lib.streams.batching import CrossStreamEncoder, detect_frames
from deepsort_lib.streams.pipeline import MultiStreamPipeline
from deepsort_lib.streams.tracker import MultiStreamTracker

VTEST = Path(__file__).resolve().parents[1] / "data" / "vtest.avi"


def _frames(count: int, start: int = 0, step: int = 1) -> list[np.ndarray[Any, Any]]:
    capture = cv2.VideoCapture(str(VTEST))
    out = []
    index = 0
    while len(out) < count:
        ok, frame = capture.read()
        assert ok
        if index >= start and (index - start) % step == 0:
            out.append(frame)
        index += 1
    capture.release()
    return out


def _boxes(seed: int, n: int) -> Detections:
    """Person-like boxes, a few partly or wholly outside the 768x576 frame."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-40, 740, (n, 2))
    wh = np.column_stack([rng.uniform(20, 80, n), rng.uniform(50, 200, n)])
    if n:
        xy[0] = (2000.0, 2000.0)  # empty crop: a zero feature row
    return Detections.from_tlwh(np.column_stack([xy, wh]), rng.uniform(0.1, 1.0, n))


def _per_frame(
    encoder: Any, frames: Sequence[Any], dets: Sequence[Detections], t: Any
) -> list[Any]:
    return [
        encode_detections(encoder, f, d, min_score=t).features
        for f, d in zip(frames, dets, strict=True)
    ]


@pytest.fixture(scope="module")
def mars(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from deepsort_lib.models.mars import write_mars_small128
    from deepsort_lib.models.reid import OnnxEncoder

    path = write_mars_small128(tmp_path_factory.mktemp("mars") / "mars.onnx")
    # A small batch size so the concatenated crops are split across several runs.
    return OnnxEncoder.from_preset("mars-small128", path, batch_size=5, providers="cpu")


@pytest.mark.parametrize("min_score", [None, 0.5])
def test_classic_features_equal_per_frame_encode(min_score: float | None) -> None:
    encoder = ClassicEncoder()
    frames = _frames(4, step=20)
    dets = [_boxes(i, n) for i, n in enumerate([7, 0, 12, 3])]
    cross = CrossStreamEncoder(encoder, max_crops=4)
    assert cross.batched
    got = cross.encode(frames, dets, min_score=min_score)
    want = _per_frame(encoder, frames, dets, min_score)
    for g, w, d in zip(got, want, dets, strict=True):
        assert g.features is not None and g.features.shape == w.shape
        np.testing.assert_allclose(g.features, w, atol=1e-6)
        assert np.array_equal(g.tlwh, d.tlwh)
    assert not np.any(got[0].features[0])  # the box outside the frame


def test_onnx_features_equal_per_frame_encode(mars: Any) -> None:
    frames = _frames(3, step=30)
    dets = [_boxes(10 + i, n) for i, n in enumerate([9, 4, 11])]
    cross = CrossStreamEncoder(mars)
    assert cross.batched and cross.crop_size is not None
    calls: list[int] = []
    inner = mars.encode_crops

    def counting(crops: Any) -> Any:
        calls.append(len(crops))
        return inner(crops)

    mars.encode_crops = counting
    try:
        got = cross.encode(frames, dets, min_score=[None, 0.5, 0.3])
    finally:
        del mars.encode_crops
    assert len(calls) == 1  # one call for the crops of every frame
    want = [
        encode_detections(mars, f, d, min_score=t).features
        for f, d, t in zip(frames, dets, [None, 0.5, 0.3], strict=True)
    ]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g.features, w, atol=1e-5)
        assert np.any(g.features)


class _NoCrops:
    """An encoder with only encode(): the per-frame path."""

    feature_dim = 3

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, frame: Any, tlwh: Any) -> Any:
        self.calls += 1
        boxes = np.asarray(tlwh, np.float64).reshape(-1, 4)
        return np.column_stack([boxes[:, :2] / 1000.0, np.ones(len(boxes))]).astype(np.float32)


class _OwnCropping(ClassicEncoder):
    """Has encode_crops and crop_size, but its encode() crops differently (mirrored)."""

    def encode(self, frame: Any, tlwh: Any, mask: Any = None) -> Any:
        return super().encode(np.ascontiguousarray(frame[:, ::-1]), tlwh, mask)


def test_encoders_without_a_matching_crop_path_run_per_frame() -> None:
    frames = _frames(2, step=10)
    dets = [_boxes(3, 5), _boxes(4, 6)]
    plain = _NoCrops()
    cross = CrossStreamEncoder(plain)
    assert not cross.batched
    got = cross.encode(frames, dets)
    assert plain.calls == 2 + 0  # no probe call: nothing to verify
    np.testing.assert_array_equal(got[1].features, _per_frame(_NoCrops(), frames, dets, None)[1])
    own = _OwnCropping()
    cross = CrossStreamEncoder(own)
    assert not cross.batched  # the probe caught that crops cut here differ
    for g, w in zip(cross.encode(frames, dets), _per_frame(own, frames, dets, None), strict=True):
        np.testing.assert_array_equal(g.features, w)


def test_encode_checks_its_arguments() -> None:
    cross = CrossStreamEncoder(ClassicEncoder())
    with pytest.raises(InvalidInputError, match="2 frames but 1"):
        cross.encode(_frames(2), [_boxes(0, 2)])
    with pytest.raises(InvalidInputError, match="frame"):
        cross.encode([np.zeros((4, 4), np.uint8)], [_boxes(0, 2)])
    empty = cross.encode([], [])
    assert empty == []
    none = cross.encode(_frames(1), [Detections.empty()])
    assert none[0].features is not None and none[0].features.shape == (
        0,
        ClassicEncoder().feature_dim,
    )


class _Batched:
    def __init__(self, answer: int | None = None) -> None:
        self.calls: list[int] = []
        self.answer = answer

    def detect(self, frame: Any) -> Detections:  # pragma: no cover - must not be used
        raise AssertionError("detect_batch should be used")

    def detect_batch(self, frames: Sequence[Any]) -> list[Detections]:
        self.calls.append(len(frames))
        n = len(frames) if self.answer is None else self.answer
        return [Detections.from_tlwh([[float(i), 0, 5, 5]]) for i in range(n)]


def test_detect_frames_batches_when_it_can() -> None:
    frames = _frames(5)
    det = _Batched()
    out = detect_frames(det, frames, max_batch=2)
    assert det.calls == [2, 2, 1] and [d.tlwh[0, 0] for d in out] == [0, 1, 0, 1, 0]
    assert detect_frames(det, []) == []
    with pytest.raises(ModelError, match="3 results for 5"):
        detect_frames(_Batched(answer=3), frames)

    class Raw:
        def detect(self, frame: Any) -> Any:
            return np.zeros((1, 4))

    with pytest.raises(InvalidInputError, match=r"Detections\.from_xyxy"):
        detect_frames(Raw(), frames[:1])


class _SceneDetector:
    """Gives each frame (looked up by identity) its detections from a seeded scene."""

    def __init__(self, table: dict[int, Detections]) -> None:
        self.table = table

    def detect(self, frame: Any) -> Detections:
        return self.table[id(frame)].with_features(None)


@pytest.mark.slow
def test_multistream_pipeline_equals_separate_pipelines() -> None:
    from streams_scenes import walking_scene

    n = 30
    starts = {"a": 0, "b": 40, "c": 90}
    frames = {sid: _frames(n, start=s) for sid, s in starts.items()}
    table = {
        id(frame): dets
        for i, sid in enumerate(starts)
        for frame, dets in zip(frames[sid], walking_scene(seed=50 + i, n_frames=n), strict=True)
    }
    multi = MultiStreamPipeline(
        _SceneDetector(table), ClassicEncoder(), MultiStreamTracker(), min_score=0.3
    )
    got: dict[str, list[Any]] = {sid: [] for sid in starts}
    for f in range(n):
        results = multi.step([(sid, f + 1, frames[sid][f]) for sid in starts])
        assert list(results) == list(starts)
        for sid, r in results.items():
            assert r.frame_index == f + 1 and r.frame is frames[sid][f]
            got[sid].append([(t.track_id, tuple(t.tlwh)) for t in r.tracks])
    total = 0
    for sid in starts:
        single = Pipeline(
            _SceneDetector(table), Tracker(), ClassicEncoder(), prefetch=0, min_score=0.3
        )
        want = [
            [(t.track_id, tuple(t.tlwh)) for t in r.tracks]
            for r in single.run(enumerate(frames[sid], start=1))
        ]
        assert got[sid] == want, sid
        total += sum(len(x) for x in want)
    assert total > 50
