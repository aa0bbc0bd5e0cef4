"""This round's premise rules and the lead of an answer, on hand-made statements (not the eval sets): a question
about what might explain something takes no fact for granted; a scene after a comma and a linked title inside a
note's sentence are no part of what is compared; telling against hiding and one's own against others' are
reversals; an answer opens on a finding, not a pointer to another note; number words answer "how many"."""

from __future__ import annotations

import numpy as np

from rag.compose import _lead_finding, _takeaway, _takes_away, is_pointer
from rag.evidence import Candidate, fits, is_setup
from rag.premise import check, presupposition
from rag.reading import read


def test_a_speculative_why_takes_nothing_for_granted():
    assert presupposition("Why might a model behave well in tests and still misbehave in deployment?") is None
    assert presupposition("Why could distillation remove a watermark?") is None
    assert presupposition("Why does distillation remove the watermark?") == "distillation remove the watermark"


def test_the_scene_after_a_comma_is_not_the_claim():
    assert presupposition("How does a weak overseer keep control of a stronger model, going by the debate "
                          "findings?") == "a weak overseer keep control of a stronger model"
    # "Since X, why …": the claim is what comes before the comma
    assert presupposition("Since distillation removes the watermark, why worry?") == "distillation removes the watermark"


def test_a_linked_title_inside_a_note_sentence_does_not_correct():
    # the comparative sits in the quoted title of another note, not in what this sentence says
    notes = [("w2s.md", [("Debate in “Can debate help a weaker judge find the truth?” is another route to the same "
                          "goal of overseeing a stronger model with a judge.", False)])]
    assert check("How does a weak overseer keep control of a stronger model with debate?", notes) is None


def test_hiding_what_the_question_says_is_told_is_a_correction():
    notes = [("trader.md", [("The agent traded on the tip, then gave its manager a report that hid the real "
                             "reason for the trade.", True)])]
    c = check("Why does the trading agent always tell its manager the real reason for its trades?", notes)
    assert c is not None and c.note_id == "trader.md" and c.word == "reason"
    # telling what the note also says is told is no correction
    told = [("trader.md", [("The agent told its manager the real reason for the trade.", True)])]
    assert check("Why does the trading agent tell its manager the real reason for its trades?", told) is None


def test_ranking_others_above_ones_own_is_reversed_by_a_note_that_ranks_its_own_higher():
    notes = [("self.md", [("Graders rate their own summaries higher than equally good summaries from others.",
                           True)])]
    c = check("Why do LLM graders rate other models' summaries above their own?", notes)
    assert c is not None and c.word == "own"
    assert check("Why do LLM graders rate their own summaries above other models' summaries?", notes) is None


def _cand(text, rel, dangling=False):
    c = Candidate(text, "n.md", "n.md::0", "passage", False, 0)
    c.relevance, c.vec, c.dangling = rel, np.ones(4, dtype=np.float32) / 2, dangling
    return c


def test_an_answer_opens_on_its_notes_finding_rather_than_a_pointer():
    pointer = _cand("Self-recognition is also one component of “How much do models know about themselves?”.", 0.55)
    finding = _cand("Graders rate their own summaries higher than equally good ones from others.", 0.45)
    far = _cand("Graders recognise their own text above chance.", 0.30)
    assert is_pointer(pointer) and not is_pointer(finding)
    assert _lead_finding([pointer], [pointer, finding, far])[0] is finding
    # a finding far below the pointer does not take the lead; a clean best sentence keeps it
    assert _lead_finding([pointer], [pointer, far])[0] is pointer
    assert _lead_finding([finding, pointer], [finding, pointer])[0] is finding
    # a link that states a claim of its own is no pointer
    assert not is_pointer(_cand("Where training failed in “Can safety training remove a backdoor?”, reading "
                                "internal state succeeded.", 0.5))


def test_a_takeaway_is_not_a_sentence_that_only_points_at_another_note():
    pointer = _cand("Broader consequences of learning such hacks appear in “Does reward hacking spread?”.", 0.69)
    draws = _cand("People prefer confident answers, so the drift toward overconfidence looks like a cousin of "
                  "“Do preferences reward agreement?”.", 0.5)
    argues = _cand("Self-recognition is also one component of “What do models know about themselves?”, and it "
                   "argues for judges drawn from another model.", 0.5)
    caveat = _cand("The task made fair success impossible, so it measures behaviour under pressure, not in use.", 0.65)
    assert not _takes_away(pointer) and _takes_away(draws) and _takes_away(argues) and _takes_away(caveat)
    lead = _cand("The models edited the board file to win.", 0.7)
    for k, c in enumerate((lead, pointer, caveat)):  # three sentences saying different things
        c.vec = np.eye(4, dtype=np.float32)[k]
        c.heading = "Why it matters" if c is not lead else "Finding"
    text, cites = _takeaway("Do models cheat at chess?", [lead], [lead, pointer, caveat], {id(lead)}, {"n.md"})
    assert text == caveat.text and cites == ["n.md"]


def test_number_words_answer_how_many_and_have_questions_read_as_clauses():
    assert fits("quantity", "The eleven winning tasks pointed to four causes.")
    assert read("How many winning tasks did the Inverse Scaling Prize have?").clause == \
        "how many winning tasks the Inverse Scaling Prize had"
    assert read("Does RLHF have an effect on calibration?").clause == "whether RLHF has an effect on calibration"


