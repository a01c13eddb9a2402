"""The documentation site builds with ``mkdocs build --strict`` and documents every option."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deepsort_lib.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mkdocs_strict_build(tmp_path: Path) -> None:
    # Build a copy so the test never writes into the checkout, from another directory: paths
    # in mkdocs.yml (snippets, mkdocstrings) must not depend on the working directory.
    project = tmp_path / "project"
    for name in ("mkdocs.yml", "docs", "deepsort_lib", "benchmarks/results"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            project.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, project / name)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(project / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path / "site"),
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("Pipeline", "TrackerConfig", "DetectionCache", "HOGDetector", "VideoSink"):
        assert name in api  # rendered from the docstrings
    bench = (tmp_path / "site" / "benchmarks" / "index.html").read_text(encoding="utf-8")
    assert "overhead_share" in bench and "--8&lt;--" not in bench  # tables were included
    counting = (tmp_path / "site" / "counting" / "index.html").read_text(encoding="utf-8")
    assert "sv.LineZone (bottom centre)" in counting  # the benchmark table was included
    assert "ZoneCounter" in counting and "--8&lt;--" not in counting
    interop = (tmp_path / "site" / "interop" / "index.html").read_text(encoding="utf-8")
    assert "from_supervision" in interop and "TrackRecorder" in interop
    assert (tmp_path / "site" / "migration" / "index.html").is_file()


# -- every code block runs ------------------------------------------------------------------

#: Python blocks that cannot run as written, keyed by (file, a line of the block), with why.
#: Keep this short: a block belongs here only if it needs something a reader must bring.
NOT_RUNNABLE: dict[tuple[str, str], str] = {
    ("docs/reid.md", 'encoder = OnnxEncoder("mars-small128.onnx")'): "needs a converted model",
    ("docs/reid.md", "import torch, torchreid"): "needs torchreid and OSNet weights",
    ("docs/reid.md", "dets = encode_detections(encoder, frame, dets"): "fragment of a loop",
    ("docs/yolov3.md", 'convert_darknet("yolov3.cfg"'): "needs the 248 MB yolov3.weights",
    ("docs/yolov3.md", "detector = YOLOv3Detector("): "needs yolov3.onnx and street.jpg",
    ("docs/yolov3.md", 'quantize_yolo("yolov3.onnx"'): "needs yolov3.onnx and frames",
    ("docs/yolov3.md", 'fp32 = YOLOv3Detector("yolov3.onnx"'): "needs yolov3.onnx",
    ("docs/evaluation.md", 'r = evaluate_files("gt/gt.txt"'): "needs the user's gt and results",
    ("docs/detectors.md", 'open_onnx_detector("yolo11n.onnx"'): "needs the user's exported model",
}


def _doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """``(first line number, code)`` of every fenced ``python`` block of a Markdown file."""
    blocks: list[tuple[int, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    start: int | None = None
    for number, line in enumerate(lines, start=1):
        if start is None and line.strip() == "```python":
            start = number
        elif start is not None and line.strip() == "```":
            blocks.append((start + 1, "\n".join(lines[start : number - 1]) + "\n"))
            start = None
    assert start is None, f"{path}: unclosed code block at line {start}"
    return blocks


def _skip_reason(rel: str, code: str) -> str | None:
    for (name, needle), reason in NOT_RUNNABLE.items():
        if name == rel and needle in code:
            return reason
    return None


def _runnable_blocks() -> list[tuple[str, int, str]]:
    out = []
    for path in _doc_files():
        rel = path.relative_to(ROOT).as_posix()
        for line, code in python_blocks(path):
            if _skip_reason(rel, code) is None:
                out.append((rel, line, code))
    return out


RUNNABLE = _runnable_blocks()


def _run_block(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # A fresh interpreter in an empty directory that only has the sample data: blocks are
    # self-contained and write nothing into the checkout.
    (tmp_path / "data").symlink_to(ROOT / "data", target_is_directory=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["MPLBACKEND"] = "Agg"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("doc", "line", "code"), RUNNABLE, ids=[f"{d}:{n}" for d, n, _ in RUNNABLE]
)
def test_code_block_runs(doc: str, line: int, code: str, tmp_path: Path) -> None:
    proc = _run_block(code, tmp_path)
    assert proc.returncode == 0, f"{doc}:{line} failed:\n{proc.stderr[-3000:]}"


def test_not_runnable_list_is_small_and_current() -> None:
    blocks = {
        path.relative_to(ROOT).as_posix(): [code for _, code in python_blocks(path)]
        for path in _doc_files()
    }
    for (name, needle), reason in NOT_RUNNABLE.items():
        matches = [code for code in blocks.get(name, []) if needle in code]
        assert len(matches) == 1, f"NOT_RUNNABLE entry {name}: {needle!r} matches {len(matches)}"
        assert reason
    total = sum(len(codes) for codes in blocks.values())
    assert len(RUNNABLE) >= 15 and len(NOT_RUNNABLE) <= total // 2
    # Pages written for newcomers run in full.
    for name in (
        "README.md",
        "docs/index.md",
        "docs/quickstart.md",
        "docs/migration.md",
        "docs/counting.md",
        "docs/interop.md",
    ):
        assert not [k for k in NOT_RUNNABLE if k[0] == name], name


@pytest.mark.slow
def test_quickstart_first_example_prints_what_the_page_says(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    first = python_blocks(ROOT / "docs" / "quickstart.md")[0][1]
    # The page shows the output in the ```text block that follows the tracker example.
    after = text[text.index(first) + len(first) :]
    shown = re.search(r"```text\n(.*?)```", after, re.S)
    assert shown is not None
    proc = _run_block(first, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == shown.group(1)
    assert "frame 1: []" in proc.stdout and "frame 3: [(1, 0), (2, 1)]" in proc.stdout


def test_every_track_option_is_documented(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["track", "--help"])
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", capsys.readouterr().out)) - {"--help"}
    documented = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    missing = sorted(o for o in options if f"`{o}" not in documented)
    assert not missing, f"options missing from docs/cli.md: {missing}"


def test_every_tracker_parameter_is_documented() -> None:
    from dataclasses import fields

    from deepsort_lib.tracking.tracker import TrackerConfig

    concepts = (ROOT / "docs" / "concepts.md").read_text(encoding="utf-8")
    missing = [f.name for f in fields(TrackerConfig) if f"`{f.name}`" not in concepts]
    assert not missing, f"TrackerConfig fields missing from docs/concepts.md: {missing}"


def test_api_reference_reaches_every_public_module() -> None:
    """Each module is rendered once in the whole site, and the API page names every one."""
    rendered: dict[str, list[str]] = {}
    for path in sorted((ROOT / "docs").glob("*.md")):
        for module in re.findall(r"^::: ([\w.]+)$", path.read_text(encoding="utf-8"), re.M):
            rendered.setdefault(module, []).append(path.name)
    twice = {module: pages for module, pages in rendered.items() if len(pages) > 1}
    assert not twice, f"rendered on several pages (duplicate anchors): {twice}"
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for module in ("deepsort_lib.counting", "deepsort_lib.interop", "deepsort_lib.io.recorder"):
        assert module in rendered
        assert f"`{module}`" in api or f"::: {module}" in api, module
