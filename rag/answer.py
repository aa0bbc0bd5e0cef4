"""The inquiring line as typed models. This module *is* the JSON contract.

Keys every consumer may rely on: ``question``, ``framing``, ``paragraphs`` (each ``{"sentences":
[{"text", "cites"}]}``), ``takeaway``, ``sources`` (``{"id", "title", "summary"}``, exactly the
cited notes in order of first citation), ``next_lines``, ``abstained``, ``meta``. Extra keys may be
added; none of these is ever removed or renamed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1


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
    meta: dict[str, Any] = Field(default_factory=dict)
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
