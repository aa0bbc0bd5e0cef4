"""Answerability: whether the notes can answer a question at all, from what a bi-encoder and BM25 give
(the best cosine, and how much of the question's weight one passage and the best few hold), and the
abstention rule the engine and `inquire calibrate` share."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rag.retrieve import Retrieval
from store.index import Index


@dataclass
class Answerability:
    """Whether the index can answer a question at all, from evidence a bi-encoder and BM25 give:

    ``score = best cosine × (0.4 + 0.6 × √(coverage × focus)) × (1 − absent)``, where ``coverage`` is the
    share of the question's IDF-weighted terms found in the five best dense chunks taken together, ``focus``
    the largest share found in any single one of the ten best dense and ten best BM25 chunks (an answer
    lives in one passage, not in words scattered over several), and ``absent`` the share of its IDF mass in
    terms the corpus has never seen. Calibrated with `inquire eval answers` (see README)."""

    score: float
    best: float
    coverage: float
    absent: float
    focus: float = 1.0

    def under(self, threshold: float, answer_above: float) -> bool:
        return refuses(self.score, self.best, threshold, answer_above)


def refuses(score: float, best: float, threshold: float, answer_above: float) -> bool:
    """The abstention rule (and the "indirect" one, with its own threshold): answerability under the
    threshold, and no note as close as ``answer_above`` cosine, which puts a question on topic whatever its
    wording. The engine and `inquire calibrate` both decide with this."""
    return score < threshold and best < answer_above


def spelling_variants(stem: str) -> list[str]:
    """A stemmed word and its British/American spellings (behaviour/behavior, optimis/optimiz, analys/analyz)."""
    out = [stem]
    for a, b in (("our", "or"), ("or", "our"), ("is", "iz"), ("iz", "is"), ("ys", "yz"), ("yz", "ys"),
                 ("ae", "e"), ("oe", "e"), ("tre", "ter"), ("ter", "tre")):
        if a in stem:
            out.append(stem.replace(a, b))
    return out


def answerability(index: Index, query: str, r: Retrieval) -> Answerability:
    from store.lexical import terms, terms_of

    best = r.best_dense if r.best_dense is not None else 0.0
    lex = index.lexical()
    if lex is None or lex.retriever is None or not r.top_chunks:
        return Answerability(best, best, 1.0, 0.0)
    n_docs = lex.num_docs

    from rag.text import STOPWORDS

    q = {w for w in terms(query) if w not in STOPWORDS}  # function words say nothing about coverage
    ids = list(dict.fromkeys(r.top_chunks + r.lexical_top_chunks))
    texts = index.manifest.chunks(ids)
    have = [c for c in ids if c in texts]
    chunk_terms = {c: set(t) for c, t in zip(have, terms_of([texts[c]["text"] for c in have]))}
    top5: set[str] = set().union(*(chunk_terms[c] for c in r.top_chunks[:5] if c in chunk_terms))
    weights: dict[str, float] = {}  # question term (its spelling variants) -> IDF
    absent = 0.0
    for w in q:
        w = next((v for v in spelling_variants(w) if lex.has_term(v)), w)  # behaviour ~ behavior
        df = lex.doc_freq(w)
        weights[w] = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        absent += weights[w] if df == 0 else 0.0
    total = sum(weights.values())
    if total == 0:
        return Answerability(best, best, 1.0, 0.0)

    def share(seen: set[str]) -> float:
        return sum(idf for w, idf in weights.items() if any(v in seen for v in spelling_variants(w))) / total

    cov, ab = share(top5), absent / total
    focus = max((share(t) for t in chunk_terms.values()), default=0.0)
    return Answerability(best * (0.4 + 0.6 * math.sqrt(cov * focus)) * (1 - ab), best, cov, ab, focus)
