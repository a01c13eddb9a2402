"""Annotating frames: track boxes with ids and class names, stable colours, an FPS counter."""

from __future__ import annotations

import colorsys
from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from deepsort_lib.tracking.track import Track

Frame = NDArray[np.uint8]
Color = tuple[int, int, int]

# Golden-ratio hue steps spread consecutive ids far apart on the colour wheel.
_GOLDEN = 0.618033988749895


def color_for_id(track_id: int) -> Color:
    """A BGR colour that depends only on ``track_id`` (the same id, the same colour)."""
    hue = (int(track_id) * _GOLDEN) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 0.95)
    return int(b * 255), int(g * 255), int(r * 255)


def _label(track: Track, class_names: Sequence[str] | None) -> str:
    if class_names is not None and 0 <= track.class_id < len(class_names):
        return f"{track.track_id} {class_names[track.class_id]}"
    return str(track.track_id)


def draw_tracks(
    frame: Frame,
    tracks: Sequence[Track],
    class_names: Sequence[str] | None = None,
    *,
    thickness: int = 2,
    font_scale: float = 0.5,
    use_detection_box: bool = False,
) -> Frame:
    """Draw each track's box and label (``id class``) on ``frame`` in place; returns it.

    Parameters
    ----------
    frame
        ``(H, W, 3)`` uint8 BGR image, modified in place.
    tracks
        Tracks to draw (typically the confirmed tracks of this frame).
    class_names
        Names indexed by class id; omit to label with ids only.
    thickness, font_scale
        Line thickness and label size.
    use_detection_box
        Draw the matched detection box instead of the Kalman estimate.
    """
    for track in tracks:
        box = track.detection_tlwh if use_detection_box else track.tlwh
        x, y, w, h = (round(float(v)) for v in box)
        color = color_for_id(track.track_id)
        cv2.rectangle(frame, (x, y), (x + w, y + h), color, thickness)
        text = _label(track, class_names)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)
        top = max(y - th - base - 2, 0)
        left = max(min(x, frame.shape[1] - tw - 4), 0)  # keep the label inside the frame
        cv2.rectangle(frame, (left, top), (left + tw + 4, top + th + base + 2), color, -1)
        cv2.putText(
            frame,
            text,
            (left + 2, top + th + 1),
            cv2.FONT_HERSHEY_SIMPLEX,
            font_scale,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
    return frame


def draw_fps(frame: Frame, fps: float, *, font_scale: float = 0.8) -> Frame:
    """Write ``FPS: <fps>`` in the top-left corner of ``frame`` in place; returns it."""
    text = f"FPS: {fps:.1f}"
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 2)
    cv2.rectangle(frame, (0, 0), (tw + 12, th + base + 12), (0, 0, 0), -1)
    cv2.putText(
        frame,
        text,
        (6, th + 6),
        cv2.FONT_HERSHEY_SIMPLEX,
        font_scale,
        (0, 255, 0),
        2,
        cv2.LINE_AA,
    )
    return frame


__all__ = ["color_for_id", "draw_fps", "draw_tracks"]
