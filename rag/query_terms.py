"""The content terms of a question as the lexical index sees them: stemmed, stopword-free, each mapped to
the spelling the corpus uses (behaviour ~ behavior) and weighted by its IDF. Retrieval (how much of the
question BM25 can see) and answerability (how much of it the best passages hold) both read this."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rag.text import STOPWORDS


def spelling_variants(stem: str) -> list[str]:
    """A stemmed word and its British/American spellings (behaviour/behavior, optimis/optimiz, analys/analyz)."""
    out = [stem]
    for a, b in (("our", "or"), ("or", "our"), ("is", "iz"), ("iz", "is"), ("ys", "yz"), ("yz", "ys"),
                 ("ae", "e"), ("oe", "e"), ("tre", "ter"), ("ter", "tre")):
        if a in stem:
            out.append(stem.replace(a, b))
    return out


@dataclass
class QueryTerm:
    term: str  # the stem, in the corpus's spelling when it has one
    idf: float
    df: int  # chunks holding it; 0 for a word the corpus never uses


def query_terms(lex, query: str) -> list[QueryTerm]:
    """The question's content terms with their IDF over the lexical index ``lex`` (a store.lexical.LexicalIndex)."""
    from store.lexical import terms

    n_docs = lex.num_docs
    out: dict[str, QueryTerm] = {}
    for w in dict.fromkeys(w for w in terms(query) if w not in STOPWORDS):  # function words say nothing
        w = next((v for v in spelling_variants(w) if lex.has_term(v)), w)
        df = lex.doc_freq(w)
        out[w] = QueryTerm(w, math.log(1 + (n_docs - df + 0.5) / (df + 0.5)), df)
    return list(out.values())


def visible_share(qterms: list[QueryTerm]) -> float:
    """Share of the question's IDF mass in words the corpus uses at all (1.0 for a question with no content
    words: nothing to discount)."""
    total = sum(t.idf for t in qterms)
    return sum(t.idf for t in qterms if t.df > 0) / total if total else 1.0
