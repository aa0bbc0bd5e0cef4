"""`inquire batch`: an existing output is never destroyed by accident, `--resume` appends only what is
missing, and a Chroma server lost mid-batch gives one error line per question instead of a traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rag import Engine
from tests.conftest import free_port
from ui.cli import app

runner = CliRunner()
QUESTIONS = [
    "Why do models resist having their goals changed?",
    "Do models flatter their users?",
    "Can a model be trusted to grade or correct itself?",
    "Do models behave differently when they think they are watched?",
]


@pytest.fixture(scope="module")
def index_dir(demo_engine):
    return str(demo_engine.settings.index)


def _qfile(tmp_path: Path, questions=QUESTIONS) -> Path:
    f = tmp_path / "q.jsonl"
    f.write_text("".join(json.dumps({"id": f"q{i}", "question": q}) + "\n" for i, q in enumerate(questions)))
    return f


def _records(p: Path) -> list[dict]:
    return [json.loads(x) for x in p.read_text().splitlines()]


@pytest.fixture
def count_asks(monkeypatch):
    asked: list[str] = []
    real = Engine.ask

    def ask(self, question, *a, **k):
        asked.append(question)
        return real(self, question, *a, **k)

    monkeypatch.setattr(Engine, "ask", ask)
    return asked


def test_an_existing_output_is_kept_unless_resume_or_force(index_dir, tmp_path):
    qf, out = _qfile(tmp_path), tmp_path / "answers.jsonl"
    out.write_text('{"id": "old", "answer": {}}\n')
    r = runner.invoke(app, ["batch", str(qf), "--index", index_dir, "-o", str(out)])
    assert r.exit_code == 1
    assert str(out) in r.stderr and "--resume" in r.stderr and "--force" in r.stderr
    assert out.read_text() == '{"id": "old", "answer": {}}\n'  # was emptied at start
    # --force replaces it, but only once the first answer is ready: a batch that cannot start leaves it
    r = runner.invoke(app, ["batch", str(qf), "--index", str(tmp_path / "no-index"), "-o", str(out), "--force"])
    assert r.exit_code == 1 and "No index at" in r.stderr
    assert out.read_text() == '{"id": "old", "answer": {}}\n'
    r = runner.invoke(app, ["batch", str(qf), "--index", index_dir, "-o", str(out), "--force"])
    assert r.exit_code == 0, r.stderr
    assert [x["id"] for x in _records(out)] == ["q0", "q1", "q2", "q3"]


def test_resume_appends_only_the_missing_questions(index_dir, tmp_path, count_asks):
    qf, out = _qfile(tmp_path), tmp_path / "answers.jsonl"
    r = runner.invoke(app, ["batch", str(qf), "--index", index_dir, "-o", str(out)])
    assert r.exit_code == 0, r.stderr
    full = out.read_text().splitlines()
    assert len(full) == 4 and len(count_asks) == 4
    # as after a SIGKILL: two whole lines, a cut-off third, and an error line for the fourth question
    err_line = json.dumps({"id": "q3", "question": QUESTIONS[3], "error": "Cannot reach the Chroma server"})
    out.write_text(full[0] + "\n" + full[1] + "\n" + err_line + "\n" + full[2][: len(full[2]) // 2])
    count_asks.clear()
    r = runner.invoke(app, ["batch", str(qf), "--index", index_dir, "-o", str(out), "--resume"])
    assert r.exit_code == 0, r.stderr
    assert count_asks == [QUESTIONS[2], QUESTIONS[3]]  # only the missing (and the failed) ones were asked
    recs = _records(out)  # every line is whole JSON again
    assert [x["id"] for x in recs] == ["q0", "q1", "q2", "q3"]
    assert all("answer" in x and "error" not in x for x in recs)
    assert out.read_text().splitlines()[:2] == full[:2]  # the answers already there are kept as they were
    assert "2 kept" in r.stderr and "2 to ask" in r.stderr
    # resuming a finished batch asks nothing
    count_asks.clear()
    r = runner.invoke(app, ["batch", str(qf), "--index", index_dir, "-o", str(out), "--resume"])
    assert r.exit_code == 0 and count_asks == [] and len(_records(out)) == 4


def test_resume_needs_an_output_file(index_dir, tmp_path):
    r = runner.invoke(app, ["batch", str(_qfile(tmp_path)), "--index", index_dir, "--resume"])
    assert r.exit_code == 2 and "--resume needs -o" in r.stderr


# --------------------------------------------------------------------------- a Chroma server lost mid-batch
@pytest.fixture
def chroma_server(tmp_path):
    exe = Path(sys.executable).with_name("chroma")
    if not exe.exists() and not shutil.which("chroma"):
        pytest.skip("the `chroma` command (chromadb) is not installed")
    port = free_port()
    log = open(tmp_path / "chroma.log", "wb")
    proc = subprocess.Popen([str(exe if exe.exists() else "chroma"), "run", "--path", str(tmp_path / "chroma"),
                             "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"chroma server did not start: {(tmp_path / 'chroma.log').read_text()[-2000:]}")
            time.sleep(0.3)
    yield url, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)
    log.close()


def test_losing_the_chroma_server_mid_batch_gives_an_error_line_per_question(chroma_server, tmp_path, notes_dir,
                                                                             monkeypatch):
    url, proc = chroma_server
    idx, env = str(tmp_path / "idx"), {"INQUIRE_COLLECTION": f"lost-{uuid.uuid4().hex[:8]}"}
    r = runner.invoke(app, ["ingest", str(notes_dir), "--index", idx, "--chroma-url", url], env=env)
    assert r.exit_code == 0, r.stderr
    eng = Engine.open(idx, chroma_url=url, collection=env["INQUIRE_COLLECTION"])
    titles = [n["title"] for n in eng.index.manifest.notes().values()]
    eng.close()
    questions = (titles * 5)[:30]
    real, done = Engine.ask, []

    def ask(self, question, *a, **k):  # the server dies after the 10th answer
        if len(done) == 10 and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        line = real(self, question, *a, **k)
        done.append(question)
        return line

    monkeypatch.setattr(Engine, "ask", ask)
    out = tmp_path / "answers.jsonl"
    r = runner.invoke(app, ["batch", str(_qfile(tmp_path, questions)), "--index", idx, "--chroma-url", url,
                            "-o", str(out)], env=env)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.stderr
    recs = _records(out)
    assert [x["id"] for x in recs] == [f"q{i}" for i in range(30)]
    assert all("answer" in x for x in recs[:10])
    assert all("error" in x and "answer" not in x for x in recs[10:])
    assert all(x["error"].strip() and "\n" not in x["error"] for x in recs[10:])
    assert "10 answered, 20 failed" in r.stderr


def test_concurrent_batches_match_the_serial_answers(demo_engine, tmp_path):
    """Two `inquire batch` processes at once over one index give exactly the answers of one batch run alone.
    (Processes against a process: an engine that has answered other questions before embeds sentences in
    other batch compositions, which can move a float and with it a choice.)"""
    import os

    from tests.conftest import REPO

    def content(a: dict) -> dict:
        return {k: a[k] for k in ("framing", "paragraphs", "takeaway", "takeaway_cites", "sources", "next_lines",
                                  "abstained")}

    qf = _qfile(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INQUIRE_")}
    env.update(HF_HUB_OFFLINE="1", INQUIRE_INDEX=str(demo_engine.settings.index))

    def start(out: Path) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "ui.cli", "batch", str(qf), "-o", str(out)], cwd=REPO,
                                env=env, stderr=subprocess.PIPE, text=True)

    def finish(p: subprocess.Popen) -> None:
        _, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr

    finish(start(tmp_path / "serial.jsonl"))
    serial = {x["id"]: content(x["answer"]) for x in _records(tmp_path / "serial.jsonl")}
    assert len(serial) == len(QUESTIONS)
    outs = [tmp_path / f"out{n}.jsonl" for n in range(2)]
    for p in [start(o) for o in outs]:
        finish(p)
    for o in outs:
        assert {x["id"]: content(x["answer"]) for x in _records(o)} == serial
