"""Detections as a struct of arrays, box-format conversions and box overlap.

Box formats used throughout the library (all in pixels, float64):

``tlwh``
    top-left x, top-left y, width, height: the format of MOTChallenge files and of Deep SORT.
``xyxy``
    top-left x, top-left y, bottom-right x, bottom-right y: what most detectors emit.
``xyah``
    centre x, centre y, aspect ratio (width / height), height: the Kalman filter's measurement.
``xywh``
    centre x, centre y, width, height: the measurement of the BoT-SORT style filter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.errors import InvalidInputError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
FeatureArray = NDArray[np.float32]


def tlwh_to_xyxy(tlwh: ArrayLike) -> FloatArray:
    """Convert ``(..., 4)`` tlwh boxes to xyxy."""
    boxes = np.asarray(tlwh, dtype=np.float64)
    out = boxes.copy()
    out[..., 2:] += boxes[..., :2]
    return out


def xyxy_to_tlwh(xyxy: ArrayLike) -> FloatArray:
    """Convert ``(..., 4)`` xyxy boxes to tlwh."""
    boxes = np.asarray(xyxy, dtype=np.float64)
    out = boxes.copy()
    out[..., 2:] -= boxes[..., :2]
    return out


def tlwh_to_xyah(tlwh: ArrayLike) -> FloatArray:
    """Convert ``(..., 4)`` tlwh boxes to (centre x, centre y, width / height, height)."""
    boxes = np.asarray(tlwh, dtype=np.float64)
    out = boxes.copy()
    out[..., :2] += boxes[..., 2:] / 2.0
    out[..., 2] = boxes[..., 2] / boxes[..., 3]
    return out


def xyah_to_tlwh(xyah: ArrayLike) -> FloatArray:
    """Convert ``(..., 4)`` xyah boxes back to tlwh."""
    boxes = np.asarray(xyah, dtype=np.float64)
    out = boxes.copy()
    out[..., 2] = boxes[..., 2] * boxes[..., 3]
    out[..., :2] -= out[..., 2:] / 2.0
    return out


def tlwh_to_xywh(tlwh: ArrayLike) -> FloatArray:
    """Convert ``(..., 4)`` tlwh boxes to (centre x, centre y, width, height)."""
    boxes = np.asarray(tlwh, dtype=np.float64)
    out = boxes.copy()
    out[..., :2] += boxes[..., 2:] / 2.0
    return out


def xywh_to_tlwh(xywh: ArrayLike) -> FloatArray:
    """Convert ``(..., 4)`` centre-size boxes back to tlwh."""
    boxes = np.asarray(xywh, dtype=np.float64)
    out = boxes.copy()
    out[..., :2] -= boxes[..., 2:] / 2.0
    return out


def iou_matrix(tlwh_a: ArrayLike, tlwh_b: ArrayLike) -> FloatArray:
    """Intersection over union of every box in ``a`` with every box in ``b``.

    Parameters
    ----------
    tlwh_a, tlwh_b
        ``(M, 4)`` and ``(N, 4)`` boxes in tlwh format.

    Returns
    -------
    ndarray
        ``(M, N)`` IoU values in [0, 1]; 0 where a union is empty.
    """
    a = tlwh_to_xyxy(np.asarray(tlwh_a, dtype=np.float64).reshape(-1, 4))
    b = tlwh_to_xyxy(np.asarray(tlwh_b, dtype=np.float64).reshape(-1, 4))
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(br - tl, 0.0, None)
    inter = wh[..., 0] * wh[..., 1]
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou


#: Largest magnitude accepted for a box coordinate or size, in pixels. Far beyond any image,
#: and far below where the Kalman covariances (which square box sizes twice) overflow.
MAX_COORDINATE = 1e8
#: Largest magnitude accepted for a feature value: above it the float32 features the tracker
#: stores, and their squared norms, are no longer finite.
MAX_FEATURE_VALUE = 1e15
#: Class ids are whole numbers that fit exactly in a float64 (and therefore in an int64).
MAX_CLASS_ID = 2**53


def iou_pairs(tlwh_a: ArrayLike, tlwh_b: ArrayLike) -> FloatArray:
    """Intersection over union of ``a[i]`` with ``b[i]`` for every row ``i`` (``(P,)``)."""
    a = tlwh_to_xyxy(np.asarray(tlwh_a, dtype=np.float64).reshape(-1, 4))
    b = tlwh_to_xyxy(np.asarray(tlwh_b, dtype=np.float64).reshape(-1, 4))
    wh = np.clip(np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2]), 0.0, None)
    inter = wh[:, 0] * wh[:, 1]
    union = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = union - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou: FloatArray = np.where(union > 0, inter / union, 0.0)
    return iou


def overlapping_pairs(
    tlwh_a: FloatArray, tlwh_b: FloatArray, max_pairs: int
) -> tuple[NDArray[np.intp], NDArray[np.intp]] | None:
    """Index pairs ``(i, j)`` of boxes ``a[i]`` and ``b[j]`` that overlap (IoU > 0 is only
    possible for them), found by sorting instead of an ``M x N`` comparison.

    Returns ``None`` when more than ``max_pairs`` pairs are candidates (use the dense
    :func:`iou_matrix` then).
    """
    if len(tlwh_a) == 0 or len(tlwh_b) == 0:
        empty = np.zeros(0, dtype=np.intp)
        return empty, empty
    order = np.argsort(tlwh_b[:, 0], kind="stable")
    left = tlwh_b[order, 0]
    widest = float(np.max(tlwh_b[:, 2]))
    # b overlaps a on x iff b.left < a.right and b.right > a.left; b.right <= b.left + widest.
    lo = np.searchsorted(left, tlwh_a[:, 0] - widest, side="right")
    hi = np.searchsorted(left, tlwh_a[:, 0] + tlwh_a[:, 2], side="left")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    if total > max_pairs:
        return None
    i = np.repeat(np.arange(len(tlwh_a)), counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    j = order[np.repeat(lo, counts) + offsets]
    a, b = tlwh_a[i], tlwh_b[j]
    keep = (
        (b[:, 0] + b[:, 2] > a[:, 0])
        & (b[:, 1] < a[:, 1] + a[:, 3])
        & (b[:, 1] + b[:, 3] > a[:, 1])
    )
    return i[keep], j[keep]


def _numeric(name: str, values: Any) -> NDArray[Any]:
    """``values`` as an array of real numbers, refusing what a float cast would change."""
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be numeric, got {type(values).__name__}") from exc
    if raw.dtype.kind == "c":
        raise InvalidInputError(f"{name} must be real numbers, got complex values")
    if raw.dtype.kind in "USVMm":
        raise InvalidInputError(f"{name} must be numeric, got dtype {raw.dtype}")
    if raw.dtype.kind == "O":
        kinds = {np.asarray(v).dtype.kind for v in raw.reshape(-1)}
        if kinds - set("biuf"):
            raise InvalidInputError(f"{name} must hold only real numbers")
    return raw


def _as_float_matrix(
    name: str, values: Any, columns: int | None, limit: float = np.inf
) -> FloatArray:
    raw = _numeric(name, values)
    try:
        array = np.array(raw, dtype=np.float64)  # a copy: we freeze it below
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInputError(f"{name} must be numeric, got {type(values).__name__}") from exc
    if array.ndim == 1 and array.size == 0:
        array = array.reshape(0, columns or 0)
    if array.ndim != 2 or (columns is not None and array.shape[1] != columns):
        want = f"(N, {columns})" if columns is not None else "(N, D)"
        raise InvalidInputError(f"{name} must have shape {want}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InvalidInputError(f"{name} contains NaN or infinite values")
    if array.size and np.max(np.abs(array)) > limit:
        raise InvalidInputError(f"{name} has values beyond +-{limit:g}")
    return array


def _check_length(name: str, array: NDArray[Any], n: int) -> None:
    if array.shape[0] != n:
        raise InvalidInputError(f"{name} has {array.shape[0]} rows but there are {n} boxes")


@dataclass(frozen=True, eq=False)
class Detections:
    """A frame's detections as a struct of arrays.

    Build one with :meth:`from_tlwh` or :meth:`from_xyxy`; the constructor takes tlwh boxes.
    Every field is validated and copied into a fresh, read-only array of a fixed dtype, so a
    ``Detections`` object can be shared freely.

    Parameters
    ----------
    tlwh
        ``(N, 4)`` boxes as top-left x, top-left y, width, height in pixels. Widths and heights
        must be positive and every value finite.
    scores
        ``(N,)`` detector confidences; defaults to ones.
    class_ids
        ``(N,)`` integer class ids; defaults to zeros.
    features
        Optional ``(N, D)`` appearance features (one row per box). ``None`` means the frame
        carries no appearance information and the tracker associates on motion only.
    """

    tlwh: FloatArray
    scores: FloatArray = field(default=None)  # type: ignore[arg-type]
    class_ids: IntArray = field(default=None)  # type: ignore[arg-type]
    features: FeatureArray | None = None

    def __post_init__(self) -> None:
        tlwh = _as_float_matrix("boxes", self.tlwh, 4, MAX_COORDINATE)
        n = tlwh.shape[0]
        if n and not (np.all(tlwh[:, 2] > 0) and np.all(tlwh[:, 3] > 0)):
            raise InvalidInputError("box widths and heights must be positive")
        scores = self._scores(n)
        class_ids = self._class_ids(n)
        features = self._features(n)
        for array in (tlwh, scores, class_ids, features):
            if array is not None:
                array.flags.writeable = False
        object.__setattr__(self, "tlwh", tlwh)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "class_ids", class_ids)
        object.__setattr__(self, "features", features)

    def _scores(self, n: int) -> FloatArray:
        if self.scores is None:
            return np.ones(n, dtype=np.float64)
        scores = _as_float_matrix("scores", np.reshape(self.scores, (-1, 1)), 1)[:, 0]
        _check_length("scores", scores, n)
        return scores.copy()

    def _class_ids(self, n: int) -> IntArray:
        if self.class_ids is None:
            return np.zeros(n, dtype=np.int64)
        if np.asarray(self.class_ids).dtype.kind in "USV":
            raise InvalidInputError(
                f"class ids must be integers, got dtype {np.asarray(self.class_ids).dtype}"
            )
        raw = _numeric("class ids", self.class_ids).reshape(-1)
        if raw.dtype.kind == "O":
            raw = raw.astype(np.float64)
        if raw.size and raw.dtype.kind not in "iuf":
            raise InvalidInputError(f"class ids must be integers, got dtype {raw.dtype}")
        if raw.dtype.kind == "f" and not (
            np.all(np.isfinite(raw)) and np.all(raw == np.round(raw))
        ):
            raise InvalidInputError("class ids must be whole numbers")
        # Checked before the cast: 1e30 or 2**64 - 1 would wrap around silently.
        if raw.size and (np.max(raw) >= MAX_CLASS_ID or np.min(raw) <= -MAX_CLASS_ID):
            raise InvalidInputError(f"class ids must be within +-2**53, got {raw.max()}")
        class_ids = raw.astype(np.int64)
        _check_length("class ids", class_ids, n)
        return class_ids

    def _features(self, n: int) -> FeatureArray | None:
        if self.features is None:
            return None
        features = _as_float_matrix("features", self.features, None, MAX_FEATURE_VALUE)
        _check_length("features", features, n)
        if features.shape[1] == 0:
            raise InvalidInputError("features must have at least one dimension")
        # The tracker works in float32: validate what it will see (1e39 is inf there).
        small = features.astype(np.float32)
        squared = np.einsum("ij,ij->i", small.astype(np.float64), small.astype(np.float64))
        if not np.all(np.isfinite(squared)) or (small.size and np.max(squared) > 3e38):
            raise InvalidInputError("features are too large for float32 (norm beyond 1e19)")
        return small

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_tlwh(
        cls,
        tlwh: ArrayLike,
        scores: ArrayLike | None = None,
        class_ids: ArrayLike | None = None,
        features: ArrayLike | None = None,
    ) -> Detections:
        """Build from ``(N, 4)`` top-left/width/height boxes."""
        return cls(tlwh, scores, class_ids, features)  # type: ignore[arg-type]

    @classmethod
    def from_xyxy(
        cls,
        xyxy: ArrayLike,
        scores: ArrayLike | None = None,
        class_ids: ArrayLike | None = None,
        features: ArrayLike | None = None,
    ) -> Detections:
        """Build from ``(N, 4)`` corner boxes (x1, y1, x2, y2)."""
        corners = _as_float_matrix("boxes", xyxy, 4)
        return cls(xyxy_to_tlwh(corners), scores, class_ids, features)  # type: ignore[arg-type]

    @classmethod
    def empty(cls, feature_dim: int | None = None) -> Detections:
        """A frame with no detections (optionally with a ``(0, feature_dim)`` feature array)."""
        features = None if feature_dim is None else np.zeros((0, feature_dim), np.float32)
        return cls(np.zeros((0, 4)), None, None, features)  # type: ignore[arg-type]

    # -- views -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.tlwh.shape[0])

    def __getitem__(self, index: Any) -> Detections:
        """A subset selected by a boolean mask, an index array or a slice."""
        features = None if self.features is None else self.features[index]
        return Detections(self.tlwh[index], self.scores[index], self.class_ids[index], features)

    def __repr__(self) -> str:
        dim = None if self.features is None else self.features.shape[1]
        return f"Detections(n={len(self)}, feature_dim={dim})"

    @property
    def xyxy(self) -> FloatArray:
        """``(N, 4)`` corner boxes."""
        return tlwh_to_xyxy(self.tlwh)

    @property
    def xyah(self) -> FloatArray:
        """``(N, 4)`` centre x, centre y, aspect ratio, height."""
        return tlwh_to_xyah(self.tlwh)

    @property
    def feature_dim(self) -> int | None:
        """Length of the feature vectors, or ``None`` when the frame has no features."""
        return None if self.features is None else int(self.features.shape[1])

    def with_features(self, features: ArrayLike | None) -> Detections:
        """The same boxes carrying ``features`` (``(N, D)``) instead."""
        return Detections(self.tlwh, self.scores, self.class_ids, features)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Detection:
    """One detection, for users who build frames object by object.

    A list of these is accepted wherever :class:`Detections` is.
    """

    tlwh: Sequence[float] | NDArray[np.floating[Any]]
    score: float = 1.0
    class_id: int = 0
    feature: Sequence[float] | NDArray[np.floating[Any]] | None = None


#: Box formats a raw detection array may be given in (``box_format=``).
BOX_FORMATS = ("tlwh", "xyxy")


def as_detections(
    obj: Any, features: ArrayLike | None = None, box_format: str | None = None
) -> Detections:
    """Coerce what users pass to ``Tracker.update`` into :class:`Detections`.

    Parameters
    ----------
    obj
        A :class:`Detections`; an iterable of :class:`Detection`; or, with ``box_format``, an
        array of shape ``(N, 4)``, ``(N, 5)`` or ``(N, 6)`` holding ``box[, score[, class_id]]``
        per row. ``None`` and empty sequences are a frame with no detections.
    features
        Optional ``(N, D)`` features for the array and list forms (overrides their own).
    box_format
        ``"tlwh"`` (top-left x, y, width, height) or ``"xyxy"`` (corners): how to read the
        boxes of a raw array. Required for a non-empty raw array: the two formats have the
        same shape, and a wrong guess gives wrong tracks without an error.

    Raises
    ------
    InvalidInputError
        If the input cannot be read as detections, or is a raw array without ``box_format``.
    """
    if box_format is not None and box_format not in BOX_FORMATS:
        raise InvalidInputError(f"box_format must be one of {BOX_FORMATS}, got {box_format!r}")
    if isinstance(obj, Detections):
        return obj if features is None else obj.with_features(features)
    if obj is None:
        return Detections.empty()
    if isinstance(obj, np.ndarray) or (
        isinstance(obj, Sequence) and len(obj) and not isinstance(obj[0], Detection)
    ):
        raw = _numeric("detections", obj)
        try:
            rows = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError, OverflowError) as exc:
            raise InvalidInputError(f"cannot read detections from this input: {exc}") from exc
        if rows.size == 0:
            return Detections(np.zeros((0, 4)), None, None, features)  # type: ignore[arg-type]
        if rows.ndim != 2 or rows.shape[1] not in (4, 5, 6):
            raise InvalidInputError(
                f"a detection array must have shape (N, 4), (N, 5) or (N, 6) "
                f"[box, score, class_id], got {rows.shape}"
            )
        if box_format is None:
            raise InvalidInputError(
                "a raw detection array does not say its box format: build "
                "Detections.from_xyxy(boxes, scores, class_ids) or Detections.from_tlwh(...), "
                "or pass box_format='xyxy' or 'tlwh'"
            )
        scores = rows[:, 4] if rows.shape[1] >= 5 else None
        class_ids = rows[:, 5] if rows.shape[1] == 6 else None
        build = Detections.from_xyxy if box_format == "xyxy" else Detections.from_tlwh
        return build(rows[:, :4], scores, class_ids, features)
    if isinstance(obj, Iterable):
        items = list(obj)
        if not items:
            return Detections(np.zeros((0, 4)), None, None, features)  # type: ignore[arg-type]
        if not all(isinstance(item, Detection) for item in items):
            raise InvalidInputError("a list of detections must hold only Detection objects")
        own = [item.feature for item in items]
        if features is None and any(f is not None for f in own):
            if any(f is None for f in own):
                raise InvalidInputError("either every Detection has a feature or none does")
            features = np.stack([np.asarray(f, dtype=np.float64).reshape(-1) for f in own])
        return Detections(
            np.array([np.asarray(item.tlwh, dtype=np.float64).reshape(-1) for item in items])
            if all(np.size(item.tlwh) == 4 for item in items)
            else _bad_box(),
            np.array([item.score for item in items], dtype=np.float64),
            np.array([item.class_id for item in items]),
            features,  # type: ignore[arg-type]
        )
    raise InvalidInputError(f"cannot read detections from {type(obj).__name__}")


def _bad_box() -> FloatArray:
    raise InvalidInputError("every Detection.tlwh must have 4 values")


__all__ = [
    "BOX_FORMATS",
    "Detection",
    "Detections",
    "as_detections",
    "iou_matrix",
    "iou_pairs",
    "overlapping_pairs",
    "tlwh_to_xyah",
    "tlwh_to_xywh",
    "tlwh_to_xyxy",
    "xyah_to_tlwh",
    "xywh_to_tlwh",
    "xyxy_to_tlwh",
]
