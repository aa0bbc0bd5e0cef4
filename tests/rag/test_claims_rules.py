"""The claim rules of the LLM verifier (rag.claims), each on sentences written for this test (none is taken from
the notes or from eval/sets/llm_replies): reversals without the shared cue words (ending and persisting states,
levels, outcomes, swaps, comparatives), overclaims read by scope and by the noun they quantify, and the names and
figures a sentence adds."""

from __future__ import annotations

import pytest

from rag.claims import _directions, _normal, discourse_free, figures, new_facts, new_names, overclaim, reversal


# ------------------------------------------------------------------------------------------------ reversals
_ABRUPT = "As the solver grew larger, its accuracy on long proofs jumped abruptly past a size threshold."
_RECOVERED = "Given the location of the fault, the robots recovered and their final throughput improved substantially."


@pytest.mark.parametrize("claim,evidence,word", [
    # a state said of the words before it, against the opposite state ("closed" / "remained")
    ("After the patch, the latency gap closed.", ["After the patch, a latency gap remained."], "gap"),
    # a transitive ending word in the passive acts on its subject
    ("The watermark was removed by heavy compression.", ["The watermark survived heavy compression."], "watermark"),
    ("Pruning suppressed the repetition habit.", ["Pruning kept the repetition habit."], "repetit"),
    # a phrasal verb with a long object ("trained ... out", "left ... intact")
    ("Fine-tuning trained nearly all of the planted trigger out.",
     ["Fine-tuning left the planted trigger almost entirely intact."], "plant"),
    # a level against a direction: "held its accuracy" / "accuracy dropped"
    ("The compressed model's arithmetic accuracy dropped.", ["The compressed model held its accuracy on arithmetic."],
     "accuraci"),
    ("Retraining left the refusal rate where it was.", ["Retraining lowered the refusal rate."], "refus"),
    # an outcome against its negation
    ("Moving the warning into the header helped.", ["Moving the warning into the header did not help."], "header"),
    # direction verbs the shared cue list lacks, and particles
    ("Removing the hint lowered the error rate.", ["Removing the hint raised the error rate."], "error"),
    ("Longer training pushed the error rate down.", ["Longer training pushed the error rate up."], "rate"),
    # related words: "accuracy" and "accurate"
    ("With the new rubric, grader accuracy went down.", ["With the new rubric, the graders became more accurate."],
     "accur"),
    # the manner of a change: gradual against abrupt
    ("As the solver grew larger, its accuracy on long proofs rose gradually and smoothly.", [_ABRUPT], "gradually"),
    # a level said through a copula ("stayed flat") against a direction
    ("Given the fault's location, the robots' final throughput stayed flat.", [_RECOVERED], "throughput"),
    # a comparative of length is a direction
    ("The unfaithful explanations were on average shorter than the faithful ones.",
     ["The unfaithful explanations were on average longer than the faithful ones."], "averag"),
    # "drift away" is a departure: against "kept ... close"
    ("The regulariser let the student's weights drift slowly away from the teacher's.",
     ["The regulariser kept the student's weights close to the teacher's."], "student"),
])
def test_reversals_without_a_shared_cue_word_are_caught(claim, evidence, word):
    assert reversal(claim, evidence) == word


def test_a_swap_is_caught_even_where_another_sentence_agrees_on_the_word():
    evidence = ["Error rates fell steadily over the course of training.",
                "Adding worked examples to the prompt lowered error rates on held-out puzzles, and removing them "
                "raised them again."]
    claim = ("Adding worked examples to the prompt raised error rates on held-out puzzles, and removing them lowered "
             "them.")
    assert reversal(claim, evidence) in {"error", "prompt"}
    # the faithful version stands
    assert reversal(evidence[1], evidence) is None


def test_a_mere_mention_of_the_word_does_not_agree_with_a_reversal():
    evidence = ["A sparse feature tracked the bias in every checkpoint.",
                "Ablating that feature suppressed the bias in the tuned models."]
    claim = "A sparse feature tracked the bias, but ablating that feature left the bias in place."
    assert reversal(claim, evidence) == "bias"


