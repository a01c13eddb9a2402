"""Self-calibrating coasting output: report a missed track while it is probably still there.

A confirmed track that the detector missed for ``g`` frames is either still in view (the
detector will find it again) or gone (it left, or was a false track, and will be deleted after
``max_age`` misses). Reporting its predicted box adds a true positive in the first case and a
false positive in the second, so it pays while

    P(present | missed g frames) = R(g) / (R(g) + D + D0) >= min_presence,

where ``R(g)`` counts the gaps of confirmed tracks that lasted at least ``g`` frames and ended
with the track matched again, ``D`` counts confirmed tracks that were deleted (their gap
never ended) and ``D0`` is a prior count of deletions, so that a tracker that has not yet seen
a track leave does not assume none ever will. The counts come online from the tracker's own
history, so the output rule
follows the detector: with a detector that misses people for ten frames at a time it coasts
about ten frames, with one that rarely misses it stops after one or two (a fixed rule is
right for one detector only; ``benchmarks/results/ablation.md`` shows both cases).

``R(g)`` falls with ``g`` while ``D`` does not, so the rule is one cut-off ``g*`` per frame:
missed tracks with ``time_since_update <= g*`` are reported, and never fewer than a floor
(the tracker's ``output_max_misses``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.errors import ConfigurationError
from deepsort_lib.tracking.state import ArrayState

IntArray = NDArray[np.int64]


class GapStatistics(ArrayState):
    """Online counts of how missed confirmed tracks ended, and the coasting cut-off.

    Parameters
    ----------
    max_gap
        Longest gap that can end in a match (the tracker's ``max_age``).
    min_presence
        Report a missed track while its estimated probability of being present is at least
        this.
    prior_deletions
        ``D0``, the prior count of deleted tracks.
    floor
        The smallest cut-off ever returned.
    """

    # Everything a saved state must carry to continue bit-identically (tracking/state.py).
    STATE_FIELDS = ("_returned", "_deleted", "_cutoff")

    def __init__(
        self,
        max_gap: int,
        min_presence: float = 0.5,
        prior_deletions: float = 1.0,
        floor: int = 1,
    ) -> None:
        if max_gap < 1:
            raise ConfigurationError(f"max_gap must be >= 1, got {max_gap}")
        if not 0.0 < min_presence <= 1.0:
            raise ConfigurationError(f"min_presence must be in (0, 1], got {min_presence}")
        if prior_deletions < 0:
            raise ConfigurationError(f"prior_deletions must be >= 0, got {prior_deletions}")
        self.max_gap = max_gap
        self.min_presence = min_presence
        self.prior_deletions = float(prior_deletions)
        self.floor = min(max(floor, 0), max_gap)
        # returned[g]: gaps of exactly g missed frames that ended with a match (index 0 unused).
        self._returned = np.zeros(max_gap + 1, dtype=np.int64)
        self._deleted = 0
        self._cutoff = self.floor

    def clear(self) -> None:
        """Forget every observation."""
        self._returned[:] = 0
        self._deleted = 0
        self._cutoff = self.floor

    @property
    def observations(self) -> int:
        """Gaps that have ended so far (matched again or deleted)."""
        return int(self._returned.sum()) + self._deleted

    def record_returns(self, missed_frames: IntArray) -> None:
        """Confirmed tracks matched again after ``missed_frames`` (``(K,)``, each >= 1) misses."""
        gaps = np.asarray(missed_frames, dtype=np.int64)
        gaps = gaps[gaps >= 1]
        if len(gaps):
            np.add.at(self._returned, np.minimum(gaps, self.max_gap), 1)
            self._update()

    def record_deletions(self, count: int) -> None:
        """``count`` confirmed tracks were deleted after ``max_gap`` misses."""
        if count > 0:
            self._deleted += int(count)
            self._update()

    def presence(self) -> NDArray[np.float64]:
        """``(max_gap + 1,)``: estimated P(present | missed g frames) for g = 0..max_gap."""
        at_least = np.cumsum(self._returned[::-1])[::-1]  # at_least[g] = R(g)
        total = at_least + self._deleted + self.prior_deletions
        out: NDArray[np.float64] = np.where(total > 0, at_least / np.maximum(total, 1e-12), 1.0)
        out[0] = 1.0
        return out

    def _update(self) -> None:
        below = np.flatnonzero(self.presence() < self.min_presence)
        cutoff = int(below[0]) - 1 if len(below) else self.max_gap
        self._cutoff = max(cutoff, self.floor)

    def max_misses(self) -> int:
        """Report missed confirmed tracks with ``time_since_update`` up to this."""
        return self._cutoff


__all__ = ["GapStatistics"]
