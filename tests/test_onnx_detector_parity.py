"""OnnxDetector against each family's own post-processing, on exact architectures with
random weights (built offline once per session; see ultralytics_models.py, family_heads.py).

* Ultralytics YOLOv8n / YOLO11n (``nms=True``) / YOLO26n (NMS-free) / RT-DETR-L: Ultralytics'
  own ``predict`` on the same ONNX file and frames.
* YOLOv5 head: Ultralytics' ``LetterBox``, ``non_max_suppression`` and ``scale_boxes`` (the
  maintained descendants of YOLOv5's own) on the model's ``obj × cls`` scores.
* YOLOX head: YOLOX's ONNX demo post-processing (top-left letterbox, grid decoding,
  class-agnostic NMS), written here from its description with Ultralytics' TorchNMS (the
  demo's numpy NMS adds 1 to widths, a pixel convention not reproduced), best 300 kept.

Every comparison is box by box: each of our boxes is paired with the reference box nearest
in (box, score, class) and the pairs must agree to 1e-3 px and 1e-5 in score, one to one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from family_heads import STRIDES, export_head_model
from ultralytics_models import (  # noqa: F401  (family_models is a fixture)
    ModelFactory,
    family_models,
    torchvision_stand_in,
    ultralytics_predict,
)

from deepsort_lib.boxes import Detections, iou_matrix
from deepsort_lib.models.detectors import open_onnx_detector
from deepsort_lib.models.onnx_detector import OnnxDetector

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def frames(vtest_frames: list[np.ndarray]) -> list[np.ndarray]:
    """Four vtest frames (768x576, 4:3) and one 16:9 crop of a fifth."""
    return [*vtest_frames[:4], np.ascontiguousarray(vtest_frames[6][:432])]


def clipped(reference: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """The reference's rows clipped to the image, without those left empty (as ours)."""
    h, w = frame.shape[:2]
    out = reference.copy()
    out[:, :4] = np.clip(out[:, :4], 0, [w, h, w, h])
    return out[(out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])]


def assert_same_boxes(ours: Detections, reference: np.ndarray, frame: np.ndarray) -> None:
    ref = clipped(reference, frame)
    mine = np.c_[ours.xyxy, ours.scores, ours.class_ids]
    assert len(mine) == len(ref), (len(mine), len(ref))
    if not len(ref):
        return
    scale = np.array([1, 1, 1, 1, 1e3, 1e3])  # score and class differences weigh heavily
    distance = np.abs((mine[:, None, :] - ref[None, :, :]) * scale).max(axis=2)
    pair = distance.argmin(axis=1)
    assert len(np.unique(pair)) == len(mine), "two of our boxes pair with one reference box"
    np.testing.assert_allclose(mine[:, :4], ref[pair, :4], atol=1e-3)
    np.testing.assert_allclose(mine[:, 4], ref[pair, 4], atol=1e-5)
    np.testing.assert_array_equal(mine[:, 5], ref[pair, 5])


def check_family(
    path: Path, frames: list[np.ndarray], family: str, minimum: int, **predict: Any
) -> OnnxDetector:
    detector = open_onnx_detector(path, **predict_to_ours(predict))
    assert isinstance(detector, OnnxDetector) and detector.family == family
    ours = detector.detect_batch(frames)
    reference = ultralytics_predict(path, frames, **predict)
    for k, (dets, ref, frame) in enumerate(zip(ours, reference, frames, strict=True)):
        try:
            assert_same_boxes(dets, ref, frame)
        except AssertionError as exc:
            raise AssertionError(f"frame {k} with {predict}: {exc}") from exc
    assert sum(len(d) for d in ours) >= minimum  # parity on many boxes, not on none
    return detector


def predict_to_ours(predict: dict[str, Any]) -> dict[str, Any]:
    names = {"conf": "score_threshold", "iou": "nms_iou_threshold", "agnostic_nms": "agnostic_nms"}
    return {names.get(k, k): v for k, v in predict.items()}


# -- Ultralytics ----------------------------------------------------------------------------------


