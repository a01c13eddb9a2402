"""The models package on bad input: crashes, nonsense cfgs, opsets, providers, wrong models.

Issue 15's model items, one regression test each: the process never dies, every failure is a
library error that names what was wrong, and nothing is written before the checks pass.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yolo_models import SMALL_CFG, ModelFactory, yolo_models  # noqa: F401

from deepsort_lib.boxes import iou_matrix
from deepsort_lib.cli.main import convert_main
from deepsort_lib.errors import ConfigurationError, DeepSortError, InvalidInputError, ModelError
from deepsort_lib.models.camera_motion import CameraMotionEstimator
from deepsort_lib.models.classic import ClassicEncoder
from deepsort_lib.models.crops import extract_crops
from deepsort_lib.models.darknet import (
    MIN_OPSET,
    convert_darknet,
    load_network,
    parse_cfg_text,
    resolve_network,
    write_random_weights,
)
from deepsort_lib.models.hog import HOGDetector
from deepsort_lib.models.mars import write_mars_small128
from deepsort_lib.models.reid import OnnxEncoder
from deepsort_lib.models.runtime import max_supported_opset, resolve_providers
from deepsort_lib.models.yolo import YOLOv3Detector

ROOT = Path(__file__).resolve().parents[1]
SMALL_TEXT = SMALL_CFG.read_text()


# -- HOG on frames smaller than its window ------------------------------------------------------


def test_hog_survives_frames_smaller_than_its_window() -> None:
    # OpenCV 4's HOG segfaulted or aborted on these (width x height): run in a child process
    # so a crash fails this test instead of killing the test run.
    script = textwrap.dedent(
        """
        import numpy as np
        from deepsort_lib.models.hog import HOGDetector
        rng = np.random.default_rng(0)
        sizes = [(80, 60), (64, 128), (1, 1), (60, 200), (128, 64), (63, 127), (200, 60)]
        for kwargs in ({}, {"upscale": 1.0}, {"upscale": 0.5}, {"padding": (0, 0)}):
            detector = HOGDetector(**kwargs)
            for width, height in sizes:
                frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
                found = detector.detect(frame)
                assert (found.tlwh[:, 0] + found.tlwh[:, 2] <= width + 1e-9).all()
                assert (found.tlwh[:, 1] + found.tlwh[:, 3] <= height + 1e-9).all()
                print(width, height, len(found), flush=True)
        print("survived")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.strip().endswith("survived")


def test_hog_finds_a_person_in_a_crop_smaller_than_its_window(vtest_frames: list) -> None:
    # The padding only adds black below and right of the frame: a person in a 100x120 crop is
    # found where the same detector finds them in the whole frame.
    frame = vtest_frames[0]
    detector = HOGDetector(upscale=1.0, hit_threshold=-0.5, group_threshold=0)
    whole = detector.detect(frame)
    x0, y0 = 600, 224
    crop = np.ascontiguousarray(frame[y0 : y0 + 120, x0 : x0 + 100])
    assert crop.shape[0] < 128  # smaller than the window: the padded path runs
    found = detector.detect(crop)
    assert len(found) >= 1
    shifted = whole.tlwh - np.array([x0, y0, 0, 0])
    assert iou_matrix(found.tlwh, shifted).max() > 0.9


# -- one frame check, one message ----------------------------------------------------------------

BAD_FRAMES = {
    "float": np.zeros((32, 32, 3), np.float32),
    "two-d": np.zeros((32, 32), np.uint8),
    "four channels": np.zeros((32, 32, 4), np.uint8),
    "empty": np.zeros((0, 32, 3), np.uint8),
    "ragged list": [[1, 2], [3]],
    "string": "frame.png",
}


