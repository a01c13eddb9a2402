"""Ctrl-C at start-up: the entry point handles signals before it imports anything heavy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
# What the `deepsort` console script runs (its entry point is deepsort_lib.cli.main:main).
ENTRY = "import sys; from deepsort_lib.cli.main import main; sys.exit(main())"


def test_entry_module_imports_only_the_standard_library() -> None:
    code = (
        "import sys, json, deepsort_lib; before = set(sys.modules); "
        "import deepsort_lib.cli.main; print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    added = json.loads(proc.stdout)
    assert "deepsort_lib.cli.main" in added
    ours = {"deepsort_lib.cli", "deepsort_lib.cli.main"}
    others = [m for m in added if m not in ours and m.split(".")[0] not in sys.stdlib_module_names]
    assert others == [], f"deepsort_lib.cli.main imports more than the standard library: {others}"


def _handles_sigterm(pid: int) -> bool:
    """Whether the process has a handler for SIGTERM (Python installs none by itself)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    raise AssertionError("no SigCgt line in /proc/PID/status")


def _stop(proc: subprocess.Popen[str], out: Path) -> None:
    """Send SIGINT; the command must print one line, exit 130 and leave no output."""
    try:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in err
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [
        "deepsort: interrupted by SIGINT; unfinished outputs were discarded"
    ]
    assert not out.exists()


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/PID/status (Linux)")
def test_ctrl_c_as_soon_as_the_handlers_are_in(tmp_path: Path, vtest: Path) -> None:
    """SIGINT the moment main() has installed its handlers: the sub-commands are loading."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "track", str(vtest), "-q", "-o", str(out / "v.mp4")],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not _handles_sigterm(proc.pid):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"the handlers were never installed: {proc.communicate()}")
        time.sleep(0.001)
    _stop(proc, out)


def test_ctrl_c_at_0_1_s(tmp_path: Path, vtest: Path) -> None:
    """SIGINT 0.1 s after the console script's entry point was imported and called."""
    out = tmp_path / "out"
    # The console script's own code, with a mark where it calls main().
    code = (
        "import sys; from deepsort_lib.cli.main import main; "
        "print('calling main', flush=True); sys.exit(main())"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "track", str(vtest), "-q", "-o", str(out / "v.mp4")],
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "calling main\n"
    time.sleep(0.1)
    _stop(proc, out)
