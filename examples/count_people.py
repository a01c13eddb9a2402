"""Count people crossing a line and entering a zone, draw it, and export the tracks.

A bare ``Tracker.update`` loop (no Pipeline) with the zero-download HOG people detector:
counters from ``deepsort_lib.counting``, drawing from ``deepsort_lib.io.draw`` and an in-memory
``TrackRecorder`` for the MOTChallenge and JSON exports.

Run from the repository root::

    python examples/count_people.py data/vtest.avi --max-frames 200 -o out/counted.mp4 \
        --mot out/counted.txt --json out/counted.json
"""

from __future__ import annotations

import argparse

from deepsort_lib import Tracker
from deepsort_lib.counting import Counters
from deepsort_lib.io.draw import draw_overlays, draw_tracks
from deepsort_lib.io.recorder import TrackRecorder
from deepsort_lib.io.video import open_source
from deepsort_lib.io.video_writer import VideoWriter
from deepsort_lib.models.hog import HOGDetector

# vtest.avi is 768x576: people walk left and right across the square, so a vertical line in
# the middle and the right-hand part of the square as a zone.
LINE = "384,150,384,576"
ZONE = "450,230,768,230,768,420,450,420"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", default="data/vtest.avi")
    parser.add_argument("--max-frames", type=int, default=200)
    parser.add_argument("--line", default=LINE, help="x1,y1,x2,y2 in pixels")
    parser.add_argument("--zone", default=ZONE, help="x1,y1,x2,y2,x3,y3,... in pixels")
    parser.add_argument("-o", "--output", default=None, help="annotated video (.mp4)")
    parser.add_argument("--mot", default=None, help="MOTChallenge results file")
    parser.add_argument("--json", default=None, help="tracks as a JSON array")
    args = parser.parse_args()

    names = ["person"]
    detector, tracker = HOGDetector(), Tracker()
    counters = Counters.from_specs([args.line], [args.zone], class_names=names)
    recorder = TrackRecorder(class_names=names)
    frames = 0
    with open_source(args.video) as source:
        writer = VideoWriter(args.output, source.fps) if args.output else None
        try:
            for index, frame in source:
                if frames == args.max_frames:
                    break
                tracks = tracker.update(detector.detect(frame))
                counters.update(tracks)
                recorder.record(index, tracks)
                if writer is not None:
                    canvas = draw_tracks(frame.copy(), tracks, names)
                    writer.write(draw_overlays(canvas, counters.overlays()))
                frames += 1
        except BaseException:
            if writer is not None:
                writer.abort()  # no half-written video under the final name
            raise
        written = [writer.close()] if writer is not None else []

    if args.mot:
        written.append(recorder.to_mot(args.mot))
    if args.json:
        recorder.to_json(args.json)
        written.append(args.json)
    tracks_seen = len({row["track_id"] for row in recorder.to_records()})
    print(f"{frames} frames, {tracks_seen} tracks")
    for line in counters.summary():
        print(line)
    for path in written:
        if path is not None:
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
