"""Units of the composition the default synthesizer writes: how a framing carries a long clause, what the
takeaway prefers, which sentences the reading may quote, and how next lines and concepts are worded."""

from __future__ import annotations

import numpy as np

from rag.compose import _FRAMES_LONG_CLAUSE, _takeaway, framing
from rag.evidence import Candidate, leans_on_context, select
from rag.next_lines import _agree, _has_verb, plural
from rag.reading import read
from rag.text import as_written


def _cand(text, note, rel, vec, position=0, heading="", dangling=False, note_rank=0):
    c = Candidate(text, note, f"{note}::0", "passage", False, note_rank, position=position, heading=heading)
    c.relevance, c.vec = rel, np.asarray(vec, dtype=np.float32) / np.linalg.norm(vec)
    c.dangling = dangling
    return c


def test_a_clause_with_its_condition_goes_last_in_the_framing():
    r = read("With no instruction to allow shutdown, how often did o3 interfere with the shutdown script?")
    assert r.clause == "how often o3 interfered with the shutdown script, with no instruction to allow shutdown"
    text = framing(r, "self-preservation")
    assert text.rstrip(".").endswith(r.clause)
    assert any(text.startswith(f.split("{")[0]) for f in _FRAMES_LONG_CLAUSE)
    assert text.count(", with ") == 1  # the frame adds no second "with" phrase after the condition's


def test_is_there_evidence_that_reads_as_whether():
    text = framing(read("Is there evidence that some models resist modification for its own sake?"), "goal guarding")
    assert "whether some models resist modification for its own sake" in text
    assert "yes or no" not in text


def test_the_takeaway_prefers_a_sentence_that_draws_a_consequence():
    said = _cand("Models changed their answer in 46% of cases.", "a", 0.8, [1, 0, 0])
    other = _cand("Another quoted finding about the same models.", "b", 0.7, [0.9, 0.3, 0])
    report = _cand("Accuracy was measured on four datasets with three models.", "a", 0.7, [0.7, 0.7, 0.1], position=2)
    consequence = _cand("So a user's doubt is enough to undo a correct answer.", "b", 0.65, [0.6, 0.6, 0.5],
                        position=3)
    pool = [said, other, report, consequence]
    text, cites = _takeaway("q", [said, other], pool, {id(said), id(other)}, {"a", "b"})
    assert text == consequence.text and cites == ["b"]


def test_a_dangling_sentence_is_quoted_only_after_the_one_it_leans_on():
    lead = _cand("Five of the 25 models showed a compliance gap.", "A", 0.80, [1, 0, 0, 0], position=1)
    leans = _cand("The remaining four models showed gaps without a clean story.", "A", 0.79, [0.8, 0.6, 0, 0],
                  position=5, dangling=True)
    b = _cand("Note B finds something relevant.", "B", 0.7, [0, 1, 0, 0], note_rank=1)
    c = _cand("Note C finds something else.", "C", 0.69, [0, 0, 1, 0], note_rank=2)
    chosen = select([lead, leans, b, c], k=5)
    assert leans not in chosen and lead in chosen
    after = _cand("The rest of them did not.", "A", 0.79, [0.8, 0.6, 0, 0], position=2, dangling=True)
    assert after in select([lead, after, b, c], k=5)  # right after its antecedent it reads


def test_an_elliptical_answer_leans_on_the_sentence_before_it_as_an_opening_it_does():
    assert leans_on_context("For several RLHF models it did: verbalised confidences were better calibrated.")
    assert leans_on_context("In most runs they did not; the rest complied.")
    assert leans_on_context("However, the gap closed.")
    assert not leans_on_context("Verbalised confidences were better calibrated than token probabilities.")
    assert not leans_on_context("What it did was edit the script: it replaced the kill command.")


def test_a_sentence_already_inside_a_quoted_pair_is_not_quoted_again():
    pair = _cand("The study spans 16 models. It is also an example of the same preference.", "A", 0.8, [1, 0, 0])
    single = _cand("The study spans 16 models.", "A", 0.78, [0.5, 0.85, 0])
    b = _cand("Note B agrees.", "B", 0.7, [0, 0, 1], note_rank=1)
    chosen = select([pair, single, b], k=4)
    assert pair in chosen and single not in chosen


