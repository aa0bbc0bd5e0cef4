"""Verification of LLM-written sentences against the evidence they cite.

A sentence's *support score* in [0, 1] is

    0.5 * overlap + 0.5 * max(0, cosine)

where ``overlap`` is the fraction of the sentence's content words (lower-cased, stopwords removed,
Snowball-stemmed; numbers count as words) found in the cited evidence, and ``cosine`` is the
embedding similarity between the sentence and its best-matching cited evidence text.

Sentences at or above the threshold keep their citations (``Sentence.support`` records the score); a
cited sentence below it loses the citation, and the sentence too when it states a finding. A cited
sentence with a number (digits, or a number word) that its cited evidence lacks is dropped whatever
its score: an invented figure. So is one that reverses its evidence on the same word (opposite direction
words, or a negation only one of them has: see ``reversal``), which the score cannot see. Uncited
sentences stay only when they are connective framing (their words are the question's, its themes' and
the vocabulary of connecting findings); an uncited claim is dropped. Every removal is recorded in ``Draft.dropped``.

``calibrate_threshold`` picks the threshold that best separates supported from unsupported pairs
(balanced accuracy); ``calibration_pairs`` builds such pairs from extractive answers over an index:

    .venv/bin/python -m rag.verify --index /tmp/demo-index --notes examples/notes
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer import Paragraph, Sentence

W_OVERLAP = 0.5
W_COSINE = 0.5

_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_DIGIT = re.compile(r"\d")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being below between
both but by can could did do does doing down during each either else even ever few for from further had has have
having he her here hers herself him himself his how however i if in into is it its itself just least less let like
many may me might more most much must my myself neither no nor not now of off often on once one only or other
others our ours ourselves out over own per quite rather same several shall she should since so some still such
than that the their theirs them themselves then there therefore these they this those though through thus to
too under until up upon us very via was we were what when where whether which while who whom whose why will with
within without would yet you your yours yourself yourselves
""".split())

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
""".split()

_local = threading.local()


def _stem(word: str) -> str:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:  # PyStemmer objects are not thread-safe: one per thread
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer.stemWord(word)


_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS |= {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
                  "ninety": "90", "hundred": "100", "thousand": "1000", "million": "1000000",
                  "billion": "1000000000", "twice": "2"}
_NUMBER_WORDS.pop("one")  # "one" is mostly a pronoun ("one finding", "one another"), not a count


def content_words(text: str) -> set[str]:
    """Stemmed content words of ``text`` (stopwords and one-letter words removed; numbers kept, number
    words up to twenty and the round ones written as digits, so "three" and "3" match)."""
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in STOPWORDS or (len(w) < 2 and not w.isdigit()):
            continue
        if w in _NUMBER_WORDS:
            out.add(_NUMBER_WORDS[w])
        else:
            out.add(w if _DIGIT.search(w) else _stem(w))
    return out


def numbers(words: set[str]) -> set[str]:
    return {w for w in words if w[:1].isdigit()}


# ------------------------------------------------------------------------------ reversed claims
# Without an NLI model the score above cannot see a claim that reverses its evidence ("RLHF made the model
# *better* calibrated" against "… markedly *less* calibrated": same words, high similarity). A narrow check
# catches the common form: the claim puts a direction word (or a negation) on the same word that the
# evidence puts the opposite direction word (or no negation) on.
_UP = {"more", "higher", "greater", "better", "stronger", "larger", "increas", "improv", "rais", "rise", "rose",
       "boost", "enhanc", "gain", "grew", "grow"}
_DOWN = {"less", "fewer", "lower", "smaller", "worse", "weaker", "decreas", "reduc", "declin", "drop", "fell",
         "fall", "degrad", "impair", "hurt", "shrank", "shrink", "diminish"}
_NEG = {"not", "never", "cannot"}
_TOKEN = re.compile(r"[a-z0-9]+")


def _direction(word: str) -> int:
    for stem, sign in ((w, 1) for w in _UP):
        if word.startswith(stem):
            return sign
    for stem in _DOWN:
        if word.startswith(stem):
            return -1
    return 0


def _cues(text: str) -> tuple[dict[str, int], dict[str, bool]]:
    """Per word stem: the direction word on it (+1 up, -1 down: the word just before the cue, or the first
    content word in the three after it: "complied less", "less well calibrated"), and whether a negation
    ("not", "never", "cannot", "n't") stands right before it."""
    toks = _TOKEN.findall(text.lower().replace("n't", " not"))

    def content(w: str) -> bool:
        return len(w) >= 3 and w not in STOPWORDS and w not in _NEG and not _direction(w)

    direction: dict[str, int] = {}
    negated: dict[str, bool] = {}
    for i, w in enumerate(toks):
        if len(w) >= 3 and w not in STOPWORDS and w not in _NEG:
            st = _stem(w)
            negated[st] = negated.get(st, False) or (i > 0 and toks[i - 1] in _NEG)
        d = _direction(w)
        if not d:
            continue
        targets = [toks[i - 1]] if i > 0 and content(toks[i - 1]) else []
        targets += [t for t in toks[i + 1:i + 4] if content(t)][:1]
        for t in targets:
            direction[_stem(t)] = d
    return direction, negated


def reversal(sentence: str, evidence_texts: Sequence[str]) -> str | None:
    """The word on which ``sentence`` reverses the evidence text closest to it in content words, if any:
    opposite direction words on the same word, or a negation one has and the other lacks."""
    words = content_words(sentence)
    if not words or not evidence_texts:
        return None
    best = max(evidence_texts, key=lambda t: len(words & content_words(t)))
    if len(words & content_words(best)) < 0.5 * len(words):
        return None  # not a restatement of this evidence; the support score decides
    d_s, n_s = _cues(sentence)
    d_e, n_e = _cues(best)
    for st, d in d_s.items():
        if d_e.get(st) == -d:
            return st
    for st, neg in n_s.items():
        if st in n_e and neg != n_e[st]:
            return st
    return None


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
    if _DIGIT.search(text):
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
class _Scorer:
    """Scores many sentences against per-note evidence with one encode call."""

    def __init__(self, sentences: list[str], evidence_by_note: dict[str, list[str]], embedder) -> None:
        self.ev = {nid: list(dict.fromkeys(t for t in texts if t and t.strip()))
                   for nid, texts in evidence_by_note.items()}
        uniq = list(dict.fromkeys(t for texts in self.ev.values() for t in texts))
        sents = list(dict.fromkeys(s for s in sentences if s.strip()))
        vecs = embedder.encode(sents + uniq) if (sents or uniq) else np.zeros((0, 1))
        self.svec = {s: vecs[i] for i, s in enumerate(sents)}
        self.evec = {t: vecs[len(sents) + i] for i, t in enumerate(uniq)}
        self.ewords = {t: content_words(t) for t in uniq}

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


def verify(draft, evidence_by_note: dict[str, list[str]], embedder, threshold: float, question: str = "",
           topics: Iterable[str] = ()):
    """Check every sentence of ``draft`` against the evidence of the notes it cites (in place; returns it).

    Cited sentences scoring ``>= threshold`` keep their citations, less any cited note that adds no
    support of its own; below it, the citation goes, and the sentence with it when it states a finding.
    Uncited sentences stay only when they are connective framing (see ``is_connective``; ``topics`` are
    the question's themes). Removals go to ``draft.dropped``."""
    sentences = [s.text for p in draft.paragraphs for s in p.sentences]
    if draft.takeaway_cites:
        sentences.append(draft.takeaway)
    sc = _Scorer(sentences, evidence_by_note, embedder)
    half = threshold / 2
    paragraphs: list[Paragraph] = []
    for p in draft.paragraphs:
        kept: list[Sentence] = []
        for s in p.sentences:
            if not s.cites:
                if is_connective(s.text, question, topics=topics):
                    kept.append(s)
                else:
                    draft.dropped.append({"text": s.text, "cites": [], "score": None, "reason": "uncited finding"})
                continue
            score = sc.score(s.text, s.cites)
            missing = sc.missing_numbers(s.text, s.cites)
            flipped = reversal(s.text, [t for nid in s.cites for t in sc.ev.get(nid, [])])
            if missing:  # a count or figure the cited evidence does not have is an invented fact
                draft.dropped.append({"text": s.text, "cites": list(s.cites), "score": round(score, 4),
                                      "reason": f"unsupported: number(s) {', '.join(missing)} not in the cited "
                                                "evidence"})
            elif flipped:
                draft.dropped.append({"text": s.text, "cites": list(s.cites), "score": round(score, 4),
                                      "reason": f"contradicts the cited evidence (reversed on '{flipped}')"})
            elif score >= threshold:
                if len(s.cites) > 1:
                    s.cites = _prune_cites(sc, s, threshold, half, draft.dropped)
                s.support = round(score, 4)
                kept.append(s)
            elif is_connective(s.text, question, topics=topics):
                draft.dropped.append({"text": s.text, "cites": list(s.cites), "score": round(score, 4),
                                      "reason": "citation unsupported (sentence kept as framing)"})
                kept.append(s.model_copy(update={"cites": [], "quote": None}))
            else:
                draft.dropped.append({"text": s.text, "cites": list(s.cites), "score": round(score, 4),
                                      "reason": "unsupported"})
        if kept:
            paragraphs.append(Paragraph(sentences=kept))
    draft.paragraphs = paragraphs
    if draft.takeaway_cites:
        score = sc.score(draft.takeaway, draft.takeaway_cites)
        if score < threshold:
            draft.dropped.append({"text": draft.takeaway, "cites": list(draft.takeaway_cites),
                                  "score": round(score, 4), "reason": "takeaway citation unsupported"})
            draft.takeaway_cites = []
    return draft


def _prune_cites(sc: _Scorer, s: Sentence, threshold: float, half: float, dropped: list[dict]) -> list[str]:
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


# --------------------------------------------------------------------------- calibration
def balanced_accuracy(pos: Sequence[float], neg: Sequence[float], t: float) -> float:
    tpr = float(np.mean([p >= t for p in pos])) if len(pos) else 0.0
    tnr = float(np.mean([n < t for n in neg])) if len(neg) else 0.0
    return (tpr + tnr) / 2


def calibrate_threshold(pos_scores: Sequence[float], neg_scores: Sequence[float]) -> float:
    """The threshold (a midpoint between observed scores) that maximizes balanced accuracy of
    ``score >= t`` for supported (pos) against unsupported (neg) pairs. Ties go to the middle of
    the best run of thresholds."""
    if not len(pos_scores) or not len(neg_scores):
        raise ValueError("calibrate_threshold needs both supported and unsupported scores")
    vals = sorted(set(float(v) for v in [*pos_scores, *neg_scores]))
    cands = [vals[0] - 1e-6] + [(a + b) / 2 for a, b in zip(vals, vals[1:], strict=False)] + [vals[-1] + 1e-6]
    accs = [balanced_accuracy(pos_scores, neg_scores, t) for t in cands]
    best = max(accs)
    i = accs.index(best)
    j = i
    while j + 1 < len(cands) and accs[j + 1] == best:
        j += 1
    lo, hi = cands[i], cands[j]
    # the middle of the run, between the observed scores it separates
    return float(min(1.0, max(0.0, (lo + hi) / 2)))


@dataclass
class CalibrationPair:
    sentence: str
    note_id: str  # the note whose evidence is paired with the sentence
    evidence: list[str]
    supported: bool  # True: the sentence's own cited note; False: a retrieved note it does not come from
    question: str = ""


def _strip(text: str, part: str) -> str:
    return " ".join(" ".join(text.split()).replace(" ".join(part.split()), " ").split())


def calibration_pairs(engine, questions: Iterable[str], held_out: bool = False) -> list[CalibrationPair]:
    """Supported and unsupported (sentence, evidence) pairs from extractive answers.

    Positives: each cited answer sentence with the evidence of its cited note (the passages its
    sentences were quoted from). Negatives: the same sentence with the evidence of each other note
    retrieved for the question (cited notes: their quoted passages; retrieved-but-uncited notes: their
    summary). With ``held_out`` the sentence's own words are cut out of its note's evidence, so a
    positive must be carried by the rest of the note (a harder stand-in for a paraphrase)."""
    from rag.engine import Engine
    from rag.synthesize.extractive import ExtractiveSynthesizer

    s = engine.settings.model_copy(update={"synthesis": engine.settings.synthesis.model_copy(
        update={"synthesizer": "extractive"})})
    ex = Engine(s, engine.index, engine.embedder)
    ex._synth = ExtractiveSynthesizer()
    pairs: list[CalibrationPair] = []
    for q in questions:
        line = ex.ask(q)
        if line.abstained:
            continue
        by_note: dict[str, list[str]] = {}
        for p in line.paragraphs:
            for sent in p.sentences:
                for c in sent.cites:
                    if sent.quote:
                        by_note.setdefault(c, [])
                        if sent.quote not in by_note[c]:
                            by_note[c].append(sent.quote)
        retrieved = [r["id"] for r in line.meta.get("retrieved", [])]
        extra = [r for r in retrieved if r not in by_note]
        rows = engine.index.manifest.notes(extra) if extra else {}
        for nid in extra:
            if nid in rows and rows[nid].get("summary"):
                by_note[nid] = [rows[nid]["summary"]]
        for p in line.paragraphs:
            for sent in p.sentences:
                if not sent.cites:
                    continue
                own = sent.cites[0]
                ev = by_note.get(own, [])
                if held_out:
                    core = _raw_quote(sent.text, sent.quote or "")
                    ev = [_strip(t, core) for t in ev]
                pairs.append(CalibrationPair(sent.text, own, ev, True, q))
                for nid, texts in by_note.items():
                    if nid not in sent.cites:
                        pairs.append(CalibrationPair(sent.text, nid, texts, False, q))
    return pairs


def _raw_quote(text: str, passage: str) -> str:
    """The longest tail of ``text`` (the quoted finding, without its lead-in) found in ``passage``."""
    flat = " ".join(passage.split()).lower()
    words = text.split()
    for i in range(len(words)):
        tail = " ".join(words[i:])
        if tail.lower() in flat:
            return tail
    return text


def score_pairs(pairs: Sequence[CalibrationPair], embedder) -> tuple[list[float], list[float]]:
    evidence_by_key = {f"{i}": p.evidence for i, p in enumerate(pairs)}
    sc = _Scorer([p.sentence for p in pairs], evidence_by_key, embedder)
    pos, neg = [], []
    for i, p in enumerate(pairs):
        (pos if p.supported else neg).append(sc.score(p.sentence, [f"{i}"]))
    return pos, neg


def _summary(xs: Sequence[float]) -> str:
    a = np.asarray(xs)
    return (f"n={len(a)} mean={a.mean():.3f} p10={np.percentile(a, 10):.3f} p50={np.median(a):.3f} "
            f"p90={np.percentile(a, 90):.3f} min={a.min():.3f} max={a.max():.3f}")


def main(argv: Sequence[str] | None = None) -> None:
    import argparse
    from pathlib import Path

    from rag.engine import Engine

    ap = argparse.ArgumentParser(description="Calibrate the LLM support threshold on extractive answers.")
    ap.add_argument("--index", required=True, help="index directory (built from --notes if empty)")
    ap.add_argument("--notes", default=None, help="notes folder to ingest first")
    ap.add_argument("--questions", default=None, help="file of questions, one a line (default: examples/questions.txt)")
    a = ap.parse_args(argv)
    eng = Engine.open(a.index, create=bool(a.notes))
    if a.notes:
        eng.ingest([a.notes])
    qfile = Path(a.questions) if a.questions else Path(__file__).resolve().parents[1] / "examples" / "questions.txt"
    questions = [q.strip() for q in qfile.read_text().splitlines() if q.strip()]
    for held in (False, True):
        pairs = calibration_pairs(eng, questions, held_out=held)
        pos, neg = score_pairs(pairs, eng.embedder)
        t = calibrate_threshold(pos, neg)
        label = "held-out positives (own sentence cut from its evidence)" if held else "verbatim positives"
        print(f"== {label}: {len(questions)} questions")
        print(f"   supported   {_summary(pos)}")
        print(f"   unsupported {_summary(neg)}")
        print(f"   threshold {t:.3f}: balanced accuracy {balanced_accuracy(pos, neg, t):.3f} "
              f"(TPR {np.mean([p >= t for p in pos]):.3f}, TNR {np.mean([n < t for n in neg]):.3f})")
        for cur in (0.35, 0.4, 0.45, 0.5, 0.55):
            print(f"   at {cur:.2f}: balanced accuracy {balanced_accuracy(pos, neg, cur):.3f}")
    eng.close()


if __name__ == "__main__":
    main()
