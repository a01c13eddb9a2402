"""``deepsort-convert`` re-ID sub-commands end to end on a generated mars-small128 model."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from deepsort_lib.cli.main import convert_main
from deepsort_lib.models.mars import write_mars_small128
from deepsort_lib.models.reid import OnnxEncoder, save_model

VIDEO = Path(__file__).resolve().parents[1] / "data" / "vtest.avi"


@pytest.fixture(scope="module")
def mars_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mars_small128(tmp_path_factory.mktemp("cli") / "mars.onnx")


@pytest.mark.slow
def test_quantize_encoder_command(mars_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "mars.int8.onnx"
    argv = ["quantize-encoder", str(mars_path), "--calibration-video", str(VIDEO), "-o", str(out)]
    assert convert_main([*argv, "--frames", "4", "--boxes-per-frame", "4"]) == 0
    encoder = OnnxEncoder(out)
    assert encoder.metadata["deepsort_lib.quantized"] == "int8-qdq"
    assert encoder.feature_dim == 128
    assert "Elu" not in {n.op_type for n in onnx.load(str(out)).graph.node}  # rewritten
    assert convert_main([*argv, "--frames", "2", "--boxes-per-frame", "4", "--keep-elu"]) == 0
    assert "Elu" in {n.op_type for n in onnx.load(str(out)).graph.node}


def test_quantize_encoder_bad_video_exits_2(mars_path: Path, tmp_path: Path) -> None:
    argv = ["quantize-encoder", str(mars_path), "--calibration-video", str(tmp_path / "no.avi")]
    assert convert_main([*argv, "-o", str(tmp_path / "o.onnx")]) == 2
    assert not (tmp_path / "o.onnx").exists()


def test_fp16_command(mars_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "mars.fp16.onnx"
    assert convert_main(["fp16-encoder", str(mars_path), "-o", str(out)]) == 0
    assert OnnxEncoder(out, providers="cpu").metadata["deepsort_lib.precision"] == "fp16"


def test_reid_metadata_command(mars_path: Path, tmp_path: Path) -> None:
    bare = onnx.load(str(mars_path))
    del bare.metadata_props[:]
    path = save_model(bare, tmp_path / "bare.onnx")
    assert convert_main(["reid-metadata", str(path), "--input-size", "64x128",
                         "--channel-order", "RGB", "--layout", "NHWC"]) == 0  # fmt: skip
    assert OnnxEncoder(path).channel_order == "RGB"
    assert OnnxEncoder(path).input_size == (64, 128)  # WIDTHxHEIGHT, like the detector's
    assert convert_main(["reid-metadata", str(path), "--preset", "mars-small128"]) == 0
    assert OnnxEncoder(path).channel_order == "BGR"
    assert convert_main(["reid-metadata", str(path)]) == 2  # nothing to write


@pytest.mark.slow
def test_mars_command_missing_file_exits_2(tmp_path: Path) -> None:
    assert convert_main(["mars", str(tmp_path / "none.pb"), "-o", str(tmp_path / "o.onnx")]) == 2
