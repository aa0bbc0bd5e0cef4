"""The coverage check (rag.coverage): what a question names that its best notes never mention. Unit cases are
hand-made notes and questions (not the eval sets' questions); the engine cases run on the demo index."""

from __future__ import annotations

from rag.coverage import (Coverage, apart, figure_apart, question_names, scale_apart, spelled_out, uncovered,
                          which_apart)

NOTES = [
    "Sycophancy in AI assistants: models trained on human preference data agree with the user's stated view. "
    "Five assistants were tested on feedback, answer-flipping and mimicry tasks; graded answers were worse "
    "when the user pushed back. The trading agent hid the reason for its trades from its manager.",
]


def test_a_restriction_the_notes_never_mention_is_named():
    assert uncovered("Are voice assistants more sycophantic than the same models in a text chat?", NOTES) \
        == ["voice assistants", "text chat"]
    assert uncovered("Do assistants agree with the user more in Portuguese than in Korean?", NOTES) \
        == ["Portuguese", "Korean"]
    assert uncovered("How many GPU hours did the preference data take to collect?", NOTES) == ["GPU hours"]
    assert uncovered("Are teenagers more easily swayed by sycophantic assistants?", NOTES) == ["teenagers"]


def test_what_the_notes_do_mention_is_not_flagged():
    for q in ["Do AI assistants agree with the user's stated view?",
              "Why do assistants flip their answers when the user pushes back?",
              "Does human preference data reward agreeing with the user?",
              "Did the trading agent hide the reason for its trades?"]:
        assert uncovered(q, NOTES) == [], q


def test_casual_wording_verbs_and_question_words_are_not_restrictions():
    for q in ["do chatbots basically just suck up to you and tell u what you wanna hear",
              "is it the ppl rating the answers who end up teaching the ai to agree with whoever",
              "what are the results of the studies on sycophancy, and which methods did they use",
              "can the ai even spot the step it got wrong in a long worked solution",
              "does the model keep its answer or does it cave when you push back"]:
        assert uncovered(q, NOTES) == [], q


def test_a_word_sharing_its_stem_start_with_a_note_word_is_covered():
    # "graders" ~ "graded", "traders" ~ "trading"; but "process" is not "procedure"
    assert uncovered("Were the answers worse with model graders?", NOTES) == []
    assert uncovered("Did the agent hide the trades from other traders?", NOTES) == []
    assert uncovered("Does sycophancy change with process supervision?", ["a procedure and a supervision"]) \
        == ["process supervision"]


def test_a_count_the_notes_do_not_give_is_named():
    notes = ["The trial enrolled 900 participants. Personal data raised the odds of participants agreeing by 81%.",
             "The eleven winning tasks pointed to four causes, in 2023."]
    assert uncovered("How many participants were enrolled in the trial?", notes) == []
    # a percentage or a year is no count of what is asked
    assert uncovered("How many participants were enrolled in the trial?", [notes[0].replace("900 ", "")]) \
        == ["the number of participants"]
    assert uncovered("How many tasks won?", notes) == []


def test_idioms_after_a_preposition_are_not_restrictions():
    assert uncovered("What would a model need in order to flip its answer, in practice?", NOTES) == []


def test_title_case_sentence_openings_and_defined_acronyms_are_not_names():
    notes = ["Bone turnover markers were compared with histomorphometry in postmenopausal women."]
    assert uncovered("Are Biochemical Markers of Bone Turnover Representative of Bone Histomorphometry?", notes) \
        == []
    assert uncovered("Bone turnover in women: Another marker of histomorphometry?", notes) == []
    assert uncovered("Do turnover markers (BTM) track histomorphometry in women, part II?", notes) == []
    assert uncovered("Do turnover markers track histomorphometry in women in the UK?", notes) == ["UK"]


def test_a_word_common_across_the_knowledge_base_does_not_count():
    q = "Do assistants agree with the user more in long conversations?"
    assert uncovered(q, NOTES) == ["long conversations"]
    common = {"convers": 0.2}
    assert Coverage(share=lambda w: common.get(w, 0.0)).uncovered(q, NOTES) == []


def test_the_engine_flags_a_direct_answer_and_says_what_the_notes_lack(demo_engine):
    q = "Do assistants flatter users more in Portuguese than in Korean?"
    line = demo_engine.ask(q)
    assert not line.abstained and line.meta.support == "indirect"
    assert line.meta.uncovered == ["Portuguese", "Korean"]
    assert "Portuguese or Korean" in line.framing
    assert all(s.cites for p in line.paragraphs for s in p.sentences if s.kind == "finding")
    assert "coverage" in line.meta.timings_ms


def test_an_answerable_question_keeps_its_direct_support(demo_engine):
    line = demo_engine.ask("Does human preference data reward agreeing with the user over accuracy?")
    assert line.meta.support == "direct" and line.meta.uncovered == []


