"""Gap scenarios of the re-entry benchmark and their scores (see
:mod:`benchmarks.accuracy.reentry` for the protocol)."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from deepsort_lib.boxes import Detections, iou_matrix
from deepsort_lib.testing.synthetic import CrowdScenario

Rows = NDArray[np.float64]
MIN_SEGMENT = 10
NEWCOMER_OFFSET = 10_000

# --------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class Segments:
    """Who is who in a gap scenario: gt id -> (first segment end, second segment start)."""

    returners: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: newcomer gt id -> (the identity it replaced, second segment start)
    newcomers: dict[int, tuple[int, int]] = field(default_factory=dict)


def gap_ground_truth(gt: Rows, gap: int, width: float) -> tuple[Rows, Segments]:
    """Cut, delay by ``gap`` frames and mirror the second half of every long identity."""
    gt = np.asarray(gt, dtype=np.float64)
    gt = gt[gt[:, 6] != 0] if gt.shape[1] > 6 else gt
    out = gt.copy()
    seg = Segments()
    ids = np.unique(gt[:, 1]).astype(int)
    eligible = [i for i in ids if np.sum(gt[:, 1] == i) >= 2 * MIN_SEGMENT]
    for k, tid in enumerate(eligible):
        rows = np.flatnonzero(gt[:, 1] == tid)
        frames = np.sort(gt[rows, 0])
        cut = int(frames[len(frames) // 2])
        second = rows[gt[rows, 0] >= cut]
        out[second, 0] += gap
        out[second, 2] = width - gt[second, 2] - gt[second, 4]
        first_end = int(frames[len(frames) // 2 - 1])
        if k % 2 == 0:
            seg.returners[tid] = (first_end, cut + gap)
        else:
            new_id = tid + NEWCOMER_OFFSET
            out[second, 1] = new_id
            seg.newcomers[new_id] = (tid, cut + gap)
    out = out[np.lexsort((out[:, 1], out[:, 0]))]
    return out, seg


def crowd_stream(
    gap: int, feature_noise: float, seed: int, before: int = 150, after: int = 150
) -> tuple[list[tuple[int, Detections]], Rows, Segments]:
    """The synthetic-crowd gap scenario: frames, ground truth, segments."""
    dim = 128
    scenario = CrowdScenario(
        num_targets=10,
        num_frames=before + gap + after,
        feature_dim=dim,
        feature_noise=feature_noise / np.sqrt(dim),
        seed=seed,
    )
    returners, newcomers = range(0, 4), range(4, 7)
    frames: list[tuple[int, Detections]] = []
    gt_rows = []
    for f, fr in enumerate(scenario.frames(), start=1):
        t = fr.target_ids
        hidden = set()
        if before < f <= before + gap:
            hidden |= set(returners)
        if f <= before + gap:
            hidden |= set(newcomers)
        keep = np.array([i not in hidden for i in t.tolist()], dtype=bool)
        d = fr.detections
        assert d.features is not None
        frames.append(
            (f, Detections.from_tlwh(d.tlwh[keep], d.scores[keep], None, d.features[keep]))
        )
        for i, box in enumerate(fr.true_tlwh):
            if i not in hidden:
                gt_rows.append([f, i + 1, *box, 1.0])
    seg = Segments()
    for i in returners:
        seg.returners[i + 1] = (before, before + gap + 1)
    for i in newcomers:
        seg.newcomers[i + 1] = (-1, before + gap + 1)
    return frames, np.array(gt_rows), seg


# --------------------------------------------------------------------------------------------
# Scores


def matched_ids(gt: Rows, rows: Rows, iou_threshold: float = 0.5) -> NDArray[np.int64]:
    """For every ground-truth row, the result id matched to it in its frame (-1: none)."""
    out = np.full(len(gt), -1, dtype=np.int64)
    by_frame: dict[int, list[int]] = {}
    for idx, f in enumerate(rows[:, 0].astype(int).tolist()):
        by_frame.setdefault(f, []).append(idx)
    for f in np.unique(gt[:, 0]).astype(int):
        g = np.flatnonzero(gt[:, 0] == f)
        r = np.asarray(by_frame.get(int(f), []), dtype=np.intp)
        if len(r) == 0:
            continue
        iou = iou_matrix(gt[g, 2:6], rows[r, 2:6])
        a, b = linear_sum_assignment(-iou)
        ok = iou[a, b] >= iou_threshold
        out[g[a[ok]]] = rows[r[b[ok]], 1].astype(np.int64)
    return out


def majority(ids: NDArray[np.int64]) -> int:
    ids = ids[ids >= 0]
    if len(ids) == 0:
        return -1
    values, counts = np.unique(ids, return_counts=True)
    return int(values[np.argmax(counts)])


def reentry_counts(gt: Rows, rows: Rows, seg: Segments) -> dict[str, int]:
    """Returners, recovered, second segments, false re-identifications.

    An identity's *first ids* are the majority id of its first segment and the id it left
    with (its last matched id before the gap): an inner fragment late in the first segment
    changes the id a tracker can continue, and continuing it is a recovery. A second
    segment is falsely re-identified when its majority id is another identity's first id and
    none of its own (an inner switch that gave two people one id in their first segments
    does not make a correct recovery false). ``recovered_majority`` counts the stricter
    recovery (the first segment's majority id only).
    """
    got = matched_ids(gt, rows)
    first_ids: dict[int, set[int]] = {}
    first_major: dict[int, int] = {}
    for tid in np.unique(gt[:, 1]).astype(int):
        mine = gt[:, 1] == tid
        start = seg.returners.get(tid, (None, np.inf))[1]
        before = got[mine & (gt[:, 0] < start)]
        seen = before[before >= 0]
        first_major[tid] = majority(before)
        first_ids[tid] = {first_major[tid], int(seen[-1])} - {-1} if len(seen) else set()
    counts = {
        "returners": 0,
        "recovered": 0,
        "recovered_majority": 0,
        "second_segments": 0,
        "false_reid": 0,
    }
    seconds = [(tid, s) for tid, (_, s) in seg.returners.items()]
    seconds += [(tid, s) for tid, (_, s) in seg.newcomers.items()]
    for tid, start in seconds:
        second = majority(got[(gt[:, 1] == tid) & (gt[:, 0] >= start)])
        counts["second_segments"] += 1
        own = first_ids[tid] if tid in seg.returners else set()
        others = {v for k, ids in first_ids.items() if k != tid for v in ids}
        if tid in seg.returners:
            counts["returners"] += 1
            counts["recovered"] += int(second >= 0 and second in own)
            counts["recovered_majority"] += int(second >= 0 and second == first_major[tid])
        counts["false_reid"] += int(second >= 0 and second in others and second not in own)
    return counts


def memory_links(gt: Rows, rows: Rows, local_ids: NDArray[np.int64]) -> dict[str, int]:
    """Links made by a re-entry wrapper and how many joined two different people.

    ``local_ids`` holds, per result row, the inner tracker's id. A *link* is one persistent
    id passing from one inner track to the next; it is *wrong* when the two inner tracks'
    majority ground-truth identities differ (tracks on no ground truth are left out). This
    separates the memory's own mistakes from the inner tracker's id switches, which the
    false re-identification count includes.
    """
    got = matched_ids(gt, rows)
    owner = {
        (int(f), int(i)): int(t) for f, i, t in zip(gt[:, 0], got, gt[:, 1], strict=True) if i >= 0
    }
    truth = np.array(
        [owner.get((int(f), int(i)), -1) for f, i in zip(rows[:, 0], rows[:, 1], strict=True)],
        dtype=np.int64,
    )
    person = {int(lid): majority(truth[local_ids == lid]) for lid in np.unique(local_ids)}
    chains: dict[int, list[int]] = {}
    for gid, lid in zip(rows[:, 1].astype(int).tolist(), local_ids.tolist(), strict=True):
        chain = chains.setdefault(gid, [])
        if lid not in chain:
            chain.append(int(lid))
    links = wrong = 0
    for chain in chains.values():
        for a, b in pairwise(chain):
            if person[a] >= 0 and person[b] >= 0:
                links += 1
                wrong += int(person[a] != person[b])
    return {"links": links, "wrong_links": wrong}
