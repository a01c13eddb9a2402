"""Where the pipeline and the CLI turn re-entry on by default, and with which memory.

:class:`~deepsort_lib.tracking.reentry.ReentryTracker` is opt-in for library users who build
their own tracker; :class:`~deepsort_lib.pipeline.Pipeline` (``tracker=None``) and
``deepsort track`` wrap their default tracker in one where the re-entry benchmark shows it
helps (docs/identity.md). The rule and the memory live here, once, for both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepsort_lib.errors import ConfigurationError
from deepsort_lib.tracking.identity import IdentityMemory
from deepsort_lib.tracking.reentry import ReentryTracker

#: Seconds a lost identity stays claimable in the presets that turn re-entry on by default (the
#: pipeline's and the CLI's); a preset not named here has it off. Only ``recommended`` has it:
#: there it measurably helps with no loss without gaps (benchmarks/results/reentry.recommended.md,
#: which runs this very memory at 25 fps). ``original`` stays Deep SORT as published, and the
#: StrongSORT / BoT-SORT presets stay those papers' trackers.
PRESET_REENTRY_SECONDS: dict[str, float] = {"recommended": 30.0}


def default_reentry_seconds(preset: str, reidentifying_features: bool) -> float | None:
    """Seconds of re-entry the pipeline and the CLI use by default (``None``: off).

    Parameters
    ----------
    preset
        The tracker preset (:data:`PRESET_REENTRY_SECONDS`).
    reidentifying_features
        Whether the features come from a re-ID model (or precomputed ones). Re-entry matches
        on appearance alone, so it stays off on hand-made descriptors: on ``vtest.avi`` with
        the classic encoder, 2 of its 10 re-identifications were plainly wrong, e.g. a man in
        a blue jacket given the id of a man in black (docs/identity.md).
    """
    return PRESET_REENTRY_SECONDS.get(preset) if reidentifying_features else None


def reentry_memory(seconds: float, fps: float) -> IdentityMemory:
    """The identity memory of the pipeline's and the CLI's re-entry, on a clock of frames:
    the library's defaults (a threshold calibrated online, no motion gate: people come back
    by any edge; benchmarks/results/reentry_families.md) with ``seconds`` of retention.

    Parameters
    ----------
    seconds
        How long a lost identity stays claimable.
    fps
        The stream's frame rate, which turns ``seconds`` into frames.
    """
    if not (np.isfinite(fps) and fps > 0):
        raise ConfigurationError(f"fps must be positive, got {fps}")
    if not (np.isfinite(seconds) and seconds > 0):
        raise ConfigurationError(f"re-entry seconds must be positive, got {seconds}")
    return IdentityMemory(retention=seconds * fps)


def with_reentry(tracker: Any, seconds: float | None, fps: float | None) -> Any:
    """``tracker`` wrapped in a :class:`ReentryTracker` on :func:`reentry_memory`, or
    ``tracker`` itself when ``seconds`` is ``None`` (re-entry off).

    ``fps=None`` (a source that does not say) counts 25 frames per second.
    """
    if seconds is None:
        return tracker
    return ReentryTracker(tracker, reentry_memory(seconds, fps or 25.0))


__all__ = [
    "PRESET_REENTRY_SECONDS",
    "default_reentry_seconds",
    "reentry_memory",
    "with_reentry",
]
