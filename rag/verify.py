"""Verification of LLM-written sentences against the evidence they cite.

A sentence's *support score* in [0, 1] is

    0.5 * overlap + 0.5 * max(0, cosine)

where ``overlap`` is the fraction of the sentence's content words (lower-cased, stopwords removed,
Snowball-stemmed; numbers count as words) found in the cited evidence, and ``cosine`` is the
embedding similarity between the sentence and its best-matching cited evidence text.

Sentences are of two kinds (``Sentence.kind``, as the LLM labels them; unlabelled, a sentence with cites is a
finding and one without a connection):

* a **finding** must cite, and is dropped when its cited evidence lacks one of its numbers or names, when it reverses
  its evidence on a word (and no evidence sentence agrees with it there), when it overclaims (a quantifier or
  hedge stronger than the evidence's: ``rag.claims``), or when it scores under the threshold;
* a **connection** may cite nothing; it is dropped when it adds a name or number that neither the evidence
  nor the answer's findings have, when most of its words are in neither (a claim of its own: "uncited
  finding"), or when it overclaims. Its cites stay where the cited note half-supports it.

The takeaway is a connection; an overclaimed one, or one that adds a fact, is replaced by a plain takeaway.
Every removal is recorded in ``Draft.dropped``. The threshold is calibrated on capable-model paraphrases
(``eval.llm_replay``; see ``SynthesisSettings.support_threshold``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

from rag.answer import Paragraph, Sentence
from rag.text import DIGIT, LINKED_TITLE, content_words, numbers

W_OVERLAP = 0.5
W_COSINE = 0.5

# Words that connect or frame findings without stating one (stemmed at first use).
CONNECTIVE_WORDS = """
taken together read reading seen side sides picture pattern patterns common thread line lines finding findings
evidence note notes result results study studies work suggest suggests suggested suggesting point points pointing
question questions answer answers explore explores exploring view overall whole broader broad wider widen widens
first second third another different related relate relation relationship connect connects connected connection
link links linked together agree agrees agreement disagree qualify qualifies extend extends extended complement
complements contrast contrasts tension tensions direction vein same similar similarly alongside beyond further
furthermore moreover meanwhile instead part parts piece pieces story theme themes issue issues bear bears bearing
matter matters mattering important importance consider considering look looking light clear clearer sense
understand understanding help helps explain explains explained mechanism mechanisms way ways kind kinds sort
source sources lens angle turn turns thing things take takeaway away worth follow follows following taken
combined combine combining ask asks asking asked really mean means meaning implication implications imply implies
together overall across each both several many two come comes came set
figure figures describe describes described behind
""".split()  # the last line: how a connection refers to a finding ("the 14% figure describes", "the reasoning
# behind it"), added when a connection of the hand-written replies read as a claim of its own without them

_CONNECTIVE_STEMS: set[str] | None = None


def _connective_stems() -> set[str]:
    global _CONNECTIVE_STEMS
    if _CONNECTIVE_STEMS is None:
        _CONNECTIVE_STEMS = content_words(" ".join(CONNECTIVE_WORDS))
    return _CONNECTIVE_STEMS


def is_connective(text: str, question: str = "", min_share: float = 0.7, topics: Iterable[str] = ()) -> bool:
    """True if the sentence only frames or connects: no numbers, and at least ``min_share`` of its
    content words come from the question, the question's themes (``topics``) or the vocabulary of
    connecting findings."""
    if DIGIT.search(text):
        return False
    words = content_words(text)
    if not words:
        return True
    allowed = _connective_stems() | content_words(" ".join([question, *topics]))
    return sum(w in allowed for w in words) / len(words) >= min_share


def overlap(sentence_words: set[str], evidence_words: set[str]) -> float:
    if not sentence_words:
        return 0.0
    return len(sentence_words & evidence_words) / len(sentence_words)


def combine(overlap_: float, cosine: float) -> float:
    return float(min(1.0, max(0.0, W_OVERLAP * overlap_ + W_COSINE * max(0.0, cosine))))


def support_score(sentence: str, evidence_texts: Sequence[str], embedder) -> float:
    """How well ``evidence_texts`` support ``sentence``, in [0, 1] (see the module docstring)."""
    texts = [t for t in evidence_texts if t and t.strip()]
    if not texts or not sentence.strip():
        return 0.0
    vecs = embedder.encode([sentence, *texts])
    ev_words: set[str] = set()
    for t in texts:
        ev_words |= content_words(t)
    cos = float(np.max(vecs[1:] @ vecs[0]))
    return combine(overlap(content_words(sentence), ev_words), cos)


# --------------------------------------------------------------------------- verify a draft
LINKED = "another note"  # what a linked note's title reads as when a sentence's support is scored


def own_words(text: str) -> str:
    """``text`` with the quoted titles of the notes it links to read as "another note": a note that points to
    "Semantic entropy over sampled answers flags confabulated responses" does not itself support a sentence about
    semantic entropy (that sentence should cite the linked note)."""
    return LINKED_TITLE.sub(LINKED, text)


class Scorer:
    """Scores many sentences against per-note evidence with one encode call. A passage's support comes from its
    own words, not from the titles of the notes it links to (``own_words``)."""

    def __init__(self, sentences: list[str], evidence_by_note: dict[str, list[str]], embedder) -> None:
        self.ev = {nid: list(dict.fromkeys(t for t in texts if t and t.strip()))
                   for nid, texts in evidence_by_note.items()}
        uniq = list(dict.fromkeys(t for texts in self.ev.values() for t in texts))
        sents = list(dict.fromkeys(s for s in sentences if s.strip()))
        vecs = embedder.encode(sents + [own_words(t) for t in uniq]) if (sents or uniq) else np.zeros((0, 1))
        self.svec = {s: vecs[i] for i, s in enumerate(sents)}
        self.evec = {t: vecs[len(sents) + i] for i, t in enumerate(uniq)}
        self.ewords = {t: content_words(own_words(t)) for t in uniq}

    def words_of(self, note_ids: Iterable[str]) -> set[str]:
        out: set[str] = set()
        for nid in note_ids:
            for t in self.ev.get(nid, []):
                out |= self.ewords[t]
        return out

    def missing_numbers(self, sentence: str, note_ids: Sequence[str]) -> list[str]:
        return sorted(numbers(content_words(sentence)) - self.words_of(note_ids))

    def score(self, sentence: str, note_ids: Sequence[str]) -> float:
        texts = [t for nid in note_ids for t in self.ev.get(nid, [])]
        if not texts or sentence not in self.svec:
            return 0.0
        cos = max(float(self.evec[t] @ self.svec[sentence]) for t in texts)
        return combine(overlap(content_words(sentence), self.words_of(note_ids)), cos)


CONNECTION_CITE_FLOOR = 0.5  # share of the threshold a connection's cited note must reach to keep the cite
# (a connection relates notes, so its words are partly its own; half the finding threshold keeps every cite of
# the hand-written replies' connections while a note it does not touch at all scores well below)
FALLBACK_TAKEAWAY = "the findings above are the evidence; read them together rather than any one alone."


def kind_of(s: Sentence) -> str:
    """A sentence's kind as the LLM labelled it; unlabelled, a sentence with cites is a finding, one without
    a connection."""
    return s.kind or ("finding" if s.cites else "connection")


def _finding_fault(sc: "Scorer", text: str, cites: Sequence[str]) -> str | None:
    """Why a cited finding cannot stand whatever its support score: a number or name its cited evidence lacks, a
    reversal or an overclaim."""
    from rag.claims import _name_words, figures, new_names, overclaim
    from rag.claims import reversal as reversed_on

    texts = [t for nid in cites for t in sc.ev.get(nid, [])]
    name_words = _name_words([*texts, text])
    have: set[str] = set()
    for t in texts:
        have |= figures(t, name_words)
    missing = sorted(figures(text, name_words) - have)
    if missing:  # a count or figure the cited evidence does not have is an invented fact
        return f"unsupported: number(s) {', '.join(missing)} not in the cited evidence"
    added = new_names(text, texts)
    if added:  # so is a name, a version of one, or something attributed to one
        return f"unsupported: name(s) {', '.join(added)} not in the cited evidence"
    flipped = reversed_on(text, texts)
    if flipped:
        return f"contradicts the cited evidence (reversed on '{flipped}')"
    strong = overclaim(text, texts)
    if strong:
        return f"overclaims: '{strong}' is stronger than the cited evidence"
    return None


CONNECTION_NOVEL_MAX = 0.5  # most share of a connection's content words that may be new (in no evidence, finding,
# the question or the connective vocabulary): the hand-written replies' connections reach 0.38; a claim of its
# own ("bees navigate mainly by magnetic fields") is mostly new words


def _connection_fault(text: str, known: Sequence[str], known_words: set[str], novel_max: float = CONNECTION_NOVEL_MAX
                      ) -> str | None:
    """Why a connecting sentence cannot stand: it adds a name or figure, states a claim of its own (mostly
    words nothing known has), or overclaims, against everything known (the evidence given and the answer's
    findings)."""
    from rag.claims import new_facts, overclaim

    added = new_facts(text, known)
    if added:
        return f"connection adds a fact not in the evidence or the findings: {', '.join(added)}"
    words = content_words(text)
    if words and len(words - known_words - _connective_stems()) / len(words) > novel_max:
        return "uncited finding"  # a claim of its own, not a connection of the evidence
    strong = overclaim(text, known)
    if strong:
        return f"overclaims: '{strong}' is stronger than the evidence"
    return None


def verify(draft, evidence_by_note: dict[str, list[str]], embedder, threshold: float, question: str = "",
           topics: Iterable[str] = ()):
    """Check every sentence of ``draft`` against the evidence (in place; returns it).

    A **finding** (``Sentence.kind``, or a sentence with cites when unlabelled) must cite, must have no number,
    reversal or overclaim its cited evidence lacks (``rag.claims``), and must score ``>= threshold``; it keeps
    the cites that support it. A **connection** may cite nothing; it stays when it adds no name or figure that
    neither the evidence nor the answer's findings have and overclaims nothing; its cites stay where the note
    half-supports it. The takeaway is a connection: when it fails, a plain one replaces it. Removals go to
    ``draft.dropped``."""
    sentences = [s.text for p in draft.paragraphs for s in p.sentences]
    if draft.takeaway_cites:
        sentences.append(draft.takeaway)
    sc = Scorer(sentences, evidence_by_note, embedder)
    half = threshold / 2
    floor = threshold * CONNECTION_CITE_FLOOR
    fate: dict[int, Sentence | None] = {}
    # findings first: the connections are then checked against the findings that stand
    for p in draft.paragraphs:
        for s in p.sentences:
            if kind_of(s) != "finding":
                continue
            if not s.cites:
                draft.dropped.append({"text": s.text, "cites": [], "score": None, "kind": "finding",
                                      "reason": "uncited finding"})
                fate[id(s)] = None
                continue
            score = sc.score(s.text, s.cites)
            fault = _finding_fault(sc, s.text, s.cites)
            if fault is None and score < threshold:
                fault = "unsupported"
            if fault:
                draft.dropped.append({"text": s.text, "cites": list(s.cites), "score": round(score, 4),
                                      "kind": "finding", "reason": fault})
                fate[id(s)] = None
                continue
            if len(s.cites) > 1:
                s.cites = _prune_cites(sc, s, threshold, half, draft.dropped)
            fate[id(s)] = s.model_copy(update={"support": round(score, 4), "kind": "finding"})
    known = [t for texts in sc.ev.values() for t in texts]
    known += [s.text for s in fate.values() if s is not None]
    known_words = content_words(" ".join([*known, question, *topics]))
    for p in draft.paragraphs:
        for s in p.sentences:
            if id(s) in fate:
                continue
            fault = _connection_fault(s.text, known, known_words)
            if fault:
                draft.dropped.append({"text": s.text, "cites": list(s.cites), "score": None, "kind": "connection",
                                      "reason": fault})
                fate[id(s)] = None
                continue
            cites = [c for c in s.cites if sc.score(s.text, [c]) >= floor]
            for c in s.cites:
                if c not in cites:
                    draft.dropped.append({"text": s.text, "cites": [c], "score": round(sc.score(s.text, [c]), 4),
                                          "kind": "connection",
                                          "reason": "citation unsupported (connection kept without it)"})
            fate[id(s)] = s.model_copy(update={"cites": cites, "kind": "connection",
                                               "quote": s.quote if cites else None})
    paragraphs: list[Paragraph] = []
    for p in draft.paragraphs:
        kept = [fate[id(s)] for s in p.sentences if fate.get(id(s)) is not None]
        if kept:
            paragraphs.append(Paragraph(sentences=kept))
    draft.paragraphs = paragraphs
    fault = _connection_fault(draft.takeaway, known, known_words, novel_max=1.0)  # the takeaway draws the inference
    cited_now = {c for p in paragraphs for s in p.sentences for c in s.cites}
    if fault:
        draft.dropped.append({"text": draft.takeaway, "cites": list(draft.takeaway_cites), "score": None,
                              "kind": "takeaway", "reason": f"takeaway replaced: {fault}"})
        draft.takeaway, draft.takeaway_cites = FALLBACK_TAKEAWAY, []
    elif draft.takeaway_cites:
        keep = [c for c in draft.takeaway_cites if c in cited_now and sc.score(draft.takeaway, [c]) >= floor]
        if keep != list(draft.takeaway_cites):
            draft.dropped.append({"text": draft.takeaway, "cites": [c for c in draft.takeaway_cites if c not in keep],
                                  "score": round(sc.score(draft.takeaway, draft.takeaway_cites), 4),
                                  "kind": "takeaway", "reason": "takeaway citation unsupported"})
        draft.takeaway_cites = keep
    return draft


def _prune_cites(sc: Scorer, s: Sentence, threshold: float, half: float, dropped: list[dict]) -> list[str]:
    """Of a supported sentence's cites, keep those that support it alone, or that add content words
    the other cited notes lack and half-support it; always keep the best one."""
    words = content_words(s.text)
    per = {nid: sc.score(s.text, [nid]) for nid in s.cites}
    keep = []
    for nid in s.cites:
        others = sc.words_of([o for o in s.cites if o != nid])
        adds = bool((words & sc.words_of([nid])) - others)
        if per[nid] >= threshold or (adds and per[nid] >= half):
            keep.append(nid)
    if not keep:
        keep = [max(s.cites, key=per.__getitem__)]
    for nid in s.cites:
        if nid not in keep:
            dropped.append({"text": s.text, "cites": [nid], "score": round(per[nid], 4),
                            "reason": "citation unsupported (other citations kept)"})
    return keep
