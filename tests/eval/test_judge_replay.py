"""The judge replay eval: its verdict data matches the sets, and a faithful judge served over a real local
server flags the composition set's near misses without flagging the answerable questions."""

from __future__ import annotations

import pytest

from eval import judge_replay as jr
from eval.question_sets import load_set

pytest.importorskip("llama_index.llms.openai_like")


def test_every_unanswerable_question_has_one_verdict_naming_its_own_words():
    verdicts = jr.load_verdicts()
    unanswerable = {q.id: q for q in load_set("demo_neartopic")} | \
        {q.id: q for q in load_set("demo_composition") if q.kind == "unanswerable"}
    assert set(verdicts) == set(unanswerable)
    from rag.text import content_words

    for qid, v in verdicts.items():
        assert v["verdict"] in ("partly", "no")
        assert content_words(v["missing"]) & content_words(unanswerable[qid].question), qid


def test_a_faithful_judge_flags_the_near_misses_and_nothing_else(demo_engine):
    rows = {r["set"]: r for r in jr.measure(demo_engine.settings.index, judges=["faithful"],
                                            sets=["demo_composition"])}
    assert rows["demo_composition:unanswerable"]["refused_or_flagged"] == 1.0
    for kind in ("synthesis", "factual"):
        r = rows[f"demo_composition:{kind}"]
        assert r["flagged_indirect"] == 0.0 and r["kept"] == 1.0 and r["verdicts"] == r["questions"]
