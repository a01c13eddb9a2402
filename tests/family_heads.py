"""YOLOv5 and YOLOX detection heads in torch, exported to ONNX with their projects' layouts.

Neither project is in Ultralytics 8.4 (its "yolov5u" is an anchor-free v8 head), so the heads
are written here from the projects' papers and export code as documented: a small random
backbone gives P3/P4/P5 features (strides 8, 16, 32) and

* YOLOv5 (``export.py``, ``Detect`` in export mode): per level ``3 × (5 + C)`` channels,
  sigmoid on everything, ``xy = (2σ - 0.5 + cell) × stride``, ``wh = (2σ)² × anchor``; rows
  ordered anchor, y, x per level, levels P3..P5: ``[B, 3 × cells, 5 + C]``.
* YOLOX (``tools/export_onnx.py``, ``decode_in_inference=False``): per level reg (4), obj (1)
  and cls (C) convolutions, ``cat([reg, σ(obj), σ(cls)])``, flattened row by row, levels
  P3..P5: ``[B, cells, 5 + C]`` with grid offsets and log sizes left to the caller.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

V5_ANCHORS = (
    ((10, 13), (16, 30), (33, 23)),
    ((30, 61), (62, 45), (59, 119)),
    ((116, 90), (156, 198), (373, 326)),
)
STRIDES = (8, 16, 32)


def _backbone(torch: Any, width: int = 16) -> Any:
    nn = torch.nn

    def conv(cin: int, cout: int) -> Any:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1), nn.SiLU())

    class Backbone(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(conv(3, width), conv(width, width), conv(width, width))
            self.p4 = conv(width, width)
            self.p5 = conv(width, width)
            self.norm = nn.GroupNorm(1, width, affine=False)
            self.register_buffer("texture", torch.rand(1, 3, 640, 640))

        def forward(self, x: Any) -> list[Any]:
            # A fixed random texture added to the image: with a small backbone, cells over
            # uniform areas (the letterbox bars) would otherwise score exactly alike, and
            # NMS between equal scores depends on each implementation's sort.
            p3 = self.stem(x + self.texture[..., : x.shape[2], : x.shape[3]])
            p4 = self.p4(p3)
            # Features normalised per image and level (no affine): O(1) whatever the input
            # scale (YOLOX reads 0-255, YOLOv5 0-1), so head weights set the score spread.
            return [self.norm(p) for p in (p3, p4, self.p5(p4))]

    return Backbone()


def build_head_model(kind: str, classes: int = 80, seed: int = 0, width: int = 16) -> Any:
    """A random ``"yolov5"`` or ``"yolox"`` model whose class scores spread over (0, 1)."""
    import torch

    nn = torch.nn
    torch.manual_seed(seed)
    backbone = _backbone(torch, width)
    no = 5 + classes

    class V5(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone
            self.heads = nn.ModuleList(nn.Conv2d(width, 3 * no, 1) for _ in STRIDES)

        def forward(self, x: Any) -> Any:
            out = []
            for feat, head, stride, anchors in zip(
                self.backbone(x), self.heads, STRIDES, V5_ANCHORS, strict=True
            ):
                bs, _, ny, nx = feat.shape
                y = head(feat).view(bs, 3, no, ny, nx).permute(0, 1, 3, 4, 2).sigmoid()
                yv, xv = torch.meshgrid(torch.arange(ny), torch.arange(nx), indexing="ij")
                grid = torch.stack((xv, yv), 2).view(1, 1, ny, nx, 2).float()
                anchor = torch.tensor(anchors, dtype=torch.float32).view(1, 3, 1, 1, 2)
                xy = (y[..., :2] * 2 - 0.5 + grid) * stride
                wh = (y[..., 2:4] * 2) ** 2 * anchor
                out.append(torch.cat((xy, wh, y[..., 4:]), -1).view(bs, -1, no))
            return torch.cat(out, 1)

    class YoloX(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone
            self.reg = nn.ModuleList(nn.Conv2d(width, 4, 1) for _ in STRIDES)
            self.obj = nn.ModuleList(nn.Conv2d(width, 1, 1) for _ in STRIDES)
            self.cls = nn.ModuleList(nn.Conv2d(width, classes, 1) for _ in STRIDES)

        def forward(self, x: Any) -> Any:
            outs = []
            for k, feat in enumerate(self.backbone(x)):
                level = torch.cat(
                    (self.reg[k](feat), self.obj[k](feat).sigmoid(), self.cls[k](feat).sigmoid()),
                    1,
                )
                outs.append(level.flatten(start_dim=2))
            return torch.cat(outs, 2).permute(0, 2, 1)

    model = V5() if kind == "yolov5" else YoloX()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # logits of spread ~2: objectness around -2, classes around -4
        heads = list(model.heads) if kind == "yolov5" else [*model.obj, *model.cls]
        for head in heads:
            head.weight.mul_(4.0)
            bias = torch.randn(head.bias.shape, generator=gen)
            if kind == "yolov5":  # per anchor: x, y, w, h, objectness, classes
                bias = bias.view(3, no)
                bias[:, :4] = 0.0
                bias[:, 4] -= 2.0
                bias[:, 5:] -= 4.0
            else:
                bias -= 4.0 if head.out_channels == classes else 2.0
            head.bias.copy_(bias.reshape(-1))
        if kind == "yolox":  # small log sizes: boxes of a few strides
            for head in model.reg:
                head.weight.mul_(0.2)
    return model.eval()


def export_head_model(
    kind: str, path: Path, *, input_size: int = 640, dynamic_batch: bool = False, seed: int = 0
) -> Path:
    """Export :func:`build_head_model` to ONNX at a fixed ``input_size`` square input."""
    import torch

    model = build_head_model(kind, seed=seed)
    dummy = torch.zeros(1, 3, input_size, input_size)
    axes = {"images": {0: "batch"}, "output": {0: "batch"}} if dynamic_batch else None
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=["images"],
        output_names=["output"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    return path
