"""OnnxDetector on tiny hand-built ONNX models: recognition, decoding, letterbox rules, errors.

Each model here returns fixed tensors (whatever the image), so every expected box is worked
out by hand from the family's documented layout. Parity with the families' own runtimes on
real architectures is in test_onnx_detector_parity.py (slow).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from deepsort_lib.errors import ConfigurationError, InvalidInputError, ModelError
from deepsort_lib.models.darknet import META_PREFIX
from deepsort_lib.models.detector_layout import grid_cells
from deepsort_lib.models.detectors import open_onnx_detector, reads_as_darknet
from deepsort_lib.models.letterbox import Letterbox, letterbox
from deepsort_lib.models.onnx_detector import OnnxDetector, grid_and_strides
from deepsort_lib.models.runtime import create_session, model_metadata

ULTRA = {"author": "Ultralytics", "task": "detect", "stride": "32", "imgsz": "[640, 640]"}
FRAME = np.full((480, 640, 3), 90, np.uint8)  # 4:3, letterboxed at 640 with 80 px bars


def names_meta(classes: int, **extra: str) -> dict[str, str]:
    names = {i: f"c{i}" for i in range(classes)}
    names[0] = "person"
    return {**ULTRA, "names": repr(names), **extra}


def fixed_model(
    path: Path,
    outputs: dict[str, np.ndarray],
    meta: dict[str, str] | None = None,
    *,
    input_shape: tuple[Any, ...] = (1, 3, 640, 640),
    input_type: int = TensorProto.FLOAT,
    output_shapes: dict[str, list[Any]] | None = None,
) -> Path:
    """A model whose outputs are ``outputs`` (plus 0 × the image's mean, so it reads it)."""
    nodes = []
    image = "images"
    if input_type != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", ["images"], ["image32"], to=TensorProto.FLOAT))
        image = "image32"
    nodes += [
        helper.make_node("ReduceMean", [image], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
    ]
    inits = [numpy_helper.from_array(np.zeros((), np.float32), "zero")]
    outs = []
    for name, value in outputs.items():
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"{name}_value"))
        nodes.append(helper.make_node("Add", [f"{name}_value", "nothing"], [name]))
        shape = (output_shapes or {}).get(name, list(value.shape))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
    graph = helper.make_graph(
        nodes,
        "fixed",
        [helper.make_tensor_value_info("images", input_type, list(input_shape))],
        outs,
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for key, value in (meta or {}).items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path


def ultralytics_output(boxes: list[list[float]], classes: int = 3) -> np.ndarray:
    """[1, 4 + C, N] from rows of (cx, cy, w, h, class, score), other classes scoring 0.01."""
    out = np.full((1, 4 + classes, len(boxes)), 0.01, np.float32)
    for n, (cx, cy, w, h, c, s) in enumerate(boxes):
        out[0, :4, n] = cx, cy, w, h
        out[0, 4 + int(c), n] = s
    return out


# -- letterbox rules ------------------------------------------------------------------------


def test_letterbox_rules_place_the_frame_as_each_family_does() -> None:
    box = Letterbox.fit_rounded((768, 576), (640, 640))
    assert (box.resized, box.pad, box.input_size) == ((640, 480), (0, 80), (640, 640))
    rect = Letterbox.fit_rounded((768, 576), (640, 640), stride=32)
    assert (rect.resized, rect.pad, rect.input_size) == ((640, 480), (0, 0), (640, 480))
    # 1000x333 at 640: r = 0.64, height round(213.12) = 213; rect pads 213 up to 224.
    odd = Letterbox.fit_rounded((1000, 333), (640, 640), stride=32)
    assert (odd.resized, odd.pad, odd.input_size) == ((640, 213), (0, 5), (640, 224))
    floor = Letterbox.fit((1000, 333), (640, 640))  # Darknet floors: 213 as well, centred
    assert floor.resized == (640, 213)
    top_left = Letterbox.fit_top_left((1000, 333), (640, 640))
    assert (top_left.resized, top_left.pad) == ((640, 213), (0, 0))
    stretch = Letterbox.stretch((1000, 333), (640, 640))
    assert (stretch.resized, stretch.pad) == ((640, 640), (0, 0))
    xyxy = np.array([[10.0, 20.0, 300.0, 200.0]])
    for b in (box, rect, odd, floor, top_left, stretch):
        np.testing.assert_allclose(b.to_image(b.to_input(xyxy)), xyxy)
    with pytest.raises(InvalidInputError, match="positive"):
        Letterbox.fit_rounded((0, 10), (640, 640))


def test_letterbox_blob_channel_order_scale_and_fill() -> None:
    frame = np.zeros((2, 4, 3), np.uint8)
    frame[..., 0], frame[..., 2] = 10, 200  # blue 10, red 200
    bgr, (box,) = letterbox([frame], (4, 4), 114.0, fit=Letterbox.fit_top_left, rgb=False, scale=1)
    assert box.pad == (0, 0) and bgr[0, 0, 0, 0] == 10 and bgr[0, 2, 0, 0] == 200
    assert bgr[0, 0, 3, 0] == 114  # padding below the frame
    rgb, (box,) = letterbox([frame], (4, 4), 114 / 255, fit=Letterbox.fit_rounded)
    assert box.pad == (0, 1)
    assert rgb[0, 0, 1, 0] == pytest.approx(200 / 255)  # red first
    assert rgb[0, 2, 1, 0] == pytest.approx(10 / 255)
    assert rgb[0, 1, 0, 0] == pytest.approx(114 / 255)
    with pytest.raises(InvalidInputError, match="share an input size"):
        letterbox(
            [frame, np.zeros((4, 2, 3), np.uint8)],
            (4, 4),
            fit=lambda i, n: Letterbox.fit_rounded(i, n, stride=2),
        )


# -- recognition ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "meta", "family"),
    [
        ((1, 84, 8400), None, "ultralytics"),
        ((1, 84, 8400), "names80", "ultralytics"),
        ((1, 300, 6), "end2end", "ultralytics-end2end"),
        ((1, 300, 6), "rtdetr", "rtdetr"),
        ((1, 300, 84), "rtdetr", "rtdetr"),
        ((1, 25200, 85), None, "yolov5"),
        ((1, 8400, 85), None, "yolox"),
    ],
)
def test_families_are_recognised(
    tmp_path: Path, shape: tuple[int, ...], meta: str | None, family: str
) -> None:
    metas = {
        None: None,
        "names80": names_meta(80),
        "end2end": names_meta(80, end2end="True"),
        "rtdetr": names_meta(80, head="RTDETRDecoder"),
    }
    path = fixed_model(tmp_path / "m.onnx", {"output0": np.zeros(shape, np.float32)}, metas[meta])
    detector = OnnxDetector(path)
    assert detector.family == family
    assert detector.layout.classes == 80
    assert len(detector.detect(FRAME)) == 0
    if meta:
        assert detector.names[0] == "person"


