"""The conditions of the accuracy sweep: detection noise x feature noise.

Detection noise (three levels) sets how often people are missed (recall about 85%, 70%,
55% of the ground-truth boxes), how many false positives appear per frame (0.2, 0.7, 1.5) and
how much the boxes jitter. Feature noise (three levels) sets the median cosine distance
between two detections of one person: 0.10, 0.20 (Deep SORT's gate) and 0.35 (where a fixed
0.2 gate breaks down).

The ``miss_rate`` of each detection level and the ``feature_noise`` of each feature level were
found with the calibration functions of :mod:`deepsort_lib.testing.simulation`
(:func:`~deepsort_lib.testing.simulation.calibrate_feature_noise`; recall by the same bisection
done by hand) on both TUD sequences; ``tests/test_simulation.py`` checks that they still hit
their targets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from deepsort_lib.testing.simulation import NoiseModel


@dataclass(frozen=True)
class DetectionLevel:
    """One level of detector noise: a name, its targets and the noise-model fields."""

    name: str
    recall: float
    false_positives: float
    fields: dict[str, Any]

    def noise(self) -> NoiseModel:
        return replace(NoiseModel(), false_positives=self.false_positives, **self.fields)


@dataclass(frozen=True)
class FeatureLevel:
    """One level of re-ID noise: the target median same-identity cosine distance."""

    name: str
    median_distance: float
    feature_noise: float


@dataclass(frozen=True)
class Condition:
    """One cell of the sweep."""

    detection: DetectionLevel
    features: FeatureLevel

    @property
    def name(self) -> str:
        return f"{self.detection.name}/{self.features.name}"

    def noise(self) -> NoiseModel:
        return replace(self.detection.noise(), feature_noise=self.features.feature_noise)


DETECTION_LEVELS: dict[str, DetectionLevel] = {
    level.name: level
    for level in (
        DetectionLevel(
            "det-light",
            0.85,
            0.2,
            {
                "miss_rate": 0.055,
                "occlusion_miss": 0.3,
                "burst_rate": 0.008,
                "burst_length": (3, 10),
                "jitter": 0.03,
                "size_jitter": 0.04,
            },
        ),
        DetectionLevel(
            "det-medium",
            0.70,
            0.7,
            {
                "miss_rate": 0.15,
                "occlusion_miss": 0.4,
                "burst_rate": 0.015,
                "burst_length": (3, 12),
                "jitter": 0.05,
                "size_jitter": 0.07,
            },
        ),
        DetectionLevel(
            "det-heavy",
            0.55,
            1.5,
            {
                "miss_rate": 0.23,
                "occlusion_miss": 0.5,
                "burst_rate": 0.025,
                "burst_length": (3, 15),
                "jitter": 0.07,
                "size_jitter": 0.10,
            },
        ),
    )
}

#: ``feature_noise`` calibrated on det-medium; the medians of the other levels differ by < 0.005.
FEATURE_LEVELS: dict[str, FeatureLevel] = {
    level.name: level
    for level in (
        FeatureLevel("cos-0.10", 0.10, 0.3264),
        FeatureLevel("cos-0.20", 0.20, 0.4870),
        FeatureLevel("cos-0.35", 0.35, 0.7128),
    )
}

#: Every cell, detection level major.
CONDITIONS: tuple[Condition, ...] = tuple(
    Condition(d, f) for d in DETECTION_LEVELS.values() for f in FEATURE_LEVELS.values()
)


def conditions(names: list[str] | None = None) -> list[Condition]:
    """The cells named ``"<detection>/<features>"`` (all of them for ``None``)."""
    if not names:
        return list(CONDITIONS)
    by_name = {c.name: c for c in CONDITIONS}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"unknown condition(s) {unknown}; known: {list(by_name)}")
    return [by_name[n] for n in names]
