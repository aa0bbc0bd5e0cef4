"""The `inquire` command line: a thin front end over rag's API.

Errors an operator can act on (InquireError) become one line on stderr and exit code 1; bad usage
exits 2 (typer's own). Machine output (JSON, JSON Lines) goes to stdout; progress and summaries to stderr.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Ask research notes questions; get inquiring lines back.")
eval_app = typer.Typer(no_args_is_help=True, help="Measure retrieval, answers and ingest speed.")
app.add_typer(eval_app, name="eval")
err = Console(stderr=True)
out = Console(soft_wrap=True)

IndexOpt = Annotated[Optional[Path], typer.Option("--index", "-i", help="Index directory [env INQUIRE_INDEX; default ./.inquire]")]
ChromaOpt = Annotated[Optional[str], typer.Option("--chroma-url", help="Chroma server URL [env INQUIRE_CHROMA_URL]")]
TagOpt = Annotated[Optional[list[str]], typer.Option("--tag", help="Only notes with this tag (repeatable: any of them)")]
PathOpt = Annotated[Optional[str], typer.Option("--path", help="Only notes whose path matches this glob, e.g. 'papers/*'")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help="Only notes dated on or after YYYY-MM-DD")]


def _fail(msg: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {msg}", highlight=False)
    raise typer.Exit(code)


def _settings(index: Path | None, chroma_url: str | None = None, **kw):
    from pydantic import ValidationError

    from rag import Settings

    try:
        s = Settings()
        upd = {}
        if index is not None:
            upd["index"] = index
        if chroma_url:
            upd["chroma_url"] = chroma_url
        s = Settings(**{**s.model_dump(), **upd, **kw}) if upd or kw else s
        return s
    except ValidationError as e:
        _fail(f"invalid settings: {e.errors()[0]['loc']}: {e.errors()[0]['msg']}")


def _engine(index: Path | None, chroma_url: str | None = None, create: bool = False, **kw):
    from rag import Engine, InquireError

    s = _settings(index, chroma_url, **kw)
    try:
        return Engine.open(settings=s, create=create)
    except InquireError as e:
        _fail(str(e))


def _filters(tag, path, since):
    from rag import Filters

    if since:
        import datetime as dt
        try:
            dt.date.fromisoformat(since)
        except ValueError:
            _fail(f"--since {since!r} is not a date; use YYYY-MM-DD", 2)
    return Filters(tags=list(tag or []), path=path, since=since)


class _Bar:
    """A rich progress bar fed by the engine's (phase, done, total) callback."""

    labels = {"read": "reading notes", "embed": "embedding chunks", "lexical": "building BM25 index"}

    def __init__(self, progress: Progress) -> None:
        self.p = progress
        self.tasks: dict[str, int] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if phase not in self.tasks:
            self.tasks[phase] = self.p.add_task(self.labels.get(phase, phase), total=total or None)
        self.p.update(self.tasks[phase], completed=done, total=total or None)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=err, transient=False, disable=not err.is_terminal and
                    os.environ.get("INQUIRE_PROGRESS", "") != "1")


# ---------------------------------------------------------------------------------------------- ingest
@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Notes folders or files (.md, .txt, .pdf, .jsonl)")],
    index: IndexOpt = None,
    chroma_url: ChromaOpt = None,
    rebuild: Annotated[bool, typer.Option(help="Drop what the index holds and build it anew")] = False,
    wait: Annotated[bool, typer.Option(help="If another ingest is running, wait for it instead of stopping")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout")] = False,
):
    """Add notes to the index (incremental: only what changed is embedded)."""
    from rag import InquireError

    eng = _engine(index, chroma_url, create=True)
    try:
        with _progress() as p:
            rep = eng.ingest(paths, progress=_Bar(p), rebuild=rebuild, wait=wait,
                             on_wait=lambda m: err.print(f"[yellow]{m}[/]"))
    except InquireError as e:
        _fail(str(e))
    except KeyboardInterrupt:
        _fail("interrupted: notes embedded so far are saved; run the same command again to finish", 130)
    summary = rep.summary()
    if json_out:
        out.print_json(data={**summary, "skipped_inputs": [{"path": s.path, "line": s.line, "reason": s.reason}
                                                           for s in rep.skipped]})
    else:
        err.print(f"[bold]{eng.settings.index}[/]: {summary['added']} added, {summary['updated']} updated, "
                  f"{summary['unchanged']} unchanged, {summary['removed']} removed, {summary['skipped']} skipped "
                  f"({summary['chunks_embedded']} chunks embedded in {summary['seconds']:.1f} s)", highlight=False)
        if rep.recovered:
            err.print("[yellow]the previous ingest had been interrupted; the index was reconciled[/]")
        for s in rep.skipped:
            err.print(f"  [yellow]skipped[/] {s.where()}: {s.reason}", highlight=False)


