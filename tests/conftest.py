"""Shared fixtures. State is isolated per test (tmp paths, INQUIRE_* env cleared); the one real
embedder is loaded once per process; a guard fails any test that opens a non-loopback connection."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

REPO = Path(__file__).resolve().parents[1]
DEMO_NOTES = REPO / "examples" / "notes"
DATA = Path(os.environ.get("INQUIRE_DATA_DIR", REPO.parent / "shared" / "data"))

_real_connect = socket.socket.connect


def _guarded_connect(self, address):
    host = address[0] if isinstance(address, tuple) else None
    if host is not None and self.family in (socket.AF_INET, socket.AF_INET6):
        try:
            ip = ipaddress.ip_address(host)
            ok = ip.is_loopback
        except ValueError:
            ok = host in ("localhost",)
        if not ok:
            raise RuntimeError(f"test tried to reach {address}: tests must not use the network")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for k in list(os.environ):
        if k.startswith("INQUIRE_") and k not in ("INQUIRE_DATA_DIR", "INQUIRE_TEST_CHROMA_URL"):
            monkeypatch.delenv(k)


def free_port() -> int:
    """A TCP port on loopback nothing listens on (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc, log: Path, timeout: float = 120) -> None:
    """Wait for the Streamlit process ``proc`` to answer ``url``/_stcore/health; fail with its log's tail if it
    exits or does not answer within ``timeout`` seconds."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not become healthy in {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


def data_path(*parts: str) -> Path:
    p = DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data not found at {p} (set INQUIRE_DATA_DIR to the folder of ../shared/data)")
    return p


@pytest.fixture(scope="session")
def demo_engine(tmp_path_factory):
    """An index of the bundled demo notes, built once for the session (read-only for tests)."""
    from rag import Engine

    idx = tmp_path_factory.mktemp("demo-index")
    eng = Engine.open(idx, create=True)
    eng.ingest([DEMO_NOTES])
    return eng


@pytest.fixture
def notes_dir(tmp_path):
    """A small notes folder the test may change."""
    d = tmp_path / "notes"
    d.mkdir()
    for i, name in enumerate(sorted(DEMO_NOTES.glob("*.md"))[:6]):
        shutil.copy(name, d / name.name)
    return d
