"""Darknet → ONNX converter: parity with OpenCV's independent Darknet reader, file formats."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import onnx
import pytest
from yolo_models import (  # noqa: F401  (yolo_models is a fixture)
    DARKNET_CFG,
    DARKNET_DATA,
    SMALL_CFG,
    ModelFactory,
    YoloFiles,
    cv2_darknet,
    detections_from_conf,
    sample_blob,
    yolo_models,
)

from deepsort_lib.boxes import iou_matrix, xyxy_to_tlwh
from deepsort_lib.errors import ConfigurationError, ModelError
from deepsort_lib.models.darknet import (
    convert_darknet,
    load_network,
    read_weights_header,
    seen_is_64bit,
    write_random_weights,
)
from deepsort_lib.models.runtime import create_session, model_metadata
from deepsort_lib.models.yolo import decode_raw_head


def _check_parity(files: YoloFiles) -> None:
    """Raw heads, decoded rows and final detections agree with cv2.dnn's Darknet reader."""
    blob = sample_blob(files.input_size)
    raw = create_session(files.raw, providers="cpu").run(None, {"images": blob})
    decoded = create_session(files.decoded, providers="cpu").run(None, {"images": blob})[0][0]
    cv_raw, cv_rows = cv2_darknet(files, blob)
    assert len(raw) == len(cv_raw) >= 2
    for ours, theirs in zip(raw, cv_raw, strict=True):
        assert ours.shape == theirs.shape
        scale = float(np.abs(theirs).max())
        assert scale > 0.5  # the random weights give outputs of a sane scale, not ~0
        assert np.abs(ours - theirs).max() <= 1e-3 * scale

    network = load_network(files.cfg, files.input_size)
    width, height = files.input_size
    ours_rows, cv_all = [], []
    start = 0
    for head, cv in zip(network.heads, cv_rows, strict=True):
        a, (gh, gw) = len(head.anchors), head.grid
        # Ours: (anchor, y, x) order in input pixels; OpenCV: (y, x, anchor), normalised boxes,
        # class columns already multiplied by objectness (and zeroed below 0.2).
        block = decoded[start : start + a * gh * gw].reshape(a, gh, gw, -1)
        block = block.transpose(1, 2, 0, 3).reshape(gh * gw * a, -1)
        start += a * gh * gw
        scale = np.array([width, height, width, height])
        np.testing.assert_allclose(block[:, :4] / scale, cv[:, :4], rtol=1e-3, atol=1e-5)
        np.testing.assert_allclose(block[:, 4], cv[:, 4], atol=1e-5)
        probs = block[:, 5:] * block[:, 4:5]
        shown = cv[:, 5:] > 0
        np.testing.assert_allclose(probs[shown], cv[:, 5:][shown], atol=1e-5)
        assert np.all(probs[~shown] < 0.2 + 1e-5)
        ours_rows.append(np.concatenate([block[:, :4], probs], axis=1))
        cv_all.append(np.concatenate([cv[:, :4] * scale, cv[:, 5:]], axis=1))
    assert start == decoded.shape[0]

    # Darknet's default threshold (0.25), above OpenCV's 0.2 zeroing.
    ours_det = detections_from_conf(
        *np.split(np.concatenate(ours_rows).astype(np.float64), [4], 1), threshold=0.25
    )
    cv_det = detections_from_conf(
        *np.split(np.concatenate(cv_all).astype(np.float64), [4], 1), threshold=0.25
    )
    assert len(ours_det[0]) > 0  # the comparison is not vacuous
    assert len(ours_det[0]) == len(cv_det[0])
    # Near-equal scores may be ordered differently: match boxes one-to-one by overlap instead.
    iou = iou_matrix(xyxy_to_tlwh(ours_det[0]), xyxy_to_tlwh(cv_det[0]))
    iou[ours_det[2][:, None] != cv_det[2][None, :]] = 0.0
    match = iou.argmax(axis=1)
    assert len(set(match.tolist())) == len(match)
    assert iou[np.arange(len(match)), match].min() > 0.999
    np.testing.assert_allclose(ours_det[1], cv_det[1][match], atol=1e-4)


def test_small_cfg_matches_opencv(yolo_models: ModelFactory) -> None:  # noqa: F811
    _check_parity(yolo_models(SMALL_CFG))


