"""The options of ``deepsort track``: its description, examples and arguments."""

from __future__ import annotations

import argparse

from deepsort_lib.cli.track_many_args import add_many_arguments
from deepsort_lib.cli.track_ray import add_ray_arguments
from deepsort_lib.run.options import add_run_arguments

DESCRIPTION = """\
Track objects in SOURCE and write an annotated video, a MOTChallenge result file and/or a
track log. With no model files it runs out of the box: OpenCV's HOG people detector and the
classical appearance encoder. With no output option it writes out/<name>_tracked.mp4 and
out/<name>_tracks.txt.

SOURCE is a video file, a camera index (0), a folder of images, a MOTChallenge sequence
directory (img1/, det/det.txt, seqinfo.ini), whose public detections are used by default, or
a stream URL (rtsp://, http(s)://, ...).

Several SOURCEs are tracked together in one process (one decoding thread each, the models
batched across them), each exactly as it would be alone: -o is then a folder (default out/)
holding OUTDIR/<name>.mp4 and OUTDIR/<name>.txt per source, named after the source (repeats
get -2, -3). A source that fails mid-run is retried (--retries, --retry-backoff), then given
up while the others go on."""

EPILOG = """\
examples:
  deepsort track data/vtest.avi
  deepsort track data/vtest.avi -o out.mp4 --mot out.txt --max-frames 200 --show-fps
  deepsort track clip.mp4 --detector yolov3.onnx --encoder mars-small128.onnx --classes person,car
  deepsort track MOT16-02/ --encoder none --mot results/MOT16-02.txt
  deepsort track data/vtest.avi --cache-dir cache/ --max-age 60   # detections reused next time
  deepsort track data/vtest.avi --count-line 0,300,768,300 --zone 500,50,760,50,760,250,500,250
  deepsort track data/vtest.avi --mot out.txt --save-features && deepsort refine out.txt
  deepsort track a.mp4 b.mp4 0 rtsp://host/cam -o runs/ --log jsonl --retries 10

Outputs never replace an input, each other, a folder or a special file (see docs/cli.md).
Exit status: 0 on success, 2 on a user error (missing file, unreadable video, bad model,
bad option, failed write), 3 when some of several sources failed mid-run (the others
completed), 130/143/129 when stopped by SIGINT/SIGTERM/SIGHUP. Outputs of a failed or
interrupted run are not written; previous files are kept."""


def add_track_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``deepsort track`` (one source or several) to ``parser``."""
    add_run_arguments(parser)
    add_many_arguments(parser)
    add_ray_arguments(parser)


__all__ = ["DESCRIPTION", "EPILOG", "add_track_arguments"]
