"""MOTChallenge metrics: thin wrappers over ``motmetrics`` and (optionally) TrackEval.

Nothing here re-implements a metric. The module only turns MOTChallenge arrays or files into
what the two libraries consume and collects their numbers in one :class:`EvaluationResult`:

* ``motmetrics`` (py-motmetrics) computes the CLEAR-MOT and identity metrics: MOTA, MOTP,
  IDF1/IDP/IDR, ID switches, fragmentations, mostly tracked / partially tracked / mostly lost,
  precision and recall.
* TrackEval (PyPI package ``trackeval``) computes HOTA, DetA and AssA when it is installed.
  ``motmetrics`` 1.4 has no HOTA, so without TrackEval those fields are ``None``.

Input convention (MOTChallenge 2D): one row per box, columns ``frame, id, x, y, w, h`` and
optionally ``conf, ...``. In ground truth with 7 or more columns, rows whose 7th column is 0
("do not consider" in MOT16 and later) are dropped; no distractor-class handling is done.
Pairs of a ground-truth box and a result box with IoU below ``iou_threshold`` never match
(MOTChallenge uses 0.5).

The pairwise distance matrices are computed here (``1 - IoU``, NaN beyond the threshold),
because ``motmetrics.distances.iou_matrix`` 1.4 calls ``numpy.asfarray``, removed in NumPy 2.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.boxes import iou_matrix
from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.io.mot import MotData, check_mot_table, read_mot

FloatArray = NDArray[np.float64]

#: Name under which :func:`evaluate_sequences` reports the metrics pooled over all sequences.
OVERALL = "OVERALL"

# motmetrics' metric names, in the order of EvaluationResult's fields.
_MM_METRICS: tuple[str, ...] = (
    "num_frames",
    "mota",
    "motp",
    "idf1",
    "idp",
    "idr",
    "precision",
    "recall",
    "num_switches",
    "num_fragmentations",
    "mostly_tracked",
    "partially_tracked",
    "mostly_lost",
    "num_false_positives",
    "num_misses",
    "num_objects",
    "num_unique_objects",
)


@dataclass(frozen=True)
class EvaluationResult:
    """Metrics of one sequence (or of several pooled).

    Ratios are fractions in [0, 1] (MOTA can be negative). ``motp`` is the mean IoU of matched
    pairs (MOTChallenge's convention; ``motmetrics`` reports the mean distance ``1 - IoU``).
    ``hota``, ``deta`` and ``assa`` are TrackEval's values averaged over its 19 localisation
    thresholds, ``None`` when TrackEval was not used.
    """

    num_frames: int
    mota: float
    motp: float
    idf1: float
    idp: float
    idr: float
    precision: float
    recall: float
    num_switches: int
    num_fragmentations: int
    mostly_tracked: int
    partially_tracked: int
    mostly_lost: int
    num_false_positives: int
    num_misses: int
    num_objects: int
    num_unique_objects: int
    hota: float | None = None
    deta: float | None = None
    assa: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The metrics as a plain ``dict`` (field name → value)."""
        return asdict(self)


# --------------------------------------------------------------------------------------------
# Input


MotLike = ArrayLike | MotData | str | os.PathLike[str]


def _as_mot_array(name: str, data: MotLike) -> FloatArray:
    """A checked ``(N, >=6)`` float table from a path, a :class:`MotData` or an array."""
    if isinstance(data, (str, os.PathLike)):
        return read_mot(data).as_array()  # checked by the reader, with file and line
    if isinstance(data, MotData):
        array = data.as_array()
    else:
        try:
            array = np.asarray(data, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"{name}: not a numeric array or MotData ({' '.join(str(exc).split())})"
            ) from None
    if array.size == 0:
        return np.zeros((0, 6), dtype=np.float64)
    if array.ndim != 2 or array.shape[1] < 6:
        raise InvalidInputError(
            f"{name}: expected an (N, >=6) MOTChallenge array, got shape {array.shape}"
        )
    if not np.all(np.isfinite(array[:, :6])):
        raise InvalidInputError(f"{name}: frame, id and box columns must be finite")
    if np.any(array[:, 4:6] < 0):
        raise InvalidInputError(f"{name}: negative box width or height")
    check_mot_table(array[:, :6], name)
    return array


def _prepare_gt(gt: FloatArray) -> FloatArray:
    # MOT16+: 7th column 0 = "do not consider" (MOT15 files carry 1 or -1 there).
    if gt.shape[1] >= 7:
        gt = gt[gt[:, 6] != 0]
    return gt


# --------------------------------------------------------------------------------------------
# Metric back-ends


def _frames(gt: FloatArray, res: FloatArray) -> NDArray[np.int64]:
    return np.union1d(gt[:, 0], res[:, 0]).astype(np.int64)


def _split(array: FloatArray, frames: NDArray[np.int64]) -> list[FloatArray]:
    """Rows of ``array`` grouped by frame, in the order of ``frames`` (empty where absent)."""
    order = np.argsort(array[:, 0], kind="stable")
    sorted_rows = array[order]
    bounds = np.searchsorted(sorted_rows[:, 0], np.stack([frames, frames + 1]), side="left")
    return [sorted_rows[a:b] for a, b in zip(bounds[0], bounds[1], strict=True)]


def _accumulate(gt: FloatArray, res: FloatArray, iou_threshold: float) -> Any:
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=False)
    frames = _frames(gt, res)
    for frame, g, r in zip(frames, _split(gt, frames), _split(res, frames), strict=True):
        iou = iou_matrix(g[:, 2:6], r[:, 2:6])
        dist = 1.0 - iou
        dist[iou < iou_threshold] = np.nan
        acc.update(g[:, 1].astype(np.int64), r[:, 1].astype(np.int64), dist, frameid=int(frame))
    return acc


