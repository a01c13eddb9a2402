"""What the track commands tell the terminal besides their result lines."""

from __future__ import annotations

import sys


def warn(message: str) -> None:
    """Print ``deepsort: warning: message`` on stderr."""
    print(f"deepsort: warning: {message}", file=sys.stderr)


def quiet_opencv_logs() -> None:
    """Keep OpenCV's own log to errors for the rest of the run."""
    # OpenCV logs "Failed to write frame" per frame on a full disk; the writer checks its
    # file and the command reports the failure in one line instead.
    import cv2

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


__all__ = ["quiet_opencv_logs", "warn"]