def test_grid_cells_tell_yolox_from_yolov5() -> None:
    assert grid_cells((640, 640)) == 8400
    assert grid_cells((416, 416)) == 3549
    grid, strides = grid_and_strides((64, 32))
    assert len(grid) == grid_cells((64, 32)) == 8 * 4 + 4 * 2 + 2 * 1
    assert grid[:9].tolist()[8] == [0, 1] and strides[0, 0] == 8 and strides[-1, 0] == 32


def test_unreadable_models_are_one_line_errors_naming_the_tensors(tmp_path: Path) -> None:
    flat = fixed_model(tmp_path / "flat.onnx", {"logits": np.zeros((1, 10), np.float32)})
    with pytest.raises(ModelError, match=r"outputs \[logits tensor\(float\) \[1, 10\]\]") as info:
        open_onnx_detector(flat)
    assert "\n" not in str(info.value)
    segment = fixed_model(
        tmp_path / "seg.onnx",
        {"output0": np.zeros((1, 116, 8400), np.float32)},
        names_meta(80, task="segment"),
    )
    with pytest.raises(ModelError, match="Ultralytics 'segment' model"):
        OnnxDetector(segment)
    wrong = fixed_model(
        tmp_path / "wrong.onnx", {"output0": np.zeros((1, 7, 8400), np.float32)}, names_meta(80)
    )
    with pytest.raises(ModelError, match="80 classes"):
        OnnxDetector(wrong)
    with pytest.raises(ModelError, match="not found"):
        open_onnx_detector(tmp_path / "missing.onnx")


def test_bad_options_are_configuration_errors(tmp_path: Path) -> None:
    path = fixed_model(tmp_path / "m.onnx", {"output0": np.zeros((1, 8400, 85), np.float32)})
    for kwargs, match in (
        ({"family": "yolov9000"}, "family must be one of"),
        ({"score_threshold": 1.5}, "score_threshold"),
        ({"nms_iou_threshold": -0.1}, "nms_iou_threshold"),
        ({"max_detections": 0}, "max_detections"),
        ({"classes": ["unicorn"]}, "unknown class 'unicorn'"),
        ({"classes": [80]}, "out of range"),
        ({"input_size": 320}, "fixed at 640x640"),
        ({"family": "yolox", "rect": True}, "rect is not available"),
        ({"family": "yolov5", "rect": True}, "rect needs a dynamic input size"),
    ):
        with pytest.raises(ConfigurationError, match=match):
            OnnxDetector(path, **kwargs)


