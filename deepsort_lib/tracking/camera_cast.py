"""A camera's cast in feature space, learned from the people linked across cameras.

Each camera changes the features its people get: its own light and background move every
feature of that camera in a common direction, its white balance scales dimensions
(re-identification work calls it *camera bias* and removes it per camera, e.g. with
camera-wise batch normalisation, Zhuang et al., ECCV 2020). Across two cameras, the distance
between two views of one person is then the within-camera distance *plus* the cast, and a
look-alike may sit as close as the traveller: no threshold on raw distances separates them.

:class:`CameraCast` keeps, per pair of cameras, the latest ``links_kept`` *links* (one
person's unit features in the two cameras) and fits the pair's cast to them
(:mod:`~deepsort_lib.tracking.cast_fit`): a translation, a per-dimension gain (a white
balance) or both (a camera normalisation), whichever explains the links best, robust to a
minority of wrong links (a look-alike taken for the traveller). From ``min_links`` links on,
and while the cast explains them (:func:`explains`), the memory compares a query of camera
``b`` with a lost identity of camera ``a`` with the query taken into camera ``a``'s terms
(:meth:`CameraCast.mapping`), under its same-camera threshold times :data:`CAST_ALLOWANCE`
(the cast is itself an estimate): the traveller is then nearly as close as within one
camera, the look-alike as far.

A link is, for each new track asking the memory across a pair, its nearest lost identity of
the other camera within :data:`LINK_REACH` times the *raw* threshold (no cast taken off: the
calibrated threshold plus the cast's learned size, at least the memory's configured
cross-camera threshold). Raw, so that a cast learned wrong from a few early look-alikes
cannot refuse the travellers whose links would correct it; looser than a match, so that a
cast larger than the raw rule allows is still learned.

Failure modes (documented in docs/identity.md):

* *Warm-up*: until a pair's cast is in use, its cross-camera matches are judged by the raw
  rule, which refuses travellers whose cast is larger than the learned offset (and lets
  look-alikes within it through). The re-entry wrapper lets a track refused then ask again
  whenever the pair's :meth:`CameraCast.progress` changes (a warm-up link, the cast coming
  into use), so the first travellers are recovered once the cast is learned; a scene that
  ends before that never gets the correction.
* *Wrong early links*: most of the first links wrong biases the cast (and refuses travellers)
  until later links outnumber them (the robust mean takes the half of the links nearest their
  medoid); the links keep coming from the raw rule meanwhile.
* *A cast of another shape* (a viewpoint mixes dimensions): none of the three shapes
  explains the links (:func:`explains`: with the cast of the other links taken off, their
  median distance is at most half the raw one), and the raw rule stays, with its look-alikes
  (and its refusals: a cast larger than the learned offset). Gains are candidates only from
  :data:`~deepsort_lib.tracking.cast_fit.GAIN_MIN_LINKS` links on: until then a white
  balance is judged as a translation, which may not explain it.

Cost: per camera pair with links, ``links_kept`` pairs of ``D``-vectors; the cast and the
choice of its shape are refitted (``O(links_kept^3 D)``, leave-one-out) only after a new
link.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.errors import ConfigurationError, StateError, reading_state
from deepsort_lib.tracking.cast_fit import GAIN_MIN_LINKS, Cast, fit_cast, robust_mean

FloatArray = NDArray[np.float64]
Float32Array = NDArray[np.float32]


#: Across a camera pair whose learned cast is taken off, a match may be this many times the
#: same-camera threshold: the cast is estimated from 4-20 links, and what it gets wrong adds
#: to every traveller's distance. 1.2 keeps the 1.5 same-identity spreads the cast was
#: developed under, now that the same-camera margin is 1.25 (long two-camera stress scenes,
#: 4 seeds: 1.0 lost 4-6 of 80 travellers in two families for no fewer false links; 1.4
#: gained one).
CAST_ALLOWANCE = 1.2

#: A link is an asking track's nearest lost identity of the other camera within this many
#: times the raw cross-camera threshold (at least the configured cross-camera threshold):
#: looser than a match, because the robust mean outvotes the look-alikes among the links,
#: and a camera whose cast is larger than the raw rule's allowance would otherwise never be
#: learned (``drift-light`` stress scenes, where travellers are 0.25-0.37 apart raw, 4 seeds:
#: 1.0 recovered 14/24 and 68/80 travellers in short and long scenes, 2.0 21/24 and 75/80;
#: TUD two cameras, 600 travellers: 421 against 429 right links; both with the offset
#: uncapped).
LINK_REACH = 2.0

#: Until a pair's cast is in use, the raw cross-camera threshold is the calibrated one plus
#: the cast's learned size, capped at this many times the calibrated threshold: a cast of no
#: known shape (a camera mixing dimensions), or a white balance before its gains are learned,
#: is only admitted through that offset, but a noisy scene's offset also admits the wrong
#: people. Chosen (before the cast shapes) among 1 (the cap before 2026-12-08), 2, 3 and
#: none on the TUD two-camera rows and the ``uniform-crowd`` gain rows (4 seeds): at 3, TUD
#: 432 right and 42 wrong links of 600 travellers (none: 429 and 52; 2: 426 and 37) and
#: ``uniform-crowd`` 49/80 (none: 61/80; 2: 6/80).
CROSS_OFFSET_CAP = 3.0


class CastMap(NamedTuple):
    """What takes a query camera's (unit) feature ``q`` into an entry camera's terms:
    ``scale * q + offset`` (``scale`` 1 for a translation)."""

    scale: FloatArray
    offset: FloatArray

    def apply(self, rows: FloatArray) -> FloatArray:
        """``rows`` (``(N, D)``) in the entry camera's terms."""
        out: FloatArray = rows * self.scale + self.offset
        return out