@pytest.mark.parametrize("name", list(BAD_FRAMES))
def test_every_image_model_rejects_bad_frames_with_one_message(
    name: str,
    yolo_models: ModelFactory,  # noqa: F811
    tmp_path: Path,
) -> None:
    frame = BAD_FRAMES[name]
    boxes = np.array([[0.0, 0.0, 8.0, 16.0]])
    mars = OnnxEncoder(write_mars_small128(tmp_path / "mars.onnx", seed=0), providers="cpu")
    yolo = YOLOv3Detector(yolo_models(SMALL_CFG).raw, providers="cpu")
    calls = {
        "hog": lambda: HOGDetector().detect(frame),
        "yolo": lambda: yolo.detect(frame),
        "crops": lambda: extract_crops(frame, boxes, (64, 128)),
        "classic": lambda: ClassicEncoder().encode(frame, boxes),
        "onnx encoder": lambda: mars.encode(frame, boxes),
    }
    if name != "two-d":  # a grey (H, W) frame is valid for the camera-motion estimator
        calls["camera motion"] = lambda: CameraMotionEstimator().estimate(frame)
    messages = set()
    for call in calls.values():
        with pytest.raises(InvalidInputError, match="non-empty \\(H, W, 3\\) uint8") as info:
            call()
        messages.add(str(info.value))
    assert len(messages) == 1, messages


# -- nonsense cfg values --------------------------------------------------------------------------


def _replace(old: str, new: str, count: int = 1) -> str:
    assert old in SMALL_TEXT
    return SMALL_TEXT.replace(old, new, count)


NONSENSE = [
    ("stride=0", _replace("stride=2\npad=1", "stride=0\npad=1"), "convolutional", "stride"),
    (
        "groups=0",
        _replace("groups=2\nactivation", "groups=0\nactivation"),
        "convolutional",
        "groups",
    ),
    ("route groups=0", _replace("groups=2\ngroup_id=1", "groups=0\ngroup_id=1"), "route", "groups"),
    ("anchors=4,six", _replace("anchors=4,6,", "anchors=4,six,"), "yolo", "anchors"),
    ("anchors=nan", _replace("anchors=4,6,", "anchors=nan,6,"), "yolo", "anchors"),
    ("anchors=-4", _replace("anchors=4,6,", "anchors=-4,6,"), "yolo", "anchors"),
    ("odd anchors", _replace("anchors=4,6, ", "anchors=4, "), "yolo", "anchors"),
    ("filters=-8", _replace("filters=8", "filters=-8"), "convolutional", "filters"),
    ("size=1.5", _replace("size=3", "size=1.5"), "convolutional", "size"),
    ("maxpool stride=0", _replace("size=2\nstride=2", "size=2\nstride=0"), "maxpool", "stride"),
    (
        "upsample stride=0",
        _replace("[upsample]\nstride=2", "[upsample]\nstride=0"),
        "upsample",
        "stride",
    ),
    ("classes=0", _replace("classes=3", "classes=0"), "yolo", "classes"),
    ("scale_x_y=inf", _replace("num=4", "num=4\nscale_x_y=inf"), "yolo", "scale_x_y"),
    ("width=abc", _replace("width=96", "width=abc"), "net", "width"),
    ("width=0", _replace("width=96", "width=0"), "net", "width"),
    ("group_id=5", _replace("group_id=1", "group_id=5"), "route", "group_id"),
    ("huge integer", _replace("filters=8", "filters=" + "9" * 5000), "convolutional", "filters"),
]


@pytest.mark.parametrize(
    ("text", "section", "key"), [n[1:] for n in NONSENSE], ids=[n[0] for n in NONSENSE]
)
def test_nonsense_cfg_values_name_section_and_key(
    tmp_path: Path, text: str, section: str, key: str
) -> None:
    cfg = tmp_path / "bad.cfg"
    cfg.write_text(text)
    with pytest.raises(ModelError, match=rf"\[{section}\] at line \d+.*{key}"):
        load_network(cfg)