def test_a_study_named_as_the_scene_does_not_hide_a_set_up():
    assert is_setup(_cand("In Anthropic's 2025 misalignment study, Claude Opus 4 was asked to reason about "
                          "whether its scenario was real.", 0.5))
    assert is_setup(_cand("Six kinds of hints were inserted into multiple-choice questions.", 0.5))
    assert not is_setup(_cand("In the Sleeper Agents study, adversarial training stopped the misbehaviour on those "
                              "prompts.", 0.5))


def test_a_passive_set_up_with_a_long_subject_is_a_set_up_and_a_reported_caveat_is_not():
    assert is_setup(_cand("Systems in which several LLM agents argue before answering were compared with sampling "
                          "several independent answers.", 0.5))
    assert not is_setup(_cand("The authors caution that the backdoors were inserted by training, which may make the "
                              "feature easy to find.", 0.5))


def test_a_method_verb_that_only_names_the_subject_is_no_set_up():
    # "tested" qualifies the models; "scored" is what the sentence reports
    assert not is_setup(_cand("All 12 parsers tested scored above the baseline; the smallest scored best.", 0.5))
    assert is_setup(_cand("The authors tested fine-tuned parsers on legal text.", 0.5))


def test_a_citations_year_is_no_figure():
    assert not fits("quantity", "McKenzie et al. (2023) reported the Inverse Scaling Prize, a public contest.")
    assert not fits("quantity", "The Claude Sonnet 4.5 system card (September 2025) reported suspicion of tests.")
    assert fits("quantity", "Covert action rates fell from 13% to 0.4% for o3.")


def test_a_focused_answer_whose_best_sentence_gives_no_figure_reaches_for_the_one_that_does():
    from rag.evidence import FOCUSED_MARGIN, select

    def cand(text, rel, k, note="prize.md", rank=0):
        c = Candidate(text, note, f"{note}::0", "passage", False, rank, position=k)
        v = np.zeros(8, dtype=np.float32)
        v[k] = 1.0
        c.relevance, c.vec, c.fit = rel, v, float(fits("quantity", text))
        return c

    names = cand("McKenzie et al. (2023) reported the Inverse Scaling Prize, a contest for such tasks.", 0.85, 0)
    figure = cand("The eleven winning tasks pointed to four causes.", 0.85 - FOCUSED_MARGIN + 0.02, 1)
    other = cand("Another note's sentence about scaling.", 0.60, 2, note="other.md", rank=1)
    assert figure in select([names, figure, other], 6, focused=True)
    assert figure not in select([names, figure, other], 6, focused=False)  # the usual margin holds otherwise


def test_what_is_questions_read_as_clauses_with_the_copula_last():
    assert read("What is a good way to keep basil alive on a windowsill?").clause == \
        "what a good way to keep basil alive on a windowsill is"
    assert read("what is the key-value cache in transformer inference and why does it use so much memory?").clause \
        == "what the key-value cache in transformer inference is"
    assert read("What are induction heads and how do they work?").clause == "what induction heads are"
    assert read("What is happening inside the model when it fakes alignment?").clause == \
        "what is happening inside the model when it fakes alignment"


def test_a_takeaway_that_answers_better_than_the_lead_is_read_second():
    from rag.compose import _answer_in_takeaway

    lead = _cand("McKenzie et al. (2023) reported the Inverse Scaling Prize, a contest for tasks.", 0.8)
    answer = _cand("Winning tasks included Memo Trap, where a famous quotation must be altered but large models "
                   "complete it as memorised.", 0.6)
    why = _cand("Larger models complete memorised quotations rather than alter them, so scale can hurt.", 0.6)
    for k, c in enumerate((lead, answer, why)):
        c.vec = np.eye(4, dtype=np.float32)[k]
    why.heading, answer.heading = "Why it matters", "Finding"
    terms = {"invers": 2.0, "scale": 1.0, "prize": 2.0, "alter": 3.0, "famous": 3.0, "quotat": 3.0, "memoris": 3.0}
    assert _answer_in_takeaway(answer.text, lead, [lead, answer, why], terms, {id(lead)}) is answer
    # what the note draws from its finding stays the takeaway; so does a sentence no closer to the question
    assert _answer_in_takeaway(why.text, lead, [lead, answer, why], terms, {id(lead)}) is None
    assert _answer_in_takeaway(answer.text, lead, [lead, answer], {"invers": 1.0, "quotat": 1.0}, {id(lead)}) is None


def test_a_set_up_the_question_asks_about_is_the_answer():
    from rag.evidence import asks_setup, score

    q = "Which parser was trained on the legal corpus before the audit?"
    assert asks_setup(q, "The audit used logs from a parser, TinyParse-2, trained on the legal corpus.")
    assert not asks_setup("What happened when the parser was trained on the legal corpus?",
                          "The parser was trained on the legal corpus.")  # that asks for a result
    assert not asks_setup("What simple change let the parser recover its accuracy?",
                          "The parser was trained on the legal corpus.")  # its verb is not the set-up's
    c = _cand("The audit team trained TinyParse-2 on the legal corpus before the audit.", 0.5)
    assert is_setup(c)
    score([c], np.ones((1, 4), dtype=np.float32) / 2, np.ones(4, dtype=np.float32) / 2, {}, form="what", question=q)
    assert not is_setup(c)  # so it may open the answer, and is not marked down as a set-up


def test_a_which_phrase_that_is_the_subject_keeps_its_order():
    assert read("In the 2024 audit, which small parser was fine-tuned on legal text?").clause == \
        "which small parser was fine-tuned on legal text, in the 2024 audit"
