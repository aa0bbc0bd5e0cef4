"""Retrieval evaluation on BEIR-format data: nDCG@10, Recall@10/100, MRR@10 and per-query latency.

The metric functions are pure and follow pytrec_eval / BEIR (``ndcg_cut``: linear gain = graded relevance,
discount log2(rank + 1), ideal DCG from the judged relevances sorted best first).

    from eval.datasets import load_queries, load_qrels
    from eval.retrieval import run_retrieval_eval
    res = run_retrieval_eval("scifact/corpus.jsonl", load_queries(...), load_qrels(...), "/tmp/scifact-idx",
                             mode="hybrid")
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np

K_MAX = 100


# ---------------------------------------------------------------------------------------------- metrics
def _dedupe(ranked: Iterable[str]) -> list[str]:
    """A doc counts once, at its first (best) rank — as in a pytrec_eval run, which is a dict."""
    return list(dict.fromkeys(ranked))


def _positive(relevant: Mapping[str, int]) -> dict[str, int]:
    return {d: int(g) for d, g in relevant.items() if g > 0}


def dcg_at_k(ranked: list[str], relevant: Mapping[str, int], k: int) -> float:
    rel = _positive(relevant)
    return sum(rel.get(d, 0) / math.log2(i + 2) for i, d in enumerate(_dedupe(ranked)[:k]))


def ndcg_at_k(ranked: list[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """DCG@k / IDCG@k with gain = relevance grade and discount log2(rank + 1), rank counted from 1.

    0.0 when there is nothing relevant (such queries are left out of ``evaluate``).
    """
    rel = _positive(relevant)
    ideal = sorted(rel.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    if idcg == 0:
        return 0.0
    return dcg_at_k(ranked, rel, k) / idcg


def recall_at_k(ranked: list[str], relevant: Mapping[str, int], k: int = 100) -> float:
    """|relevant ∩ top k| / |relevant| (any grade > 0 counts as relevant)."""
    rel = _positive(relevant)
    if not rel:
        return 0.0
    return sum(1 for d in _dedupe(ranked)[:k] if d in rel) / len(rel)


def mrr_at_k(ranked: list[str], relevant: Mapping[str, int], k: int = 10) -> float:
    """1 / rank of the first relevant doc within the top k, else 0."""
    rel = _positive(relevant)
    for i, d in enumerate(_dedupe(ranked)[:k]):
        if d in rel:
            return 1.0 / (i + 1)
    return 0.0


def evaluate(run: Mapping[str, list[str]], qrels: Mapping[str, Mapping[str, int]]) -> dict:
    """Mean metrics over the queries of ``run`` that have at least one relevant doc in ``qrels``.

    As with pytrec_eval, run queries without judgements are ignored; ``queries`` is how many were averaged.
    """
    qids = [q for q in run if _positive(qrels.get(q, {}))]
    if not qids:
        return {"ndcg@10": 0.0, "recall@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0, "queries": 0}
    per = {
        "ndcg@10": [ndcg_at_k(run[q], qrels[q], 10) for q in qids],
        "recall@10": [recall_at_k(run[q], qrels[q], 10) for q in qids],
        "recall@100": [recall_at_k(run[q], qrels[q], 100) for q in qids],
        "mrr@10": [mrr_at_k(run[q], qrels[q], 10) for q in qids],
    }
    out: dict = {name: float(np.mean(v)) for name, v in per.items()}
    out["queries"] = len(qids)
    return out


# ---------------------------------------------------------------------------------------------- running
def _percentiles(ms: list[float]) -> tuple[float, float]:
    if not ms:
        return float("nan"), float("nan")
    a = np.asarray(ms, dtype=float)
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def evaluated_queries(queries: Mapping[str, str], qrels: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Query ids (in the queries file's order) that have text and at least one relevant doc."""
    return [q for q in queries if _positive(qrels.get(q, {}))]


