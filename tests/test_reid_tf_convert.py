"""TensorFlow frozen graph -> ONNX (the mars-small128.pb path), checked against TensorFlow itself.

Needs the ``convert`` extra (tensorflow-cpu, tf2onnx), which the set-up script installs.
The graph built here has the original's interface: a uint8 ``images`` placeholder of shape
``(None, 128, 64, 3)`` preprocessed per image with ``map_fn`` (TF1 control flow, as in the
frozen original), convolution, pooling, a dense layer and L2 normalisation to ``features``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from deepsort_lib.cli.main import convert_main
from deepsort_lib.errors import ModelError
from deepsort_lib.models.reid import OnnxEncoder
from deepsort_lib.models.reid_convert import convert_tf_frozen_graph

# TensorFlow lives in its own virtualenv (scripts/setup_convert.sh); scripts/check.sh runs
# this module there.
pytestmark = pytest.mark.convert


def frozen_graph(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Write a small frozen graph; return a test batch and TensorFlow's features for it."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    tf.compat.v1.disable_control_flow_v2()  # the original .pb was frozen with TF1 loops
    try:
        graph = tf.Graph()
        with graph.as_default():
            images = tf.compat.v1.placeholder(tf.uint8, [None, 128, 64, 3], name="images")
            x = tf.map_fn(lambda im: im[:, :, ::-1] / 255.0, tf.cast(images, tf.float32))
            kernel = tf.constant(rng.normal(0, 0.3, (3, 3, 3, 8)).astype(np.float32))
            x = tf.nn.elu(tf.nn.conv2d(x, kernel, strides=1, padding="SAME"))
            x = tf.nn.max_pool2d(x, 3, 2, padding="SAME")
            x = tf.reshape(x, [-1, 64 * 32 * 8])
            dense = tf.constant(rng.normal(0, 0.01, (64 * 32 * 8, 16)).astype(np.float32))
            x = tf.matmul(x, dense)
            x = x / tf.sqrt(1e-8 + tf.reduce_sum(tf.square(x), [1], keepdims=True))
            tf.identity(x, name="features")
        path.write_bytes(graph.as_graph_def().SerializeToString())
        batch = rng.integers(0, 256, (5, 128, 64, 3), dtype=np.uint8)
        with tf.compat.v1.Session(graph=graph) as session:
            features = session.run("features:0", {"images:0": batch})
    finally:
        tf.compat.v1.enable_control_flow_v2()
    return batch, features


@pytest.mark.slow
def test_tf_frozen_graph_converts_to_the_same_function(tmp_path: Path) -> None:
    pb = tmp_path / "small.pb"
    batch, expected = frozen_graph(pb)
    out = convert_tf_frozen_graph(pb, tmp_path / "small.onnx")
    model = onnx.load(str(out))
    assert [i.name for i in model.graph.input] == ["images"]
    assert [o.name for o in model.graph.output] == ["features"]
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    encoder = OnnxEncoder(out, providers="cpu")
    assert (encoder.input_size, encoder.layout, encoder.channel_order) == ((64, 128), "NHWC", "BGR")
    got = encoder.session.run(None, {"images": batch})[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(encoder.encode_crops(batch), expected, atol=1e-5)

    # The console command does the same; a wrong output name is a one-line error (exit 2).
    assert convert_main(["mars", str(pb), "-o", str(tmp_path / "cli.onnx")]) == 0
    assert (tmp_path / "cli.onnx").is_file()
    bad = ["mars", str(pb), "-o", str(tmp_path / "x.onnx"), "--output-name", "nope"]
    assert convert_main(bad) == 2
    assert not (tmp_path / "x.onnx").exists()


def test_not_a_frozen_graph_is_a_model_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pb"
    junk.write_bytes(b"\x00\x01 definitely not protobuf \xff" * 10)
    with pytest.raises(ModelError):
        convert_tf_frozen_graph(junk, tmp_path / "out.onnx")
    with pytest.raises(ModelError, match="not found"):
        convert_tf_frozen_graph(tmp_path / "missing.pb", tmp_path / "out.onnx")