def test_yolov8_dynamic_matches_ultralytics_predict(
    family_models: ModelFactory,  # noqa: F811
    frames: list[np.ndarray],
) -> None:
    path = family_models("yolov8n.yaml", dynamic=True)
    detector = check_family(path, frames, "ultralytics", 250)
    assert detector.rect  # Ultralytics predicts 4:3 frames at 640x480 with a dynamic model
    check_family(path, frames, "ultralytics", 5, conf=0.5, iou=0.5, classes=[0, 2])
    check_family(path, frames, "ultralytics", 100, agnostic_nms=True)
    # One batched pass (dynamic batch, frames of one shape) equals frame by frame.
    batched = detector.detect_batch(frames[:4])
    for dets, frame in zip(batched, frames[:4], strict=True):
        single = detector.detect(frame)
        assert_same_boxes(dets, np.c_[single.xyxy, single.scores, single.class_ids], frame)


def test_yolo11_with_nms_inside_matches_ultralytics_predict(
    family_models: ModelFactory,  # noqa: F811
    frames: list[np.ndarray],
) -> None:
    path = family_models("yolo11n.yaml", nms=True)
    check_family(path, frames, "ultralytics-end2end", 250)


def test_yolo26_nms_free_static_batch_matches_ultralytics_predict(
    family_models: ModelFactory,  # noqa: F811
    frames: list[np.ndarray],
) -> None:
    path = family_models("yolo26n.yaml", nms=False, batch=2)
    detector = check_family(path, frames, "ultralytics-end2end", 250)
    assert detector.layout.batch == 2  # 5 frames: 3 passes, the last filled with a blank


def test_rtdetr_matches_ultralytics_predict(
    family_models: ModelFactory,  # noqa: F811
    frames: list[np.ndarray],
) -> None:
    path = family_models("rtdetr-l.yaml")
    check_family(path, frames[:2], "rtdetr", 100)


def to_float16(source: Path, target: Path) -> Path:
    """onnxconverter-common's float16 conversion, inputs and outputs included.

    The converter leaves the model's own ``Cast(to=float)`` nodes (Ultralytics' head has
    some) casting to float32 next to float16 tensors, which onnxruntime refuses; they are
    retargeted to float16 and the stale intermediate type annotations dropped. (Blocking
    ``Cast`` instead, as ``deepsort-convert fp16-encoder`` does for re-ID models, made the
    converter run for minutes on this graph.)
    """
    import onnx
    from onnxconverter_common import float16

    model = onnx.load(str(source))
    own_casts = {n.name for n in model.graph.node if n.op_type == "Cast"}
    half = float16.convert_float_to_float16(model, keep_io_types=False)
    for node in half.graph.node:
        if node.op_type == "Cast" and node.name in own_casts:
            for attribute in node.attribute:
                if attribute.name == "to" and attribute.i == onnx.TensorProto.FLOAT:
                    attribute.i = onnx.TensorProto.FLOAT16
    del half.graph.value_info[:]
    onnx.save(half, str(target))
    return target


def test_fp16_model_agrees_with_fp32(
    family_models: ModelFactory,  # noqa: F811
    frames: list[np.ndarray],
    tmp_path: Path,
) -> None:
    path = family_models("yolov8n.yaml", dynamic=True)
    to_float16(path, tmp_path / "half.onnx")
    detector = OnnxDetector(tmp_path / "half.onnx")
    assert detector.layout.image_dtype is np.float16
    full = OnnxDetector(path).detect_batch(frames[:2])
    for dets, ref in zip(detector.detect_batch(frames[:2]), full, strict=True):
        assert abs(len(dets) - len(ref)) <= 0.1 * len(ref)
        best = iou_matrix(ref.tlwh, dets.tlwh).max(axis=1)
        assert np.mean(best > 0.9) > 0.9  # fp16 rounding moves a few boxes near the threshold


# -- YOLOv5 and YOLOX heads -----------------------------------------------------------------------


def yolov5_reference(path: Path, frames: list[np.ndarray], conf: float, iou: float) -> list[Any]:
    import onnxruntime as ort
    import torch
    from ultralytics.data.augment import LetterBox
    from ultralytics.utils.nms import non_max_suppression
    from ultralytics.utils.ops import scale_boxes

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = []
    for frame in frames:
        image = LetterBox((640, 640), auto=False)(image=frame)
        blob = np.ascontiguousarray(image[..., ::-1].transpose(2, 0, 1))[None] / 255.0
        rows = session.run(None, {"images": blob.astype(np.float32)})[0]
        scores = rows[..., 5:] * rows[..., 4:5]
        pred = torch.from_numpy(np.concatenate([rows[..., :4], scores], -1)).transpose(1, 2)
        with torchvision_stand_in():
            (det,) = non_max_suppression(pred, conf, iou)
        det[:, :4] = scale_boxes((640, 640), det[:, :4], frame.shape)
        out.append(det.numpy().astype(np.float64))
    return out


