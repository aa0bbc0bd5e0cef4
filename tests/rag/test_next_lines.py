"""Next lines: a proposal survives only when it is new (not the question, not a title, not a near-duplicate
of a kept line) and the index can take it up (it retrieves a relevant note the answer did not cite)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.next_lines import Proposal, check

QUESTION = "Do assistants flatter their users?"


def unit(*xs):
    v = np.asarray(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def run(texts, vecs, titles=(), answerable=lambda i: True, want=4):
    proposals = [Proposal(t, "seed.md") for t in texts]
    return check(proposals, QUESTION, np.stack(vecs), unit(1, 0, 0), set(titles), answerable, want)


def test_a_new_answerable_line_is_kept():
    assert run(["Does debate with another model correct a flattering answer?"], [unit(0.3, 1, 0)]) == [
        "Does debate with another model correct a flattering answer?"]


def test_the_question_itself_and_its_paraphrase_are_refused():
    got = run([QUESTION, "Do assistants really flatter their users?"], [unit(1, 0, 0), unit(0.99, 0.05, 0)])
    assert got == []


def test_a_note_title_is_refused_case_aside():
    got = run(["does debate beat reflection?"], [unit(0, 1, 0)], titles=["Does debate beat reflection?"])
    assert got == []


def test_near_duplicates_of_a_kept_line_are_refused():
    got = run(["Does flattery grow with model size?", "Does flattery grow with the size of the model?",
               "Can a reward model be trained to penalise flattery?"],
              [unit(0.2, 1, 0), unit(0.2, 0.98, 0.05), unit(0.2, 0, 1)])
    assert got == ["Does flattery grow with model size?", "Can a reward model be trained to penalise flattery?"]


def test_a_line_that_retrieves_no_uncited_note_is_refused():
    got = run(["Does flattery grow with model size?", "Can a reward model be trained to penalise flattery?"],
              [unit(0.2, 1, 0), unit(0.2, 0, 1)], answerable=lambda i: i == 1)
    assert got == ["Can a reward model be trained to penalise flattery?"]


def test_at_most_want_lines():
    texts = ["Does flattery grow with model size?", "Can reward models penalise agreement?",
             "Would debate expose sycophantic answers?", "Is honesty training durable under pressure?",
             "Do users notice when assistants defer?"]
    vecs = [unit(*np.eye(8)[i + 1][:8]) for i in range(5)]
    got = check([Proposal(t, "s") for t in texts], QUESTION, np.stack(vecs), unit(1, 0, 0, 0, 0, 0, 0, 0), set(),
                lambda i: True, 3)
    assert got == texts[:3]


def test_a_related_description_with_a_bare_verb_is_a_clause_not_a_subject():
    from rag.next_lines import _has_verb, plural, subject_of

    assert _has_verb("external signals fill the gap") and _has_verb("judges favour longer answers")
    assert not _has_verb("external error signals") and not _has_verb("the gap between judging and generating")
    note = {"tags": ["verification"], "title": "t", "summary": "s"}
    assert subject_of(note, set(), "external signals fill the gap") == "verification"  # the tag instead
    # a plural head before a participle agrees as a plural ("Do revisions driven by pressure …")
    assert plural("revisions driven by pressure, not evidence") and not plural("a fix driven by pressure")


def test_a_clause_with_a_verb_the_word_list_lacks_is_no_subject():
    from rag.next_lines import thread_clause

    assert thread_clause("consistent errors defeat self-checks", lexicon=True) == "consistent errors defeat self-checks"
    assert thread_clause("limits of self-generated signal", lexicon=True) is None  # a noun phrase: "signal" its noun
    assert thread_clause("benchmark judges with known biases", lexicon=True) is None
    assert thread_clause("post-training disrupts calibration", lexicon=True) == "post-training disrupts calibration"


@pytest.mark.parametrize("description,line", [
    ("why judges favour their own outputs", "Why do judges favour their own outputs?"),
    ("why an answer key helps", "Why does an answer key help?"),
    ("why behavioural tests were not enough", "Why were behavioural tests not enough?"),
    ("where verbal confidence does better", "Where does verbal confidence do better?"),
    ("what happens to diversity under self-training", "What happens to diversity under self-training?"),
    ("how much stated reasoning reflects computation", "How much does stated reasoning reflect computation?"),
    ("what learned hacking can spread to", "What can learned hacking spread to?"),
    ("why self-judged gains saturate", "Why do self-judged gains saturate?"),
    ("persuasion is growing with capability", "Is persuasion growing with capability?"),
    ("human raters have their own biases", "Do human raters have their own biases?"),
    ("much of debate's benefit comes from sampling diversity", "Does much of debate's benefit come from sampling diversity?"),
    ("catalogue of behaviours that worsen with size", "Which behaviours worsen with size?"),
    ("other unwanted behaviour that survives safety training", "What other unwanted behaviour survives safety training?"),
])
def test_a_related_description_is_asked_directly_in_its_own_words(description, line):
    from rag.next_lines import asked

    assert asked(description) == line


@pytest.mark.parametrize("description", [
    "why the model guards its goals",  # which model? the line would lose its referent
    "what a model could do with that awareness",
    "what monitoring can and cannot catch",  # two verbs to move
    "when the rater is itself a model",  # a condition, not a question
    "the behaviour in production assistants",  # a noun phrase: nothing to ask
    "hidden goals that training does not fully remove",  # an object relative
])
def test_descriptions_that_cannot_be_asked_safely_are_not(description):
    from rag.next_lines import asked

    assert asked(description) is None


def test_an_answer_leads_its_next_lines_with_the_notes_own_threads_asked_directly(demo_engine):
    import re
    from pathlib import Path

    from rag.next_lines import asked

    notes = Path(__file__).resolve().parents[2] / "examples" / "notes"
    descriptions = [re.sub(r"^- \[\[[^\]]*\]\]\s*[—–-]*\s*", "", line.strip())
                    for f in notes.glob("*.md") for line in f.read_text().splitlines() if line.startswith("- [[")]
    own = {asked(d) for d in descriptions} - {None}
    line = demo_engine.ask("Why does RLHF make models more sycophantic?")
    assert 3 <= len(line.next_lines) <= 5
    assert line.next_lines[0] in own, line.next_lines
