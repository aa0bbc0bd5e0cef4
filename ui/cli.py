"""The `inquire` command line: a thin front end over rag's API.

Errors an operator can act on (InquireError) become one line on stderr and exit code 1; bad usage
exits 2 (typer's own); any other exception is one line naming it and exit code 1, with its traceback only
under ``--debug`` (or ``INQUIRE_DEBUG=1``). Machine output (JSON, JSON Lines) goes to stdout; progress and
summaries to stderr. Names, ids, paths and messages come from users and notes: they are printed through
:func:`_lit` (rich markup escaped), so ``[draft] a.md`` or an id ``x[/b]`` prints as it is.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from typer.core import TyperGroup
from typer.exceptions import TyperException

DEBUG_HINT = "run with --debug (or INQUIRE_DEBUG=1) for the traceback"
# How long the Streamlit child of `inquire ui` may take to stop after a forwarded SIGTERM/SIGINT before it is
# killed (it stops in well under a second here; the margin is for a page in the middle of an answer).
CHILD_STOP_GRACE_S = 10.0


def _debug_on(ctx: typer.Context | None = None) -> bool:
    while ctx is not None:
        if ctx.params.get("debug"):
            return True
        ctx = ctx.parent
    return os.environ.get("INQUIRE_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


def _lit(value: object) -> str:
    """User- or note-derived text for a rich print: shown literally, never read as markup."""
    return escape(str(value))


def _one_line(msg: str) -> str:
    return " ".join(str(msg).split())


class _Group(TyperGroup):
    """Every command runs inside this: an InquireError becomes its one-line message, any other exception one
    line naming it (typer's own exits, aborts and usage errors pass through). Under --debug both propagate,
    traceback and all."""

    def invoke(self, ctx: typer.Context):
        from rag import InquireError

        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):
            raise
        except InquireError as e:
            if _debug_on(ctx):
                raise
            _fail(str(e))
        except Exception as e:  # noqa: BLE001 - the one place an unexpected error becomes a message
            if _debug_on(ctx):
                raise
            _fail(f"unexpected {type(e).__name__}: {e} ({DEBUG_HINT})")


app = typer.Typer(cls=_Group, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Ask research notes questions; get inquiring lines back.")
eval_app = typer.Typer(no_args_is_help=True, help="Measure retrieval, answers and ingest speed.")
app.add_typer(eval_app, name="eval")
err = Console(stderr=True, soft_wrap=True)  # soft wrap: an error stays one line, however narrow the terminal
out = Console(soft_wrap=True)


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", envvar="INQUIRE_DEBUG",
                                              help="Show tracebacks instead of one-line errors")] = False):
    """Ask research notes questions; get inquiring lines back."""

IndexOpt = Annotated[Optional[Path], typer.Option("--index", "-i", help="Index directory [env INQUIRE_INDEX; default ./.inquire]")]
ChromaOpt = Annotated[Optional[str], typer.Option("--chroma-url", help="Chroma server URL [env INQUIRE_CHROMA_URL]")]
TagOpt = Annotated[Optional[list[str]], typer.Option("--tag", help="Only notes with this tag (repeatable: any of them)")]
PathOpt = Annotated[Optional[str], typer.Option("--path", help="Only notes whose path matches this glob, e.g. 'papers/*'")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help="Only notes dated on or after YYYY-MM-DD")]


def _fail(msg: str, code: int = 1) -> None:
    err.print(f"[bold red]error:[/] {_lit(_one_line(msg))}", highlight=False)
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


def _engine(index: Path | None, chroma_url: str | None = None, create: bool = False, check: bool = True, **kw):
    """The engine; an InquireError (no index, a damaged one, a store that cannot be reached) becomes its one
    line in _Group, like every other command's. ``check=False`` opens a damaged index anyway (for status)."""
    from rag import Engine

    s = _settings(index, chroma_url, **kw)
    return Engine.open(settings=s, create=create) if check else Engine.open(settings=s, create=create, check=False)


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
    eng = _engine(index, chroma_url, create=True)
    try:
        with _progress() as p:
            rep = eng.ingest(paths, progress=_Bar(p), rebuild=rebuild, wait=wait,
                             on_wait=lambda m: err.print(f"[yellow]{_lit(m)}[/]"))
    except KeyboardInterrupt:
        _fail("interrupted: notes embedded so far are saved; run the same command again to finish", 130)
    summary = rep.summary()
    if json_out:
        out.print_json(data={**summary, "skipped_inputs": [{"path": s.path, "line": s.line, "reason": s.reason}
                                                           for s in rep.skipped],
                             "note_warnings": [{"path": w.path, "line": w.line, "reason": w.reason}
                                               for w in getattr(rep, "warnings", [])]})
    else:
        err.print(f"[bold]{_lit(eng.settings.index)}[/]: {summary['added']} added, {summary['updated']} updated, "
                  f"{summary['unchanged']} unchanged, {summary['removed']} removed, {summary['skipped']} skipped "
                  f"({summary['chunks_embedded']} chunks embedded in {summary['seconds']:.1f} s)", highlight=False)
        if rep.recovered:
            err.print("[yellow]the previous ingest had been interrupted; the index was reconciled[/]")
        for s in rep.skipped:
            err.print(f"  [yellow]skipped[/] {_lit(s.where())}: {_lit(s.reason)}", highlight=False)
        for w in getattr(rep, "warnings", []):
            err.print(f"  [yellow]warning[/] {_lit(w.where())}: {_lit(w.reason)}", highlight=False)


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
    from rag import render

    if fmt not in ("text", "markdown", "json"):
        _fail(f"--format {fmt!r}: use text, markdown or json", 2)
    if question == "-":
        question = sys.stdin.read()
    eng = _engine(index, chroma_url)
    line = eng.ask(question, filters=_filters(tag, path, since), k=k)
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


class _Sink:
    """JSON Lines out. A file is opened only when the first record is ready, so a batch that cannot start (no
    index, a bad question file) leaves an existing file as it was."""

    def __init__(self, path: Path | None, mode: str) -> None:
        self.path, self.mode, self.f = path, mode, None

    def write(self, rec: dict) -> None:
        if self.f is None:
            self.f = self.path.open(self.mode, encoding="utf-8") if self.path else sys.stdout
        self.f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        self.f.flush()

    def close(self) -> None:
        if self.path and self.f is not None:
            self.f.close()


def _previous_answers(path: Path, questions: list[tuple[str, str | None, str | None]]) -> tuple[set, dict]:
    """For --resume: keep the whole answer lines already in ``path`` (a question counts as answered by its id
    and its text); drop cut-off lines (a killed batch) and the error lines of questions still asked, so those
    are asked again. The file is rewritten atomically only when something was dropped. Returns the answered
    (id, question) keys and counts for the report."""
    wanted = {(qid, q) for qid, q, _ in questions}
    raw = path.read_text(encoding="utf-8", errors="replace")
    keep: list[str] = []
    done: set[tuple[str, str | None]] = set()
    counts = {"kept": 0, "retried": 0, "cut": 0}
    for line in raw.splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not an object")
        except ValueError:
            counts["cut"] += 1
            continue
        key = (str(rec.get("id")), rec.get("question"))
        if "answer" in rec and "error" not in rec:
            if key not in done:
                keep.append(line)
                done.add(key)
                counts["kept"] += key in wanted
        elif key in wanted:
            counts["retried"] += 1  # failed last time: asked again
        else:
            keep.append(line)  # not a question of this file: not ours to drop
    if len(keep) != len(raw.splitlines()) or (raw and not raw.endswith("\n")):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text("".join(x + "\n" for x in keep), encoding="utf-8")
        os.replace(tmp, path)
    return done, counts


def _answers(eng, items: list, filters, debug: bool) -> Iterator[tuple]:
    """Engine.ask_many over ``items``, one (item, line, error) each. ask_many turns an InquireError into its
    question's error; anything else (a store dropping its connection before it is wrapped) would end the
    generator, so that question gets the error line and the batch goes on with the next."""
    i = 0
    while i < len(items):
        try:
            for res in eng.ask_many(items[i:], filters=filters):
                yield res
                i += 1
        except Exception as e:  # noqa: BLE001 - recorded in the question's own output line
            if debug:
                raise
            yield items[i], None, _one_line(f"unexpected {type(e).__name__}: {e}")
            i += 1


@app.command()
def batch(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="Questions: .txt (one a line), .jsonl ({id, question}), .csv (id,question), or -")],
    index: IndexOpt = None,
    chroma_url: ChromaOpt = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write JSON Lines here (default stdout)")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Keep the answers already in -o and add only the "
                                         "questions it lacks (by id and question; failed ones are asked again)")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing -o file")] = False,
    tag: TagOpt = None, path: PathOpt = None, since: SinceOpt = None,
):
    """Answer every question in a file; one JSON line per question (an error stays in its own line).

    An existing -o file is never replaced by accident: give --resume to finish it or --force to replace it
    (it is replaced only once the first answer is ready). Answers are written as they come, so a killed batch
    leaves valid JSON Lines that --resume continues."""
    from rag import BatchItem

    if resume and output is None:
        _fail("--resume needs -o FILE: the answers to resume from are read from that file", 2)
    if resume and force:
        _fail("--resume keeps the file and --force replaces it; give one of them", 2)
    if output is not None and not resume and not force and output.exists() and output.stat().st_size > 0:
        _fail(f"{output} already exists; add --resume to append the questions it lacks, or --force to replace it")
    questions = list(read_questions(file))
    done: set = set()
    if resume and output.exists():
        done, counts = _previous_answers(output, questions)
        todo = sum((qid, q) not in done for qid, q, _ in questions)
        err.print(_lit(f"resuming {output}: {counts['kept']} kept, {counts['retried']} failed before, "
                       f"{counts['cut']} cut-off line{'s' if counts['cut'] != 1 else ''} dropped, {todo} to ask"))
    questions = [x for x in questions if (x[0], x[1]) not in done]
    eng = _engine(index, chroma_url)
    filters = _filters(tag, path, since)
    sink = _Sink(output, "a" if resume else "w")
    items = [BatchItem(qid, q) for qid, q, error in questions if error is None]
    answers = _answers(eng, items, filters, _debug_on(ctx))
    ok = bad = 0
    try:
        with _progress() as p:
            task = p.add_task("answering", total=len(questions))
            for qid, q, error in questions:
                rec: dict = {"id": qid, "question": q}
                if error is None:
                    _, line, error = next(answers)  # in order: the next valid question is this one
                    if line is not None:
                        rec["answer"] = json.loads(line.to_json())
                if error is not None:
                    rec["error"] = error
                    bad += 1
                else:
                    ok += 1
                sink.write(rec)
                p.advance(task)
    finally:
        sink.close()
    err.print(_lit(f"{ok} answered, {bad} failed" + (f" → {output}" if output else "")))


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
    force: Annotated[bool, typer.Option("--force", help="Store the threshold even when it would answer built-in "
                                        "off-topic questions or is under the floor")] = False,
    index: IndexOpt = None,
    chroma_url: ChromaOpt = None,
):
    """Set this index's abstention threshold from questions you know the notes answer (and ones they don't)."""
    from rag.calibrate import calibrate as run, clear, save

    eng = _engine(index, chroma_url)
    if reset:
        clear(eng)
        err.print(_lit(f"calibration removed; abstain_below is {eng.abstain_below} ({eng.threshold_source()[1]})"))
        return
    pos = [q for _, q, e in read_questions(file) if q and not e]
    neg = [q for _, q, e in read_questions(unanswerable) if q and not e] if unanswerable else None
    with _progress() as p:
        task = p.add_task("scoring questions", total=None)
        cal = run(eng, pos, neg, max_false, progress=lambda d, t: p.update(task, completed=d, total=t))
    before, source = eng.threshold_source()
    t = Table(title="abstention threshold for this index", show_header=False)
    t.add_row("threshold", _lit(f"{cal.abstain_below} (in force now: {before}, {source})"))
    t.add_row("answerable questions", f"{cal.answerable}: {100 * cal.false_abstention:.1f}% would be refused "
                                      f"(allowed: {100 * cal.max_false:.0f}%)")
    t.add_row("unanswerable questions", f"{cal.unanswerable} ({cal.unanswerable_source}): "
                                        f"{100 * cal.abstention_on_unanswerable:.1f}% refused")
    out.print(t)
    for item in cal.false_abstained:
        out.print(_lit(f"  would refuse (answerable): {item['question']}  [{item['answerability']}]"), highlight=False)
    for item in cal.answered_unanswerable:
        out.print(_lit(f"  would answer (unanswerable): {item['question']}  [{item['answerability']}]"), highlight=False)
    for item in cal.off_topic_answered:
        out.print(_lit(f"  would answer (built-in off-topic): {item['question']}  [{item['answerability']}]"),
                  highlight=False)
    for item in cal.dragged_down:
        out.print(_lit(f"  dragged the threshold down (scores like an off-topic question): {item['question']}  "
                       f"[{item['answerability']}]"), highlight=False)
    if dry_run:
        err.print("dry run: nothing stored" + (_lit(f" (and unsafe: {'; '.join(cal.problems)})") if cal.problems else ""))
    elif cal.problems and force:
        save(eng, cal, force=True)
        err.print(_lit(f"warning: stored anyway (--force): this index now abstains below {cal.abstain_below}, "
                       f"although {'; '.join(cal.problems)}"))
    else:
        save(eng, cal)  # an unsafe threshold raises InputError: one line, exit 1, nothing stored
        err.print(f"stored: this index now abstains below {cal.abstain_below} "
                  "(INQUIRE_SYNTHESIS__ABSTAIN_BELOW, when set, still wins)")