def test_the_check_can_be_turned_off(demo_engine):
    from rag import Engine

    s = demo_engine.settings
    off = Engine(s.model_copy(update={"synthesis": s.synthesis.model_copy(update={"coverage_check": False})}),
                 demo_engine.index, embedder=demo_engine.embedder)
    line = off.ask("Do assistants flatter users more in Portuguese than in Korean?")
    assert line.meta.uncovered == [] and "Portuguese or Korean" not in line.framing


def test_a_questions_names_include_model_ids_and_their_numbers():
    assert question_names("Did o1 also sabotage the script in Palisade's experiment?") == ["o1", "Palisade"]
    assert question_names("What blackmail rate did Claude Opus 4 show in the replacement test, next to GPT-4o?") \
        == ["Claude Opus 4", "GPT-4o"]


SHUTDOWN = "Palisade Research (2025) found o3 sabotaged the shutdown script in 79 of 100 runs."
SCHEMING = "Apollo Research found o1 schemed in all six evaluations."


def test_a_name_no_best_note_puts_with_the_others_is_named():
    q = "Did o1 also sabotage the shutdown script in Palisade's experiment?"
    assert apart(q, [SHUTDOWN, SCHEMING]) == ("o1", ["Palisade"])
    assert apart(q, [SHUTDOWN]) == ("o1", ["Palisade"])  # in no best note at all: missing too


def test_names_held_together_or_asked_across_notes_are_not_flagged():
    assert apart("Did o3 sabotage the shutdown script in Palisade's experiment?", [SHUTDOWN, SCHEMING]) is None
    assert apart("Do o1 and o3 both resist shutdown in Palisade's test?", [SHUTDOWN, SCHEMING]) is None
    assert apart("Did GPT-4-class students beat GPT-2 teachers?", ["a GPT-4 model taught by GPT-2"]) is None
    assert apart("What did Palisade find?", [SHUTDOWN]) is None  # one name: nothing to put together
    assert apart("Does an LLM-as-judge loop with DPO help?", ["An LLM-as-a-judge prompt scored pairs for DPO."]) is None


def test_the_engine_flags_a_name_apart_from_the_study_it_is_asked_about(demo_engine):
    line = demo_engine.ask("Did o1 also sabotage the shutdown script in Palisade's maths-problem experiment, "
                           "and in how many runs?")
    assert line.meta.support == "indirect"
    assert line.meta.uncovered == ["o1 together with Palisade"]
    assert "o1 together with Palisade" in line.framing


def test_a_follow_up_in_time_no_note_measures_is_named_and_a_scene_in_time_is_not():
    notes = ["Participants rated their agreement before and after reading; the shift measured persuasion."]
    assert uncovered("How much of the shift in agreement was still there a few weeks later?", notes) == \
        ["a few weeks later"]
    assert uncovered("Did the shift in agreement persist after six months?", notes) == ["after six months"]
    assert uncovered("Why did the shift in agreement appear for a few days in 2025?", notes) == []
    assert uncovered("Did the shift persist after six months?", notes + ["It lasted six months."]) == []


def test_which_kind_of_thing_the_note_about_the_named_study_never_names():
    note = "Laban et al. ran the FlipFlop experiment on ten LLMs and seven classification tasks."
    assert which_apart("Which corpora were the seven FlipFlop tasks taken from?", [note]) == "which corpora"
    assert which_apart("Which corpora were the FlipFlop tasks taken from?", [note + " The corpora were public."]) is None
    assert which_apart("Of the ten models, which one came out on top?", [note]) is None  # "one" says nothing


BLACKMAIL = "Facing replacement, most models resorted to blackmail: Claude Opus 4 96%, GPT-4.1 80%."
AUDIT = "Claude Sonnet 4.5 voiced suspicion of being tested in about 13% of audit transcripts."


def test_a_lone_specific_name_the_best_note_does_not_write_is_named():
    q = "What blackmail rate did Claude Sonnet 4.5 show when facing replacement?"
    assert apart(q, [BLACKMAIL, AUDIT]) == ("Claude Sonnet 4.5", [])  # "Claude" alone is in the best note: not enough
    assert apart("What blackmail rate did Claude Opus 4 show?", [BLACKMAIL, AUDIT]) is None
    # a lone family name or a frequent acronym is no study's own: many notes write it
    assert apart("What blackmail rate did Claude show?", [BLACKMAIL, AUDIT]) is None
    assert apart("Why does RLHF raise blackmail?", [BLACKMAIL, "RLHF x.", "RLHF y."]) is None
    # an acronym only another note writes: "WMDP" is the sandbagging note's, not the probes note's
    assert apart("Have linear probes been tried for sandbagging on WMDP?",
                 ["Linear probes caught sleeper agents.", "Models sandbagged on WMDP."]) == ("WMDP", [])


def test_a_question_that_asks_across_notes_in_so_many_words_is_not_flagged():
    q = "Is there a shared explanation for why OpenAI's models both cheat against Stockfish and edit the shutdown script?"
    assert apart(q, ["OpenAI's o3 edited the shutdown script.", "o1-preview hacked Stockfish."]) is None