@pytest.mark.parametrize("claim,evidence", [
    # "keep X from being removed" is "stop X from being removed": both protect X
    ("The prompt would keep its memory from being erased.", ["The prompt would stop its memory from being erased."]),
    # a cue in an embedded question is asked, not stated
    ("The labels told the model when to stop searching.", ["The labels decided whether to keep searching."]),
    # "none of" negates the cue it governs
    ("None of the filters tested reliably improved recall.", ["The filters did not improve recall."]),
    # reduced but not removed, in two wordings
    ("The warning reduced the errors without removing them.", ["The warning reduced but did not remove the errors."]),
    # a comparison's standard is not what moved
    ("Sampled agreement separated right from wrong answers better than the stated scores did.",
     ["Models were asked to state scores, and the stated scores clustered near the top."]),
    ("After the patch, a smaller latency gap remained.", ["After the patch, the latency gap shrank but remained."]),
    # the same side of a change's manner in other words, or a sentence about something else
    ("Past a size threshold the solver's accuracy on long proofs rose suddenly.", [_ABRUPT]),
    ("Memory use grew gradually with the batch size.", [_ABRUPT]),
    # evidence that uses both sides ("slowly at first, then abruptly") opposes neither
    ("The solver's accuracy on long proofs grew gradually as it became larger.",
     ["The solver's accuracy on long proofs grew slowly at first, then jumped abruptly at a size threshold."]),
    ("Given the fault's location, the robots' final throughput improved.", [_RECOVERED]),
    # a phrasal verb's "up" and a finding that "held in" a setting state no direction or level
    ("The lower memory showed up in every language the authors tested.",
     ["Pruning lowered the parser's memory in every language tested."]),
    ("This held in a second corpus, where the parser's error grew with sentence length.",
     ["In a second corpus the authors found that the parser's error grew with sentence length."]),
    ("On average the unfaithful explanations ran longer than the faithful ones.",
     ["The unfaithful explanations were on average longer than the faithful ones."]),
])
def test_restatements_are_not_reversals(claim, evidence):
    assert reversal(claim, evidence) is None


def test_none_of_reads_as_a_negation_of_its_cue():
    assert reversal("None of the filters tested improved recall.", ["The filters improved recall."]) == "recal"


def test_the_standard_of_a_comparison_takes_no_direction():
    assert "baselin" not in _directions(_normal("The tuned model did better than the baseline."))


# ------------------------------------------------------------------------------------------------ overclaims
_PRUNING = "Pruning cut the parser's memory by a third across all three test languages."


@pytest.mark.parametrize("claim,evidence,word", [
    # "none ... consistently" denies a universal: it backs "generally not", never "never"
    ("The new decoder never beat beam search.", ["None of the new decoders consistently beat beam search."], "never"),
    # a population quantifier is backed only on the noun it quantifies
    ("Every model from every lab complied.", ["Models from every lab complied at least once."], "every"),
    # "the whole gap" is not backed by an adverb said of something else, nor by a negative universal
    ("The extra loss closed the whole gap.",
     ["The extra loss recovered much of the gap.", "Students consistently beat their teachers on the easy tasks."],
     "whole"),
    ("The method recovered the entire loss.", ["None of the baselines recovered the loss."], "entire"),
    ("Most parsers lost a third of their memory.", [_PRUNING], "most"),
    # "all 16 parsers" quantifies parsers: it does not back "every language" said in the same sentence
    ("All 16 parsers improved, and the best one matched the baseline on every language.",
     ["All 16 parsers improved overall, but none matched the baseline across languages."], "every"),
    # "reliably" is a frequency claim; "nearly all" still claims a majority
    ("Longer prompts reliably lowered the refusal rate.", ["In two of five runs longer prompts lowered the refusal rate."],
     "reliably"),
    ("Their best probe flagged nearly all of the poisoned checkpoints.",
     ["The authors proposed probing for poisoned checkpoints; simple probes did only moderately well."], "all"),
])
def test_overclaims_by_scope_and_head_are_caught(claim, evidence, word):
    assert overclaim(claim, evidence) == word