# ---------------------------------------------------------------------------------------------- status
@app.command()
def status(index: IndexOpt = None, chroma_url: ChromaOpt = None,
           json_out: Annotated[bool, typer.Option("--json", help="Print as JSON")] = False):
    """What the index holds: notes, chunks, embedder, settings, last ingest, skipped files, what is wrong."""
    eng = _engine(index, chroma_url, check=False)
    st = eng.status()
    if json_out:
        out.print_json(data=st.model_dump(mode="json"))
        raise typer.Exit(1 if st.get("problems") else 0)
    t = Table(show_header=False, box=None)
    for k in ("index", "store", "notes", "chunks", "vectors", "embedder", "chunking", "vector_hash"):
        t.add_row(k, _lit(st[k]))
    cal = st["calibration"] or {}
    t.add_row("abstain below", _lit(f"{st['abstain_below']} ({st['abstain_below_source']}"
              + (f": {cal['answerable']} answerable and {cal['unanswerable']} unanswerable questions, "
                 f"{cal['notes']} notes then" if st["abstain_below_source"].startswith("calibrated") else "") + ")"))
    li = st["last_ingest"] or {}
    if li:
        import datetime as dt
        when = dt.datetime.fromtimestamp(li["at"]).isoformat(timespec="seconds")
        t.add_row("last ingest", _lit(f"{when}: {li['added']} added, {li['updated']} updated, {li['unchanged']} unchanged, "
                                 f"{li['removed']} removed, {li['skipped']} skipped ({li['seconds']} s)"))
    if st.get("ingest_running"):
        t.add_row("ingest", _lit("running now" + (f" (pid {st['ingest_pid']})" if st.get("ingest_pid") else "")))
    elif st["interrupted"]:
        t.add_row("warning", "the last ingest was interrupted; the next ingest reconciles the index")
    for problem in st.get("problems") or []:
        t.add_row("[bold red]problem[/]", _lit(problem))
    if st.get("repair"):
        t.add_row("repair", _lit(st["repair"]))
    out.print(t)
    for title, rows in (("skipped inputs", st["skipped"]), ("notes read with warnings", st.get("warnings") or [])):
        if rows:
            out.print(f"\n[bold]{title} ({len(rows)})[/]")
            for s in rows:
                where = f"{s['path']}:{s['line']}" if s.get("line") else s["path"]
                out.print(_lit(f"  {where}: {s['reason']}"), highlight=False)
    if st.get("problems"):
        raise typer.Exit(1)  # a damaged index is an error for scripts too; the table above says what and how


