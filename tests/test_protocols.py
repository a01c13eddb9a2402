import numpy as np

from deepsort_lib import Detections, Detector, Encoder, Tracker, TrackerProtocol


class MyDetector:  # a plain class: no subclassing
    def detect(self, frame: np.ndarray) -> Detections:
        return Detections.from_tlwh([[1, 2, 3, 4]])


class MyEncoder:
    def encode(self, frame: np.ndarray, tlwh: np.ndarray) -> np.ndarray:
        return np.ones((len(tlwh), 8), dtype=np.float32)


class MyTracker:
    def update(self, detections: object) -> list:
        return []


def test_user_classes_satisfy_protocols() -> None:
    assert isinstance(MyDetector(), Detector)
    assert isinstance(MyEncoder(), Encoder)
    assert isinstance(MyTracker(), TrackerProtocol)
    assert isinstance(Tracker(), TrackerProtocol)
    assert not isinstance(object(), Detector)


def test_user_detector_and_encoder_feed_the_tracker() -> None:
    frame = np.zeros((50, 50, 3), np.uint8)
    tracker = Tracker(n_init=1)
    dets = MyDetector().detect(frame)
    dets = dets.with_features(MyEncoder().encode(frame, dets.tlwh))
    out = tracker.update(dets)
    assert [t.track_id for t in out] == [1]
