"""One size convention: (width, height) in pixels and WIDTHxHEIGHT as text, detector and re-ID."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from yolo_models import SMALL_CFG, ModelFactory, yolo_models  # noqa: F401

from deepsort_lib.cli.main import convert_main
from deepsort_lib.errors import ConfigurationError, ModelError
from deepsort_lib.models.classic import ClassicEncoder
from deepsort_lib.models.crops import extract_crops
from deepsort_lib.models.files import save_model
from deepsort_lib.models.mars import write_mars_small128
from deepsort_lib.models.reid import (
    ENCODER_PRESETS,
    LEGACY_META_INPUT_SIZE_HW,
    META_INPUT_SIZE,
    OnnxEncoder,
    reid_metadata,
)
from deepsort_lib.models.yolo import YOLOv3Detector


def _mean_model(shape: list) -> onnx.ModelProto:
    """(N, 3, H, W) float in, per-channel means out: any crop size runs."""
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=0)],
        "means",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_detector_and_encoders_all_say_width_then_height(
    yolo_models: ModelFactory,  # noqa: F811
    tmp_path: Path,
) -> None:
    # The small cfg's network is 96 wide and 64 tall; mars-small128 takes 64 wide, 128 tall.
    assert YOLOv3Detector(yolo_models(SMALL_CFG).raw, providers="cpu").input_size == (96, 64)
    mars = OnnxEncoder(write_mars_small128(tmp_path / "mars.onnx"), providers="cpu")
    assert mars.input_size == (64, 128)
    assert ENCODER_PRESETS["mars-small128"].input_size == (64, 128)
    assert ENCODER_PRESETS["osnet"].input_size == (128, 256)
    assert ClassicEncoder().crop_size == (64, 128)
    frame = np.zeros((200, 300, 3), np.uint8)
    crops, _ = extract_crops(frame, [[10, 10, 20, 40]], (20, 40))
    assert crops.shape == (1, 40, 20, 3)  # 40 rows tall, 20 columns wide
    wide = ClassicEncoder(crop_size=(128, 64), stripes=2)
    assert wide.encode(frame, [[10, 10, 40, 20]]).shape == (1, wide.feature_dim)
    assert (
        reid_metadata(input_size=(64, 128), channel_order="BGR", layout="NHWC")[META_INPUT_SIZE]
        == "64x128"
    )
    assert (
        reid_metadata(input_size="64x128", channel_order="BGR", layout="NHWC")[META_INPUT_SIZE]
        == "64x128"
    )


def test_old_height_first_metadata_is_still_read(tmp_path: Path) -> None:
    model = _mean_model(["N", 3, "H", "W"])
    helper.set_model_props(
        model, {LEGACY_META_INPUT_SIZE_HW: "48x24", "deepsort_lib.reid.layout": "NCHW"}
    )
    old = save_model(model, tmp_path / "old.onnx")
    encoder = OnnxEncoder(old, providers="cpu")
    assert encoder.input_size == (24, 48)  # "48x24" was HEIGHTxWIDTH
    features = encoder.encode(np.full((100, 100, 3), 7, np.uint8), [[0, 0, 10, 20]])
    assert features.shape == (1, 3)
    # The new key wins where both are present.
    helper.set_model_props(model, {LEGACY_META_INPUT_SIZE_HW: "48x24", META_INPUT_SIZE: "16x32"})
    both = save_model(model, tmp_path / "both.onnx")
    assert OnnxEncoder(both, layout="NCHW", providers="cpu").input_size == (16, 32)
    helper.set_model_props(model, {META_INPUT_SIZE: "sixteen"})
    with pytest.raises(ModelError, match="input size"):
        OnnxEncoder(save_model(model, tmp_path / "bad.onnx"), layout="NCHW", providers="cpu")


def test_height_first_sizes_contradict_a_static_model(tmp_path: Path) -> None:
    mars = write_mars_small128(tmp_path / "mars.onnx")
    with pytest.raises(ConfigurationError, match="contradicts"):
        OnnxEncoder(mars, input_size=(128, 64), providers="cpu")
    with pytest.raises(ConfigurationError, match="WIDTHxHEIGHT"):
        OnnxEncoder(mars, input_size="64 by 128", providers="cpu")


def test_cli_reid_sizes_are_width_by_height(tmp_path: Path) -> None:
    model = save_model(_mean_model(["N", 3, "H", "W"]), tmp_path / "m.onnx")
    out = tmp_path / "described.onnx"
    args = ["reid-metadata", str(model), "-o", str(out), "--input-size", "32x96"]
    assert convert_main([*args, "--layout", "NCHW", "--channel-order", "RGB"]) == 0
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert props[META_INPUT_SIZE] == "32x96" and LEGACY_META_INPUT_SIZE_HW not in props
    assert OnnxEncoder(out, providers="cpu").input_size == (32, 96)
