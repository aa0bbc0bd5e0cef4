"""Hand-computed checks of the retrieval metrics (no model, no data).

Reference values: log2(2) = 1, log2(3) = 1.5849625, log2(4) = 2, so 1/log2(3) = 0.6309298.
"""

import math

import pytest

from eval.retrieval import evaluate, format_table, mrr_at_k, ndcg_at_k, recall_at_k

INV_LOG2_3 = 1 / math.log2(3)  # 0.6309298


# ------------------------------------------------------------------ nDCG
def test_ndcg_binary():
    # ranked [d3, d1, d2], rel {d1:1, d2:1}
    # DCG  = 0/log2(2) + 1/log2(3) + 1/log2(4) = 0.6309298 + 0.5 = 1.1309298
    # IDCG = 1/log2(2) + 1/log2(3)             = 1 + 0.6309298  = 1.6309298
    # nDCG = 1.1309298 / 1.6309298 = 0.6934264
    got = ndcg_at_k(["d3", "d1", "d2"], {"d1": 1, "d2": 1}, 10)
    assert got == pytest.approx((INV_LOG2_3 + 0.5) / (1 + INV_LOG2_3))
    assert got == pytest.approx(0.6934264, abs=1e-6)


def test_ndcg_graded_linear_gain():
    # ranked [d1, d2, d3], rel {d1:1, d2:2, d3:0} (grade 0 = not relevant); gain is the grade itself
    # DCG  = 1/log2(2) + 2/log2(3) + 0 = 1 + 1.2618595 = 2.2618595
    # IDCG = ideal order [2, 1]: 2/log2(2) + 1/log2(3) = 2 + 0.6309298 = 2.6309298
    # nDCG = 2.2618595 / 2.6309298 = 0.8597187
    got = ndcg_at_k(["d1", "d2", "d3"], {"d1": 1, "d2": 2, "d3": 0}, 10)
    assert got == pytest.approx((1 + 2 * INV_LOG2_3) / (2 + INV_LOG2_3))
    assert got == pytest.approx(0.8597187, abs=1e-6)


def test_ndcg_perfect_ranking_is_one():
    assert ndcg_at_k(["a", "b", "x"], {"a": 2, "b": 1}, 10) == pytest.approx(1.0)


def test_ndcg_k_cutoff():
    # ranked [d3, d4, d1], rel {d1:1}
    # k=2: d1 is at rank 3, outside the cut → DCG = 0 → nDCG = 0
    # k=3: DCG = 1/log2(4) = 0.5; IDCG = 1/log2(2) = 1 → nDCG = 0.5
    assert ndcg_at_k(["d3", "d4", "d1"], {"d1": 1}, 2) == 0.0
    assert ndcg_at_k(["d3", "d4", "d1"], {"d1": 1}, 3) == pytest.approx(0.5)


def test_ndcg_ideal_is_cut_at_k_too():
    # three relevant docs but k=2: IDCG@2 = 1 + 1/log2(3); ranked [d1, d2] reaches it → 1.0
    assert ndcg_at_k(["d1", "d2"], {"d1": 1, "d2": 1, "d3": 1}, 2) == pytest.approx(1.0)
    # k=3 with the same ranking: DCG = 1 + 0.6309298 = 1.6309298; IDCG = 1 + 0.6309298 + 0.5 = 2.1309298
    # nDCG = 0.7653606
    assert ndcg_at_k(["d1", "d2"], {"d1": 1, "d2": 1, "d3": 1}, 3) == pytest.approx(
        (1 + INV_LOG2_3) / (1 + INV_LOG2_3 + 0.5))


def test_no_relevant_in_ranking_scores_zero():
    ranked, rel = ["x", "y", "z"], {"a": 1, "b": 2}
    assert ndcg_at_k(ranked, rel, 10) == 0.0
    assert recall_at_k(ranked, rel, 100) == 0.0
    assert mrr_at_k(ranked, rel, 10) == 0.0


def test_empty_inputs():
    assert ndcg_at_k([], {"a": 1}, 10) == 0.0
    assert ndcg_at_k(["a"], {}, 10) == 0.0  # nothing judged relevant: defined as 0, not a division error
    assert recall_at_k(["a"], {}, 10) == 0.0
    assert recall_at_k(["a"], {"a": 0}, 10) == 0.0  # grade 0 does not count as relevant
    assert mrr_at_k([], {"a": 1}, 10) == 0.0


