"""Every CLI failure is one clear line: names and messages are printed literally (no rich markup is read in
them), an InquireError exits 1 with its message, and an unexpected exception names itself and points at
--debug (the traceback only then)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from rag import ConfigError, Engine
from tests.conftest import REPO
from ui.cli import app

runner = CliRunner()

MARKUP_ID = "x[/b]"
NOTE_WITH_ID = """---
title: "A note with a bracketed id {n}"
id: "x[/b]"
summary: "Ids are data; the CLI must print them as they are."
---

Body text {n} about models that flatter users.
"""


@pytest.fixture
def markup_notes(tmp_path):
    d = tmp_path / "notes"
    d.mkdir()
    (d / "[draft] empty.md").write_text("")
    (d / "a.md").write_text(NOTE_WITH_ID.format(n=1))
    (d / "b.md").write_text(NOTE_WITH_ID.format(n=2))  # the same id: skipped as a duplicate, naming the id
    return d


def test_bracketed_names_are_printed_literally_in_ingest_and_status(markup_notes, tmp_path):
    idx = str(tmp_path / "idx")
    r = runner.invoke(app, ["ingest", str(markup_notes), "--index", idx])
    assert r.exit_code == 0, (r.stderr, r.exception)
    assert "[draft] empty.md" in r.stderr  # was reported as " empty.md"
    assert "duplicate note id 'x[/b]'" in r.stderr  # was a MarkupError
    r = runner.invoke(app, ["status", "--index", idx])
    assert r.exit_code == 0, (r.stderr, r.exception)  # was a MarkupError from then on
    assert "[draft] empty.md" in r.stdout and "'x[/b]'" in r.stdout


def test_an_install_hint_keeps_its_extra(tmp_path, monkeypatch):
    hint = "The llama.cpp client is not installed: `pip install 'inquire[llamacpp]'` (or ./setup.sh llamacpp)."

    def broken_open(*a, **k):
        raise ConfigError(hint)

    monkeypatch.setattr(Engine, "open", broken_open)
    r = runner.invoke(app, ["ask", "anything?", "--index", str(tmp_path)])
    assert r.exit_code == 1
    assert r.stderr.strip() == f"error: {hint}"  # was "pip install 'inquire'"


def test_an_unexpected_error_is_one_line_naming_it_and_the_debug_flag(tmp_path, monkeypatch):
    def boom(*a, **k):
        raise KeyError("manifest row")

    monkeypatch.setattr(Engine, "open", boom)
    r = runner.invoke(app, ["status", "--index", str(tmp_path)])
    assert r.exit_code == 1 and not isinstance(r.exception, KeyError)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "KeyError" in lines[0] and "manifest row" in lines[0]
    assert "--debug" in lines[0] and "INQUIRE_DEBUG=1" in lines[0]
    assert "Traceback" not in r.stderr

    # with the flag (or the variable) the exception itself comes through, with its traceback
    r = runner.invoke(app, ["--debug", "status", "--index", str(tmp_path)])
    assert isinstance(r.exception, KeyError)
    r = runner.invoke(app, ["status", "--index", str(tmp_path)], env={"INQUIRE_DEBUG": "1"})
    assert isinstance(r.exception, KeyError)


def test_a_damaged_index_is_one_line_in_a_real_process(tmp_path):
    """The console script path: a manifest that is not a database gave a raw sqlite3.DatabaseError from every
    command; now `ask` is one line (the traceback only with INQUIRE_DEBUG=1), and `status` says what is wrong."""
    idx = tmp_path / "idx"
    idx.mkdir()
    (idx / "manifest.sqlite").write_bytes(b"this is not a database" * 100)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INQUIRE_")}
    env.update(INQUIRE_INDEX=str(idx), HF_HUB_OFFLINE="1")

    def run(*args, **extra):
        return subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=REPO, env={**env, **extra},
                              capture_output=True, text=True, timeout=120)

    r = run("ask", "Do models flatter users?")
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "Traceback" not in r.stderr
    r = run("ask", "Do models flatter users?", INQUIRE_DEBUG="1")
    assert r.returncode != 0 and "Traceback" in r.stderr
    r = run("status")
    assert r.returncode == 1 and "Traceback" not in r.stderr and "manifest" in r.stdout + r.stderr


def test_status_shows_what_is_wrong_with_the_index_and_exits_1(index_dir_small, monkeypatch):
    real = Engine.status

    def damaged(self):
        return real(self).model_copy(update={"vectors": 0, "problems": ["the vector store holds 0 of 6 chunks [sic]"],
                                             "repair": "inquire ingest PATH --rebuild --index X"})

    monkeypatch.setattr(Engine, "status", damaged)
    r = runner.invoke(app, ["status", "--index", index_dir_small])
    assert r.exit_code == 1
    assert "the vector store holds 0 of 6 chunks [sic]" in r.stdout and "--rebuild" in r.stdout
    r = runner.invoke(app, ["status", "--index", index_dir_small, "--json"])
    assert r.exit_code == 1 and '"problems"' in r.stdout


@pytest.fixture
def index_dir_small(tmp_path, notes_dir):
    idx = str(tmp_path / "small-idx")
    assert runner.invoke(app, ["ingest", str(notes_dir), "--index", idx]).exit_code == 0
    return idx