def _load_trackeval_hota() -> Any:
    """TrackEval's HOTA class, or ``None`` when TrackEval is not installed."""
    try:
        # TrackEval prints a notice on stdout for optional datasets it cannot import.
        with contextlib.redirect_stdout(io.StringIO()):
            from trackeval.metrics import HOTA
    except ImportError:
        return None
    return HOTA


def hota_available() -> bool:
    """Whether TrackEval is installed, so that HOTA/DetA/AssA can be computed."""
    return _load_trackeval_hota() is not None


def _hota_sequence(hota_cls: Any, gt: FloatArray, res: FloatArray) -> dict[str, Any]:
    """TrackEval's per-sequence HOTA result; ids are relabelled 0..K-1 as TrackEval requires."""
    frames = _frames(gt, res)
    gt_uid, gt_idx = np.unique(gt[:, 1], return_inverse=True)
    res_uid, res_idx = np.unique(res[:, 1], return_inverse=True)
    g_rows = _split(np.column_stack([gt[:, :6], gt_idx]), frames)
    r_rows = _split(np.column_stack([res[:, :6], res_idx]), frames)
    data = {
        "num_timesteps": len(frames),
        "num_gt_ids": len(gt_uid),
        "num_tracker_ids": len(res_uid),
        "num_gt_dets": len(gt),
        "num_tracker_dets": len(res),
        "gt_ids": [g[:, 6].astype(np.int64) for g in g_rows],
        "tracker_ids": [r[:, 6].astype(np.int64) for r in r_rows],
        "similarity_scores": [
            iou_matrix(g[:, 2:6], r[:, 2:6]) for g, r in zip(g_rows, r_rows, strict=True)
        ],
    }
    result: dict[str, Any] = hota_cls().eval_sequence(data)
    return result


def _from_summary(row: Mapping[str, Any], hota: Mapping[str, Any] | None) -> EvaluationResult:
    values: dict[str, Any] = {}
    for f in fields(EvaluationResult):
        if f.name in ("hota", "deta", "assa"):
            continue
        v = row[f.name]
        values[f.name] = int(v) if f.type == "int" else float(v)
    # motmetrics' MOTP is a mean distance (1 - IoU); NaN when nothing matched.
    values["motp"] = 1.0 - values["motp"] if math.isfinite(values["motp"]) else float("nan")
    if hota is not None:
        values["hota"] = float(np.mean(hota["HOTA"]))
        values["deta"] = float(np.mean(hota["DetA"]))
        values["assa"] = float(np.mean(hota["AssA"]))
    return EvaluationResult(**values)


# --------------------------------------------------------------------------------------------
# Public API