def test_nonsense_cfg_through_the_cli_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = write_random_weights(SMALL_CFG, tmp_path / "w.weights")
    cfg = tmp_path / "bad.cfg"
    cfg.write_text(_replace("stride=2\npad=1", "stride=0\npad=1"))
    out = tmp_path / "o.onnx"
    assert convert_main(["darknet", str(cfg), str(weights), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "stride" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.cfg", "w.weights"]


_VALUES = st.one_of(
    st.integers(-3, 70).map(str),
    st.sampled_from(["0", "-1", "nan", "inf", "-inf", "1e999", "1.5", "", "six", "4,six", ",,"]),
    st.text(alphabet="0123456789,.-+ena x", max_size=12),
)
_KEYS = st.sampled_from(
    [
        "filters",
        "size",
        "stride",
        "pad",
        "padding",
        "groups",
        "group_id",
        "layers",
        "from",
        "anchors",
        "mask",
        "num",
        "classes",
        "scale_x_y",
        "width",
        "height",
        "channels",
        "activation",
        "batch_normalize",
        "dilation",
        "scale",
    ]
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 200), _KEYS, _VALUES), max_size=4))
def test_fuzzed_cfg_gives_only_library_errors(edits: list[tuple[int, str, str]]) -> None:
    # Set random keys of random sections to random values: the parser and the shape resolver
    # either accept the result or raise a library error, never ValueError/ZeroDivisionError.
    lines = SMALL_TEXT.splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("[")]
    for where, key, value in edits:
        lines.insert(headers[where % len(headers)] + 1, f"{key}={value}")
        headers = [i for i, line in enumerate(lines) if line.startswith("[")]
    try:
        network = resolve_network(parse_cfg_text("\n".join(lines)))
    except DeepSortError:
        return
    assert network.heads and network.weight_count > 0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_random_text_cfg_gives_only_library_errors(text: str) -> None:
    try:
        resolve_network(parse_cfg_text("[net]\n" + text))
    except DeepSortError:
        pass


# -- opsets ---------------------------------------------------------------------------------------


def test_opset_beyond_onnxruntime_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    weights = write_random_weights(SMALL_CFG, tmp_path / "w.weights")
    newest = max_supported_opset()
    assert newest >= 17
    out = tmp_path / "o.onnx"
    for opset in (99, newest + 1):
        with pytest.raises(ModelError, match=f"opset {opset} is not supported.*{newest}"):
            convert_darknet(SMALL_CFG, weights, out, opset=opset)
    with pytest.raises(ConfigurationError, match=f">= {MIN_OPSET}"):
        convert_darknet(SMALL_CFG, weights, out, opset=MIN_OPSET - 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.weights"]
    # The newest accepted opset really loads.
    convert_darknet(SMALL_CFG, weights, out, opset=newest)
    YOLOv3Detector(out, providers="cpu")


def test_cli_opset_99_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    weights = write_random_weights(SMALL_CFG, tmp_path / "w.weights")
    out = tmp_path / "o.onnx"
    code = convert_main(["darknet", str(SMALL_CFG), str(weights), "-o", str(out), "--opset", "99"])
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "opset 99" in err


# -- providers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("providers", ["bogus", ["cpu", "bogus"], [], [""], [5], "  "])
def test_bogus_providers_are_an_error(providers: object) -> None:
    with pytest.raises(ConfigurationError, match="provider"):
        resolve_providers(providers, ["CPUExecutionProvider"])  # type: ignore[arg-type]


def test_models_refuse_bogus_providers(tmp_path: Path, yolo_models: ModelFactory) -> None:  # noqa: F811
    with pytest.raises(ConfigurationError, match="'bogus'"):
        YOLOv3Detector(yolo_models(SMALL_CFG).raw, providers="bogus")
    with pytest.raises(ConfigurationError, match="'bogus'"):
        OnnxEncoder(write_mars_small128(tmp_path / "m.onnx", seed=0), providers="bogus")


# -- a detector given as the appearance model ----------------------------------------------------


@pytest.mark.parametrize("layout", ["raw", "decoded"])
def test_reid_encoder_refuses_a_detector_naming_the_shapes(
    layout: str,
    yolo_models: ModelFactory,  # noqa: F811
) -> None:
    files = yolo_models(SMALL_CFG)
    model = files.raw if layout == "raw" else files.decoded
    output = "head0" if layout == "raw" else "detections"
    with pytest.raises(ModelError, match=rf"not a re-ID model.*images \[.*64, 96\].*{output} \["):
        OnnxEncoder(model, providers="cpu")
