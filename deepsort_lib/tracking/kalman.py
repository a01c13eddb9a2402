"""Constant-velocity Kalman filter for boxes, batched over tracks.

The state of a track is eight numbers: the four measured box coordinates and their
velocities. With the original Deep SORT measurement ``xyah`` that is
``(u, v, a, h, u', v', a', h')`` (centre, aspect ratio width/height, height); the BoT-SORT
variant ``xywh`` measures width instead of aspect ratio. One time step is one frame, so

.. math::

    F = \\begin{bmatrix} I_4 & I_4 \\\\ 0 & I_4 \\end{bmatrix}, \\qquad
    H = \\begin{bmatrix} I_4 & 0 \\end{bmatrix}.

Noise is diagonal and proportional to the box size (the Deep SORT model): position terms
scale with ``std_weight_position`` (1/20), velocity terms with ``std_weight_velocity``
(1/160), both times the height (``xyah``) or the matching side (``xywh``).

:class:`FilterpyBoxFilter` is the reference: one ``filterpy.kalman.KalmanFilter`` per track,
fed the same matrices. :class:`BoxKalmanModel` does the same maths for all tracks at once with
elementwise numpy. Because ``F`` and ``H`` are block-identity matrices, every product reduces to
block additions, and the 4x4 innovation covariances are factored by an explicit Cholesky
recurrence. Nothing here calls BLAS or LAPACK: a tracker update never wakes a BLAS thread pool
(on small machines OpenBLAS threading makes tiny solves thousands of times slower).
``tests/test_kalman.py`` proves the batched path equal to filterpy to 1e-9.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from deepsort_lib.boxes import tlwh_to_xyah, tlwh_to_xywh, xyah_to_tlwh, xywh_to_tlwh
from deepsort_lib.errors import ConfigurationError

if TYPE_CHECKING:
    from filterpy.kalman import KalmanFilter

FloatArray = NDArray[np.float64]

#: 0.95 quantile of the chi-square distribution by degrees of freedom: the gating thresholds
#: for squared Mahalanobis distances (4 dof for the full box, 2 for the position only).
CHI2INV95: dict[int, float] = {
    1: 3.8415,
    2: 5.9915,
    3: 7.8147,
    4: 9.4877,
    5: 11.070,
    6: 12.592,
    7: 14.067,
    8: 15.507,
    9: 16.919,
}

Measurement = Literal["xyah", "xywh"]


def tlwh_to_measurement(tlwh: FloatArray, measurement: str) -> FloatArray:
    """``(N, 4)`` tlwh boxes as ``(N, 4)`` measurements of kind ``"xyah"`` or ``"xywh"``."""
    return tlwh_to_xywh(tlwh) if measurement == "xywh" else tlwh_to_xyah(tlwh)


def measurement_to_tlwh(boxes: FloatArray, measurement: str) -> FloatArray:
    """``(N, 4)`` ``"xyah"`` or ``"xywh"`` boxes (the first four state entries) as tlwh."""
    return xywh_to_tlwh(boxes) if measurement == "xywh" else xyah_to_tlwh(boxes)


_NDIM = 4
# Aspect-ratio noise is absolute, not scaled by size (Deep SORT's choice).
_ASPECT_POS_STD = 1e-2
_ASPECT_VEL_STD = 1e-5
_ASPECT_MEAS_STD = 1e-1


@dataclass(frozen=True)
class BoxKalmanModel:
    """The motion and noise model, with batched predict / project / update / gating.

    Parameters
    ----------
    std_weight_position
        Position noise per unit of box size (Deep SORT: 1/20).
    std_weight_velocity
        Velocity noise per unit of box size (Deep SORT: 1/160).
    measurement
        ``"xyah"`` (Deep SORT) or ``"xywh"`` (BoT-SORT).
    """

    std_weight_position: float = 1.0 / 20
    std_weight_velocity: float = 1.0 / 160
    measurement: Measurement = "xyah"

    def __post_init__(self) -> None:
        if self.measurement not in ("xyah", "xywh"):
            raise ConfigurationError(
                f"measurement must be 'xyah' or 'xywh', got {self.measurement!r}"
            )
        if not (self.std_weight_position > 0 and self.std_weight_velocity > 0):
            raise ConfigurationError("noise weights must be positive")

    # -- matrices ----------------------------------------------------------------------------

    @property
    def transition_matrix(self) -> FloatArray:
        """``F``, the 8x8 constant-velocity transition for one frame."""
        f = np.eye(2 * _NDIM)
        f[:_NDIM, _NDIM:] = np.eye(_NDIM)
        return f

    @property
    def measurement_matrix(self) -> FloatArray:
        """``H``, the 4x8 projection onto the measured box."""
        return np.eye(_NDIM, 2 * _NDIM)

    def _scales(self, boxes: FloatArray) -> FloatArray:
        """Per-coordinate size scale (T, 4) that the noise terms multiply."""
        if self.measurement == "xyah":
            h = boxes[:, 3:4]
            return np.repeat(h, _NDIM, axis=1)
        w, h = boxes[:, 2:3], boxes[:, 3:4]
        return np.concatenate([w, h, w, h], axis=1)

    def initial_std(self, measurements: FloatArray) -> FloatArray:
        """Standard deviations (N, 8) of a newly initiated state."""
        s = self._scales(measurements)
        pos = 2 * self.std_weight_position * s
        vel = 10 * self.std_weight_velocity * s
        if self.measurement == "xyah":
            pos[:, 2] = _ASPECT_POS_STD
            vel[:, 2] = _ASPECT_VEL_STD
        return np.concatenate([pos, vel], axis=1)

    def process_std(self, means: FloatArray) -> FloatArray:
        """Standard deviations (T, 8) of the process noise ``Q`` for one step."""
        s = self._scales(means)
        pos = self.std_weight_position * s
        vel = self.std_weight_velocity * s
        if self.measurement == "xyah":
            pos[:, 2] = _ASPECT_POS_STD
            vel[:, 2] = _ASPECT_VEL_STD
        return np.concatenate([pos, vel], axis=1)

    def measurement_std(self, means: FloatArray) -> FloatArray:
        """Standard deviations (T, 4) of the measurement noise ``R``."""
        std = self.std_weight_position * self._scales(means)
        if self.measurement == "xyah":
            std[:, 2] = _ASPECT_MEAS_STD
        return std

    # -- batched filter ----------------------------------------------------------------------

    def initiate(self, measurements: ArrayLike) -> tuple[FloatArray, FloatArray]:
        """States for new tracks: zero velocity, size-scaled uncertainty.

        Parameters
        ----------
        measurements
            ``(N, 4)`` boxes in this model's measurement format.

        Returns
        -------
        means, covariances
            ``(N, 8)`` and ``(N, 8, 8)``.
        """
        z = np.asarray(measurements, dtype=np.float64).reshape(-1, _NDIM)
        means = np.concatenate([z, np.zeros_like(z)], axis=1)
        covariances = _diag(self.initial_std(z) ** 2)
        return means, covariances

    def predict(self, means: FloatArray, covariances: FloatArray) -> tuple[FloatArray, FloatArray]:
        """One frame of prediction for every track: ``x = F x``, ``P = F P F^T + Q``."""
        q = self.process_std(means) ** 2
        new_means = means.copy()
        new_means[:, :_NDIM] += means[:, _NDIM:]
        p11 = covariances[:, :_NDIM, :_NDIM]
        p12 = covariances[:, :_NDIM, _NDIM:]
        p21 = covariances[:, _NDIM:, :_NDIM]
        p22 = covariances[:, _NDIM:, _NDIM:]
        new_cov = np.empty_like(covariances)
        new_cov[:, :_NDIM, :_NDIM] = p11 + p12 + p21 + p22
        new_cov[:, :_NDIM, _NDIM:] = p12 + p22
        new_cov[:, _NDIM:, :_NDIM] = p21 + p22
        new_cov[:, _NDIM:, _NDIM:] = p22
        idx = np.arange(2 * _NDIM)
        new_cov[:, idx, idx] += q
        return new_means, new_cov

    def project(
        self,
        means: FloatArray,
        covariances: FloatArray,
        confidences: FloatArray | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """Project states to measurement space: ``H x`` and ``S = H P H^T + R``.

        ``confidences`` (T,), when given, scales ``R`` by ``1 - confidence`` (the NSA Kalman
        filter of GIAOTracker / StrongSORT): confident detections are trusted more.
        """
        r = self.measurement_std(means) ** 2
        if confidences is not None:
            r = r * (1.0 - confidences)[:, None]
        s = covariances[:, :_NDIM, :_NDIM].copy()
        idx = np.arange(_NDIM)
        s[:, idx, idx] += r
        return means[:, :_NDIM].copy(), s

    def update(
        self,
        means: FloatArray,
        covariances: FloatArray,
        measurements: FloatArray,
        confidences: FloatArray | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """Correct each state with its own measurement (row ``i`` with row ``i``).

        ``K = P H^T S^{-1}``, ``x += K (z - H x)``, ``P -= K S K^T``.
        """
        projected, s = self.project(means, covariances, confidences)
        s_inv = _inv_spd(s)
        pht = covariances[:, :, :_NDIM]  # P H^T
        gain = _bmm(pht, s_inv)  # (T, 8, 4)
        innovation = measurements - projected
        new_means = means + np.einsum("tij,tj->ti", gain, innovation)
        new_cov = covariances - _bmm(_bmm(gain, s), np.swapaxes(gain, 1, 2))
        return new_means, new_cov

    def gating_distance(
        self,
        means: FloatArray,
        covariances: FloatArray,
        measurements: FloatArray,
        only_position: bool = False,
        threshold: float | None = None,
    ) -> FloatArray:
        """Squared Mahalanobis distance of every measurement to every track.

        Parameters
        ----------
        means, covariances
            ``(T, 8)`` and ``(T, 8, 8)`` predicted states.
        measurements
            ``(N, 4)`` boxes in this model's measurement format.
        only_position
            Use the box centre only (2 dof) instead of all four coordinates.
        threshold
            The gate the caller will apply. Given, and with many pairs, only pairs that can
            pass it are computed (the others are ``inf``): a pair fails the full gate whenever
            it fails it on x or y alone (a marginal's Mahalanobis distance never exceeds the
            joint one), and those pairs are found by sorting, not by a dense ``T x N x d``
            product.

        Returns
        -------
        ndarray
            ``(T, N)``; compare with ``CHI2INV95[2 if only_position else 4]``.
        """
        projected, s = self.project(means, covariances)
        dims = 2 if only_position else _NDIM
        chol = _cholesky(s[:, :dims, :dims])
        t, n = len(means), len(measurements)
        if threshold is not None and t * n > _SPARSE_GATE_MIN_PAIRS:
            pairs = _position_candidates(projected, s, measurements, threshold)
            if pairs is not None:
                ti, dj = pairs
                out = np.full((t, n), np.inf)
                diff = measurements[dj, None, :dims] - projected[ti, None, :dims]  # (P, 1, d)
                with np.errstate(over="ignore", invalid="ignore"):
                    y = _forward_substitute(chol[ti], diff)
                    out[ti, dj] = np.sum(y * y, axis=2)[:, 0]
                return out
        diff = measurements[None, :, :dims] - projected[:, None, :dims]  # (T, N, d)
        # Far-apart boxes may overflow to inf, which simply fails the gate.
        with np.errstate(over="ignore", invalid="ignore"):
            y = _forward_substitute(chol, diff)
            dense: FloatArray = np.sum(y * y, axis=2)
        return dense

    def pair_gating_distance(
        self,
        means: FloatArray,
        covariances: FloatArray,
        measurements: FloatArray,
        track_index: NDArray[np.intp],
        measurement_index: NDArray[np.intp],
        only_position: bool = False,
        threshold: float | None = None,
    ) -> FloatArray:
        """Squared Mahalanobis distance of listed (track, measurement) pairs only.

        Each value is computed exactly as :meth:`gating_distance` computes that pair (same
        operations in the same order), so a batched engine that lists the pairs of many
        trackers gets the numbers each tracker would. With ``threshold``, pairs that fail
        it on x or y alone, by more than rounding, are ``inf`` without being computed (they
        fail the full gate too: see :meth:`gating_distance`).

        Returns
        -------
        ndarray
            ``(P,)`` for ``P = len(track_index)`` pairs.
        """
        projected, s = self.project(means, covariances)
        dims = 2 if only_position else _NDIM
        chol = _cholesky(s[:, :dims, :dims])
        ti, dj = track_index, measurement_index
        out: FloatArray = np.full(len(ti), np.inf)
        if threshold is not None:
            variance = s[:, [0, 1], [0, 1]]
            with np.errstate(invalid="ignore", over="ignore"):
                reach = np.sqrt(threshold * variance) * (1 + 1e-6)
                reach[~(np.isfinite(reach).all(axis=1) & (variance > 0).all(axis=1))] = np.inf
                gap = np.abs(measurements[dj, :2] - projected[ti, :2])
            near = np.flatnonzero(~np.any(gap > reach[ti], axis=1))
            ti, dj = ti[near], dj[near]
        else:
            near = np.arange(len(ti))
        diff = measurements[dj, None, :dims] - projected[ti, None, :dims]  # (P, 1, d)
        with np.errstate(over="ignore", invalid="ignore"):
            y = _forward_substitute(chol[ti], diff)
            out[near] = np.sum(y * y, axis=2)[:, 0]
        return out


#: Below this many (track, detection) pairs the dense gating is as fast and simpler.
_SPARSE_GATE_MIN_PAIRS = 65536


def _position_candidates(
    projected: FloatArray, s: FloatArray, measurements: FloatArray, threshold: float
) -> tuple[NDArray[np.intp], NDArray[np.intp]] | None:
    """(track, detection) pairs within the gate on x and on y; ``None``: too many for sparse."""
    t, n = len(projected), len(measurements)
    with np.errstate(invalid="ignore"):
        reach = np.sqrt(threshold * np.maximum(s[:, [0, 1], [0, 1]], 0.0))  # (T, 2)
    order = np.argsort(measurements[:, 0], kind="stable")
    xs = measurements[order, 0]
    lo = np.searchsorted(xs, projected[:, 0] - reach[:, 0], side="left")
    hi = np.searchsorted(xs, projected[:, 0] + reach[:, 0], side="right")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    if total > t * n // 4:
        return None
    ti = np.repeat(np.arange(t), counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    dj = order[np.repeat(lo, counts) + offsets]
    keep = np.abs(measurements[dj, 1] - projected[ti, 1]) <= reach[ti, 1]
    return ti[keep], dj[keep]


# -- small dense linear algebra without BLAS -------------------------------------------------


def _diag(values: FloatArray) -> FloatArray:
    n = values.shape[1]
    out = np.zeros((values.shape[0], n, n))
    idx = np.arange(n)
    out[:, idx, idx] = values
    return out


def _bmm(a: FloatArray, b: FloatArray) -> FloatArray:
    """Batched matrix product as broadcast multiply-add (no BLAS call, see module doc)."""
    out: FloatArray = np.einsum("tij,tjk->tik", a, b)
    return out


def _cholesky(a: FloatArray) -> FloatArray:
    """Lower Cholesky factors of a stack of small SPD matrices (T, n, n)."""
    n = a.shape[1]
    low = np.zeros_like(a)
    for j in range(n):
        d = a[:, j, j] - np.sum(low[:, j, :j] ** 2, axis=1)
        ljj = np.sqrt(np.maximum(d, 1e-300))
        low[:, j, j] = ljj
        if j + 1 < n:
            below = a[:, j + 1 :, j] - np.einsum("tik,tk->ti", low[:, j + 1 :, :j], low[:, j, :j])
            low[:, j + 1 :, j] = below / ljj[:, None]
    return low


def _forward_substitute(low: FloatArray, b: FloatArray) -> FloatArray:
    """Solve ``L y = b`` for every right-hand side: ``low`` (T, n, n), ``b`` (T, N, n)."""
    n = low.shape[1]
    y = np.empty_like(b)
    for i in range(n):
        acc = b[:, :, i] - np.einsum("tk,tnk->tn", low[:, i, :i], y[:, :, :i])
        y[:, :, i] = acc / low[:, i, i][:, None]
    return y


def _inv_spd(a: FloatArray) -> FloatArray:
    """Inverses of a stack of small SPD matrices via Cholesky (T, n, n)."""
    n = a.shape[1]
    low = _cholesky(a)
    eye = np.broadcast_to(np.eye(n), a.shape)
    # L^{-1} column by column, then A^{-1} = L^{-T} L^{-1}.
    low_inv = np.swapaxes(_forward_substitute(low, eye), 1, 2)
    out: FloatArray = np.einsum("tki,tkj->tij", low_inv, low_inv)
    return out


# -- filterpy reference ----------------------------------------------------------------------


class FilterpyBoxFilter:
    """One track's filter as a ``filterpy.kalman.KalmanFilter`` with the same model.

    This is the reference implementation: :class:`BoxKalmanModel` must agree with it.
    The time-varying ``Q`` and ``R`` of the Deep SORT model are passed on every call.

    Parameters
    ----------
    model
        The noise model to follow.
    measurement
        The first box, in ``model.measurement`` format.
    """

    def __init__(self, model: BoxKalmanModel, measurement: ArrayLike) -> None:
        from filterpy.kalman import KalmanFilter  # imported on use: it pulls in scipy.stats

        self.model = model
        self.kf = KalmanFilter(dim_x=2 * _NDIM, dim_z=_NDIM)
        self.kf.F = model.transition_matrix
        self.kf.H = model.measurement_matrix
        mean, cov = model.initiate(np.asarray(measurement, dtype=np.float64)[None])
        self.kf.x = mean[0].reshape(-1, 1)
        self.kf.P = cov[0]

    @property
    def mean(self) -> FloatArray:
        """The state estimate, shape (8,)."""
        return np.asarray(self.kf.x, dtype=np.float64).reshape(-1)

    @property
    def covariance(self) -> FloatArray:
        """The state covariance, shape (8, 8)."""
        return np.asarray(self.kf.P, dtype=np.float64)

    def predict(self) -> None:
        """Advance one frame."""
        q = np.diag(self.model.process_std(self.mean[None])[0] ** 2)
        self.kf.predict(Q=q)

    def update(self, measurement: ArrayLike, confidence: float | None = None) -> None:
        """Correct with one box (optionally NSA-scaled by the detection confidence)."""
        r = self.model.measurement_std(self.mean[None])[0] ** 2
        if confidence is not None:
            r = r * (1.0 - confidence)
        self.kf.update(np.asarray(measurement, dtype=np.float64).reshape(-1, 1), R=np.diag(r))

    def gating_distance(self, measurements: ArrayLike, only_position: bool = False) -> FloatArray:
        """Squared Mahalanobis distances of ``(N, 4)`` boxes to the current state."""
        z = np.asarray(measurements, dtype=np.float64).reshape(-1, _NDIM)
        r = np.diag(self.model.measurement_std(self.mean[None])[0] ** 2)
        h = self.model.measurement_matrix
        s = h @ self.covariance @ h.T + r
        d = z - (h @ self.mean)
        if only_position:
            s, d = s[:2, :2], d[:, :2]
        out: FloatArray = np.einsum("ni,ij,nj->n", d, np.linalg.inv(s), d)
        return out


@dataclass(frozen=True)
class FilterpyKalmanModel(BoxKalmanModel):
    """:class:`BoxKalmanModel` whose predict and update run through filterpy, track by track.

    Select it with ``Tracker(kalman_backend="filterpy")`` to run the whole tracker on the
    reference filter; it is slower and gives the same tracks.
    """

    def _filters(self, means: FloatArray, covariances: FloatArray) -> list[KalmanFilter]:
        from filterpy.kalman import KalmanFilter  # imported on use: it pulls in scipy.stats

        filters = []
        for mean, cov in zip(means, covariances, strict=True):
            kf = KalmanFilter(dim_x=2 * _NDIM, dim_z=_NDIM)
            kf.F = self.transition_matrix
            kf.H = self.measurement_matrix
            kf.x = mean.reshape(-1, 1).copy()
            kf.P = cov.copy()
            filters.append(kf)
        return filters

    @staticmethod
    def _collect(filters: list[KalmanFilter], n: int) -> tuple[FloatArray, FloatArray]:
        means = np.array([np.asarray(kf.x).reshape(-1) for kf in filters]).reshape(n, 2 * _NDIM)
        covs = np.array([kf.P for kf in filters]).reshape(n, 2 * _NDIM, 2 * _NDIM)
        return means.astype(np.float64), covs.astype(np.float64)

    def predict(self, means: FloatArray, covariances: FloatArray) -> tuple[FloatArray, FloatArray]:
        filters = self._filters(means, covariances)
        for kf, std in zip(filters, self.process_std(means), strict=True):
            kf.predict(Q=np.diag(std**2))
        return self._collect(filters, len(filters))

    def update(
        self,
        means: FloatArray,
        covariances: FloatArray,
        measurements: FloatArray,
        confidences: FloatArray | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        filters = self._filters(means, covariances)
        r_all = self.measurement_std(means) ** 2
        if confidences is not None:
            r_all = r_all * (1.0 - confidences)[:, None]
        for kf, z, r in zip(filters, measurements, r_all, strict=True):
            kf.update(z.reshape(-1, 1), R=np.diag(r))
        return self._collect(filters, len(filters))


__all__ = [
    "CHI2INV95",
    "BoxKalmanModel",
    "FilterpyBoxFilter",
    "FilterpyKalmanModel",
    "Measurement",
    "measurement_to_tlwh",
    "tlwh_to_measurement",
]
