"""Agreement with the original Deep SORT as packaged on PyPI (deep-sort-realtime 1.3.2).

Same detections and features in, and at least 99% of output boxes must carry the same
identity up to one fixed relabelling of track ids.

Setting: deep-sort-realtime's own defaults (the paper's thresholds; ``nn_budget=None``).
With a finite budget the two legitimately differ: deep-sort-realtime re-adds each confirmed
track's last feature to the gallery on every frame (``track.features = [track.features[-1]]``),
which nwojke's original does not, so its budget covers fewer distinct frames. We follow the
original; ``test_budgeted_agreement_is_reported`` bounds how far apart that makes them (98.3%).
"""

from collections import Counter

import numpy as np
import pytest

from deepsort_lib import Tracker
from deepsort_lib.testing.synthetic import CrowdScenario

deep_sort_realtime = pytest.importorskip("deep_sort_realtime.deepsort_tracker")


def _agreement(scenario: CrowdScenario, nn_budget: int | None) -> tuple[float, int]:
    ours = Tracker(nn_budget=nn_budget)
    ref = deep_sort_realtime.DeepSort(
        max_age=30,
        n_init=3,
        nn_budget=nn_budget,
        max_cosine_distance=0.2,
        max_iou_distance=0.7,
        embedder=None,
    )
    pairs: Counter[tuple[int, str]] = Counter()
    n_ours = n_ref = 0
    for fr in scenario.frames():
        d = fr.detections
        # Both sides: confirmed tracks matched in this frame (the output rule apart).
        mine = {
            t.detection_index: t.track_id for t in ours.update(d) if t.detection_index is not None
        }
        raw = [(list(b), float(s), 0) for b, s in zip(d.tlwh, d.scores, strict=True)]
        theirs = {}
        for t in ref.update_tracks(raw, embeds=list(d.features)):
            if t.is_confirmed() and t.time_since_update == 0:
                # Find the detection the reference matched (its stored original box).
                det = int(np.argmin(np.abs(d.tlwh - t.original_ltwh).sum(axis=1)))
                theirs[det] = t.track_id
        n_ours += len(mine)
        n_ref += len(theirs)
        for det, tid in mine.items():
            if det in theirs:
                pairs[(tid, theirs[det])] += 1
    relabel: dict[int, tuple[str, int]] = {}
    for (mine_id, ref_id), count in pairs.items():
        if count > relabel.get(mine_id, ("", 0))[1]:
            relabel[mine_id] = (ref_id, count)
    agreeing = sum(count for _, count in relabel.values())
    return agreeing / max(n_ours, n_ref), max(n_ours, n_ref)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_same_identities_as_original(seed: int) -> None:
    scenario = CrowdScenario(num_targets=15, num_frames=300, seed=seed, burst_probability=0.02)
    agreement, boxes = _agreement(scenario, nn_budget=None)
    assert boxes > 3000
    assert agreement >= 0.99, f"only {agreement:.4f} of {boxes} boxes agree"


@pytest.mark.slow
def test_budgeted_agreement_is_reported() -> None:
    scenario = CrowdScenario(num_targets=15, num_frames=300, seed=1, burst_probability=0.02)
    agreement, boxes = _agreement(scenario, nn_budget=100)
    # Measured 0.983 of 3,800 boxes: the gallery windows differ (see the module docstring) and
    # that is all; a real divergence of the algorithms drops far below.
    assert boxes > 3000
    assert agreement >= 0.97, f"only {agreement:.4f} of {boxes} boxes agree at nn_budget=100"