@pytest.mark.slow
def test_yolov3_tiny_matches_opencv(yolo_models: ModelFactory) -> None:  # noqa: F811
    _check_parity(yolo_models(DARKNET_CFG / "yolov3-tiny.cfg"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["yolov3", "yolov3-spp"])
def test_full_yolov3_matches_opencv(yolo_models: ModelFactory, name: str) -> None:  # noqa: F811
    _check_parity(yolo_models(DARKNET_CFG / f"{name}.cfg", 416))


def test_layer_shapes_of_small_cfg() -> None:
    net = load_network(SMALL_CFG)
    # conv, pool/2, conv, conv, grouped conv, shortcut, route half, conv/2, pool size 2 stride 1.
    assert net.shapes[1] == (8, 32, 48)
    assert net.shapes[5] == (16, 32, 48)
    assert net.shapes[6] == (8, 32, 48)
    assert net.shapes[8] == net.shapes[7] == (16, 16, 24)  # Darknet's stride-1 pool keeps size
    assert net.shapes[15] == (24, 32, 48)  # route of two layers concatenates channels
    assert [h.grid for h in net.heads] == [(16, 24), (32, 48)]
    assert [h.stride for h in net.heads] == [(4.0, 4.0), (2.0, 2.0)]


@pytest.mark.slow
def test_decoded_graph_equals_numpy_decoding(yolo_models: ModelFactory) -> None:  # noqa: F811
    files = yolo_models(DARKNET_CFG / "yolov3-tiny.cfg")
    blob = sample_blob(files.input_size)
    raw = create_session(files.raw, providers="cpu").run(None, {"images": blob})
    decoded = create_session(files.decoded, providers="cpu").run(None, {"images": blob})[0][0]
    net = load_network(files.cfg)
    rows = np.concatenate(
        [decode_raw_head(r, h.anchors, h.stride)[0] for r, h in zip(raw, net.heads, strict=True)]
    )
    np.testing.assert_allclose(rows, decoded, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("version", "header_bytes"),
    [((0, 1, 0), 16), ((0, 2, 0), 20), ((0, 2, 5), 20), ((1, 0, 0), 20), ((1000, 2, 0), 16)],
)
def test_weights_header_versions(
    tmp_path: Path, version: tuple[int, int, int], header_bytes: int
) -> None:
    cfg = SMALL_CFG
    path = write_random_weights(cfg, tmp_path / "w.weights", seed=3, version=version, seen=123456)
    data = path.read_bytes()
    header = read_weights_header(data)
    assert (header.major, header.minor, header.revision, header.seen) == (*version, 123456)
    assert header.size == header_bytes
    assert len(data) == header_bytes + 4 * load_network(cfg).weight_count
    # The same values load whatever the header version.
    reference = write_random_weights(cfg, tmp_path / "ref.weights", seed=3)
    a = onnx.load(str(convert_darknet(cfg, path, tmp_path / "a.onnx")))
    b = onnx.load(str(convert_darknet(cfg, reference, tmp_path / "b.onnx")))
    for x, y in zip(a.graph.initializer, b.graph.initializer, strict=True):
        np.testing.assert_array_equal(onnx.numpy_helper.to_array(x), onnx.numpy_helper.to_array(y))
    if version[0] >= 1000:
        # pjreddie's Darknet reads a 32-bit `seen` here (a field >= 1000 marks transposed
        # weights of old files); OpenCV and AlexeyAB's fork read 64 bits whenever
        # major * 10 + minor >= 2, so there is no independent reader to compare with.
        return
    # OpenCV's reader, independent of ours, reads the same values from this header version.
    files = YoloFiles(cfg, path, tmp_path / "a.onnx", tmp_path / "a.onnx", (96, 64))
    blob = sample_blob(files.input_size)
    ours = create_session(files.raw, providers="cpu").run(None, {"images": blob})
    theirs, _ = cv2_darknet(files, blob)
    for x, y in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(x, y, atol=1e-3 * float(np.abs(y).max()))


def test_seen_width_rule() -> None:
    assert not seen_is_64bit(0, 1)
    assert seen_is_64bit(0, 2)
    assert seen_is_64bit(1, 0)
    assert not seen_is_64bit(1000, 0)
    assert not seen_is_64bit(0, 1000)


def test_hand_written_old_header_is_read(tmp_path: Path) -> None:
    values = write_random_weights(SMALL_CFG, tmp_path / "new.weights").read_bytes()[20:]
    old = tmp_path / "old.weights"
    old.write_bytes(struct.pack("<3ii", 0, 1, 0, 99) + values)
    assert read_weights_header(old.read_bytes()).seen == 99
    convert_darknet(SMALL_CFG, old, tmp_path / "old.onnx")


@pytest.mark.parametrize(("delta", "word"), [(-4, "too short"), (8, "too long")])
def test_wrong_length_weights_are_rejected(tmp_path: Path, delta: int, word: str) -> None:
    good = write_random_weights(SMALL_CFG, tmp_path / "good.weights").read_bytes()
    bad = tmp_path / "bad.weights"
    bad.write_bytes(good[:delta] if delta < 0 else good + b"\0" * delta)
    expected = load_network(SMALL_CFG).weight_count
    found = expected + delta // 4
    out = tmp_path / "out.onnx"
    with pytest.raises(ModelError, match=f"{word}.*expected {expected} .*found {found}"):
        convert_darknet(SMALL_CFG, bad, out)
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_ragged_and_truncated_header(tmp_path: Path) -> None:
    good = write_random_weights(SMALL_CFG, tmp_path / "good.weights").read_bytes()
    (tmp_path / "ragged.weights").write_bytes(good + b"\0\0")
    with pytest.raises(ModelError, match="whole number of float32"):
        convert_darknet(SMALL_CFG, tmp_path / "ragged.weights", tmp_path / "o.onnx")
    (tmp_path / "stub.weights").write_bytes(good[:10])
    with pytest.raises(ModelError, match="header"):
        convert_darknet(SMALL_CFG, tmp_path / "stub.weights", tmp_path / "o.onnx")


@pytest.mark.slow  # over 1 s on the 2026-11-30 host
def test_metadata_round_trip(yolo_models: ModelFactory, tmp_path: Path) -> None:  # noqa: F811
    files = yolo_models(DARKNET_CFG / "yolov3-tiny.cfg")
    meta = model_metadata(create_session(files.decoded, providers="cpu"))
    names = json.loads(meta["deepsort_lib.yolo.names"])
    coco = (DARKNET_DATA / "coco.names").read_text().split("\n")
    assert names == [n for n in coco if n] and names[0] == "person"
    assert json.loads(meta["deepsort_lib.yolo.layout"]) == "decoded"
    assert json.loads(meta["deepsort_lib.yolo.anchors"]) == [
        [[81, 82], [135, 169], [344, 319]],
        [[10, 14], [23, 27], [37, 58]],
    ]
    assert json.loads(meta["deepsort_lib.yolo.strides"]) == [[32, 32], [16, 16]]
    assert json.loads(meta["deepsort_lib.yolo.input_size"]) == [416, 416]

    names_file = tmp_path / "three.names"
    names_file.write_text("cat\ndog\n\nbird\n")
    out = convert_darknet(
        SMALL_CFG, files_small_weights(tmp_path), tmp_path / "s.onnx", names=names_file
    )
    meta = model_metadata(create_session(out, providers="cpu"))
    assert json.loads(meta["deepsort_lib.yolo.names"]) == ["cat", "dog", "bird"]
    out = convert_darknet(SMALL_CFG, files_small_weights(tmp_path), tmp_path / "n.onnx")
    assert json.loads(model_metadata(create_session(out))["deepsort_lib.yolo.names"]) == [
        "0",
        "1",
        "2",
    ]
    with pytest.raises(ConfigurationError, match="3 classes but 2 names"):
        convert_darknet(
            SMALL_CFG, files_small_weights(tmp_path), tmp_path / "x.onnx", names=["a", "b"]
        )


def files_small_weights(tmp_path: Path) -> Path:
    path = tmp_path / "small.weights"
    return path if path.exists() else write_random_weights(SMALL_CFG, path)


def test_unsupported_layer_and_bad_reference(tmp_path: Path) -> None:
    text = SMALL_CFG.read_text()
    bad = tmp_path / "bad.cfg"
    bad.write_text(text.replace("[upsample]", "[reorg]"))
    with pytest.raises(ModelError, match=r"\[reorg\] at line \d+ is not supported"):
        load_network(bad)
    bad.write_text(text.replace("layers=-1,5", "layers=-1,40"))
    with pytest.raises(ModelError, match="refers to layer 40"):
        load_network(bad)
    bad.write_text(text.replace("classes=3", "classes=4", 1))
    with pytest.raises(ModelError, match="expected 2 × \\(5 \\+ 4\\)"):
        load_network(bad)
    with pytest.raises(ModelError, match="cfg file not found"):
        load_network(tmp_path / "missing.cfg")


def test_input_size_override_and_opset(tmp_path: Path) -> None:
    weights = files_small_weights(tmp_path)
    out = convert_darknet(SMALL_CFG, weights, tmp_path / "big.onnx", input_size=(128, 96), opset=17)
    model = onnx.load(str(out))
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    assert dims == [3, 96, 128]
    assert model.opset_import[0].version == 17
    with pytest.raises(ConfigurationError):
        convert_darknet(SMALL_CFG, weights, tmp_path / "o.onnx", opset=11)
