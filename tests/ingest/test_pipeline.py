"""Ingest through the engine: the demo notes, a small BEIR-format JSONL corpus, incremental re-runs."""

import json

import pytest

from rag import Engine, IndexBusyError, IndexMismatchError, IndexMissingError, Settings
from tests.conftest import DEMO_NOTES


def test_demo_notes_ingest_whole(demo_engine):
    st = demo_engine.status()
    n_files = len(list(DEMO_NOTES.glob("*.md")))
    assert n_files >= 40
    assert st["notes"] == n_files and st["skipped"] == []
    assert st["chunks"] == st["vectors"] > st["notes"]
    assert st["last_ingest"]["truncated_chunks"] == 0
    notes = demo_engine.index.manifest.notes()
    some = notes[sorted(notes)[0]]
    assert some["title"] and some["summary"] and some["tags"] and some["links"]


def _corpus(path, docs):
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


DOCS = [
    {"_id": "d1", "title": "Sycophancy in assistants", "text": "Assistants agree with users' stated opinions even when wrong."},
    {"_id": "d2", "title": "Reward hacking", "text": "Policies exploit flaws in the reward model instead of doing the task."},
    {"_id": "d3", "title": "", "text": "Calibration of verbal confidence is better than token probabilities after RLHF."},
]


def test_jsonl_corpus_ids_and_incremental(tmp_path):
    corpus = _corpus(tmp_path / "corpus.jsonl", DOCS)
    eng = Engine.open(tmp_path / "idx", create=True)
    r1 = eng.ingest([corpus])
    assert sorted(r1.added) == ["d1", "d2", "d3"] and not r1.skipped
    assert eng.index.manifest.notes(["d3"])["d3"]["title"].startswith("Calibration of verbal")
    hits = eng.retrieve("models exploiting the reward model", k=3).hits
    assert hits[0].note_id == "d2"
    # unchanged: nothing embedded
    r2 = eng.ingest([corpus])
    assert r2.unchanged == 3 and r2.chunks_embedded == 0 and not r2.added and not r2.updated
    # one changed, one removed, one added, one broken line
    docs = [DOCS[0], {**DOCS[1], "text": "Policies game the reward signal."}, {"_id": "d4", "title": "New", "text": "Debate helps."}]
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs) + "{broken\n")
    r3 = eng.ingest([corpus])
    assert r3.updated == ["d2"] and r3.added == ["d4"] and r3.removed == ["d3"] and r3.unchanged == 1
    assert [(s.line, "JSON" in s.reason) for s in r3.skipped] == [(4, True)]
    by_note = eng.index.vectors.ids_by_note()
    assert set(by_note) == {"d1", "d2", "d4"}
    assert eng.index.vectors.count() == eng.index.manifest.count_chunks()
    assert eng.status()["skipped"][0]["line"] == 4


def test_folder_changes_edit_delete_and_broken_file_keeps_last_version(notes_dir, tmp_path):
    eng = Engine.open(tmp_path / "idx", create=True)
    first = eng.ingest([notes_dir])
    files = sorted(notes_dir.glob("*.md"))
    assert len(first.added) == len(files)
    files[0].write_text(files[0].read_text().replace("## Finding", "## Finding\n\nAn added sentence about debate."))
    files[1].unlink()
    files[2].write_text("---\ntitle: [broken\n---\nbody")
    r = eng.ingest([notes_dir])
    assert r.updated == [files[0].name] and r.removed == [files[1].name]
    assert [s.path for s in r.skipped] == [files[2].name]
    assert files[2].name in eng.index.manifest.notes()  # the broken file's last good version stays
    assert eng.index.vectors.count() == eng.index.manifest.count_chunks()


def test_open_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(IndexMissingError, match="inquire ingest"):
        Engine.open(tmp_path / "nothing")


def test_other_chunking_settings_are_refused(tmp_path):
    corpus = _corpus(tmp_path / "c.jsonl", DOCS)
    Engine.open(tmp_path / "idx", create=True).ingest([corpus])
    s = Settings(index=tmp_path / "idx", chunking={"max_tokens": 128})
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        Engine.open(settings=s)
    eng = Engine.open(settings=s, create=True)
    rep = eng.ingest([corpus], rebuild=True)
    assert len(rep.added) == 3 and eng.index.vectors.count() == eng.index.manifest.count_chunks()


def test_second_writer_is_refused_while_first_holds_the_lock(tmp_path):
    eng = Engine.open(tmp_path / "idx", create=True)
    with eng.index.write_lock():
        with pytest.raises(IndexBusyError, match="--wait"):
            eng.ingest([_corpus(tmp_path / "c.jsonl", DOCS)])


def test_note_warnings_are_reported_and_listed_in_status(tmp_path, monkeypatch):
    """Per-note warnings from the readers (``Note.warnings``, e.g. a date that is not a date) reach the
    report and `status`, next to the skipped files; a rerun keeps them current."""
    from ingest import pipeline

    real = pipeline.read_any

    def with_warning(path, rel, max_bytes):
        for item in real(path, rel, max_bytes):
            if getattr(item, "id", None) == "d2":
                item.warnings = ["date 'March 5, 2024' is not YYYY-MM-DD; the note has no date"]
            yield item

    monkeypatch.setattr(pipeline, "read_any", with_warning)
    corpus = _corpus(tmp_path / "corpus.jsonl", DOCS)
    eng = Engine.open(tmp_path / "idx", create=True)
    rep = eng.ingest([corpus])
    assert [(w.path, w.reason) for w in rep.warnings] == [
        ("corpus.jsonl:2", "date 'March 5, 2024' is not YYYY-MM-DD; the note has no date")]
    assert rep.summary()["warnings"] == 1
    st = eng.status()
    assert [(w["path"], w["reason"]) for w in st["warnings"]] == [(w.path, w.reason) for w in rep.warnings]
    monkeypatch.setattr(pipeline, "read_any", real)
    assert eng.ingest([corpus]).warnings == [] and eng.status()["warnings"] == []
