"""Chroma, embedded (a persistent folder) or a server (``chromadb.HttpClient``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from store.base import Hit
from store.errors import ConfigError, IndexDamagedError, StoreUnavailableError

_BATCH = 2000


def _unreachable(url: str, e: BaseException) -> str:
    port = urlparse(url).port or "PORT"
    return (f"The Chroma server at {url} cannot be reached ({e.__class__.__name__}: {e}): start it "
            f"(`chroma run --path DIR --host 127.0.0.1 --port {port}`), or point --chroma-url (INQUIRE_CHROMA_URL) "
            "at the server that holds this index's vectors; for an index of its own on this machine, leave "
            "the URL unset to use the embedded store.")


def _client(path: Path | None, url: str | None):
    import chromadb
    import httpx
    from chromadb.config import Settings as ChromaSettings
    from chromadb.errors import ChromaError

    opts = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        u = urlparse(url)
        try:
            client = chromadb.HttpClient(host=u.hostname or "localhost", port=u.port or (443 if u.scheme == "https" else 8000),
                                         ssl=u.scheme == "https", settings=opts)
            client.heartbeat()
        except (ValueError, OSError, httpx.HTTPError, ChromaError) as e:  # heartbeat: a bare ValueError for "no server"
            raise StoreUnavailableError(_unreachable(url, e)) from e
        return client
    assert path is not None
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=opts)


def describe(path: Path | None, url: str | None, collection: str) -> str:
    """How a store is named to users (status, answers' meta), from its configuration alone."""
    return f"chroma server {url} / {collection}" if url else f"chroma embedded {path} / {collection}"


EF_SEARCH = 400  # HNSW candidates explored per query (see ChromaStore._ensure_ef_search)


class ChromaStore:
    """One collection of chunk vectors (cosine space); ids and metadata ``note_id`` per chunk.

    Every call into chromadb goes through ``_guard``: a server that cannot be reached or fails becomes
    ``StoreUnavailableError``, an embedded store that cannot be read (or a collection that is gone)
    ``IndexDamagedError`` with ``repair`` (the command that rebuilds the index) in its message."""

    def __init__(self, path: Path | None = None, url: str | None = None, collection: str = "inquire",
                 create: bool = True, repair: str = "`inquire ingest PATH --rebuild`") -> None:
        self.url = url
        self.path = path
        self.name = collection
        self.repair = repair
        self.client = None
        with self._guard("opening the collection"):
            self.client = _client(path, url)
            self.col = self._collection(create)
            self._ensure_ef_search()

    def _collection(self, create: bool = True):
        from chromadb.errors import InvalidArgumentError

        try:
            if create:
                return self.client.get_or_create_collection(
                    self.name, embedding_function=None,
                    configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}},
                )
            return self.client.get_collection(self.name, embedding_function=None)
        except InvalidArgumentError as e:
            raise ConfigError(f"Chroma refuses the collection name {self.name!r} ({e}); set INQUIRE_COLLECTION to "
                              "3-512 letters, digits, '.', '_' or '-', starting and ending with a letter or digit.") from e

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        import httpx
        from chromadb.errors import ChromaError, InvalidArgumentError, NotFoundError

        where = f"the Chroma server at {self.url}" if self.url else f"the embedded vector store {self.path}"
        try:
            yield
        except httpx.HTTPError as e:  # connection refused or dropped, timeouts, HTTP 5xx
            if isinstance(e, httpx.HTTPStatusError):
                raise StoreUnavailableError(f"{where[0].upper()}{where[1:]} failed while {doing} "
                                            f"({e.__class__.__name__}: {e}); check its log, then try again.") from e
            raise StoreUnavailableError(_unreachable(self.url or "", e)) from e
        except InvalidArgumentError:
            raise  # a call this code got wrong, not a state of the store
        except NotFoundError as e:
            raise IndexDamagedError(f"The collection {self.name!r} is gone from {where} ({e}). Rebuild the index: "
                                    f"{self.repair}.") from e
        except ChromaError as e:
            if self.url:
                raise StoreUnavailableError(f"The Chroma server at {self.url} failed while {doing} "
                                            f"({e.__class__.__name__}: {e}); check its log, then try again.") from e
            raise IndexDamagedError(f"The embedded vector store {self.path} cannot be read ({e.__class__.__name__}: "
                                    f"{e}). Rebuild the index: {self.repair}.") from e

    def _ensure_ef_search(self) -> None:
        """Chroma's default search breadth (ef_search 100, for the 100 candidates asked for) is approximate
        enough that the best chunk went missing in some processes and not others: 2 of 200 COVID-QA
        questions changed answerability between two runs. At 400 three runs agreed exactly. Collections made
        before this are widened once (ef_search is mutable)."""
        import warnings

        import httpx
        from chromadb.errors import ChromaError

        try:
            with warnings.catch_warnings():  # chromadb 1.x warns that a collection without an embedding
                warnings.simplefilter("ignore", DeprecationWarning)  # function has a "legacy" config
                hnsw = (self.col.configuration or {}).get("hnsw") or {}
            if int(hnsw.get("ef_search") or 0) < EF_SEARCH:
                self.col.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
        except (ChromaError, httpx.HTTPStatusError, ValueError):
            pass  # an older server without mutable configuration keeps its default breadth

    def describe(self) -> str:
        return describe(self.path, self.url, self.name)

    def clear(self) -> None:
        """Drop every vector: the collection is deleted and made anew (for a rebuild)."""
        from chromadb.errors import NotFoundError

        with self._guard("emptying the collection"):
            try:
                self.client.delete_collection(self.name)
            except NotFoundError:
                pass
            self.col = self._collection(create=True)

    def close(self) -> None:
        """Release an embedded store's files (a server client holds nothing worth releasing)."""
        if self.client is not None and not self.url and hasattr(self.client, "close"):
            self.client.close()
        self.client = None

    def upsert(self, ids: list[str], note_ids: list[str], vectors: np.ndarray, texts: list[str]) -> None:
        with self._guard("storing vectors"):
            for i in range(0, len(ids), _BATCH):
                sl = slice(i, i + _BATCH)
                self.col.upsert(ids=ids[sl], embeddings=vectors[sl], documents=texts[sl],
                                metadatas=[{"note_id": n} for n in note_ids[sl]])

    def delete_ids(self, ids: list[str]) -> None:
        with self._guard("deleting vectors"):
            for i in range(0, len(ids), _BATCH):
                self.col.delete(ids=ids[i:i + _BATCH])

    def delete_notes(self, note_ids: list[str]) -> None:
        with self._guard("deleting vectors"):
            for i in range(0, len(note_ids), 500):
                self.col.delete(where={"note_id": {"$in": note_ids[i:i + 500]}})

    def ids_by_note(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        with self._guard("listing vectors"):
            total = self.col.count()
            for off in range(0, total, 5000):
                got = self.col.get(include=["metadatas"], limit=5000, offset=off)
                for cid, meta in zip(got["ids"], got["metadatas"] or []):
                    out.setdefault(str((meta or {}).get("note_id", "")), set()).add(cid)
        return out

    def count(self) -> int:
        with self._guard("counting vectors"):
            return int(self.col.count())

    def query(self, vector: np.ndarray, k: int, note_ids: list[str] | None = None) -> list[Hit]:
        if note_ids is not None and not note_ids:
            return []
        n = self.count()
        if n == 0:
            return []
        where = {"note_id": {"$in": list(note_ids)}} if note_ids is not None else None
        with self._guard("searching"):
            res = self.col.query(query_embeddings=[vector], n_results=min(k, n), where=where,
                                 include=["distances", "metadatas"])
        hits = []
        for cid, dist, meta in zip(res["ids"][0], res["distances"][0], res["metadatas"][0]):
            hits.append(Hit(id=cid, note_id=str((meta or {}).get("note_id", "")), score=1.0 - float(dist)))
        return hits
