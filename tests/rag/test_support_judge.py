"""The LLM judge of whether the evidence answers the question (rag.judge, ``synthesis.llm_judge``): its check,
how a kept verdict moves the support level, and the path end to end against a real local OpenAI-compatible
server with scripted verdicts, over the demo notes."""

from __future__ import annotations

import pytest

from rag import Engine, Settings
from rag.compose import MISSING_VARIANTS, indirect_note
from rag.judge import Judgement, apply, check

pytest.importorskip("llama_index.llms.openai_like")

ITEMS = [("sycophancy.md", "Do AI assistants tell users what they want to hear?",
          "Sycophancy appeared in every assistant and every task tested, in text conversations."),
         ("scale.md", "Does sycophancy grow with scale?", "Larger models agreed more with the user's stated view.")]
QUESTION = "Are voice assistants more sycophantic than the same models in text chat?"


def test_an_answers_verdict_must_cite_a_given_passage():
    assert check({"verdict": "answers", "cites": [2]}, QUESTION, ITEMS).kept
    j = check({"verdict": "answers", "cites": []}, QUESTION, ITEMS)
    assert not j.kept and "cites none" in j.why
    assert not check({"verdict": "answers", "cites": [7]}, QUESTION, ITEMS).kept  # no such passage


def test_a_missing_part_counts_only_when_no_passage_covers_it():
    j = check({"verdict": "partly", "missing": "voice assistants", "cites": [1]}, QUESTION, ITEMS)
    assert j.kept and j.cites == ["sycophancy.md"]
    # the evidence does talk about assistants and models: the verdict is refused
    j = check({"verdict": "no", "missing": "the same models' assistants"}, QUESTION, ITEMS)
    assert not j.kept and "in the evidence" in j.why
    j = check({"verdict": "partly", "missing": "the weather in Paris"}, QUESTION, ITEMS)
    assert not j.kept and "nothing the question asks" in j.why
    assert not check({"verdict": "maybe"}, QUESTION, ITEMS).kept


def test_a_kept_verdict_only_adds_a_flag():
    yes, part = Judgement("answers", kept=True), Judgement("partly", "voice", kept=True)
    assert apply("direct", part) == "indirect" and apply("direct", Judgement("no", "x", kept=True)) == "indirect"
    assert apply("indirect", yes) == "indirect"  # a credulous judge cannot lift the bi-encoder's flag
    assert apply("none", yes) == "none" and apply("contradicted", part) == "contradicted"
    assert apply("direct", Judgement("partly", "voice", kept=False)) == "direct"


# ------------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def server():
    from eval.replay_server import ScriptedLLMServer

    with ScriptedLLMServer() as srv:
        yield srv


@pytest.fixture
def judged(demo_engine, server):
    server.queue.clear()
    server.requests.clear()
    settings = demo_engine.settings.model_copy(update={
        # the judge alone: the coverage check (rag.coverage, tested in test_coverage.py) is off
        "synthesis": demo_engine.settings.synthesis.model_copy(update={"llm_judge": True, "coverage_check": False}),
        "llm": demo_engine.settings.llm.model_copy(update={"provider": "openai", "base_url": server.url + "/v1",
                                                           "model": "scripted", "timeout_s": 10.0})})
    # the extractive synthesizer writes; the LLM only judges (one call per question)
    yield Engine(settings, demo_engine.index, embedder=demo_engine.embedder)
    server.queue.clear()


def _passage_number(body: dict, words: str) -> int:
    """The number the judge prompt gave the first passage holding ``words``."""
    import re

    user = body["messages"][-1]["content"]
    for m in re.finditer(r"^\[(\d+)\] (.*)$", user, re.M):
        if words.lower() in m.group(2).lower():
            return int(m.group(1))
    return 1


def test_a_near_miss_question_is_flagged_with_what_the_notes_lack(judged, server, demo_engine):
    q = "Do voice assistants flatter their users more than text chatbots do?"
    alone = Engine(demo_engine.settings.model_copy(update={"synthesis": demo_engine.settings.synthesis.model_copy(
        update={"coverage_check": False})}), demo_engine.index, embedder=demo_engine.embedder)
    assert alone.ask(q).meta.support == "direct"  # the bi-encoder alone sees a question on sycophancy
    server.reply({"verdict": "partly", "missing": "voice assistants", "cites": [1]})
    line = judged.ask(q)
    assert line.meta.support == "indirect" and not line.abstained
    assert indirect_note("voice assistants", q) in line.framing
    assert line.meta.judgement["kept"] and line.meta.judgement["verdict"] == "partly"
    assert "Question: " + q in server.requests[0]["messages"][-1]["content"]
    assert line.paragraphs and all(s.cites for p in line.paragraphs for s in p.sentences if s.kind == "finding")


def test_an_answers_verdict_keeps_the_answer_as_it_was(judged, server, demo_engine):
    q = "why did chatgpt turn into a total yes-man for a few days in 2025, didnt they test it"
    before = demo_engine.ask(q).meta.support
    server.reply(lambda body: f'{{"verdict": "answers", "missing": "", "cites": [{_passage_number(body, "GPT-4o")}]}}')
    line = judged.ask(q)
    assert line.meta.support == before and line.meta.judgement["kept"]
    assert not any(v.split("{missing}")[0] in line.framing for v in MISSING_VARIANTS)


def test_a_verdict_the_evidence_refutes_is_ignored(judged, server):
    q = "Do AI assistants tell users what they want to hear?"
    server.reply({"verdict": "no", "missing": "assistants telling users what they want to hear", "cites": []})
    line = judged.ask(q)
    assert line.meta.support == "direct"
    assert not line.meta.judgement["kept"] and "in the evidence" in line.meta.judgement["why"]


def test_a_failing_llm_leaves_the_answer_as_the_notes_give_it(judged, server):
    # nothing scripted: the server answers HTTP 500
    line = judged.ask("Do AI assistants tell users what they want to hear?")
    assert line.meta.support == "direct" and line.paragraphs
    assert line.meta.judgement["verdict"] == "" and "failed" in line.meta.judgement["why"]


def test_a_reply_that_is_not_a_verdict_changes_nothing(judged, server):
    server.reply("[1, 2, 3]")
    line = judged.ask("Do AI assistants tell users what they want to hear?")
    assert line.meta.support == "direct" and "no JSON object" in line.meta.judgement["why"]
