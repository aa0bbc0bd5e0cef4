"""The vector-store protocol. Every backend passes one contract test suite (tests/store/)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass
class Hit:
    id: str
    note_id: str
    score: float  # cosine similarity, higher is closer


@runtime_checkable
class VectorStore(Protocol):
    """Chunks keyed by id, each with its note id; upserts are idempotent. A store that cannot be reached
    raises ``StoreUnavailableError``; one that cannot be read, ``IndexDamagedError``."""

    def upsert(self, ids: list[str], note_ids: list[str], vectors: np.ndarray, texts: list[str]) -> None: ...

    def delete_ids(self, ids: list[str]) -> None: ...

    def delete_notes(self, note_ids: list[str]) -> None: ...

    def ids_by_note(self) -> dict[str, set[str]]: ...

    def count(self) -> int: ...

    def query(self, vector: np.ndarray, k: int, note_ids: list[str] | None = None) -> list[Hit]: ...

    def describe(self) -> str: ...

    def clear(self) -> None: ...  # drop every vector (a rebuild)

    def close(self) -> None: ...