def run_retrieval_eval(
    corpus: str | Path,
    queries: Mapping[str, str] | str | Path,
    qrels: Mapping[str, Mapping[str, int]] | str | Path,
    index_dir: str | Path,
    mode: str = "hybrid",
    settings=None,
    progress: Callable[[int, int], None] | None = None,
    limit: int | None = None,
    ingest_progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Ingest ``corpus`` into the index at ``index_dir`` (incremental: an unchanged corpus is reused), run
    every evaluated query through ``Engine.retrieve(q, k=100, mode=mode)`` and score the rankings.

    Latency is measured warm (3 untimed warm-up queries first) with ``time.perf_counter`` around each
    ``retrieve`` call. ``limit`` keeps the first N evaluated queries.
    """
    from eval.datasets import load_qrels, load_queries
    from rag import Engine

    if not isinstance(queries, Mapping):
        queries = load_queries(queries)
    if not isinstance(qrels, Mapping):
        qrels = load_qrels(qrels)
    qids = evaluated_queries(queries, qrels)
    if limit is not None:
        qids = qids[:limit]

    eng = Engine.open(index_dir, settings=settings, create=True)
    try:
        t0 = time.perf_counter()
        rep = eng.ingest([corpus], progress=ingest_progress)
        ingest_seconds = time.perf_counter() - t0
        index_notes = eng.index.manifest.count_notes()

        for q in qids[:3]:  # warm-up: first-call costs (lexical index load, torch kernels) are not latency
            eng.retrieve(queries[q], k=K_MAX, mode=mode)

        run: dict[str, list[str]] = {}
        lat: list[float] = []
        for i, q in enumerate(qids, start=1):
            t1 = time.perf_counter()
            r = eng.retrieve(queries[q], k=K_MAX, mode=mode)
            lat.append((time.perf_counter() - t1) * 1000)
            run[q] = [h.note_id for h in r.hits]
            if progress:
                progress(i, len(qids))
    finally:
        eng.close()

    out = evaluate(run, qrels)
    p50, p95 = _percentiles(lat)
    out.update({
        "mode": mode,
        "latency_ms_p50": p50,
        "latency_ms_p95": p95,
        "ingest_seconds": ingest_seconds,
        "embedded": rep.chunks_embedded > 0,
        "chunks_embedded": rep.chunks_embedded,
        "ingest": rep.summary(),
        "index_notes": index_notes,
    })
    return out


def embed_floor_ms(engine, queries: Iterable[str] | Mapping[str, str], n: int = 50) -> dict:
    """Median and p95 ms of ``engine.embedder.encode_query(q)`` alone — the floor under dense/hybrid latency."""
    texts = list(queries.values()) if isinstance(queries, Mapping) else list(queries)
    texts = texts[:n]
    for t in texts[:3]:  # warm-up
        engine.embedder.encode_query(t)
    ms = []
    for t in texts:
        t1 = time.perf_counter()
        engine.embedder.encode_query(t)
        ms.append((time.perf_counter() - t1) * 1000)
    p50, p95 = _percentiles(ms)
    return {"embed_ms_p50": p50, "embed_ms_p95": p95, "n": len(ms)}


def format_table(rows: list[dict]):
    """A rich Table of results; each row is a ``run_retrieval_eval`` dict plus an optional ``setting`` label."""
    from rich.table import Table

    table = Table(title="Retrieval evaluation")
    table.add_column("setting")
    for col in ("nDCG@10", "R@10", "R@100", "MRR@10", "p50 ms", "p95 ms"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            str(r.get("setting") or r.get("mode", "")),
            f"{r['ndcg@10']:.3f}", f"{r['recall@10']:.3f}", f"{r['recall@100']:.3f}", f"{r['mrr@10']:.3f}",
            f"{r['latency_ms_p50']:.1f}", f"{r['latency_ms_p95']:.1f}",
        )
    return table


# ------------------------------------------------------------------------- retrieval methods on a question set
# The retrieval variants issue 12 compared (RetrievalSettings overrides); "default" is what ships.
METHODS: dict[str, dict] = {
    "default (dense + BM25, z-scored)": {},
    "lexical weight × visible share": {"lexical_by_visibility": True},
    "+ titles as a field (weight 0.5)": {"title_weight": 0.5},
    "+ titles (0.5) and visible share": {"title_weight": 0.5, "lexical_by_visibility": True},
    "+ titles as a field (weight 1.0)": {"title_weight": 1.0},
}


def topk_on_set(index_dir: str | Path, questions, methods: Mapping[str, dict] = METHODS, k: int = 14) -> list[dict]:
    """Top-1/5/10 of the expected notes (``q.expected``) for each method, over ``eval.question_sets`` questions
    (the engine's own cut: top_k + 8 = 14 notes)."""
    from rag import Engine, Settings

    rows, shared_embedder = [], None
    for label, over in methods.items():
        eng = Engine.open(index_dir, settings=Settings(index=Path(index_dir), retrieval=over))
        if shared_embedder is not None:
            eng._embedder = shared_embedder
        try:
            hits = []
            for q in (q for q in questions if q.expected):
                ids = [h.note_id for h in eng.retrieve(q.question, k=k).hits]
                hits.append([bool(set(q.expected) & set(ids[:n])) for n in (1, 5, 10)])
            shared_embedder = eng._embedder
        finally:
            eng.close()
        m = np.mean(hits, axis=0) if hits else np.zeros(3)
        rows.append({"setting": label, "top1": float(m[0]), "top5": float(m[1]), "top10": float(m[2]),
                     "questions": len(hits)})
    return rows
