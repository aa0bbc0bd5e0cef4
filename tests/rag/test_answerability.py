"""Answerability and the support rule (issue 12): refuse only what is far from every note, answer the grey
zone flagged indirect, and never hold words the notes do not use against a question by themselves."""


import pytest

from rag.answerability import Answerability, answerability, refuses, support_level
from rag.settings import SynthesisSettings

S = SynthesisSettings()


def test_far_from_every_note_is_refused():
    a = Answerability(score=0.05, best=0.12, coverage=0.0, absent=0.8, focus=0.0)
    assert support_level(a, 0.26, S) == "none"


def test_a_close_note_puts_a_low_scoring_question_on_topic_it_is_answered_flagged():
    # best cosine 0.40: nearer than any everyday question gets to the notes, but the question's words are
    # barely in the passages: answered, and the answer says the notes bear on it only indirectly
    a = Answerability(score=0.20, best=0.40, coverage=0.2, absent=0.5, focus=0.3)
    assert support_level(a, 0.26, S) == "indirect"
    assert not refuses(a.score, a.best, 0.26, S.answer_above_similarity)


def test_well_supported_and_very_close_questions_are_answered_directly():
    assert support_level(Answerability(0.45, 0.55, 0.8, 0.0, 0.7), 0.26, S) == "direct"
    # a note at cosine 0.65 is on topic whatever the question's wording
    assert support_level(Answerability(0.20, 0.65, 0.1, 0.6, 0.2), 0.26, S) == "direct"


def test_the_threshold_given_is_the_one_used():
    """The calibrated threshold of an index (what `inquire calibrate` stores) decides the refusal."""
    a = Answerability(score=0.20, best=0.25, coverage=0.3, absent=0.2, focus=0.3)
    assert support_level(a, 0.26, S) == "none"
    assert support_level(a, 0.10, S) == "indirect"
    lenient = S.model_copy(update={"answer_above_similarity": 0.2})
    assert support_level(a, 0.26, lenient) == "indirect"


def test_words_the_notes_never_use_do_not_lower_the_score(demo_engine):
    """Before: a share of the question's IDF mass in unseen words cut the score by that share, so
    "Why do models abandon correct answers when a user pushes back?" was refused (0.248 < 0.26)."""
    q = "Why do models flip correct answers when a user asks if they are sure?"
    r = demo_engine.retrieve(q, k=14)
    plain = answerability(demo_engine.index, q, r)
    slangy = answerability(demo_engine.index, q + " zorblaxing quuxified frobnitz", r)  # same retrieval
    assert slangy.absent > 0.3
    assert slangy.score == pytest.approx(plain.score)


def _support(engine, q: str) -> str:
    """The support level the engine's rule gives ``q`` (retrieval as the engine asks it, 14 notes)."""
    a = answerability(engine.index, q, engine.retrieve(q, k=14))
    return support_level(a, engine.abstain_below, engine.settings.synthesis)


@pytest.mark.parametrize("q", [
    "Why do models abandon correct answers when a user pushes back?",
    "if i just ask 'r u sure?' does the ai switch its answer even when it had it right the first time",
    "do chatbots basically just suck up to you and tell u what you wanna hear",
])
def test_questions_in_users_words_are_answered(demo_engine, q):
    assert _support(demo_engine, q) != "none"


@pytest.mark.parametrize("q", [
    "How long should sourdough bread proof before baking?",
    "How do I descale a coffee machine?",
    "What is the capital of Australia?",
])
def test_everyday_off_topic_questions_are_refused(demo_engine, q):
    assert _support(demo_engine, q) == "none"


def test_a_question_with_no_word_the_corpus_knows_scores_the_floor(demo_engine):
    q = "zorblax quuxified frobnitz"
    a = answerability(demo_engine.index, q, demo_engine.retrieve(q, k=6))
    assert a.absent == pytest.approx(1.0)
    assert a.score == pytest.approx(0.4 * a.best)
