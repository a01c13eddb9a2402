"""Every model file is written through one atomic writer: mode, inputs, special files, failures."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import onnx
import pytest
from yolo_models import SMALL_CFG

from deepsort_lib.errors import ConfigurationError, SourceError
from deepsort_lib.models import files
from deepsort_lib.models.darknet import convert_darknet, write_random_weights
from deepsort_lib.models.mars import build_mars_small128, write_mars_small128
from deepsort_lib.models.reid import write_reid_metadata

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_converted_models_follow_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    # AtomicPath reads the umask once at import, so each umask gets its own process.
    script = textwrap.dedent(
        f"""
        import os, stat, sys
        from pathlib import Path
        from deepsort_lib.models.darknet import convert_darknet, write_random_weights
        from deepsort_lib.models.mars import write_mars_small128
        from deepsort_lib.models.reid import write_reid_metadata
        root = Path(sys.argv[1])
        weights = write_random_weights({str(SMALL_CFG)!r}, root / "w.weights")
        onnx_path = convert_darknet({str(SMALL_CFG)!r}, weights, root / "yolo.onnx")
        mars = write_mars_small128(root / "mars.onnx")
        described = write_reid_metadata(mars, root / "described.onnx", preset="mars-small128")
        for path in (weights, onnx_path, mars, described):
            print(path.name, oct(stat.S_IMODE(path.stat().st_mode)))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(umask),
    )
    assert proc.returncode == 0, proc.stderr
    modes = dict(line.split() for line in proc.stdout.splitlines())
    assert modes == {
        name: oct(mode) for name in ("w.weights", "yolo.onnx", "mars.onnx", "described.onnx")
    }


def test_converter_refuses_to_write_onto_its_inputs(tmp_path: Path) -> None:
    weights = write_random_weights(SMALL_CFG, tmp_path / "w.weights")
    cfg = tmp_path / "v.cfg"
    cfg.write_bytes(SMALL_CFG.read_bytes())
    link = tmp_path / "link.weights"
    link.symlink_to(weights)
    before = weights.read_bytes(), cfg.read_bytes()
    for output in (cfg, weights, link, tmp_path / "sub" / ".." / "v.cfg"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(ConfigurationError, match="is the input"):
            convert_darknet(cfg, weights, output)
    assert (weights.read_bytes(), cfg.read_bytes()) == before
    with pytest.raises(ConfigurationError, match="is the input"):
        write_random_weights(cfg, cfg)
    assert cfg.read_bytes() == before[1]


def test_special_files_are_never_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.onnx"
    os.mkfifo(fifo)
    with pytest.raises(ConfigurationError, match="not a regular file"):
        write_mars_small128(fifo)
    assert fifo.is_fifo()
    folder = tmp_path / "folder.onnx"
    folder.mkdir()
    with pytest.raises(ConfigurationError, match="not a regular file"):
        write_mars_small128(folder)
    assert folder.is_dir() and not any(folder.iterdir())
    # A link stays a link: the file it points to gets the new model.
    real = tmp_path / "real.onnx"
    real.write_bytes(b"old")
    link = tmp_path / "link.onnx"
    link.symlink_to(real)
    write_mars_small128(link)
    assert link.is_symlink() and onnx.load(str(real)).graph.node


def test_failed_write_keeps_the_previous_file_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = write_mars_small128(tmp_path / "mars.onnx")
    good = target.read_bytes()

    def full_disk(model: onnx.ModelProto, path: str) -> None:
        Path(path).write_bytes(b"half a mod")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.onnx, "save", full_disk)
    with pytest.raises(SourceError, match="No space left"):
        files.save_model(build_mars_small128(1), target)
    with pytest.raises(SourceError, match="No space left"):
        write_reid_metadata(target, preset="osnet")
    assert target.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mars.onnx"]


def test_darknet_write_failure_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = write_random_weights(SMALL_CFG, tmp_path / "w.weights")
    original = Path.write_bytes

    def fail(self: Path, data: bytes) -> int:
        if self.name.endswith(".part"):
            original(self, data[:10])
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))
        return original(self, data)

    monkeypatch.setattr(Path, "write_bytes", fail)
    with pytest.raises(SourceError, match="cannot write"):
        convert_darknet(SMALL_CFG, weights, tmp_path / "o.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.weights"]
