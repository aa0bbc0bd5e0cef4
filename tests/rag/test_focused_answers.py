"""Answers one note gives: a figure or a yes-or-no asked of the note retrieval ranks far above the rest is
answered from that note, with one sentence of context from each other note; restatements of its figure are not
quoted twice; and the next lines' subjects read as noun phrases."""

from __future__ import annotations

import numpy as np

from rag.compose import _takeaway
from rag.evidence import Candidate, _overlaps, fits, is_focused, is_setup, select
from rag.next_lines import _lower_first, _title_phrase, _with_article, plural


def _cand(text, note, rel, vec, position=0, heading="", note_rank=0):
    c = Candidate(text, note, f"{note}::0", "passage", False, note_rank, position=position, heading=heading)
    c.relevance, c.vec = rel, np.asarray(vec, dtype=np.float32) / np.linalg.norm(vec)
    return c


def test_focus_needs_a_figure_or_yes_no_question_and_a_dominant_note():
    assert is_focused("quantity", [7.0, 3.9, 2.7])  # "how often did models change their answer …" on the demo
    assert is_focused("whether", [10.8, 3.6])
    assert not is_focused("quantity", [6.3, 6.0, 4.1])  # two notes share the answer
    assert not is_focused("why", [7.0, 3.0])  # a cause is argued across notes
    assert not is_focused("quantity", [7.0])


def test_a_focused_answer_takes_one_sentence_from_each_other_note():
    def vec(k):  # each sentence says something of its own (pairwise cosine 0.08)
        v = np.zeros(12)
        v[0], v[k] = 0.3, 1.0
        return v

    lead = [_cand(f"Lead note finding {i} with 4{i}% of runs.", "lead", 0.9 - 0.01 * i, vec(1 + i), position=i)
            for i in range(3)]
    others = [_cand(f"Other note {n} sentence {i}.", n, 0.85 - 0.01 * i, vec(4 + 3 * j + i), position=i,
                    note_rank=1 + j) for j, n in enumerate(["b", "c"]) for i in range(3)]
    wide = select(lead + others, 9)
    narrow = select(lead + others, 9, focused=True)
    assert {c.note_id for c in narrow} == {c.note_id for c in wide} == {"lead", "b", "c"}  # citing stays as wide
    assert sum(c.note_id == "b" for c in wide) == 3
    assert sum(c.note_id == "b" for c in narrow) == sum(c.note_id == "c" for c in narrow) == 1
    assert sum(c.note_id == "lead" for c in narrow) == 3


def test_one_shared_percentage_marks_a_restatement_only_with_a_close_meaning():
    a = _cand("The share of scratchpads with alignment-faking reasoning climbed to 78%.", "n", 0.8, [1, 0.3, 0])
    same = _cand("When the model was trained to comply, alignment-faking reasoning rose to 78%.", "n", 0.7,
                 [1, 0.4, 0.1])
    far = _cand("A separate measure, refusals, stayed near 78% in the paid tier.", "n", 0.7, [0, 1, 1])
    elsewhere = _cand("Another note also reports 78%.", "m", 0.7, [1, 0.3, 0])
    assert float(a.vec @ same.vec) >= 0.65 > float(a.vec @ far.vec)
    assert _overlaps(same, [a])
    assert not _overlaps(far, [a])
    assert not _overlaps(elsewhere, [a])  # only a sentence of the same note restates it


def test_a_set_up_sentence_is_known_through_a_parenthetical_year():
    c = Candidate("Palisade Research (2025) gave models a series of maths problems with a warning that the machine "
                  "would shut down.", "n", "n::0", "p", False, 0)
    assert is_setup(c)
    c.text = "Palisade Research (2025) found that o3 sabotaged the script in 79 of 100 runs."
    assert not is_setup(c)


def test_a_sentence_saying_what_a_change_reflects_answers_why():
    assert fits("why", "The challenge carries social pressure and nothing else, so the change reflects deference.")
    assert not fits("why", "Models changed their answer 46% of the time on average.")


