"""The tracker's outputs stay identical to the recorded golden outputs.

``scripts/golden_outputs.py`` records, for every preset and a set of option combinations, a
SHA-256 per frame of what the tracker reports on the accuracy benchmark's simulated TUD
detections and on a seeded random stream. A refactor must leave them identical; a change of
behaviour that is meant regenerates ``tests/data/golden_outputs.json`` in its own commit.
This test re-runs every configuration on the shorter TUD sequence and the random stream (a few
hundred frames each); ``scripts/golden_outputs.py --check`` runs them all.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden_outputs.json"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "golden_outputs", ROOT / "scripts" / "golden_outputs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def golden() -> ModuleType:
    pytest.importorskip("motmetrics")  # the TUD ground truth ships in its wheel
    return _script()


@pytest.mark.slow
def test_outputs_identical_to_golden(golden: ModuleType) -> None:
    expected = json.loads(GOLDEN.read_text())
    actual = golden.compute(stream_names={"TUD-Campus", "random"})
    assert set(actual["outputs"]) == set(expected["outputs"]), "configurations changed"
    problems = golden.compare(expected, actual, partial=True)
    assert problems == [], "\n".join(problems)


def test_compare_reports_a_changed_frame(golden: ModuleType) -> None:
    expected = json.loads(GOLDEN.read_text())
    actual = json.loads(GOLDEN.read_text())
    frames = actual["outputs"]["preset:original"]["random"]
    frames[40] = "0" * len(frames[40])
    assert golden.compare(expected, actual) == [
        "preset:original on random: first differing frame 40"
    ]
    del actual["outputs"]["default"]
    assert "default: not computed on" in golden.compare(expected, actual)[-1]
