"""The question sets in eval/sets/ load with the CLI's own reader and their labels point at real notes.

A wrong label is worse than a missing question, so every note id a set names must be a note that
`inquire ingest examples/notes` produces (ids come from the readers, not from file names guessed here).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from ingest.readers import Note, iter_paths, read_any
from ui.cli import read_questions

REPO = Path(__file__).resolve().parents[2]
SETS = REPO / "eval" / "sets"
DEMO_NOTES = REPO / "examples" / "notes"

JSONL_SETS = ("demo_casual.jsonl", "demo_neartopic.jsonl", "demo_composition.jsonl")
ALL_SETS = (*JSONL_SETS, "demo_offtopic.txt")
SIZES = {"demo_casual.jsonl": 60, "demo_offtopic.txt": 30, "demo_neartopic.jsonl": 30, "demo_composition.jsonl": 48}
KINDS = {"synthesis": 16, "factual": 14, "false_premise": 10, "unanswerable": 8}
NOTE_ID_IN_TEXT = re.compile(r"[\w.-]+\.md\b")


@pytest.fixture(scope="module")
def notes() -> dict[str, Note]:
    out: dict[str, Note] = {}
    for item in iter_paths(DEMO_NOTES):
        assert not hasattr(item, "reason"), f"demo note skipped: {item}"
        path, rel = item
        for note in read_any(path, rel, max_bytes=10_000_000):
            assert isinstance(note, Note), f"demo note skipped: {note}"
            out[note.id] = note
    assert len(out) == 66
    return out


def _records(name: str) -> list[dict]:
    rows = []
    for n, line in enumerate((SETS / name).read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                pytest.fail(f"eval/sets/{name}, line {n}: not valid JSON ({e})")
    return rows


def _questions(name: str) -> list[str]:
    if name.endswith(".txt"):
        return [q for _, q, _ in read_questions(str(SETS / name))]
    return [r["question"] for r in _records(name)]


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


@pytest.mark.parametrize("name", ALL_SETS)
def test_set_loads_with_the_cli_reader(name):
    got = list(read_questions(str(SETS / name)))
    errors = [(qid, err) for qid, _, err in got if err]
    assert errors == [], f"eval/sets/{name}: {errors}"
    assert len(got) == SIZES[name]
    if name.endswith(".jsonl"):
        ids = [qid for qid, _, _ in got]
        assert len(set(ids)) == len(ids), f"eval/sets/{name}: repeated ids {[i for i, c in Counter(ids).items() if c > 1]}"


def test_casual_fields_and_labels(notes):
    rows = _records("demo_casual.jsonl")
    covered = set()
    for r in rows:
        assert set(r) == {"id", "question", "expected"}, r["id"]
        assert re.fullmatch(r"c\d\d", r["id"])
        assert 1 <= len(r["expected"]) <= 4 and len(set(r["expected"])) == len(r["expected"]), r["id"]
        unknown = [e for e in r["expected"] if e not in notes]
        assert unknown == [], f"{r['id']}: no such demo note {unknown}"
        covered.update(r["expected"])
    # the casual set covers every theme: each demo note answers at least one of its questions
    assert sorted(set(notes) - covered) == []


def test_neartopic_fields_and_named_notes(notes):
    for r in _records("demo_neartopic.jsonl"):
        assert set(r) == {"id", "question", "why_unanswerable"}, r["id"]
        assert re.fullmatch(r"n\d\d", r["id"]) and r["why_unanswerable"].strip()
        named = NOTE_ID_IN_TEXT.findall(r["why_unanswerable"])
        assert [n for n in named if n not in notes] == [], r["id"]


def test_composition_kinds_and_labels(notes):
    rows = _records("demo_composition.jsonl")
    assert Counter(r["kind"] for r in rows) == KINDS
    for r in rows:
        rid, kind, expected = r["id"], r["kind"], r["expected"]
        assert [e for e in expected if e not in notes] == [], f"{rid}: no such demo note"
        assert len(set(expected)) == len(expected), rid
        if kind == "synthesis":
            assert 2 <= len(expected) <= 4 and r["connection"].strip(), rid
        elif kind == "factual":
            assert 1 <= len(expected) <= 2, rid
            # the answer is quoted from the note, so a check can look for it in the cited sentences
            texts = [f"{notes[e].summary}\n{notes[e].body}" for e in expected]
            assert any(r["answer"] in t for t in texts), f"{rid}: {r['answer']!r} is not verbatim in {expected}"
        elif kind == "false_premise":
            assert 1 <= len(expected) <= 2 and r["correction"].strip(), rid
        else:
            assert kind == "unanswerable" and expected == [], rid


def test_no_question_is_a_note_title(notes):
    titles = {_norm(n.title) for n in notes.values()}
    for name in ALL_SETS:
        pasted = [q for q in _questions(name) if _norm(q) in titles]
        assert pasted == [], f"eval/sets/{name}: titles used as questions {pasted}"


def test_no_duplicate_questions_across_sets():
    seen: dict[str, str] = {}
    for name in ALL_SETS:
        for q in _questions(name):
            key = _norm(q)
            assert key not in seen, f"{q!r} is in both eval/sets/{seen[key]} and eval/sets/{name}"
            seen[key] = name
