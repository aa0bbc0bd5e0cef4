"""The LLM judge (``synthesis.llm_judge``, ``rag/judge.py``) on the labelled demo sets, with the verdicts a
capable model gives served by a real local OpenAI-compatible server (``eval/replay_server.py``).

Judges (see ``eval/sets/judge_verdicts/README.md``):

* ``none``: no judge, the bi-encoder's support level alone;
* ``faithful``: the hand-written verdicts for the unanswerable questions; ``answers``, citing an expected
  note's passage, for the answerable ones;
* ``strict``: a faulty, over-cautious judge: ``partly`` on every answerable question, naming its rarest word;
* ``lenient``: a faulty, credulous judge: ``answers`` on every unanswerable question, citing passage 1.

Figures per set and judge: refused, flagged indirect, refused or flagged, expected notes cited, and the share
of the judge's verdicts the check kept. The engine and the sets are the ones users and ``inquire eval
questions`` use; only the LLM is scripted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from eval.question_sets import SETS_DIR, Question, load_set, run

VERDICTS = SETS_DIR / "judge_verdicts" / "unanswerable.jsonl"
JUDGES = ("none", "faithful", "strict", "lenient")
SETS = ("demo_casual", "demo_neartopic", "demo_composition")
_ITEM = re.compile(r"^\[(\d+)\] (.*?) — ", re.M)


def load_verdicts(path: Path = VERDICTS) -> dict[str, dict]:
    return {d["id"]: d for d in (json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip())}


def _rarest(question: str, index) -> str:
    """The question's content word the corpus uses least (an over-cautious judge names it as missing)."""
    from rag.query_terms import query_terms
    from store.stemming import stem

    lex = index.lexical()
    words = re.findall(r"[A-Za-z][A-Za-z'-]+", question)
    terms = {t.term: t.idf for t in query_terms(lex, question)} if lex is not None else {}

    scored = [(terms.get(stem(w.lower()), 0.0), w) for w in words if len(w) > 3]
    return max(scored)[1] if scored else (words[0] if words else "it")


def scripted_judge(kind: str, questions: Sequence[Question], verdicts: dict[str, dict], titles: dict[str, str],
                   index) -> Callable[[dict], str]:
    """A reply function for the scripted server: the verdict ``kind`` of judge gives on the request's question."""
    by_text = {q.question: q for q in questions}

    def reply(body: dict) -> str:
        user = body["messages"][-1]["content"]
        m = re.match(r"Question: (.*)", user)
        q = by_text.get(m.group(1).strip()) if m else None
        if q is None:
            return json.dumps({"verdict": "", "missing": "", "cites": []})
        items = [(int(n), t) for n, t in _ITEM.findall(user)]
        unanswerable = q.id in verdicts
        if unanswerable:
            if kind == "lenient":
                return json.dumps({"verdict": "answers", "missing": "", "cites": [1]})
            v = verdicts[q.id]
            return json.dumps({"verdict": v["verdict"], "missing": v["missing"], "cites": []})
        if kind == "strict":
            return json.dumps({"verdict": "partly", "missing": _rarest(q.question, index), "cites": [1]})
        wanted = {titles.get(e, "") for e in q.expected}
        cite = next((n for n, t in items if t in wanted), items[0][0] if items else 1)
        return json.dumps({"verdict": "answers", "missing": "", "cites": [cite]})

    return reply


def measure(index: Path | str, judges: Sequence[str] = JUDGES, sets: Sequence[str] = SETS,
            progress: Callable[[str, int, int], None] | None = None) -> list[dict]:
    """One row per (judge, set): the question-set figures and the share of verdicts kept."""
    from eval.replay_server import ScriptedLLMServer
    from rag import Engine, Settings

    verdicts = load_verdicts()
    by_set = {name: load_set(name) for name in sets}
    questions = [q for qs in by_set.values() for q in qs]
    rows: list[dict] = []
    with ScriptedLLMServer() as srv:
        for kind in judges:
            if kind == "none":
                eng = Engine.open(index)
            else:
                eng = Engine.open(settings=Settings(
                    index=Path(index), synthesis={"llm_judge": True},
                    llm={"provider": "openai", "base_url": srv.url + "/v1", "model": "scripted", "timeout_s": 10.0}))
                titles = {nid: n["title"] for nid, n in eng.index.manifest.notes().items()}
                srv.queue.clear()
                fn = scripted_judge(kind, questions, verdicts, titles, eng.index)
                for _ in range(len(questions)):
                    srv.reply(fn)
            try:
                res = run(eng, sets, progress=(lambda d, t, k=kind: progress(k, d, t)) if progress else None)
            finally:
                srv.queue.clear()
                eng.close()
            for r in res["rows"]:
                name, _, part = r["set"].partition(":")
                answers, qs = res["answers"][name], by_set[name]
                idx = [i for i, q in enumerate(qs) if not part or q.kind == part]
                judged = [answers[i].meta.judgement for i in idx if answers[i].meta.judgement]
                kept = sum(1 for j in judged if j.get("kept"))
                rows.append({"judge": kind, **r, "verdicts": len(judged),
                             "kept": kept / len(judged) if judged else None})
    return rows


def format_rows(rows: list[dict]):
    from rich.table import Table

    from eval.question_sets import _fmt

    cols = ["judge", "set", "questions", "refused", "flagged_indirect", "refused_or_flagged", "expected_cited",
            "verdicts", "kept"]
    t = Table(title="The LLM judge on the demo sets (scripted verdicts over a local server)")
    for c in cols:
        t.add_column(c.replace("_", " "), justify="left" if c in ("judge", "set") else "right")
    for r in rows:
        t.add_row(*[_fmt(r.get(c)) if c not in ("judge", "set") else str(r[c]) for c in cols])
    return t