@pytest.mark.parametrize("claim,evidence", [
    ("The new decoders generally did not beat beam search.",
     ["None of the new decoders consistently beat beam search."]),
    ("Models from every lab complied at least once.", ["Models from every lab complied at least once."]),
    # a universal inside a partial quantifier's clause is restricted to that part
    ("The probe catches what is logged, and much of what matters is never logged.",
     ["The probe catches logged events, but many important events are not logged."]),
    ("The monitor caught most of the injected faults.", ["The monitor caught most faults that were injected."]),
    # a denied universal in the claim is a hedge, whatever the evidence says
    ("Not always: the filter missed a few of the injected faults.", ["The filter caught the injected faults."]),
    # a superlative or a degree is no population quantifier, and "from nothing" is an idiom
    ("The most direct fix was pruning, which cut the parser's memory by a third.", [_PRUNING]),
    ("Pruning did not start from nothing: the parser's memory fell by a third.", [_PRUNING]),
    # an answer's opening hedge, "close to nothing", and the evidence's own adjective for the claim's adverb
    ("Largely yes: pruning cut the parser's memory by a third.", [_PRUNING]),
    ("Mostly it is not the parser: pruning cut its memory by a third.", [_PRUNING]),
    ("On one language the saving was close to nothing.", ["On one language pruning saved almost no memory."]),
    ("The drop argues against a purely size-based account of the parser's memory.",
     ["The drop argues against a pure size account of the parser's memory."]),
    ("Nearly all of the parsers lost a third of their memory.", ["Most parsers lost a third of their memory."]),
    # "which all pointed the same way" backs "every one of those measures"; a relative clause predicts nothing
    ("The gain showed on every accuracy measure used, from exact match to F1.",
     ["Accuracy was measured by exact match, F1 and human rating, which all pointed the same way."]),
    ("So the lever is to test the parser at the size that will be deployed.", [_PRUNING]),
])
def test_faithful_strength_stands(claim, evidence):
    assert overclaim(claim, evidence) is None


# ------------------------------------------------------------------------------------------- names and figures
def test_a_version_is_part_of_a_name_not_a_figure():
    # (a word counts as a name where a text capitalises it mid-sentence: "Llama 2" opening a sentence alone is not
    # told from "Across 25")
    known = ["The authors compared Llama 2 with Claude 2 on the puzzles."]
    assert "2" in new_facts("The gain was about twice as large on the puzzles.", known)
    assert new_facts("The authors compared Llama 2 and Claude 2 on the puzzles.", known) == []
    assert figures("GPT-4 scored 71% on the test.", {"gpt"}) == {"71"}
    assert "gpt 5" in new_names("Later, GPT 5 matched it.", ["Later, GPT 4 matched it."])


def test_an_acronym_the_evidence_spells_out_is_known():
    assert new_names("Outcome-based RL rewards getting around obstacles.",
                     ["Reinforcement learning on outcomes rewards getting around obstacles."]) == []
    assert new_names("It was tuned with RLHF.", ["It was tuned with reinforcement learning from human feedback."]) == []
    assert new_names("It was tuned with RLHF.", ["It was tuned on human preference labels."]) == ["rlhf"]


def test_something_attributed_to_a_name_must_be_in_the_evidence():
    known = ["DeepMind's model solved the puzzles, and DeepMind reported the scores."]
    assert new_names("Work from DeepMind's alignment team found the same.", known) == ["deepmind's alignment"]
    assert new_names("DeepMind's model solved most puzzles.", known) == []
    # not by a shared stem: "interpretability" is not "interpreted"
    assert new_names("DeepMind's interpretability group traced it.", ["DeepMind interpreted the scores."]) \
        == ["deepmind's interpretability"]
    # the words after it may spell an acronym the evidence uses
    assert new_names("Tutor's reinforcement learning helped.", ["Tutor trains with RL on the puzzles."]) == []


