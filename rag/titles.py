"""Note titles as a retrieval field of their own.

A note's title is often the question it answers ("Why do models resist having their goals changed?"), so a
user's question is matched against titles directly as well as against chunks, where the title is diluted
by the body text around it.

The title vectors are not stored at ingest yet: they are computed at query time, once per index state, and
kept in-process and in ``titles.npz`` in the index directory, keyed by the manifest's state (the last
ingest, the note count and the embedder). An ingest changes that key, so the next question recomputes them.
Moving this into the ingest pipeline (a title vector per note, beside the chunk vectors) would remove the
one-off cost (66 demo notes: ~0.3 s; 5,183 SciFact titles: ~25 s on this machine).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from dataclasses import dataclass

import numpy as np

from ingest.embedder import Embedder
from store.index import Index

CACHE_FILE = "titles.npz"
log = logging.getLogger(__name__)


@dataclass
class TitleVectors:
    key: str
    ids: list[str]
    vectors: np.ndarray  # (notes, dim), unit rows: cosine = dot product

    def scores(self, qvec: np.ndarray, allowed: list[str] | None = None) -> dict[str, float]:
        """Cosine of the question to every note's title (only the allowed notes, when filtered)."""
        if not self.ids:
            return {}
        sims = self.vectors @ np.asarray(qvec, dtype=np.float32)
        if allowed is None:
            return dict(zip(self.ids, sims.tolist()))
        ok = set(allowed)
        return {n: float(s) for n, s in zip(self.ids, sims) if n in ok}


_cache: dict[str, TitleVectors] = {}
_lock = threading.Lock()


def state_key(index: Index, embedder_name: str) -> str:
    """What the title vectors depend on: the notes (their last ingest and count) and the embedder."""
    m = index.manifest
    payload = {"last": m.get("last_ingest"), "notes": m.count_notes(), "embedder": embedder_name,
               "vector_hash": m.get("vector_hash")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _load(index: Index, key: str) -> TitleVectors | None:
    path = index.root / CACHE_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            return TitleVectors(key, [str(x) for x in z["ids"]], z["vectors"].astype(np.float32))
    except (OSError, ValueError, KeyError) as e:  # a damaged cache is recomputed, never trusted
        log.warning("ignoring %s (%s); recomputing the title vectors", path, e)
        return None


def _save(index: Index, tv: TitleVectors) -> None:
    path = index.root / CACHE_FILE
    tmp = path.with_name(path.name + ".tmp.npz")
    try:
        np.savez(tmp, key=np.array(tv.key), ids=np.array(tv.ids, dtype=str), vectors=tv.vectors)
        tmp.replace(path)
    except OSError as e:  # a read-only index still answers: the vectors stay in this process
        log.warning("could not write %s (%s); title vectors kept in memory only", path, e)


def title_vectors(index: Index, embedder: Embedder) -> TitleVectors:
    """The title vectors of the index's notes, for its current state (computed once, then cached)."""
    key = state_key(index, embedder.name)
    root = str(index.root.resolve())
    tv = _cache.get(root)
    if tv is not None and tv.key == key:
        return tv
    with _lock:
        tv = _cache.get(root)
        if tv is not None and tv.key == key:
            return tv
        tv = _load(index, key)
        if tv is None:
            notes = index.manifest.notes()
            ids = sorted(notes)
            vecs = embedder.encode([notes[n]["title"] or "" for n in ids]) if ids else np.zeros((0, embedder.dim))
            tv = TitleVectors(key, ids, np.asarray(vecs, dtype=np.float32))
            _save(index, tv)
        _cache[root] = tv
        return tv
