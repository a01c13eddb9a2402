"""deepsort_lib: Deep SORT multi-object tracking, fast and pluggable.

>>> from deepsort_lib import Tracker, Detections
>>> tracker = Tracker()
>>> tracks = tracker.update(Detections.from_tlwh([[10, 20, 30, 60]], scores=[0.9]))
"""

from deepsort_lib.boxes import Detection, Detections
from deepsort_lib.errors import (
    ConfigurationError,
    DeepSortError,
    InvalidInputError,
    ModelError,
    SourceError,
)
from deepsort_lib.protocols import Detector, Encoder
from deepsort_lib.protocols import Tracker as TrackerProtocol
from deepsort_lib.tracking.track import Track, TrackState
from deepsort_lib.tracking.tracker import PRESETS, Tracker, TrackerConfig

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "ConfigurationError",
    "DeepSortError",
    "Detection",
    "Detections",
    "Detector",
    "Encoder",
    "InvalidInputError",
    "ModelError",
    "SourceError",
    "Track",
    "TrackState",
    "Tracker",
    "TrackerConfig",
    "TrackerProtocol",
    "__version__",
]
