"""ReentryTracker: persistent ids over any tracker, re-entry, no duplicates, shared cameras."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from deepsort_lib import Detections, Tracker
from deepsort_lib.errors import ConfigurationError, InvalidInputError
from deepsort_lib.protocols import PredictingTracker, TrackLike
from deepsort_lib.tracking.identity import IdentityMemory
from deepsort_lib.tracking.reentry import ReentryTrack, ReentryTracker
from tests.fakes import RecordingTracker

D = 32


def _looks(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, D))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


class Scene:
    """People walking on a line; each person visible on given frame ranges at given places."""

    def __init__(self, noise: float = 0.3, seed: int = 1) -> None:
        self.looks = _looks(8)
        self.rng = np.random.default_rng(seed)
        self.noise = noise
        self.people: list[tuple[int, range, float, float, float]] = []
        #: Added to every look before the noise: this camera's colour cast.
        self.cast = np.zeros(D)

    def add(self, who: int, frames: range, x0: float, y: float, vx: float) -> None:
        self.people.append((who, frames, x0, y, vx))

    def frame(self, f: int) -> tuple[Detections, list[int]]:
        boxes, feats, who = [], [], []
        for pid, frames, x0, y, vx in self.people:
            if f in frames:
                boxes.append([x0 + vx * (f - frames.start), y, 40.0, 100.0])
                look = self.looks[pid] + self.cast
                g = look / np.linalg.norm(look) + self.noise * self.rng.normal(size=D) / np.sqrt(D)
                feats.append(g / np.linalg.norm(g))
                who.append(pid)
        dets = Detections.from_tlwh(
            np.array(boxes).reshape(-1, 4),
            np.ones(len(boxes)),
            None,
            np.array(feats, np.float32).reshape(-1, D),
        )
        return dets, who


def _run(tracker, scene: Scene, n: int) -> dict[int, dict[int, int]]:
    """frame -> {person: reported id}; also asserts ids are unique within every frame."""
    out: dict[int, dict[int, int]] = {}
    for f in range(n):
        dets, who = scene.frame(f)
        tracks = tracker.update(dets)
        ids = [t.track_id for t in tracks]
        assert len(ids) == len(set(ids)), f"duplicate ids in frame {f}: {ids}"
        out[f] = {
            who[t.detection_index]: t.track_id for t in tracks if t.detection_index is not None
        }
    return out


def _ids_of(result: dict[int, dict[int, int]], person: int, frames: range) -> set[int]:
    return {result[f][person] for f in frames if person in result[f]}


def _reentry_scene() -> Scene:
    scene = Scene()
    scene.add(0, range(0, 60), 50, 100, 2.0)  # leaves at frame 60 ...
    scene.add(0, range(120, 200), 560, 100, -2.0)  # ... and re-enters on the other side
    scene.add(1, range(0, 200), 300, 300, 0.5)  # always there
    scene.add(2, range(130, 200), 100, 200, 1.0)  # a new person, after 0 left
    return scene


def test_plain_tracker_gives_a_new_id_after_re_entry() -> None:
    result = _run(Tracker(), _reentry_scene(), 200)
    assert _ids_of(result, 0, range(0, 60)).isdisjoint(_ids_of(result, 0, range(120, 200)))


def test_re_entry_continues_the_old_id_and_a_new_person_gets_a_new_one() -> None:
    tracker = ReentryTracker(Tracker(), IdentityMemory(retention=500, max_speed=0.1))
    result = _run(tracker, _reentry_scene(), 200)
    before = _ids_of(result, 0, range(0, 60))
    after = _ids_of(result, 0, range(120, 200))
    assert len(before) == 1 and after == before
    newcomer = _ids_of(result, 2, range(130, 200))
    assert len(newcomer) == 1 and newcomer.isdisjoint(before | _ids_of(result, 1, range(200)))
    assert _ids_of(result, 1, range(200)) != before


def test_reported_tracks_keep_the_inner_track_and_local_id() -> None:
    scene = _reentry_scene()
    tracker = ReentryTracker(Tracker(), IdentityMemory(retention=500), camera="cam7")
    reentered = []
    for f in range(200):
        dets, _ = scene.frame(f)
        for t in tracker.update(dets):
            assert isinstance(t, ReentryTrack) and isinstance(t, TrackLike)
            assert t.camera == "cam7" and t.state == t.track.state  # forwarded attribute
            assert np.array_equal(t.xyxy, t.track.xyxy)
            assert tracker.persistent_id(t.local_id) == t.track_id
            if t.reidentified:
                reentered.append((t.track_id, t.local_id))
    assert reentered and all(gid != lid for gid, lid in reentered)


def test_no_match_beyond_retention() -> None:
    tracker = ReentryTracker(Tracker(), IdentityMemory(retention=30, max_speed=0.1))
    result = _run(tracker, _reentry_scene(), 200)
    assert _ids_of(result, 0, range(0, 60)).isdisjoint(_ids_of(result, 0, range(120, 200)))


def test_seconds_with_fps() -> None:
    # Gap of ~60 frames = 2.4 s at 25 fps: 3 s retention keeps it, 2 s does not.
    keep = ReentryTracker(Tracker(), IdentityMemory(retention=3.0, max_speed=3.0), fps=25.0)
    drop = ReentryTracker(Tracker(), IdentityMemory(retention=2.0, max_speed=3.0), fps=25.0)
    kept, dropped = _run(keep, _reentry_scene(), 200), _run(drop, _reentry_scene(), 200)
    assert _ids_of(kept, 0, range(60)) == _ids_of(kept, 0, range(120, 200))
    assert _ids_of(dropped, 0, range(60)).isdisjoint(_ids_of(dropped, 0, range(120, 200)))


def test_a_new_person_looking_different_is_not_given_the_lost_id() -> None:
    scene = Scene()
    scene.add(0, range(0, 60), 50, 100, 2.0)
    scene.add(3, range(100, 200), 560, 100, -2.0)  # someone else, where 0 would re-enter
    tracker = ReentryTracker(Tracker(), IdentityMemory(retention=500))
    result = _run(tracker, scene, 200)
    assert _ids_of(result, 0, range(60)).isdisjoint(_ids_of(result, 3, range(100, 200)))


def test_identity_found_again_by_the_inner_tracker_keeps_its_id() -> None:
    # A short miss: the inner tracker re-matches its own track; the memory entry made while
    # it was unreported is withdrawn, and the id stays.
    scene = Scene()
    scene.add(0, range(0, 40), 50, 100, 2.0)
    scene.add(0, range(45, 100), 50 + 2 * 45, 100, 2.0)
    tracker = ReentryTracker(Tracker(), IdentityMemory(retention=500))
    result = _run(tracker, scene, 100)
    assert len(_ids_of(result, 0, range(100))) == 1
    assert len(tracker.memory) == 0


def test_claimed_identity_is_not_reported_twice() -> None:
    # Person 0 is unreported for a few frames while a look-alike starts nearby and claims
    # the identity; when the inner tracker finds person 0's old track again it must get a
    # fresh id (the check of unique ids per frame is inside _run).
    scene = Scene(noise=0.05)
    scene.add(0, range(0, 30), 50, 100, 1.0)
    scene.add(0, range(38, 80), 50 + 38, 100, 1.0)
    scene.add(0, range(33, 80), 160, 100, 0.0)  # the same look, a second box
    tracker = ReentryTracker(Tracker(), IdentityMemory(retention=500, max_speed=1.0))
    by_local: dict[int, set[int]] = defaultdict(set)
    for f in range(80):
        tracks = tracker.update(scene.frame(f)[0])
        ids = [t.track_id for t in tracks]
        assert len(ids) == len(set(ids)), f"duplicate ids in frame {f}: {ids}"
        for t in tracks:
            by_local[t.local_id].add(t.track_id)
    # Inner track 2 (the second box) claimed id 1; inner track 1, found again, got id 2.
    assert by_local == {1: {1, 2}, 2: {1}}


def test_generic_tracker_without_a_tracks_list() -> None:
    # RecordingTracker (greedy IoU, no `tracks` attribute): identities are released when
    # they stop being reported, and re-entry still works.
    scene = _reentry_scene()
    tracker = ReentryTracker(RecordingTracker(), IdentityMemory(retention=500, max_speed=0.1))
    result = _run(tracker, scene, 200)
    assert _ids_of(result, 0, range(0, 60)) == _ids_of(result, 0, range(120, 200))


def test_predict_is_passed_through() -> None:
    scene = _reentry_scene()
    tracker = ReentryTracker(Tracker(), IdentityMemory(retention=500))
    assert isinstance(tracker, PredictingTracker)
    for f in range(10):
        tracker.update(scene.frame(f)[0])
    before = {t.track_id for t in tracker.update(scene.frame(10)[0])}
    predicted = tracker.predict()
    assert {t.track_id for t in predicted} == before
    assert all(t.detection_index is None for t in predicted)
    assert tracker.now == 12.0


def test_predict_without_inner_predict_is_a_configuration_error() -> None:
    class UpdateOnly:
        def update(self, detections):  # type: ignore[no-untyped-def]
            return []

    with pytest.raises(ConfigurationError):
        ReentryTracker(UpdateOnly()).predict()
    with pytest.raises(ConfigurationError):
        ReentryTracker(object())


def test_bad_input_leaves_the_wrapper_unchanged() -> None:
    scene = _reentry_scene()
    tracker = ReentryTracker(Tracker(), IdentityMemory(retention=500))
    for f in range(20):
        tracker.update(scene.frame(f)[0])
    frame_before, locals_before = tracker.now, dict(tracker._locals)
    with pytest.raises(InvalidInputError):
        tracker.update(np.ones((2, 4)))  # raw array without box_format
    assert tracker.now == frame_before and tracker._locals == locals_before


def test_ids_match_the_plain_tracker_when_nothing_is_re_identified() -> None:
    # With a threshold no pair can meet, the wrapper only renames: same boxes every frame,
    # and a one-to-one map between its ids and the plain tracker's.
    scene_a, scene_b = _reentry_scene(), _reentry_scene()
    plain = Tracker()
    wrapped = ReentryTracker(Tracker(), IdentityMemory(max_cosine_distance=0.0, calibrate=False))
    mapping: dict[int, int] = {}
    for f in range(200):
        a = plain.update(scene_a.frame(f)[0])
        b = wrapped.update(scene_b.frame(f)[0])
        assert [t.tlwh.tolist() for t in a] == [t.tlwh.tolist() for t in b]
        for ta, tb in zip(a, b, strict=True):
            assert mapping.setdefault(tb.track_id, ta.track_id) == ta.track_id
    assert len(set(mapping.values())) == len(mapping)


def _run_cameras(
    cameras: dict[str, tuple[ReentryTracker, Scene]], n: int
) -> dict[tuple[str, int], list[ReentryTrack]]:
    """(camera, person) -> the tracks reported for that person, frame by frame, with every
    camera updated once per frame in lockstep."""
    out: dict[tuple[str, int], list[ReentryTrack]] = defaultdict(list)
    for f in range(n):
        for name, (cam, scene) in cameras.items():
            dets, who = scene.frame(f)
            for t in cam.update(dets):
                if t.detection_index is not None:
                    out[(name, who[t.detection_index])].append(t)
    return out


def test_two_cameras_share_one_memory_with_a_transit_time() -> None:
    memory = IdentityMemory(retention=500, min_transit=20, cross_camera_max_cosine_distance=0.3)
    cam_a = ReentryTracker(Tracker(), memory, camera="a")
    cam_b = ReentryTracker(Tracker(), memory, camera="b")
    scene_a, scene_b = Scene(seed=2), Scene(seed=3)
    scene_a.add(0, range(0, 50), 50, 100, 2.0)
    scene_a.add(1, range(0, 150), 300, 300, 0.0)
    scene_b.add(0, range(90, 150), 400, 50, -1.0)  # 40 frames after leaving camera a
    scene_b.add(4, range(55, 150), 100, 300, 1.0)  # someone else, during the transit
    seen = _run_cameras({"a": (cam_a, scene_a), "b": (cam_b, scene_b)}, 150)
    ids = defaultdict(set, {k: {t.track_id for t in v} for k, v in seen.items()})
    local = defaultdict(set, {k: {t.local_id for t in v} for k, v in seen.items()})
    assert ids[("a", 0)] == ids[("b", 0)] and len(ids[("a", 0)]) == 1
    assert ids[("b", 4)].isdisjoint(ids[("a", 0)] | ids[("a", 1)])
    # Per-camera ids stay each camera's own numbering.
    assert local[("a", 0)] == {1} and 1 in local[("b", 4)] | local[("b", 0)]


def test_a_traveller_refused_while_the_camera_pair_warms_up_is_recovered_later() -> None:
    # Camera b casts every look by 0.3: a traveller is ~0.045 from its camera-a self, four
    # times the calibrated threshold. The first traveller comes while the pair has no cast
    # in use: refused, under a provisional id; once the pair's cast comes into use, it asks
    # again and continues its camera-a id. A look-alike newcomer asks again too, and stays
    # new. (Before 2026-12-08 a floor at 0.25 accepted both at once.)
    rng = np.random.default_rng(5)
    memory = IdentityMemory(retention=1000, min_transit=5)
    memory.observe_distances(rng.uniform(0.002, 0.01, 200), rng.uniform(0.6, 1.0, 200))
    cam_a = ReentryTracker(Tracker(), memory, camera="a")
    cam_b = ReentryTracker(Tracker(), memory, camera="b")
    scene_a, scene_b = Scene(seed=2), Scene(seed=3)
    for scene in (scene_a, scene_b):
        scene.looks[5] = scene.looks[6] + 0.35 * _looks(1, seed=9)[0]  # 6's look-alike
        scene.looks[5] /= np.linalg.norm(scene.looks[5])
    scene_b.cast = 0.3 * _looks(1, seed=8)[0]
    for person in (0, 1, 2, 3, 4, 6):
        scene_a.add(person, range(0, 30), 40.0 + 90 * person, 100, 0.5)
    scene_b.add(0, range(40, 160), 40, 300, 0.5)
    scene_b.add(5, range(46, 160), 130, 300, 0.5)
    for k, person in enumerate((1, 2, 3, 4)):
        scene_b.add(person, range(55 + 10 * k, 160), 220.0 + 90 * k, 300, 0.5)
    seen = _run_cameras({"a": (cam_a, scene_a), "b": (cam_b, scene_b)}, 160)
    ids = {k: [t.track_id for t in v] for k, v in seen.items()}
    first_a = {p: ids[("a", p)][0] for p in (0, 1, 2, 3, 4, 6)}
    assert ids[("b", 0)][0] != first_a[0]  # refused in warm-up ...
    assert ids[("b", 0)][-1] == first_a[0]  # ... recovered once the pair had its cast
    assert set(ids[("b", 5)]).isdisjoint(first_a.values())  # the look-alike stays new
    last_b = [ids[("b", p)][-1] for p in (0, 1, 2, 3, 4, 5)]
    assert len(set(last_b)) == len(last_b)
    assert all(last_b[p] in (first_a[p], ids[("b", p)][0]) for p in range(5))


def test_len_follows_the_inner_tracker_or_the_reported_tracks() -> None:
    scene = _reentry_scene()
    inner = Tracker()
    wrapped = ReentryTracker(inner)
    generic = ReentryTracker(RecordingTracker())
    for f in range(5):
        wrapped.update(scene.frame(f)[0])
        reported = generic.update(scene.frame(f)[0])
    assert len(wrapped) == len(inner)
    assert len(generic) == len(reported) == 2


def test_the_default_pipeline_turns_reentry_on_only_for_a_reid_encoder() -> None:
    from deepsort_lib.models.classic import ClassicEncoder
    from deepsort_lib.pipeline import Pipeline

    class ReidModel:
        def encode(self, frame: object, tlwh: np.ndarray) -> np.ndarray:
            return np.ones((len(tlwh), 4), np.float32) / 2

    with_model = Pipeline(None, None, ReidModel())
    assert isinstance(with_model.tracker, ReentryTracker)
    assert with_model.tracker.memory.retention == 30.0 * 25
    assert with_model.tracker.tracker.config == Tracker.from_preset("recommended").config
    for encoder in (None, ClassicEncoder()):
        plain = Pipeline(None, None, encoder).tracker
        assert isinstance(plain, Tracker)
        assert plain.config == Tracker.from_preset("recommended").config


def test_the_default_memory_counts_frames_at_the_sources_rate() -> None:
    from deepsort_lib.tracking.reentry_defaults import reentry_memory, with_reentry

    at_10 = reentry_memory(30.0, 10.0)
    # No motion gate (people come back by any edge), the threshold calibrated online.
    assert at_10.retention == 300 and at_10.max_speed is None
    assert at_10.calibration is not None
    inner = Tracker()
    assert with_reentry(inner, None, 25.0) is inner
    wrapped = with_reentry(inner, 12.0, None)  # a source without a rate: 25 fps
    assert isinstance(wrapped, ReentryTracker) and wrapped.memory.retention == 300
    for seconds, fps in ((30.0, 0.0), (0.0, 25.0), (float("nan"), 25.0)):
        with pytest.raises(ConfigurationError):
            reentry_memory(seconds, fps)
