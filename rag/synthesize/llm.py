"""The LLM synthesizer: an LLM writes the inquiring line from numbered evidence; every sentence it
writes is then checked against the evidence it cites (``rag.verify``).

The client comes from ``rag.llm_clients`` (checked at construction, so a configured LLM that cannot be
reached fails when the engine opens); the reply is read by ``llm_reply``; ``llm_stream`` shows it while it
is written.

What the LLM writes is taken only as far as it can be checked:
  * its reply must be JSON in the shape the prompt asks for; an unusable reply is answered once with
    a short repair prompt, and a second unusable one makes the answer fall back, visibly, to the
    extractive synthesizer (``meta["synthesizer"]`` says so; ``meta["dropped_sentences"]`` says why);
  * citations are evidence numbers, mapped here to note ids; a number that was not given is an
    invented citation and is removed (and recorded);
  * sentences are verified against the cited evidence; unsupported findings are dropped (recorded).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rag import prompts
from rag.answer import Paragraph, Sentence
from rag.llm_clients import build_llm, failure
from rag.synthesize import Context, Draft
from rag.synthesize.llm_reply import InvalidReply, extract_json, has_words, parse_reply
from rag.synthesize.llm_stream import ProseStream
from rag.verify import verify

EVIDENCE_TOKENS = 8 * 254  # the evidence one prompt may hold: eight chunks at the chunker's 254-token maximum
# (~2k tokens), which leaves the reply room in a 4k llama.cpp context (12 isolated sentences took ~2.5k before
# passages were given). A budget in tokens, not a count of passages: a demo note's sections are ~100 tokens (~450
# characters), and a count of eight gave the LLM as little as two sections (768 characters, one demo question).
CHARS_PER_TOKEN = 4  # characters per token, to estimate a passage's tokens: the demo notes' 264 non-link chunks
# average 4.44 characters per MiniLM token (p10 3.72, p90 5.19); 4 errs toward a shorter prompt
MAX_EXTRA = 3  # passages from notes the selected evidence does not quote (strong unused sentences of the pool)


@dataclass
class Item:
    n: int
    note_id: str
    title: str
    text: str
    passage: str


class LLMSynthesizer:
    name = "llm"

    def __init__(self, settings, embedder, llm=None) -> None:
        self.settings = settings
        self.llm_settings = settings.llm
        self.embedder = embedder
        self.threshold = settings.synthesis.support_threshold
        provider = settings.llm.provider
        if llm is None:
            llm, model_name = build_llm(settings.llm)
        else:
            model_name = settings.llm.model or type(llm).__name__
        self.llm = llm
        self.model_label = f"llm ({provider}: {model_name})"
        # llama.cpp contexts are not safe to use from two threads at once; servers are
        self._lock = threading.Lock() if provider == "llamacpp" else None
        self._streamed: dict[str, str] = {}  # prompt key -> full reply, of the last few finished streams
        self._cache_lock = threading.Lock()

    # ---------------------------------------------------------------- evidence and prompt
    def number_evidence(self, ctx: Context) -> list[Item]:
        """The passages (the chunk around each selected sentence; a summary for a summary sentence) the LLM
        writes from, numbered from 1 in reading order (notes in order of their best sentence), within
        ``EVIDENCE_TOKENS``: first the selected evidence's passages; then the other passages the pool holds of
        the notes the evidence quotes (the rest of a short note: its caveats, its method, what it links to);
        then up to ``MAX_EXTRA`` passages of strong unused sentences from the pool's other notes. Duplicates
        are merged: a passage given twice, or one inside another of the same note (a summary the body's
        opening restates), is one item."""
        titles = {n["id"]: n.get("title", n["id"]) for n in ctx.notes}
        chosen = list(ctx.evidence)
        quoted = {c.note_id for c in chosen}
        rank = {n["id"]: i for i, n in enumerate(ctx.notes)}
        seen = {(c.note_id, c.text) for c in chosen}
        rest = [c for c in ctx.pool if (c.note_id, c.text) not in seen and c.note_id in titles]
        # the rest of the quoted notes, best note first, in note order
        same = sorted((c for c in rest if c.note_id in quoted), key=lambda c: (rank.get(c.note_id, 99), c.position))
        floor = min((c.relevance for c in chosen), default=0.0)
        other = sorted((c for c in rest if c.note_id not in quoted and not c.dangling and not c.linked
                        and c.relevance >= floor), key=lambda c: -c.relevance)
        items: list[tuple[object, str]] = []  # (first candidate, passage)
        budget = EVIDENCE_TOKENS * CHARS_PER_TOKEN
        used = n_extra = 0
        for group, c in [("chosen", c) for c in chosen] + [("same", c) for c in same] + [("other", c) for c in other]:
            if group == "other" and n_extra >= MAX_EXTRA:
                break
            passage = " ".join((c.passage or c.text).split())
            flat = passage.lower()
            dup = next((i for i, (o, p) in enumerate(items) if o.note_id == c.note_id
                        and (flat in p.lower() or p.lower() in flat)), None)
            if dup is not None:
                if len(passage) > len(items[dup][1]) and used - len(items[dup][1]) + len(passage) <= budget:
                    used += len(passage) - len(items[dup][1])
                    items[dup] = (items[dup][0], passage)  # keep the longer of two nested passages
                continue
            if items and used + len(passage) > budget:
                continue  # over the budget: a shorter passage further on may still fit
            items.append((c, passage))
            used += len(passage)
            n_extra += group == "other"
        first: dict[str, int] = {}
        for i, (c, _) in enumerate(items):
            first.setdefault(c.note_id, i)
        items.sort(key=lambda cp: (first[cp[0].note_id], cp[0].position))
        return [Item(i + 1, c.note_id, titles.get(c.note_id, c.note_id), c.text, p)
                for i, (c, p) in enumerate(items)]

    def messages(self, ctx: Context, items: Sequence[Item]) -> list:
        from llama_index.core.llms import ChatMessage

        evidence = "\n".join(prompts.render("evidence_item", n=it.n, title=it.title, text=it.passage) for it in items)
        user = prompts.render("answer", question=ctx.question, evidence=evidence, numbers=self._numbers(items),
                              framing_lead=prompts.FRAMING_LEAD, takeaway_lead=prompts.TAKEAWAY_LEAD)
        return [ChatMessage(role="system", content=prompts.render("system")), ChatMessage(role="user", content=user)]

    @staticmethod
    def _numbers(items: Sequence[Item]) -> str:
        return f"1 to {len(items)}" if len(items) > 1 else "1"

    @staticmethod
    def _key(messages) -> str:
        return hashlib.sha256(json.dumps([(m.role.value, m.content) for m in messages]).encode()).hexdigest()

    # ---------------------------------------------------------------- calling the LLM
    def _fail(self, e: BaseException):
        return failure(self.llm_settings, e)

    def _chat(self, messages) -> str:
        try:
            if self._lock is not None:
                with self._lock:
                    r = self.llm.chat(messages)
            else:
                r = self.llm.chat(messages)
        except Exception as e:  # noqa: BLE001 - every client failure becomes one clear error
            raise self._fail(e) from e
        return r.message.content or ""

    def stream(self, ctx: Context) -> Iterator[str]:
        """The line as the LLM writes it, as readable text (framing, sentences, takeaway; see
        ``ProseStream``), for the page. Unverified: the final, checked Draft comes from ``synthesize``,
        which on the same context reuses the finished reply instead of asking the LLM again."""
        items = self.number_evidence(ctx)
        if not items:
            return
        msgs = self.messages(ctx, items)
        text = ""
        prose = ProseStream()
        with self._lock or contextlib.nullcontext():
            try:
                for r in self.llm.stream_chat(msgs):
                    if r.delta:
                        text += r.delta
                        shown = prose.feed(r.delta)
                        if shown:
                            yield shown
            except Exception as e:  # noqa: BLE001
                raise self._fail(e) from e
        with self._cache_lock:
            self._streamed[self._key(msgs)] = text
            while len(self._streamed) > 8:
                self._streamed.pop(next(iter(self._streamed)))

    # ---------------------------------------------------------------- synthesize
    def synthesize(self, ctx: Context) -> Draft:
        items = self.number_evidence(ctx)
        if not items:
            return self._fallback(ctx, "no evidence to write from", [])
        msgs = self.messages(ctx, items)
        key = self._key(msgs)
        with self._cache_lock:
            cached = self._streamed.pop(key, None)
        reply = cached if cached is not None else self._chat(msgs)
        dropped: list[dict] = []
        try:
            parsed = parse_reply(extract_json(reply))
        except InvalidReply as first:
            from llama_index.core.llms import ChatMessage

            repair = prompts.render("repair", error=str(first), numbers=self._numbers(items))
            reply2 = self._chat([*msgs, ChatMessage(role="assistant", content=reply[:4000]),
                                 ChatMessage(role="user", content=repair)])
            try:
                parsed = parse_reply(extract_json(reply2))
                dropped.append({"reason": "llm reply repaired", "error": str(first), "text": reply[:500]})
            except InvalidReply as second:
                return self._fallback(ctx, "invalid JSON", [
                    {"reason": "llm returned invalid JSON", "error": str(first), "text": reply[:500]},
                    {"reason": "llm returned invalid JSON after the repair prompt", "error": str(second),
                     "text": reply2[:500]}])
        draft = self._draft(ctx, items, parsed, dropped)
        evidence_by_note: dict[str, list[str]] = {}
        for it in items:  # what the LLM was shown: the passages
            evidence_by_note.setdefault(it.note_id, [])
            if it.passage not in evidence_by_note[it.note_id]:
                evidence_by_note[it.note_id].append(it.passage)
        for nid, passages in evidence_by_note.items():  # ... checked against the whole of each note it was shown:
            # a sentence is held to what its cited note says, not to the part of it the prompt had room for (a
            # capable model's sentence that the note supports was dropped for resting on a neighbouring section)
            passages += [t for t in ctx.note_text.get(nid, []) if t not in passages]
        verify(draft, evidence_by_note, self.embedder, self.threshold, question=ctx.question, topics=ctx.themes)
        if not any(s.cites for p in draft.paragraphs for s in p.sentences):
            return self._fallback(ctx, "no supported sentences", draft.dropped)
        return draft

    def _draft(self, ctx: Context, items: Sequence[Item], parsed, dropped: list[dict]) -> Draft:
        framing, paras, takeaway, tk_raw = parsed
        by_n = {it.n: it for it in items}

        def map_cites(text: str, raw: list) -> tuple[list[str], str | None]:
            ids: list[str] = []
            quote = None
            bad = [c for c in raw if not (isinstance(c, int) and not isinstance(c, bool) and c in by_n)]
            for c in raw:
                if c in bad:
                    continue
                it = by_n[c]
                quote = quote or it.passage
                if it.note_id not in ids:
                    ids.append(it.note_id)
            for c in dict.fromkeys(map(str, bad)):
                dropped.append({"text": text, "cites": [c], "score": None,
                                "reason": f"invented citation: [{c}] is not one of the evidence numbers "
                                          f"{self._numbers(items)}"})
            return ids, quote

        paragraphs = []
        for p in paras:
            sents = []
            for parsed in p:
                text, raw = parsed
                ids, quote = map_cites(text, raw)
                sents.append(Sentence(text=text, cites=ids, quote=quote, kind=getattr(parsed, "kind", None)))
            paragraphs.append(Paragraph(sentences=sents))
        from rag.synthesize.extractive import question_clause

        framing = framing.strip()
        if not framing.startswith(prompts.FRAMING_LEAD) or not has_words(framing[len(prompts.FRAMING_LEAD):]):
            framing = f"{prompts.FRAMING_LEAD} {question_clause(ctx.question)}."
        takeaway = takeaway.strip()
        if takeaway.startswith(prompts.TAKEAWAY_LEAD):
            takeaway = takeaway[len(prompts.TAKEAWAY_LEAD):].strip()
        if not has_words(takeaway):
            takeaway = "the notes above are the evidence; read them together rather than any one alone."
        tk_ids, _ = map_cites(takeaway, tk_raw)
        return Draft(framing=framing, paragraphs=paragraphs, takeaway=takeaway, takeaway_cites=tk_ids,
                     model=self.model_label, dropped=dropped)

    def _fallback(self, ctx: Context, why: str, dropped: list[dict]) -> Draft:
        """The extractive line, labelled as a fallback with the reason (never silent)."""
        from rag.synthesize.extractive import ExtractiveSynthesizer

        draft = ExtractiveSynthesizer().synthesize(ctx)
        draft.model = f"extractive (llm output rejected: {why})"
        draft.dropped = [*dropped, {"reason": f"llm output rejected: {why}", "model": self.model_label}]
        return draft
