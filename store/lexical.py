"""The BM25 index over chunk texts (bm25s), persisted beside the vectors.

Each build is written to a new generation folder and only then named current in the manifest, so a
reader never sees a half-written index and a crash mid-build leaves the previous one in use.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from store.stemming import stemmer

def tokenize(texts: list[str]):
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), show_progress=False)


def terms_of(texts: list[str]) -> list[list[str]]:
    """The stemmed, stopword-free terms of each text, in order (one tokenizer call for all of them)."""
    if not texts:
        return []
    tk = tokenize(texts)
    inv = {v: k for k, v in tk.vocab.items()}
    return [[inv[i] for i in doc] for doc in tk.ids]


def terms(text: str) -> list[str]:
    """The stemmed, stopword-free terms of ``text``, in order: what BM25 indexes and searches."""
    return (terms_of([text]) or [[]])[0]


class LexicalIndex:
    """BM25 over chunks; ``ids[i]`` and ``note_ids[i]`` name the i-th document."""

    def __init__(self, retriever, ids: list[str], note_ids: list[str]) -> None:
        self.retriever = retriever
        self.ids = ids
        self.note_ids = note_ids
        self._pos: dict[str, list[int]] | None = None

    @classmethod
    def build(cls, ids: list[str], note_ids: list[str], texts: list[str], k1: float = 0.9, b: float = 0.4):
        import bm25s

        retriever = bm25s.BM25(k1=k1, b=b)
        if texts:
            retriever.index(tokenize(texts), show_progress=False)
        return cls(retriever if texts else None, ids, note_ids)

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.retriever is not None:
            self.retriever.save(str(tmp))
        (tmp / "ids.json").write_text(json.dumps({"ids": self.ids, "note_ids": self.note_ids}))
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        import bm25s

        meta = json.loads((folder / "ids.json").read_text())
        retriever = bm25s.BM25.load(str(folder), mmap=False) if meta["ids"] else None
        return cls(retriever, meta["ids"], meta["note_ids"])

    def positions_of_notes(self, note_ids: set[str]) -> np.ndarray:
        if self._pos is None:
            pos: dict[str, list[int]] = {}
            for i, n in enumerate(self.note_ids):
                pos.setdefault(n, []).append(i)
            self._pos = pos
        idx = [i for n in note_ids for i in self._pos.get(n, [])]
        return np.asarray(idx, dtype=np.int64)

    # -- term statistics (what answerability asks of the corpus)
    @property
    def num_docs(self) -> int:
        """Chunks indexed."""
        return int(self.retriever.scores["num_docs"]) if self.retriever is not None else 0

    def has_term(self, term: str) -> bool:
        """Whether the stemmed ``term`` occurs in any chunk."""
        return self.retriever is not None and term in self.retriever.vocab_dict

    def doc_freq(self, term: str) -> int:
        """How many chunks hold the stemmed ``term`` (0 for a term the corpus never uses)."""
        if self.retriever is None:
            return 0
        pos = self.retriever.vocab_dict.get(term)
        indptr = self.retriever.scores["indptr"]
        if pos is None or pos + 1 >= len(indptr):
            return 0
        return int(indptr[pos + 1] - indptr[pos])

    def search(self, query: str, k: int, note_ids: list[str] | None = None) -> list[tuple[str, str, float]]:
        """(chunk id, note id, score) best first, only positive scores."""
        if self.retriever is None or not self.ids:
            return []
        if note_ids is not None and not note_ids:
            return []
        words = [w for w in terms(query) if w in self.retriever.vocab_dict]
        if not words:
            return []
        mask = None
        if note_ids is not None:
            mask = np.zeros(len(self.ids), dtype=np.float32)
            mask[self.positions_of_notes(set(note_ids))] = 1.0
        k = min(k, len(self.ids))
        docs, scores = self.retriever.retrieve([words], k=k, weight_mask=mask, show_progress=False, n_threads=1)
        out = []
        for d, s in zip(docs[0], scores[0]):
            if s <= 0:
                continue
            out.append((self.ids[int(d)], self.note_ids[int(d)], float(s)))
        return out