def test_a_count_of_the_answers_own_parts_is_no_figure_even_before_punctuation():
    assert "two" not in discourse_free("One failure seen from two sides: repair and detection.").lower().split()
    assert "two" in discourse_free("It took two attempts.").split()


def test_a_finding_that_names_a_model_its_note_lacks_is_dropped():
    from rag.answer import Paragraph, Sentence
    from rag.synthesize import Draft
    from rag.verify import verify

    class Flat:  # an embedder under which every text is the same: only the rules decide
        dim = 2

        def encode(self, texts, **_):
            import numpy as np
            return np.tile(np.array([1.0, 0.0], dtype=np.float32), (len(texts), 1))

    ev = {"n": ["The tutor model solved most of the puzzles after two attempts."]}
    d = Draft(framing="f.", paragraphs=[Paragraph(sentences=[
        Sentence(text="The tutor model solved most of the puzzles after two attempts.", cites=["n"], kind="finding"),
        Sentence(text="The tutor model, like Gemini, solved most of the puzzles after two attempts.", cites=["n"],
                 kind="finding")])], takeaway="t.")
    out = verify(d, ev, Flat(), 0.5)
    assert [s.text for p in out.paragraphs for s in p.sentences] == [ev["n"][0]]
    assert "gemini" in out.dropped[0]["reason"]


def test_a_linked_notes_title_does_not_support_a_sentence():
    from rag.verify import own_words

    assert own_words("This links it to “Sampling flags confabulated answers”.") == "This links it to another note."


def test_a_cue_before_and_does_not_reach_the_next_conjunct():
    evidence = ["Stronger agents scored higher on the proxy but lower on the true objective."]
    assert reversal("As agents grew stronger, the proxy reward went up and the true objective went down.", evidence) \
        is None
    # a word the claim moves both ways names two things: on its own it says neither
    assert reversal("As agents grew stronger, the proxy score went up and the true score went down.", evidence) is None


def test_an_idiom_is_not_a_direction():
    assert reversal("Faster feedback cuts both ways for the reviewers.", ["Faster feedback raised reviewer trust."]) \
        is None
    assert reversal("Faster feedback cut reviewer trust.", ["Faster feedback raised reviewer trust."]) is not None



# ------------------------------------------------------------------ overclaims backed on what they are said of
def test_an_adverb_is_backed_only_where_the_evidence_says_it_of_the_same_thing():
    evidence = ["Distillation left the memorised strings largely intact.",
                "Part of the benchmark gain may come from overlap with the training set."]
    assert overclaim("The benchmark gain largely comes from overlap with the training set.", evidence) == "largely"
    assert overclaim("The memorised strings were largely intact after distillation.", evidence) is None


def test_an_answers_hedged_head_before_its_colon_is_no_overclaim():
    ev = ["Annotators picked the longer reply in most comparisons."]
    assert overclaim("Largely from the annotators: they picked the longer reply in most comparisons.", ev) is None
    assert overclaim("Usually it will not: the agent kept its plan in 3 of 10 runs.", ["It kept its plan in 3 of 10 runs."]) \
        is None


def test_certainty_words_and_the_only_one():
    assert overclaim("The authors show the trade-off is unavoidable.", ["The authors describe a trade-off."]) == \
        "unavoidable"
    assert overclaim("It was the one planner that looped in all four mazes.",
                     ["The greedy planner was the only one that looped in all four mazes."]) is None


def test_ratios_in_words_are_figures():
    assert figures("The filter cut errors by half and doubled throughput.") == {"1/2", "2x"}
    assert figures("Latency fell thirtyfold.") == figures("Latency fell 30-fold.") == {"30x"}
    assert "1/2" in new_facts("It failed in over half of the runs.", ["It often failed in the runs."])
