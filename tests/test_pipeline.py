"""Pipeline composition, detect_every, detection cache and sinks (with a stand-in tracker)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from fakes import RecordingTracker

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError
from deepsort_lib.io.detection_cache import DetectionCache
from deepsort_lib.io.mot import read_mot
from deepsort_lib.io.sinks import MotSink, TrackLogSink, VideoSink
from deepsort_lib.pipeline import FrameResult, Pipeline, StageTimings


def synthetic_frames(n: int, size: tuple[int, int] = (160, 120)) -> list[tuple[int, np.ndarray]]:
    """A bright square moving right by 4 px a frame on a dark background."""
    frames = []
    for i in range(1, n + 1):
        frame = np.full((size[1], size[0], 3), 20, np.uint8)
        x = 10 + 4 * (i - 1)
        frame[30:70, x : x + 20] = 230
        frames.append((i, frame))
    return frames


class SquareDetector:
    """Finds the bright square; adds a faint low-score box and a class-1 box."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, frame: np.ndarray) -> Detections:
        self.calls += 1
        ys, xs = np.nonzero(frame[:, :, 0] > 128)
        box = [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        return Detections.from_tlwh(
            [box, [1, 1, 5, 5], [100, 80, 10, 10]], [0.9, 0.1, 0.8], [0, 0, 1]
        )


class MeanColourEncoder:
    """Mean BGR of each crop, L2-normalised; records the boxes it saw."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def encode(self, frame: np.ndarray, tlwh: np.ndarray) -> np.ndarray:
        self.seen.append(np.array(tlwh))
        rows = []
        for x, y, w, h in tlwh.astype(int):
            rows.append(frame[y : y + h, x : x + w].reshape(-1, 3).mean(axis=0) + 1.0)
        feats = np.array(rows, np.float32).reshape(-1, 3)
        return feats / np.linalg.norm(feats, axis=1, keepdims=True)


def test_run_yields_results_with_features_and_timings() -> None:
    encoder = MeanColourEncoder()
    tracker = RecordingTracker()
    pipe = Pipeline(SquareDetector(), tracker, encoder, min_score=0.5, classes=[0])
    results = list(pipe.run(synthetic_frames(6)))
    assert [r.frame_index for r in results] == [1, 2, 3, 4, 5, 6]
    for r in results:
        assert isinstance(r, FrameResult) and r.detected
        assert len(r.detections) == 1  # low score and class 1 filtered before encoding
        assert r.detections.features is not None and r.detections.features.shape == (1, 3)
        assert all(v >= 0 for v in r.timings.as_dict().values())
        assert r.timings.detect > 0 and r.timings.encode > 0 and r.timings.track > 0
    assert all(len(seen) == 1 for seen in encoder.seen)
    # the stand-in tracker kept one id for the moving square
    assert {t.track_id for r in results for t in r.tracks} == {1}
    np.testing.assert_allclose(results[-1].tracks[0].tlwh, [30, 30, 20, 40])


def test_detect_every_predicts_in_between() -> None:
    detector, tracker = SquareDetector(), RecordingTracker()
    pipe = Pipeline(detector, tracker, detect_every=3)
    results = list(pipe.run(synthetic_frames(7)))
    assert tracker.calls == ["update", "predict", "predict"] * 2 + ["update"]
    assert detector.calls == 3
    assert [r.detected for r in results] == [True, False, False] * 2 + [True]
    assert len(results[1].detections) == 0 and len(results[1].tracks) == 3


def test_bad_components_and_parameters() -> None:
    class NoPredict:
        def update(self, detections: Detections) -> list:
            return []

    with pytest.raises(ConfigurationError, match="predict"):
        Pipeline(SquareDetector(), NoPredict(), detect_every=2)
    with pytest.raises(ConfigurationError, match="detect"):
        Pipeline(object(), NoPredict())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="encode"):
        Pipeline(SquareDetector(), NoPredict(), object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="update"):
        Pipeline(SquareDetector(), object())  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="detect_every"):
        Pipeline(SquareDetector(), NoPredict(), detect_every=0)
    pipe = Pipeline(SquareDetector(), NoPredict())
    with pytest.raises(ConfigurationError, match="max_frames"):
        pipe.run(synthetic_frames(2), max_frames=0)
    with pytest.raises(ConfigurationError, match="source"):
        pipe.run()
    with pytest.raises(ConfigurationError, match="no detector"):
        list(Pipeline(None, NoPredict()).run(synthetic_frames(2)))


def test_cache_then_track_gives_the_same_tracks(tmp_path: Path) -> None:
    frames = synthetic_frames(8)
    live_tracker = RecordingTracker()
    live = list(Pipeline(SquareDetector(), live_tracker, MeanColourEncoder()).run(frames))

    cache = Pipeline(SquareDetector(), RecordingTracker(), MeanColourEncoder()).build_cache(frames)
    assert cache.feature_dim == 3 and len(cache) == 8
    det, npy = cache.save(tmp_path / "seq.det.txt", tmp_path / "seq.npy")
    loaded = DetectionCache.load(det, npy)

    detector = SquareDetector()
    cached_tracker = RecordingTracker()
    encoder = MeanColourEncoder()
    replay = list(Pipeline(detector, cached_tracker, encoder).run(None, cache=loaded))
    assert detector.calls == 0 and encoder.seen == []  # features came from the cache
    assert all(r.frame is None for r in replay)
    assert [[t.track_id for t in r.tracks] for r in replay] == [
        [t.track_id for t in r.tracks] for r in live
    ]
    for a, b in zip(live_tracker.seen, cached_tracker.seen, strict=True):
        np.testing.assert_allclose(a.tlwh, b.tlwh, atol=0.01)
        np.testing.assert_allclose(a.features, b.features, rtol=1e-6)


def test_public_detections_of_a_mot_sequence(tmp_path: Path) -> None:
    seq = tmp_path / "SEQ"
    (seq / "img1").mkdir(parents=True)
    for i, frame in synthetic_frames(3):
        cv2.imwrite(str(seq / "img1" / f"{i:06d}.jpg"), frame)
    (seq / "det").mkdir()
    (seq / "det" / "det.txt").write_text(
        "1,-1,10,30,20,40,0.9,-1,-1,-1\n2,-1,14,30,20,40,0.9,-1,-1,-1\n3,-1,18,30,20,40,0.9,-1,-1,-1\n"
    )
    encoder = MeanColourEncoder()
    results = list(Pipeline(None, RecordingTracker(), encoder).run(str(seq)))
    assert [len(r.detections) for r in results] == [1, 1, 1]
    assert len(encoder.seen) == 3  # features computed on the sequence's frames
    assert {t.track_id for r in results for t in r.tracks} == {1}


def _sinks(out: Path) -> list:
    return [
        VideoSink(out / "v.mp4", 10.0, class_names=["square"], show_fps=True),
        MotSink(out / "r.txt"),
        TrackLogSink(out / "t.jsonl"),
        TrackLogSink(out / "t.csv", class_names=["square"]),
    ]


def test_sinks_written_on_completion(tmp_path: Path) -> None:
    pipe = Pipeline(SquareDetector(), RecordingTracker(), classes=[0], min_score=0.5)
    summary = pipe.process(synthetic_frames(5), sinks=_sinks(tmp_path), max_frames=4)
    assert summary.frames == 4 and summary.track_ids == {1}
    assert isinstance(summary.timings, StageTimings) and summary.timings.write > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.txt", "t.csv", "t.jsonl", "v.mp4"]
    mot = read_mot(tmp_path / "r.txt")
    assert mot.frames.tolist() == [1, 2, 3, 4] and set(mot.ids.tolist()) == {1}
    assert len((tmp_path / "t.jsonl").read_text().splitlines()) == 4
    csv_lines = (tmp_path / "t.csv").read_text().splitlines()
    assert csv_lines[0].startswith("frame,track_id") and csv_lines[1].split(",")[7] == "square"
    capture = cv2.VideoCapture(str(tmp_path / "v.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 4


class FailingDetector(SquareDetector):
    def detect(self, frame: np.ndarray) -> Detections:
        if self.calls == 3:
            raise RuntimeError("camera unplugged")
        return super().detect(frame)


def test_exception_mid_stream_leaves_no_output(tmp_path: Path) -> None:
    pipe = Pipeline(FailingDetector(), RecordingTracker())
    with pytest.raises(RuntimeError, match="unplugged"):
        pipe.process(synthetic_frames(6), sinks=_sinks(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_consumer_error_or_early_stop_leaves_no_output(tmp_path: Path) -> None:
    pipe = Pipeline(SquareDetector(), RecordingTracker())
    with pytest.raises(KeyboardInterrupt):
        for result in pipe.run(synthetic_frames(6), sinks=_sinks(tmp_path)):
            if result.frame_index == 2:
                raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    run = pipe.run(synthetic_frames(6), sinks=_sinks(tmp_path))
    next(run)
    run.close()  # the caller stopped early: outputs would be incomplete
    assert list(tmp_path.iterdir()) == []


def test_camera_motion_is_estimated_and_passed_to_the_tracker() -> None:
    class Shift:
        def __init__(self) -> None:
            self.frames = 0

        def estimate(self, frame: np.ndarray, tlwh: np.ndarray | None = None) -> np.ndarray:
            self.frames += 1
            return np.array([[1.0, 0.0, 4.0], [0.0, 1.0, 0.0]])

    class MotionTracker(RecordingTracker):
        def __init__(self) -> None:
            super().__init__()
            self.motions: list[np.ndarray] = []

        def update(self, detections: Detections, camera_motion: np.ndarray | None = None) -> list:
            assert camera_motion is not None
            self.motions.append(camera_motion)
            return super().update(detections)

    motion, tracker = Shift(), MotionTracker()
    list(Pipeline(SquareDetector(), tracker, camera_motion=motion).run(synthetic_frames(4)))
    assert motion.frames == 4 and len(tracker.motions) == 4
    np.testing.assert_allclose(tracker.motions[0][:, 2], [4, 0])
    with pytest.raises(ConfigurationError, match="estimate"):
        Pipeline(SquareDetector(), tracker, camera_motion=object())  # type: ignore[arg-type]


def test_csv_log_quotes_awkward_class_names(tmp_path: Path) -> None:
    import csv

    sink = TrackLogSink(tmp_path / "t.csv", class_names=['cone, "orange"'])
    pipe = Pipeline(SquareDetector(), RecordingTracker(), classes=[0], min_score=0.5)
    pipe.process(synthetic_frames(2), sinks=[sink])
    with open(tmp_path / "t.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and rows[0]["class_name"] == 'cone, "orange"'
    assert rows[1]["frame"] == "2" and float(rows[1]["x"]) == 14.0


def test_low_score_boxes_are_not_encoded_when_the_tracker_ignores_their_appearance() -> None:
    from deepsort_lib import Tracker

    # The ByteTrack round matches boxes below high_score_threshold on IoU only.
    encoder = MeanColourEncoder()
    tracker = Tracker(high_score_threshold=0.5, low_score_threshold=0.05, n_init=1)
    results = list(Pipeline(SquareDetector(), tracker, encoder).run(synthetic_frames(4)))
    assert all(len(seen) == 2 for seen in encoder.seen)  # the 0.1 box was skipped
    for r in results:
        assert r.detections.features is not None and len(r.detections) == 3
        np.testing.assert_array_equal(r.detections.features[1], 0.0)  # "no appearance"
    # Explicit None encodes everything; a plain tracker without the option does too.
    everything = MeanColourEncoder()
    list(
        Pipeline(SquareDetector(), tracker, everything, encode_min_score=None).run(
            synthetic_frames(2)
        )
    )
    assert all(len(seen) == 3 for seen in everything.seen)
    plain = MeanColourEncoder()
    list(Pipeline(SquareDetector(), RecordingTracker(), plain).run(synthetic_frames(2)))
    assert all(len(seen) == 3 for seen in plain.seen)
    with pytest.raises(ConfigurationError):
        Pipeline(SquareDetector(), tracker, plain, encode_min_score="high")