@app.command("settings")
def show_settings(index: IndexOpt = None):
    """Print the resolved settings (defaults, INQUIRE_* env vars, options) as JSON."""
    out.print_json(data=_settings(index).public_dump())


# ---------------------------------------------------------------------------------------------- ui
@app.command()
def ui(ctx: typer.Context, index: IndexOpt = None,
       port: Annotated[int, typer.Option(help="Port to listen on")] = 8501,
       host: Annotated[str, typer.Option(help="Address to listen on (loopback unless told otherwise)")] = "127.0.0.1",
       notes_root: Annotated[Optional[Path], typer.Option(
           "--notes-root", help="The page may ingest folders under this one only [default: the current directory]")] = None):
    """Start the chat page (needs Streamlit, the page extra of inquire)."""
    try:
        import streamlit  # noqa: F401
    except ImportError:
        _fail("the chat page needs Streamlit: pip install 'inquire[ui]'")
    s = _settings(index)
    page = Path(__file__).with_name("page.py")
    env = {**os.environ, "INQUIRE_INDEX": str(s.index)}
    if _debug_on(ctx):
        env["INQUIRE_DEBUG"] = "1"
    root = (notes_root or Path.cwd()).expanduser().absolute()
    env["INQUIRE_PAGE_ROOT"] = str(root)
    cmd = [sys.executable, "-m", "streamlit", "run", str(page), "--server.address", host, "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false", "--", "--index", str(s.index),
           "--root", str(root)]
    err.print(_lit(f"inquire page on http://{host}:{port}  (index {s.index}; folders under {root} may be ingested)"))
    raise typer.Exit(_run_child(cmd, env))