def evaluate_sequences(
    sequences: Mapping[str, tuple[MotLike, MotLike]],
    *,
    iou_threshold: float = 0.5,
    hota: bool | None = None,
) -> dict[str, EvaluationResult]:
    """Evaluate several sequences and their pooled total.

    Parameters
    ----------
    sequences
        Sequence name → ``(ground_truth, results)``, each a :class:`~deepsort_lib.io.mot.MotData`,
        a MOTChallenge array or a file path.
    iou_threshold
        Minimum IoU for a ground-truth box and a result box to match (MOTChallenge: 0.5).
    hota
        ``True``: compute HOTA/DetA/AssA with TrackEval (error if it is missing); ``False``:
        skip them; ``None`` (default): compute them when TrackEval is installed.

    Returns
    -------
    dict
        Name → :class:`EvaluationResult` for every sequence, plus :data:`OVERALL` pooled over
        all of them (``motmetrics``' overall summary and TrackEval's ``combine_sequences``).
    """
    import motmetrics as mm

    if not 0.0 < iou_threshold <= 1.0:
        raise ConfigurationError(f"iou_threshold must be in (0, 1], got {iou_threshold}")
    if not sequences:
        raise InvalidInputError("no sequences to evaluate")
    if OVERALL in sequences:
        raise InvalidInputError(f"{OVERALL!r} is reserved for the pooled result")
    hota_cls = _load_trackeval_hota() if hota is not False else None
    if hota is True and hota_cls is None:
        raise ConfigurationError(
            "HOTA needs TrackEval: pip install --no-deps trackeval==1.3.0 (it needs only "
            "numpy and scipy)"
        )
    names = list(sequences)
    accs = []
    hota_res: dict[str, dict[str, Any]] = {}
    for name in names:
        gt_in, res_in = sequences[name]
        gt = _prepare_gt(_as_mot_array(f"{name} ground truth", gt_in))
        res = _as_mot_array(f"{name} results", res_in)
        if len(gt) == 0:
            raise InvalidInputError(
                f"{name} ground truth has no boxes to evaluate against (empty, or every row "
                "marked 'do not consider'): MOTA and IDF1 are undefined"
            )
        accs.append(_accumulate(gt, res, iou_threshold))
        if hota_cls is not None:
            hota_res[name] = _hota_sequence(hota_cls, gt, res)
    mh = mm.metrics.create()
    summary = mh.compute_many(
        accs, metrics=list(_MM_METRICS), names=names, generate_overall=len(names) > 1
    )
    out: dict[str, EvaluationResult] = {}
    for name in names:
        out[name] = _from_summary(summary.loc[name], hota_res.get(name))
    if len(names) > 1:
        pooled = hota_cls().combine_sequences(hota_res) if hota_cls is not None else None
        out[OVERALL] = _from_summary(summary.loc["OVERALL"], pooled)
    else:
        out[OVERALL] = out[names[0]]
    return out


def evaluate(
    gt: MotLike,
    results: MotLike,
    *,
    iou_threshold: float = 0.5,
    hota: bool | None = None,
) -> EvaluationResult:
    """Evaluate one sequence's tracking results against its ground truth.

    Parameters
    ----------
    gt, results
        What :func:`~deepsort_lib.io.mot.read_mot` returns (:class:`~deepsort_lib.io.mot.MotData`),
        MOTChallenge arrays ``(N, >=6)`` (``frame, id, x, y, w, h, ...``) or paths to
        MOTChallenge text files. Identities must be integers, unique within a frame.
    iou_threshold
        Minimum IoU for a match (MOTChallenge: 0.5).
    hota
        See :func:`evaluate_sequences`.

    Returns
    -------
    EvaluationResult

    Raises
    ------
    SourceError
        A file cannot be read.
    InvalidInputError
        An array or file is not in MOTChallenge format (the message names the file, line
        and frame), or the ground truth has no box to evaluate against.
    ConfigurationError
        Bad ``iou_threshold``, or ``hota=True`` without TrackEval.
    """
    return evaluate_sequences({"sequence": (gt, results)}, iou_threshold=iou_threshold, hota=hota)[
        "sequence"
    ]


def evaluate_files(
    gt_path: str | os.PathLike[str],
    results_path: str | os.PathLike[str],
    *,
    iou_threshold: float = 0.5,
    hota: bool | None = None,
) -> EvaluationResult:
    """:func:`evaluate` on two MOTChallenge text files."""
    return evaluate(
        read_mot(gt_path).as_array(),
        read_mot(results_path).as_array(),
        iou_threshold=iou_threshold,
        hota=hota,
    )


def format_table(results: Mapping[str, EvaluationResult]) -> str:
    """A fixed-width text table of results (one row per name), percentages for ratios."""
    cols = [
        ("MOTA", "mota", True),
        ("MOTP", "motp", True),
        ("IDF1", "idf1", True),
        ("HOTA", "hota", True),
        ("DetA", "deta", True),
        ("AssA", "assa", True),
        ("Prcn", "precision", True),
        ("Rcll", "recall", True),
        ("IDSW", "num_switches", False),
        ("FM", "num_fragmentations", False),
        ("MT", "mostly_tracked", False),
        ("PT", "partially_tracked", False),
        ("ML", "mostly_lost", False),
        ("FP", "num_false_positives", False),
        ("FN", "num_misses", False),
    ]
    width = max([len("name"), *(len(n) for n in results)])
    header = "name".ljust(width) + "".join(f"{c[0]:>8}" for c in cols)
    lines = [header]
    for name, r in results.items():
        cells = []
        for _, attr, pct in cols:
            v = getattr(r, attr)
            if v is None:
                cells.append(f"{'-':>8}")
            elif pct:
                cells.append(f"{100.0 * v:>8.1f}")
            else:
                cells.append(f"{v:>8d}")
        lines.append(name.ljust(width) + "".join(cells))
    return "\n".join(lines)


__all__ = [
    "OVERALL",
    "EvaluationResult",
    "evaluate",
    "evaluate_files",
    "evaluate_sequences",
    "format_table",
    "hota_available",
]
