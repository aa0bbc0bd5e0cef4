"""The answer-eval checks themselves: they must catch what they claim to catch."""

import json

from eval.answers import QA, QASet, format_problems, run_answer_eval, span_in_cited_evidence, suggest_threshold
from rag.answer import InquiringLine, Paragraph, Sentence, Source


def _line(**kw):
    base = dict(
        question="Why?", framing="This explores why.",
        paragraphs=[Paragraph(sentences=[Sentence(text="Models fold under pushback.", cites=["a"],
                                                  quote="In the study, models fold under pushback 46% of the time.")])],
        takeaway="The thing worth taking away: x.", sources=[Source(id="a", title="A?", summary="S.")],
        next_lines=["q1?", "q2?", "q3?"], meta={"retrieved": [{"id": "a"}, {"id": "b"}]},
    )
    base.update(kw)
    return InquiringLine(**base)


def test_a_correct_line_has_no_problems():
    assert format_problems(_line()) == []


def test_problems_are_caught():
    assert any("not retrieved" in p for p in format_problems(_line(meta={"retrieved": [{"id": "b"}]})))
    assert any("next lines" in p for p in format_problems(_line(next_lines=["only one?"])))


def test_span_must_be_inside_a_cited_quote():
    line = _line()
    assert span_in_cited_evidence(line, "46% of the time")
    assert not span_in_cited_evidence(line, "73% of the time")


def test_threshold_respects_the_false_abstention_cap():
    answerable = [(x, 0.5) for x in [0.5, 0.55, 0.6, 0.62, 0.7, 0.71, 0.8, 0.81, 0.9, 0.95] * 2]
    unanswerable = [(x, 0.3) for x in [0.1, 0.2, 0.3, 0.52, 0.58]]
    best = suggest_threshold(answerable, unanswerable, max_false=0.05, never_below_best=0.6)
    assert best["false_abstention"] <= 0.05 and best["abstention_on_unanswerable"] == 0.6
    assert 0.3 < best["threshold"] <= 0.5


def test_threshold_follows_the_engines_close_note_rule():
    """A question whose best note is very close is never refused, so it cannot pull the threshold down."""
    answerable = [(0.05, 0.9)] + [(x, 0.5) for x in [0.5, 0.55, 0.6, 0.62, 0.7, 0.71, 0.8, 0.81, 0.9, 0.95] * 2]
    unanswerable = [(x, 0.3) for x in [0.1, 0.2, 0.3, 0.52, 0.58]]
    best = suggest_threshold(answerable, unanswerable, max_false=0.0, never_below_best=0.6)
    assert best["false_abstention"] == 0.0 and best["abstention_on_unanswerable"] == 0.6


def test_runner_on_a_tiny_set(tmp_path):
    from rag import Engine

    corpus = tmp_path / "docs.jsonl"
    docs = [{"_id": "p1", "title": "Transmission of the virus", "text": "The virus spreads person-to-person through respiratory droplets."},
            {"_id": "p2", "title": "Incubation period", "text": "The median incubation period is about five days after exposure."},
            {"_id": "p3", "title": "Treatment", "text": "Supportive care remains the main treatment for severe illness."}]
    corpus.write_text("".join(json.dumps(d) + "\n" for d in docs))
    eng = Engine.open(tmp_path / "idx", create=True)
    eng.ingest([corpus])
    qa = QASet("tiny", [corpus], [QA("1", "How does the virus spread between people?", "p1", "person-to-person"),
                                  QA("2", "How long is the incubation period of the virus?", "p2", "about five days")], "tiny")
    rep = run_answer_eval(qa, eng, unanswerable=["What is the best chess opening for beginners?"])
    s = rep.summary()
    assert s["questions"] == 2 and s["gold_cited"] == 1.0 and s["span_in_cited_evidence"] == 1.0
    assert s["abstention_on_unanswerable"] == 1.0 and s["false_abstention"] == 0.0
    assert s["latency_ms_p50"] > 0
