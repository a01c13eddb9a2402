"""OnnxEncoder on generated ONNX models: geometry, preprocessing, batching, metadata, presets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from deepsort_lib.boxes import Detections
from deepsort_lib.errors import ConfigurationError, InvalidInputError, ModelError
from deepsort_lib.models.crops import extract_crops
from deepsort_lib.models.mars import build_mars_small128, count_parameters, write_mars_small128
from deepsort_lib.models.reid import (
    META_INPUT_SIZE,
    OnnxEncoder,
    reid_metadata,
    save_model,
    write_reid_metadata,
)
from deepsort_lib.pipeline import encode_detections
from deepsort_lib.protocols import Encoder

VIDEO = Path(__file__).resolve().parents[1] / "data" / "vtest.avi"


def colour_means_model(
    layout: str, shape: list, dtype: int = TensorProto.FLOAT, dim: int | None = None
) -> onnx.ModelProto:
    """Output = the per-channel mean of the (preprocessed) input; optionally a fixed projection.

    With a uniform crop the output is exactly the preprocessed colour, checkable by hand.
    """
    axes = [2, 3] if layout == "NCHW" else [1, 2]
    nodes = [helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT)]
    nodes.append(helper.make_node("ReduceMean", ["xf"], ["means"], axes=axes, keepdims=0))
    inits = []
    out = "means"
    if dim is not None:
        weight = np.random.default_rng(0).normal(size=(3, dim)).astype(np.float32)
        inits.append(numpy_helper.from_array(weight, "w"))
        nodes.append(helper.make_node("MatMul", ["means", "w"], ["proj"]))
        out = "proj"
    graph = helper.make_graph(
        nodes,
        "means",
        [helper.make_tensor_value_info("x", dtype, shape)],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def uniform_frame(bgr: tuple[int, int, int]) -> np.ndarray:
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[:] = bgr
    return frame


@pytest.fixture(scope="module")
def mars_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mars_small128(tmp_path_factory.mktemp("mars") / "mars.onnx", seed=3)


@pytest.fixture(scope="module")
def mars(mars_path: Path) -> OnnxEncoder:
    return OnnxEncoder(mars_path, providers="cpu", threads=1)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (360, 640, 3), dtype=np.uint8)


BOXES = np.array(
    [
        [100, 50, 40, 100],
        [300, 120, 60, 150],
        [-20, -30, 50, 120],  # partly outside
        [700, 10, 30, 60],  # wholly outside
        [5, 5, 20, 0],  # zero height
        [600, 300, 80, 200],  # partly outside bottom-right
        [250.5, 80.25, 33.3, 91.7],
    ]
)
VALID = [True, True, True, False, False, True, True]


# ---------------------------------------------------------------- the MARS architecture


def test_mars_parameter_count_matches_the_paper_table() -> None:
    def conv(cin: int, cout: int, k: int = 3) -> int:
        return cin * cout * k * k

    bn = 2  # gamma and beta per channel
    expected = (
        conv(3, 32) + bn * 32  # conv 1
        + conv(32, 32) + bn * 32  # conv 2
        + conv(32, 32) + bn * 32 + conv(32, 32) + 32  # residual 4 (first: no pre-activation)
        + bn * 32 + conv(32, 32) + bn * 32 + conv(32, 32) + 32  # residual 5
        + bn * 32 + conv(32, 64) + bn * 64 + conv(64, 64) + 64 + conv(32, 64, 1)  # residual 6
        + bn * 64 + conv(64, 64) + bn * 64 + conv(64, 64) + 64  # residual 7
        + bn * 64 + conv(64, 128) + bn * 128 + conv(128, 128) + 128 + conv(64, 128, 1)  # res 8
        + bn * 128 + conv(128, 128) + bn * 128 + conv(128, 128) + 128  # residual 9
        + 16 * 8 * 128 * 128 + bn * 128  # dense 10 (+ its batch norm)
        + bn * 128  # batch + L2 normalisation
    )  # fmt: skip
    model = build_mars_small128()
    assert count_parameters(model) == expected == 2_802_080
    assert 2.7e6 < expected < 2.9e6  # "~2.8M" in the paper


def test_mars_layer_output_sizes() -> None:
    inferred = onnx.shape_inference.infer_shapes(build_mars_small128())
    shapes = {
        v.name: [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]
        for v in inferred.graph.value_info
    }
    assert shapes["conv1_2.elu"] == ["N", 32, 128, 64]
    assert shapes["pool1"] == ["N", 32, 64, 32]
    assert shapes["res5.add"] == ["N", 32, 64, 32]
    assert shapes["res7.add"] == ["N", 64, 32, 16]
    assert shapes["res9.add"] == ["N", 128, 16, 8]
    assert shapes["flat"] == ["N", 16384]
    io = inferred.graph
    assert io.input[0].name == "images"
    assert io.input[0].type.tensor_type.elem_type == TensorProto.UINT8
    assert io.output[0].name == "features"


def test_mars_model_loads_from_its_metadata(mars: OnnxEncoder) -> None:
    assert mars.input_size == (64, 128)  # (width, height)
    assert mars.layout == "NHWC"
    assert mars.channel_order == "BGR"
    assert mars.input_dtype == np.uint8
    assert mars.mean is None and mars.std is None
    assert mars.feature_dim == 128
    assert isinstance(mars, Encoder)


def test_mars_output_is_l2_normalised_inside_the_graph(mars: OnnxEncoder) -> None:
    crops = np.random.default_rng(0).integers(0, 256, (3, 128, 64, 3), dtype=np.uint8)
    raw = mars.session.run(None, {"images": crops})[0]
    np.testing.assert_allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-5)


# ---------------------------------------------------------------- encode


def test_encode_rows_are_unit_or_zero(mars: OnnxEncoder, frame: np.ndarray) -> None:
    features = mars.encode(frame, BOXES)
    assert features.shape == (len(BOXES), 128)
    assert features.dtype == np.float32
    norms = np.linalg.norm(features, axis=1)
    np.testing.assert_allclose(norms[VALID], 1.0, atol=1e-5)
    assert np.all(features[~np.array(VALID)] == 0.0)
    assert np.all(np.isfinite(features))


def test_encode_equals_model_on_extracted_crops(mars: OnnxEncoder, frame: np.ndarray) -> None:
    crops, valid = extract_crops(frame, BOXES, (64, 128))
    raw = mars.session.run(None, {"images": crops[valid]})[0]
    np.testing.assert_allclose(mars.encode(frame, BOXES)[valid], raw, atol=1e-5)


def test_batching_gives_the_same_features_as_one_by_one(mars_path: Path, frame: np.ndarray) -> None:
    batched = OnnxEncoder(mars_path, providers="cpu", batch_size=32).encode(frame, BOXES)
    ones = OnnxEncoder(mars_path, providers="cpu", batch_size=1).encode(frame, BOXES)
    threes = OnnxEncoder(mars_path, providers="cpu", batch_size=3).encode(frame, BOXES)
    np.testing.assert_allclose(batched, ones, atol=1e-5)
    np.testing.assert_allclose(batched, threes, atol=1e-5)
    singles = np.concatenate([OnnxEncoder(mars_path).encode(frame, b[None]) for b in BOXES])
    np.testing.assert_allclose(batched, singles, atol=1e-5)


def test_different_crops_give_different_features(mars: OnnxEncoder, frame: np.ndarray) -> None:
    features = mars.encode(frame, BOXES[:2])
    assert float(features[0] @ features[1]) < 0.9999


def test_mask_zeroes_rows_and_keeps_the_rest(mars: OnnxEncoder, frame: np.ndarray) -> None:
    mask = np.array([True, False, True, True, True, False, True])
    full = mars.encode(frame, BOXES)
    masked = mars.encode(frame, BOXES, mask=mask)
    keep = mask & np.array(VALID)
    np.testing.assert_allclose(masked[keep], full[keep], atol=1e-6)
    assert np.all(masked[~keep] == 0.0)


def test_empty_box_list(mars: OnnxEncoder, frame: np.ndarray) -> None:
    assert mars.encode(frame, np.zeros((0, 4))).shape == (0, 128)
    assert mars.encode(frame, []).shape == (0, 128)


def test_bad_input_raises_before_inference(mars: OnnxEncoder, frame: np.ndarray) -> None:
    with pytest.raises(InvalidInputError):
        mars.encode(frame.astype(np.float32), BOXES)
    with pytest.raises(InvalidInputError):
        mars.encode(frame, BOXES[:, :3])
    with pytest.raises(InvalidInputError):
        mars.encode_crops(np.zeros((2, 64, 32, 3), np.uint8))


# ---------------------------------------------------------------- preprocessing


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_float_preprocessing_channel_order_mean_std(tmp_path: Path, layout: str) -> None:
    shape = ["N", 3, 32, 16] if layout == "NCHW" else ["N", 32, 16, 3]
    path = save_model(colour_means_model(layout, shape), tmp_path / "m.onnx")
    mean, std = (1.0, 2.0, 3.0), (2.0, 4.0, 8.0)
    frame = uniform_frame((10, 20, 30))  # B, G, R
    box = [[50, 50, 40, 80]]
    rgb = OnnxEncoder(path, channel_order="RGB", mean=mean, std=std)
    expected = np.array([(30 - 1) / 2, (20 - 2) / 4, (10 - 3) / 8])
    np.testing.assert_allclose(rgb.encode(frame, box)[0], expected / np.linalg.norm(expected), 1e-5)
    bgr = OnnxEncoder(path, channel_order="BGR", mean=mean, std=std)
    expected = np.array([(10 - 1) / 2, (20 - 2) / 4, (30 - 3) / 8])
    np.testing.assert_allclose(bgr.encode(frame, box)[0], expected / np.linalg.norm(expected), 1e-5)
    assert rgb.layout == layout and rgb.input_size == (16, 32)
    raw = OnnxEncoder(path)  # no mean/std: raw pixel values
    expected = np.array([10.0, 20.0, 30.0])
    np.testing.assert_allclose(raw.encode(frame, box)[0], expected / np.linalg.norm(expected), 1e-5)


def test_float16_input_model(tmp_path: Path) -> None:
    model = colour_means_model("NCHW", ["N", 3, 16, 8], TensorProto.FLOAT16)
    encoder = OnnxEncoder(save_model(model, tmp_path / "h.onnx"))
    assert encoder.input_dtype == np.float16
    out = encoder.encode(uniform_frame((10, 20, 40)), [[5, 5, 10, 20]])
    np.testing.assert_allclose(out[0], np.array([10, 20, 40]) / np.sqrt(2100), atol=1e-3)


def test_fixed_batch_model_is_padded(tmp_path: Path) -> None:
    path = save_model(colour_means_model("NCHW", [2, 3, 16, 8]), tmp_path / "b.onnx")
    encoder = OnnxEncoder(path, batch_size=32)
    assert encoder.batch_size == 2
    frame = np.random.default_rng(0).integers(0, 256, (100, 100, 3), dtype=np.uint8)
    boxes = np.array([[0, 0, 10, 20], [20, 20, 10, 20], [50, 10, 30, 60]])
    out = encoder.encode(frame, boxes)
    single = np.concatenate([encoder.encode(frame, b[None]) for b in boxes])
    np.testing.assert_allclose(out, single, atol=1e-6)


def test_dynamic_size_needs_input_size(tmp_path: Path) -> None:
    path = save_model(colour_means_model("NCHW", ["N", 3, "H", "W"]), tmp_path / "d.onnx")
    with pytest.raises(ModelError, match="input_size"):
        OnnxEncoder(path)
    encoder = OnnxEncoder(path, input_size=(32, 64))
    assert encoder.input_size == (32, 64)
    assert encoder.feature_dim == 3  # learnt by running the model once


def test_ambiguous_layout_needs_layout(tmp_path: Path) -> None:
    path = save_model(colour_means_model("NCHW", ["N", 3, 8, 3]), tmp_path / "a.onnx")
    with pytest.raises(ModelError, match="layout"):
        OnnxEncoder(path)
    assert OnnxEncoder(path, layout="NCHW").input_size == (3, 8)


def test_contradicting_arguments_raise(tmp_path: Path, mars_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        OnnxEncoder(mars_path, input_size=(128, 64))  # height first: contradicts the model
    with pytest.raises(ConfigurationError, match="uint8"):
        OnnxEncoder(mars_path, mean=(0, 0, 0))
    path = save_model(colour_means_model("NCHW", ["N", 3, 16, 8]), tmp_path / "f.onnx")
    with pytest.raises(ConfigurationError, match="pixel units"):
        OnnxEncoder(path, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    with pytest.raises(ConfigurationError):
        OnnxEncoder(path, channel_order="GBR")
    with pytest.raises(ConfigurationError):
        OnnxEncoder(path, batch_size=0)
    with pytest.raises(ModelError):
        OnnxEncoder(tmp_path / "missing.onnx")


# ---------------------------------------------------------------- metadata and presets


def test_metadata_round_trip(tmp_path: Path) -> None:
    bare = save_model(colour_means_model("NCHW", ["N", 3, "H", "W"]), tmp_path / "bare.onnx")
    out = write_reid_metadata(
        bare,
        tmp_path / "described.onnx",
        input_size=(24, 48),
        channel_order="rgb",
        layout="NCHW",
        mean=(1.5, 2.5, 3.5),
        std=(10, 20, 30),
        feature_dim=3,
    )
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert props == reid_metadata(
        input_size=(24, 48), channel_order="RGB", layout="NCHW", mean=(1.5, 2.5, 3.5),
        std=(10, 20, 30), feature_dim=3,
    )  # fmt: skip
    assert props[META_INPUT_SIZE] == "24x48"  # WIDTHxHEIGHT
    encoder = OnnxEncoder(out)
    assert encoder.input_size == (24, 48)
    assert encoder.channel_order == "RGB"
    np.testing.assert_allclose(encoder.mean, (1.5, 2.5, 3.5))  # type: ignore[arg-type]
    np.testing.assert_allclose(encoder.std, (10, 20, 30))  # type: ignore[arg-type]
    # Arguments override metadata.
    assert OnnxEncoder(out, channel_order="BGR", input_size=(10, 20)).channel_order == "BGR"
    with pytest.raises(ConfigurationError):
        write_reid_metadata(bare, tmp_path / "x.onnx", channel_order="RGB")


def test_mars_preset(mars_path: Path) -> None:
    encoder = OnnxEncoder.from_preset("mars-small128", mars_path)
    assert (encoder.input_size, encoder.channel_order, encoder.layout) == ((64, 128), "BGR", "NHWC")
    assert encoder.feature_dim == 128


def test_osnet_preset(tmp_path: Path) -> None:
    model = colour_means_model("NCHW", ["N", 3, 256, 128], dim=512)
    path = save_model(model, tmp_path / "osnet.onnx")
    encoder = OnnxEncoder.from_preset("osnet", path)
    assert encoder.input_size == (128, 256)
    assert (encoder.channel_order, encoder.layout) == ("RGB", "NCHW")
    assert encoder.feature_dim == 512
    features = encoder.encode(uniform_frame((0, 128, 255)), [[10, 10, 50, 100]])
    rgb = np.array([255, 128, 0]) / 255.0
    means = (rgb - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    w = numpy_helper.to_array(model.graph.initializer[0])
    expected = means @ w
    np.testing.assert_allclose(features[0], expected / np.linalg.norm(expected), atol=1e-4)


def test_preset_errors(mars_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="unknown"):
        OnnxEncoder.from_preset("resnet-9000", mars_path)
    with pytest.raises(ConfigurationError):  # mars' static 128x64 input is not osnet's
        OnnxEncoder.from_preset("osnet", mars_path)
    small = save_model(colour_means_model("NCHW", ["N", 3, 256, 128], dim=64), tmp_path / "s.onnx")
    with pytest.raises(ModelError, match="512"):
        OnnxEncoder.from_preset("osnet", small)


# ---------------------------------------------------------------- encoding only what is used


def test_encode_detections_skips_low_scores(mars: OnnxEncoder, frame: np.ndarray) -> None:
    dets = Detections.from_tlwh(BOXES[[0, 1, 5, 6]], scores=[0.9, 0.2, 0.6, 0.05])
    full = encode_detections(mars, frame, dets)
    assert full.features is not None and full.features.shape == (4, 128)
    part = encode_detections(mars, frame, dets, min_score=0.5)
    assert part.features is not None
    np.testing.assert_allclose(part.features[[0, 2]], full.features[[0, 2]], atol=1e-6)
    assert np.all(part.features[[1, 3]] == 0.0)
    none = encode_detections(mars, frame, dets, min_score=0.95)
    assert none.features is not None and none.features.shape == (4, 128)
    assert not none.features.any()
    np.testing.assert_array_equal(part.tlwh, dets.tlwh)


# ---------------------------------------------------------------- faster paths


@pytest.mark.slow
def test_int8_encoder_is_close_to_fp32(mars_path: Path, tmp_path: Path) -> None:
    from deepsort_lib.models.reid_convert import quantize_encoder, video_crops

    out = quantize_encoder(mars_path, tmp_path / "int8.onnx", VIDEO, frames=8, boxes_per_frame=8)
    int8 = OnnxEncoder(out, providers="cpu")
    assert int8.metadata["deepsort_lib.quantized"] == "int8-qdq"
    assert (int8.input_size, int8.layout, int8.channel_order) == ((64, 128), "NHWC", "BGR")
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    crops = video_crops(VIDEO, (64, 128), frames=6, boxes_per_frame=8, seed=11)
    fp32 = OnnxEncoder(mars_path, providers="cpu").encode_crops(crops)
    cosine = np.sum(fp32 * int8.encode_crops(crops), axis=1)
    assert cosine.mean() >= 0.98


def test_fp16_conversion_keeps_float_io_and_features(mars_path: Path, tmp_path: Path) -> None:
    from deepsort_lib.models.reid_convert import convert_float16

    out = convert_float16(mars_path, tmp_path / "fp16.onnx")
    model = onnx.load(str(out))
    types = {i.data_type for i in model.graph.initializer if i.name.endswith(".weight")}
    assert types == {TensorProto.FLOAT16}
    assert model.graph.input[0].type.tensor_type.elem_type == TensorProto.UINT8
    assert model.graph.output[0].type.tensor_type.elem_type == TensorProto.FLOAT
    half = OnnxEncoder(out, providers="cpu")  # CPU runs fp16 through inserted casts
    assert half.metadata["deepsort_lib.precision"] == "fp16"
    crops = np.random.default_rng(2).integers(0, 256, (6, 128, 64, 3), dtype=np.uint8)
    full = OnnxEncoder(mars_path, providers="cpu").encode_crops(crops)
    assert np.min(np.sum(full * half.encode_crops(crops), axis=1)) > 0.999


@pytest.mark.slow
def test_video_crops_are_real_frames(tmp_path: Path) -> None:
    from deepsort_lib.errors import SourceError
    from deepsort_lib.models.reid_convert import video_crops

    crops = video_crops(VIDEO, (64, 128), frames=3, boxes_per_frame=4)
    assert crops.shape == (12, 128, 64, 3)
    assert crops.std() > 10  # textured image content, not padding
    boxes = video_crops(VIDEO, (32, 64), frames=2, boxes=lambda f: np.array([[0, 0, 40, 80.0]]))
    assert boxes.shape == (2, 64, 32, 3)
    with pytest.raises(SourceError):
        video_crops(tmp_path / "nope.avi", (64, 128))


@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.0, 1.5])
def test_decompose_elu_is_exact(tmp_path: Path, alpha: float) -> None:
    from deepsort_lib.models.reid_convert import decompose_elu

    node = helper.make_node("Elu", ["x"], ["y"], name="act", alpha=alpha)
    graph = helper.make_graph(
        [node],
        "elu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    reference = onnx.ModelProto()
    reference.CopyFrom(model)
    rewritten = decompose_elu(model)
    ops = [n.op_type for n in model.graph.node]
    if alpha > 1.0:  # max(x, alpha * (exp(x) - 1)) is not Elu there: left alone
        assert rewritten == 0 and ops == ["Elu"]
        return
    assert rewritten == 1 and "Elu" not in ops
    onnx.checker.check_model(model)
    x = np.linspace(-8, 8, 1001).astype(np.float32)
    expected = np.where(x > 0, x, alpha * np.expm1(x))
    for m in (reference, model):
        np.testing.assert_allclose(_run_plain(m, x), expected, atol=1e-6)


def _run_plain(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    from deepsort_lib.models.runtime import create_session

    session = create_session(model.SerializeToString(), providers="cpu")
    return np.asarray(session.run(None, {"x": x})[0])


def test_mars_with_decomposed_elu_gives_the_same_features(mars: OnnxEncoder) -> None:
    from deepsort_lib.models.reid_convert import decompose_elu

    model = build_mars_small128(seed=3)
    # conv 1 and 2, one in the first residual block, two in each of the other five, dense.
    assert decompose_elu(model) == 2 + 1 + 5 * 2 + 1
    fast = OnnxEncoder(model.SerializeToString(), providers="cpu")
    crops = np.random.default_rng(4).integers(0, 256, (5, 128, 64, 3), dtype=np.uint8)
    np.testing.assert_allclose(fast.encode_crops(crops), mars.encode_crops(crops), atol=1e-5)
