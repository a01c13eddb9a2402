"""deepsort_lib: Deep SORT multi-object tracking, fast and pluggable.

>>> from deepsort_lib import Tracker, Detections
>>> tracker = Tracker()
>>> tracks = tracker.update(Detections.from_tlwh([[10, 20, 30, 60]], scores=[0.9]))
"""

from typing import TYPE_CHECKING

from deepsort_lib.boxes import Detection, Detections
from deepsort_lib.errors import (
    ConcurrentUseError,
    ConfigurationError,
    DeepSortError,
    InvalidInputError,
    ModelError,
    SourceError,
)
from deepsort_lib.protocols import (
    CameraMotionTracker,
    Detector,
    Encoder,
    PredictingTracker,
    ScoreAwareTracker,
    SizedEncoder,
    TrackLike,
)
from deepsort_lib.protocols import Tracker as TrackerProtocol
from deepsort_lib.tracking.appearance import AppearanceModel, EmaAppearance, FeatureGallery
from deepsort_lib.tracking.cost import AssociationCost, CostContext
from deepsort_lib.tracking.track import Track, TrackState
from deepsort_lib.tracking.tracker import PRESETS, Tracker, TrackerConfig

if TYPE_CHECKING:  # the real imports, for type checkers; at run time see __getattr__ below
    from deepsort_lib.evaluation import evaluate
    from deepsort_lib.models.camera_motion import CameraMotionEstimator
    from deepsort_lib.models.classic import ClassicEncoder
    from deepsort_lib.models.hog import HOGDetector
    from deepsort_lib.models.reid import OnnxEncoder
    from deepsort_lib.models.yolo import YOLOv3Detector
    from deepsort_lib.pipeline import Pipeline

def _package_version() -> str:
    # One source of truth: the version in pyproject.toml, as installed package metadata.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deepsort_lib")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


__version__ = _package_version()

# Heavier parts (OpenCV, onnxruntime) load on first use, so `import deepsort_lib` stays light
# for users who only need the tracker.
_LAZY = {
    "Pipeline": "deepsort_lib.pipeline",
    "YOLOv3Detector": "deepsort_lib.models.yolo",
    "HOGDetector": "deepsort_lib.models.hog",
    "OnnxEncoder": "deepsort_lib.models.reid",
    "ClassicEncoder": "deepsort_lib.models.classic",
    "CameraMotionEstimator": "deepsort_lib.models.camera_motion",
    "evaluate": "deepsort_lib.evaluation",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'deepsort_lib' has no attribute {name!r}")


__all__ = [  # noqa: RUF022 - grouped: eager names, then the lazy ones
    "CameraMotionEstimator",
    "ClassicEncoder",
    "HOGDetector",
    "OnnxEncoder",
    "Pipeline",
    "YOLOv3Detector",
    "evaluate",
    "PRESETS",
    "AppearanceModel",
    "AssociationCost",
    "CameraMotionTracker",
    "ConcurrentUseError",
    "ConfigurationError",
    "CostContext",
    "DeepSortError",
    "Detection",
    "Detections",
    "Detector",
    "EmaAppearance",
    "Encoder",
    "FeatureGallery",
    "InvalidInputError",
    "ModelError",
    "PredictingTracker",
    "ScoreAwareTracker",
    "SizedEncoder",
    "SourceError",
    "Track",
    "TrackLike",
    "TrackState",
    "Tracker",
    "TrackerConfig",
    "TrackerProtocol",
    "__version__",
]
