"""deepsort_lib: Deep SORT multi-object tracking, fast and pluggable.

>>> from deepsort_lib import Tracker, Detections
>>> tracker = Tracker()
>>> tracks = tracker.update(Detections.from_tlwh([[10, 20, 30, 60]], scores=[0.9]))
"""

from typing import TYPE_CHECKING

# Only the error types load eagerly (no numpy): everything else is imported on first use, so
# `import deepsort_lib` is fast and a Ctrl-C during start-up reaches the CLI's handler.
from deepsort_lib.errors import (
    ConcurrentUseError,
    ConfigurationError,
    DeepSortError,
    InvalidInputError,
    ModelError,
    SourceError,
)

if TYPE_CHECKING:  # the real imports, for type checkers; at run time see __getattr__ below
    from deepsort_lib.boxes import Detection, Detections
    from deepsort_lib.evaluation import evaluate
    from deepsort_lib.io.recorder import TrackRecorder
    from deepsort_lib.models.camera_motion import CameraMotionEstimator
    from deepsort_lib.models.classic import ClassicEncoder
    from deepsort_lib.models.hog import HOGDetector
    from deepsort_lib.models.reid import OnnxEncoder
    from deepsort_lib.models.yolo import YOLOv3Detector
    from deepsort_lib.pipeline import Pipeline
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
    from deepsort_lib.streams import MultiSourceRunner, MultiStreamTracker
    from deepsort_lib.tracking.appearance import AppearanceModel, EmaAppearance, FeatureGallery
    from deepsort_lib.tracking.cost import AssociationCost, CostContext
    from deepsort_lib.tracking.track import Track, TrackState
    from deepsort_lib.tracking.tracker import PRESETS, Tracker, TrackerConfig


def _package_version() -> str:
    # One source of truth: the version in pyproject.toml, as installed package metadata.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deepsort_lib")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


__version__ = _package_version()

# Public name -> (module, attribute there).
_LAZY = {
    "Detection": ("deepsort_lib.boxes", "Detection"),
    "Detections": ("deepsort_lib.boxes", "Detections"),
    "Track": ("deepsort_lib.tracking.track", "Track"),
    "TrackState": ("deepsort_lib.tracking.track", "TrackState"),
    "Tracker": ("deepsort_lib.tracking.tracker", "Tracker"),
    "TrackerConfig": ("deepsort_lib.tracking.tracker", "TrackerConfig"),
    "PRESETS": ("deepsort_lib.tracking.tracker", "PRESETS"),
    "AppearanceModel": ("deepsort_lib.tracking.appearance", "AppearanceModel"),
    "EmaAppearance": ("deepsort_lib.tracking.appearance", "EmaAppearance"),
    "FeatureGallery": ("deepsort_lib.tracking.appearance", "FeatureGallery"),
    "AssociationCost": ("deepsort_lib.tracking.cost", "AssociationCost"),
    "CostContext": ("deepsort_lib.tracking.cost", "CostContext"),
    "CameraMotionTracker": ("deepsort_lib.protocols", "CameraMotionTracker"),
    "Detector": ("deepsort_lib.protocols", "Detector"),
    "Encoder": ("deepsort_lib.protocols", "Encoder"),
    "PredictingTracker": ("deepsort_lib.protocols", "PredictingTracker"),
    "ScoreAwareTracker": ("deepsort_lib.protocols", "ScoreAwareTracker"),
    "SizedEncoder": ("deepsort_lib.protocols", "SizedEncoder"),
    "TrackLike": ("deepsort_lib.protocols", "TrackLike"),
    "TrackerProtocol": ("deepsort_lib.protocols", "Tracker"),
    "MultiStreamTracker": ("deepsort_lib.streams", "MultiStreamTracker"),
    "MultiSourceRunner": ("deepsort_lib.streams", "MultiSourceRunner"),
    "TrackRecorder": ("deepsort_lib.io.recorder", "TrackRecorder"),
    "Pipeline": ("deepsort_lib.pipeline", "Pipeline"),
    "YOLOv3Detector": ("deepsort_lib.models.yolo", "YOLOv3Detector"),
    "HOGDetector": ("deepsort_lib.models.hog", "HOGDetector"),
    "OnnxEncoder": ("deepsort_lib.models.reid", "OnnxEncoder"),
    "ClassicEncoder": ("deepsort_lib.models.classic", "ClassicEncoder"),
    "CameraMotionEstimator": ("deepsort_lib.models.camera_motion", "CameraMotionEstimator"),
    "evaluate": ("deepsort_lib.evaluation", "evaluate"),
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    raise AttributeError(f"module 'deepsort_lib' has no attribute {name!r}")


__all__ = [  # noqa: RUF022 - grouped: lazy model/pipeline names, then the core ones
    "MultiSourceRunner",
    "MultiStreamTracker",
    "TrackRecorder",
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
