"""Random-weight YOLO models shared by the detector/converter tests (built once per session)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from deepsort_lib.models.darknet import convert_darknet, load_network, write_random_weights
from deepsort_lib.models.yolo import letterbox, rows_to_candidates

DARKNET_CFG = Path("/usr/share/darknet/cfg")
DARKNET_DATA = Path("/usr/share/darknet/data")
SMALL_CFG = Path(__file__).resolve().parent / "data" / "small_yolo.cfg"
VTEST = Path(__file__).resolve().parents[1] / "data" / "vtest.avi"


@dataclass(frozen=True)
class YoloFiles:
    """A cfg, its random weights, and the raw and decoded ONNX conversions."""

    cfg: Path
    weights: Path
    raw: Path
    decoded: Path
    input_size: tuple[int, int]


ModelFactory = Callable[..., YoloFiles]


@pytest.fixture(scope="session")
def yolo_models(tmp_path_factory: pytest.TempPathFactory) -> ModelFactory:
    """``make(cfg, input_size=None)``: convert once per session and cache.

    The small test cfg's heads see few channels, so its objectness bias is milder: the
    parity tests need some boxes above the threshold.
    """
    cache: dict[tuple[str, object], YoloFiles] = {}
    root = tmp_path_factory.mktemp("yolo_models")

    def make(cfg: Path, input_size: int | None = None) -> YoloFiles:
        key = (str(cfg), input_size)
        if key not in cache:
            stem = f"{cfg.stem}_{input_size or 'cfg'}"
            bias = -1.0 if cfg == SMALL_CFG else -3.0
            weights = write_random_weights(
                cfg, root / f"{cfg.stem}.weights", seed=7, objectness_bias=bias
            )
            raw = convert_darknet(cfg, weights, root / f"{stem}.onnx", input_size=input_size)
            decoded = convert_darknet(
                cfg, weights, root / f"{stem}_decoded.onnx", input_size=input_size, decode=True
            )
            net = load_network(cfg, input_size)
            cache[key] = YoloFiles(cfg, weights, raw, decoded, (net.width, net.height))
        return cache[key]

    return make


def sample_frames(count: int = 3) -> list[NDArray[np.uint8]]:
    """Real frames: the first ``count - 1`` of vtest.avi and darknet's dog.jpg."""
    capture = cv2.VideoCapture(str(VTEST))
    frames = []
    for _ in range(count - 1):
        ok, frame = capture.read()
        assert ok, f"cannot read {VTEST}"
        frames.append(frame)
    capture.release()
    dog = cv2.imread(str(DARKNET_DATA / "dog.jpg"))
    assert dog is not None
    frames.append(dog)
    return frames


def sample_blob(size: tuple[int, int]) -> NDArray[np.float32]:
    """A letterboxed real image as a [1, 3, H, W] blob."""
    blob, _ = letterbox([sample_frames(2)[-1]], size)
    return blob


def cv2_darknet(
    files: YoloFiles, blob: NDArray[np.float32]
) -> tuple[list[NDArray[np.float32]], list[NDArray[np.float32]]]:
    """OpenCV's own Darknet reader: (raw head tensors, decoded [rows, 5 + C] per yolo layer)."""
    net = cv2.dnn.readNetFromDarknet(str(files.cfg), str(files.weights))
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setInput(blob)
    names = list(net.getLayerNames())
    yolo = list(net.getUnconnectedOutLayersNames())
    # The layer feeding each yolo layer's permute is the raw head.
    raw_names = [names[names.index("permute_" + y.split("_")[1]) - 1] for y in yolo]
    outs = net.forward(raw_names + yolo)
    return list(outs[: len(yolo)]), list(outs[len(yolo) :])


def detections_from_conf(
    xywh: NDArray[np.float64], conf: NDArray[np.float64], threshold: float = 0.5, iou: float = 0.45
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Best-class boxes above ``threshold`` after class-aware NMS (xyxy, scores, classes)."""
    from deepsort_lib.models.yolo import nms

    rows = np.concatenate([xywh, np.ones((len(xywh), 1)), conf], axis=1)
    xyxy, scores, classes = rows_to_candidates(rows, threshold, None)
    keep = nms(xyxy, scores, classes, iou)
    return xyxy[keep], scores[keep], classes[keep]