# ---------------------------------------------------------------------------------------------- ask
@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question; - reads it from stdin")],
    index: IndexOpt = None,
    chroma_url: ChromaOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="text | markdown | json")] = "text",
    k: Annotated[Optional[int], typer.Option("--k", help="Notes to draw on (default from settings)")] = None,
    tag: TagOpt = None, path: PathOpt = None, since: SinceOpt = None,
):
    """Answer one question as an inquiring line."""
    from rag import InquireError, render

    if fmt not in ("text", "markdown", "json"):
        _fail(f"--format {fmt!r}: use text, markdown or json", 2)
    if question == "-":
        question = sys.stdin.read()
    eng = _engine(index, chroma_url)
    try:
        line = eng.ask(question, filters=_filters(tag, path, since), k=k)
    except InquireError as e:
        _fail(str(e))
    sys.stdout.write(render(line, fmt))
    if fmt == "json":
        sys.stdout.write("\n")


# ---------------------------------------------------------------------------------------------- batch
def read_questions(file: str) -> Iterator[tuple[str, str | None, str | None]]:
    """(id, question or None, error or None) for each question in a .txt, .jsonl or .csv file, or - (stdin, text)."""
    if file == "-":
        data, suffix = sys.stdin.read(), ".txt"
    else:
        p = Path(file)
        if not p.is_file():
            _fail(f"{file}: no such question file; give a .txt (one question a line), .jsonl or .csv")
        suffix = p.suffix.lower()
        try:
            data = p.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            _fail(f"{file}: cannot read ({e}); save it as UTF-8 text")
    if suffix in (".jsonl", ".ndjson"):
        for n, raw in enumerate(data.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
                if not isinstance(obj, dict):
                    raise ValueError("not an object")
            except ValueError as e:
                yield f"line-{n}", None, f"line {n}: not a JSON object ({e}); expected {{\"id\": ..., \"question\": ...}}"
                continue
            qid = str(obj.get("id", obj.get("_id", f"line-{n}")))
            q = obj.get("question", obj.get("text"))
            if not isinstance(q, str) or not q.strip():
                yield qid, None, f"line {n}: no \"question\" string"
            else:
                yield qid, q, None
    elif suffix == ".csv":
        rows = csv.DictReader(io.StringIO(data))
        if not rows.fieldnames or "question" not in rows.fieldnames:
            _fail(f"{file}: a CSV needs a header with 'id,question' columns")
        for n, row in enumerate(rows, start=2):
            qid = (row.get("id") or f"line-{n}").strip()
            q = (row.get("question") or "").strip()
            yield (qid, q, None) if q else (qid, None, f"line {n}: empty question")
    else:
        for n, raw in enumerate(data.splitlines(), start=1):
            if raw.strip() and not raw.lstrip().startswith("#"):
                yield str(n), raw.strip(), None


@app.command()
def batch(
    file: Annotated[str, typer.Argument(help="Questions: .txt (one a line), .jsonl ({id, question}), .csv (id,question), or -")],
    index: IndexOpt = None,
    chroma_url: ChromaOpt = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write JSON Lines here (default stdout)")] = None,
    tag: TagOpt = None, path: PathOpt = None, since: SinceOpt = None,
):
    """Answer every question in a file; one JSON line per question (an error stays in its own line)."""
    from rag import InquireError

    questions = list(read_questions(file))
    eng = _engine(index, chroma_url)
    filters = _filters(tag, path, since)
    sink = output.open("w", encoding="utf-8") if output else sys.stdout
    ok = bad = 0
    try:
        with _progress() as p:
            task = p.add_task("answering", total=len(questions))
            for qid, q, error in questions:
                rec: dict = {"id": qid, "question": q}
                if error is None:
                    try:
                        rec["answer"] = json.loads(eng.ask(q, filters=filters).to_json())
                    except InquireError as e:
                        error = str(e)
                if error is not None:
                    rec["error"] = error
                    bad += 1
                else:
                    ok += 1
                sink.write(json.dumps(rec, ensure_ascii=False) + "\n")
                sink.flush()
                p.advance(task)
    finally:
        if output:
            sink.close()
    err.print(f"{ok} answered, {bad} failed" + (f" → {output}" if output else ""))


# ---------------------------------------------------------------------------------------------- calibrate
@app.command()
def calibrate(
    file: Annotated[str, typer.Argument(help="Questions your notes DO answer: .txt (one a line), .jsonl, .csv, or -")],
    unanswerable: Annotated[Optional[str], typer.Option(
        help="Questions your notes do NOT answer (same formats); default: a built-in set of everyday off-topic "
             "questions, which says nothing about near-topic ones")] = None,
    max_false: Annotated[float, typer.Option(min=0.0, max=0.5, help="Most answerable questions it may refuse")] = 0.05,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the threshold without storing it")] = False,
    reset: Annotated[bool, typer.Option("--reset", help="Forget this index's calibration (back to the default)")] = False,
    index: IndexOpt = None,
    chroma_url: ChromaOpt = None,
):
    """Set this index's abstention threshold from questions you know the notes answer (and ones they don't)."""
    from rag import InquireError
    from rag.calibrate import calibrate as run, clear, save

    eng = _engine(index, chroma_url)
    if reset:
        clear(eng)
        err.print(f"calibration removed; abstain_below is {eng.abstain_below} ({eng.threshold_source()[1]})")
        return
    pos = [q for _, q, e in read_questions(file) if q and not e]
    neg = [q for _, q, e in read_questions(unanswerable) if q and not e] if unanswerable else None
    try:
        with _progress() as p:
            task = p.add_task("scoring questions", total=None)
            cal = run(eng, pos, neg, max_false, progress=lambda d, t: p.update(task, completed=d, total=t))
    except InquireError as e:
        _fail(str(e))
    before, source = eng.threshold_source()
    t = Table(title="abstention threshold for this index", show_header=False)
    t.add_row("threshold", f"{cal.abstain_below} (in force now: {before}, {source})")
    t.add_row("answerable questions", f"{cal.answerable}: {100 * cal.false_abstention:.1f}% would be refused "
                                      f"(allowed: {100 * cal.max_false:.0f}%)")
    t.add_row("unanswerable questions", f"{cal.unanswerable} ({cal.unanswerable_source}): "
                                        f"{100 * cal.abstention_on_unanswerable:.1f}% refused")
    out.print(t)
    for item in cal.false_abstained:
        out.print(f"  would refuse (answerable): {item['question']}  [{item['answerability']}]", highlight=False)
    for item in cal.answered_unanswerable:
        out.print(f"  would answer (unanswerable): {item['question']}  [{item['answerability']}]", highlight=False)
    if dry_run:
        err.print("dry run: nothing stored")
    else:
        save(eng, cal)
        err.print(f"stored: this index now abstains below {cal.abstain_below} "
                  "(INQUIRE_SYNTHESIS__ABSTAIN_BELOW, when set, still wins)")


# ---------------------------------------------------------------------------------------------- status
@app.command()
def status(index: IndexOpt = None, chroma_url: ChromaOpt = None,
           json_out: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False):
    """What the index holds: notes, chunks, embedder, settings, last ingest, skipped files."""
    eng = _engine(index, chroma_url)
    st = eng.status()
    if json_out:
        out.print_json(data=st)
        return
    t = Table(show_header=False, box=None)
    for k in ("index", "store", "notes", "chunks", "vectors", "embedder", "chunking", "vector_hash"):
        t.add_row(k, str(st[k]))
    cal = st["calibration"] or {}
    t.add_row("abstain below", f"{st['abstain_below']} ({st['abstain_below_source']}"
              + (f": {cal['answerable']} answerable and {cal['unanswerable']} unanswerable questions, "
                 f"{cal['notes']} notes then" if st["abstain_below_source"].startswith("calibrated") else "") + ")")
    li = st["last_ingest"] or {}
    if li:
        import datetime as dt
        when = dt.datetime.fromtimestamp(li["at"]).isoformat(timespec="seconds")
        t.add_row("last ingest", f"{when}: {li['added']} added, {li['updated']} updated, {li['unchanged']} unchanged, "
                                 f"{li['removed']} removed, {li['skipped']} skipped ({li['seconds']} s)")
    if st["interrupted"]:
        t.add_row("warning", "the last ingest was interrupted; the next ingest reconciles the index")
    out.print(t)
    if st["skipped"]:
        out.print(f"\n[bold]skipped inputs ({len(st['skipped'])})[/]")
        for s in st["skipped"]:
            where = f"{s['path']}:{s['line']}" if s["line"] else s["path"]
            out.print(f"  {where}: {s['reason']}", highlight=False)


@app.command("settings")
def show_settings(index: IndexOpt = None):
    """Print the resolved settings (defaults, INQUIRE_* env vars, options) as JSON."""
    out.print_json(data=_settings(index).public_dump())


# ---------------------------------------------------------------------------------------------- ui
@app.command()
def ui(index: IndexOpt = None,
       port: Annotated[int, typer.Option(help="Port to listen on")] = 8501,
       host: Annotated[str, typer.Option(help="Address to listen on (loopback unless told otherwise)")] = "127.0.0.1"):
    """Start the chat page (needs the [ui] extra)."""
    try:
        import streamlit  # noqa: F401
    except ImportError:
        _fail("the chat page needs Streamlit: pip install 'inquire[ui]'")
    s = _settings(index)
    page = Path(__file__).with_name("page.py")
    env = {**os.environ, "INQUIRE_INDEX": str(s.index)}
    cmd = [sys.executable, "-m", "streamlit", "run", str(page), "--server.address", host, "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false", "--", "--index", str(s.index)]
    err.print(f"inquire page on http://{host}:{port}  (index {s.index})")
    raise typer.Exit(subprocess.call(cmd, env=env))


# ---------------------------------------------------------------------------------------------- eval
@eval_app.command("retrieval")
def eval_retrieval(
    corpus: Annotated[Path, typer.Option(help="BEIR corpus.jsonl")],
    queries: Annotated[Path, typer.Option(help="BEIR queries.jsonl")],
    qrels: Annotated[Path, typer.Option(help="qrels TSV (header line; score > 0 is relevant)")],
    index: IndexOpt = None,
    mode: Annotated[list[str], typer.Option(help="hybrid | dense | lexical (repeatable)")] = ["hybrid"],  # noqa: B006
    limit: Annotated[Optional[int], typer.Option(help="Evaluate only the first N queries")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per mode on stdout")] = False,
):
    """nDCG@10, Recall@10/100, MRR@10 and latency of the retrieval `ask` uses, on a BEIR set.

    The corpus is ingested into the index first (reused when the corpus and settings are unchanged)."""
    from eval.retrieval import embed_floor_ms, format_table, run_retrieval_eval

    s = _settings(index)
    rows = []
    for m in mode:
        if m not in ("hybrid", "dense", "lexical"):
            _fail(f"--mode {m!r}: use hybrid, dense or lexical", 2)
    for m in mode:
        with _progress() as p:
            task = p.add_task(f"queries ({m})", total=None)
            res = run_retrieval_eval(corpus, queries, qrels, s.index, mode=m, settings=s, limit=limit,
                                     progress=lambda d, t: p.update(task, completed=d, total=t),
                                     ingest_progress=_Bar(p))
        rows.append(res)
        if json_out:
            sys.stdout.write(json.dumps({k: v for k, v in res.items() if k != "ingest"}) + "\n")
    from eval.datasets import load_queries
    from rag import Engine

    floor = embed_floor_ms(Engine.open(settings=s), load_queries(queries))
    if json_out:
        sys.stdout.write(json.dumps({"floor": "query embedding alone", **floor}) + "\n")
    else:
        out.print(format_table(rows))
        out.print(f"floor (one query embedding alone): p50 {floor['embed_ms_p50']:.1f} ms, "
                  f"p95 {floor['embed_ms_p95']:.1f} ms over {floor['n']} queries")


@eval_app.command("answers")
def eval_answers(
    dataset: Annotated[list[Path], typer.Option(help="A COVID-QA or PubMedQA folder (repeatable)")],
    index_root: Annotated[Optional[Path], typer.Option("--index-root", help="Where the per-dataset indexes live")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N questions of each set")] = None,
    offset: Annotated[int, typer.Option(min=0, help="Skip the first N questions of each set (to check a threshold "
                                        "on questions it was not set on)")] = 0,
    unanswerable: Annotated[int, typer.Option(help="How many of the other set's questions to ask as unanswerable")] = 100,
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per dataset on stdout")] = False,
):
    """Gold document cited, answer span in cited evidence, format/citation checks, abstention, latency."""
    from eval.answers import ensure_index, format_table, load_dataset, run_answer_eval, suggest_threshold

    sets = [load_dataset(d) for d in dataset]
    root = index_root or Path(".inquire-eval")
    rows = []
    for i, qa in enumerate(sets):
        others = [q.question for o in sets if o is not qa for q in o.questions]
        if not others:  # one set given: take the other shared set's questions if it is beside it
            sib = {"covidqa": "pubmedqa", "pubmedqa": "covidqa"}[qa.name]
            sib_dir = dataset[i].parent / sib
            if sib_dir.exists():
                others = [q.question for q in load_dataset(sib_dir).questions]
        with _progress() as p:
            eng = ensure_index(qa, root / qa.index_name, settings=_settings(None), progress=_Bar(p))
            task = p.add_task(f"answering {qa.name}", total=None)
            rep = run_answer_eval(qa, eng, others[offset:offset + unanswerable], limit=limit, offset=offset,
                                  progress=lambda d, t: p.update(task, completed=d, total=t))
        row = rep.summary()
        row["abstain_below"] = eng.abstain_below
        row["suggested_threshold"] = suggest_threshold(rep.scores_answerable, rep.scores_unanswerable)
        rows.append(row)
        if json_out:
            sys.stdout.write(json.dumps(row) + "\n")
    if not json_out:
        out.print(format_table(rows))
        for r in rows:
            if r["suggested_threshold"]:
                out.print(f"{r['dataset']}: abstain_below={r['abstain_below']}; calibrated here: {r['suggested_threshold']}")
            for pr in r["problems"][:5]:
                out.print(f"  problem: {pr}", highlight=False)


@eval_app.command("ingest")
def eval_ingest(
    corpus: Annotated[Path, typer.Option(help="A .jsonl corpus or a notes folder")],
    limit: Annotated[Optional[int], typer.Option(help="Only the first N lines of a JSONL corpus")] = None,
    peer: Annotated[bool, typer.Option(help="Also run llama-index's default pipeline (needs the [bench] extra)")] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Rows as JSON on stdout")] = False,
):
    """Ingest speed: the raw embedder (floor), inquire, a re-ingest of the unchanged corpus, and the peer."""
    from eval.bench import format_table, run_bench

    with _progress() as p:
        task = p.add_task("stages", total=None)
        rows = run_bench(corpus, limit=limit, peer=peer,
                         progress=lambda st, d, t: p.update(task, completed=d, total=t, description=f"stage: {st}"))
    if json_out:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        out.print(format_table(rows))


@eval_app.command("ask")
def eval_ask(
    questions: Annotated[Path, typer.Option(help="A .txt file, one question a line")] = Path("examples/questions.txt"),
    index: IndexOpt = None,
    n: Annotated[int, typer.Option(help="Warm asks to time")] = 20,
):
    """Answer latency: `inquire ask` in a new process (cold) and Engine.ask in a warm one (median of N)."""
    from eval.bench import ask_latency

    qs = [q for _, q, _ in read_questions(str(questions)) if q]
    res = ask_latency(_settings(index).index, qs, n=n)
    out.print(f"cold `inquire ask` (new process): median {res['cold_s_median']:.2f} s over {len(res['cold_s'])} runs; "
              f"warm Engine.ask: p50 {res['warm_ms_p50']:.0f} ms, p95 {res['warm_ms_p95']:.0f} ms over {res['n']} asks")


def main() -> None:
    from rag import InquireError

    try:
        app()
    except InquireError as e:
        err.print(f"[bold red]error:[/] {e}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