def test_the_darknet_reader_keeps_its_models(tmp_path: Path) -> None:
    ours = fixed_model(
        tmp_path / "ours.onnx",
        {"output0": np.zeros((1, 2535, 85), np.float32)},
        {META_PREFIX + "names": "[]"},
    )
    heads = fixed_model(tmp_path / "heads.onnx", {"h": np.zeros((1, 255, 13, 13), np.float32)})
    plain = fixed_model(tmp_path / "v5.onnx", {"o": np.zeros((1, 25200, 85), np.float32)})
    for path, darknet in ((ours, True), (heads, True), (plain, False)):
        session = create_session(path, providers="cpu")
        assert reads_as_darknet(session, model_metadata(session)) is darknet
    assert type(open_onnx_detector(plain)).__name__ == "OnnxDetector"


# -- decoding -------------------------------------------------------------------------------------


def test_ultralytics_scores_nms_classes_and_mapping(tmp_path: Path) -> None:
    rows = [
        [320, 320, 100, 100, 0, 0.9],  # kept
        [322, 320, 100, 100, 0, 0.8],  # same class, IoU 0.96: suppressed
        [322, 320, 100, 100, 1, 0.7],  # other class: kept unless agnostic
        [100, 300, 40, 40, 2, 0.2],  # under 0.25
        [500, 40, 60, 40, 2, 0.6],  # wholly in the top bar: dropped after clipping
    ]
    path = fixed_model(tmp_path / "u.onnx", {"output0": ultralytics_output(rows)}, names_meta(3))
    dets = OnnxDetector(path, rect=False).detect(FRAME)
    # Input (640, 640) with the 640x480 frame at y offset 80: y_image = y_input - 80.
    np.testing.assert_allclose(dets.xyxy, [[270, 190, 370, 290], [272, 190, 372, 290]], atol=1e-4)
    np.testing.assert_allclose(dets.scores, [0.9, 0.7], rtol=1e-6)
    assert dets.class_ids.tolist() == [0, 1]
    assert len(OnnxDetector(path, rect=False, agnostic_nms=True).detect(FRAME)) == 1
    assert OnnxDetector(path, rect=False, classes=["c1"]).detect(FRAME).class_ids.tolist() == [1]
    # The best class decides: a box whose best class is filtered out is not relabelled.
    assert len(OnnxDetector(path, rect=False, classes=[2]).detect(FRAME)) == 0
    assert len(OnnxDetector(path, rect=False, max_detections=1).detect(FRAME)) == 1
    assert len(OnnxDetector(path, rect=False, nms_iou_threshold=0.99).detect(FRAME)) == 3


def test_end2end_rtdetr_and_detr_outputs(tmp_path: Path) -> None:
    e2e = np.array([[[270, 270, 370, 370, 0.9, 1], [0, 0, 10, 10, 0.1, 0]]], np.float32)
    path = fixed_model(tmp_path / "e.onnx", {"output0": e2e}, names_meta(3, end2end="True"))
    dets = OnnxDetector(path).detect(FRAME)
    np.testing.assert_allclose(dets.xyxy, [[270, 190, 370, 290]], atol=1e-4)
    assert dets.class_ids.tolist() == [1]
    # RT-DETR: normalised centre/size on a stretched input; a 640x480 frame scales y by 0.75.
    rt = np.array([[[0.5, 0.5, 0.25, 0.25, 0.8, 2]]], np.float32)
    path = fixed_model(tmp_path / "r.onnx", {"output0": rt}, names_meta(3, head="RTDETRDecoder"))
    dets = OnnxDetector(path).detect(FRAME)
    np.testing.assert_allclose(dets.xyxy, [[240, 180, 400, 300]], atol=1e-4)
    assert dets.class_ids.tolist() == [2]
    boxes = np.array([[[0.5, 0.5, 0.25, 0.25], [0.1, 0.1, 0.1, 0.1]]], np.float32)
    logits = np.array([[[-5.0, 2.0, -5.0], [-3.0, -4.0, -5.0]]], np.float32)
    path = fixed_model(tmp_path / "d.onnx", {"dets": boxes, "labels": logits})
    detector = OnnxDetector(path)
    assert detector.family == "detr" and detector.layout.classes == 3
    dets = detector.detect(FRAME)
    np.testing.assert_allclose(dets.xyxy, [[240, 180, 400, 300]], atol=1e-4)
    np.testing.assert_allclose(dets.scores, [1 / (1 + np.exp(-2.0))], rtol=1e-6)
    blob, _ = detector.preprocess([FRAME])  # ImageNet mean/std on RGB in [0, 1]
    assert blob[0, 0, 0, 0] == pytest.approx((90 / 255 - 0.485) / 0.229, rel=1e-5)


