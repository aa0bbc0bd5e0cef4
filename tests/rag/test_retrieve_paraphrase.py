"""Retrieval for questions in users' own words (issue 12): note titles as a field of their own, and a
lexical weight that follows how much of the question BM25 can see."""

import pytest

from rag.query_terms import query_terms, visible_share


def _engine(index, **retrieval):
    from rag import Engine, Settings

    return Engine.open(index, settings=Settings(index=index, retrieval=retrieval))


def test_visible_share_is_the_idf_mass_of_words_the_corpus_uses(demo_engine):
    lex = demo_engine.index.lexical()
    assert visible_share(query_terms(lex, "Do models flatter their users?")) == pytest.approx(1.0)
    partly = visible_share(query_terms(lex, "do models flatter ppl zorblax"))
    assert 0.0 < partly < 1.0
    assert visible_share(query_terms(lex, "zorblax quuxified")) == 0.0


def test_a_question_that_is_a_notes_title_finds_it_through_the_title_field(demo_engine):
    title = demo_engine.index.manifest.notes(["are-you-sure-answer-flipping.md"])[
        "are-you-sure-answer-flipping.md"]["title"]
    eng = _engine(demo_engine.settings.index, title_weight=1.0)
    eng._embedder = demo_engine.embedder
    r = eng.retrieve(title, k=5)
    assert r.best_title == pytest.approx(1.0, abs=1e-3)
    assert r.hits[0].note_id == "are-you-sure-answer-flipping.md"
    off = demo_engine.retrieve(title, k=5)  # default: titles only through the chunks they open
    assert off.best_title is None


def test_lexical_weight_follows_what_bm25_can_see(demo_engine):
    """A question half in words the notes never use: with the weight following visibility, BM25's say in the
    fused score shrinks by that share (fused = dense z + visible × lexical z)."""
    q = "do the bots cave n flip their answer when ppl go 'r u sure??'"
    eng = _engine(demo_engine.settings.index, lexical_by_visibility=True)
    eng._embedder = demo_engine.embedder
    r_on = eng.retrieve(q, k=20)
    r_off = demo_engine.retrieve(q, k=20)
    assert r_on.lexical_visible is not None and r_on.lexical_visible < 0.9
    on, off = {h.note_id: h for h in r_on.hits}, {h.note_id: h for h in r_off.hits}
    both = [n for n in on if n in off and on[n].lexical is not None and on[n].dense is not None]
    assert both
    # the same z-scores, the lexical one scaled: score_on - score_off = (visible - 1) × lexical z
    import numpy as np

    diffs = np.array([on[n].score - off[n].score for n in both])
    assert (diffs <= 1e-9).sum() >= 1 and not np.allclose(diffs, 0.0)


def test_title_vectors_follow_the_index_state(tmp_path, notes_dir, demo_engine):
    """Title vectors are computed at query time and cached per index state: a note added by an ingest is
    found through its title at once, and the cache file is rewritten for the new state."""
    from rag import Engine, Settings
    from rag.titles import CACHE_FILE

    idx = tmp_path / "idx"
    eng = Engine.open(idx, settings=Settings(index=idx, retrieval={"title_weight": 1.0}), create=True)
    eng._embedder = demo_engine.embedder
    eng.ingest([notes_dir])
    eng.retrieve("anything about models", k=3)
    first = (idx / CACHE_FILE).read_bytes()
    (notes_dir / "zebra.md").write_text("---\ntitle: \"How do zebras keep cool in the savanna?\"\n---\n\n"
                                        "Stripes may help zebras shed heat.\n", encoding="utf-8")
    eng.ingest([notes_dir])
    r = eng.retrieve("How do zebras keep cool in the savanna?", k=3)
    assert r.hits[0].note_id == "zebra.md" and r.best_title == pytest.approx(1.0, abs=1e-3)
    assert (idx / CACHE_FILE).read_bytes() != first
