"""The default synthesizer: no LLM. It composes the inquiring line from the selected evidence sentences
(``rag.compose``), quoting each finding as its note states it (so every finding is cited and grounded by
construction), and writes only the connective tissue itself: the framing, lead-ins between findings, and
the frame of the takeaway."""

from __future__ import annotations

from collections.abc import Iterator

from rag.compose import compose
from rag.reading import clause_of, read
from rag.synthesize import Context, Draft


def question_clause(q: str) -> str:
    """The question as a clause after "This explores" ('Why do models resist X?' → 'why models resist X'); where
    no grammatical rewrite is safe, the question is quoted whole instead."""
    clause = clause_of(q)
    if clause:
        return clause
    q = " ".join(q.strip().split())
    return f"a question ({q if q.endswith('?') else q + '?'})"


class ExtractiveSynthesizer:
    name = "extractive"

    def synthesize(self, ctx: Context) -> Draft:
        reading = ctx.reading or read(ctx.question)
        framing, paragraphs, takeaway, tk = compose(
            ctx.question, reading, ctx.concept or (ctx.themes[0] if ctx.themes else None), ctx.evidence, ctx.pool,
            indirect=ctx.indirect, missing=ctx.missing, correction=ctx.correction, correction_claim=ctx.correction_claim,
            focused=ctx.focused, terms=ctx.terms, titles={n["id"]: n.get("title", "") for n in ctx.notes})
        return Draft(framing=framing, paragraphs=paragraphs, takeaway=takeaway, takeaway_cites=tk, model="extractive")

    def stream(self, ctx: Context) -> Iterator[str]:
        yield ""  # the extractive synthesizer is fast; the page renders the finished line
