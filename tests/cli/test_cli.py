"""The CLI as a user runs it: a real subprocess for ingest and ask, typer's runner for the rest."""

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from tests.conftest import DEMO_NOTES
from ui.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def index_dir(demo_engine):
    return str(demo_engine.settings.index)


def test_ingest_and_ask_in_subprocesses(tmp_path, notes_dir):
    env = {**os.environ, "INQUIRE_INDEX": str(tmp_path / "idx")}
    r = subprocess.run([sys.executable, "-m", "ui.cli", "ingest", str(notes_dir)], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "6 added" in r.stderr
    r = subprocess.run([sys.executable, "-m", "ui.cli", "ask", "What do these notes say?", "--format", "json"],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["question"] == "What do these notes say?" and "abstained" in d


def test_ask_formats(index_dir):
    q = "Can a model be trusted to grade or correct itself?"
    text = runner.invoke(app, ["ask", q, "--index", index_dir])
    assert text.exit_code == 0 and text.stdout.startswith("INQUIRING LINE\n\n" + q)
    md = runner.invoke(app, ["ask", q, "--index", index_dir, "-f", "markdown"])
    assert md.exit_code == 0 and md.stdout.startswith("# ") and "## Sources" in md.stdout
    js = runner.invoke(app, ["ask", q, "--index", index_dir, "-f", "json"])
    assert json.loads(js.stdout)["sources"]
    bad = runner.invoke(app, ["ask", q, "--index", index_dir, "-f", "yaml"])
    assert bad.exit_code == 2


def test_ask_without_index_is_one_clear_line(tmp_path):
    r = runner.invoke(app, ["ask", "anything?", "--index", str(tmp_path / "none")])
    assert r.exit_code == 1
    assert "No index at" in r.stderr and "inquire ingest" in r.stderr and "Traceback" not in r.stderr


def test_ask_with_tag_filter_only_cites_tagged_notes(index_dir, demo_engine):
    r = runner.invoke(app, ["ask", "What do we know about model behaviour?", "--index", index_dir, "-f", "json",
                            "--tag", "sycophancy"])
    d = json.loads(r.stdout)
    tagged = {i for i, n in demo_engine.index.manifest.notes().items() if "sycophancy" in n["tags"]}
    assert d["sources"] and {s["id"] for s in d["sources"]} <= tagged


@pytest.mark.parametrize("suffix", [".txt", ".jsonl", ".csv"])
def test_batch_reports_bad_lines_and_keeps_going(index_dir, tmp_path, suffix):
    good1, good2 = "Why do models resist having their goals changed?", "Do models flatter their users?"
    if suffix == ".txt":
        content = f"{good1}\n\n# a comment\n{'x' * 2100}\n{good2}\n"
    elif suffix == ".jsonl":
        content = json.dumps({"id": "a", "question": good1}) + "\nnot json\n" + json.dumps({"id": "b", "question": good2}) + "\n"
    else:
        content = f"id,question\na,{good1}\nbad,\nb,{good2}\n"
    qf = tmp_path / f"q{suffix}"
    qf.write_text(content)
    out = tmp_path / "out.jsonl"
    r = runner.invoke(app, ["batch", str(qf), "--index", index_dir, "-o", str(out)])
    assert r.exit_code == 0, r.stderr
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(recs) == 3
    assert [("answer" in x, "error" in x) for x in recs] == [(True, False), (False, True), (True, False)]
    assert recs[0]["answer"]["question"] == good1 and recs[2]["answer"]["question"] == good2
    if suffix != ".txt":
        assert [recs[0]["id"], recs[2]["id"]] == ["a", "b"]


def test_batch_from_stdin(index_dir):
    r = runner.invoke(app, ["batch", "-", "--index", index_dir], input="Do models flatter their users?\n")
    assert r.exit_code == 0
    (rec,) = [json.loads(x) for x in r.stdout.splitlines()]
    assert rec["id"] == "1" and rec["answer"]["sources"]


def test_status_lists_skipped_files(tmp_path, notes_dir):
    (notes_dir / "broken.md").write_bytes(b"\x00\x01binary")
    idx = str(tmp_path / "idx")
    assert runner.invoke(app, ["ingest", str(notes_dir), "--index", idx]).exit_code == 0
    r = runner.invoke(app, ["status", "--index", idx, "--json"])
    st = json.loads(r.stdout)
    assert st["notes"] == 6 and st["skipped"][0]["path"] == "broken.md" and "binary" in st["skipped"][0]["reason"]


def test_demo_notes_ingest_cleanly_and_their_links_resolve(demo_engine):
    """The bundled knowledge base is what the README's first command ingests: every note reads without a skip or
    a warning, and every [[link]] in it names a note that exists."""
    from ingest.readers import wikilinks

    st = demo_engine.status()
    assert st.notes == len(list(DEMO_NOTES.glob("*.md"))) and not st.skipped and not st.warnings
    links = {ln for p in DEMO_NOTES.glob("*.md") for ln in wikilinks(p.read_text(encoding="utf-8"))}
    m = demo_engine.index.manifest
    assert links and [ln for ln in sorted(links) if not m.resolve_links([ln])] == []
