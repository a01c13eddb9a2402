"""End to end on the first 100 frames of vtest.avi: HOG detector → encoder → Deep SORT."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepsort_lib import Encoder, Tracker
from deepsort_lib.io.mot import read_mot
from deepsort_lib.io.sinks import MotSink, TrackLogSink, VideoSink
from deepsort_lib.io.video import open_source
from deepsort_lib.models.classic import ClassicEncoder
from deepsort_lib.models.hog import HOGDetector
from deepsort_lib.pipeline import FrameResult, Pipeline, RunSummary

N_FRAMES = 100

pytestmark = pytest.mark.slow


def make_encoder(name: str) -> Encoder | None:
    return ClassicEncoder() if name == "classic" else None


@pytest.fixture(scope="module", params=["classic", "none"])
def run(
    request: pytest.FixtureRequest, vtest: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[FrameResult], RunSummary]:
    out = tmp_path_factory.mktemp("e2e")
    results: list[FrameResult] = []
    with open_source(vtest) as source:
        sinks = [
            VideoSink(out / "tracked.mp4", source.fps, class_names=["person"], show_fps=True),
            MotSink(out / "tracks.txt"),
            TrackLogSink(out / "tracks.jsonl"),
        ]
        pipe = Pipeline(HOGDetector(), Tracker(), make_encoder(request.param))
        summary = pipe.process(source, sinks=sinks, max_frames=N_FRAMES, on_frame=results.append)
    return out, results, summary


def test_tracks_come_out_and_ids_persist(run: tuple[Path, list[FrameResult], RunSummary]) -> None:
    _, results, summary = run
    assert summary.frames == N_FRAMES
    assert [r.frame_index for r in results] == list(range(1, N_FRAMES + 1))
    with_tracks = sum(1 for r in results if r.tracks)
    assert with_tracks >= 0.9 * N_FRAMES
    lengths = Counter(t.track_id for r in results for t in r.tracks)
    # about 5-8 people walk through these frames; HOG keeps seeing most of them
    assert 4 <= len(lengths) <= 30
    assert np.mean(list(lengths.values())) >= 15
    assert max(lengths.values()) >= 60  # somebody is followed for most of the clip
    for r in results:
        assert len({t.track_id for t in r.tracks}) == len(r.tracks)  # no duplicate ids per frame
        if r.detections.features is not None:
            assert r.detections.features.shape[0] == len(r.detections)


def test_output_video_decodes(run: tuple[Path, list[FrameResult], RunSummary]) -> None:
    out, _, _ = run
    capture = cv2.VideoCapture(str(out / "tracked.mp4"))
    count = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        assert frame.shape == (576, 768, 3)
        count += 1
    capture.release()
    assert count == N_FRAMES
    assert sorted(p.name for p in out.iterdir()) == ["tracked.mp4", "tracks.jsonl", "tracks.txt"]


def test_mot_file_matches_the_results(run: tuple[Path, list[FrameResult], RunSummary]) -> None:
    out, results, _ = run
    mot = read_mot(out / "tracks.txt")
    assert len(mot) == sum(len(r.tracks) for r in results)
    assert mot.frames.min() >= 1 and mot.frames.max() <= N_FRAMES
    assert set(mot.ids.tolist()) == {t.track_id for r in results for t in r.tracks}
    last = results[-1]
    rows = mot.frames == last.frame_index
    np.testing.assert_allclose(
        mot.tlwh[rows], np.array([t.tlwh for t in last.tracks]).reshape(-1, 4), atol=0.01
    )


def test_detect_every_three_keeps_tracks_between_detections(
    run: tuple[Path, list[FrameResult], RunSummary],
) -> None:
    from deepsort_lib.io.detection_cache import DetectionCache

    _, results, _ = run
    cache = DetectionCache.from_frames({r.frame_index: r.detections for r in results})
    sparse = list(Pipeline(None, Tracker(), detect_every=3).run(cache=cache))
    assert [r.detected for r in sparse[:6]] == [True, False, False] * 2
    skipped = [r for r in sparse if not r.detected]
    # the tracker's predictions fill the frames without detections
    assert sum(1 for r in skipped if r.tracks) >= 0.8 * len(skipped)
    for before, after in zip(sparse[9::3], sparse[10::3], strict=False):
        # a predicted frame reports the tracks matched on the detector frame before it
        assert {t.track_id for t in after.tracks} == {t.track_id for t in before.tracks}
    lengths = Counter(t.track_id for r in sparse for t in r.tracks)
    assert np.mean(list(lengths.values())) >= 15