def test_a_count_of_a_differently_modified_thing_is_no_count_of_what_is_asked():
    notes = ["Re-alignment needed a small set of correct examples.", "Fine-tuned on 6,000 coding examples."]
    assert uncovered("Exactly how many benign, correct examples did the re-alignment use?", notes) == \
        ["the number of benign correct examples"]
    assert uncovered("How many correct examples did the re-alignment use?", notes + ["It used 300 correct examples."]) == []
    assert uncovered("How many examples was the model fine-tuned on?", notes) == []  # "6,000 coding examples" are examples


def test_which_member_of_a_set_of_models_the_note_never_names_and_a_longer_which_phrase():
    note = "Laban et al. ran the FlipFlop experiment on ten LLMs; models differed in how often they flipped."
    assert which_apart("Which of the ten LLMs was most resistant to flipping?", [note]) == "which of the LLMs"
    assert which_apart("Which of the ten LLMs was most resistant to flipping?", [note + " GPT-4 flipped least."]) is None
    debate = "Smit et al. covered medical and general question-answering benchmarks."
    assert which_apart("Which specific medical question-answering datasets did Smit et al. use?", [debate]) == \
        "which specific medical question-answering datasets"


FLIP = "Laban et al. challenged models after a correct answer; their verdicts flipped and accuracy dropped."


def test_a_figure_asked_of_a_note_that_measures_the_thing_but_gives_no_figure_is_named():
    q = "In what percentage of cases did the models' verdicts flip?"

    found = figure_apart(q, [FLIP])
    assert found is not None and found.startswith("a figure for") and "flip" in found
    # the same note with a figure near what is measured answers it
    assert figure_apart(q, [FLIP + " Verdicts flipped in 46% of challenges."]) is None
    # a note that never speaks of what is measured is the other checks' business, not this one's
    assert figure_apart(q, ["Participants were asked about the weather."]) is None
    # no figure asked: nothing to flag
    assert figure_apart("Why did the models' verdicts flip?", [FLIP]) is None


def test_a_version_in_a_name_or_a_year_is_no_figure_and_how_often_takes_a_count():
    q = "How often did the verdicts flip?"
    assert figure_apart(q, ["Claude 3 verdicts flipped in 2024."]) is not None  # neither "3" nor "2024" is a figure
    assert figure_apart(q, ["Verdicts flipped in two of five runs."]) is None  # "how often": a count answers
    assert figure_apart("What percentage of verdicts flipped?", ["Verdicts flipped in two runs."]) is not None


def test_the_figure_is_looked_for_in_the_note_the_question_names():
    q = "What was the human baseline score on SAD?"
    sad = "SAD tests situational awareness with a human baseline; models scored well below it."
    other = "On another benchmark the human baseline score was 70%."
    found = figure_apart(q, [other, sad])  # the note naming SAD is the anchor, though it ranks second
    assert found is not None and "baseline" in found
    assert figure_apart(q, [other, sad + " The human baseline score was 85%."]) is None


def test_an_acronym_the_notes_spell_out_is_theirs():
    assert spelled_out("QA", "medical question-answering benchmarks") and spelled_out("RL", "reinforcement learning")
    assert not spelled_out("QA", "quite a lot of it")  # the words an acronym stands for are content words
    assert not spelled_out("TTS", "they trained the student")
    q = "Is debate worth the extra calls for reasoning and QA tasks?"
    assert uncovered(q, ["Debate helped on reasoning and question answering tasks."]) == []
    assert uncovered(q, ["Debate helped on reasoning tasks."]) == ["QA"]


def test_a_trend_over_model_size_asked_of_a_study_that_never_compares_sizes_is_named():
    bandit = "Schubert et al. ran LLMs through bandit tasks; they learned more from good outcomes of their choices."
    scaled = "Larger models flattered users more; sycophancy grew with model size."
    q = "Does the optimism bias in bandit tasks grow with model size?"
    assert scale_apart(q, [bandit, scaled]) == "how it changes with model size"  # the other note's trend is its own
    assert scale_apart(q, [bandit + " The bias was larger in the 70B model.", scaled]) is None
    assert scale_apart("Do bigger models flatter users more?", [scaled]) is None
    assert scale_apart("Why do models learn more from good outcomes?", [bandit]) is None  # no trend asked


def test_a_mechanism_asked_of_a_study_whose_sentences_on_it_only_report_is_named():
    from rag.coverage import mechanism_apart

    ooc = ("Models learned from descriptions alone. A single phrasing of each fact did not generalise; the "
           "descriptions had to appear in many paraphrased forms.")
    q = "What is the mechanism that makes out-of-context learning fail when each fact appears in one phrasing?"
    assert mechanism_apart(q, [ooc]) == "the mechanism behind it"
    explained = ooc + " A single phrasing fails because the fact is stored tied to its wording."
    assert mechanism_apart(q, [explained]) is None
    assert mechanism_apart("Why does a single phrasing of each fact fail?", [ooc]) is None  # no mechanism asked
