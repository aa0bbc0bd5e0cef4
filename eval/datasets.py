"""Loaders for BEIR-format evaluation data (queries.jsonl, qrels/*.tsv) and the shared data folder.

    queries = load_queries(data / "scifact" / "queries.jsonl")   # {qid: text}
    qrels = load_qrels(data / "scifact" / "qrels" / "train.tsv")  # {qid: {doc_id: grade}}, grade > 0 only
"""

from __future__ import annotations

import json
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path | None:
    """The shared benchmark data folder: ``$INQUIRE_DATA_DIR``, else ``<repo>/../shared/data``; None if absent."""
    env = os.environ.get("INQUIRE_DATA_DIR")
    if env:
        p = Path(env).expanduser()
        return p if p.is_dir() else None
    p = (REPO.parent / "shared" / "data").resolve()
    return p if p.is_dir() else None


def load_queries(path: str | Path) -> dict[str, str]:
    """BEIR queries.jsonl (one JSON object a line with ``_id`` and ``text``) → {query id: text}."""
    path = Path(path)
    out: dict[str, str] = {}
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}, line {n}: not valid JSON ({e.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{path}, line {n}: expected a JSON object with '_id' and 'text'")
            qid, text = obj.get("_id"), obj.get("text")
            if qid is None or str(qid).strip() == "":
                raise ValueError(f"{path}, line {n}: missing '_id'")
            if not isinstance(text, str):
                raise ValueError(f"{path}, line {n}: missing or non-string 'text' for query {qid!r}")
            out[str(qid)] = text
    return out


def load_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """BEIR qrels TSV (``query-id corpus-id score``, header line) → {query id: {doc id: grade}}.

    Columns may be separated by tabs or spaces. Only judgements with grade > 0 are kept, so a query whose
    judgements are all 0 does not appear.
    """
    path = Path(path)
    out: dict[str, dict[str, int]] = {}
    header_seen = False
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            parts = line.split()
            if not parts:
                continue
            if not header_seen:
                header_seen = True
                if not _is_int(parts[-1]):  # a header line (e.g. "query-id corpus-id score")
                    continue
            if len(parts) != 3:
                raise ValueError(f"{path}, line {n}: expected 3 columns (query-id corpus-id score), got "
                                 f"{len(parts)}: {line.rstrip()!r}")
            qid, did, score = parts
            if not _is_int(score):
                raise ValueError(f"{path}, line {n}: score {score!r} is not an integer")
            grade = int(score)
            if grade > 0:
                out.setdefault(qid, {})[did] = grade
    return out


def _is_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return False
    return True
