"""Annotating frames: track boxes and labels readable on crowded frames, counters, FPS.

Readability rules (crowded street scenes are the common case):

- **Colours** depend only on the track id. Hues step by the golden ratio (consecutive ids land
  far apart on the colour wheel) and brightness alternates between ids, so two neighbouring
  ids never get near-identical colours.
- **Contrast**: label text is black or white, whichever reads better on the label's colour
  (by its luma).
- **Placement**: labels are placed one by one, nearest objects (lowest box bottom) first,
  at the first free spot among: above the box, inside its top, below it, inside its bottom,
  then further up or down; a spot is free when it is inside the frame and overlaps no label
  already placed. When nothing is free the least-overlapping spot wins.
- **Text**: ``id`` alone when there is one class (no repeated "person"), ``id name`` otherwise.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.tracking.track import Track

if TYPE_CHECKING:
    from deepsort_lib.counting import CounterOverlay, LineCounter, ZoneCounter

Frame = NDArray[np.uint8]
Color = tuple[int, int, int]

# Golden-ratio hue steps spread consecutive ids far apart on the colour wheel.
_GOLDEN = 0.618033988749895
_FONT = cv2.FONT_HERSHEY_SIMPLEX
# (saturation, value) pairs cycled by id so ids with close hues still differ in brightness.
_SHADES = ((0.85, 0.95), (0.95, 0.65), (0.55, 0.95))


def color_for_id(track_id: int) -> Color:
    """A BGR colour that depends only on ``track_id`` (the same id, the same colour)."""
    tid = int(track_id)
    hue = (tid * _GOLDEN) % 1.0
    saturation, value = _SHADES[tid % len(_SHADES)]
    r, g, b = colorsys.hsv_to_rgb(hue, saturation, value)
    return round(b * 255), round(g * 255), round(r * 255)


def text_color_for(background: Color) -> Color:
    """Black or white (BGR), whichever contrasts more with ``background`` (BGR)."""
    b, g, r = background
    luma = 0.299 * r + 0.587 * g + 0.114 * b  # ITU-R BT.601
    return (0, 0, 0) if luma > 140 else (255, 255, 255)


def label_text(track: Track, class_names: Sequence[str] | None) -> str:
    """``"7"`` with at most one class name known, ``"7 car"`` when there are several."""
    if class_names is not None and len(class_names) > 1 and 0 <= track.class_id < len(class_names):
        return f"{track.track_id} {class_names[track.class_id]}"
    return str(track.track_id)


def _overlap_area(box: NDArray[np.float64], others: NDArray[np.float64]) -> float:
    if not len(others):
        return 0.0
    w = np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0])
    h = np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1])
    return float(np.sum(np.clip(w, 0, None) * np.clip(h, 0, None)))


def place_labels(
    boxes_xyxy: ArrayLike, label_sizes: ArrayLike, frame_size: tuple[int, int]
) -> NDArray[np.float64]:
    """Top-left corners for labels so that they avoid each other and stay in the frame.

    Parameters
    ----------
    boxes_xyxy
        ``(N, 4)`` object boxes (x1, y1, x2, y2) the labels belong to.
    label_sizes
        ``(N, 2)`` label (width, height) in pixels.
    frame_size
        (width, height) of the frame.

    Returns
    -------
    ndarray
        ``(N, 2)`` label top-left corners (x, y), in the input order.
    """
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    sizes = np.asarray(label_sizes, dtype=np.float64).reshape(-1, 2)
    width, height = frame_size
    corners = np.zeros((len(boxes), 2))
    placed = np.zeros((0, 4))
    # Nearest objects (lowest bottom edge) first: they are in front and get the best spots.
    for i in np.argsort(-boxes[:, 3], kind="stable"):
        x1, y1, _, y2 = boxes[i]
        lw, lh = sizes[i]
        left = min(max(x1, 0.0), max(width - lw, 0.0))
        tops = [y1 - lh, y1, y2, y2 - lh]  # above, inside top, below, inside bottom
        tops += [y1 - lh * k for k in range(2, 6)] + [y2 + lh * (k - 1) for k in range(2, 6)]
        best: tuple[float, float, float] | None = None
        for top in tops:
            top = min(max(top, 0.0), max(height - lh, 0.0))
            rect = np.array([left, top, left + lw, top + lh])
            cost = _overlap_area(rect, placed)
            if best is None or cost < best[0]:
                best = (cost, left, top)
            if cost == 0.0:
                break
        assert best is not None
        corners[i] = best[1:]
        placed = np.vstack([placed, [best[1], best[2], best[1] + lw, best[2] + lh]])
    return corners


def draw_tracks(
    frame: Frame,
    tracks: Sequence[Track],
    class_names: Sequence[str] | None = None,
    *,
    thickness: int = 2,
    font_scale: float = 0.5,
    use_detection_box: bool = False,
) -> Frame:
    """Draw each track's box and label on ``frame`` in place; returns it.

    Parameters
    ----------
    frame
        ``(H, W, 3)`` uint8 BGR image, modified in place.
    tracks
        Tracks to draw (typically the confirmed tracks of this frame).
    class_names
        Names indexed by class id; with one name (or none) labels show ids only.
    thickness, font_scale
        Line thickness and label size.
    use_detection_box
        Draw the matched detection box instead of the Kalman estimate.
    """
    if not tracks:
        return frame
    tlwh = np.array(
        [t.detection_tlwh if use_detection_box else t.tlwh for t in tracks], dtype=np.float64
    )
    xyxy = np.round(np.column_stack([tlwh[:, :2], tlwh[:, :2] + tlwh[:, 2:]])).astype(int)
    colors = [color_for_id(t.track_id) for t in tracks]
    texts = [label_text(t, class_names) for t in tracks]
    pad = 2
    metrics = [cv2.getTextSize(text, _FONT, font_scale, 1) for text in texts]
    sizes = np.array([(tw + 2 * pad, th + base + 2 * pad) for (tw, th), base in metrics])
    for (x1, y1, x2, y2), color in zip(xyxy, colors, strict=True):
        cv2.rectangle(frame, (int(x1), int(y1)), (int(x2), int(y2)), color, thickness)
    corners = place_labels(xyxy, sizes, (frame.shape[1], frame.shape[0]))
    for (left, top), (lw, lh), text, color, ((_, th), _) in zip(
        corners.astype(int), sizes, texts, colors, metrics, strict=True
    ):
        cv2.rectangle(frame, (int(left), int(top)), (int(left + lw), int(top + lh)), color, -1)
        cv2.putText(
            frame,
            text,
            (int(left) + pad, int(top) + pad + th),
            _FONT,
            font_scale,
            text_color_for(color),
            1,
            cv2.LINE_AA,
        )
    return frame


def _text_box(
    frame: Frame, text: str, origin: tuple[int, int], font_scale: float, *, above: bool = False
) -> None:
    """``text`` on a dark box whose top-left (bottom-left if ``above``) is ``origin``.

    The box is clamped into the frame.
    """
    (tw, th), base = cv2.getTextSize(text, _FONT, font_scale, 1)
    x = min(max(origin[0], 0), max(frame.shape[1] - tw - 8, 0))
    top = origin[1] - (th + base + 8) - 3 if above else origin[1]
    y = min(max(top, 0), max(frame.shape[0] - th - base - 8, 0))
    cv2.rectangle(frame, (x, y), (x + tw + 8, y + th + base + 8), (32, 32, 32), -1)
    cv2.putText(
        frame, text, (x + 4, y + th + 4), _FONT, font_scale, (255, 255, 255), 1, cv2.LINE_AA
    )


def draw_overlays(
    frame: Frame,
    overlays: Sequence[CounterOverlay],
    *,
    line_color: Color = (0, 255, 255),
    zone_color: Color = (255, 160, 0),
    zone_alpha: float = 0.2,
    font_scale: float = 0.55,
) -> Frame:
    """Draw counter overlays (lines, shaded zones, their summaries) on ``frame`` in place."""
    for overlay in overlays:
        points = np.round(overlay.points).astype(np.int32).reshape(-1, 1, 2)
        if overlay.closed:
            shaded = frame.copy()
            cv2.fillPoly(shaded, [points], zone_color)
            cv2.addWeighted(shaded, zone_alpha, frame, 1.0 - zone_alpha, 0.0, dst=frame)
            cv2.polylines(frame, [points], True, zone_color, 2, cv2.LINE_AA)
        else:
            start, end = (tuple(int(v) for v in p[0]) for p in points[:2])
            cv2.line(frame, start, end, line_color, 2, cv2.LINE_AA)
            for point in (start, end):
                cv2.circle(frame, point, 4, line_color, -1, cv2.LINE_AA)
        corner = (int(points[:, 0, 0].min()), int(points[:, 0, 1].min()))
        # A line's label sits above it so that the line stays visible; a zone's inside it.
        _text_box(frame, overlay.text, corner, font_scale, above=not overlay.closed)
    return frame


def draw_line_counter(
    frame: Frame,
    counter: LineCounter,
    class_names: Sequence[str] | None = None,
    *,
    color: Color = (0, 255, 255),
    font_scale: float = 0.55,
) -> Frame:
    """Draw a counting line and its ``in / out`` totals on ``frame`` in place; returns it."""
    overlay = counter.overlay(class_names)
    return draw_overlays(frame, [overlay], line_color=color, font_scale=font_scale)


def draw_zone(
    frame: Frame,
    zone: ZoneCounter,
    class_names: Sequence[str] | None = None,
    *,
    color: Color = (255, 160, 0),
    alpha: float = 0.2,
    font_scale: float = 0.55,
) -> Frame:
    """Shade a counting zone and write its occupancy and entries on ``frame`` in place."""
    overlay = zone.overlay(class_names)
    return draw_overlays(
        frame, [overlay], zone_color=color, zone_alpha=alpha, font_scale=font_scale
    )


def draw_fps(frame: Frame, fps: float, *, font_scale: float = 0.8) -> Frame:
    """Write ``FPS: <fps>`` in the top-left corner of ``frame`` in place; returns it."""
    text = f"FPS: {fps:.1f}"
    (tw, th), base = cv2.getTextSize(text, _FONT, font_scale, 2)
    cv2.rectangle(frame, (0, 0), (tw + 12, th + base + 12), (0, 0, 0), -1)
    cv2.putText(frame, text, (6, th + 6), _FONT, font_scale, (0, 255, 0), 2, cv2.LINE_AA)
    return frame


__all__ = [
    "color_for_id",
    "draw_fps",
    "draw_line_counter",
    "draw_overlays",
    "draw_tracks",
    "draw_zone",
    "label_text",
    "place_labels",
    "text_color_for",
]
