"""End to end against both stores: ingest and ask with embedded Chroma and with a Chroma server."""

import json
import os
import uuid

import pytest
from typer.testing import CliRunner

from rag import Engine, Settings
from ui.cli import app


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
    assert r.exit_code == 1 and "Cannot reach the Chroma server" in r.stderr and "Traceback" not in r.stderr
