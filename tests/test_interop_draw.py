"""Readable annotation on crowded frames: label placement, contrast, text, colours, counters."""

from __future__ import annotations

import colorsys

import numpy as np

from deepsort_lib.counting import LineCounter, ZoneCounter
from deepsort_lib.io.draw import (
    color_for_id,
    draw_line_counter,
    draw_tracks,
    draw_zone,
    label_text,
    place_labels,
    text_color_for,
)
from deepsort_lib.tracking.track import Track, TrackState


def _track(tid: int, tlwh: list[float], class_id: int = 0) -> Track:
    box = np.array(tlwh, dtype=np.float64)
    return Track(
        tid, box, box, class_id, 0.9, TrackState.CONFIRMED, 3, 3, 0, 0, np.zeros(8), np.eye(8)
    )


def _overlaps(rects: np.ndarray) -> int:
    count = 0
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            a, b = rects[i], rects[j]
            if min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1]):
                count += 1
    return count


def test_labels_of_a_crowd_do_not_overlap_and_stay_in_frame() -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform([0, 60], [700, 420], size=(40, 2))
    wh = np.column_stack([rng.uniform(30, 60, 40), rng.uniform(80, 150, 40)])
    boxes = np.column_stack([xy, xy + wh])
    sizes = np.tile([70.0, 18.0], (40, 1))
    corners = place_labels(boxes, sizes, (768, 576))
    rects = np.column_stack([corners, corners + sizes])
    assert _overlaps(rects) == 0
    assert rects[:, :2].min() >= 0 and rects[:, 2].max() <= 768 and rects[:, 3].max() <= 576
    # Naive placement (above each box) collides a lot on the same scene.
    naive = np.column_stack([boxes[:, 0], boxes[:, 1] - 18, boxes[:, 0] + 70, boxes[:, 1]])
    assert _overlaps(naive) > 10


def test_a_lone_label_sits_just_above_its_box() -> None:
    corners = place_labels([[100, 100, 140, 200]], [[30, 15]], (640, 480))
    np.testing.assert_allclose(corners, [[100, 85]])
    # At the top of the frame it goes inside the box instead.
    corners = place_labels([[100, 0, 140, 200]], [[30, 15]], (640, 480))
    np.testing.assert_allclose(corners, [[100, 0]])


def test_text_colour_contrasts_with_background() -> None:
    assert text_color_for((255, 255, 255)) == (0, 0, 0)
    assert text_color_for((0, 255, 255)) == (0, 0, 0)  # yellow (BGR): dark text
    assert text_color_for((0, 0, 0)) == (255, 255, 255)
    assert text_color_for((255, 0, 0)) == (255, 255, 255)  # blue (BGR): light text


def test_one_class_labels_show_ids_only() -> None:
    track = _track(7, [0, 0, 10, 10], class_id=0)
    assert label_text(track, ["person"]) == "7"
    assert label_text(track, None) == "7"
    assert label_text(_track(7, [0, 0, 10, 10], class_id=1), ["person", "car"]) == "7 car"
    assert label_text(_track(7, [0, 0, 10, 10], class_id=9), ["person", "car"]) == "7"


def _hsv(color: tuple[int, int, int]) -> tuple[float, float, float]:
    b, g, r = color
    return colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)


def test_neighbouring_ids_get_distinct_colours() -> None:
    worst = 1e9
    for tid in range(1, 500):
        a = np.array(color_for_id(tid), dtype=float)
        b = np.array(color_for_id(tid + 1), dtype=float)
        worst = min(worst, float(np.linalg.norm(a - b)))
        ha, hb = _hsv(color_for_id(tid))[0], _hsv(color_for_id(tid + 1))[0]
        assert min(abs(ha - hb), 1 - abs(ha - hb)) > 0.3  # far apart on the hue wheel
    assert worst > 100  # in BGR units (0-255 per channel)


def test_draw_tracks_renders_labels_with_contrasting_text() -> None:
    canvas = np.zeros((200, 300, 3), np.uint8)
    tracks = [_track(i, [20 + 10 * i, 60, 40, 100]) for i in range(1, 8)]  # overlapping boxes
    out = draw_tracks(canvas, tracks, ["person"])
    assert out is canvas
    for track in tracks:
        colour = np.array(color_for_id(track.track_id), np.uint8)
        assert np.all(canvas == colour, axis=-1).sum() > 40  # its box edge and label were drawn
    # Text pixels in the label colours' contrast colour exist (black or white text).
    assert (np.all(canvas == 255, axis=-1) | np.all(canvas == 0, axis=-1)).any()
    assert draw_tracks(np.zeros((10, 10, 3), np.uint8), []).sum() == 0


def test_counters_are_drawn() -> None:
    canvas = np.zeros((240, 320, 3), np.uint8)
    line = LineCounter((0, 120), (320, 120))
    draw_line_counter(canvas, line)
    assert np.all(canvas[120, 160] == (0, 255, 255))  # the line, in its colour
    zone = ZoneCounter([[200, 150], [300, 150], [300, 230], [200, 230]])
    before = canvas[190, 250].copy()
    draw_zone(canvas, zone)
    assert np.any(canvas[190, 250] != before)  # shaded inside
    # Both summaries sit on dark text boxes next to their shapes.
    assert np.all(canvas[90:120, :100] == 32, axis=-1).sum() > 500
    assert np.all(canvas[150:175, 200:300] == 32, axis=-1).sum() > 500


def test_draw_overlays_from_snapshots() -> None:
    from deepsort_lib.counting import Counters
    from deepsort_lib.io.draw import draw_overlays

    counters = Counters.from_specs(["0,120,320,120"], ["200,150,300,150,300,230,200,230"])
    canvas = np.zeros((240, 320, 3), np.uint8)
    draw_overlays(canvas, counters.overlays())
    assert np.all(canvas[120, 160] == (0, 255, 255))
    assert np.any(canvas[200, 250] != 0)
    assert np.all(canvas[90:120, :100] == 32, axis=-1).sum() > 500