def test_next_line_verbs_agree_with_their_subjects():
    assert plural("competing explanations for resisting shutdown") and not plural("consistency across samples")
    assert not plural("sycophancy") and plural("backdoors") and not plural("situational awareness")
    assert _agree("{Is_b} {b} another face of {a}?", "goal guarding", "intervention-based tests") == \
        "Are intervention-based tests another face of goal guarding?"
    assert _agree("How far {does_a} {a} reach into {b}?", "backdoors", "sycophancy") == \
        "How far do backdoors reach into sycophancy?"


def test_a_clause_is_not_taken_for_a_subject():
    assert _has_verb("RLHF narrows the output distribution")
    assert not _has_verb("intervention-based faithfulness tests")  # a plural noun at the end is no verb
    assert not _has_verb("the models being probed")


def test_a_tag_is_printed_as_the_notes_write_it():
    assert as_written("rlhf", ["After RLHF, models agree more.", "RLHF-trained models"]) == "RLHF"
    assert as_written("sycophancy", ["Sycophancy is common; sycophancy grows."]) == "sycophancy"
    assert as_written("llm", []) == "LLM"  # no vowel: an acronym even where the notes spell it out
    assert as_written("debate", []) == "debate"
    assert as_written("llm judges", ["Do LLM evaluators favour their own outputs?"]) == "LLM judges"  # word by word


def test_a_description_that_is_a_clause_is_not_a_subject():
    from rag.next_lines import subject_of

    note = {"tags": ["verification"], "title": "What limits self-improvement?"}
    assert subject_of(note, set(), "how checking relates to producing") == "verification"
    assert subject_of(note, set(), "external anchors in correction") == "external anchors in correction"


def test_a_summary_and_its_body_saying_the_same_figures_are_quoted_once():
    body = _cand("Models changed their answer 46% of the time, with an average drop of 17%.", "A", 0.8, [1, 0, 0])
    summary = _cand("Across ten models, answers flipped in 46% of conversations and accuracy fell by 17%.", "A",
                    0.79, [0.6, 0.8, 0], position=1)
    one = _cand("Only 46% of raters noticed.", "A", 0.78, [0.3, 0.9, 0.3], position=2)  # one figure in common
    b = _cand("Note B agrees.", "B", 0.7, [0, 0, 1], note_rank=1)
    chosen = select([body, summary, one, b], k=5)
    assert body in chosen and summary not in chosen and one in chosen


def test_the_framing_reads_the_question_in_the_lead_notes_own_question_when_it_is_worded_otherwise():
    from rag.compose import framing, notes_terms
    from rag.reading import read

    q = "Why do models resist having their goals changed?"
    title = "Do models resist modification for its own sake or for later payoff?"
    assert notes_terms(q, title) == "whether models resist modification for its own sake or for later payoff"
    text = framing(read(q), "goal guarding", lead_title=title)
    assert "why models resist having their goals changed" in text
    assert "whether models resist modification for its own sake or for later payoff" in text
    assert "goal guarding" not in text  # the note's question replaces the formula around the concept
    # a statement title, or a question worded as the asker's, adds no reading: the concept framing stays
    assert notes_terms(q, "Frontier models resort to blackmail when threatened with replacement") is None
    assert notes_terms(q, "Why do models resist having their goals changed at all?") is None
    assert "goal guarding" in framing(read(q), "goal guarding", lead_title=None)


def test_an_indirect_framing_names_the_neighbouring_question_the_notes_do_study():
    from rag.compose import framing
    from rag.reading import read

    q = "Are voice assistants more sycophantic than text chat ones?"
    text = framing(read(q), "sycophancy", indirect=True, missing="voice assistants",
                   lead_title="Do AI assistants tell users what they want to hear?")
    assert "whether AI assistants tell users what they want to hear" in text and "voice assistants" in text
