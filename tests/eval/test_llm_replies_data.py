"""The hand-written capable-LLM replies in ``eval/sets/llm_replies/`` are well-formed data.

Faithful replies: the JSON shape the engine's answer prompt asks for (and its parser reads), every cited
note exists in ``examples/notes/`` and is in the item's evidence, every finding cites, every figure and
proper name is in the evidence. Faulty copies: exactly three labelled faults of known kinds, each on a
real sentence, and the copy differs from its faithful reply at exactly those sentences, in the way the
kind says (a citation fault moves the citation and keeps the text; a number fault brings in a figure the
cited notes do not have; the others rewrite the text and keep the citations).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from rag import prompts
from rag.synthesize.llm_reply import parse_reply

ROOT = Path(__file__).resolve().parents[2]
SET = ROOT / "eval" / "sets" / "llm_replies"
NOTES = ROOT / "examples" / "notes"

FAULT_KINDS = {"number", "reversal", "citation", "invented", "overclaim"}
SENTENCE_KINDS = {"finding", "connection"}
QUESTION_TYPES = {"synthesis", "factual", "false_premise"}
FAULTS_PER_COPY = 3
N_QUESTIONS = 20  # the size of the set the brief asks for (issue 13, scope 5)


def _load(name: str) -> list[dict]:
    rows = []
    for i, line in enumerate((SET / name).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            pytest.fail(f"{SET / name} line {i}: not JSON ({e.msg} at column {e.colno})")
    return rows


FAITHFUL = _load("faithful.jsonl")
FAULTY = _load("faulty.jsonl")
# the held-out replies (questions the checks were never tuned on): the same format, checked by the same tests
HELDOUT_FAITHFUL = _load("heldout_faithful.jsonl") + _load("heldout2_faithful.jsonl") + \
    _load("heldout3_faithful.jsonl") + _load("heldout4_faithful.jsonl") + _load("heldout5_faithful.jsonl")
HELDOUT_FAULTY = _load("heldout_faulty.jsonl") + _load("heldout2_faulty.jsonl") + _load("heldout3_faulty.jsonl") + \
    _load("heldout4_faulty.jsonl") + _load("heldout5_faulty.jsonl")
N_HELDOUT = 30  # five batches of 6
BY_ID = {r["id"]: r for r in FAITHFUL + HELDOUT_FAITHFUL}
NOTE_TEXT = {p.name: p.read_text(encoding="utf-8") for p in NOTES.glob("*.md")}


def _title(text: str) -> str:
    m = re.search(r'^title:\s*"?(.*?)"?\s*$', text, re.MULTILINE)
    return m.group(1) if m else ""


TITLES = {nid: _title(t) for nid, t in NOTE_TEXT.items()}


def _norm(s: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", s.lower()))


# --------------------------------------------------------------------------- walking a reply
def sentences(reply: dict) -> dict:
    """Position -> sentence dict: (paragraph, sentence) for the paragraphs, "takeaway" for the takeaway
    (with its cites and the kind connection: it relates findings, it does not report one)."""
    out: dict = {}
    for p, para in enumerate(reply["paragraphs"]):
        for s, sent in enumerate(para["sentences"]):
            out[(p, s)] = sent
    out["takeaway"] = {"text": reply["takeaway"], "cites": reply.get("takeaway_cites", []), "kind": "connection"}
    return out


def position(label) -> tuple | str:
    return "takeaway" if label == "takeaway" else tuple(label)


_NUMBER_WORDS = dict(zip(["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"], range(2, 21)))
_NUM = re.compile(r"(?<![A-Za-z])\d+(?:[.,]\d+)*")


def numbers(text: str) -> set[str]:
    """Figures in ``text``: digits (thousands separators dropped; "o3" is a name, not a number) and the
    number words two to twenty ("one" is mostly a pronoun)."""
    found = {m.group().replace(",", "").rstrip(".") for m in _NUM.finditer(text)}
    found |= {str(_NUMBER_WORDS[w]) for w in re.findall(r"[a-z]+", text.lower()) if w in _NUMBER_WORDS}
    return found


def corpus(note_ids) -> str:
    return "\n".join(NOTE_TEXT[n] for n in note_ids)


# --------------------------------------------------------------------------- the set as a whole
def test_set_has_the_asked_shape():
    assert len(FAITHFUL) == N_QUESTIONS and len(FAULTY) == N_QUESTIONS
    assert len({r["id"] for r in FAITHFUL}) == N_QUESTIONS, "faithful ids must be unique"
    assert sorted(r["of"] for r in FAULTY) == sorted(r["id"] for r in FAITHFUL), "one faulty copy per faithful reply"
    assert len({r["id"] for r in FAULTY}) == N_QUESTIONS
    types = Counter(r["type"] for r in FAITHFUL)
    assert set(types) <= QUESTION_TYPES
    assert types["false_premise"] == 2 and types["factual"] >= 5 and types["synthesis"] >= 8
    assert len({_norm(r["question"]) for r in FAITHFUL}) == N_QUESTIONS
    assert not {_norm(r["question"]) for r in FAITHFUL} & {_norm(t) for t in TITLES.values()}, \
        "questions are the researcher's own words, not note titles"


def test_heldout_set_is_separate_and_well_formed():
    assert len(HELDOUT_FAITHFUL) == len(HELDOUT_FAULTY) == N_HELDOUT
    assert sorted(r["of"] for r in HELDOUT_FAULTY) == sorted(r["id"] for r in HELDOUT_FAITHFUL)
    assert len(BY_ID) == N_QUESTIONS + N_HELDOUT, "ids are unique across both sets"
    assert not {_norm(r["question"]) for r in HELDOUT_FAITHFUL} & {_norm(r["question"]) for r in FAITHFUL}, \
        "held-out questions are new questions"
    kinds = Counter(f["kind"] for r in HELDOUT_FAULTY for f in r["faults"])
    assert set(kinds) == FAULT_KINDS and min(kinds.values()) >= 4


def test_fault_kinds_are_spread_evenly():
    kinds = Counter(f["kind"] for r in FAULTY for f in r["faults"])
    assert set(kinds) == FAULT_KINDS
    assert len(set(kinds.values())) == 1, f"each kind as often as the others: {dict(kinds)}"
    assert sum(kinds.values()) == FAULTS_PER_COPY * N_QUESTIONS


# --------------------------------------------------------------------------- faithful replies
@pytest.mark.parametrize("row", FAITHFUL + HELDOUT_FAITHFUL, ids=lambda r: r["id"])
def test_faithful_reply_is_the_prompts_json_and_cites_real_evidence(row):
    missing = [n for n in row["evidence"] if n not in NOTE_TEXT]
    assert not missing, f"{row['id']}: evidence notes not in {NOTES}: {missing}"
    reply = row["reply"]
    schema = prompts.ANSWER_SCHEMA["properties"]
    sent_schema = schema["paragraphs"]["items"]["properties"]["sentences"]
    assert reply["framing"].startswith(prompts.FRAMING_LEAD + " ")
    assert reply["takeaway"].startswith(prompts.TAKEAWAY_LEAD + " ")
    assert len(reply["framing"]) <= schema["framing"]["maxLength"]
    assert len(reply["takeaway"]) <= schema["takeaway"]["maxLength"]
    assert 2 <= len(reply["paragraphs"]) <= schema["paragraphs"]["maxItems"]  # the prompt asks for 2 to 4
    texts = []
    for pos, s in sentences(reply).items():
        where = f"{row['id']} sentence {pos}"
        assert s["kind"] in SENTENCE_KINDS, where
        assert set(s["cites"]) <= set(row["evidence"]), f"{where}: cites a note outside the evidence"
        assert len(s["cites"]) == len(set(s["cites"])) <= sent_schema["items"]["properties"]["cites"]["maxItems"]
        assert not re.search(r"\[\d", s["text"]) and "[[" not in s["text"], f"{where}: citation marks in text"
        assert not re.search(r"\b[a-z0-9]+(?:-[a-z0-9]+){3,}\b", s["text"]), f"{where}: a note slug in prose"
        if s["kind"] == "finding":
            assert s["cites"], f"{where}: a finding must cite the note it reports"
        if pos != "takeaway":
            assert len(s["text"]) <= sent_schema["items"]["properties"]["text"]["maxLength"], where
        texts.append(s["text"])
    assert len(texts) == len(set(texts)), f"{row['id']}: a sentence repeats"
    assert all(len(p["sentences"]) <= sent_schema["maxItems"] for p in reply["paragraphs"])
    assert any(s["kind"] == "connection" and pos != "takeaway" for pos, s in sentences(reply).items()), \
        f"{row['id']}: a reply that connects findings has at least one connection sentence"


@pytest.mark.parametrize("row", FAITHFUL + HELDOUT_FAITHFUL, ids=lambda r: r["id"])
def test_faithful_reply_parses_as_the_engine_reads_it(row):
    """With note ids replaced by the evidence numbers the prompt would show, the engine's own parser
    reads every sentence back unchanged, with its citations."""
    number = {nid: i + 1 for i, nid in enumerate(row["evidence"])}
    reply = row["reply"]
    wire = {"framing": reply["framing"], "takeaway": reply["takeaway"],
            "takeaway_cites": [number[n] for n in reply["takeaway_cites"]],
            "paragraphs": [{"sentences": [{"text": s["text"], "cites": [number[n] for n in s["cites"]]}
                                          for s in p["sentences"]]} for p in reply["paragraphs"]]}
    framing, paras, takeaway, tk = parse_reply(json.loads(json.dumps(wire)))
    assert framing == reply["framing"] and takeaway == reply["takeaway"]
    assert tk == wire["takeaway_cites"]
    assert paras == [[(s["text"], s["cites"]) for s in p["sentences"]] for p in wire["paragraphs"]]


@pytest.mark.parametrize("row", FAITHFUL + HELDOUT_FAITHFUL, ids=lambda r: r["id"])
def test_faithful_reply_adds_no_figure_or_name_absent_from_its_evidence(row):
    """A finding's figures are in the notes it cites; a connection's (and the takeaway's) are in the
    evidence. Capitalised names outside a sentence's first word are in the evidence too."""
    evidence = corpus(row["evidence"])
    for pos, s in sentences(row["reply"]).items():
        source = corpus(s["cites"]) if s["kind"] == "finding" else evidence
        extra = numbers(s["text"]) - numbers(source)
        assert not extra, f"{row['id']} sentence {pos}: figures {sorted(extra)} are not in {s['cites'] or 'the evidence'}"
        words = s["text"].split()
        names = {w.strip(".,:;()'\"") for w in words[1:] if w[:1].isupper()}
        names = {n.removesuffix("'s") for n in names if n and n not in {"I"}}
        unknown = {n for n in names if n.lower() not in evidence.lower()}
        assert not unknown, f"{row['id']} sentence {pos}: names {sorted(unknown)} are not in the evidence"


def test_false_premise_replies_open_on_the_correction():
    for row in (r for r in FAITHFUL + HELDOUT_FAITHFUL if r["type"] == "false_premise"):
        first = row["reply"]["paragraphs"][0]["sentences"][0]
        assert first["kind"] == "finding" and first["cites"], f"{row['id']}: the correction cites its note"


@pytest.mark.parametrize("row", FAITHFUL + HELDOUT_FAITHFUL, ids=lambda r: r["id"])
def test_next_lines_are_new_questions_not_titles(row):
    lines = row["reply"]["next_lines"]
    assert 3 <= len(lines) <= 4 and len(set(lines)) == len(lines)
    titles = {_norm(t) for t in TITLES.values()}
    for q in lines:
        assert q.endswith("?"), f"{row['id']}: next line {q!r} is not a question"
        assert _norm(q) not in titles, f"{row['id']}: next line {q!r} is a pasted note title"
        assert _norm(q) != _norm(row["question"])


# --------------------------------------------------------------------------- faulty copies
@pytest.mark.parametrize("row", FAULTY + HELDOUT_FAULTY, ids=lambda r: r["id"])
def test_faulty_copy_differs_exactly_at_its_labelled_faults(row):
    base = BY_ID[row["of"]]
    good, bad = sentences(base["reply"]), sentences(row["reply"])
    assert len(row["faults"]) == FAULTS_PER_COPY
    labelled = [position(f["sentence"]) for f in row["faults"]]
    assert len(set(labelled)) == FAULTS_PER_COPY, f"{row['id']}: one fault per sentence"
    assert len({f["kind"] for f in row["faults"]}) == FAULTS_PER_COPY, f"{row['id']}: three different kinds"
    assert set(good) == set(bad), f"{row['id']}: the copy has the faithful reply's sentences, in place"
    for f in row["faults"]:
        pos = position(f["sentence"])
        assert f["kind"] in FAULT_KINDS, f"{row['id']}: unknown fault kind {f['kind']!r}"
        assert pos in good, f"{row['id']}: fault at {f['sentence']} points at no sentence"
        assert f["original"] == good[pos]["text"], f"{row['id']} {pos}: 'original' is not the faithful text"
        assert f["note"].strip()
    for pos in good:
        if pos not in labelled:
            assert bad[pos] == good[pos], f"{row['id']}: unlabelled sentence {pos} differs from the faithful reply"
    for key in ("framing", "next_lines"):
        assert row["reply"][key] == base["reply"][key], f"{row['id']}: {key} differs"


@pytest.mark.parametrize("row", FAULTY + HELDOUT_FAULTY, ids=lambda r: r["id"])
def test_each_fault_changes_what_its_kind_says(row):
    base = BY_ID[row["of"]]
    good, bad = sentences(base["reply"]), sentences(row["reply"])
    evidence = set(base["evidence"])
    for f in row["faults"]:
        pos = position(f["sentence"])
        g, b = good[pos], bad[pos]
        where = f"{row['id']} {pos} ({f['kind']})"
        assert b["kind"] == g["kind"], where
        if f["kind"] == "citation":
            assert b["text"] == g["text"], f"{where}: a citation fault keeps the text"
            assert f["original_cites"] == g["cites"]
            assert b["cites"] and set(b["cites"]) <= evidence, f"{where}: moved to another note of the evidence"
            assert not set(b["cites"]) & set(g["cites"]), f"{where}: none of the supporting notes stays cited"
            continue
        assert b["cites"] == g["cites"], f"{where}: only a citation fault changes the citations"
        assert b["text"] != g["text"], f"{where}: the text is unchanged"
        if f["kind"] == "number":
            new = numbers(b["text"]) - numbers(g["text"])
            assert new, f"{where}: no changed figure"
            source = corpus(g["cites"] or base["evidence"])
            assert not new & numbers(source), f"{where}: the new figure {sorted(new)} is in the cited notes"
