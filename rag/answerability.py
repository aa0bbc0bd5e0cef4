"""Answerability: whether the notes can answer a question at all, from what a bi-encoder and BM25 give
(the best cosine, and how much of the question's weight one passage and the best few hold), and the
support rule the engine and `inquire calibrate` share: refuse only what is far from every note, answer the
grey zone flagged ``indirect``, answer the rest directly."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from rag.query_terms import query_terms, spelling_variants, visible_share
from rag.retrieve import Retrieval
from rag.settings import SynthesisSettings
from store.index import Index

__all__ = ["Answerability", "answerability", "refuses", "support_level", "spelling_variants"]

# With no content word the corpus knows, nothing lexical speaks for the question: the score is this share of
# its best cosine (the floor of the formula below).
LEXICAL_FLOOR = 0.4


@dataclass
class Answerability:
    """Whether the index can answer a question at all, from evidence a bi-encoder and BM25 give:

    ``score = best cosine × (0.4 + 0.6 × √(coverage × focus))``, where ``coverage`` is the share of the
    IDF weight of the question's terms *that the corpus uses* found in the five best dense chunks taken
    together, and ``focus`` the largest share found in any single one of the ten best dense and ten best BM25
    chunks (an answer lives in one passage, not in words scattered over several). Words the corpus never
    uses ("reckon", "ppl", "pushes back") do not count against a question by themselves: ``absent`` (their
    share of the IDF mass) is reported, not applied. The closeness of the best note is what tells an
    off-topic question (see ``support_level``)."""

    score: float
    best: float
    coverage: float
    absent: float
    focus: float = 1.0

    def under(self, threshold: float, answer_above: float) -> bool:
        return refuses(self.score, self.best, threshold, answer_above)


def refuses(score: float, best: float, threshold: float, answer_above: float) -> bool:
    """The abstention rule (and the "indirect" one, with its own thresholds): answerability under the
    threshold, and no note as close as ``answer_above`` cosine, which puts a question on topic whatever its
    wording. The engine (through ``support_level``) and `inquire calibrate` both decide with this."""
    return score < threshold and best < answer_above


def support_level(a: Answerability, threshold: float, s: SynthesisSettings) -> Literal["none", "indirect", "direct"]:
    """How the notes bear on a question:

    * ``none`` (refuse): answerability under ``threshold`` (the calibrated or default abstention threshold)
      and no note as close as ``s.answer_above_similarity``: clearly off-topic, far from every note;
    * ``indirect`` (answer, and say the notes bear on it only indirectly): answerability under
      ``s.indirect_below`` and no note as close as ``s.direct_above_similarity``: the grey zone, where a
      bi-encoder cannot tell a paraphrased answerable question from a near-topic unanswerable one;
    * ``direct`` otherwise."""
    if refuses(a.score, a.best, threshold, s.answer_above_similarity):
        return "none"
    if refuses(a.score, a.best, s.indirect_below, s.direct_above_similarity):
        return "indirect"
    return "direct"


def answerability(index: Index, query: str, r: Retrieval) -> Answerability:
    from store.lexical import terms_of

    best = r.best_dense if r.best_dense is not None else 0.0
    lex = index.lexical()
    if lex is None or lex.retriever is None or not r.top_chunks:
        return Answerability(best, best, 1.0, 0.0)
    qterms = query_terms(lex, query)
    total = sum(t.idf for t in qterms)
    if total == 0:  # no content words at all: nothing to weigh
        return Answerability(best, best, 1.0, 0.0)
    known = {t.term: t.idf for t in qterms if t.df > 0}
    absent = 1 - visible_share(qterms)
    if not known:
        return Answerability(best * LEXICAL_FLOOR, best, 0.0, absent, 0.0)
    known_total = sum(known.values())
    ids = list(dict.fromkeys(r.top_chunks + r.lexical_top_chunks))
    texts = index.manifest.chunks(ids)
    have = [c for c in ids if c in texts]
    chunk_terms = {c: set(t) for c, t in zip(have, terms_of([texts[c]["text"] for c in have]))}
    top5: set[str] = set().union(*(chunk_terms[c] for c in r.top_chunks[:5] if c in chunk_terms))

    def share(seen: set[str]) -> float:
        return sum(idf for w, idf in known.items() if any(v in seen for v in spelling_variants(w))) / known_total

    cov = share(top5)
    focus = max((share(t) for t in chunk_terms.values()), default=0.0)
    score = best * (LEXICAL_FLOOR + (1 - LEXICAL_FLOOR) * math.sqrt(cov * focus))
    return Answerability(score, best, cov, absent, focus)
