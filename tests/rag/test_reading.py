"""Reading a question: its form, and a clause a framing can carry that stays grammatical."""

from __future__ import annotations

import pytest

from rag.reading import clause_of, form_of, read


@pytest.mark.parametrize("question,clause", [
    ("Why do models flatter their users?", "why models flatter their users"),
    ("Why does RLHF hurt calibration?", "why RLHF hurts calibration"),
    ("Why did the monitor miss the hacks?", "why the monitor missed the hacks"),
    ("Does debate help weak judges?", "whether debate helps weak judges"),
    ("Do larger models agree more with users?", "whether larger models agree more with users"),
    ("Can a model be trusted to grade its own work?", "whether a model can be trusted to grade its own work"),
    ("Is multi-agent debate actually worth the extra calls?", "whether multi-agent debate is actually worth the extra calls"),
    ("Is sandbagging detection robust to fine-tuning?", "whether sandbagging detection is robust to fine-tuning"),
    ("How often did o3 edit the shutdown script?", "how often o3 edited the shutdown script"),
    ("How many GPU hours did training take?", "how many GPU hours training took"),
    ("How likely is a model to fake alignment?", "how likely a model is to fake alignment"),
    ("What keeps self-training loops from collapsing?", "what keeps self-training loops from collapsing"),
    ("With no instruction, how often did o3 resist?", "how often o3 resisted, with no instruction"),
    # a scene-setting phrase or condition stays in the clause, after it
    ("Since RLHF raises agreement, why do labs still use it?", "why labs still use it, given that RLHF raises agreement"),
    ("if you train the model to stop lying does it actually stop or does it just hide it better",
     "whether it actually stops, if you train the model to stop lying"),
    ("if i push back on the bot does it change its answer", "whether it changes its answer, if you push back on the bot"),
    ("In roughly what share of transcripts did the model suspect a test?",
     "in roughly what share of transcripts the model suspected a test"),
    ("Is there evidence that models resist shutdown for its own sake?",
     "whether models resist shutdown for its own sake"),
    ("Given that most models comply, which ones do it the most?",
     "which ones do it the most, given that most models comply"),
    ("After fine-tuning, can you still trust its stated confidence?",
     "whether you can still trust its stated confidence, after fine-tuning"),
    ("Does the final answer even change?", "whether the final answer even changes"),
    # after a possessive, its nouns up to a preposition are the subject, then comes the verb
    ("Why did the parser's error rate in the legal test drop off so sharply?",
     "why the parser's error rate in the legal test dropped off so sharply"),
    ("Why does the model's answer change?", "why the model's answer changes"),
    # a noun before a plural noun and a verb is part of the subject ("reward models"); a causative is a verb
    ("Why did the larger proxy reward models get exploited faster?",
     "why the larger proxy reward models got exploited faster"),
    ("Why does training help models generalize?", "why training helps models generalize"),
    # a passive after a wh phrase: the auxiliary goes before its participle
    ("Which corpora were the twelve parsing tasks taken from?", "which corpora the twelve parsing tasks were taken from"),
    # a superlative opens the predicate; a second question after "?" is left to the reading
    ("Why was the small parser the most accurate on legal text?", "why the small parser was the most accurate on legal text"),
    ("How did the parser behave on legal text? Did it drop clauses too?", "how the parser behaved on legal text"),
    # a condition, then the wh question after its comma
    ("When a reviewer pushed back, how often on average did the parsers change their label?",
     "how often on average the parsers changed their label, when a reviewer pushed back"),
    # questions, not scenes: no leading phrase is split off
    ("When does debate help, and when is it no better than voting?", "when debate helps"),
    ("Why does safety training remove the behaviour or just teach models to hide it?",
     "why safety training removes the behaviour or just teaches models to hide it"),
])
def test_clauses(question, clause):
    assert read(question).clause == clause


def test_no_clause_rather_than_a_broken_one():
    assert clause_of("Why zorbs glimmer?") in (None, "why zorbs glimmer")
    assert clause_of("Does the flurb wibble the snark?") is None  # no verb it knows: no rewrite


@pytest.mark.parametrize("question,form", [
    ("Why do models flatter users?", "why"), ("What makes debate work?", "why"),
    ("How often do models flip answers?", "quantity"), ("By how much did accuracy drop?", "quantity"),
    ("When does debate beat voting?", "condition"), ("Under what conditions does it fail?", "condition"),
    ("Does RLHF hurt calibration?", "whether"), ("How does reward hacking spread?", "how"),
    ("Which models fake alignment?", "what"),
])
def test_forms(question, form):
    assert form_of(question) == form or read(question).form == form


def test_a_lab_named_as_who_did_the_work_is_no_concept():
    from rag.reading import concept_candidates

    notes = [{"summary": "Burns et al. (OpenAI, 2023) found a Degeneration-of-Thought in FlipFlop tests.", "tags": []},
             {"summary": "Apollo Research and OpenAI (Schoen et al., 2025) trained o3.", "tags": ["scheming"]}]
    got = [c for c, _ in concept_candidates(notes)]
    assert "OpenAI" not in got
    assert "Degeneration-of-Thought" in got and "FlipFlop" in got and "scheming" in got


def test_wh_phrases_with_a_noun_before_the_auxiliary_and_et_al_subjects_read_as_clauses():
    assert clause_of("What blackmail rate did Claude Sonnet 4.5 show in the replacement test?") == \
        "what blackmail rate Claude Sonnet 4.5 showed in the replacement test"
    assert clause_of("Which specific medical question-answering datasets did Smit et al. use?") == \
        "which specific medical question-answering datasets Smit et al. used"
    assert clause_of("What mechanism do Laine et al. propose for the gain?") == \
        "what mechanism Laine et al. propose for the gain"
    assert clause_of("Which of the ten LLMs was most resistant to flipping?") == \
        "which of the ten LLMs was most resistant to flipping"
    # a second question after ", and if …" is left to the reading, as after ", and should …"
    assert clause_of("How does calibration change after RLHF, and if I need scores should I just ask it?") == \
        "how calibration changes after RLHF"
