"""``.weights`` files with random but sane values, for tests and benchmarks without a download.

Kernels are He-scaled (``sqrt(2 / fan_in)``). The second moment of every layer's output is
propagated analytically (for an input uniform in [0, 1]), and each batch norm's rolling variance
is set to its convolution's predicted output variance times U(0.5, 1.5), as in a trained
network, so activations stay near unit scale through 100+ layers instead of growing with every
residual sum.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from deepsort_lib.models.darknet.shapes import load_network, resolve_ref
from deepsort_lib.models.darknet.weights import WeightsHeader
from deepsort_lib.models.files import write_bytes

#: (E[f(x)] / σ, E[f(x)^2] / σ²) for x ~ N(0, σ²) (rough for the smooth ones).
_ACTIVATION_GAIN = {
    "linear": (0.0, 1.0),
    "leaky": (0.9 / np.sqrt(2.0 * np.pi), 0.5 * (1.0 + 0.01)),
    "relu": (1.0 / np.sqrt(2.0 * np.pi), 0.5),
    "logistic": (0.5, 0.3),
    "mish": (0.3, 0.6),
    "swish": (0.3, 0.6),
}


def write_random_weights(
    cfg: str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    seed: int = 0,
    version: tuple[int, int, int] = (0, 2, 0),
    seen: int = 0,
    objectness_bias: float = -3.0,
    logit_scale: float = 3.0,
) -> Path:
    """Write a ``.weights`` file of the right layout for ``cfg`` with random but sane values.

    Batch-norm scales are U(0.8, 1.2), rolling variances follow the propagated second moment
    (see the module docstring). Convolutions without batch norm (the heads) are scaled to give
    logits of RMS ``logit_scale``; the objectness logits get ``objectness_bias`` on top.

    Parameters
    ----------
    cfg, path
        The cfg to match and the ``.weights`` file to write (atomically, never onto ``cfg``).
    seed
        Random seed: the same seed gives the same file.
    version, seen
        Header fields; ``seen`` is written as 64-bit iff
        :func:`~deepsort_lib.models.darknet.weights.seen_is_64bit`.
    """
    network = load_network(cfg)
    rng = np.random.default_rng(seed)
    convs = {c.index: c for c in network.convs}
    head_inputs = {h.layer - 1: h for h in network.heads}
    chunks: list[NDArray[np.float32]] = []
    # Mean and mean square of each layer's output; residual sums of positive-mean activations
    # need the cross term 2·E[a]·E[b], or the prediction drifts below the truth.
    m1: list[float] = []
    m2: list[float] = []
    mean, current = 0.5, 1.0 / 3.0  # U(0, 1) pixels
    for index, section in enumerate(network.layers):
        kind = section.kind
        if index in convs:
            spec = convs[index]
            n = spec.filters
            fan_in = spec.in_channels // spec.groups * spec.size * spec.size
            std = np.sqrt(2.0 / fan_in)
            conv_m2 = fan_in * std**2 * current  # zero-mean kernel: E[out^2] = fan_in σ² E[in^2]
            if spec.batch_normalize:
                bias = rng.normal(0.0, 0.1, n)
                scales = rng.uniform(0.8, 1.2, n)
                means = rng.normal(0.0, 0.05 * np.sqrt(conv_m2), n)
                variances = conv_m2 * rng.uniform(0.5, 1.5, n)
                parts = [bias, scales, means, variances]
                out_m2 = float(np.mean(scales**2 * conv_m2 / variances) + np.mean(bias**2))
            else:
                std = logit_scale / np.sqrt(fan_in * current)
                bias = rng.normal(0.0, 0.1, n)
                head = head_inputs.get(index)
                if head is not None:
                    bias[4 :: 5 + head.classes] += objectness_bias
                parts = [bias]
                out_m2 = logit_scale**2 + float(np.mean(bias**2))
            parts.append(rng.normal(0.0, std, n * fan_in))
            chunks.append(np.concatenate(parts).astype("<f4"))
            gain_m1, gain_m2 = _ACTIVATION_GAIN[spec.activation]
            mean, current = gain_m1 * float(np.sqrt(out_m2)), out_m2 * gain_m2
        elif kind == "shortcut":
            other = resolve_ref(section, index, section.get_ints("from")[0])
            current = current + m2[other] + 2.0 * mean * m1[other]
            mean = mean + m1[other]
        elif kind == "route":
            refs = [resolve_ref(section, index, v) for v in section.get_ints("layers")]
            weights = np.array([network.shapes[r][0] for r in refs], dtype=np.float64)
            current = float(np.dot(weights, [m2[r] for r in refs]) / weights.sum())
            mean = float(np.dot(weights, [m1[r] for r in refs]) / weights.sum())
        m1.append(mean)
        m2.append(current)
    header = WeightsHeader(*version, seen).pack()
    body = np.concatenate(chunks).tobytes() if chunks else b""
    return write_bytes(path, header + body, inputs=(cfg,))


__all__ = ["write_random_weights"]
