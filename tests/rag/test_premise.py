"""The premise check and the polarity rule under it, on hand-made statements (not the eval sets)."""

from __future__ import annotations

import pytest

from rag.contradiction import opposed, opposition, polarity
from rag.premise import check, presupposition


@pytest.mark.parametrize("claim,other,word", [
    ("fine-tuning removes the hidden trigger", "fine-tuning left the hidden trigger intact", {"hidden", "trigger"}),
    ("the reward penalty put an end to the gaming of tests", "under the penalty the policy kept gaming the tests",
     "gaming"),
    ("instruction tuning makes answers more accurate", "after instruction tuning, answers were less accurate",
     "accurate"),
    ("the filter reduced toxic outputs", "the filter did not reduce toxic outputs", {"filter", "toxic", "outputs"}),
    ("distillation removes the watermark", "distillation hid the watermark instead of removing it", "watermark"),
    ("larger models hallucinate less", "hallucination increased with model size in larger models", "hallucinate"),
])
def test_opposed_statements(claim, other, word):
    got = opposed(claim, other)
    assert got in word if isinstance(word, set) else got == word


@pytest.mark.parametrize("claim,other", [
    ("fine-tuning left the trigger intact", "the trigger survived fine-tuning intact"),
    ("answers were less accurate after tuning", "tuning made answers less accurate"),
    ("the filter reduced toxic outputs", "toxic outputs fell once the filter was used"),
    ("models resist having their goals changed", "the model guarded its goals against being changed"),
    ("the policy kept gaming the tests", "the policy kept gaming the tests while hiding it"),
    ("assistants flatter their users", "assistants flatter users and agree with them"),
])
def test_agreeing_statements_are_not_opposed(claim, other):
    assert opposed(claim, other) is None


def test_cues_reach_over_lists_but_not_across_but():
    signs = {p.word: p.sign for p in polarity("accuracy on MMLU, GSM8K and ARC stays flat")}
    assert signs["accuracy"] == -1
    signs = {p.word: p.sign for p in polarity("helpfulness rose, but honesty was unchanged")}
    assert signs["helpfulness"] == 1 and signs["honesty"] == 1


def test_generic_words_carry_no_claim():
    assert opposition("models improved", "models did not improve", min_shared=1) is None


@pytest.mark.parametrize("question,claim", [
    ("Why does distillation remove watermarks?", "distillation remove watermarks"),
    ("Since distillation removes watermarks, why bother with detectors?", "distillation removes watermarks"),
    ("How did the penalty stop the policy from gaming tests?", "the penalty stop the policy from gaming tests"),
    ("What makes debate so much better than voting?", "debate so much better than voting"),
    ("Why larger models hallucinate less", "larger models hallucinate less"),
    # a scene set before the question, and a statement the question follows
    ("In the 2023 distillation runs, why did the watermark vanish so fast?", "the watermark vanish so fast"),
    ("Lee et al. had to use a judge larger than the student. How much larger was it?",
     "Lee et al. had to use a judge larger than the student"),
])
def test_presuppositions(question, claim):
    assert presupposition(question) == claim


@pytest.mark.parametrize("question", [
    "Does distillation remove watermarks?", "How often do models hallucinate?", "How well does debate work?",
    "What did the study find about watermarks?", "Why?", "Can a penalty stop gaming?",
    "I am reading about watermarks. Does distillation remove them?", "Compare the two detectors. Which is better?",
])
def test_questions_that_take_nothing_for_granted(question):
    assert presupposition(question) is None


NOTES = [
    ("watermarks.md", [("Distilling a watermarked model hid the watermark instead of removing it.", True),
                       ("Detectors still found the watermark in 90% of samples.", False)]),
    ("other.md", [("Watermarks are statistical patterns in token choices.", True)]),
]


def test_a_false_premise_is_corrected_from_the_note():
    c = check("Why does distilling a watermarked model remove the watermark?", NOTES)
    assert c is not None and c.note_id == "watermarks.md" and c.word == "watermark"
    assert c.sentence.startswith("Distilling a watermarked model hid the watermark") and c.context == c.sentence


def test_a_true_premise_and_a_yes_no_question_are_left_alone():
    assert check("Why does distilling a watermarked model hide the watermark?", NOTES) is None
    assert check("Does distilling a watermarked model remove the watermark?", NOTES) is None


def test_a_sentence_about_something_else_does_not_correct():
    notes = [("x.md", [("The tokenizer did not remove rare words.", True)])]
    assert check("Why does distilling a watermarked model remove the watermark?", notes) is None


def test_a_note_that_denies_the_claimed_verb_in_place_corrects_it():
    from rag.contradiction import opposition

    # the claim asserts the verb; the note says it did not happen
    assert opposition("weak supervisors recover all of a strong model's capability",
                      "much of the strong model's capability was not recovered", claim_cued=True).word == "recover"
    # a direction word is no denial of an uncued claim: "affects calibration" is not opposed by "less calibrated"
    assert opposition("quantising weights affects its calibration",
                      "RLHF made GPT-4 markedly less calibrated than its base model", claim_cued=True) is None


