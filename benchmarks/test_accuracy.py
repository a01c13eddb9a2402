"""Reduced accuracy sweep for CI: seed 0, five of the nine conditions, every tracker.

Needs the peers' virtualenv::

    bash scripts/setup_peers.sh
    PYTHONPATH=$PWD .venv-peers/bin/python -m pytest benchmarks/test_accuracy.py -q

The recorded results (5 seeds, all nine conditions) come from
``python -m benchmarks.accuracy.run``; seed 0 of that run is exactly what this file measures.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from benchmarks.accuracy.conditions import conditions
from benchmarks.accuracy.run import RECOMMENDED, Cell, claim, is_peer, run, write_reports
from benchmarks.accuracy.trackers import REGISTRY

#: The corners of the sweep and its centre.
REDUCED = (
    "det-light/cos-0.10",
    "det-light/cos-0.35",
    "det-medium/cos-0.20",
    "det-heavy/cos-0.10",
    "det-heavy/cos-0.35",
)


@pytest.fixture(scope="module")
def cells() -> list[Cell]:
    return run(seeds=[0], conds=conditions(list(REDUCED)), progress=False)


@pytest.fixture(scope="module")
def by(cells: list[Cell]) -> dict[tuple[str, str], Cell]:
    return {(c.tracker, c.condition): c for c in cells}


@pytest.mark.slow
def test_every_tracker_runs_and_scores(by: dict[tuple[str, str], Cell]) -> None:
    for name in REGISTRY:
        for cond in REDUCED:
            c = by[(name, cond)]
            assert len(c.per_seed) == 1
            for key in ("mota", "idf1", "hota", "ms_per_frame"):
                assert math.isfinite(c.mean(key)), (name, cond, key)
        # With light detection noise and clean features every tracker finds most people: a
        # broken adapter would not.
        assert by[(name, "det-light/cos-0.10")].mean("idf1") > 0.5, name


@pytest.mark.slow
def test_motion_only_trackers_do_not_depend_on_feature_noise(
    by: dict[tuple[str, str], Cell],
) -> None:
    for name, spec in REGISTRY.items():
        if not spec.uses_appearance:
            for det in ("det-light", "det-heavy"):
                assert (
                    by[(name, f"{det}/cos-0.10")].per_seed == by[(name, f"{det}/cos-0.35")].per_seed
                )


@pytest.mark.slow
def test_original_preset_is_close_to_reference_deep_sort(by: dict[tuple[str, str], Cell]) -> None:
    # Same algorithm and settings as deep-sort-realtime: the scores must agree closely.
    for cond in REDUCED:
        ours = by[("deepsort_lib original (app rule)", cond)]
        ref = by[("deep-sort-realtime (app rule)", cond)]
        assert abs(ours.mean("mota") - ref.mean("mota")) < 0.03, cond
        assert abs(ours.mean("idf1") - ref.mean("idf1")) < 0.05, cond


@pytest.mark.slow
def test_recommended_preset_wins_across_conditions(cells: list[Cell]) -> None:
    """Issue 13's target, on the reduced sweep (the 5-seed figures are in accuracy.md)."""
    result = claim(cells, RECOMMENDED)
    for cond, gap in result.gap_to_first.items():
        assert gap >= -0.5, (cond, gap, "HOTA points behind the best other tracker")
    assert result.hota_margin >= 2.0, result
    assert result.idf1_margin >= 2.0, result
    assert result.time_ratio <= 1.5, result
    assert is_peer(result.best_peer_overall)


@pytest.mark.slow
def test_reports_are_written(cells: list[Cell], tmp_path: Path) -> None:
    conds = conditions(list(REDUCED))
    paths = write_reports(cells, tmp_path, "acc", [0], conds, "pytest benchmarks")
    md = paths["md"].read_text()
    for name in REGISTRY:
        assert f"| {name} |" in md
    assert "## The claim (issue 13)" in md
    data = json.loads(paths["json"].read_text())
    assert len(data["results"]) == len(REGISTRY) * len(REDUCED)
    assert data["environment"]["motmetrics"] != "not installed"
    rows = paths["csv"].read_text().splitlines()
    assert len(rows) == 1 + len(REGISTRY) * len(REDUCED)


def test_merging_runs_replaces_what_was_rerun(tmp_path: Path) -> None:
    from benchmarks.accuracy.run import load_cells

    def report(path: Path, tracker: str, seed: int, hota: float) -> Path:
        rec = {"seed": seed, "hota": hota}
        path.write_text(
            json.dumps(
                {
                    "sequences": ["A"],
                    "results": [{"tracker": tracker, "condition": "c", "per_seed": [rec]}],
                }
            )
        )
        return path

    a = report(tmp_path / "a.json", "x", 0, 0.5)
    b = report(tmp_path / "b.json", "x", 0, 0.7)
    merged, seeds, sequences = load_cells([a, b])
    assert seeds == [0] and sequences == ["A"]
    assert merged[0].per_seed == [{"seed": 0, "hota": 0.7}]
    c = report(tmp_path / "c.json", "y", 1, 0.1)
    with pytest.raises(SystemExit, match="do not cover"):
        load_cells([a, c])


def test_ablation_reports_each_mechanism(tmp_path: Path) -> None:
    from benchmarks.accuracy.ablation import BASE, main, variants

    chosen = ["- adaptive coasting (report 1 miss)", "+ NSA Kalman"]
    assert {v.name for v in variants()} >= {BASE, *chosen}
    argv = ["--seeds", "1", "--conditions", "det-heavy/cos-0.20", "--only", *chosen]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "ablation.json").read_text())
    hota = {
        r["tracker"].removeprefix("ablation: "): r["per_seed"][0]["hota"] for r in data["results"]
    }
    assert set(hota) == {BASE, *chosen}
    # With heavy detection noise, coasting only one frame loses several HOTA points.
    assert hota[BASE] > hota["- adaptive coasting (report 1 miss)"] + 0.03
    md = (tmp_path / "ablation.md").read_text()
    assert "| + NSA Kalman |" in md and "| recommended |" in md
