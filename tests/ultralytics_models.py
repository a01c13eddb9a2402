"""Random-weight detectors of today's families, exported to ONNX offline (once per session).

Ultralytics builds YOLOv8n / YOLO11n / YOLO26n / RT-DETR-L from its bundled yaml files and
exports them itself; YOLOv5 and YOLOX heads (not in Ultralytics 8.4) are built here in torch
with their exact output layouts and exported with ``torch.onnx``.

Ultralytics imports ``torchvision`` for its NMS. The test environment's torchvision wheel is a
CUDA build next to the CPU torch (the only torchvision the package mirror has), so it cannot
be imported; :func:`torchvision_stand_in` puts a stand-in whose ``ops.nms`` is Ultralytics' own
pure-torch ``TorchNMS.nms`` ("matches torchvision behavior exactly", its docstring says) and,
for ``nms=True`` exports, emits ONNX ``NonMaxSuppression`` as torchvision's exporter does.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("YOLO_OFFLINE", "1")  # no asset or font downloads

NAMES = {0: "person", 1: "bicycle", 2: "car", **{i: f"class{i}" for i in range(3, 80)}}


@contextmanager
def torchvision_stand_in() -> Iterator[None]:
    """Make ``import torchvision`` give a module whose ``ops.nms`` is Ultralytics' TorchNMS."""
    import torch
    from ultralytics.utils.nms import TorchNMS

    class Nms(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, boxes: Any, scores: Any, iou: float) -> Any:
            return TorchNMS.nms(boxes, scores, float(iou))

        @staticmethod
        def symbolic(g: Any, boxes: Any, scores: Any, iou: float) -> Any:
            const = lambda v, t: g.op("Constant", value_t=torch.tensor(v, dtype=t))  # noqa: E731
            batched = g.op("Unsqueeze", boxes, const([0], torch.long))
            scored = g.op("Unsqueeze", scores, const([0, 1], torch.long))
            selected = g.op(
                "NonMaxSuppression",
                batched,
                scored,
                const([sys.maxsize], torch.long),
                const([float(iou)], torch.float),
            )
            return g.op("Gather", selected, const(2, torch.long), axis_i=1)

    def nms(boxes: Any, scores: Any, iou_threshold: float) -> Any:
        return Nms.apply(boxes, scores, iou_threshold)

    vision = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")
    ops.nms = nms  # type: ignore[attr-defined]
    vision.ops = ops  # type: ignore[attr-defined]
    saved = {k: sys.modules.get(k) for k in ("torchvision", "torchvision.ops")}
    sys.modules["torchvision"], sys.modules["torchvision.ops"] = vision, ops
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value


def lively_weights(net: Any, cls_bias: float, seed: int) -> None:
    """Random weights under which a YOLO's boxes and scores depend on the image.

    Ultralytics' initialisation makes activations fade to about 1e-7 by the head, so every
    box and score would be the same constant. Here every convolution but the fixed DFL one
    gets He-normal weights and batch norms are identities; the head's last class-score
    layers are then scaled, from one measured forward pass, to give logits of spread 1.5
    around ``cls_bias``.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    last: dict[str, Any] = {}
    with torch.no_grad():
        for name, module in net.named_modules():
            if isinstance(module, torch.nn.Conv2d) and "dfl" not in name:  # DFL: fixed 0..15
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen))
                module.weight.mul_((2.0 / fan_in) ** 0.5)
                if name.endswith(("cv3.0.2", "cv3.1.2", "cv3.2.2")):
                    last[name] = module
            elif isinstance(module, torch.nn.BatchNorm2d):
                module.reset_parameters()
                module.reset_running_stats()
        spread: dict[str, float] = {}
        hooks = [
            m.register_forward_hook(lambda _m, i, _o, n=n: spread.__setitem__(n, float(i[0].std())))
            for n, m in last.items()
        ]
        net.eval()
        net(torch.rand(1, 3, 640, 640, generator=gen))
        for h in hooks:
            h.remove()
        for name, module in last.items():
            fan_in = module.weight[0].numel()
            module.weight.mul_(1.5 / (spread[name] * (2.0 * fan_in) ** 0.5 / fan_in**0.5))
            module.bias.copy_(cls_bias + 0.5 * torch.randn(module.bias.shape, generator=gen))


def export_ultralytics(
    yaml: str, folder: Path, *, seed: int = 0, cls_bias: float | None = -3.0, **export: Any
) -> Path:
    """Build ``yaml`` with random weights and export it to ONNX in ``folder``.

    ``cls_bias`` re-draws the head's last class-score layers (Ultralytics initialises them
    for a prior of about 0.01 and the NMS-free heads to nearly constant scores, so random
    weights would score nothing, or everything the same): small random weights and biases
    around ``cls_bias``, so scores differ from box to box and some boxes pass 0.25.
    """
    import torch
    from ultralytics import RTDETR, YOLO

    torch.manual_seed(seed)
    model = (RTDETR if "rtdetr" in yaml else YOLO)(yaml)
    model.model.names = dict(NAMES)
    if cls_bias is not None and "rtdetr" in yaml:
        # RT-DETR's features are lively already (layer norms); its score heads start at a
        # prior of 0.01: re-draw them so that scores spread and some pass 0.25.
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, module in model.model.named_modules():
                if "score_head" in name and isinstance(module, torch.nn.Linear):
                    fan_in = module.weight.shape[1]
                    module.weight.copy_(torch.randn(module.weight.shape, generator=gen))
                    module.weight.mul_(1.5 / fan_in**0.5)
                    module.bias.copy_(
                        cls_bias + 0.5 * torch.randn(module.bias.shape, generator=gen)
                    )
    elif cls_bias is not None:
        lively_weights(model.model, cls_bias, seed)
    tag = "_".join(f"{k}{v}" for k, v in sorted(export.items())) or "default"
    target = folder / f"{Path(yaml).stem}_{tag}"
    target.mkdir(parents=True, exist_ok=True)
    cwd = Path.cwd()
    os.chdir(target)  # the exporter writes next to the (yaml-named) model
    try:
        with torchvision_stand_in():
            out = Path(model.export(format="onnx", simplify=False, **export)).resolve()
    finally:
        os.chdir(cwd)
    return out


def ultralytics_predict(
    model_path: Path, frames: list[np.ndarray], **predict: Any
) -> list[np.ndarray]:
    """Ultralytics' own predictions on the ONNX file: per frame ``(K, 6)`` xyxy, score, class."""
    from ultralytics import RTDETR, YOLO

    with torchvision_stand_in():
        cls = RTDETR if "rtdetr" in model_path.name else YOLO
        model = RTDETR(str(model_path)) if cls is RTDETR else YOLO(str(model_path), task="detect")
        results = model.predict(list(frames), verbose=False, **predict)
    return [
        np.concatenate(
            [r.boxes.xyxy.numpy(), r.boxes.conf.numpy()[:, None], r.boxes.cls.numpy()[:, None]],
            axis=1,
        ).astype(np.float64)
        for r in results
    ]


ModelFactory = Callable[..., Path]


@pytest.fixture(scope="session")
def family_models(tmp_path_factory: pytest.TempPathFactory) -> ModelFactory:
    """``make(yaml, **export_args)``: export once per session and cache."""
    cache: dict[tuple[str, tuple[tuple[str, Any], ...]], Path] = {}
    root = tmp_path_factory.mktemp("family_models")

    def make(yaml: str, **export: Any) -> Path:
        key = (yaml, tuple(sorted(export.items())))
        if key not in cache:
            cache[key] = export_ultralytics(yaml, root, **export)
        return cache[key]

    return make