def yolox_reference(path: Path, frames: list[np.ndarray], conf: float, iou: float) -> list[Any]:
    import onnxruntime as ort
    import torch
    from ultralytics.utils.nms import TorchNMS

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    grids, expanded = [], []
    for stride in STRIDES:
        side = 640 // stride
        xv, yv = np.meshgrid(np.arange(side), np.arange(side))
        grids.append(np.stack((xv, yv), 2).reshape(-1, 2))
        expanded.append(np.full((side * side, 1), stride))
    grid, strides = np.concatenate(grids), np.concatenate(expanded)
    out = []
    for frame in frames:
        h, w = frame.shape[:2]
        r = min(640 / h, 640 / w)
        padded = np.full((640, 640, 3), 114, np.uint8)
        resized = cv2.resize(frame, (int(w * r), int(h * r)), interpolation=cv2.INTER_LINEAR)
        padded[: resized.shape[0], : resized.shape[1]] = resized
        blob = padded.transpose(2, 0, 1)[None].astype(np.float32)
        pred = session.run(None, {"images": blob})[0][0].astype(np.float64)
        xy = (pred[:, :2] + grid) * strides
        wh = np.exp(pred[:, 2:4]) * strides
        boxes = np.concatenate([xy - wh / 2, xy + wh / 2], 1) / r
        scores = pred[:, 4:5] * pred[:, 5:]
        cls = scores.argmax(1)
        best = scores[np.arange(len(scores)), cls]
        valid = best > conf
        keep = TorchNMS.nms(
            torch.from_numpy(boxes[valid]), torch.from_numpy(best[valid]), iou
        ).numpy()[:300]  # YOLOX's demo keeps all; OnnxDetector's max_detections is 300
        out.append(np.c_[boxes[valid][keep], best[valid][keep], cls[valid][keep]])
    return out


@pytest.fixture(scope="module")
def head_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("heads")
    return {
        kind: export_head_model(kind, root / f"{kind}.onnx", dynamic_batch=True)
        for kind in ("yolov5", "yolox")
    }


@pytest.mark.parametrize(
    ("kind", "reference", "conf", "minimum"),
    [("yolov5", yolov5_reference, 0.8, 100), ("yolox", yolox_reference, 0.8, 100)],
)
def test_yolov5_and_yolox_heads_match_their_post_processing(
    head_models: dict[str, Path],
    frames: list[np.ndarray],
    kind: str,
    reference: Any,
    conf: float,
    minimum: int,
) -> None:
    detector = open_onnx_detector(head_models[kind], score_threshold=conf)
    assert isinstance(detector, OnnxDetector) and detector.family == kind
    assert detector.nms_iou_threshold == 0.45
    ours = detector.detect_batch(frames)  # dynamic batch: one pass
    for dets, ref, frame in zip(
        ours, reference(head_models[kind], frames, conf, 0.45), frames, strict=True
    ):
        assert_same_boxes(dets, ref, frame)
    assert sum(len(d) for d in ours) >= minimum


# -- the command line -----------------------------------------------------------------------------


def test_track_picks_the_reader_by_itself(
    family_models: ModelFactory,  # noqa: F811
    vtest: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from deepsort_lib.cli.main import main
    from deepsort_lib.io.mot import read_mot

    path = family_models("yolo11n.yaml", nms=True)
    mot = tmp_path / "tracks.txt"
    args = [str(vtest), "--detector", str(path), "--encoder", "none", "-q", "--max-frames", "6"]
    code = main(["track", *args, "--mot", str(mot)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "tracked 6 frames" in out and len(read_mot(mot)) > 0
    code = main(["track", *args, "--classes", "person,2", "--mot", str(tmp_path / "few.txt")])
    out, err = capsys.readouterr()
    assert code == 0, err
    code = main(["track", *args, "--classes", "unicorn"])
    _, err = capsys.readouterr()
    assert code == 2 and "unknown class 'unicorn'" in err and len(err.strip().splitlines()) == 1
