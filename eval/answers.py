"""Answer evaluation over the QA sets in the shared data folder.

    COVID-QA   98 long papers (chunked); per question: is the gold paper among the sources, and is the gold
               answer span inside the evidence the answer cites?
    PubMedQA   its 1,000 abstracts mixed with SciFact's 5,183 as distractors; is the gold abstract cited?
    all        JSON contract valid and text format exact for every answer; citations consistent; 3-5 next
               lines unless abstained; abstention on questions the index cannot answer (the other set's
               questions); latency per answer.

It drives the same Engine API a user does.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag import Engine, InquiringLine, Settings, render
from rag.answer import TAKEAWAY_LEAD


@dataclass
class QA:
    id: str
    question: str
    gold_doc: str
    answer: str | None = None  # gold answer span (COVID-QA)


@dataclass
class QASet:
    name: str
    corpora: list[Path]
    questions: list[QA]
    index_name: str


def load_covidqa(folder: Path) -> QASet:
    qs = []
    for line in (folder / "qa.jsonl").open():
        o = json.loads(line)
        qs.append(QA(str(o["id"]), o["question"], str(o["document_id"]), o["answer"]))
    return QASet("covidqa", [folder / "documents.jsonl"], qs, "covidqa")


def load_pubmedqa(folder: Path, distractors: Path | None) -> QASet:
    qs = []
    for line in (folder / "answers.jsonl").open():
        o = json.loads(line)
        qs.append(QA(str(o["_id"]), o["question"], str(o.get("gold_doc") or o["_id"])))
    corpora = [folder / "corpus.jsonl"] + ([distractors] if distractors and distractors.exists() else [])
    return QASet("pubmedqa", corpora, qs, "pubmedqa+scifact" if len(corpora) > 1 else "pubmedqa")


def load_dataset(folder: Path) -> QASet:
    folder = Path(folder)
    if (folder / "qa.jsonl").exists() and (folder / "documents.jsonl").exists():
        return load_covidqa(folder)
    if (folder / "answers.jsonl").exists() and (folder / "corpus.jsonl").exists():
        return load_pubmedqa(folder, folder.parent / "scifact" / "corpus.jsonl")
    raise ValueError(f"{folder}: not a COVID-QA folder (qa.jsonl + documents.jsonl) or a PubMedQA folder "
                     "(answers.jsonl + corpus.jsonl)")


# ------------------------------------------------------------------------------------------- checks
def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w%.,-]+", " ", text.lower()).split())


def format_problems(line: InquiringLine) -> list[str]:
    """Everything wrong with one answer's contract and text rendering (empty when it is right)."""
    problems = []
    try:
        again = InquiringLine.model_validate_json(line.to_json())
        if again != line:
            problems.append("JSON round trip changed the answer")
    except ValueError as e:
        problems.append(f"JSON contract: {e}")
    text = render(line, "text")
    head = f"INQUIRING LINE\n\n{line.question}\n\n{line.framing}\n\n\n"
    if not text.startswith(head):
        problems.append("text: header, question or framing out of place")
    body, sep, tail = text[len(head):].partition("\n\n\nSources ")
    if not sep:
        problems.append("text: no Sources block")
    else:
        paras = body.split("\n\n")
        if len(paras) != len(line.paragraphs) + 1 or not paras[-1].startswith(TAKEAWAY_LEAD):
            problems.append("text: paragraphs or takeaway out of place")
        n = len(line.sources)
        want = f"{n} note{'s' if n != 1 else ''}" + "".join(f"\n\n{s.title}\n\n{s.summary}" for s in line.sources)
        want += "\n\nNext inquiring lines" + ("\n\n" + "\n".join(line.next_lines) if line.next_lines else "") + "\n"
        if tail != want:
            problems.append("text: sources or next lines block differs from the format")
    retrieved = {r.id for r in line.meta.retrieved}
    cited = set(line.cited_ids())
    if not cited <= retrieved:
        problems.append(f"cites notes that were not retrieved: {sorted(cited - retrieved)}")
    if [s.id for s in line.sources] != line.cited_ids():
        problems.append("sources are not exactly the cited notes in order")
    if not line.abstained and not 3 <= len(line.next_lines) <= 5:
        problems.append(f"{len(line.next_lines)} next lines (want 3-5)")
    if line.abstained and cited:
        problems.append("abstained but cites notes")
    return problems


def span_in_cited_evidence(line: InquiringLine, answer: str) -> bool:
    want = _norm(answer)
    quotes = [s.quote or "" for p in line.paragraphs for s in p.sentences if s.cites]
    return any(want in _norm(q) for q in quotes)