def _run_child(cmd: list[str], env: dict[str, str]) -> int:
    """Run ``cmd`` until it ends; SIGTERM, SIGINT and SIGHUP sent to this process are passed on to it and
    waited for (killed after CHILD_STOP_GRACE_S), so stopping `inquire ui` never leaves Streamlit on the port.
    The child runs in its own session, so a terminal's Ctrl-C reaches it once, through here."""
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    stop_at: list[float] = []

    def forward(signum, _frame) -> None:
        if proc.poll() is None:
            proc.send_signal(signum)
        if not stop_at:
            stop_at.append(time.monotonic())

    sigs = [signal.SIGTERM, signal.SIGINT] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    old = {sig: signal.signal(sig, forward) for sig in sigs}
    try:
        while True:
            try:
                return proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                if stop_at and time.monotonic() - stop_at[0] > CHILD_STOP_GRACE_S:
                    proc.kill()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


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
        out.print(format_table(rows), markup=False)
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
        out.print(format_table(rows), markup=False)
        for r in rows:
            if r["suggested_threshold"]:
                out.print(_lit(f"{r['dataset']}: abstain_below={r['abstain_below']}; calibrated here: "
                               f"{r['suggested_threshold']}"))
            for pr in r["problems"][:5]:
                out.print(_lit(f"  problem: {pr}"), highlight=False)


