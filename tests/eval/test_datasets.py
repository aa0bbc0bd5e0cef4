"""BEIR loaders on small temporary files, and the integration run on a tiny corpus (real embedder)."""

import json
from pathlib import Path

import pytest

from eval.datasets import data_dir, load_qrels, load_queries


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ queries
def test_load_queries(tmp_path):
    p = _write(tmp_path / "queries.jsonl",
               '{"_id": "1", "text": "What is X?"}\n'
               "\n"  # blank lines are skipped
               '{"_id": 2, "text": "Why Y?", "metadata": {}}\n')
    assert load_queries(p) == {"1": "What is X?", "2": "Why Y?"}  # ids become strings


def test_load_queries_malformed_json_names_file_and_line(tmp_path):
    p = _write(tmp_path / "queries.jsonl", '{"_id": "1", "text": "ok"}\n{"_id": "2", "text": \n')
    with pytest.raises(ValueError, match=r"queries\.jsonl, line 2: not valid JSON"):
        load_queries(p)


def test_load_queries_missing_fields(tmp_path):
    p = _write(tmp_path / "q.jsonl", '{"text": "no id"}\n')
    with pytest.raises(ValueError, match=r"q\.jsonl, line 1: missing '_id'"):
        load_queries(p)
    p = _write(tmp_path / "q2.jsonl", '{"_id": "1", "text": "fine"}\n{"_id": "7"}\n')
    with pytest.raises(ValueError, match=r"q2\.jsonl, line 2: missing or non-string 'text'"):
        load_queries(p)
    p = _write(tmp_path / "q3.jsonl", '["not", "an", "object"]\n')
    with pytest.raises(ValueError, match=r"q3\.jsonl, line 1: expected a JSON object"):
        load_queries(p)


# ------------------------------------------------------------------ qrels
def test_load_qrels_tabs_spaces_header_and_zero_scores(tmp_path):
    p = _write(tmp_path / "qrels.tsv",
               "query-id\tcorpus-id\tscore\n"
               "1\td1\t1\n"
               "1 d2 2\n"          # spaces instead of tabs
               "1\td3\t0\n"        # score 0: not relevant, dropped
               "\n"
               "2  \t d9   1\n"    # mixed whitespace
               "3\td4\t0\n")       # query 3 has no relevant doc → absent
    assert load_qrels(p) == {"1": {"d1": 1, "d2": 2}, "2": {"d9": 1}}


def test_load_qrels_without_header(tmp_path):
    p = _write(tmp_path / "qrels.tsv", "1\td1\t1\n")
    assert load_qrels(p) == {"1": {"d1": 1}}


def test_load_qrels_malformed_line_names_file_and_line(tmp_path):
    p = _write(tmp_path / "dev.tsv", "query-id\tcorpus-id\tscore\n1\td1\t1\n2\td2\n")
    with pytest.raises(ValueError, match=r"dev\.tsv, line 3: expected 3 columns"):
        load_qrels(p)


def test_load_qrels_non_integer_score(tmp_path):
    p = _write(tmp_path / "dev.tsv", "query-id\tcorpus-id\tscore\n1\td1\tyes\n")
    with pytest.raises(ValueError, match=r"dev\.tsv, line 2: score 'yes' is not an integer"):
        load_qrels(p)


# ------------------------------------------------------------------ data_dir
def test_data_dir_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("INQUIRE_DATA_DIR", str(tmp_path))
    assert data_dir() == tmp_path
    monkeypatch.setenv("INQUIRE_DATA_DIR", str(tmp_path / "missing"))
    assert data_dir() is None


def test_data_dir_default(monkeypatch):
    monkeypatch.delenv("INQUIRE_DATA_DIR", raising=False)
    d = data_dir()
    assert d is None or (d.is_dir() and d.parts[-2:] == ("shared", "data"))


def test_shared_scifact_loads():
    d = data_dir()
    if d is None or not (d / "scifact" / "qrels" / "train.tsv").exists():
        pytest.skip("shared benchmark data not found: set INQUIRE_DATA_DIR or place it at <repo>/../shared/data")
    queries = load_queries(d / "scifact" / "queries.jsonl")
    qrels = load_qrels(d / "scifact" / "qrels" / "train.tsv")
    assert qrels and all(all(g > 0 for g in rel.values()) for rel in qrels.values())
    assert set(qrels) & set(queries)  # judged queries have text to run


# ------------------------------------------------------------------ integration (real embedder, tiny corpus)
DOCS = [
    ("d1", "Photosynthesis in plants",
     "Chlorophyll in plant leaves absorbs sunlight and converts carbon dioxide and water into glucose and oxygen."),
    ("d2", "Volcanic eruptions",
     "Magma rises through the crust and erupts as lava, ash and volcanic gases from a volcano."),
    ("d3", "The French Revolution",
     "In 1789 the storming of the Bastille began a revolution that overthrew the French monarchy."),
    ("d4", "Black holes",
     "A black hole is a region of spacetime whose gravity is so strong that not even light can escape."),
    ("d5", "Sourdough baking",
     "Sourdough bread rises through wild yeast and lactic acid bacteria in a fermented flour starter."),
    ("d6", "Honey bee colonies",
     "A honey bee colony has one queen, thousands of worker bees and drones, and stores honey in wax combs."),
]


def test_eval_tiny_corpus(tmp_path):
    from eval.retrieval import run_retrieval_eval

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in DOCS))
    queries = _write(tmp_path / "queries.jsonl",
                     '{"_id": "q1", "text": "How do plants turn sunlight into sugar?"}\n'
                     '{"_id": "q2", "text": "Why can light not escape a black hole?"}\n'
                     '{"_id": "q3", "text": "A query without judgements is not evaluated"}\n')
    qrels = _write(tmp_path / "qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td4\t1\n")
    seen = []
    res = run_retrieval_eval(corpus, queries, qrels, tmp_path / "idx", mode="hybrid",
                             progress=lambda done, total: seen.append((done, total)))
    assert res["queries"] == 2
    assert seen == [(1, 2), (2, 2)]
    assert res["index_notes"] == 6 and res["embedded"] is True
    assert res["ndcg@10"] > 0.9 and res["mrr@10"] == 1.0 and res["recall@10"] == 1.0
    assert res["latency_ms_p50"] > 0 and res["latency_ms_p95"] >= res["latency_ms_p50"]

    # a second run over the unchanged corpus reuses the index: nothing embedded again
    again = run_retrieval_eval(corpus, load_queries(queries), load_qrels(qrels), tmp_path / "idx", mode="lexical")
    assert again["embedded"] is False and again["index_notes"] == 6
    assert again["mode"] == "lexical" and again["ndcg@10"] > 0.9
