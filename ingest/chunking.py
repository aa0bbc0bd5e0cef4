"""A note → chunks that fit the embedder's window, each carrying the note's title.

Markdown is split at headings first (llama-index's MarkdownNodeParser), then each section is packed
into sentence-aligned windows (llama-index's SentenceSplitter) counted with the embedder's own
tokenizer, with the title and heading charged against the window. A final check guarantees that no
chunk exceeds the window, so nothing is ever silently truncated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ingest.readers import Note, strip_wikilinks

# Bump when the way notes become chunks changes: indexes built by another version are refused (rebuild).
CHUNKER_VERSION = 2

_HEADER_LINE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass
class Chunk:
    id: str
    note_id: str
    ord: int
    text: str  # what is embedded and indexed: title, heading, passage
    passage: str  # the passage alone as written (wikilinks kept), for quoting
    heading: str = ""
    page: int | None = None


@dataclass
class Section:
    heading: str
    text: str
    page: int | None = None


def sections(note: Note) -> list[Section]:
    """The note's summary, then its body split at Markdown headings (or its PDF pages)."""
    out: list[Section] = []
    if note.summary and not note.summary_from_body:
        out.append(Section("Summary", note.summary))
    if note.pages is not None:
        out.extend(Section(f"Page {i}", t, i) for i, t in enumerate(note.pages, start=1) if t.strip())
        return out
    body = note.body
    if not body.strip():
        return out
    if not re.search(r"^#{1,6}\s", body, re.M):
        out.append(Section("", body))
        return out
    from llama_index.core import Document
    from llama_index.core.node_parser import MarkdownNodeParser

    nodes = MarkdownNodeParser().get_nodes_from_documents([Document(text=body)])
    for node in nodes:
        text = node.get_content().strip()
        lines = text.split("\n", 1)
        heading = ""
        m = _HEADER_LINE.match(lines[0])
        if m:
            heading = m.group(2).strip()
            text = lines[1].strip() if len(lines) > 1 else ""
        if not text:
            continue
        if heading.strip().lower() == note.title.strip().lower():
            heading = ""
        out.append(Section(heading, text))
    return out


class Chunker:
    """Packs sections into windows of at most ``max_tokens`` embedder tokens (specials included)."""

    def __init__(self, count_tokens: Callable[[str], int], tokenize: Callable[[str], list], max_tokens: int = 254,
                 overlap: int = 32) -> None:
        self.count_tokens = count_tokens
        self.max_tokens = max_tokens
        self.overlap = overlap
        self.room = max_tokens - 2  # [CLS] and [SEP]
        self._splitters: dict = {}
        self._tokenize = tokenize

    def _splitter(self, size: int):
        from llama_index.core.node_parser import SentenceSplitter

        if size not in self._splitters:
            self._splitters[size] = SentenceSplitter(
                chunk_size=size, chunk_overlap=min(self.overlap, size // 4), tokenizer=self._tokenize,
                paragraph_separator="\n\n", include_metadata=False,
            )
        return self._splitters[size]

    def prefix(self, note: Note, heading: str) -> str:
        return f"{note.title}\n{heading}\n" if heading else f"{note.title}\n"

    def chunk(self, note: Note) -> list[Chunk]:
        chunks: list[Chunk] = []
        secs = sections(note)
        if not secs:  # a title alone is still findable
            secs = [Section("", note.title)]
        for sec in secs:
            prefix = self.prefix(note, sec.heading)
            room = self.room - self.count_tokens(prefix)
            if room < 24:  # an absurdly long title: keep only its start in the prefix
                prefix = " ".join(note.title.split()[:20]) + "\n"
                room = self.room - self.count_tokens(prefix)
            for piece in self._pack(sec.text, room):
                chunks.append(Chunk(id=f"{note.id}::{len(chunks)}", note_id=note.id, ord=len(chunks),
                                    text=prefix + strip_wikilinks(piece), passage=piece, heading=sec.heading,
                                    page=sec.page))
        return chunks

    def _pack(self, text: str, room: int) -> list[str]:
        text = text.strip()
        if self.count_tokens(text) <= room:
            return [text]
        pieces = [p.strip() for p in self._splitter(room).split_text(text) if p.strip()]
        out: list[str] = []
        for p in pieces:  # the guarantee: a piece over the room is cut by words until it fits
            while self.count_tokens(p) > room:
                words = p.split()
                lo, hi = 1, len(words)
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    if self.count_tokens(" ".join(words[:mid])) <= room:
                        lo = mid
                    else:
                        hi = mid - 1
                out.append(" ".join(words[:lo]))
                p = " ".join(words[lo:])
            if p:
                out.append(p)
        return out
