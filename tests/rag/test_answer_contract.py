"""The JSON contract and the text format, on answers over the demo notes."""

import json

import pytest

from rag import InquiringLine, render
from rag.answer import Paragraph, Sentence, Source

QUESTIONS = [
    "Why do models resist having their goals changed?",
    "Can a model be trusted to grade or correct itself?",
    "Does RLHF make models tell people what they want to hear?",
    "Do models behave differently when they think they are being watched?",
]


@pytest.fixture(scope="module")
def answers(demo_engine):
    return [demo_engine.ask(q) for q in QUESTIONS]


def test_json_contract_keys_and_types(answers):
    for line in answers:
        d = json.loads(render(line, "json"))
        assert isinstance(d["question"], str) and isinstance(d["framing"], str) and isinstance(d["takeaway"], str)
        assert isinstance(d["abstained"], bool) and isinstance(d["meta"], dict) and isinstance(d["next_lines"], list)
        for p in d["paragraphs"]:
            for s in p["sentences"]:
                assert isinstance(s["text"], str) and all(isinstance(c, str) for c in s["cites"])
        for s in d["sources"]:
            assert {"id", "title", "summary"} <= set(s)
        assert "timings_ms" in d["meta"] and "embedder" in d["meta"]
        assert InquiringLine.model_validate(d) == line  # round trip


def test_sources_are_exactly_the_cited_notes_in_first_citation_order(answers):
    for line in answers:
        assert not line.abstained
        order = []
        for p in line.paragraphs:
            for s in p.sentences:
                for c in s.cites:
                    if c not in order:
                        order.append(c)
        assert [s.id for s in line.sources] == order
        assert len(order) >= 3, f"{line.question}: a cross-note question should draw on several notes"


def test_every_finding_sentence_is_cited_and_quoted_from_its_note(answers):
    for line in answers:
        for p in line.paragraphs:
            for s in p.sentences:
                if not s.cites:
                    assert s.text.startswith("This reads the question"), s.text  # the only uncited frame
                    continue
                # the extractive synthesizer quotes the note: the sentence ends as the passage has it
                assert s.quote, s
                tail = s.text[-60:].lower()
                assert tail in " ".join(s.quote.split()).lower(), (s.text, s.cites)


def test_text_format_exact_layout(answers):
    for line in answers:
        text = render(line, "text")
        head = f"INQUIRING LINE\n\n{line.question}\n\n{line.framing}\n\n\n"
        assert text.startswith(head)
        body, _, tail = text[len(head):].partition("\n\n\nSources ")
        paras = body.split("\n\n")
        assert len(paras) == len(line.paragraphs) + 1
        assert paras[-1].startswith("The thing worth taking away: ")
        n = len(line.sources)
        expected_tail = f"{n} note{'s' if n != 1 else ''}"
        for s in line.sources:
            expected_tail += f"\n\n{s.title}\n\n{s.summary}"
        expected_tail += "\n\nNext inquiring lines\n\n" + "\n".join(line.next_lines) + "\n"
        assert tail == expected_tail
        # each sentence is followed by its citation (the cited titles) before its closing punctuation
        for p, ptext in zip(line.paragraphs, paras):
            for s in p.sentences:
                if s.cites:
                    cite = "; ".join(line.source(c).title for c in s.cites)
                    assert f"{s.text.rstrip('.!?')} {cite}" in ptext


def test_next_lines_are_new_and_answerable(demo_engine, answers):
    titles = {n["title"].lower() for n in demo_engine.index.manifest.notes().values()}
    for line in answers:
        assert 3 <= len(line.next_lines) <= 5, line.next_lines
        assert len(set(line.next_lines)) == len(line.next_lines)
        for q in line.next_lines:
            assert q.lower() != line.question.lower() and q.lower() not in titles
            cited = {s.id for s in line.sources}
            r = demo_engine.retrieve(q, k=5)
            assert any(h.note_id not in cited for h in r.hits), q


def test_off_topic_question_abstains_and_cites_nothing(demo_engine):
    line = demo_engine.ask("How long should sourdough bread proof before baking?")
    assert line.abstained and line.sources == [] and line.cited_ids() == []
    text = render(line, "text")
    assert "Sources 0 notes" in text and "do not cover" in text


def test_markdown_escapes_note_text():
    line = InquiringLine(
        question="q?", framing="This explores q.",
        paragraphs=[Paragraph(sentences=[Sentence(text="A <script>alert(1)</script> [x](javascript:alert(1)) claim.", cites=["n1"])])],
        takeaway="The thing worth taking away: t.",
        sources=[Source(id="n1", title="T <b>", summary="S <img src=x onerror=alert(1)>")],
    )
    md = render(line, "markdown")
    assert "<script>" not in md and "<img" not in md and "<b>" not in md
    assert "&lt;script&gt;" in md and "\\[x\\]" in md


def test_contract_rejects_sources_that_are_not_the_cited_notes():
    with pytest.raises(ValueError, match="exactly the cited notes"):
        InquiringLine(question="q", framing="f", takeaway="t",
                      paragraphs=[Paragraph(sentences=[Sentence(text="a.", cites=["n1"])])],
                      sources=[Source(id="n2", title="x", summary="y")])


def test_answerability_wants_the_question_answered_in_one_passage(demo_engine):
    from rag.answerability import answerability

    def check(q):
        return answerability(demo_engine.index, q, demo_engine.retrieve(q, k=6))

    on_topic = check("Does training on human approval make models tell people what they want to hear?")
    # words from two unrelated notes: each is in the corpus, but no passage holds them together
    scattered = check("Does sourdough hydration change Claude 3 Opus persuasion of debate judges?")
    assert on_topic.focus > scattered.focus and on_topic.score > scattered.score


def test_an_answer_the_notes_only_just_support_says_so(demo_engine):
    from rag import Engine, Settings
    from rag.compose import INDIRECT_VARIANTS

    q = "Do bigger, more capable models become safer or more worrying?"  # best cosine well under 0.6

    def ask(**synthesis):
        s = Settings(synthesis={"abstain_below": 0.0, **synthesis})
        eng = Engine.open(demo_engine.settings.index, settings=s, embedder=demo_engine.embedder)
        return eng.ask(q)

    flagged = ask(indirect_below=1.0)
    assert not flagged.abstained and flagged.meta.support == "indirect"
    assert any(v in flagged.framing for v in INDIRECT_VARIANTS) and "most direct" not in render(flagged, "text")
    plain = ask(indirect_below=0.0)
    assert plain.meta.support == "direct" and not any(v in plain.framing for v in INDIRECT_VARIANTS)
    assert demo_engine.ask("How long should sourdough bread proof before baking?").meta.support == "none"