@eval_app.command("questions")
def eval_questions(
    index: IndexOpt = None,
    sets: Annotated[Optional[list[str]], typer.Option("--set", help="A set in eval/sets (repeatable): demo_casual, "
                                                      "demo_offtopic, demo_neartopic, demo_composition, "
                                                      "demo_composition_heldout, demo_composition_heldout2, "
                                                      "demo_composition_heldout3, demo_composition_heldout4, "
                                                      "demo_composition_heldout5")] = None,
    out_file: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write every answer (JSON) here")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="The figures as JSON on stdout")] = False,
):
    """The labelled question sets over the demo notes: refused, flagged, expected notes cited, retrieval top-k,
    and the composition figures (template rate, premises flagged, factual answers up front, slugs, pasted titles).
    The index must hold the demo notes (`inquire ingest examples/notes --index DIR`)."""
    from eval import question_sets as qs

    names = sets or ["demo_casual", "demo_offtopic", "demo_neartopic", "demo_composition"]
    eng = _engine(index)
    with _progress() as p:
        task = p.add_task("answering", total=None)
        res = qs.run(eng, names, progress=lambda d, t: p.update(task, completed=d, total=t))
    if out_file:
        out_file.write_text(json.dumps({k: [a.model_dump(mode="json") for a in v] for k, v in res["answers"].items()}))
    if json_out:
        sys.stdout.write(json.dumps({"rows": res["rows"], "composition": res["composition"],
                                     "compositions": res["compositions"]}, indent=2) + "\n")
        return
    out.print(qs.format_rows(res["rows"]), markup=False)
    for name, fig in res["compositions"].items():
        out.print(qs.format_composition(fig, name), markup=False)