# ------------------------------------------------------------------------------------------- runner
@dataclass
class Report:
    dataset: str
    questions: int = 0
    gold_cited: int = 0
    gold_retrieved: int = 0
    span_found: int = 0
    span_questions: int = 0
    format_ok: int = 0
    abstained: int = 0
    unanswerable: int = 0
    unanswerable_abstained: int = 0
    indirect: int = 0  # answerable questions answered with the "only indirectly" caveat
    unanswerable_indirect: int = 0  # unanswerable ones answered with it (not abstained, but flagged)
    latencies_ms: list[float] = field(default_factory=list)
    # (answerability, best cosine) of each question: what the engine's abstention rule reads
    scores_answerable: list[tuple[float, float]] = field(default_factory=list)
    scores_unanswerable: list[tuple[float, float]] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        lat = sorted(self.latencies_ms)
        pct = lambda p: lat[min(len(lat) - 1, int(round(p * (len(lat) - 1))))] if lat else None  # noqa: E731
        q = max(1, self.questions)
        return {
            "dataset": self.dataset, "questions": self.questions,
            "gold_cited": self.gold_cited / q, "gold_retrieved": self.gold_retrieved / q,
            "span_in_cited_evidence": (self.span_found / self.span_questions) if self.span_questions else None,
            "format_and_citations_ok": self.format_ok / q,
            "false_abstention": self.abstained / q,
            "unanswerable_questions": self.unanswerable,
            "abstention_on_unanswerable": (self.unanswerable_abstained / self.unanswerable) if self.unanswerable else None,
            "flagged_indirect": self.indirect / q,
            "abstained_or_flagged_on_unanswerable": ((self.unanswerable_abstained + self.unanswerable_indirect)
                                                     / self.unanswerable) if self.unanswerable else None,
            "latency_ms_p50": pct(0.5), "latency_ms_p95": pct(0.95),
            "problems": self.problems[:20],
        }


def ensure_index(qa: QASet, index: Path, settings: Settings | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> Engine:
    eng = Engine.open(index, settings=settings, create=True)
    eng.ingest(qa.corpora, progress=progress, prune=False)
    return eng


def run_answer_eval(qa: QASet, eng: Engine, unanswerable: list[str] | None = None, limit: int | None = None,
                    progress: Callable[[int, int], None] | None = None, offset: int = 0) -> Report:
    rep = Report(qa.name)
    questions = qa.questions[offset:offset + limit] if limit else qa.questions[offset:]
    unanswerable = (unanswerable or [])[:limit] if limit else (unanswerable or [])
    total = len(questions) + len(unanswerable)
    for warm in questions[:2]:
        eng.ask(warm.question)
    done = 0
    for item in questions:
        t = time.perf_counter()
        line = eng.ask(item.question)
        rep.latencies_ms.append((time.perf_counter() - t) * 1000)
        rep.questions += 1
        ids = [s.id for s in line.sources]
        rep.gold_cited += item.gold_doc in ids
        rep.gold_retrieved += item.gold_doc in {r.id for r in line.meta.retrieved}
        rep.abstained += line.abstained
        rep.indirect += line.meta.support == "indirect"
        if line.meta.answerability is not None:
            rep.scores_answerable.append(_scores(line))
        if item.answer:
            rep.span_questions += 1
            rep.span_found += span_in_cited_evidence(line, item.answer)
        probs = format_problems(line)
        rep.format_ok += not probs
        if probs:
            rep.problems.append({"id": item.id, "problems": probs})
        done += 1
        if progress:
            progress(done, total)
    for q in unanswerable:
        line = eng.ask(q)
        rep.unanswerable += 1
        rep.unanswerable_abstained += line.abstained
        rep.unanswerable_indirect += line.meta.support == "indirect"
        if line.meta.answerability is not None:
            rep.scores_unanswerable.append(_scores(line))
        probs = format_problems(line)
        if probs:
            rep.problems.append({"question": q, "problems": probs})
        done += 1
        if progress:
            progress(done, total)
    return rep


def _scores(line: InquiringLine) -> tuple[float, float]:
    return float(line.meta.answerability), float(line.meta.best_similarity or 0.0)


def suggest_threshold(answerable: list[tuple[float, float]], unanswerable: list[tuple[float, float]],
                      max_false: float = 0.05, never_below_best: float | None = None) -> dict:
    """The abstention threshold ``inquire calibrate`` would store for these questions (``rag.calibrate.choose``,
    the engine's own rule), with what it refuses of each set."""
    from rag.calibrate import choose, refused
    from rag.settings import SynthesisSettings

    if not answerable or not unanswerable:
        return {}
    above = SynthesisSettings().answer_above_similarity if never_below_best is None else never_below_best
    t = choose(answerable, unanswerable, max_false, above)
    return {"threshold": t, "false_abstention": sum(refused(answerable, t, above)) / len(answerable),
            "abstention_on_unanswerable": sum(refused(unanswerable, t, above)) / len(unanswerable)}


def format_table(rows: list[dict]):
    from rich.table import Table

    t = Table(title="answers")
    cols = [("dataset", "dataset"), ("questions", "questions"), ("gold cited", "gold_cited"),
            ("span in cited", "span_in_cited_evidence"), ("format+cites ok", "format_and_citations_ok"),
            ("false abstain", "false_abstention"), ("flagged indirect", "flagged_indirect"),
            ("abstain on unanswerable", "abstention_on_unanswerable"),
            ("abstain or flag on unanswerable", "abstained_or_flagged_on_unanswerable"),
            ("p50 ms", "latency_ms_p50"), ("p95 ms", "latency_ms_p95")]
    for name, _ in cols:
        t.add_column(name, justify="left" if name == "dataset" else "right")
    for r in rows:
        cells = []
        for _, k in cols:
            v = r.get(k)
            if v is None:
                cells.append("-")
            elif isinstance(v, float) and k.startswith("latency"):
                cells.append(f"{v:.0f}")
            elif isinstance(v, float):
                cells.append(f"{100 * v:.1f}%")
            else:
                cells.append(str(v))
        t.add_row(*cells)
    return t
