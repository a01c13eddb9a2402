"""Frame sources, the atomic video writer and drawing."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from deepsort_lib.errors import ConfigurationError, SourceError
from deepsort_lib.io.draw import color_for_id, draw_fps, draw_tracks
from deepsort_lib.io.video import (
    ImageFolderSource,
    MotSequenceSource,
    VideoSource,
    open_source,
)
from deepsort_lib.io.video_writer import VideoWriter
from deepsort_lib.tracking.track import Track, TrackState


def test_video_source_frames_are_numbered_from_one(vtest: Path) -> None:
    with open_source(str(vtest)) as source:
        assert isinstance(source, VideoSource)
        assert source.size == (768, 576) and source.num_frames == 795
        assert source.fps == pytest.approx(10.0)
        first = []
        for index, frame in source:
            first.append(index)
            assert frame.shape == (576, 768, 3) and frame.dtype == np.uint8
            if index == 3:
                break
    assert first == [1, 2, 3]


def test_missing_and_unreadable_video(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not found"):
        open_source(tmp_path / "nope.mp4")
    junk = tmp_path / "junk.avi"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(SourceError, match=r"cannot (open|read)"):
        open_source(junk)


def _write_images(folder: Path, frames: list[np.ndarray]) -> None:
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames, start=1):
        cv2.imwrite(str(folder / f"{i:06d}.png"), frame)


def test_image_folder_in_name_order(tmp_path: Path, vtest_frames: list[np.ndarray]) -> None:
    frames = [f[:64, :96].copy() for f in vtest_frames[:3]]
    _write_images(tmp_path / "imgs", frames)
    (tmp_path / "imgs" / "notes.txt").write_text("ignored")
    source = open_source(tmp_path / "imgs")
    assert isinstance(source, ImageFolderSource) and source.num_frames == 3
    got = list(source)
    assert [i for i, _ in got] == [1, 2, 3]
    np.testing.assert_array_equal(got[2][1], frames[2])  # png is lossless
    with pytest.raises(SourceError, match="no images"):
        open_source(tmp_path)  # only a sub-folder, no images


def test_mot_sequence_dir(tmp_path: Path, vtest_frames: list[np.ndarray]) -> None:
    seq = tmp_path / "SEQ-01"
    _write_images(seq / "img1", [f[:64, :96].copy() for f in vtest_frames[:4]])
    (seq / "det").mkdir()
    (seq / "det" / "det.txt").write_text(
        "1,-1,1,2,10,20,0.9,-1,-1,-1\n3,-1,5,6,10,20,0.5,-1,-1,-1\n"
    )
    np.save(seq / "det" / "det.npy", np.arange(16, dtype=np.float32).reshape(2, 8))
    (seq / "seqinfo.ini").write_text(
        "[Sequence]\nname=SEQ-01\nimDir=img1\nframeRate=30\nseqLength=4\nimWidth=96\n"
        "imHeight=64\nimExt=.png\n"
    )
    source = open_source(seq)
    assert isinstance(source, MotSequenceSource)
    assert source.fps == 30 and source.name == "SEQ-01" and source.size == (96, 64)
    assert source.detections is not None and list(source.detections) == [1, 2, 3, 4]
    assert len(source.detections[2]) == 0
    np.testing.assert_allclose(source.detections[3].features, [np.arange(8, 16)])


def test_video_writer_round_trip(tmp_path: Path, vtest_frames: list[np.ndarray]) -> None:
    target = tmp_path / "sub" / "out.mp4"
    with VideoWriter(target, fps=10) as writer:
        for frame in vtest_frames[:7]:
            writer.write(frame)
            assert not target.exists()  # only the hidden temporary file so far
    assert [p.name for p in target.parent.iterdir()] == ["out.mp4"]
    capture = cv2.VideoCapture(str(target))
    count = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        assert frame.shape == (576, 768, 3)
        count += 1
    assert count == 7


def test_video_writer_abort_leaves_nothing(tmp_path: Path, vtest_frames: list[np.ndarray]) -> None:
    target = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt), VideoWriter(target) as writer:
        writer.write(vtest_frames[0])
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_video_writer_rejects_size_change_and_bad_args(
    tmp_path: Path, vtest_frames: list[np.ndarray]
) -> None:
    writer = VideoWriter(tmp_path / "o.mp4")
    writer.write(vtest_frames[0])
    with pytest.raises(SourceError, match="size"):
        writer.write(vtest_frames[0][:100])
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigurationError):
        VideoWriter(tmp_path / "o.mp4", fps=0)
    assert VideoWriter(tmp_path / "o.mp4").close() is None  # nothing written, nothing created
    assert list(tmp_path.iterdir()) == []


def _track(tid: int, box: list[float], class_id: int = 0) -> Track:
    b = np.array(box, dtype=np.float64)
    return Track(tid, b, b, class_id, 0.9, TrackState.CONFIRMED, 3, 3, 0, 0, np.zeros(8), np.eye(8))


def test_colours_are_stable_and_distinct() -> None:
    assert color_for_id(7) == color_for_id(7)
    colours = {color_for_id(i) for i in range(1, 21)}
    assert len(colours) == 20
    assert all(0 <= c <= 255 for colour in colours for c in colour)


def test_draw_tracks_marks_box_in_its_colour() -> None:
    canvas = np.zeros((100, 120, 3), np.uint8)
    draw_tracks(canvas, [_track(5, [40, 40, 30, 40], 0)], ["person"])
    colour = np.array(color_for_id(5), np.uint8)
    assert np.all(canvas[79, 55] == colour)  # bottom edge of the box
    assert np.all(canvas[60, 55] == 0)  # inside untouched
    before = canvas.copy()
    draw_fps(canvas, 12.5)
    assert np.any(canvas[:20, :60] != before[:20, :60])


def test_labels_stay_inside_the_frame() -> None:
    canvas = np.zeros((100, 120, 3), np.uint8)
    draw_tracks(canvas, [_track(22, [100, 40, 18, 40], 0)], ["person"])
    colour = np.array(color_for_id(22), np.uint8)
    label_rows = canvas[20:38]
    filled = np.all(label_rows == colour, axis=-1)
    assert filled[:, :100].any()  # the label moved left of the box to fit
