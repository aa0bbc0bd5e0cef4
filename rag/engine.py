"""The engine: built in one place from Settings, with public slots for its parts; every front end goes
through it. It orchestrates only — each step is its own module:

    question → retrieve (rag.retrieve) → answerability (rag.answerability) → evidence (rag.gather, with
    rag.evidence, rag.reading and rag.premise) → synthesize (rag.synthesize.*) → next lines (rag.next_lines)
    → the InquiringLine (rag.answer)

    engine = Engine.open("path/to/index")          # or Engine.open(settings=Settings(...), embedder=..., ...)
    engine.ingest(["notes/"])                       # incremental
    line = engine.ask("Why do models resist having their goals changed?")
    print(render(line, "text"))
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunking import Chunker
from ingest.embedder import Embedder
from ingest.embedders import get_embedder
from ingest.pipeline import Ingestor, IngestReport, Progress
from rag.answer import (AnswerabilityParts, Dropped, InquiringLine, Meta, Paragraph, RetrievedNote, Sentence,
                        Source, Support, with_spans)
from rag.answerability import Answerability, answerability, support_level
from rag.coverage import Coverage, apart, study_apart
from rag.compose import INDIRECT_VARIANTS, indirect_note, pick
from rag.gather import Gatherer, SentenceVectors
from rag.next_lines import NextLines
from rag.retrieve import Filters, Retrieval, Retriever
from rag.settings import Settings
from rag.status import Entry, IndexStatus
from rag.synthesize import Context, Draft, Synthesizer
from store.base import VectorStore
from store.errors import InquireError, InputError
from store.index import Index

MAX_QUESTION_CHARS = 2000  # a longer "question" is a pasted document; say so rather than embed its first 256 tokens
COVERAGE_NOTES = 3  # the top hits whose words count as the notes' own for rag.coverage (with the evidence's notes)
NEIGHBOURS_BEYOND_K = 8  # notes retrieved past the cut: not for the answer, but as neighbours for next lines


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
    support: Support = "none"
    judgement: object | None = None  # rag.judge.Judgement, with synthesis.llm_judge on
    uncovered: list[str] = field(default_factory=list)  # what the question names that its best notes do not


@dataclass
class BatchItem:
    id: str
    question: str


def build_synthesizer(settings: Settings, embedder: Embedder, llm: object | None = None) -> Synthesizer:
    """The synthesizer the settings name; ``llm`` replaces the client the LLM synthesizer would build."""
    if settings.synthesis.synthesizer == "extractive":
        from rag.synthesize.extractive import ExtractiveSynthesizer

        return ExtractiveSynthesizer()
    from rag.synthesize.llm import LLMSynthesizer  # optional extra; fails loudly if unreachable

    return LLMSynthesizer(settings, embedder, llm=llm)


def settings_hash(settings: Settings) -> str:
    """Fingerprint of every setting (recorded in each answer's meta)."""
    return hashlib.sha256(json.dumps(settings.public_dump(), sort_keys=True).encode()).hexdigest()[:16]


class Engine:
    def __init__(self, settings: Settings, index: Index, embedder: Embedder | None = None,
                 synthesizer: Synthesizer | None = None, llm: object | None = None) -> None:
        self.settings = settings
        self.index = index
        self._embedder = embedder
        self._synth = synthesizer
        self._llm = llm
        self.retriever = Retriever(index, lambda: self.embedder, settings.retrieval)
        self.sentence_vectors = SentenceVectors(lambda: self.embedder)
        self.gatherer = Gatherer(index, self.sentence_vectors, settings)
        syn = settings.synthesis
        self.next_lines = NextLines(index, self.sentence_vectors, syn.next_line_min_similarity, syn.next_lines)
        self._settings_hash = settings_hash(settings)

    @property
    def embedder(self) -> Embedder:
        """Loaded on first use (~0.5 s warm, several seconds cold): status and unchanged re-ingests never pay."""
        if self._embedder is None:
            s = self.settings
            self._embedder = get_embedder(s.embedder, s.embed_batch_size, s.embedder_backend, s.cache_dir)
        return self._embedder

    # ------------------------------------------------------------------ construction
    @classmethod
    def open(cls, index: str | Path | None = None, settings: Settings | None = None, create: bool = False,
             check: bool = True, *, embedder: Embedder | None = None, synthesizer: Synthesizer | None = None,
             llm: object | None = None, store: VectorStore | None = None, **overrides) -> "Engine":
        """Open (or with ``create=True`` make) the index; ``overrides`` are Settings fields. The parts the
        settings would build can be given instead (tests, evals, other hosts): ``embedder``, ``synthesizer``,
        ``llm`` (a llama-index LLM for the LLM synthesizer) and ``store`` (any ``store.base.VectorStore``).

        The index checks that its parts agree (see ``store.index.Index``) and raises ``IndexDamagedError``
        (or ``IndexMismatchError`` for another store than it was built with) naming the repair. With
        ``check=False`` (status) or ``create=True`` (ingest) it opens anyway: ``status()["problems"]`` lists
        what is wrong, ``ingest(rebuild=True)`` repairs it, and anything else that needs the broken parts
        raises."""
        s = settings or Settings(**overrides)
        if index is not None:
            s = s.model_copy(update={"index": Path(index)})
        idx = Index(s.index, s.chroma_url, s.collection, create=create, check=check and not create, store=store)
        if not create:
            try:
                idx.check_built_with(s.vector_hash())
            except BaseException:
                idx.close()
                raise
        eng = cls(s, idx, embedder=embedder, synthesizer=synthesizer, llm=llm)
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
    def llm(self) -> object:
        """The LLM given, else the LLM synthesizer's, else one built from the [llm] settings."""
        if self._llm is None:
            syn = self._synth if self._synth is not None or self.settings.synthesis.synthesizer != "llm" \
                else self.synthesizer
            self._llm = getattr(syn, "llm", None)
            if self._llm is None:
                from rag.llm_clients import build_llm

                self._llm = build_llm(self.settings.llm)[0]
        return self._llm

    @property
    def synthesizer(self) -> Synthesizer:
        """The synthesizer given, else the one the settings name (built on first use)."""
        if self._synth is None:
            self._synth = build_synthesizer(self.settings, self.embedder, self._llm)
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

    def status(self) -> IndexStatus:
        """What the index holds, and what is wrong with it: ``problems`` (empty when its parts agree) with
        ``repair``, the command that fixes them; ``ingest_running`` (the lock is held now, by ``ingest_pid``)
        apart from ``interrupted`` (an ingest was killed; the next one reconciles)."""
        idx = self.index
        problems = idx.check()
        m = idx.manifest
        threshold, source = self.threshold_source()
        running = idx.ingest_running()
        damaged = [p.message for p in problems if not p.mismatch]
        return IndexStatus(
            index=str(idx.root), store=idx.describe_store(), notes=m.count_notes(),
            chunks=m.count_chunks(), vectors=self._vector_count_or_none(),
            embedder=m.get("embedder"), chunking=m.get("chunking"), vector_hash=m.get("vector_hash"),
            last_ingest=m.get("last_ingest"),
            interrupted=bool(m.get("dirty", False)) and running is None,
            ingest_running=running is not None, ingest_pid=running if running and running > 0 else None,
            problems=[p.message for p in problems],
            # damage: the rebuild command; only another store: the message, which names the store to pass
            repair=(idx.repair_command().strip("`") if damaged else str(idx.error())) if problems else None,
            skipped=[Entry(**r) for r in m.skipped()], warnings=[Entry(**r) for r in m.warnings()],
            abstain_below=threshold, abstain_below_source=source,
            calibration=m.get("calibration"),
        )

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

    def support_of(self, a: Answerability) -> Support:
        """none (refuse: far from every note), indirect or direct, from the question's answerability
        (``rag.answerability.support_level``, the rule `inquire calibrate` follows too)."""
        return support_level(a, self.abstain_below, self.settings.synthesis)

    def prepare(self, question: str, filters: Filters | None = None, k: int | None = None) -> Prepared:
        """Retrieval, answerability and evidence: everything before a synthesizer writes. ``ctx`` is None when
        the notes cannot answer (the engine abstains)."""
        question = " ".join(str(question or "").split())
        if not question:
            raise InputError("The question is empty; ask something, e.g. `inquire ask \"Why do models flatter users?\"`")
        if len(question) > MAX_QUESTION_CHARS:
            raise InputError(f"The question is {len(question)} characters long; keep it under {MAX_QUESTION_CHARS:,}.")
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        s = self.settings
        top_k = k or s.retrieval.top_k
        r = self.retriever.retrieve(question, k=top_k + NEIGHBOURS_BEYOND_K, filters=filters,
                                    mode=s.retrieval.mode if s.retrieval.mode != "lexical" else "hybrid")
        timings["retrieve"] = r.timings_ms["total"]
        notes = self.index.manifest.notes([h.note_id for h in r.hits])
        hits = [h for h in r.hits if h.note_id in notes]
        extra, hits = hits[top_k:], hits[:top_k]
        prep = Prepared(question, r, notes, hits, None, timings, t0, neighbours=[h.note_id for h in extra])
        t1 = time.perf_counter()
        prep.answerability = answerability(self.index, question, r)
        timings["answerability"] = (time.perf_counter() - t1) * 1000
        prep.support = self.support_of(prep.answerability) if hits else "none"
        if prep.support == "none":
            return prep
        t1 = time.perf_counter()
        prep.ctx = self.gatherer.gather(question, r, hits, notes, indirect=prep.support == "indirect").context
        timings["evidence"] = (time.perf_counter() - t1) * 1000
        if prep.ctx is None:
            prep.support = "none"
        elif prep.ctx.correction is not None:
            prep.support = "contradicted"
        if prep.ctx is not None and s.synthesis.coverage_check and prep.support in ("direct", "indirect"):
            self._check_coverage(prep)
        if prep.ctx is not None and s.synthesis.llm_judge and prep.support in ("direct", "indirect"):
            self._judge(prep)
        return prep

    def _check_coverage(self, prep: Prepared) -> None:
        """What the question names that the best notes (the top hits and the evidence's notes) never mention
        (``rag.coverage``): any such phrase flags a direct answer indirect and names what is missing."""
        t1 = time.perf_counter()
        lex = self.index.lexical()
        share = (lambda w: lex.doc_freq(w) / max(lex.num_docs, 1)) if lex is not None else None
        ids = list(dict.fromkeys([h.note_id for h in prep.hits[:COVERAGE_NOTES]]
                                 + [c.note_id for c in prep.ctx.evidence]))
        by_note = self.index.manifest.chunks_of(ids)
        texts = [c["text"] for chunks in by_note.values() for c in chunks]
        prep.uncovered = Coverage(share).uncovered(prep.question, texts)
        whole = [" ".join(c["text"] for c in by_note.get(i, [])) for i in ids if i in by_note]  # best first
        if not prep.uncovered:  # every name is in some best note: is each with the others it is asked about?
            found = apart(prep.question, whole)
            if found is not None:
                held = found[1]
                if not held:  # a lone name the best note does not write: it is elsewhere, in another study
                    prep.uncovered = [f"{found[0]} in the setting the question asks about"]
                else:
                    others = held[0] if len(held) == 1 else ", ".join(held[:-1]) + " and " + held[-1]
                    prep.uncovered = [f"{found[0]} together with {others}"]
        if not prep.uncovered:  # "which datasets …", "what percentage …", "with model size", "what mechanism":
            # does the note it is about say it?
            kind = study_apart(prep.question, whole, share)
            if kind is not None:
                prep.uncovered = [kind]
        prep.timings["coverage"] = (time.perf_counter() - t1) * 1000
        if prep.uncovered:
            prep.support = "indirect"
            prep.ctx.indirect = True
            prep.ctx.missing = prep.ctx.missing or " or ".join(prep.uncovered)

    def _judge(self, prep: Prepared) -> None:
        """The LLM's verdict on whether the evidence answers the question (``rag.judge``), applied."""
        from rag import judge

        t1 = time.perf_counter()
        titles = {n["id"]: n.get("title", n["id"]) for n in prep.ctx.notes}
        j = judge.SupportJudge(self.llm).judge(prep.question, prep.ctx.evidence, titles)
        prep.timings["judge"] = (time.perf_counter() - t1) * 1000
        prep.judgement = j
        prep.support = judge.apply(prep.support, j)
        prep.ctx.indirect = prep.support == "indirect"
        if j.kept and j.verdict != "answers" and j.missing:
            prep.ctx.missing = j.missing

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
            return self._abstain(prep)
        t1 = time.perf_counter()
        draft = self.synthesizer.synthesize(prep.ctx)
        prep.timings["synthesize"] = (time.perf_counter() - t1) * 1000
        if prep.support == "indirect":
            flag = indirect_note(prep.ctx.missing, prep.question)
            said = flag in draft.framing or (not prep.ctx.missing and any(v in draft.framing for v in INDIRECT_VARIANTS))
            if not said:
                draft.framing = f"{draft.framing.rstrip()} {flag}"
        t1 = time.perf_counter()
        cited = list(dict.fromkeys(c for p in draft.paragraphs for s_ in p.sentences for c in s_.cites))
        neighbours = [h.note_id for h in prep.hits if h.note_id not in cited] + \
            [n for n in prep.neighbours if n not in cited]
        lines = self.next_lines.lines(prep.question, prep.retrieval.qvec, prep.ctx.concept, cited, prep.notes,
                                      neighbours)
        prep.timings["next_lines"] = (time.perf_counter() - t1) * 1000
        return self._assemble(prep, draft, lines)

    def _assemble(self, prep: Prepared, draft: Draft, next_lines: list[str]) -> InquiringLine:
        paragraphs = with_spans([p for p in draft.paragraphs if p.sentences])
        cited = list(dict.fromkeys(c for p in paragraphs for s_ in p.sentences for c in s_.cites))
        rows = self.index.manifest.notes(cited)
        sources = [Source(id=i, title=rows[i]["title"], summary=rows[i]["summary"], path=rows[i]["path"],
                          url=rows[i]["url"], tags=rows[i]["tags"]) for i in cited]
        prep.timings["total"] = (time.perf_counter() - prep.t0) * 1000
        a, r, ctx = prep.answerability, prep.retrieval, prep.ctx
        meta = Meta(
            support=prep.support, synthesizer=draft.model, embedder=self.settings.embedder,
            retrieval_mode=self.settings.retrieval.mode, top_k=len(prep.hits),
            vector_hash=self.settings.vector_hash(), settings_hash=self._settings_hash,
            store=self.index.describe_store(), best_similarity=r.best_dense,
            answerability=round(a.score, 4) if a else None,
            answerability_parts=AnswerabilityParts(best=a.best, coverage=round(a.coverage, 4),
                                                   focus=round(a.focus, 4), absent=round(a.absent, 4)) if a else None,
            abstain_below=self.abstain_below,
            premise=ctx.correction_claim if ctx is not None and ctx.correction is not None else None,
            judgement=prep.judgement.as_meta() if prep.judgement is not None else None,
            concept=ctx.concept if ctx is not None else None,
            uncovered=prep.uncovered,
            retrieved=[RetrievedNote(id=h.note_id, score=round(h.score, 5), dense=h.dense, lexical=h.lexical)
                       for h in r.hits],
            dropped_sentences=[Dropped(**{k: v for k, v in d.items() if k in Dropped.model_fields})
                               for d in draft.dropped],
            timings_ms={k: round(v, 2) for k, v in prep.timings.items()},
        )
        tk_cites = [c for c in draft.takeaway_cites if c in cited]
        return InquiringLine(question=prep.question, framing=draft.framing, paragraphs=paragraphs,
                             takeaway=draft.takeaway, takeaway_cites=tk_cites, sources=sources,
                             next_lines=next_lines, abstained=prep.support == "none", meta=meta)

    def _abstain(self, prep: Prepared) -> InquiringLine:
        """The notes cannot answer: say so, cite nothing, and offer the nearest lines they do cover."""
        q = prep.question
        nearby = [h.note_id for h in prep.retrieval.hits]
        lines = self.next_lines.lines(q, prep.retrieval.qvec, None, [], prep.notes, nearby, abstained=True)
        text = ("The notes in this knowledge base do not cover this question: nothing retrieved is close enough to "
                "it to support an answer, so none is given rather than an invented one.")
        if lines:
            text += " " + pick(_NEAREST_OFFER, q, "offer")
        draft = Draft(framing=_abstain_framing(q),
                      paragraphs=[Paragraph(sentences=[Sentence(text=text, kind="connection")])],
                      takeaway=pick(_ABSTAIN_TAKEAWAYS, q, "abstain"), model="abstain")
        prep.support = "none"
        return self._assemble(prep, draft, lines)

    def ask_many(self, items: Iterable[BatchItem | str], filters: Filters | None = None
                 ) -> Iterator[tuple[BatchItem, InquiringLine | None, str | None]]:
        """Answer each question; a bad one yields its error message instead of stopping the batch."""
        for n, item in enumerate(items, start=1):
            if isinstance(item, str):
                item = BatchItem(str(n), item)
            try:
                yield item, self.ask(item.question, filters=filters), None
            except InquireError as e:
                yield item, None, str(e)

    def close(self) -> None:
        self.index.close()


_NEAREST_OFFER = ["The nearest lines the notes do take up are below.",
                  "Below are the closest questions they can take up.",
                  "What they can take up nearby is listed below."]
_ABSTAIN_TAKEAWAYS = ["the notes cannot answer this yet; add notes on it, or ask about what they do cover.",
                      "this is outside what the notes hold; a note on it would let the question be answered.",
                      "nothing here settles it; the questions below are the nearest the notes can take up."]


def _abstain_framing(question: str) -> str:
    from rag.synthesize.extractive import question_clause

    return f"This explores {question_clause(question)}."