def test_yolov5_and_yolox_rows(tmp_path: Path) -> None:
    v5 = np.zeros((1, 25200, 85), np.float32)
    v5[0, 7, :6] = 320, 320, 100, 100, 0.9, 0.9  # score 0.81
    v5[0, 8, :5] = 320, 320, 100, 100, 0.9
    v5[0, 8, 5 + 3] = 0.2  # score 0.18: under 0.25
    dets = OnnxDetector(fixed_model(tmp_path / "v5.onnx", {"o": v5})).detect(FRAME)
    np.testing.assert_allclose(dets.xyxy, [[270, 190, 370, 290]], atol=1e-4)
    np.testing.assert_allclose(dets.scores, [0.81], rtol=1e-6)
    yx = np.zeros((1, 8400, 85), np.float32)
    cell = 80 * 40 + 5  # stride 8 level, row 40, column 5: centre (5.5 * 8, 40.5 * 8)
    yx[0, cell, :6] = 0.5, 0.5, np.log(4.0), np.log(2.0), 0.9, 0.9
    detector = OnnxDetector(fixed_model(tmp_path / "x.onnx", {"o": yx}))
    assert detector.family == "yolox" and detector.agnostic_nms
    blob, (box,) = detector.preprocess([FRAME])
    assert box.pad == (0, 0) and blob[0, 0, 0, 0] == 90 and blob[0, 0, 639, 0] == 114
    dets = detector.detect(FRAME)
    # Top-left placement at scale 1: centre (44, 324), size (32, 16).
    np.testing.assert_allclose(dets.xyxy, [[28, 316, 60, 332]], atol=1e-4)


def test_fp16_inputs_static_batches_and_frames(tmp_path: Path) -> None:
    rows = [[320, 320, 100, 100, 0, 0.9]]
    path = fixed_model(
        tmp_path / "h.onnx",
        {"output0": np.repeat(ultralytics_output(rows), 2, axis=0)},
        names_meta(3),
        input_shape=(2, 3, 640, 640),
        input_type=TensorProto.FLOAT16,
    )
    detector = OnnxDetector(path)
    assert detector.layout.batch == 2 and not detector.rect and detector.rect is False
    blob, _ = detector.preprocess([FRAME])
    assert blob.dtype == np.float16 and blob.shape == (2, 3, 640, 640)
    results = detector.detect_batch([FRAME] * 5)  # 3 passes, the last one padded
    assert [len(d) for d in results] == [1] * 5
    assert detector.detect_batch([]) == []
    with pytest.raises(InvalidInputError, match="uint8"):
        detector.detect(FRAME.astype(np.float32))


def test_dynamic_models_use_the_minimum_rectangle(tmp_path: Path) -> None:
    rows = [[320, 240, 100, 100, 0, 0.9]]
    path = fixed_model(
        tmp_path / "dyn.onnx",
        {"output0": ultralytics_output(rows)},
        names_meta(3),
        input_shape=("batch", 3, "height", "width"),
        output_shapes={"output0": ["batch", 7, "anchors"]},
    )
    detector = OnnxDetector(path)
    assert detector.rect and detector.input_size == (640, 640)
    blob, (box,) = detector.preprocess([FRAME])
    assert blob.shape == (1, 3, 480, 640) and box.pad == (0, 0)
    np.testing.assert_allclose(detector.detect(FRAME).xyxy, [[270, 190, 370, 290]], atol=1e-4)
    mixed, _ = detector.preprocess([FRAME, FRAME[:, :320]])  # shapes differ: full square
    assert mixed.shape == (2, 3, 640, 640)
    assert OnnxDetector(path, input_size=320).input_size == (320, 320)


def test_ultralytics_nms_exports_run_in_passes_of_their_traced_batch(tmp_path: Path) -> None:
    e2e = np.array([[[270, 270, 370, 370, 0.9, 1]]], np.float32)
    args = "{'batch': 1, 'nms': True, 'dynamic': True}"
    path = fixed_model(
        tmp_path / "nms.onnx",
        {"output0": e2e},
        names_meta(3, batch="1", args=args),
        input_shape=("batch", 3, "height", "width"),
        output_shapes={"output0": ["batch", 300, 6]},
    )
    detector = OnnxDetector(path)
    assert detector.family == "ultralytics-end2end" and detector.layout.batch == 1
    assert [len(d) for d in detector.detect_batch([FRAME] * 3)] == [1, 1, 1]
