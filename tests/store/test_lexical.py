"""The BM25 index: build, save/load round trip, search with a note filter, term statistics."""

from __future__ import annotations

from store.lexical import LexicalIndex, terms

TEXTS = {
    ("a1", "a"): "Reward models prefer longer answers, so policies learn to pad their replies.",
    ("a2", "a"): "Padding raised win rates without raising quality.",
    ("b1", "b"): "Sycophantic assistants agree with the user's stated view.",
    ("c1", "c"): "Debate between different models improves calibration; debate with itself does not.",
}


def build() -> LexicalIndex:
    ids = [k[0] for k in TEXTS]
    notes = [k[1] for k in TEXTS]
    return LexicalIndex.build(ids, notes, list(TEXTS.values()))


def test_search_ranks_the_matching_chunk_first_and_skips_unrelated_ones():
    hits = build().search("why do reward models like long answers", k=10)
    assert hits[0][:2] == ("a1", "a")
    assert all(score > 0 for _, _, score in hits)
    assert "b1" not in [h[0] for h in hits]


def test_note_filter_limits_hits_to_the_allowed_notes():
    lex = build()
    assert [h[1] for h in lex.search("debate models", k=10, note_ids=["a", "b"])] == ["a"]
    assert lex.search("debate", k=10, note_ids=[]) == []


def test_unknown_words_find_nothing():
    assert build().search("sourdough hydration", k=5) == []


def test_save_and_load_round_trip(tmp_path):
    lex = build()
    lex.save(tmp_path / "lexical-1")
    again = LexicalIndex.load(tmp_path / "lexical-1")
    assert again.search("sycophantic user view", 3) == lex.search("sycophantic user view", 3)
    assert not (tmp_path / "lexical-1.tmp").exists()


def test_term_statistics():
    lex = build()
    assert lex.num_docs == 4
    debate, = terms("debate")
    assert lex.has_term(debate) and lex.doc_freq(debate) == 1
    pad, = terms("padding")
    assert lex.doc_freq(pad) == 2  # "pad" (a1) and "Padding" (a2) are one stemmed term
    assert not lex.has_term("sourdough") and lex.doc_freq("sourdough") == 0


def test_an_empty_index_answers_nothing():
    lex = LexicalIndex.build([], [], [])
    assert lex.search("anything", 5) == [] and lex.num_docs == 0 and lex.doc_freq("anything") == 0
