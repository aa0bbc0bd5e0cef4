"""The engine: built in one place from Settings; every front end goes through it.

    engine = Engine.open("path/to/index")          # or Engine.open(settings=Settings(...))
    engine.ingest(["notes/"])                       # incremental
    line = engine.ask("Why do models resist having their goals changed?")
    print(render(line, "text"))
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.chunking import Chunker
from ingest.embedder import Embedder, get_embedder
from ingest.pipeline import Ingestor, IngestReport, Progress
from rag import evidence as ev
from rag import next_lines as nl
from rag.answer import InquiringLine, Paragraph, Sentence, Source, with_spans
from rag.answerability import Answerability, answerability
from rag.retrieve import Filters, Retrieval, Retriever
from rag.settings import Settings
from rag.synthesize import INDIRECT, Context, Draft, Synthesizer
from store.errors import IndexMismatchError, InputError
from store.index import Index


@dataclass
class Prepared:
    """A question after retrieval and evidence selection, before synthesis."""

    question: str
    retrieval: Retrieval
    notes: dict[str, dict]
    hits: list
    ctx: Context | None
    timings: dict[str, float]
    t0: float
    answerability: Answerability | None = None
    neighbours: list[str] = field(default_factory=list)  # retrieved below the cut
    indirect: bool = False  # answerable, but only just: the answer says the notes bear on it indirectly


@dataclass
class BatchItem:
    id: str
    question: str


def build_synthesizer(settings: Settings, embedder: Embedder) -> Synthesizer:
    if settings.synthesis.synthesizer == "extractive":
        from rag.synthesize.extractive import ExtractiveSynthesizer

        return ExtractiveSynthesizer()
    from rag.synthesize.llm import LLMSynthesizer  # optional extra; fails loudly if unreachable

    return LLMSynthesizer(settings, embedder)


class Engine:
    def __init__(self, settings: Settings, index: Index, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.index = index
        self._embedder = embedder
        self.retriever = Retriever(index, lambda: self.embedder, settings.retrieval)
        self._synth: Synthesizer | None = None
        self._sent_cache: dict[str, np.ndarray] = {}

    @property
    def embedder(self) -> Embedder:
        """Loaded on first use (~0.5 s warm, several seconds cold): status and unchanged re-ingests never pay."""
        if self._embedder is None:
            s = self.settings
            self._embedder = get_embedder(s.embedder, s.embed_batch_size)
        return self._embedder

    # ------------------------------------------------------------------ construction
    @classmethod
    def open(cls, index: str | Path | None = None, settings: Settings | None = None, create: bool = False,
             check: bool = True, **overrides) -> "Engine":
        """Open (or with ``create=True`` make) the index; ``overrides`` are Settings fields.

        The index checks that its parts agree (see ``store.index.Index``) and raises ``IndexDamagedError``
        (or ``IndexMismatchError`` for another store than it was built with) naming the repair. With
        ``check=False`` (status) or ``create=True`` (ingest) it opens anyway: ``status()["problems"]`` lists
        what is wrong, ``ingest(rebuild=True)`` repairs it, and anything else that needs the broken parts
        raises."""
        s = settings or Settings(**overrides)
        if index is not None:
            s = s.model_copy(update={"index": Path(index)})
        idx = Index(s.index, s.chroma_url, s.collection, create=create, check=check and not create)
        built = idx.manifest.get("vector_hash")
        if built is not None and built != s.vector_hash() and not create:
            raise IndexMismatchError(
                f"The index at {s.index} was built with embedder {idx.manifest.get('embedder')!r} and chunking "
                f"{idx.manifest.get('chunking')}; the current settings differ. Use the same settings, or rebuild: "
                f"`inquire ingest PATH --rebuild --index {s.index}`."
            )
        eng = cls(s, idx)
        if s.synthesis.synthesizer == "llm":
            try:
                eng.synthesizer  # noqa: B018 - a configured LLM that cannot be reached fails here, at start
            except BaseException:
                eng.close()
                raise
        return eng

    @property
    def abstain_below(self) -> float:
        """The abstention threshold in force: the setting when given, else this index's calibrated value
        (`inquire calibrate`), else the default."""
        return self.threshold_source()[0]

    def threshold_source(self) -> tuple[float, str]:
        from rag.settings import DEFAULT_ABSTAIN_BELOW

        if self.settings.synthesis.abstain_below is not None:
            return self.settings.synthesis.abstain_below, "setting"
        cal = self.index.manifest.get("calibration")
        if cal and cal.get("vector_hash") == self.settings.vector_hash():
            return float(cal["abstain_below"]), "calibrated for this index"
        return DEFAULT_ABSTAIN_BELOW, "default"

    @property
    def synthesizer(self) -> Synthesizer:
        if self._synth is None:
            self._synth = build_synthesizer(self.settings, self.embedder)
        return self._synth

    # ------------------------------------------------------------------ ingest
    def ingest(self, paths: Iterable[str | Path], progress: Progress | None = None, rebuild: bool = False,
               wait: bool = False, on_wait: Callable[[str], None] | None = None, prune: bool = True) -> IngestReport:
        s = self.settings

        def tools() -> tuple[Embedder, Chunker]:  # only when something must be embedded
            emb = self.embedder
            return emb, Chunker(emb.count_tokens, emb.tokenizer.tokenize, min(s.chunking.max_tokens, emb.max_tokens),
                                s.chunking.overlap_tokens)

        ing = Ingestor(self.index, tools, s.vector_hash(), s.embedder, s.public_dump(),
                       int(s.max_file_mb * 1e6), batch_chunks=max(64, s.embed_batch_size * 8))
        with self.index.write_lock(wait=wait, on_wait=on_wait):
            rep = ing.run([Path(p) for p in paths], progress, rebuild=rebuild, prune=prune)
        self.index.recheck()  # a rebuild has cleared what was wrong
        return rep

    def status(self) -> dict:
        """What the index holds, and what is wrong with it: ``problems`` (empty when its parts agree) with
        ``repair``, the command that fixes them; ``ingest_running`` (the lock is held now, by ``ingest_pid``)
        apart from ``interrupted`` (an ingest was killed; the next one reconciles)."""
        idx = self.index
        problems = idx.check()
        m = idx.manifest
        threshold, source = self.threshold_source()
        running = idx.ingest_running()
        damaged = [p.message for p in problems if not p.mismatch]
        return {
            "index": str(idx.root), "store": idx.describe_store(), "notes": m.count_notes(),
            "chunks": m.count_chunks(), "vectors": self._vector_count_or_none(),
            "embedder": m.get("embedder"), "chunking": m.get("chunking"), "vector_hash": m.get("vector_hash"),
            "last_ingest": m.get("last_ingest"),
            "interrupted": bool(m.get("dirty", False)) and running is None,
            "ingest_running": running is not None, "ingest_pid": running if running and running > 0 else None,
            "problems": [p.message for p in problems],
            # damage: the rebuild command; only another store: the message, which names the store to pass
            "repair": (idx.repair_command().strip("`") if damaged else str(idx.error())) if problems else None,
            "skipped": m.skipped(), "warnings": m.warnings(),
            "abstain_below": threshold, "abstain_below_source": source,
            "calibration": m.get("calibration"),
        }

    def _vector_count_or_none(self) -> int | None:
        """The vectors' count when the store can be read despite the problems (None when it cannot)."""
        from store.errors import IndexDamagedError

        try:
            return self.index.vector_count
        except IndexDamagedError:
            return None

    def tags(self) -> dict[str, int]:
        """Every tag in the index with its number of notes, most used first (for filters)."""
        return self.index.manifest.tag_counts()

    # ------------------------------------------------------------------ ask
    def retrieve(self, question: str, k: int | None = None, filters: Filters | None = None,
                 mode: str | None = None) -> Retrieval:
        return self.retriever.retrieve(question, k=k, filters=filters, mode=mode)

    def prepare(self, question: str, filters: Filters | None = None, k: int | None = None) -> Prepared:
        """Retrieval and evidence selection: everything before a synthesizer writes. ``ctx`` is None when
        the notes cannot answer (the engine abstains)."""
        question = " ".join(str(question or "").split())
        if not question:
            raise InputError("The question is empty; ask something, e.g. `inquire ask \"Why do models flatter users?\"`")
        if len(question) > 2000:
            raise InputError(f"The question is {len(question)} characters long; keep it under 2,000.")
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        s = self.settings
        top_k = k or s.retrieval.top_k
        # a few notes beyond the cut: not for the answer, but as neighbours for the next lines
        r = self.retriever.retrieve(question, k=top_k + 8, filters=filters,
                                    mode=s.retrieval.mode if s.retrieval.mode != "lexical" else "hybrid")
        timings["retrieve"] = r.timings_ms["total"]
        notes = self.index.manifest.notes([h.note_id for h in r.hits])
        hits = [h for h in r.hits if h.note_id in notes]
        extra, hits = hits[top_k:], hits[:top_k]
        prep = Prepared(question, r, notes, hits, None, timings, t0, neighbours=[h.note_id for h in extra])
        t1 = time.perf_counter()
        prep.answerability = answerability(self.index, question, r)
        timings["answerability"] = (time.perf_counter() - t1) * 1000
        a, above = prep.answerability, s.synthesis.answer_above_similarity
        if not hits or a.under(self.abstain_below, above):
            return prep
        prep.indirect = a.under(s.synthesis.indirect_below, above)
        # usable notes: relevant in their own right (dense similarity near the best one)
        best = r.best_dense if r.best_dense is not None else -1.0
        usable = [h for i, h in enumerate(hits) if i < 2 or (h.dense or -1) >= best - 0.15]
        t1 = time.perf_counter()
        rows = [notes[h.note_id] for h in usable]
        chunk_rows = self.index.manifest.chunks_of([h.note_id for h in usable])
        cands = ev.candidates(rows, chunk_rows, {h.note_id: h.chunk_ids for h in usable})
        cands = ev.preselect(cands, question)  # embed two dozen sentences, not fifty
        vecs = self._sentence_vectors([c.text for c in cands])
        ev.score(cands, vecs, r.qvec, {h.note_id: h.dense or 0.0 for h in usable})
        chosen = ev.select(cands, s.synthesis.max_sentences)
        timings["evidence"] = (time.perf_counter() - t1) * 1000
        if chosen:
            prep.ctx = Context(question, rows, chosen, cands, self._themes(rows), indirect=prep.indirect)
        return prep

    def ask(self, question: str, filters: Filters | None = None, k: int | None = None) -> InquiringLine:
        """One question → one inquiring line (abstained when the notes cannot answer)."""
        return self.finish(self.prepare(question, filters, k))

    def stream(self, question: str, filters: Filters | None = None, k: int | None = None
               ) -> Iterator[str | InquiringLine]:
        """Text as the synthesizer writes it (LLM synthesizers), then the finished, verified InquiringLine."""
        prep = self.prepare(question, filters, k)
        if prep.ctx is not None and self.synthesizer.name != "extractive":
            for piece in self.synthesizer.stream(prep.ctx):
                if piece:
                    yield piece
        yield self.finish(prep)

    def finish(self, prep: Prepared) -> InquiringLine:
        """Synthesis, next lines and assembly for a prepared question."""
        if prep.ctx is None:
            return self._abstain(prep.question, prep.retrieval, prep.timings, prep.t0, prep.answerability)
        t1 = time.perf_counter()
        draft = self.synthesizer.synthesize(prep.ctx)
        prep.timings["synthesize"] = (time.perf_counter() - t1) * 1000
        if prep.indirect and INDIRECT not in draft.framing:  # an LLM's framing gets it too
            draft.framing = f"{draft.framing.rstrip()} {INDIRECT}"
        t1 = time.perf_counter()
        cited_ids = list(dict.fromkeys(c for p in draft.paragraphs for s_ in p.sentences for c in s_.cites))
        next_lines = self._next_lines(prep.question, prep.retrieval, prep.ctx.themes, cited_ids, prep.notes,
                                      prep.hits, prep.neighbours)
        prep.timings["next_lines"] = (time.perf_counter() - t1) * 1000
        return self._assemble(prep.question, draft, next_lines, prep.timings, prep.t0, prep.retrieval,
                              answer_check=prep.answerability, indirect=prep.indirect)

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings, remembered in-process: follow-up questions over the same notes reuse them."""
        if not texts:
            return np.zeros((0, self.embedder.dim), dtype=np.float32)
        cache = self._sent_cache
        todo = [t for t in dict.fromkeys(texts) if t not in cache]
        if todo:
            # small batches: sentences differ in length and a batch is padded to its longest (24 PubMedQA
            # sentences on one thread: 494 ms in one batch of 32, 350 ms in batches of 8)
            for t, v in zip(todo, self.embedder.encode(todo, batch_size=8)):
                cache[t] = v
            while len(cache) > 20000:  # bounded: ~30 MB of vectors at most
                cache.pop(next(iter(cache)))
        return np.stack([cache[t] for t in texts])

    def _themes(self, rows: list[dict]) -> list[str]:
        counts: Counter[str] = Counter()
        for rank, n in enumerate(rows):
            for t in n.get("tags") or []:
                counts[t] += 1.0 / (1 + 0.3 * rank)
        return [t for t, _ in counts.most_common(4)]

    def _assemble(self, question: str, draft: Draft, next_lines: list[str], timings: dict, t0: float,
                  r: Retrieval, abstained: bool = False, answer_check: Answerability | None = None,
                  indirect: bool = False) -> InquiringLine:
        paragraphs = with_spans([p for p in draft.paragraphs if p.sentences])
        cited = list(dict.fromkeys(c for p in paragraphs for s_ in p.sentences for c in s_.cites))
        rows = self.index.manifest.notes(cited)
        sources = [Source(id=i, title=rows[i]["title"], summary=rows[i]["summary"], path=rows[i]["path"],
                          url=rows[i]["url"], tags=rows[i]["tags"]) for i in cited]
        timings["total"] = (time.perf_counter() - t0) * 1000
        meta = {
            "synthesizer": draft.model, "embedder": self.embedder.name, "retrieval_mode": self.settings.retrieval.mode,
            "top_k": self.settings.retrieval.top_k, "vector_hash": self.settings.vector_hash(),
            "store": self.index.describe_store(), "best_similarity": r.best_dense,
            "answerability": round(answer_check.score, 4) if answer_check else None,
            "answerability_parts": {"best": answer_check.best, "coverage": round(answer_check.coverage, 4),
                                    "focus": round(answer_check.focus, 4),
                                    "absent": round(answer_check.absent, 4)} if answer_check else None,
            "abstain_below": self.abstain_below,
            "support": "none" if abstained else "indirect" if indirect else "direct",
            "retrieved": [{"id": h.note_id, "score": round(h.score, 5), "dense": h.dense, "lexical": h.lexical}
                          for h in r.hits],
            "timings_ms": {k: round(v, 2) for k, v in timings.items()},
        }
        if draft.dropped:
            meta["dropped_sentences"] = draft.dropped
        tk_cites = [c for c in draft.takeaway_cites if c in cited]
        return InquiringLine(question=question, framing=draft.framing, paragraphs=paragraphs,
                             takeaway=draft.takeaway, takeaway_cites=tk_cites, sources=sources,
                             next_lines=next_lines, abstained=abstained, meta=meta)

    def _abstain(self, question: str, r: Retrieval, timings: dict, t0: float,
                 answer_check: Answerability | None = None) -> InquiringLine:
        from rag.synthesize.extractive import question_clause

        draft = Draft(
            framing=f"This explores {question_clause(question)}.",
            paragraphs=[Paragraph(sentences=[Sentence(
                text="The notes in this knowledge base do not cover this question: nothing retrieved is close "
                     "enough to it to support an answer, so none is given rather than an invented one.")])],
            takeaway="The thing worth taking away: the notes cannot answer this yet; add notes on it, or ask about "
                     "what they do cover.",
            model="abstain",
        )
        return self._assemble(question, draft, [], timings, t0, r, abstained=True, answer_check=answer_check)

    def _next_lines(self, question: str, r: Retrieval, themes: list[str], cited: list[str], notes: dict,
                    hits, below_cut: list[str]) -> list[str]:
        want = self.settings.synthesis.next_lines
        if want == 0:
            return []
        m = self.index.manifest
        cited_rows = [notes[c] for c in cited if c in notes]
        linked = []
        for row in cited_rows:
            linked += row.get("links") or []
        neighbour_ids = [h.note_id for h in hits if h.note_id not in cited]
        neighbour_ids += [n for n in below_cut if n not in cited and n not in neighbour_ids]
        for nid in m.resolve_links(linked):
            if nid not in cited and nid not in neighbour_ids:
                neighbour_ids.append(nid)
        neighbours = list(m.notes(neighbour_ids).values())
        order = {n: i for i, n in enumerate(neighbour_ids)}
        neighbours.sort(key=lambda n: order[n["id"]])
        proposals = nl.propose(question, themes, cited_rows, neighbours)[:10]
        if not proposals:
            return []
        vecs = self._sentence_vectors([p.text for p in proposals])
        floor = self.settings.synthesis.next_line_min_similarity
        cited_set = set(cited)

        def answers_new_notes(i: int) -> bool:
            hits_ = self.index.vectors.query(vecs[i], 12)
            return any(h.score >= floor and h.note_id not in cited_set for h in hits_)

        titles = m.titles_matching([p.text for p in proposals])
        return nl.check(proposals, question, vecs, r.qvec, titles, answers_new_notes, min(5, max(3, want)))

    def ask_many(self, items: Iterable[BatchItem | str], filters: Filters | None = None
                 ) -> Iterator[tuple[BatchItem, InquiringLine | None, str | None]]:
        """Answer each question; a bad one yields its error message instead of stopping the batch."""
        from store.errors import InquireError

        for n, item in enumerate(items, start=1):
            if isinstance(item, str):
                item = BatchItem(str(n), item)
            try:
                yield item, self.ask(item.question, filters=filters), None
            except InquireError as e:
                yield item, None, str(e)

    def close(self) -> None:
        self.index.close()