def test_duplicate_doc_counts_once():
    # a repeated doc keeps only its first rank: [a, a, b] is scored as [a, b]
    # DCG = 1/log2(2) + 1/log2(3) = IDCG → 1.0 (counting "a" twice would give > 1)
    assert ndcg_at_k(["a", "a", "b"], {"a": 1, "b": 1}, 10) == pytest.approx(1.0)
    assert recall_at_k(["a", "a"], {"a": 1, "b": 1}, 10) == pytest.approx(0.5)


# ------------------------------------------------------------------ recall
def test_recall_cutoffs():
    # ranked [d3, d1, d2], rel {d1, d2, d5}: |rel| = 3
    # k=1: {d3} ∩ rel = {}        → 0/3
    # k=2: {d3, d1} ∩ rel = {d1}  → 1/3
    # k=3: adds d2                → 2/3 (d5 never retrieved)
    rel = {"d1": 1, "d2": 1, "d5": 1}
    assert recall_at_k(["d3", "d1", "d2"], rel, 1) == 0.0
    assert recall_at_k(["d3", "d1", "d2"], rel, 2) == pytest.approx(1 / 3)
    assert recall_at_k(["d3", "d1", "d2"], rel, 3) == pytest.approx(2 / 3)
    assert recall_at_k(["d3", "d1", "d2"], rel, 100) == pytest.approx(2 / 3)


def test_recall_ignores_grade():
    # grades 2 and 1 both count as one relevant doc each: 1 of 2 found
    assert recall_at_k(["hi"], {"hi": 2, "lo": 1}, 10) == pytest.approx(0.5)


# ------------------------------------------------------------------ MRR
def test_mrr():
    # first relevant doc (d1) at rank 2 → 1/2
    assert mrr_at_k(["d3", "d1", "d2"], {"d1": 1, "d2": 1}, 10) == pytest.approx(0.5)
    # first relevant at rank 1 → 1
    assert mrr_at_k(["d2", "d3"], {"d2": 1}, 10) == 1.0
    # k=1 cuts off the rank-2 hit → 0
    assert mrr_at_k(["d3", "d1"], {"d1": 1}, 1) == 0.0
    # rank 4, k=10 → 1/4
    assert mrr_at_k(["a", "b", "c", "d"], {"d": 3}, 10) == pytest.approx(0.25)


# ------------------------------------------------------------------ evaluate
def test_evaluate_averages_over_judged_queries():
    run = {
        "q1": ["a", "b"],          # a is relevant at rank 1: nDCG 1, R@10 1, R@100 1, MRR 1
        "q2": ["x", "y", "c"],     # rel {c, e}: c at rank 3
        "q3": ["a"],               # no qrels at all → ignored
        "q4": ["z"],               # only grade-0 judgements → ignored
    }
    qrels = {"q1": {"a": 1}, "q2": {"c": 1, "e": 1}, "q4": {"z": 0}}
    # q2: DCG = 1/log2(4) = 0.5; IDCG = 1 + 1/log2(3) = 1.6309298 → nDCG = 0.3065736
    #     R@10 = R@100 = 1/2; MRR = 1/3
    q2_ndcg = 0.5 / (1 + INV_LOG2_3)
    res = evaluate(run, qrels)
    assert res["queries"] == 2
    assert res["ndcg@10"] == pytest.approx((1 + q2_ndcg) / 2)   # (1 + 0.3065736) / 2 = 0.6532868
    assert res["recall@10"] == pytest.approx((1 + 0.5) / 2)     # 0.75
    assert res["recall@100"] == pytest.approx((1 + 0.5) / 2)
    assert res["mrr@10"] == pytest.approx((1 + 1 / 3) / 2)      # 0.6666667


def test_evaluate_recall_at_100_sees_beyond_10():
    # the relevant doc at rank 11: R@10 = 0, R@100 = 1, nDCG@10 = 0, MRR@10 = 0
    ranked = [f"n{i}" for i in range(10)] + ["rel"]
    res = evaluate({"q": ranked}, {"q": {"rel": 1}})
    assert res == {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 1.0, "mrr@10": 0.0, "queries": 1}


def test_evaluate_nothing_judged():
    assert evaluate({"q": ["a"]}, {})["queries"] == 0


def test_format_table():
    from rich.console import Console

    row = {"setting": "scifact hybrid", "ndcg@10": 0.61234, "recall@10": 0.7, "recall@100": 0.9, "mrr@10": 0.55,
           "latency_ms_p50": 12.34, "latency_ms_p95": 20.0}
    table = format_table([row])
    assert [c.header for c in table.columns] == ["setting", "nDCG@10", "R@10", "R@100", "MRR@10", "p50 ms", "p95 ms"]
    console = Console(width=120, record=True)
    console.print(table)
    text = console.export_text()
    assert "scifact hybrid" in text and "0.612" in text and "12.3" in text