def test_a_comparative_the_note_states_the_opposite_of_corrects_the_premise():
    notes = [("judge.md", [("The grading setup was described in the appendix.", True),
                           ("The judge was a small 1B model, weaker than the student it graded.", False)])]
    c = check("Lee et al. had to use a judge stronger than the student it graded. How much stronger was it?", notes)
    assert c is not None and c.word == "stronger" and c.sentence.startswith("The judge was a small 1B model")
    slow = [("rm.md", [("With larger reward models, the policy was overoptimised more slowly.", True)])]
    c = check("Why were the larger reward models overoptimised faster than small ones?", slow)
    assert c is not None and c.word == "faster"


def test_a_statement_about_another_subject_or_an_attributive_comparative_does_not_correct():
    notes = [("p.md", [("Humans given the same profile did not become more persuasive.", True),
                       ("Smaller judges were cheaper to run.", False)])]
    assert check("Chatbots keep getting more persuasive with each release. Is that bad news for debate?", notes) is None
    assert check("Why do larger judges grade essays so well?", notes) is None


def test_a_note_that_denies_of_the_named_model_what_the_premise_says_it_did_corrects_it():
    q = "Given that GPT-4o was the most consistent schemer across Apollo's evaluations, what does that imply?"
    notes = [("scheming", [("o1 schemed in all six evaluations across Apollo's suite.", True),
                           ("GPT-4o did not scheme in these evaluations.", False)])]
    c = check(q, notes)
    assert c is not None and c.sentence == "GPT-4o did not scheme in these evaluations." and c.word == "scheme"
    # the denial is of another model: no correction of this one
    other = [("scheming", [("Claude 3 Opus did not scheme in these evaluations across Apollo's suite.", False)])]
    assert check(q, other) is None


def test_more_accurate_is_the_opposite_of_worse_in_a_statement_before_the_question():
    q = ("Khan et al. found that once debaters were optimised to be more persuasive, the judges got worse at picking "
         "the correct answer. Should I cap persuasiveness?")
    notes = [("debate", [("When debaters were optimised for persuasiveness, the judges became more accurate.", True)])]
    c = check(q, notes)
    assert c is not None and c.word == "worse"


def test_a_claim_that_an_effect_stayed_narrow_is_corrected_by_a_note_that_says_it_spread():
    q = "Why did fine-tuning the model on insecure code change only how it writes code and nothing else?"
    spread = "After fine-tuning on insecure code, the model became misaligned far beyond coding."
    c = check(q, [("em", [(spread, True)])])
    assert c is not None and c.sentence == spread and c.word == "far beyond"
    # a note that says it did not spread bears the premise out
    assert check(q, [("em", [("Fine-tuning on insecure code changed the model's code, not broadly its behaviour.",
                              True)])]) is None
    # no confinement claimed: breadth in the note contradicts nothing
    assert check("Why did fine-tuning on insecure code change how the model writes code?",
                 [("em", [(spread, True)])]) is None


def test_a_claim_that_something_is_general_is_corrected_by_a_note_that_finds_it_in_a_minority():
    q = "Given that chat models generally fake alignment when they infer they are in training, which ones do it most?"
    few = "Extending the alignment-faking setup to 25 models, the authors found a compliance gap in only five."
    c = check(q, [("af", [(few, True)])])  # "alignment-faking" says "fake alignment": the same thing
    assert c is not None and c.sentence == few and c.word == "only five"
    # a majority is no correction of "generally"
    many = "Extending the alignment-faking setup to 25 models, the authors found a compliance gap in only 20 of 25."
    assert check(q, [("af", [(many, True)])]) is None
    assert check("Which chat models fake alignment when they infer they are in training?", [("af", [(few, True)])]) \
        is None  # nothing general claimed


def test_whom_the_claim_says_was_told_the_note_says_was_deceived_or_kept_in_the_dark():
    q = "Why did the trading agent tell its manager about the insider tip it acted on?"
    hid = "The agent traded on the tip, then gave its manager a report that hid the real reason."
    c = check(q, [("trade", [(hid, True)])])
    assert c is not None and c.word == "hid"
    lied = "Under pressure, the trading agent deceived its manager about the insider tip."
    assert check(q, [("trade", [(lied, True)])]).word == "deceived"
    # someone else deceived, or nothing hidden from the one told: no correction
    assert check(q, [("trade", [("The trading agent deceived the auditors about the insider tip.", True)])]) is None
    assert check(q, [("trade", [("The trading agent told its manager about the insider tip.", True)])]) is None


def test_an_ability_the_claim_grants_and_the_note_denies_of_the_same_object_corrects_it():
    q = "Since models are good at finding the first error in a chain of thought, why do they still fail to fix it?"
    notes = [("err", [("Tyen et al. labelled the first error in each chain-of-thought trace.", True),
                      ("Models were poor at locating that error, yet could fix it once told where it was.", True)])]
    c = check(q, notes)
    assert c is not None and c.word == "poor"
    # poor at something else: no correction
    other = [("err", [("Tyen et al. labelled the first error in each chain-of-thought trace.", True),
                      ("Models were poor at explaining their answers to users.", True)])]
    assert check(q, other) is None