@eval_app.command("llm-replay")
def eval_llm_replay(
    mode: Annotated[str, typer.Option(help="direct: the checks on each reply with its own evidence; replay: the "
                                      "replies served by a local OpenAI-compatible server through the engine; both")]
    = "both",
    index: IndexOpt = None,
    threshold: Annotated[Optional[float], typer.Option(help="Support threshold to try (default: the setting)")] = None,
    details: Annotated[bool, typer.Option("--details", help="List every sentence kept or dropped wrongly")] = False,
    set_name: Annotated[str, typer.Option("--set", help="main (the replies the checks were calibrated on), heldout, "
                                          "heldout2, heldout3, heldout4 or heldout5 (each written after the rules of its round "
                                          "were frozen)")] = "main",
    json_out: Annotated[bool, typer.Option("--json", help="The figures as JSON")] = False,
):
    """Keep-rate of faithful capable-model sentences and catch-rate of injected faults, by kind
    (eval/sets/llm_replies; replay needs an index of the demo notes and runs from the source checkout)."""
    from eval import llm_replay as lr

    if mode not in ("direct", "replay", "both"):
        raise typer.BadParameter("use direct, replay or both", param_hint="--mode")
    if set_name not in lr.SETS:
        raise typer.BadParameter(f"use one of {', '.join(lr.SETS)}", param_hint="--set")
    results = {}
    for m in (["direct", "replay"] if mode == "both" else [mode]):
        kw = {"threshold": threshold, "set_name": set_name}
        if m == "replay":
            kw["index"] = _settings(index).index
        results[m] = lr.measure(m, **kw)
    if json_out:
        sys.stdout.write(json.dumps({m: r.as_dict() for m, r in results.items()}, indent=2) + "\n")
        return
    for r in results.values():
        out.print(lr.report(r, details=details), markup=False, highlight=False)


@eval_app.command("judge-replay")
def eval_judge_replay(
    index: IndexOpt = None,
    judges: Annotated[Optional[list[str]], typer.Option("--judge", help="none, faithful, strict, lenient "
                                                        "(repeatable; default all)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="The rows as JSON")] = False,
):
    """The LLM judge (synthesis.llm_judge) on the demo sets, its verdicts served by a local OpenAI-compatible
    server: refused and flagged with no judge, a faithful one and two faulty ones, and the verdicts the check kept
    (eval/sets/judge_verdicts; the index must hold the demo notes)."""
    from eval import judge_replay as jr

    chosen = judges or list(jr.JUDGES)
    bad = [j for j in chosen if j not in jr.JUDGES]
    if bad:
        raise typer.BadParameter(f"unknown judge {bad[0]!r}; use {', '.join(jr.JUDGES)}", param_hint="--judge")
    with _progress() as p:
        task = p.add_task("answering", total=None)
        rows = jr.measure(_settings(index).index, chosen,
                          progress=lambda k, d, t: p.update(task, completed=d, total=t, description=f"judge: {k}"))
    if json_out:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    out.print(jr.format_rows(rows), markup=False)


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
        out.print(format_table(rows), markup=False)


@eval_app.command("ask")
def eval_ask(
    questions: Annotated[Path, typer.Option(help="A .txt file, one question a line")] = Path("examples/questions.txt"),
    index: IndexOpt = None,
    n: Annotated[int, typer.Option(help="Warm asks to time")] = 20,
):
    """Answer latency: `inquire ask` in a new process (cold), Engine.ask in a warm one (median of N), and the chat
    page's time to its first answer in a new process."""
    from eval.bench import ask_latency

    qs = [q for _, q, _ in read_questions(str(questions)) if q]
    res = ask_latency(_settings(index).index, qs, n=n)
    out.print(f"cold `inquire ask` (new process): median {res['cold_s_median']:.2f} s over {len(res['cold_s'])} runs "
              f"({res['cold_vs_import_st']:.2f} × `import sentence_transformers`, {res['import_st_s_median']:.2f} s); "
              f"warm Engine.ask: p50 {res['warm_ms_p50']:.0f} ms, p95 {res['warm_ms_p95']:.0f} ms over {res['n']} asks; "
              f"the chat page's first answer in a new process: median {res['page_first_answer_s_median']:.2f} s")


def main() -> None:
    app()  # errors become one line inside the app (_Group), for the console script and tests alike


if __name__ == "__main__":
    main()
