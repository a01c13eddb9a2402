"""YOLOv3Detector: letterbox, decoding, NMS, layouts, class filter, providers, int8."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from yolo_models import (  # noqa: F401  (yolo_models is a fixture)
    DARKNET_CFG,
    SMALL_CFG,
    VTEST,
    ModelFactory,
    sample_frames,
    yolo_models,
)

from deepsort_lib.boxes import Detections
from deepsort_lib.cli.main import convert_main
from deepsort_lib.errors import ConfigurationError, InvalidInputError, ModelError
from deepsort_lib.models.quantize import quantize_yolo
from deepsort_lib.models.runtime import resolve_providers
from deepsort_lib.models.yolo import (
    Letterbox,
    YOLOv3Detector,
    decode_raw_head,
    letterbox,
    nms,
)
from deepsort_lib.protocols import Detector

TINY = DARKNET_CFG / "yolov3-tiny.cfg"

# -- letterbox -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "expected_resized", "expected_pad"),
    [
        ((768, 576), (416, 312), (0, 52)),
        ((576, 768), (312, 416), (52, 0)),
        ((1920, 1080), (416, 234), (0, 91)),
        ((416, 416), (416, 416), (0, 0)),
    ],
)
def test_letterbox_geometry(
    image: tuple[int, int], expected_resized: tuple[int, int], expected_pad: tuple[int, int]
) -> None:
    box = Letterbox.fit(image, (416, 416))
    assert box.resized == expected_resized
    assert box.pad == expected_pad
    # The image's corners land on the resized region's corners.
    corners = np.array([[0.0, 0.0, image[0], image[1]]])
    np.testing.assert_allclose(
        box.to_input(corners),
        [
            [
                *expected_pad,
                expected_pad[0] + expected_resized[0],
                expected_pad[1] + expected_resized[1],
            ]
        ],
    )


def test_letterbox_round_trip_is_exact() -> None:
    rng = np.random.default_rng(0)
    for size in [(768, 576), (1920, 1080), (333, 777), (640, 480)]:
        box = Letterbox.fit(size, (416, 320))
        xyxy = rng.uniform(0, 1, (50, 4)) * np.array([*size, *size])
        np.testing.assert_allclose(box.to_image(box.to_input(xyxy)), xyxy, rtol=0, atol=1e-9)


def test_letterbox_blob_contents() -> None:
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[..., 0] = 255  # pure blue in BGR
    blob, (box,) = letterbox([frame], (64, 64))
    assert blob.shape == (1, 3, 64, 64) and blob.dtype == np.float32
    assert box.resized == (64, 32) and box.pad == (0, 16)
    inside = blob[0, :, 16:48, :]
    np.testing.assert_array_equal(inside[2], 1.0)  # blue is the last RGB channel
    np.testing.assert_array_equal(inside[:2], 0.0)
    np.testing.assert_array_equal(blob[0, :, :16], 0.5)  # Darknet's grey padding
    np.testing.assert_array_equal(blob[0, :, 48:], 0.5)


def test_bad_frames_are_rejected(yolo_models: ModelFactory) -> None:  # noqa: F811
    detector = YOLOv3Detector(yolo_models(SMALL_CFG).raw)
    for bad in (
        np.zeros((10, 10), np.uint8),
        np.zeros((10, 10, 3), np.float32),
        np.zeros((0, 5, 3), np.uint8),
    ):
        with pytest.raises(InvalidInputError):
            detector.detect(bad)


# -- decoding and NMS ----------------------------------------------------------------------------


def test_decode_raw_head_by_hand() -> None:
    # One image, 2 anchors, 1 class, a 2 × 3 grid (H × W), stride 8 × 10 (x × y).
    head = np.zeros((1, 2 * 6, 2, 3), np.float32)
    view = head.reshape(1, 2, 6, 2, 3)
    view[0, 1, 0, 1, 2] = np.log(3.0)  # sigmoid = 0.75
    view[0, 1, 1, 1, 2] = -np.log(3.0)  # sigmoid = 0.25
    view[0, 1, 2, 1, 2] = np.log(2.0)  # exp = 2
    view[0, 1, 3, 1, 2] = 0.0
    view[0, 1, 4, 1, 2] = 10.0  # objectness ~1
    view[0, 1, 5, 1, 2] = 0.0  # class prob 0.5
    view[:, :, 4] -= 20.0  # everything else: objectness ~0
    view[0, 1, 4, 1, 2] = 10.0
    (rows,) = decode_raw_head(head, [(5.0, 7.0), (11.0, 13.0)], (8.0, 10.0), min_objectness=0.5)
    assert rows.shape == (1, 6)
    cx, cy, w, h, obj, cls = rows[0]
    assert cx == pytest.approx((2 + 0.75) * 8.0)
    assert cy == pytest.approx((1 + 0.25) * 10.0)
    assert w == pytest.approx(2.0 * 11.0)
    assert h == pytest.approx(13.0)
    assert obj == pytest.approx(1 / (1 + np.exp(-10.0)))
    assert cls == pytest.approx(0.5)
    (all_rows,) = decode_raw_head(head, [(5.0, 7.0), (11.0, 13.0)], (8.0, 10.0))
    assert all_rows.shape == (12, 6)


def test_nms_matches_opencv_per_class() -> None:
    rng = np.random.default_rng(1)
    n = 400
    xy = rng.uniform(0, 300, (n, 2))
    wh = rng.uniform(10, 80, (n, 2))
    xyxy = np.concatenate([xy, xy + wh], axis=1)
    scores = rng.uniform(0.3, 1.0, n)
    classes = rng.integers(0, 4, n)
    keep = nms(xyxy, scores, classes, 0.45)
    assert np.all(np.diff(scores[keep]) <= 0)
    expected = []
    for c in range(4):
        idx = np.flatnonzero(classes == c)
        tlwh = np.concatenate([xy[idx], wh[idx]], axis=1)
        kept = cv2.dnn.NMSBoxes(tlwh.tolist(), scores[idx].tolist(), 0.0, 0.45)
        expected += idx[np.asarray(kept).reshape(-1)].tolist()
    assert sorted(keep.tolist()) == sorted(expected)
    assert 0 < len(keep) < n


def test_nms_by_hand() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [50, 50, 60, 60]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    # Box 1 overlaps box 0 (IoU 9/11) in the same class; box 2 is another class.
    np.testing.assert_array_equal(nms(boxes, scores, np.array([0, 0, 1, 0]), 0.5), [0, 2, 3])
    np.testing.assert_array_equal(nms(boxes, scores, np.array([0, 0, 1, 0]), 0.9), [0, 1, 2, 3])
    assert nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), 0.5).size == 0


# -- detector on converted models ----------------------------------------------------------------


@pytest.mark.slow
def test_detector_protocol_metadata_and_layouts(yolo_models: ModelFactory) -> None:  # noqa: F811
    files = yolo_models(TINY)
    raw = YOLOv3Detector(files.raw, providers="cpu")
    decoded = YOLOv3Detector(files.decoded, providers="cpu")
    assert isinstance(raw, Detector)
    assert raw.layout.kind == "raw" and decoded.layout.kind == "decoded"
    assert raw.input_size == decoded.input_size == (416, 416)
    assert raw.names[0] == "person" and len(raw.names) == 80
    frames = sample_frames(3)
    a, b = raw.detect_batch(frames), decoded.detect_batch(frames)
    for x, y, frame in zip(a, b, frames, strict=True):
        assert isinstance(x, Detections) and len(x) > 0
        np.testing.assert_allclose(x.tlwh, y.tlwh, atol=1e-3)
        np.testing.assert_array_equal(x.class_ids, y.class_ids)
        h, w = frame.shape[:2]
        xyxy = x.xyxy
        assert xyxy.min() >= 0 and np.all(xyxy[:, [0, 2]] <= w) and np.all(xyxy[:, [1, 3]] <= h)
        assert np.all(x.scores > 0.5)
    # Batched and one-by-one runs agree (frames of different sizes in one batch).
    for one, frame in zip(a, frames, strict=True):
        single = raw.detect(frame)
        np.testing.assert_allclose(single.tlwh, one.tlwh, atol=1e-4)
    assert raw.detect_batch([]) == []


@pytest.mark.slow
def test_class_filter_by_name_and_id(yolo_models: ModelFactory) -> None:  # noqa: F811
    files = yolo_models(TINY)
    frames = sample_frames(2)
    everything = YOLOv3Detector(files.raw).detect_batch(frames)
    seen = np.unique(np.concatenate([d.class_ids for d in everything]))
    assert len(seen) >= 2
    wanted = int(seen[0])
    detector = YOLOv3Detector(files.raw, classes=[wanted])
    by_name = YOLOv3Detector(files.raw, classes=[detector.names[wanted]])
    for d, n in zip(detector.detect_batch(frames), by_name.detect_batch(frames), strict=True):
        assert len(d) > 0 and np.all(d.class_ids == wanted)
        np.testing.assert_array_equal(d.tlwh, n.tlwh)
    with pytest.raises(ConfigurationError, match="unknown class 'unicorn'"):
        YOLOv3Detector(files.raw, classes=["unicorn"])
    with pytest.raises(ConfigurationError, match="out of range"):
        YOLOv3Detector(files.raw, classes=[80])
    with pytest.raises(ConfigurationError):
        YOLOv3Detector(files.raw, score_threshold=1.5)


@pytest.mark.slow  # over 1 s on the 2026-11-30 host
def test_thresholds_change_results(yolo_models: ModelFactory) -> None:  # noqa: F811
    files = yolo_models(TINY)
    frame = sample_frames(2)[0]
    loose = YOLOv3Detector(files.raw, score_threshold=0.3).detect(frame)
    strict = YOLOv3Detector(files.raw, score_threshold=0.6).detect(frame)
    no_nms = YOLOv3Detector(files.raw, score_threshold=0.3, nms_iou_threshold=1.0).detect(frame)
    assert len(strict) < len(loose) < len(no_nms)
    assert np.all(strict.scores > 0.6)


def test_providers_fall_back_to_cpu(yolo_models: ModelFactory) -> None:  # noqa: F811
    detector = YOLOv3Detector(yolo_models(SMALL_CFG).raw, providers="auto", threads=1)
    assert detector.providers[-1] == "CPUExecutionProvider"
    assert resolve_providers("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert resolve_providers("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"]) == [
        "CUDAExecutionProvider",
        "CPUExecutionProvider",
    ]


def test_raw_heads_without_metadata_are_refused(yolo_models: ModelFactory, tmp_path: Path) -> None:  # noqa: F811
    model = onnx.load(str(yolo_models(SMALL_CFG).raw))
    del model.metadata_props[:]
    onnx.save(model, str(tmp_path / "bare.onnx"))
    with pytest.raises(ModelError, match=r"no 'deepsort_lib\.yolo\.anchors' metadata"):
        YOLOv3Detector(tmp_path / "bare.onnx")


# -- foreign layouts -----------------------------------------------------------------------------


def _save(graph: onnx.GraphProto, path: Path, metadata: dict[str, str] | None = None) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    if metadata:
        helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def test_ultralytics_style_single_output(tmp_path: Path) -> None:
    # Output rows are constants (plus 0 × the image, so the input is used).
    rows = np.zeros((1, 3, 7), np.float32)
    rows[0, 0] = [208, 208, 104, 52, 0.9, 0.9, 0.1]  # class 0, conf 0.81
    rows[0, 1] = [210, 208, 104, 52, 0.9, 0.2, 0.8]  # class 1, conf 0.72: other class, kept
    rows[0, 2] = [100, 100, 10, 10, 0.3, 0.9, 0.9]  # conf 0.27: below threshold
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
            helper.make_node("Mul", ["m", "zero"], ["z"]),
            helper.make_node("Add", ["rows", "z"], ["output0"]),
        ],
        "ultra",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 416, 416])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 3, 7])],
        [numpy_helper.from_array(rows, "rows"), numpy_helper.from_array(np.float32(0), "zero")],
    )
    path = _save(graph, tmp_path / "ultra.onnx", {"names": "{0: 'cat', 1: 'dog'}"})
    detector = YOLOv3Detector(path, score_threshold=0.5)
    assert detector.layout.kind == "decoded" and detector.names == ["cat", "dog"]
    frame = np.zeros((416, 832, 3), np.uint8)  # letterboxed to 416 × 208, pad 104 at the top
    dets = detector.detect(frame)
    # Input box (156, 182)-(260, 234) → image ((x, y - 104) × 2).
    np.testing.assert_allclose(dets.xyxy[0], [312, 156, 520, 260])
    np.testing.assert_allclose(dets.scores, [0.81, 0.72], rtol=1e-6)
    np.testing.assert_array_equal(dets.class_ids, [0, 1])
    only_dog = YOLOv3Detector(path, classes=["dog"]).detect(frame)
    np.testing.assert_array_equal(only_dog.class_ids, [1])


def _zoo_model(path: Path, classes: int = 3) -> Path:
    """A small model with the ONNX model-zoo YOLOv3 interface and semantics.

    Boxes are fixed fractions of ``image_shape`` (y1, x1, y2, x2 in image pixels), scores are
    constants plus 0 × the image, and NonMaxSuppression inside picks the indices.
    """
    fractions = np.array(
        [[[0.1, 0.2, 0.5, 0.6], [0.12, 0.2, 0.5, 0.62], [0.6, 0.6, 0.9, 0.8]]], np.float32
    )
    scores = np.zeros((1, classes, 3), np.float32)
    scores[0, 0] = [0.9, 0.8, 0.1]  # box 1 overlaps box 0: removed by the NMS inside
    scores[0, 2] = [0.1, 0.1, 0.7]
    scores[0, 1] = [0.0, 0.0, 0.55]
    nodes = [
        helper.make_node("Concat", ["image_shape", "image_shape"], ["hwhw"], axis=1),  # [1, 4]
        helper.make_node("Unsqueeze", ["hwhw", "axis1"], ["hwhw3"]),  # [1, 1, 4]
        helper.make_node("Mul", ["fractions", "hwhw3"], ["yolonms_layer_1/ExpandDims_1:0"]),
        helper.make_node("ReduceMean", ["input_1"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["scores", "z"], ["yolonms_layer_1/ExpandDims_3:0"]),
        helper.make_node(
            "NonMaxSuppression",
            [
                "yolonms_layer_1/ExpandDims_1:0",
                "yolonms_layer_1/ExpandDims_3:0",
                "max_out",
                "iou",
                "score",
            ],
            ["selected"],
        ),
        helper.make_node(
            "Cast", ["selected"], ["yolonms_layer_1/concat_2:0"], to=TensorProto.INT32
        ),
    ]
    graph = helper.make_graph(
        nodes,
        "zoo",
        [
            helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["N", 3, "?", "?"]),
            helper.make_tensor_value_info("image_shape", TensorProto.FLOAT, ["N", 2]),
        ],
        [
            helper.make_tensor_value_info(
                "yolonms_layer_1/ExpandDims_1:0", TensorProto.FLOAT, [1, "n", 4]
            ),
            helper.make_tensor_value_info(
                "yolonms_layer_1/ExpandDims_3:0", TensorProto.FLOAT, [1, classes, "n"]
            ),
            helper.make_tensor_value_info(
                "yolonms_layer_1/concat_2:0", TensorProto.INT32, ["k", 3]
            ),
        ],
        [
            numpy_helper.from_array(fractions, "fractions"),
            numpy_helper.from_array(scores, "scores"),
            numpy_helper.from_array(np.array([1], np.int64), "axis1"),
            numpy_helper.from_array(np.float32(0), "zero"),
            numpy_helper.from_array(np.array([20], np.int64), "max_out"),
            numpy_helper.from_array(np.array([0.5], np.float32), "iou"),
            numpy_helper.from_array(np.array([0.3], np.float32), "score"),
        ],
    )
    return _save(graph, path)


def test_model_zoo_layout(tmp_path: Path) -> None:
    path = _zoo_model(tmp_path / "zoo.onnx")
    detector = YOLOv3Detector(path, score_threshold=0.5)
    assert detector.layout.kind == "zoo" and detector.input_size == (416, 416)
    assert detector.names == ["0", "1", "2"]
    frames = [np.zeros((200, 300, 3), np.uint8), np.zeros((100, 50, 3), np.uint8)]
    for frame, dets in zip(frames, detector.detect_batch(frames), strict=True):
        h, w = frame.shape[:2]
        # Kept by the model's NMS and our threshold: box 0 (class 0), box 2 (class 2, class 1).
        np.testing.assert_allclose(
            dets.xyxy,
            [
                [0.2 * w, 0.1 * h, 0.6 * w, 0.5 * h],
                [0.6 * w, 0.6 * h, 0.8 * w, 0.9 * h],
                [0.6 * w, 0.6 * h, 0.8 * w, 0.9 * h],
            ],
            rtol=1e-6,
        )
        np.testing.assert_allclose(dets.scores, [0.9, 0.7, 0.55], rtol=1e-6)
        np.testing.assert_array_equal(dets.class_ids, [0, 2, 1])
    only = YOLOv3Detector(path, classes=[2]).detect(frames[0])
    np.testing.assert_array_equal(only.class_ids, [2])


def test_unknown_layout_names_what_was_found(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["pixels"], ["a"], axes=[2, 3], keepdims=0),
            helper.make_node("Identity", ["a"], ["b"]),
        ],
        "odd",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, [1, 3, 32, 32])],
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 3]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 3]),
        ],
    )
    with pytest.raises(ModelError, match=r"unknown YOLO layout.*pixels.*outputs \[a .*\[1, 3\], b"):
        YOLOv3Detector(_save(graph, tmp_path / "odd.onnx"))
    with pytest.raises(ModelError, match="not found"):
        YOLOv3Detector(tmp_path / "missing.onnx")
    v8 = helper.make_graph(
        [helper.make_node("Identity", ["rows"], ["output0"])],
        "v8",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 84, 8400])],
        [numpy_helper.from_array(np.zeros((1, 84, 8400), np.float32), "rows")],
    )
    with pytest.raises(ModelError, match=r"YOLOv8-style.*output0 .*\[1, 84, 8400\]"):
        YOLOv3Detector(_save(v8, tmp_path / "v8.onnx"))


# -- int8 and CLI --------------------------------------------------------------------------------


@pytest.mark.slow
def test_int8_quantisation_and_cli(yolo_models: ModelFactory, tmp_path: Path) -> None:  # noqa: F811
    files = yolo_models(TINY)
    frames = sample_frames(4)
    out = quantize_yolo(files.decoded, tmp_path / "tiny.int8.onnx", frames)
    model = onnx.load(str(out))
    assert any(n.op_type == "QuantizeLinear" for n in model.graph.node)
    decode_ops = {n.op_type for n in model.graph.node if n.name.startswith("decode/")}
    assert "Exp" in decode_ops and not any(
        n.name.startswith("decode/") and n.op_type == "QuantizeLinear" for n in model.graph.node
    )
    inits = {i.name: i for i in model.graph.initializer}
    zero_points = {
        inits[n.input[2]].data_type
        for n in model.graph.node
        if n.op_type == "QuantizeLinear" and len(n.input) > 2 and n.input[2] in inits
    }
    assert zero_points == {TensorProto.UINT8}  # uint8 activations by default (fast on x86)
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["deepsort_lib.yolo.layout"]) == "decoded"
    int8 = YOLOv3Detector(out)
    fp32 = YOLOv3Detector(files.decoded)
    assert int8.names == fp32.names
    for a, b in zip(int8.detect_batch(frames), fp32.detect_batch(frames), strict=True):
        assert len(a) > 0 and len(b) > 0

    target = tmp_path / "cli.onnx"
    assert (
        convert_main(
            ["darknet", str(SMALL_CFG), str(files_weights(yolo_models)), "-o", str(target)]
        )
        == 0
    )
    assert YOLOv3Detector(target).layout.kind == "raw"
    assert (
        convert_main(
            [
                "quantize-detector",
                str(target),
                "--calibration-images",
                str(DARKNET_CFG.parent / "data" / "dog.jpg"),
                "-o",
                str(tmp_path / "cli8.onnx"),
            ]
        )
        == 0
    )
    assert YOLOv3Detector(tmp_path / "cli8.onnx").layout.kind == "raw"
    args = ["quantize-detector", str(target), "--activation-type", "int8", "--frames", "2"]
    assert (
        convert_main([*args, "--calibration-video", str(VTEST), "-o", str(tmp_path / "s8.onnx")])
        == 0
    )
    s8 = onnx.load(str(tmp_path / "s8.onnx"))
    assert any(
        i.data_type == TensorProto.INT8 and i.name.endswith("zero_point")
        for i in s8.graph.initializer
    )
    assert (
        convert_main(
            ["darknet", str(TINY), str(files_weights(yolo_models)), "-o", str(tmp_path / "x.onnx")]
        )
        == 2
    )
    assert not (tmp_path / "x.onnx").exists()
    assert convert_main(["quantize-detector", str(target), "-o", str(tmp_path / "y.onnx")]) == 2


def files_weights(factory: ModelFactory) -> Path:
    return factory(SMALL_CFG).weights
