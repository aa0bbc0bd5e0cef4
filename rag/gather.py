"""Evidence orchestration: from the notes retrieval returned to the ``Context`` a synthesizer writes from.

One pass per question: the usable notes (relevant in their own right), their sentences (``rag.evidence``:
links read as titles, references repaired), a cheap preselection, one embedding call for the rest
(remembered in-process), relevance with the question's form, the selection, and what the composition needs
besides — the question's reading and concept, and the premise check's correction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag import evidence as ev
from rag import premise
from rag.reading import choose_concept, read
from rag.retrieve import Retrieval
from rag.settings import Settings
from rag.synthesize import Context
from store.index import Index

ALWAYS_USABLE = 2  # the notes retrieval ranks first and second are always read
USABLE_SHARE = 0.3  # a note further down is read when its fused score is at least this share of the best's
USABLE_MARGIN = 0.15  # ... and its best cosine is this close to the best note's
SENTENCE_BATCH = 8  # sentences per encode call: sentences differ in length and a batch pads to its longest
CACHE_MAX = 20000  # sentence vectors remembered in-process (about 30 MB)
THEMES = 4  # tags kept as the question's themes


class SentenceVectors:
    """Sentence embeddings, remembered in-process: follow-up questions over the same notes reuse them."""

    def __init__(self, embedder: Callable[[], object]) -> None:
        self._embedder = embedder
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        emb = self._embedder()
        if not texts:
            return np.zeros((0, emb.dim), dtype=np.float32)
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            for t, v in zip(todo, emb.encode(todo, batch_size=SENTENCE_BATCH)):
                self._cache[t] = v
            while len(self._cache) > CACHE_MAX:
                self._cache.pop(next(iter(self._cache)))
        return np.stack([self._cache[t] for t in texts])


@dataclass
class Gathered:
    context: Context | None
    usable: list  # the NoteHits read


def themes_of(rows: Sequence[dict]) -> list[str]:
    """The tags the best notes share, weighted toward the best-ranked."""
    counts: Counter[str] = Counter()
    for rank, n in enumerate(rows):
        for t in n.get("tags") or []:
            counts[t] += 1.0 / (1 + 0.3 * rank)
    return [t for t, _ in counts.most_common(THEMES)]


class Gatherer:
    def __init__(self, index: Index, vectors: SentenceVectors, settings: Settings) -> None:
        self.index = index
        self.vectors = vectors
        self.settings = settings

    def link_resolver(self, retrieved: set[str]) -> Callable[[str], tuple[str | None, str] | None]:
        """[[link]] → (note id, title) for links to notes this question retrieved (a link to any other note is
        read as its title too, but not cited: the answer cites only what retrieval found)."""
        m = self.index.manifest
        cache: dict[str, tuple[str, str] | None] = {}

        def resolve(key: str) -> tuple[str, str] | None:
            if key not in cache:
                ids = m.resolve_links([key])
                cache[key] = None
                if ids:
                    row = m.notes(ids[:1]).get(ids[0])
                    if row is not None:
                        cache[key] = (ids[0], row["title"])
            hit = cache[key]
            if hit is None:
                return None
            return hit if hit[0] in retrieved else (None, hit[1])

        return resolve

    def question_terms(self, question: str) -> dict[str, float]:
        """The question's content words the notes use, stem -> IDF (from the lexical index; none without one)."""
        lex = self.index.lexical()
        if lex is None or lex.retriever is None:
            return {}
        from rag.query_terms import query_terms

        return {t.term: t.idf for t in query_terms(lex, question) if t.df > 0}

    def gather(self, question: str, r: Retrieval, hits: list, notes: dict[str, dict], indirect: bool) -> Gathered:
        s = self.settings
        best = r.best_dense if r.best_dense is not None else -1.0
        top = hits[0].score if hits else 0.0
        usable = [h for i, h in enumerate(hits) if i < ALWAYS_USABLE or (
            (h.dense or -1) >= best - USABLE_MARGIN and (top <= 0 or h.score >= USABLE_SHARE * top))]
        rows = [notes[h.note_id] for h in usable]
        chunk_rows = self.index.manifest.chunks_of([h.note_id for h in usable])
        resolve = self.link_resolver({h.note_id for h in r.hits})
        cands = ev.candidates(rows, chunk_rows, {h.note_id: h.chunk_ids for h in usable}, link_title=resolve)
        reading = read(question)
        correction = self._premise(question, cands, [h.note_id for h in usable])
        chosen_pre = ev.preselect(cands, question)  # embed two dozen sentences, not fifty
        if correction is not None and correction not in chosen_pre:
            chosen_pre.append(correction)
        focused = ev.is_focused(reading.form, [h.score for h in hits])
        if focused:  # the one note that answers is read further: its context and its own takeaway are in it
            chosen_pre += ev.focus_extra(cands, hits[0].note_id, chosen_pre)
        vecs = self.vectors([c.text for c in chosen_pre])
        ev.score(chosen_pre, vecs, r.qvec, {h.note_id: h.dense or 0.0 for h in usable}, form=reading.form,
                 question=question)
        chosen = ev.select(chosen_pre, s.synthesis.max_sentences, focused=focused)
        if not chosen:
            return Gathered(None, usable)
        in_answer = {c.note_id for c in chosen}
        for c in chosen_pre:
            c.linking = bool(set(c.link_ids) & (in_answer - {c.note_id}))
        concept = choose_concept(question, rows, self.vectors, r.qvec)
        claim = None
        if correction is not None:  # "why X raises Y" reads better than the bare presupposition "X raise Y"
            claim = premise.presupposition(question)
            if reading.clause and not reading.lead and reading.form in ("why", "how") \
                    and reading.clause.split(" ", 1)[0] in ("why", "how"):
                claim = reading.clause.split(" ", 1)[1]
        ctx = Context(question, rows, chosen, chosen_pre, themes_of(rows), indirect=indirect, reading=reading,
                      concept=concept, correction=correction, correction_claim=claim, focused=focused,
                      terms=self.question_terms(question),
                      note_text={n["id"]: ev.passages(n, chunk_rows.get(n["id"], []), resolve) for n in rows})
        return Gathered(ctx, usable)

    @staticmethod
    def _premise(question: str, cands: list, order: list[str]):
        """The candidate sentence that corrects the question's premise, if the best notes contradict it."""
        by_note: dict[str, list] = {}
        for c in cands:
            by_note.setdefault(c.note_id, []).append(c)
        notes = [(nid, [(c.text, c.from_summary) for c in sorted(by_note.get(nid, []), key=lambda c: c.position)])
                 for nid in order if nid in by_note]
        found = premise.check(question, notes)
        if found is None:
            return None
        mine = by_note[found.note_id]
        return next((c for c in mine if c.text == found.context), None) or \
            next((c for c in mine if c.text == found.sentence), None)
