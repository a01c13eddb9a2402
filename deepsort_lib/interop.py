"""Conversions to and from the ecosystem's detection types: supervision and Ultralytics.

Everything here is duck-typed: neither ``supervision`` nor ``ultralytics`` is imported when
this module is, and :func:`from_supervision` / :func:`from_ultralytics` only read attributes
(``xyxy``, ``confidence``, ``class_id``; ``boxes.xyxy``, ``conf``, ``cls``), so any object of
the same shape works. :func:`to_supervision` imports ``supervision`` lazily, only to build its
result.

Per-detection metadata (supervision's ``data`` dict, masks) is not copied into
:class:`~deepsort_lib.boxes.Detections`: every row keeps its index instead, and
:func:`to_supervision` joins it back onto the tracks through ``Track.detection_index``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import InvalidInputError
from deepsort_lib.tracking.track import Track


def _to_numpy(value: Any, name: str) -> NDArray[Any]:
    """A numpy array from a numpy array, a list, or a (CUDA) torch tensor."""
    if hasattr(value, "detach"):  # torch tensor: leave the autograd graph, then the device
        value = value.detach()
    if hasattr(value, "cpu"):
        value = value.cpu()
    if hasattr(value, "numpy"):
        value = value.numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} cannot be read as an array: {exc}") from exc


def from_supervision(sv_detections: Any, features: ArrayLike | None = None) -> Detections:
    """Read a ``supervision.Detections`` into :class:`~deepsort_lib.boxes.Detections`.

    Rows are kept one for one and in order, so ``Track.detection_index`` indexes the input
    ``sv_detections`` (pass it to :func:`to_supervision` to carry its ``data`` and masks onto
    the tracks).

    Parameters
    ----------
    sv_detections
        Anything with ``xyxy`` ``(N, 4)`` corner boxes in pixels and optional ``confidence``
        ``(N,)`` and ``class_id`` ``(N,)`` (``None`` reads as scores 1 and class 0).
    features
        Optional ``(N, D)`` appearance features, one row per detection.

    Raises
    ------
    InvalidInputError
        If the object has no ``xyxy`` or its boxes are malformed (empty boxes included: drop
        them yourself, e.g. ``sv_detections[sv_detections.area > 0]``, so indices stay yours).
    """
    if not hasattr(sv_detections, "xyxy"):
        raise InvalidInputError(
            f"expected a supervision.Detections (with .xyxy), got {type(sv_detections).__name__}"
        )
    xyxy = _to_numpy(sv_detections.xyxy, "xyxy")
    if xyxy.size == 0:
        return Detections.empty(None if features is None else np.shape(features)[-1])
    confidence = getattr(sv_detections, "confidence", None)
    class_id = getattr(sv_detections, "class_id", None)
    return Detections.from_xyxy(
        xyxy,
        None if confidence is None else _to_numpy(confidence, "confidence"),
        None if class_id is None else _to_numpy(class_id, "class_id"),
        features,
    )


def _pick_rows(value: Any, index: NDArray[np.intp], matched: NDArray[np.bool_]) -> Any:
    """``value[index]`` for matched tracks; a blank (NaN / None / zeros) for unmatched ones."""
    if isinstance(value, list):
        return [value[i] if ok else None for i, ok in zip(index.tolist(), matched, strict=True)]
    array = np.asarray(value)
    if len(array) == 0:  # no detections this frame: every track is unmatched
        picked = np.zeros((len(index), *array.shape[1:]), dtype=array.dtype)
    else:
        picked = array[np.where(matched, index, 0)]
    if matched.all():
        return picked
    if array.dtype == np.bool_:  # masks: an unmatched track has no pixels
        picked[~matched] = False
    elif array.dtype.kind == "f":
        picked[~matched] = np.nan
    else:  # ints, strings, objects: None says "no detection this frame"
        picked = picked.astype(object)
        picked[~matched] = None
    return picked


def to_supervision(
    tracks: Sequence[Track],
    detections_in: Any = None,
    *,
    use_detection_box: bool = False,
) -> Any:
    """The tracks as a ``supervision.Detections`` with ``tracker_id`` set.

    Parameters
    ----------
    tracks
        What ``Tracker.update`` returned for this frame.
    detections_in
        The ``supervision.Detections`` the frame's detections were read from (see
        :func:`from_supervision`). Its ``data`` entries and ``mask`` follow each track through
        ``Track.detection_index``. A track reported without a detection this frame (see
        ``output_max_misses``) gets NaN in float data, ``None`` in other data and an empty mask.
    use_detection_box
        Report the matched detection's box instead of the Kalman filter's estimate.

    Returns
    -------
    supervision.Detections
        ``xyxy`` (pixels), ``confidence``, ``class_id``, ``tracker_id`` and, with
        ``detections_in``, its ``data`` and ``mask``; one row per track, in order.

    Raises
    ------
    ImportError
        If ``supervision`` is not installed.
    InvalidInputError
        If a track's ``detection_index`` is outside ``detections_in``.
    """
    import supervision as sv  # lazy: supervision is optional

    n = len(tracks)
    boxes = [t.detection_tlwh if use_detection_box else t.tlwh for t in tracks]
    tlwh = np.array(boxes, dtype=np.float64).reshape(n, 4)
    xyxy = tlwh.copy()
    xyxy[:, 2:] += tlwh[:, :2]
    data: dict[str, Any] = {}
    mask = None
    if detections_in is not None:
        size = len(_to_numpy(detections_in.xyxy, "xyxy"))
        raw = [t.detection_index for t in tracks]
        outside = [i for i in raw if i is not None and not 0 <= i < size]
        if outside:
            raise InvalidInputError(
                f"detection_index {outside[0]} is outside detections_in ({size} rows): pass "
                "the detections this frame's update was given"
            )
        matched = np.array([i is not None for i in raw], dtype=bool)
        index = np.array([0 if i is None else i for i in raw], dtype=np.intp)
        for key, value in (getattr(detections_in, "data", None) or {}).items():
            data[key] = _pick_rows(value, index, matched)
        if getattr(detections_in, "mask", None) is not None:
            mask = _pick_rows(_to_numpy(detections_in.mask, "mask"), index, matched)
    # Built in one call so that supervision validates the lengths of data and mask.
    return sv.Detections(
        xyxy=xyxy,
        mask=mask,
        confidence=np.array([t.confidence for t in tracks], dtype=np.float64),
        class_id=np.array([t.class_id for t in tracks], dtype=np.int64),
        tracker_id=np.array([t.track_id for t in tracks], dtype=np.int64),
        data=data,
    )


def from_ultralytics(results_or_boxes: Any, features: ArrayLike | None = None) -> Detections:
    """Read an Ultralytics ``Results`` (or its ``Boxes``) into :class:`Detections`.

    Parameters
    ----------
    results_or_boxes
        One frame's ``ultralytics.engine.results.Results`` (``model(frame)[0]``), a list holding
        exactly one, or its ``.boxes``. Tensors may live on any device; boxes are read from
        ``xyxy`` (pixels of the original image), scores from ``conf`` and classes from ``cls``.
    features
        Optional ``(N, D)`` appearance features, one row per box.

    Raises
    ------
    InvalidInputError
        If the object holds no axis-aligned boxes (e.g. an oriented-box or classification
        model) or several frames' results.
    """
    obj = results_or_boxes
    if isinstance(obj, (list, tuple)):
        if len(obj) != 1:
            raise InvalidInputError(
                f"got {len(obj)} Ultralytics results: pass one frame's Results (results[i])"
            )
        obj = obj[0]
    if not hasattr(obj, "xyxy") and hasattr(obj, "boxes"):
        if obj.boxes is None:
            raise InvalidInputError(
                "these Ultralytics results have no axis-aligned boxes (results.boxes is None): "
                "use a detection, segmentation or pose model"
            )
        obj = obj.boxes
    if not all(hasattr(obj, name) for name in ("xyxy", "conf", "cls")):
        raise InvalidInputError(
            f"expected Ultralytics Results or Boxes (xyxy, conf, cls), got {type(obj).__name__}"
        )
    xyxy = _to_numpy(obj.xyxy, "xyxy")
    if xyxy.size == 0:
        return Detections.empty(None if features is None else np.shape(features)[-1])
    return Detections.from_xyxy(
        xyxy.reshape(-1, 4),
        _to_numpy(obj.conf, "conf").reshape(-1),
        _to_numpy(obj.cls, "cls").reshape(-1),
        features,
    )


__all__ = ["from_supervision", "from_ultralytics", "to_supervision"]
