"""`inquire ui` as a real process: a SIGTERM to it stops the Streamlit child too, and frees the port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port, wait_healthy

pytest.importorskip("streamlit")


def _children(pid: int) -> list[int]:
    p = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in p.read_text().split()] if p.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child pids from /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_inquire_ui_stops_the_streamlit_child(tmp_path, sig):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INQUIRE_")}
    env["HF_HUB_OFFLINE"] = "1"
    log = open(tmp_path / "ui.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "ui", "--port", str(port), "--index",
                             str(tmp_path / "idx")], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    kids: list[int] = []
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, tmp_path / "ui.log")
        kids = _children(proc.pid)
        assert kids, "inquire ui runs streamlit as a child process"
        proc.send_signal(sig)
        assert proc.wait(timeout=30) is not None
        deadline = time.monotonic() + 5
        while any(_alive(k) for k in kids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(k) for k in kids), "the Streamlit child outlived `inquire ui`"
        assert not _listening(port), f"port {port} is still served"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for k in kids:  # an orphaned child must not outlive the test
            if _alive(k):
                os.kill(k, signal.SIGKILL)
        log.close()