class CameraCast:
    """Per camera pair, the links learned across it and the cast fitted to them.

    Parameters
    ----------
    min_links
        Links across a pair of cameras before its cast is used.
    links_kept
        Latest links kept per pair, the cast's sample.
    """

    def __init__(self, min_links: int = 4, links_kept: int = 20) -> None:
        for name, value in (("min_links", min_links), ("links_kept", links_kept)):
            if int(value) != value or value < 1:
                raise ConfigurationError(f"{name} must be a positive integer, got {value}")
        self.min_links = int(min_links)
        self.links_kept = int(links_kept)
        #: Per pair ``(a, b)`` with ``a < b``: the latest links, one row each:
        #: ``[unit feature in a (D), unit feature in b (D), gap]``.
        self._rows: dict[tuple[str, str], deque[FloatArray]] = {}
        self._links: dict[tuple[str, str], int] = {}
        #: Per pair, the fitted ``(gain, offset)`` (``None``: no cast explains the links).
        self._casts: dict[tuple[str, str], Cast | None] = {}

    def links(self, camera_a: str, camera_b: str) -> int:
        """How many links between the two cameras have been learned from."""
        return self._links.get(_key(camera_a, camera_b)[0], 0)

    def progress(self, camera: str) -> int:
        """Over the pairs of ``camera``: each pair's links up to ``min_links``, plus one
        while its cast is in use and one more while that cast has gains. It changes when one
        of them may judge differently: a link in warm-up, its cast coming into use (or out of
        it), or the cast taking a gain (a white balance, from
        :data:`~deepsort_lib.tracking.cast_fit.GAIN_MIN_LINKS` links on)."""
        out = 0
        for (a, b), n in self._links.items():
            if camera in (a, b):
                cast = self.mapping(a, b)
                out += min(n, self.min_links)
                if cast is not None:
                    out += 1 + bool(np.any(cast.scale != 1.0))
        return out

    def settled(self, entry_camera: str, query_camera: str) -> bool:
        """Whether the pair has a cast in use and enough links for any of its shapes
        (:data:`~deepsort_lib.tracking.cast_fit.GAIN_MIN_LINKS`): until then, a track the
        pair refuses may be accepted once it has learned more."""
        key, _ = _key(entry_camera, query_camera)
        enough = self._links.get(key, 0) >= max(self.min_links, GAIN_MIN_LINKS)
        return enough and self.mapping(entry_camera, query_camera) is not None

    def mapping(self, entry_camera: str, query_camera: str) -> CastMap | None:
        """What takes a ``query_camera`` feature into ``entry_camera``'s terms before the two
        are compared; ``None`` within one camera, until the pair has ``min_links`` links,
        and while no cast explains its links (see :func:`fit_cast`)."""
        if entry_camera == query_camera:
            return None
        key, sign = _key(entry_camera, query_camera)
        if self._links.get(key, 0) < self.min_links:
            return None
        if key not in self._casts:
            self._casts[key] = fit_cast(*_link_features(np.asarray(self._rows[key])))
        fitted = self._casts[key]
        if fitted is None:
            return None
        gain, offset = fitted  # feature in b = gain * feature in a + offset
        if sign > 0:  # the query is in b: back into a's terms
            return CastMap(1.0 / gain, -offset / gain)
        return CastMap(gain, offset)

    def learn(
        self,
        entry_camera: str,
        query_camera: str,
        entry_feature: ArrayLike,
        query_feature: ArrayLike,
        gap: float = 0.0,
    ) -> None:
        """Learn from one link: a person last seen in ``entry_camera`` with ``entry_feature``
        and found in ``query_camera`` with ``query_feature``, ``gap`` later. Links within one
        camera and non-finite or zero features are ignored."""
        if entry_camera == query_camera:
            return
        e = _unit(np.asarray(entry_feature, np.float64).ravel())
        q = _unit(np.asarray(query_feature, np.float64).ravel())
        if e is None or q is None or e.shape != q.shape or not np.isfinite(gap):
            return
        key, sign = _key(entry_camera, query_camera)
        kept = self._rows.setdefault(key, deque(maxlen=self.links_kept))
        if kept and len(kept[0]) != 2 * len(e) + 1:
            return  # another feature length than the links so far: not comparable
        a, b = (e, q) if sign > 0 else (q, e)
        kept.append(np.concatenate([a, b, [float(gap)]]))
        self._links[key] = self._links.get(key, 0) + 1
        self._casts.pop(key, None)

    # -- saved state ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Settings and each pair's kept links, as plain arrays."""
        keys = sorted(self._rows)
        rows = [np.asarray(self._rows[k], np.float64) for k in keys]
        width = rows[0].shape[1] if rows else 0
        return {
            "settings": {"min_links": self.min_links, "links_kept": self.links_kept},
            "pairs": [list(k) for k in keys],
            "kept": np.asarray([len(r) for r in rows], np.int64),
            "rows": np.concatenate(rows) if rows else np.zeros((0, width), np.float64),
            "links": np.asarray([self._links[k] for k in keys], np.int64),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> CameraCast:
        """The cast saved by :meth:`state_dict`.

        Raises
        ------
        StateError
            If the state is corrupt.
        """
        with reading_state("camera cast"):
            out = cls(**dict(state["settings"]))
            pairs = [tuple(str(c) for c in p) for p in state["pairs"]]
            kept = np.asarray(state["kept"], np.int64).ravel()
            link_rows = np.asarray(state["rows"], np.float64)
            links = np.asarray(state["links"], np.int64).ravel()
            if not len(pairs) == len(kept) == len(links):
                raise StateError("camera cast state: pairs and links do not pair up")
            if link_rows.ndim != 2 or len(link_rows) != kept.sum():
                raise StateError("camera cast state: the links kept do not add up")
            if len(link_rows) and link_rows.shape[1] % 2 != 1:
                raise StateError("camera cast state: a link is not [a, b, gap]")
            if any(len(p) != 2 or p[0] >= p[1] for p in pairs):
                raise StateError("camera cast state: a pair is not two cameras in order")
            if (kept < 1).any() or (kept > out.links_kept).any() or (links < kept).any():
                raise StateError("camera cast state: a pair's link count is out of range")
            if not np.isfinite(link_rows).all():
                raise StateError("camera cast state: a link is not finite")
            starts = np.concatenate([[0], np.cumsum(kept)])
            for i, p in enumerate(pairs):
                key = (p[0], p[1])
                rows = link_rows[starts[i] : starts[i + 1]]
                out._rows[key] = deque(rows.copy(), maxlen=out.links_kept)
                out._links[key] = int(links[i])
        return out


def _link_features(rows: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The unit features in camera ``a`` and in camera ``b`` of link rows ``[a, b, gap]``."""
    dim = (rows.shape[1] - 1) // 2
    return rows[:, :dim], rows[:, dim : 2 * dim]


def explains(rows: FloatArray) -> bool:
    """Whether a cast explains the links ``[a, b, gap]`` (:func:`~deepsort_lib.tracking.
    cast_fit.fit_cast`): a translation, a white balance or a camera normalisation."""
    return fit_cast(*_link_features(rows)) is not None


def pairs_with_cast(
    casts: Mapping[tuple[str, str], CastMap],
    q_cam: NDArray[np.object_],
    e_cam: NDArray[np.object_],
) -> NDArray[np.bool_]:
    """``(Q, E)``: whether the pair's (entry camera, query camera) has a cast in ``casts``."""
    out = np.zeros((len(q_cam), len(e_cam)), bool)
    for entry_camera, query_camera in casts:
        out |= (q_cam == query_camera)[:, None] & (e_cam == entry_camera)[None, :]
    return out


def take_off_cast(
    sim: FloatArray,
    q_rows: Float32Array,
    e_rows: Float32Array,
    q_in: NDArray[np.bool_],
    e_in: NDArray[np.bool_],
    cast: CastMap,
) -> None:
    """Cosine similarities of the ``q_in`` x ``e_in`` block recomputed with the (unit)
    query rows taken into the entries' camera by ``cast``."""
    qi, ej = np.flatnonzero(q_in), np.flatnonzero(e_in)
    if not (len(qi) and len(ej)):
        return
    q = cast.apply(q_rows[qi].astype(np.float64))
    e = e_rows[ej].astype(np.float64)
    norm = np.sqrt(np.maximum(np.einsum("ij,ij->i", q, q), 1e-12))
    sim[np.ix_(qi, ej)] = (q @ e.T) / norm[:, None]


def _key(entry_camera: str, query_camera: str) -> tuple[tuple[str, str], float]:
    """The pair's key (cameras in order) and the sign of ``query - entry`` in its terms."""
    if entry_camera < query_camera:
        return (entry_camera, query_camera), 1.0
    return (query_camera, entry_camera), -1.0


def _unit(x: FloatArray) -> FloatArray | None:
    norm = float(np.sqrt(x @ x)) if np.isfinite(x).all() else 0.0
    return x / norm if norm > 0 else None


__all__ = [
    "CAST_ALLOWANCE",
    "CROSS_OFFSET_CAP",
    "LINK_REACH",
    "CameraCast",
    "CastMap",
    "explains",
    "pairs_with_cast",
    "robust_mean",
    "take_off_cast",
]
