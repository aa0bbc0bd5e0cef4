"""Kill an ingest with SIGKILL mid-run, run it again, and compare with an uninterrupted run:
same notes, same chunk count, vectors and manifest in agreement, no orphans. Also: a second ingest
into the same index is refused while one runs, and `ask` keeps answering during an ingest."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import Engine

WORDS = ("model reward sycophancy calibration debate agent goal training feedback evaluation deception "
         "oversight judge critique preference signal behaviour alignment honesty verifier").split()


def _corpus(path: Path, n: int = 360) -> Path:
    rng = random.Random(7)
    with path.open("w") as f:
        for i in range(n):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 140))) + "."
            f.write(json.dumps({"_id": f"doc-{i}", "title": f"Finding {i} on {rng.choice(WORDS)}", "text": text}) + "\n")
    return path


def _ingest_cmd(corpus: Path, index: Path) -> list[str]:
    return [sys.executable, "-m", "ui.cli", "ingest", str(corpus), "--index", str(index)]


def _env():
    return {**os.environ, "INQUIRE_EMBED_BATCH_SIZE": "8", "PYTHONUNBUFFERED": "1"}


def _snapshot(index: Path) -> dict:
    eng = Engine.open(index)
    m = eng.index.manifest
    in_store = eng.index.vectors.ids_by_note()
    in_manifest = m.chunk_ids_by_note()
    snap = {
        "notes": m.note_hashes(),
        "chunks": m.count_chunks(),
        "vectors": eng.index.vectors.count(),
        "agree": in_store == in_manifest,
        "dirty": m.get("dirty"),
        "lexical_docs": len(eng.index.lexical().ids),
    }
    eng.close()
    return snap


def _wait_for_progress(index: Path, proc: subprocess.Popen, min_notes: int, timeout: float = 120) -> None:
    """Until the running ingest has committed at least ``min_notes`` notes (so the kill lands mid-run)."""
    import sqlite3

    deadline = time.monotonic() + timeout
    db = index / "manifest.sqlite"
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as c:
                    if c.execute("SELECT COUNT(*) FROM notes").fetchone()[0] >= min_notes:
                        return
            except sqlite3.OperationalError:
                pass
        time.sleep(0.05)


@pytest.mark.slow
def test_sigkill_mid_ingest_then_rerun_equals_clean_run(tmp_path):
    corpus = _corpus(tmp_path / "corpus.jsonl")
    clean = tmp_path / "clean"
    subprocess.run(_ingest_cmd(corpus, clean), env=_env(), check=True, capture_output=True)
    want = _snapshot(clean)
    assert len(want["notes"]) == 360 and want["agree"] and want["vectors"] == want["chunks"]

    crashed = tmp_path / "crashed"
    kills = 0
    for min_notes in (1, 120, 250):  # kill early, in the middle, late
        proc = subprocess.Popen(_ingest_cmd(corpus, crashed), env=_env(), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        _wait_for_progress(crashed, proc, min_notes)
        time.sleep(random.Random(min_notes).uniform(0, 0.3))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 2, "the ingest finished before it could be killed; make the corpus larger"
    r = subprocess.run(_ingest_cmd(corpus, crashed), env=_env(), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    got = _snapshot(crashed)
    assert got["notes"] == want["notes"]
    assert got["chunks"] == want["chunks"] and got["vectors"] == want["vectors"]
    assert got["agree"] and got["dirty"] is False and got["lexical_docs"] == want["chunks"]
    # and the answers are the same
    a, b = Engine.open(clean), Engine.open(crashed)
    q = "reward model feedback from a judge"
    assert [h.note_id for h in a.retrieve(q, k=10).hits] == [h.note_id for h in b.retrieve(q, k=10).hits]


@pytest.mark.slow
def test_second_ingest_stops_and_ask_works_during_ingest(tmp_path, notes_dir):
    index = tmp_path / "idx"
    Engine.open(index, create=True).ingest([notes_dir])  # something to ask about
    corpus = _corpus(tmp_path / "corpus.jsonl", 300)
    proc = subprocess.Popen(_ingest_cmd(corpus, index), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_progress(index, proc, len(list(notes_dir.glob("*.md"))) + 5)
        assert proc.poll() is None, "ingest ended too soon"
        second = subprocess.run(_ingest_cmd(corpus, index), env=_env(), capture_output=True, text=True)
        assert second.returncode == 1 and "Another ingest" in second.stderr and "--wait" in second.stderr
        ask = subprocess.run([sys.executable, "-m", "ui.cli", "ask", "Why do models flatter users?", "--index",
                              str(index), "--format", "json"], env=_env(), capture_output=True, text=True)
        assert ask.returncode == 0, ask.stderr
        assert json.loads(ask.stdout)["question"] == "Why do models flatter users?"
    finally:
        proc.wait(timeout=300)
    assert proc.returncode == 0
