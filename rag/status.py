"""What an index holds and what is wrong with it: the typed answer of ``Engine.status()`` (also readable as the
dict it used to be, ``status["notes"]``; ``model_dump(mode="json")`` is what ``inquire status --json`` prints)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from rag.answer import Record


class Entry(Record):
    """A skipped input, or a note read with a warning."""

    root: str = ""
    path: str
    line: int | None = None
    reason: str


class IndexStatus(Record):
    index: str
    store: str
    notes: int
    chunks: int
    vectors: int | None = Field(None, description="Vectors in the store (None when it cannot be read).")
    embedder: str | None = None
    chunking: Any = None
    vector_hash: str | None = None
    last_ingest: dict[str, Any] | None = None
    interrupted: bool = Field(False, description="An ingest was killed; the next one reconciles the index.")
    ingest_running: bool = False
    ingest_pid: int | None = None
    problems: list[str] = Field(default_factory=list, description="What is wrong (empty when the parts agree).")
    repair: str | None = Field(None, description="The one command that repairs the problems.")
    skipped: list[Entry] = Field(default_factory=list)
    warnings: list[Entry] = Field(default_factory=list)
    abstain_below: float
    abstain_below_source: str
    calibration: dict[str, Any] | None = None
