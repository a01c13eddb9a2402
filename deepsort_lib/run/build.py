"""What a tracking run is built from its options: detector, encoder, tracker, camera motion,
counters and the :class:`~deepsort_lib.pipeline.Pipeline` around them.

``deepsort track`` and the distributed workers (:mod:`deepsort_lib.distributed.worker`,
:mod:`deepsort_lib.distributed.models`) both build through these functions, so that a run
gives the same rows wherever it runs. Each builder checks the option values it uses and
raises a :class:`~deepsort_lib.errors.DeepSortError` naming the option before anything is
written.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from deepsort_lib.errors import ConfigurationError, ModelError
from deepsort_lib.run.options import NN_BUDGET_MAX, TRACKER_OPTIONS

if TYPE_CHECKING:
    from deepsort_lib.counting import Counters
    from deepsort_lib.io.video import FrameSource

#: The detector choice of a source whose detections come with it (a MOTChallenge ``det.txt``).
PUBLIC = "public"

#: Model choices that name no file.
BUILTIN_MODELS: tuple[str, ...] = ("hog", "classic", "none", PUBLIC)


def tag(text: str) -> str:
    """A file-name-safe short name of a model choice or source."""
    stem = Path(text).stem if text not in BUILTIN_MODELS else text
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)


def _tracker_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    kwargs = {key: getattr(args, key) for _f, key, *_ in TRACKER_OPTIONS}
    kwargs["gating_only_position"] = args.gating_only_position
    kwargs = {k: v for k, v in kwargs.items() if v is not None}
    for flag, key, kind, *_ in TRACKER_OPTIONS:
        value = kwargs.get(key)
        if kind is float and value is not None and not math.isfinite(value):
            raise ConfigurationError(f"{flag} must be a finite number, got {value}")
    budget = kwargs.get("nn_budget")
    if budget is not None and not 0 <= budget <= NN_BUDGET_MAX:
        raise ConfigurationError(
            f"--nn-budget must be between 0 (keep all) and {NN_BUDGET_MAX}, got {budget}"
        )
    if budget == 0:
        kwargs["nn_budget"] = None
    return kwargs


def _model_path(text: str, role: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise ModelError(f"{role} model not found: {path}")
    if path.suffix.lower() != ".onnx":
        raise ModelError(
            f"{role} model must be an .onnx file, got {path.name} "
            "(convert it with deepsort-convert)"
        )
    return path


def _parse_classes(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [c.strip() for c in text.split(",") if c.strip()]
    if not names:
        raise ConfigurationError("--classes needs at least one class name or id")
    return names


def _class_ids(names: list[str], known: tuple[str, ...] | list[str]) -> list[int]:
    ids = []
    for name in names:
        if name.isdigit():
            if known and int(name) >= len(known):
                raise ConfigurationError(
                    f"unknown class id {name}; this detector knows {dict(enumerate(known))}"
                )
            ids.append(int(name))
        elif name in known:
            ids.append(list(known).index(name))
        else:
            raise ConfigurationError(f"unknown class {name!r}; this detector knows {list(known)}")
    return ids


def detector_choice(args: argparse.Namespace, source: FrameSource) -> str:
    """What the run detects ``source`` with: :data:`PUBLIC`, ``"hog"`` or a model path."""
    from deepsort_lib.io.video import MotSequenceSource

    if args.detector is not None:
        return str(args.detector)
    public = isinstance(source, MotSequenceSource) and source.detections is not None
    return PUBLIC if public else "hog"


def _check_scores_and_providers(args: argparse.Namespace, choice: str) -> None:
    if not math.isfinite(args.min_score):
        raise ConfigurationError(f"--min-score must be a finite number, got {args.min_score}")
    if choice != PUBLIC and not 0.0 <= args.min_score <= 1.0:
        raise ConfigurationError(
            f"--min-score must be in [0, 1] for the {tag(choice)} detector's scores, "
            f"got {args.min_score} (it would drop every detection)"
        )
    if args.providers != "auto":
        from deepsort_lib.models.runtime import resolve_providers

        resolve_providers([p.strip() for p in args.providers.split(",") if p.strip()])


def build_detector(
    args: argparse.Namespace, source: FrameSource
) -> tuple[Any, list[int] | None, tuple[str, ...] | None]:
    """The detector named by ``--detector``, the class ids to keep, and the class names."""
    from deepsort_lib.io.video import MotSequenceSource

    classes = _parse_classes(args.classes)
    choice = detector_choice(args, source)
    _check_scores_and_providers(args, choice)
    if choice == PUBLIC:
        if not isinstance(source, MotSequenceSource) or source.detections is None:
            raise ConfigurationError(
                "--detector public needs a MOTChallenge sequence with det/det.txt"
            )
        return None, (None if classes is None else _class_ids(classes, ())), None
    if choice == "hog":
        from deepsort_lib.models.hog import HOGDetector

        detector = HOGDetector()
        keep = None if classes is None else _class_ids(classes, HOGDetector.class_names)
        return detector, keep, HOGDetector.class_names
    path = _model_path(choice, "detector")
    from deepsort_lib.models.detectors import open_onnx_detector

    wanted = None if classes is None else [int(c) if c.isdigit() else c for c in classes]
    yolo: Any = open_onnx_detector(path, classes=wanted, providers=args.providers)
    names = getattr(yolo, "class_names", None) or getattr(yolo, "names", None)
    return yolo, None, (tuple(names) if names is not None else None)


def _probe_encoder(encoder: Any, path: Path) -> None:
    """Encode one crop now, so that a model that is not a re-ID model fails before any output."""
    import numpy as np

    frame = np.zeros((64, 64, 3), np.uint8)
    try:
        features = np.asarray(encoder.encode(frame, np.array([[8.0, 4.0, 32.0, 56.0]])))
    except ModelError:
        raise
    except (ValueError, RuntimeError, TypeError, IndexError) as exc:
        raise ModelError(
            f"{path} does not work as a re-ID encoder (is it a detector?): "
            f"{' '.join(str(exc).split())}"
        ) from exc
    if features.ndim != 2 or features.shape[0] != 1:
        raise ModelError(
            f"{path} does not work as a re-ID encoder: one crop gave features of shape "
            f"{features.shape}, expected (1, D)"
        )


def build_encoder(args: argparse.Namespace) -> Any:
    """The encoder named by ``--encoder`` (``None`` for 'none')."""
    if args.encoder == "none":
        return None
    if args.encoder == "classic":
        from deepsort_lib.models.classic import ClassicEncoder

        return ClassicEncoder()
    path = _model_path(args.encoder, "encoder")
    from deepsort_lib.models.reid import OnnxEncoder

    try:
        encoder = OnnxEncoder(path, providers=args.providers)
    except ModelError as exc:  # e.g. a detector model: say which file the user gave
        raise ModelError(f"{path} does not work as a re-ID encoder: {exc}") from exc
    _probe_encoder(encoder, path)
    return encoder


def build_tracker(args: argparse.Namespace) -> Any:
    """A :class:`~deepsort_lib.tracking.tracker.Tracker` with the command's options."""
    from deepsort_lib.tracking.tracker import Tracker

    return Tracker.from_preset(args.preset, **_tracker_kwargs(args))


