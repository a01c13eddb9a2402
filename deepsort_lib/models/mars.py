"""The ``mars-small128`` re-ID network of Deep SORT as an ONNX graph with random weights.

Architecture from Wojke & Bewley, "Deep Cosine Metric Learning for Person
Re-Identification" (WACV 2018), Table 1, the network Deep SORT ships as ``mars-small128.pb``:

==========  =================  =========  ==========
layer       kernel / stride    channels   output
==========  =================  =========  ==========
conv 1      3x3 / 1            32         128 x 64
conv 2      3x3 / 1            32         128 x 64
max pool 3  3x3 / 2            32         64 x 32
residual 4  3x3 / 1            32         64 x 32
residual 5  3x3 / 1            32         64 x 32
residual 6  3x3 / 2            64         32 x 16
residual 7  3x3 / 1            64         32 x 16
residual 8  3x3 / 2            128        16 x 8
residual 9  3x3 / 1            128        16 x 8
dense 10                       128        128
batch + L2 normalisation       128        128
==========  =================  =========  ==========

Convolutions are followed by batch normalisation and ELU; residual blocks are pre-activation
(BN + ELU, conv, BN + ELU, conv with bias, plus the input, through a 1x1 projection where the
shape changes); padding is TensorFlow's ``SAME``. The graph takes what the frozen TensorFlow
graph takes: ``images``, uint8 ``(N, 128, 64, 3)`` BGR (it flips to RGB and scales to [0, 1]
inside), and returns ``features``, ``(N, 128)`` float32 with unit L2 norm.

With random weights it has the exact layer shapes and cost of the real model, for tests and
benchmarks; it is no re-identification model. Built with ``onnx.helper`` directly: the graph is
small, and this avoids a deep-learning framework as a dependency.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from deepsort_lib.models.reid import MARS_PRESET, reid_metadata, save_model

#: ONNX opset of the generated graph.
OPSET = 17
#: Initialisers whose names end with one of these are not trainable parameters.
NON_TRAINABLE_SUFFIXES = (".running_mean", ".running_var", ".const")


class _Builder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []

    def init(self, name: str, array: np.ndarray) -> str:  # type: ignore[type-arg]
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], name: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def bn(self, x: str, channels: int, name: str) -> str:
        gamma = self.rng.uniform(0.8, 1.2, channels).astype(np.float32)
        beta = self.rng.normal(0.0, 0.1, channels).astype(np.float32)
        return self.node(
            "BatchNormalization",
            [
                x,
                self.init(f"{name}.gamma", gamma),
                self.init(f"{name}.beta", beta),
                self.init(f"{name}.running_mean", np.zeros(channels, np.float32)),
                self.init(f"{name}.running_var", np.ones(channels, np.float32)),
            ],
            name,
            epsilon=1e-3,
        )

    def elu(self, x: str, name: str) -> str:
        return self.node("Elu", [x], name)

    def conv(
        self, x: str, cin: int, cout: int, k: int, stride: int, name: str, bias: bool = False
    ) -> str:
        # He initialisation keeps activations in a realistic range through the ELUs.
        std = np.sqrt(2.0 / (cin * k * k))
        weight = self.rng.normal(0.0, std, (cout, cin, k, k)).astype(np.float32)
        inputs = [x, self.init(f"{name}.weight", weight)]
        if bias:
            b = self.rng.normal(0.0, 0.01, cout).astype(np.float32)
            inputs.append(self.init(f"{name}.bias", b))
        # TensorFlow SAME padding: for even inputs and stride 2 the one extra pixel goes at the end.
        pad = [1, 1, 1, 1] if (k == 3 and stride == 1) else [0, 0, 1, 1] if k == 3 else [0, 0, 0, 0]
        return self.node(
            "Conv", inputs, name, kernel_shape=[k, k], strides=[stride, stride], pads=pad
        )

    def residual(self, x: str, cin: int, cout: int, stride: int, first: bool, name: str) -> str:
        h = x if first else self.elu(self.bn(x, cin, f"{name}.bn0"), f"{name}.elu0")
        h = self.conv(h, cin, cout, 3, stride, f"{name}.conv1")
        h = self.elu(self.bn(h, cout, f"{name}.bn1"), f"{name}.elu1")
        h = self.conv(h, cout, cout, 3, 1, f"{name}.conv2", bias=True)
        shortcut = x
        if cin != cout or stride != 1:
            shortcut = self.conv(x, cin, cout, 1, stride, f"{name}.projection")
        return self.node("Add", [h, shortcut], f"{name}.add")


def build_mars_small128(seed: int = 0) -> onnx.ModelProto:
    """The mars-small128 graph with random weights (see the module docstring).

    Parameters
    ----------
    seed
        Seed of the random weights.

    Returns
    -------
    onnx.ModelProto
        Checked model carrying the ``mars-small128`` preprocessing metadata, so
        :class:`~deepsort_lib.models.reid.OnnxEncoder` loads it with no arguments.
    """
    b = _Builder(seed)
    x = b.node("Cast", ["images"], "cast", to=TensorProto.FLOAT)
    # BGR -> RGB, as the original graph does before its first convolution.
    flip = b.init("bgr_to_rgb.const", np.array([2, 1, 0], np.int64))
    x = b.node("Gather", [x, flip], "rgb", axis=3)
    x = b.node("Mul", [x, b.init("scale.const", np.array(1 / 255, np.float32))], "scaled")
    x = b.node("Transpose", [x], "nchw", perm=[0, 3, 1, 2])
    x = b.elu(b.bn(b.conv(x, 3, 32, 3, 1, "conv1_1"), 32, "conv1_1.bn"), "conv1_1.elu")
    x = b.elu(b.bn(b.conv(x, 32, 32, 3, 1, "conv1_2"), 32, "conv1_2.bn"), "conv1_2.elu")
    x = b.node("MaxPool", [x], "pool1", kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1])
    blocks = [(32, 32, 1), (32, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1)]
    for i, (cin, cout, stride) in enumerate(blocks):
        x = b.residual(x, cin, cout, stride, first=i == 0, name=f"res{i + 4}")
    # Flatten in TensorFlow's NHWC order, so dense weights of the real model would map 1:1.
    x = b.node("Transpose", [x], "nhwc", perm=[0, 2, 3, 1])
    x = b.node("Flatten", [x], "flat", axis=1)
    dense_in = 16 * 8 * 128
    weight = b.rng.normal(0.0, np.sqrt(1.0 / dense_in), (dense_in, 128)).astype(np.float32)
    x = b.node("MatMul", [x, b.init("fc10.weight", weight)], "fc10")
    x = b.elu(b.bn(x, 128, "fc10.bn"), "fc10.elu")
    x = b.bn(x, 128, "ball")
    # features / sqrt(eps + sum(features^2)), the original's L2 normalisation.
    sq = b.node("ReduceSumSquare", [x], "sumsq", axes=[1], keepdims=1)
    sq = b.node("Add", [sq, b.init("eps.const", np.array(1e-8, np.float32))], "sumsq_eps")
    norm = b.node("Sqrt", [sq], "norm")
    b.nodes.append(helper.make_node("Div", [x, norm], ["features"], name="features"))

    graph = helper.make_graph(
        b.nodes,
        "mars_small128",
        [helper.make_tensor_value_info("images", TensorProto.UINT8, ["N", 128, 64, 3])],
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", 128])],
        b.inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="deepsort_lib"
    )
    model.ir_version = 8  # readable by onnxruntime >= 1.14
    helper.set_model_props(model, reid_metadata(**MARS_PRESET.as_kwargs()))
    onnx.checker.check_model(model)
    return model


def count_parameters(model: onnx.ModelProto) -> int:
    """Number of trainable parameters: initialisers except BN running statistics and constants."""
    return sum(
        int(np.prod(init.dims))
        for init in model.graph.initializer
        if not init.name.endswith(NON_TRAINABLE_SUFFIXES)
    )


def write_mars_small128(path: str | os.PathLike[str], seed: int = 0) -> Path:
    """Build the random-weight mars-small128 graph and save it atomically to ``path``."""
    return save_model(build_mars_small128(seed), path)


__all__ = ["build_mars_small128", "count_parameters", "write_mars_small128"]
