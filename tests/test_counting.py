"""Line and zone counters: direction, classes, hysteresis against jitter, confirmed tracks only."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from deepsort_lib import ConfigurationError, Detections, InvalidInputError, Tracker
from deepsort_lib.counting import (
    LineCounter,
    ZoneCounter,
    anchor_points,
    points_in_polygon,
)
from deepsort_lib.tracking.track import Track, TrackState


def _box_with_feet_at(x: float, y: float, w: float = 20.0, h: float = 60.0) -> list[float]:
    """tlwh of a box whose bottom-centre is (x, y)."""
    return [x - w / 2, y - h, w, h]


def _walk(counter: LineCounter, ys: list[float], track_id: int = 1, class_id: int = 0) -> None:
    for y in ys:
        counter.update_arrays([track_id], [_box_with_feet_at(300, y)], [class_id])


def test_direction_follows_the_supervision_convention() -> None:
    line = LineCounter((0, 200), (640, 200), min_frames=2)
    _walk(line, list(range(150, 260, 10)))  # down the image
    assert (line.in_count, line.out_count) == (0, 1)
    _walk(line, list(range(260, 140, -10)), track_id=2)  # up
    assert (line.in_count, line.out_count) == (1, 1)
    reverse = LineCounter((640, 200), (0, 200), min_frames=2)
    _walk(reverse, list(range(150, 260, 10)))
    assert (reverse.in_count, reverse.out_count) == (1, 0)


def test_per_class_counts_and_summary() -> None:
    line = LineCounter((0, 200), (640, 200), min_frames=1, name="gate")
    _walk(line, [150, 250], track_id=1, class_id=0)
    _walk(line, [150, 250], track_id=2, class_id=0)
    _walk(line, [250, 150], track_id=3, class_id=2)
    assert line.counts_by_class == {0: {"in": 0, "out": 2}, 2: {"in": 1, "out": 0}}
    assert line.summary(["person", "bike", "car"]) == "gate: in 1 (car 1), out 2 (person 2)"
    assert line.to_dict()["out"] == 2


def test_jitter_on_the_line_never_counts() -> None:
    rng = np.random.default_rng(0)
    line = LineCounter((0, 200), (640, 200), min_distance=5, min_frames=3)
    _walk(line, [150.0] * 3)  # establishes the side
    # Sub-threshold wobble, then single-frame excursions past the dead band.
    _walk(line, list(200 + rng.uniform(-4.9, 4.9, size=200)))
    _walk(line, [192, 208, 192, 209, 195, 210, 207, 190] * 10)
    assert (line.in_count, line.out_count) == (0, 0)


def test_a_crossing_with_jitter_counts_once() -> None:
    line = LineCounter((0, 200), (640, 200), min_distance=5, min_frames=3)
    ys = [150, 170, 190, 198, 203, 197, 204, 199, 206, 210, 208, 212, 215, 209, 220, 240]
    _walk(line, [float(y) for y in ys])
    assert (line.in_count, line.out_count) == (0, 1)
    # Loitering just past the line afterwards changes nothing.
    _walk(line, [float(y) for y in 210 + 4 * np.sin(np.arange(100))])
    assert (line.in_count, line.out_count) == (0, 1)


def test_only_crossings_within_the_segment_count() -> None:
    line = LineCounter((100, 200), (300, 200), min_frames=1)
    for y in (150, 250):  # crosses the infinite line at x = 500, beyond the segment
        line.update_arrays([1], [_box_with_feet_at(500, y)])
    assert line.in_count + line.out_count == 0


def test_new_tracks_start_without_counting() -> None:
    # A fresh identity has no "previous side": flickering ids cannot inflate counts.
    line = LineCounter((0, 200), (640, 200), min_frames=1)
    for track_id, y in enumerate([190, 210] * 50, start=1):
        line.update_arrays([track_id], [_box_with_feet_at(300, y)])
    assert line.in_count + line.out_count == 0


def _track(track_id: int, tlwh: list[float], state: TrackState) -> Track:
    box = np.array(tlwh)
    return Track(track_id, box, box, 0, 0.9, state, 3, 3, 0, 0, np.zeros(8), np.eye(8))


def test_tentative_tracks_are_ignored() -> None:
    line = LineCounter((0, 200), (640, 200), min_frames=1)
    for y in (150, 250):
        line.update([_track(1, _box_with_feet_at(300, y), TrackState.TENTATIVE)])
    assert line.out_count == 0
    for y in (150, 250):
        line.update([_track(2, _box_with_feet_at(300, y), TrackState.CONFIRMED)])
    assert line.out_count == 1


def test_counts_tracks_from_a_real_tracker() -> None:
    tracker = Tracker(n_init=3)
    line = LineCounter((0, 200), (640, 200), min_distance=3, min_frames=2)
    for step in range(30):  # two people walking down, one up, 6 px per frame
        feet = [(100, 110 + 6 * step), (300, 120 + 6 * step), (500, 300 - 6 * step)]
        dets = Detections.from_tlwh([_box_with_feet_at(x, y) for x, y in feet])
        line.update(tracker.update(dets))
    assert (line.in_count, line.out_count) == (1, 2)


def test_supervision_linezone_inflates_flickering_ids() -> None:
    import supervision as sv  # in the test extra

    zone = sv.LineZone(
        sv.Point(0, 200), sv.Point(640, 200), triggering_anchors=[sv.Position.BOTTOM_CENTER]
    )
    ours = LineCounter((0, 200), (640, 200))
    rng = np.random.default_rng(1)
    track_id = 1
    for frame in range(300):  # one person standing on the line; the id flickers
        if frame % 7 == 0:
            track_id += 1
        tlwh = np.array([_box_with_feet_at(300, 200 + rng.uniform(-12, 12))])
        xyxy = tlwh.copy()
        xyxy[:, 2:] += xyxy[:, :2]
        zone.trigger(sv.Detections(xyxy=xyxy, tracker_id=np.array([track_id])))
        ours.update_arrays([track_id], tlwh)
    # supervision 0.31 counts 125 crossings here (every new id on the other side), we count 3.
    assert zone.in_count + zone.out_count >= 40
    assert ours.in_count + ours.out_count <= 3


def test_line_configuration_errors() -> None:
    with pytest.raises(ConfigurationError):
        LineCounter((0, 0), (0, 0))
    with pytest.raises(ConfigurationError):
        LineCounter((0, 0), (1, 1), min_frames=0)
    with pytest.raises(ConfigurationError):
        LineCounter((0, 0), (1, 1), anchor="feet")  # type: ignore[arg-type]
    for bad in ("1,2,3", "a,b,c,d", ""):
        with pytest.raises(ConfigurationError, match="x1,y1,x2,y2"):
            LineCounter.parse(bad)
    line = LineCounter.parse("0,200,640,200", min_frames=1)
    assert line.start == (0.0, 200.0) and line.min_frames == 1


def test_bad_arrays_leave_the_counter_unchanged() -> None:
    line = LineCounter((0, 200), (640, 200), min_frames=1)
    _walk(line, [150])
    with pytest.raises(InvalidInputError, match="unique"):
        line.update_arrays([1, 1], [_box_with_feet_at(0, 250)] * 2)
    with pytest.raises(InvalidInputError, match="shape"):
        line.update_arrays([1], [[1, 2, 3]])
    with pytest.raises(InvalidInputError, match="NaN"):
        line.update_arrays([1], [[np.nan, 2, 3, 4]])
    _walk(line, [250])
    assert line.out_count == 1


def test_state_of_vanished_tracks_is_forgotten() -> None:
    line = LineCounter((0, 200), (640, 200), forget_after=10)
    for track_id in range(1, 1001):
        line.update_arrays([track_id], [_box_with_feet_at(300, 100)])
    assert len(line._table.ids) <= 11


def test_empty_frames_and_anchors() -> None:
    line = LineCounter((0, 200), (640, 200))
    events = line.update([])
    assert len(events.in_ids) == len(events.out_ids) == 0
    np.testing.assert_allclose(anchor_points([[10, 20, 30, 40]]), [[25, 60]])
    np.testing.assert_allclose(anchor_points([[10, 20, 30, 40]], "center"), [[25, 40]])
    np.testing.assert_allclose(anchor_points([[10, 20, 30, 40]], "top_left"), [[10, 20]])


def test_points_in_polygon_agrees_with_opencv() -> None:
    rng = np.random.default_rng(2)
    concave = np.array([[0, 0], [200, 0], [200, 200], [100, 60], [0, 200]], dtype=np.float64)
    points = rng.uniform(-20, 220, size=(2000, 2))
    ours = points_in_polygon(points, concave)
    contour = concave.astype(np.float32).reshape(-1, 1, 2)
    cv = np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), True) for x, y in points])
    clear = np.abs(cv) > 1e-6  # points on an edge may go either way
    np.testing.assert_array_equal(ours[clear], cv[clear] > 0)


def test_zone_occupancy_entries_and_exits() -> None:
    zone = ZoneCounter([[100, 100], [300, 100], [300, 300], [100, 300]], min_frames=2)
    # Track 1 walks in and stays; track 2 (class 2) starts inside; track 3 passes outside.
    for step in range(10):
        ids = [1, 2, 3]
        feet = [(50 + 20 * step, 200), (200, 250), (400, 50 + 10 * step)]
        zone.update_arrays(ids, [_box_with_feet_at(x, y) for x, y in feet], [0, 2, 0])
    assert zone.occupancy == 2 and zone.occupancy_by_class == {0: 1, 2: 1}
    assert zone.entries == 2 and zone.exits == 0
    assert zone.counts_by_class == {0: {"entries": 1, "exits": 0}, 2: {"entries": 1, "exits": 0}}
    for _ in range(3):  # track 2 leaves
        zone.update_arrays(
            [1, 2], [_box_with_feet_at(250, 200), _box_with_feet_at(400, 400)], [0, 2]
        )
    assert (zone.occupancy, zone.exits) == (1, 1)
    assert zone.summary(["person", "bike", "car"]).startswith("zone: inside 1, entries 2")


def test_zone_boundary_jitter_counts_one_entry() -> None:
    zone = ZoneCounter([[100, 100], [300, 100], [300, 300], [100, 300]], min_frames=3)
    for x in [80, 90, 95] + [98, 103, 97, 104, 99, 102] * 20 + [120, 130, 140, 150]:
        zone.update_arrays([1], [_box_with_feet_at(x, 200)])
    assert (zone.entries, zone.exits, zone.occupancy) == (1, 0, 1)


def test_zone_parse_and_errors() -> None:
    zone = ZoneCounter.parse("0,0,10,0,10,10")
    assert zone.polygon.shape == (3, 2)
    for bad in ("0,0,10,0", "0,0,10,0,10", "x,0,1,1,2,2"):
        with pytest.raises(ConfigurationError, match="x1,y1"):
            ZoneCounter.parse(bad)
    with pytest.raises(ConfigurationError):
        ZoneCounter([[0, 0], [1, 1]])


def test_counting_imports_no_opencv() -> None:
    code = "import sys, deepsort_lib.counting\nassert 'cv2' not in sys.modules\n"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_counters_group_as_a_pipeline_sink() -> None:
    from deepsort_lib.counting import Counters
    from deepsort_lib.io.recorder import TrackRecorder
    from deepsort_lib.pipeline import Pipeline

    counters = Counters.from_specs(
        ["0,200,640,200"], ["400,0,640,0,640,480,400,480"], ["person"], min_frames=2
    )
    assert [c.name for c in counters] == ["line 1", "zone 1"]
    recorder = TrackRecorder()
    frames = {}
    for frame in range(1, 41):  # one person walking down, one walking right into the zone
        feet = [(100, 100 + 5 * frame), (300 + 5 * frame, 100)]
        frames[frame] = Detections.from_tlwh([_box_with_feet_at(x, y) for x, y in feet])
    results = list(Pipeline(None, Tracker()).run(cache=frames, sinks=[counters, recorder]))
    assert len(results) == 40 and len(recorder) > 0
    line, zone = counters
    assert (line.in_count, line.out_count) == (0, 1)
    assert (zone.entries, zone.occupancy) == (1, 1)
    assert counters.summary() == ["line 1: in 0, out 1", "zone 1: inside 1, entries 1, exits 0"]
    assert [d["name"] for d in counters.to_dict()] == ["line 1", "zone 1"]
    overlays = counters.overlays()
    assert not overlays[0].closed and overlays[1].closed
    assert overlays[0].text == "line 1: in 0, out 1"
    # An overlay is a snapshot: counting on does not change what will be drawn.
    counters.update([])
    line.reset()
    assert overlays[0].text == "line 1: in 0, out 1"


def test_counters_from_bad_specs() -> None:
    from deepsort_lib.counting import Counters

    with pytest.raises(ConfigurationError, match="x1,y1,x2,y2"):
        Counters.from_specs(["1,2,3"])
    with pytest.raises(ConfigurationError, match="x1,y1"):
        Counters.from_specs([], ["1,2,3,4"])
    assert len(Counters.from_specs()) == 0
