"""The inquiring line as typed models. This module *is* the JSON contract.

Keys every consumer may rely on: ``question``, ``framing``, ``paragraphs`` (each ``{"sentences":
[{"text", "cites"}]}``), ``takeaway``, ``sources`` (``{"id", "title", "summary"}``, exactly the
cited notes in order of first citation), ``next_lines``, ``abstained``, ``meta``. Extra keys may be
added; none of these is ever removed or renamed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

FRAMING_LEAD = "This explores"  # how a framing usually opens (the format's example does)
TAKEAWAY_LEAD = "The thing worth taking away:"  # how every takeaway opens, in every rendering
SCHEMA_VERSION = 2  # 2: meta is typed (rag.answer.Meta), support may be "contradicted", sentences have a kind


class Sentence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="The sentence as written, without its citation.")
    cites: list[str] = Field(default_factory=list, description="Ids of the notes this sentence rests on.")
    span: tuple[int, int] | None = Field(None, description="Character span of the claim in the paragraph's plain text.")
    quote: str | None = Field(None, description="The passage of the first cited note the sentence came from.")
    support: float | None = Field(None, description="Verified support score (LLM synthesizer only).")
    page: int | None = Field(None, description="Page of the quoted passage, for notes read from PDFs.")
    kind: Literal["finding", "connection"] | None = Field(
        None, description="finding: states what a cited note found (must cite it and be supported by it); "
        "connection: relates findings and adds no fact of its own (may cite nothing).")


class Paragraph(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sentences: list[Sentence]

    def plain(self) -> str:
        return " ".join(s.text for s in self.sentences)


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    summary: str
    path: str = ""
    url: str = ""
    tags: list[str] = Field(default_factory=list)


Support = Literal["direct", "indirect", "contradicted", "none"]


class Record(BaseModel):
    """Typed, and also readable as the dict it was in schema version 1 (``meta["support"]``,
    ``meta.get("retrieved")``, ``"dropped_sentences" in meta``), so Python callers of that version keep working;
    a key counts as present when its value is set and not empty."""

    model_config = ConfigDict(extra="forbid")

    def __getitem__(self, key: str):
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default=None):
        value = getattr(self, key, None) if key in type(self).model_fields else None
        return default if value is None else value

    def __contains__(self, key: str) -> bool:
        return key in type(self).model_fields and getattr(self, key) not in (None, [], {})


class RetrievedNote(Record):
    id: str
    score: float = Field(0.0, description="Fused retrieval score (z-scored dense + lexical).")
    dense: float | None = Field(None, description="Best chunk's cosine similarity, if the dense retriever found it.")
    lexical: float | None = Field(None, description="Best chunk's BM25 score, if the lexical retriever found it.")


class AnswerabilityParts(Record):
    best: float | None = Field(None, description="Best cosine of any chunk to the question.")
    coverage: float = Field(description="Share of the question's IDF-weighted terms in the five best chunks.")
    focus: float = Field(description="Largest share held by any single one of the best chunks.")
    absent: float = Field(description="Share of the question's IDF mass in terms the corpus never uses.")


class Dropped(Record):
    """A sentence (or reply) verification removed, and why."""

    reason: str
    text: str = ""
    cites: list[str] = Field(default_factory=list)
    score: float | None = None
    error: str | None = None
    model: str | None = None
    kind: str | None = None


class Meta(Record):
    """How the answer was made. Every key is in the JSON; none is removed or renamed within a schema version."""

    support: Support = Field("direct", description="direct: the notes answer it; indirect: they bear on it only "
                             "indirectly; contradicted: they contradict what it takes for granted (the answer opens "
                             "with the correction); none: they do not cover it (abstained).")
    synthesizer: str = ""
    embedder: str = ""
    retrieval_mode: str = ""
    top_k: int = Field(0, description="Notes handed to the synthesizer: the k actually used.")
    vector_hash: str = Field("", description="Fingerprint of the settings that change vectors.")
    settings_hash: str = Field("", description="Fingerprint of every setting.")
    store: str = ""
    best_similarity: float | None = None
    answerability: float | None = None
    answerability_parts: AnswerabilityParts | None = None
    abstain_below: float | None = Field(None, description="The abstention threshold in force.")
    premise: str | None = Field(None, description="What the question takes for granted, when the notes contradict it.")
    concept: str | None = Field(None, description="What the question turns on, in the best notes' words.")
    uncovered: list[str] = Field(default_factory=list, description="What the question names that its best notes "
                                 "never mention (rag.coverage); when any, a direct answer is flagged indirect.")
    judgement: dict | None = Field(None, description="With synthesis.llm_judge: the LLM's verdict on whether the "
                                   "evidence answers the question (verdict answers/partly/no, missing, cites, kept, "
                                   "why); null otherwise.")
    retrieved: list[RetrievedNote] = Field(default_factory=list)
    dropped_sentences: list[Dropped] = Field(default_factory=list)
    timings_ms: dict[str, float] = Field(default_factory=dict)


class InquiringLine(BaseModel):
    """One answer, from the engine to every front end. Text, Markdown and JSON are renderings of it."""

    model_config = ConfigDict(extra="forbid")

    question: str
    framing: str
    paragraphs: list[Paragraph]
    takeaway: str
    takeaway_cites: list[str] = Field(default_factory=list, description="Notes the takeaway quotes (all cited above).")
    sources: list[Source]
    next_lines: list[str] = Field(default_factory=list)
    abstained: bool = False
    meta: Meta = Field(default_factory=Meta)
    schema_version: int = SCHEMA_VERSION

    @model_validator(mode="after")
    def _sources_are_the_cited_notes(self) -> "InquiringLine":
        cited = self.cited_ids()
        got = [s.id for s in self.sources]
        if got != cited:
            raise ValueError(f"sources must be exactly the cited notes in order of first citation: {cited} != {got}")
        if not set(self.takeaway_cites) <= set(cited):
            raise ValueError("the takeaway may only cite notes cited in the paragraphs")
        if self.abstained and cited:
            raise ValueError("an abstained answer cites nothing")
        return self

    def cited_ids(self) -> list[str]:
        seen: dict[str, None] = {}
        for p in self.paragraphs:
            for s in p.sentences:
                for c in s.cites:
                    seen.setdefault(c, None)
        return list(seen)

    def source(self, note_id: str) -> Source:
        return next(s for s in self.sources if s.id == note_id)

    def to_json(self, indent: int | None = None) -> str:
        return self.model_dump_json(indent=indent)


def with_spans(paragraphs: list[Paragraph]) -> list[Paragraph]:
    """Fill each sentence's character span in its paragraph's plain text (sentences joined by one space)."""
    for p in paragraphs:
        pos = 0
        for s in p.sentences:
            s.span = (pos, pos + len(s.text))
            pos += len(s.text) + 1
    return paragraphs