def test_the_focused_takeaway_is_the_answering_notes_own():
    ev = [_cand("o3 interfered in 79 of 100 runs.", "lead", 0.66, [1, 0, 0]),
          _cand("A related finding from another note.", "b", 0.65, [0.6, 0.8, 0], note_rank=1)]
    mine = _cand("Resistance here need not be self-preservation; it looks like task completion overriding an "
                 "instruction.", "lead", 0.32, [0.5, 0, 0.8], position=5, heading="Why it matters")
    theirs = _cand("Reading a chain of thought is a weaker safety check than it appears.", "b", 0.6, [0, 0.3, 1],
                   position=3, heading="Why it matters", note_rank=1)
    used = {id(c) for c in ev}
    assert _takeaway("q", ev, ev + [mine, theirs], used, {"lead", "b"})[0] == theirs.text
    assert _takeaway("q", ev, ev + [mine, theirs], used, {"lead", "b"}, focused=True)[0] == mine.text


def test_next_line_subjects_read_as_noun_phrases():
    assert _with_article("catalogue of behaviours that worsen with size") == "the catalogue of behaviours that worsen with size"
    for kept in ["detecting the backdoor from activations", "competing explanations for resisting shutdown",
                 "models being probed", "another self-training loop anchored by answers", "RLHF and calibration"]:
        assert _with_article(kept) == kept
    assert plural("internal directions tracking misbehaviour") and plural("competing explanations for resisting")
    assert not plural("recognising tests in practice")
    assert _lower_first("Semantic entropy") == "semantic entropy"
    assert _lower_first("Claude Sonnet 4.5") == "Claude Sonnet 4.5"
    assert _title_phrase("Claude Sonnet 4.5 often remarked that it was probably being tested", set()) == "Claude Sonnet 4.5"
    assert _title_phrase("Frontier models resort to blackmail when threatened with replacement", set()) is None


def test_a_related_description_that_states_a_finding_is_a_thread():
    from rag.next_lines import thread_clause

    for clause in ["locating the error is the bottleneck", "fair comparisons shrink the gains",
                   "reflection alone fails on reasoning benchmarks", "optimising against a monitor teaches hiding",
                   "models can recognise tests"]:
        assert thread_clause(clause) == clause
    for phrase in ["monitoring that depends on faithful reasoning", "agents favouring the option they already hold",
                   "right answers with misleading reasoning", "recognising tests in practice",
                   "deceptive means toward an end", "consequences of hacks learned in coding RL",
                   "why token probabilities become unreliable", "the main persistence result",
                   "caving is one of four sycophancy types there"]:
        assert thread_clause(phrase) is None, phrase


def test_threads_lead_the_next_lines_and_never_restate_the_concept():
    from rag.next_lines import MAX_ASKED, MAX_THREADS, propose

    cited = [{"id": "a", "tags": ["self-correction"]}]
    neighbours = [{"id": f"n{i}", "tags": [f"topic {i}"], "title": f"Note {i}"} for i in range(4)]
    descriptions = {"n0": "locating the error is the bottleneck", "n1": "fair comparisons shrink the gains",
                    "n2": "self-correction works only with a reliable signal", "n3": "models can recognise tests"}
    lines = [p.text for p in propose("Why do models fail to fix their own errors?", "self-correction", cited,
                                     neighbours, descriptions)]
    # the first MAX_ASKED descriptions are asked directly, in their own words; the next is a thread on the concept
    assert lines[:MAX_ASKED] == ["Is locating the error the bottleneck?", "Do fair comparisons shrink the gains?",
                                 "Does self-correction work only with a reliable signal?"]
    threads = [t for t in lines[MAX_ASKED:] if any(d in t for d in descriptions.values())]
    assert threads == [lines[MAX_ASKED]] and len(threads) <= MAX_THREADS
    assert all("self-correction" in t for t in threads)
    # with the asked lines off, a clause naming the concept itself makes no thread ("… carry over to self-correction")
    unasked = [p.text for p in propose("Why do models fail to fix their own errors?", "self-correction", cited,
                                       neighbours, {k: v for k, v in descriptions.items() if k == "n2"},
                                       abstained=False) if "reliable signal" in p.text]
    assert all(t.endswith("reliable signal?") for t in unasked)
