"""Settings from the environment: nested keys, validation errors that name the field, the vector hash."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.settings import Settings


def test_nested_environment_variables(monkeypatch):
    monkeypatch.setenv("INQUIRE_RETRIEVAL__MODE", "dense")
    monkeypatch.setenv("INQUIRE_RETRIEVAL__TOP_K", "8")
    monkeypatch.setenv("INQUIRE_SYNTHESIS__ABSTAIN_BELOW", "0.3")
    monkeypatch.setenv("INQUIRE_INDEX", "/tmp/some-index")
    s = Settings()
    assert (s.retrieval.mode, s.retrieval.top_k, s.synthesis.abstain_below) == ("dense", 8, 0.3)
    assert s.index == Path("/tmp/some-index")


def test_explicit_arguments_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("INQUIRE_RETRIEVAL__TOP_K", "8")
    assert Settings(retrieval={"top_k": 3}).retrieval.top_k == 3


def test_a_bad_value_names_its_field(monkeypatch):
    monkeypatch.setenv("INQUIRE_RETRIEVAL__MODE", "fuzzy")
    with pytest.raises(ValidationError, match="retrieval.mode"):
        Settings()


def test_unknown_keys_are_refused(monkeypatch):
    with pytest.raises(ValidationError, match="extra"):
        Settings(retrieval={"top_kk": 3})


def test_chroma_url_must_be_http(monkeypatch):
    monkeypatch.setenv("INQUIRE_CHROMA_URL", "localhost:8000")
    with pytest.raises(ValidationError, match="http://"):
        Settings()
    assert Settings(chroma_url="http://127.0.0.1:8000/").chroma_url == "http://127.0.0.1:8000"


def test_vector_hash_follows_only_what_changes_vectors():
    base = Settings()
    assert Settings(retrieval={"top_k": 9}).vector_hash() == base.vector_hash()
    assert Settings(chunking={"max_tokens": 128}).vector_hash() != base.vector_hash()
    assert Settings(embedder="/some/other/model").vector_hash() != base.vector_hash()
