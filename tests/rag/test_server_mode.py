"""End to end against both stores: ingest and ask with embedded Chroma and with a Chroma server."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag import (
    Engine,
    IndexDamagedError,
    IndexMismatchError,
    Settings,
    StoreUnavailableError,
)
from ui.cli import app

CHROMA = Path(sys.executable).with_name("chroma")


def _settings(kind, tmp_path):
    if kind == "embedded":
        return Settings(index=tmp_path / "idx")
    url = os.environ.get("INQUIRE_TEST_CHROMA_URL")
    if not url:
        pytest.skip("no Chroma server: set INQUIRE_TEST_CHROMA_URL (.ci/run starts one on loopback)")
    return Settings(index=tmp_path / "idx", chroma_url=url, collection=f"e2e-{uuid.uuid4().hex[:10]}")


@pytest.mark.parametrize("kind", ["embedded", "server"])
def test_ingest_and_ask(kind, tmp_path, notes_dir):
    s = _settings(kind, tmp_path)
    eng = Engine.open(settings=s, create=True)
    rep = eng.ingest([notes_dir])
    assert len(rep.added) == 6
    assert eng.index.vectors.count() == eng.index.manifest.count_chunks()
    assert ("server" in eng.status()["store"]) == (kind == "server")
    title = next(iter(eng.index.manifest.notes().values()))["title"]
    line = eng.ask(title)
    assert not line.abstained and line.sources
    again = eng.ingest([notes_dir])
    assert again.unchanged == 6 and again.chunks_embedded == 0
    assert eng.index.vectors.count() == eng.index.manifest.count_chunks()


def test_cli_with_chroma_url(tmp_path, notes_dir):
    url = os.environ.get("INQUIRE_TEST_CHROMA_URL")
    if not url:
        pytest.skip("no Chroma server: set INQUIRE_TEST_CHROMA_URL (.ci/run starts one on loopback)")
    runner = CliRunner()
    idx = str(tmp_path / "idx")
    env = {"INQUIRE_COLLECTION": f"cli-{uuid.uuid4().hex[:10]}"}
    r = runner.invoke(app, ["ingest", str(notes_dir), "--index", idx, "--chroma-url", url], env=env)
    assert r.exit_code == 0, r.stderr
    r = runner.invoke(app, ["status", "--index", idx, "--chroma-url", url, "--json"], env=env)
    assert json.loads(r.stdout)["store"].startswith("chroma server")


def test_unreachable_server_is_one_clear_line(tmp_path):
    r = CliRunner().invoke(app, ["ingest", str(tmp_path), "--index", str(tmp_path / "i"), "--chroma-url",
                                 "http://127.0.0.1:9"])
    assert r.exit_code == 1 and "Chroma server at http://127.0.0.1:9 cannot be reached" in r.stderr
    assert "Traceback" not in r.stderr


class ChromaServer:
    """A real `chroma run` on a free loopback port, that a test can kill and start again."""

    def __init__(self, path: Path) -> None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.start(path)

    def start(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port",
                                      str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1).read()
                return
            except OSError:
                assert self.proc.poll() is None, "chroma run exited at start"
                time.sleep(0.2)
        raise AssertionError("chroma run did not answer within 60 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def server(tmp_path):
    if not CHROMA.exists():
        pytest.skip(f"no chroma executable at {CHROMA}")
    srv = ChromaServer(tmp_path / "chroma-server")
    yield srv
    srv.kill()


def _server_index(tmp_path, server, notes_dir):
    s = Settings(index=tmp_path / "idx", chroma_url=server.url, collection="notes")
    eng = Engine.open(settings=s, create=True)
    eng.ingest([notes_dir])
    return s, eng


def test_losing_the_server_mid_batch_is_one_clear_error_per_question(tmp_path, server, notes_dir):
    s, eng = _server_index(tmp_path, server, notes_dir)
    titles = [n["title"] for n in eng.index.manifest.notes().values()][:4]
    results = []
    for n, (item, line, error) in enumerate(eng.ask_many(titles)):
        if n == 1:
            server.kill()  # mid-batch
        results.append((line, error))
    assert results[0][1] is None and not results[0][0].abstained
    for line, error in results[1:] if results[1][1] else results[2:]:
        assert line is None and error.startswith(f"The Chroma server at {server.url} cannot be reached")
        assert "chroma run" in error
    with pytest.raises(StoreUnavailableError, match="cannot be reached"):
        eng.ask(titles[0])
    with pytest.raises(StoreUnavailableError, match="cannot be reached"):  # and at open, the same words
        Engine.open(settings=s)


def test_server_restarted_on_an_empty_path_is_detected_and_rebuilt(tmp_path, server, notes_dir):
    s, eng = _server_index(tmp_path, server, notes_dir)
    eng.close()
    server.kill()
    server.start(tmp_path / "another-empty-path")
    with pytest.raises(IndexDamagedError) as e:
        Engine.open(settings=s)
    assert "0 vectors" in str(e.value) and f"--rebuild --index {s.index} --chroma-url {server.url}" in str(e.value)
    eng = Engine.open(settings=s, create=True)
    with pytest.raises(IndexDamagedError):
        eng.ingest([notes_dir])
    rep = eng.ingest([notes_dir], rebuild=True)
    assert len(rep.added) == 6 and eng.index.vectors.count() == eng.index.manifest.count_chunks()
    eng.close()
    assert Engine.open(settings=s).status()["problems"] == []


def test_server_built_index_asked_without_the_url_names_the_server(tmp_path, server, notes_dir):
    s, eng = _server_index(tmp_path, server, notes_dir)
    eng.close()
    with pytest.raises(IndexMismatchError) as e:
        Engine.open(s.index)
    assert f"--chroma-url {server.url}" in str(e.value) and "collection 'notes'" in str(e.value)
