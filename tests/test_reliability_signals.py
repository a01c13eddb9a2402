"""SIGTERM/SIGHUP/SIGINT, early Ctrl-C and a closed stdout: cleanup, one line, no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_helpers import ROOT, listing, make_sequence

import deepsort_lib.cli.main as cli_main


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_stop_signal_cleans_up(tmp_path: Path, vtest: Path, sig: signal.Signals) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "r.txt").write_text("previous results\n")
    code = "import sys; from deepsort_lib.cli.main import main; sys.exit(main())"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "track", str(vtest), "--encoder", "none", "-q",
         "-o", str(out / "v.mp4"), "--mot", str(out / "r.txt"), "--log", str(out / "t.csv")],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        # The run has started once the outputs' temporary files exist.
        while not any(".part" in name for name in listing(out)):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err
    assert err.strip().splitlines() == [
        f"deepsort: interrupted by {sig.name}; unfinished outputs were discarded"
    ]
    assert listing(out) == ["r.txt"]  # no .part file, no half video
    assert (out / "r.txt").read_text() == "previous results\n"


def test_ctrl_c_while_loading_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first half second is spent importing the sub-commands (OpenCV): Ctrl-C there."""

    def interrupted(_name: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main.importlib, "import_module", interrupted)
    assert cli_main.main(["track", "x.avi"]) == 130
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["deepsort: interrupted; unfinished outputs were discarded"]


def test_signal_handlers_are_restored() -> None:
    before = {sig: signal.getsignal(sig) for sig in cli_main.STOP_SIGNALS}
    cli_main.main(["eval", "--gt", "/nonexistent", "--results", "/nonexistent"])
    assert {sig: signal.getsignal(sig) for sig in cli_main.STOP_SIGNALS} == before


@pytest.mark.slow
def test_closed_stdout_is_not_a_traceback(tmp_path: Path) -> None:
    sequence = make_sequence(tmp_path / "seq")
    code = "import sys; from deepsort_lib.cli.main import main; sys.exit(main())"
    command = (
        f"{sys.executable} -c '{code}' track {sequence} --encoder none -q --n-init 1 "
        f"--mot {tmp_path / 'r.txt'} 2>{tmp_path / 'err.txt'} | head -c0; "
        "echo ${PIPESTATUS[0]}"
    )
    proc = subprocess.run(
        ["bash", "-c", command],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    err = (tmp_path / "err.txt").read_text()
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert err.strip().splitlines() == [
        "deepsort: error: standard output was closed before the command finished"
    ]
    assert proc.stdout.strip() == "2"
    assert (tmp_path / "r.txt").is_file()  # written before the summary could be printed


def test_os_errors_are_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import deepsort_lib.cli.track as track

    def denied(_args: object) -> None:
        raise PermissionError(13, "Permission denied", "/srv/out.mp4")

    monkeypatch.setattr(track, "_check_options", denied)
    assert cli_main.main(["track", "x.avi"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["deepsort: error: /srv/out.mp4: Permission denied"]
