"""Evidence selection units: chunk order within a note, and which passages the answer quotes."""

import numpy as np

from rag.evidence import Candidate, select
from rag.retrieve import _chunk_scores


def test_chunks_are_ordered_by_both_retrievers_not_dense_alone():
    dense = [("a::1", "a", 0.62), ("a::2", "a", 0.60), ("b::1", "b", 0.40), ("c::1", "c", 0.30)]
    lexical = [("a::2", "a", 12.0), ("b::1", "b", 5.0), ("c::1", "c", 1.0)]
    s = _chunk_scores(dense, lexical, 1.0, 1.0)
    # a::1 is the best dense chunk by a hair, but a::2 is also the best lexical one
    assert s["a::2"] > s["a::1"]
    # a chunk one retriever missed gets that retriever's floor, not nothing
    assert s["a::1"] > s["c::1"]


def _cand(text, note, chunk, crank, rel, vec, note_rank=0):
    c = Candidate(text, note, chunk, f"passage of {chunk}", False, note_rank, chunk_rank=crank)
    c.relevance, c.vec = rel, np.asarray(vec, dtype=np.float32) / np.linalg.norm(vec)
    return c


def test_the_strongest_note_quotes_its_second_best_passage_too():
    pool = [
        _cand("Lead sentence of the best passage in note A.", "A", "A::3", 0, 0.80, [1, 0, 0, 0]),
        _cand("Another sentence of the best passage in note A.", "A", "A::3", 0, 0.78, [1, 0.1, 0, 0]),
        _cand("A sentence from the second-best passage of note A.", "A", "A::7", 1, 0.62, [0, 0, 1, 0]),
        _cand("Note B says something relevant here.", "B", "B::0", 0, 0.75, [0, 1, 0, 0], note_rank=1),
        _cand("Note C says something else relevant.", "C", "C::0", 0, 0.74, [0, 0, 0, 1], note_rank=2),
    ]
    chosen = select(pool, k=4)
    assert {c.chunk_id for c in chosen if c.note_id == "A"} == {"A::3", "A::7"}
    assert {c.note_id for c in chosen} == {"A", "B", "C"}  # coverage of notes kept


def test_structured_abstract_labels_are_dropped_and_set_up_sections_not_quoted():
    from rag.evidence import candidates

    note = {"id": "n", "title": "Does X predict Y?", "summary": ""}
    passage = ("OBJECTIVE: To assess whether the X sign predicts Y in fractures of the neck. "
               "METHODS: Forty patients with neck fractures were followed for two years after surgery. "
               "The following variables were recorded for every patient at each visit. "
               "RESULTS: The X sign was observed in 12 cases, of which none developed Y at all. "
               "Differences between patients with and without the sign were significant (P=.03).")
    chunk = {"id": "n::0", "passage": passage, "heading": "", "ord": 0}
    cands = candidates([note], {"n": [chunk]}, {"n": ["n::0"]})
    by_text = {c.text: c for c in cands}
    assert "To assess whether the X sign predicts Y in fractures of the neck." in by_text  # label gone
    assert not any(t.startswith(("OBJECTIVE", "METHODS", "RESULTS")) for t in by_text)
    kinds = [c.section for c in cands]
    assert kinds == ["setup", "setup", "setup", "result", "result"]  # a label runs until the next one
    # the objective restates the question best, but the answer quotes what was found
    for i, c in enumerate(cands):
        c.relevance = 0.9 - 0.05 * i
        c.vec = np.eye(8, dtype=np.float32)[i]
    chosen = select(cands, k=3, min_notes=1)
    assert chosen and all(c.section == "result" for c in chosen)


def test_an_acronym_before_a_colon_is_not_a_section_label():
    from rag.evidence import candidates

    note = {"id": "n", "title": "t", "summary": ""}
    passage = "RLHF: models trained this way agreed with users far more often than base models did."
    cands = candidates([note], {"n": [{"id": "n::0", "passage": passage, "heading": "", "ord": 0}]}, {"n": ["n::0"]})
    assert [c.text for c in cands] == [passage] and cands[0].section == ""


def test_the_reading_follows_the_retrieval_rank_of_notes():
    from rag.evidence import in_reading_order

    a2 = _cand("Later sentence of the top note.", "A", "A::1", 0, 0.40, [1, 0, 0, 0])
    a2.position = 5
    a1 = _cand("Earlier sentence of the top note.", "A", "A::0", 0, 0.45, [0, 1, 0, 0])
    b = _cand("A sentence that matches the question better, from note B.", "B", "B::0", 0, 0.60, [0, 0, 1, 0],
              note_rank=1)
    assert [c.text for c in in_reading_order([b, a2, a1])] == [a1.text, a2.text, b.text]
