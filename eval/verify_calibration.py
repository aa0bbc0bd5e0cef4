"""Calibration of the LLM support threshold (``rag.verify``) on pairs built from extractive answers.

Positives pair an answer sentence with the evidence of the note it was quoted from; negatives pair it
with the evidence of other retrieved notes. ``calibrate_threshold`` picks the threshold that best separates
them (balanced accuracy)::

    .venv/bin/python -m eval.verify_calibration --index /tmp/demo-index --notes examples/notes
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.verify import Scorer

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
    ex = Engine(s, engine.index, embedder=engine.embedder, synthesizer=ExtractiveSynthesizer())
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
        retrieved = [r.id for r in line.meta.retrieved]
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
    sc = Scorer([p.sentence for p in pairs], evidence_by_key, embedder)
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
