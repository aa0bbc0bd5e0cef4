"""Chroma, embedded (a persistent folder) or a server (``chromadb.HttpClient``)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from store.base import Hit
from store.errors import ConfigError

_BATCH = 2000


def _client(path: Path | None, url: str | None):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    opts = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        u = urlparse(url)
        try:
            client = chromadb.HttpClient(host=u.hostname or "localhost", port=u.port or (443 if u.scheme == "https" else 8000),
                                         ssl=u.scheme == "https", settings=opts)
            client.heartbeat()
        except Exception as e:  # chromadb raises bare Exceptions / httpx errors for connection failures
            raise ConfigError(f"Cannot reach the Chroma server at {url} ({e.__class__.__name__}: {e}). "
                              "Start it with `chroma run --path DIR --port PORT`, or unset INQUIRE_CHROMA_URL "
                              "to use the embedded store.") from e
        return client
    assert path is not None
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=opts)


def describe(path: Path | None, url: str | None, collection: str) -> str:
    """How a store is named to users (status, answers' meta), from its configuration alone."""
    return f"chroma server {url} / {collection}" if url else f"chroma embedded {path} / {collection}"


EF_SEARCH = 400  # HNSW candidates explored per query (see ChromaStore._ensure_ef_search)


class ChromaStore:
    """One collection of chunk vectors (cosine space); ids and metadata ``note_id`` per chunk."""

    def __init__(self, path: Path | None = None, url: str | None = None, collection: str = "inquire",
                 create: bool = True) -> None:
        self.url = url
        self.path = path
        self.name = collection
        self.client = _client(path, url)
        if create:
            self.col = self.client.get_or_create_collection(
                collection, embedding_function=None,
                configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}},
            )
        else:
            self.col = self.client.get_collection(collection, embedding_function=None)
        self._ensure_ef_search()

    def _ensure_ef_search(self) -> None:
        """Chroma's default search breadth (ef_search 100, for the 100 candidates asked for) is approximate
        enough that the best chunk went missing in some processes and not others: 2 of 200 COVID-QA
        questions changed answerability between two runs. At 400 three runs agreed exactly. Collections made
        before this are widened once (ef_search is mutable)."""
        import warnings

        try:
            with warnings.catch_warnings():  # chromadb 1.x warns that a collection without an embedding
                warnings.simplefilter("ignore", DeprecationWarning)  # function has a "legacy" config
                hnsw = (self.col.configuration or {}).get("hnsw") or {}
            if int(hnsw.get("ef_search") or 0) < EF_SEARCH:
                self.col.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
        except Exception:  # noqa: BLE001 - an older server without mutable configuration keeps its default
            pass

    def describe(self) -> str:
        return describe(self.path, self.url, self.name)

    def upsert(self, ids: list[str], note_ids: list[str], vectors: np.ndarray, texts: list[str]) -> None:
        for i in range(0, len(ids), _BATCH):
            sl = slice(i, i + _BATCH)
            self.col.upsert(ids=ids[sl], embeddings=vectors[sl], documents=texts[sl],
                            metadatas=[{"note_id": n} for n in note_ids[sl]])

    def delete_ids(self, ids: list[str]) -> None:
        for i in range(0, len(ids), _BATCH):
            self.col.delete(ids=ids[i:i + _BATCH])

    def delete_notes(self, note_ids: list[str]) -> None:
        for i in range(0, len(note_ids), 500):
            self.col.delete(where={"note_id": {"$in": note_ids[i:i + 500]}})

    def ids_by_note(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        total = self.col.count()
        for off in range(0, total, 5000):
            got = self.col.get(include=["metadatas"], limit=5000, offset=off)
            for cid, meta in zip(got["ids"], got["metadatas"] or []):
                out.setdefault(str((meta or {}).get("note_id", "")), set()).add(cid)
        return out

    def count(self) -> int:
        return int(self.col.count())

    def query(self, vector: np.ndarray, k: int, note_ids: list[str] | None = None) -> list[Hit]:
        if note_ids is not None and not note_ids:
            return []
        n = self.count()
        if n == 0:
            return []
        where = {"note_id": {"$in": list(note_ids)}} if note_ids is not None else None
        res = self.col.query(query_embeddings=[vector], n_results=min(k, n), where=where,
                             include=["distances", "metadatas"])
        hits = []
        for cid, dist, meta in zip(res["ids"][0], res["distances"][0], res["metadatas"][0]):
            hits.append(Hit(id=cid, note_id=str((meta or {}).get("note_id", "")), score=1.0 - float(dist)))
        return hits
