"""Plug your own detector into deepsort_lib: no subclassing, just a ``detect`` method.

Any object with ``detect(frame_bgr) -> Detections`` satisfies the
:class:`deepsort_lib.protocols.Detector` protocol. This one finds moving objects by
background subtraction (OpenCV's MOG2), which suits a fixed camera such as vtest.avi's.

Run from the repository root::

    python examples/custom_detector.py data/vtest.avi --max-frames 100 -o out/motion.mp4
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from deepsort_lib import Detections, Detector, Tracker
from deepsort_lib.io.sinks import MotSink, Sink, VideoSink
from deepsort_lib.io.video import open_source
from deepsort_lib.pipeline import Pipeline


class MotionDetector:
    """Moving blobs from a background model, as boxes (a user-supplied detector).

    Parameters
    ----------
    min_area
        Smallest blob area in pixels; smaller blobs are noise.
    min_aspect
        Smallest height / width ratio (people are taller than wide).
    """

    def __init__(self, min_area: int = 400, min_aspect: float = 1.0) -> None:
        self.background = cv2.createBackgroundSubtractorMOG2(history=200, detectShadows=True)
        self.kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        self.min_area = min_area
        self.min_aspect = min_aspect

    def detect(self, frame: np.ndarray) -> Detections:
        mask = self.background.apply(frame)
        # MOG2 marks shadows as 127: keep confident foreground only, then close small gaps.
        mask = cv2.threshold(mask, 200, 255, cv2.THRESH_BINARY)[1]
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, self.kernel, iterations=2)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        boxes = stats[1:count, :4].astype(np.float64)  # label 0 is the background
        areas = stats[1:count, 4]
        keep = (areas >= self.min_area) & (boxes[:, 3] >= self.min_aspect * boxes[:, 2])
        boxes, areas = boxes[keep], areas[keep]
        # Score: how much of the box the blob fills.
        scores = areas / (boxes[:, 2] * boxes[:, 3]) if len(boxes) else np.zeros(0)
        return Detections.from_tlwh(boxes, scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", default="data/vtest.avi")
    parser.add_argument("--max-frames", type=int, default=100)
    parser.add_argument("-o", "--output", default=None, help="annotated video (.mp4)")
    parser.add_argument("--mot", default=None, help="MOTChallenge results file")
    args = parser.parse_args()

    detector = MotionDetector()
    assert isinstance(detector, Detector)  # structural: no base class needed
    # Motion blobs merge and split more than a trained detector's boxes: confirm tracks faster.
    pipeline = Pipeline(detector, Tracker(n_init=2, max_age=15))

    with open_source(args.video) as source:
        sinks: list[Sink] = []
        if args.output:
            sinks.append(VideoSink(args.output, source.fps))
        if args.mot:
            sinks.append(MotSink(args.mot))
        summary = pipeline.process(source, sinks=sinks, max_frames=args.max_frames)

    print(f"{summary.frames} frames, {len(summary.track_ids)} tracks, {summary.fps:.1f} fps")
    for path in summary.outputs:
        print(f"wrote {Path(path)}")


if __name__ == "__main__":
    main()
