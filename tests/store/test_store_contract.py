"""One contract suite for every vector-store backend: embedded Chroma always, a Chroma server when
INQUIRE_TEST_CHROMA_URL is set (.ci/run starts one)."""

import os
import uuid

import numpy as np
import pytest

from store.chroma import ChromaStore
from store.errors import StoreUnavailableError

BACKENDS = ["embedded", "server"]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path):
    if request.param == "embedded":
        return ChromaStore(tmp_path / "chroma", collection="contract")
    url = os.environ.get("INQUIRE_TEST_CHROMA_URL")
    if not url:
        pytest.skip("no Chroma server: set INQUIRE_TEST_CHROMA_URL (e.g. http://127.0.0.1:8765; .ci/run starts one)")
    return ChromaStore(url=url, collection=f"t-{uuid.uuid4().hex[:8]}")


def _vecs(n, dim=8, seed=0):
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_upsert_is_idempotent_and_counts(store):
    v = _vecs(4)
    ids, notes = ["a::0", "a::1", "b::0", "c::0"], ["a", "a", "b", "c"]
    store.upsert(ids, notes, v, ["t"] * 4)
    store.upsert(ids, notes, v, ["t"] * 4)
    assert store.count() == 4
    assert store.ids_by_note() == {"a": {"a::0", "a::1"}, "b": {"b::0"}, "c": {"c::0"}}


def test_query_ranks_by_cosine_and_filters_notes(store):
    v = _vecs(4)
    store.upsert(["a::0", "a::1", "b::0", "c::0"], ["a", "a", "b", "c"], v, ["t"] * 4)
    hits = store.query(v[2], 3)
    assert hits[0].id == "b::0" and hits[0].note_id == "b" and hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert [h.score for h in hits] == sorted([h.score for h in hits], reverse=True)
    only = store.query(v[2], 3, note_ids=["a"])
    assert {h.note_id for h in only} == {"a"}
    assert store.query(v[2], 3, note_ids=[]) == []


def test_deletes(store):
    v = _vecs(4)
    store.upsert(["a::0", "a::1", "b::0", "c::0"], ["a", "a", "b", "c"], v, ["t"] * 4)
    store.delete_ids(["a::1"])
    store.delete_notes(["c"])
    assert store.ids_by_note() == {"a": {"a::0"}, "b": {"b::0"}}
    assert store.count() == 2


def test_clear_empties_the_collection_and_it_stays_usable(store):
    v = _vecs(3)
    store.upsert(["a::0", "b::0", "c::0"], ["a", "b", "c"], v, ["t"] * 3)
    store.clear()
    assert store.count() == 0 and store.query(v[0], 3) == []
    store.upsert(["a::0"], ["a"], v[:1], ["t"])
    assert store.ids_by_note() == {"a": {"a::0"}}


def test_unreachable_server_is_a_clear_error():
    with pytest.raises(StoreUnavailableError, match="Chroma server at http://127.0.0.1:9 cannot be reached.*chroma run"):
        ChromaStore(url="http://127.0.0.1:9", collection="x")