def camera_motion(args: argparse.Namespace) -> Any:
    """The ``--camera-motion`` estimator (``None`` for 'none')."""
    if args.camera_motion == "none":
        return None
    from deepsort_lib.models.camera_motion import CameraMotionEstimator

    return CameraMotionEstimator(method=args.camera_motion)


def build_pipeline(args: argparse.Namespace, source: FrameSource) -> Any:
    """The :class:`~deepsort_lib.pipeline.Pipeline` a run builds for ``source`` (no
    re-entry memory: callers that want one wrap the tracker themselves)."""
    detector, keep, _names = build_detector(args, source)
    return assemble_pipeline(args, detector, keep, build_encoder(args), build_tracker(args))


def assemble_pipeline(
    args: argparse.Namespace, detector: Any, keep: list[int] | None, encoder: Any, tracker: Any
) -> Any:
    """The :class:`~deepsort_lib.pipeline.Pipeline` of a run around parts already built
    (``keep``: the class ids :func:`build_detector` returned), with the run's detection
    interval, score floor and camera motion."""
    from deepsort_lib.pipeline import Pipeline

    return Pipeline(
        detector,
        tracker,
        encoder,
        detect_every=args.detect_every,
        min_score=args.min_score,
        classes=keep,
        camera_motion=camera_motion(args),
    )


def feature_kind(
    args: argparse.Namespace, source: FrameSource, detector: Any
) -> Literal["none", "classic", "reid"]:
    """Where this run's appearance features come from: ``"reid"`` (a re-ID model, or a
    sequence's precomputed ``det/det.npy`` read instead of running a detector),
    ``"classic"`` (the hand-made descriptor) or ``"none"``."""
    from deepsort_lib.io.video import MotSequenceSource

    public = source.detections if isinstance(source, MotSequenceSource) else None
    if detector is None and public is not None and public.feature_dim is not None:
        return "reid"  # the pipeline encodes only detections without features
    if args.encoder in ("none", "classic"):
        return cast(Literal["none", "classic"], args.encoder)
    return "reid"


def check_features_available(args: argparse.Namespace, source: FrameSource, detector: Any) -> None:
    """``--save-features`` needs an encoder, or public detections with features."""
    if args.save_features and feature_kind(args, source, detector) == "none":
        raise ConfigurationError(
            "--save-features needs appearance features: not with --encoder none (unless the "
            "sequence's public detections have a det/det.npy)"
        )


def build_counters(
    args: argparse.Namespace, class_names: tuple[str, ...] | None
) -> Counters | None:
    """The ``--count-line`` / ``--zone`` counters (None without any); raises ConfigurationError."""
    from deepsort_lib.counting import Counters

    counters = Counters.from_specs(args.count_line, args.zone, class_names)
    return counters if len(counters) else None


def reentry_seconds(args: argparse.Namespace, features: str) -> float | None:
    """How long lost identities stay claimable in this run, in seconds (``None``: re-entry
    off): ``--reentry S`` (0 is off), else the preset's default when the features come from a
    re-ID model (:func:`~deepsort_lib.tracking.reentry_defaults.default_reentry_seconds`).

    Parameters
    ----------
    args
        The command's options.
    features
        Where the run's features come from: ``"reid"``, ``"classic"`` or ``"none"``.

    Raises
    ------
    ConfigurationError
        ``--reentry S`` on a run without appearance features.
    """
    from deepsort_lib.tracking.reentry_defaults import default_reentry_seconds

    if args.reentry is None:
        return default_reentry_seconds(args.preset, features == "reid")
    if args.reentry == 0:
        return None
    if features == "none":
        raise ConfigurationError(
            "--reentry needs appearance features: not with --encoder none (unless the "
            "sequence's public detections have a det/det.npy)"
        )
    return float(args.reentry)


__all__ = [
    "BUILTIN_MODELS",
    "PUBLIC",
    "assemble_pipeline",
    "build_counters",
    "build_detector",
    "build_encoder",
    "build_pipeline",
    "build_tracker",
    "camera_motion",
    "check_features_available",
    "detector_choice",
    "feature_kind",
    "reentry_seconds",
    "tag",
]
