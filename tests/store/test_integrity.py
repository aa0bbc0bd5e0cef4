"""An index checks that its parts agree (manifest, vectors, BM25 generation, the store it was built with),
says what is wrong and the one command that repairs it, and `--rebuild` repairs it whatever its state."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest

from rag import Engine, IndexDamagedError, IndexMismatchError, InputError, Settings

DOCS = [
    {"_id": "d1", "title": "Sycophancy in assistants", "text": "Assistants agree with users' stated opinions even when wrong."},
    {"_id": "d2", "title": "Reward hacking", "text": "Policies exploit flaws in the reward model instead of doing the task."},
    {"_id": "d3", "title": "Calibration", "text": "Verbal confidence is better calibrated than token probabilities after RLHF."},
]
Q = "models exploiting the reward model"


@pytest.fixture
def built(tmp_path):
    """An index of three JSONL notes; returns (index dir, corpus path)."""
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(d) + "\n" for d in DOCS))
    idx = tmp_path / "idx"
    eng = Engine.open(idx, create=True)
    eng.ingest([corpus])
    eng.close()
    return idx, corpus


def _assert_repair_message(err, idx, corpus, part):
    msg = str(err.value)
    assert part in msg, msg
    assert f"inquire ingest {corpus} --rebuild --index {idx}" in msg, msg  # the one command, with the notes' path


def _rebuild_and_check(idx, corpus):
    eng = Engine.open(idx, create=True)
    rep = eng.ingest([corpus], rebuild=True)
    assert sorted(rep.added) == ["d1", "d2", "d3"] and rep.chunks_embedded == 3
    eng.close()
    eng = Engine.open(idx)  # opens cleanly again
    st = eng.status()
    assert st["problems"] == [] and st["vectors"] == st["chunks"] == 3
    assert eng.retrieve(Q, k=3).hits[0].note_id == "d2"
    eng.close()


def test_deleted_vector_store_is_detected_and_rebuild_repairs_it(built):
    idx, corpus = built
    shutil.rmtree(idx / "chroma")
    with pytest.raises(IndexDamagedError) as e:
        Engine.open(idx)
    _assert_repair_message(e, idx, corpus, "vector store")
    assert not (idx / "chroma").exists()  # checking did not quietly create an empty store
    # a plain ingest does not pretend the notes are unchanged
    eng = Engine.open(idx, create=True)
    with pytest.raises(IndexDamagedError, match="--rebuild"):
        eng.ingest([corpus])
    # status shows the problem instead of failing
    st = eng.status()
    assert any("vector store" in p for p in st["problems"]) and "--rebuild" in st["repair"]
    eng.close()
    _rebuild_and_check(idx, corpus)


def test_emptied_collection_is_found_at_first_use_of_the_vectors(built):
    idx, corpus = built
    eng = Engine.open(idx)
    eng.index.vectors.clear()  # the collection is there but holds nothing
    eng.close()
    eng = Engine.open(idx)  # cheap checks pass: opening Chroma is left to the first use
    with pytest.raises(IndexDamagedError) as e:
        eng.retrieve(Q)
    _assert_repair_message(e, idx, corpus, "0 vectors")
    with pytest.raises(IndexDamagedError):  # and again: not only the first time
        eng.ask(Q)
    eng.close()
    _rebuild_and_check(idx, corpus)


def test_deleted_lexical_generation_is_detected(built):
    idx, corpus = built
    for p in idx.glob("lexical-*"):
        shutil.rmtree(p)
    with pytest.raises(IndexDamagedError) as e:
        Engine.open(idx)
    _assert_repair_message(e, idx, corpus, "BM25 index")
    _rebuild_and_check(idx, corpus)


@pytest.mark.parametrize("victim", ["ids.json", "data.csc.index.npy"])
def test_truncated_lexical_generation_is_a_clear_error_at_ask(built, victim):
    idx, corpus = built
    (path,) = idx.glob(f"lexical-*/{victim}")
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    eng = Engine.open(idx)
    with pytest.raises(IndexDamagedError) as e:
        eng.ask(Q)
    _assert_repair_message(e, idx, corpus, "BM25 index")
    eng.close()
    _rebuild_and_check(idx, corpus)


def test_truncated_manifest_is_a_clear_error_and_rebuild_moves_it_aside(built):
    idx, corpus = built
    mpath = idx / "manifest.sqlite"
    with open(mpath, "r+b") as f:
        f.truncate(os.path.getsize(mpath) // 2)
    with pytest.raises(IndexDamagedError) as e:
        Engine.open(idx)
    msg = str(e.value)
    assert "manifest" in msg and f"inquire ingest PATH --rebuild --index {idx}" in msg  # its roots are unknown
    eng = Engine.open(idx, create=True)
    with pytest.raises(IndexDamagedError):
        eng.ingest([corpus])
    st = eng.status()
    assert any("manifest" in p for p in st["problems"])
    rep = eng.ingest([corpus], rebuild=True)
    assert sorted(rep.added) == ["d1", "d2", "d3"]
    assert list(idx.glob("manifest.sqlite.damaged-*")), "the unreadable manifest is kept aside, not deleted"
    # the store was emptied too: no orphans from the old manifest's notes
    assert eng.index.vectors.count() == eng.index.manifest.count_chunks() == 3
    eng.close()
    _rebuild_and_check(idx, corpus)


def test_rebuild_rebuilds_even_when_settings_match(built):
    idx, corpus = built
    eng = Engine.open(idx, create=True)
    rep = eng.ingest([corpus], rebuild=True)
    assert sorted(rep.added) == ["d1", "d2", "d3"] and rep.unchanged == 0 and rep.chunks_embedded == 3
    assert eng.index.vectors.count() == 3
    assert [p.name for p in idx.glob("lexical-*")] == [f"lexical-{eng.index.manifest.get('lexical_gen')}"]
    eng.close()


def test_rebuild_with_a_missing_path_destroys_nothing(built, tmp_path):
    idx = built[0]
    eng = Engine.open(idx, create=True)
    with pytest.raises(InputError, match="does not exist"):
        eng.ingest([tmp_path / "typo"], rebuild=True)
    assert eng.index.manifest.count_notes() == 3 and eng.index.vectors.count() == 3
    eng.close()


def test_server_built_index_opened_without_the_server_says_which_server(built):
    idx, corpus = built
    eng = Engine.open(idx)
    eng.index.manifest.set("store_config", {"kind": "server", "url": "http://127.0.0.1:8123", "collection": "notes"})
    eng.close()
    with pytest.raises(IndexMismatchError, match=r"--chroma-url http://127\.0\.0\.1:8123"):
        Engine.open(idx)
    eng = Engine.open(idx, create=True)
    with pytest.raises(IndexMismatchError):  # an ingest would put vectors where the index does not look
        eng.ingest([corpus])
    eng.close()
    _rebuild_and_check(idx, corpus)  # a rebuild moves the index to the store now configured


def test_embedded_index_opened_with_another_collection_is_refused(built):
    idx = built[0]
    with pytest.raises(IndexMismatchError, match="collection 'inquire'"):
        Engine.open(settings=Settings(index=idx, collection="other-notes"))


def test_index_records_the_store_it_was_built_with(built):
    idx = built[0]
    eng = Engine.open(idx)
    assert eng.index.manifest.get("store_config") == {"kind": "embedded", "collection": "inquire"}
    eng.close()


def test_missing_manifest_with_vectors_left_is_reconciled_by_the_next_ingest(built):
    idx, corpus = built
    (idx / "manifest.sqlite").unlink()
    with pytest.raises(IndexDamagedError, match="manifest"):
        Engine.open(idx)
    eng = Engine.open(idx, create=True)
    corpus.write_text(json.dumps(DOCS[0]) + "\n")  # d2 and d3 are gone: their vectors must not linger
    rep = eng.ingest([corpus])
    assert rep.added == ["d1"] and rep.recovered
    assert eng.index.vectors.count() == eng.index.manifest.count_chunks() == 1
    eng.close()


def test_status_tells_a_running_ingest_from_an_interrupted_one(built):
    idx = built[0]
    eng = Engine.open(idx)
    eng.index.manifest.set("dirty", True)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({str(idx / 'lock')!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX); os.pwrite(fd, str(os.getpid()).encode(), 0)\n"
        "print('held', flush=True); time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        st = eng.status()
        assert st["ingest_running"] and not st["interrupted"]
        assert st["ingest_pid"] == holder.pid
    finally:
        holder.kill()  # as if SIGKILLed mid-ingest: its pid stays in the lock file
        holder.wait()
    st = eng.status()
    assert st["interrupted"] and not st["ingest_running"]
    eng.close()


def test_checks_are_cheap_for_an_unchanged_reingest(built):
    """An unchanged re-ingest of an embedded index never opens Chroma (importing and opening it costs
    ~0.5 s, as long as the whole re-ingest); the missing-store check is a file check."""
    idx, corpus = built
    eng = Engine.open(idx, create=True)
    t = time.perf_counter()
    rep = eng.ingest([corpus])
    assert rep.unchanged == 3 and eng.index._vectors is None
    assert time.perf_counter() - t < 5
    eng.close()


def test_corrupt_manifest_read_mid_ask_is_index_damaged(built):
    """A manifest that goes bad after open (SQLITE_CORRUPT mid-query) is an IndexDamagedError too."""
    idx = built[0]
    eng = Engine.open(idx)

    class Corrupt:
        def execute(self, *a, **k):
            err = sqlite3.DatabaseError("database disk image is malformed")
            err.sqlite_errorname = "SQLITE_CORRUPT"
            raise err

    real = eng.index.manifest.db
    eng.index.manifest._local.conn = Corrupt()
    with pytest.raises(IndexDamagedError, match=r"manifest.*--rebuild"):
        eng.ask(Q)
    eng.index.manifest._local.conn = real
    eng.close()
