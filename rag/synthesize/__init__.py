"""Synthesizers: one per file behind one small protocol.

A synthesizer takes the question and the selected evidence and writes framing, paragraphs (each
sentence with its citations) and takeaway. It never decides sources or next lines: the engine
derives sources from the citations and checks next lines against the index.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from rag.answer import Paragraph
from rag.evidence import Candidate
from rag.reading import Reading


@dataclass
class Context:
    question: str
    notes: list[dict]  # manifest rows of the usable retrieved notes, best first
    evidence: list[Candidate]  # selected sentences, best first
    pool: list[Candidate]  # every scored candidate (the synthesizer may draw a takeaway from it)
    themes: list[str] = field(default_factory=list)  # the question's themes (tags shared by the notes)
    indirect: bool = False  # the notes bear on it only indirectly: the framing says so (rag.compose.INDIRECT_VARIANTS)
    reading: Reading | None = None  # the question's form and clause (rag.reading)
    concept: str | None = None  # what the question turns on, in the best notes' words
    correction: Candidate | None = None  # a best note's sentence contradicting what the question takes for granted
    correction_claim: str | None = None  # what the question takes for granted
    missing: str | None = None  # what the question asks that the evidence does not cover (rag.judge), if known
    focused: bool = False  # one note answers (rag.evidence.is_focused): the takeaway is that note's
    terms: dict[str, float] = field(default_factory=dict)  # the question's words the notes use: stem -> IDF
    note_text: dict[str, list[str]] = field(default_factory=dict)  # each usable note's whole text (rag.evidence.passages)


@dataclass
class Draft:
    framing: str
    paragraphs: list[Paragraph]
    takeaway: str
    takeaway_cites: list[str] = field(default_factory=list)
    model: str = ""
    dropped: list[dict] = field(default_factory=list)  # sentences removed by verification, with reasons


class Synthesizer(Protocol):
    name: str

    def synthesize(self, ctx: Context) -> Draft: ...

    def stream(self, ctx: Context) -> Iterator[str]:
        """Text as it is written (for the page); the final Draft comes from ``synthesize``."""
        ...
