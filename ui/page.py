"""The inquire chat page (Streamlit). It only talks to the engine through the ``rag`` API.

    streamlit run ui/page.py -- --index DIR        # or: INQUIRE_INDEX=DIR streamlit run ui/page.py

Safety: everything that comes from a note (titles, summaries, sentences, quotes, tags, paths) is shown
through :func:`escape_md`; the page never enables raw HTML.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import streamlit as st

from rag import Engine, Filters, IndexMissingError, InquireError, InquiringLine, render

DEFAULT_INDEX = ".inquire"
UPLOAD_TYPES = ("md", "txt", "pdf", "jsonl")
_UPLOAD_SUFFIXES = {f".{t}" for t in UPLOAD_TYPES}
_NAME_DROP = re.compile(r"[^A-Za-z0-9._ -]")
# CommonMark's ASCII punctuation that can start or end markup (links, emphasis, code, headings, lists,
# tables, math, Streamlit's :color[...] directives); each is shown literally when backslash-escaped.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:=^\"'])")


# --------------------------------------------------------------------------- pure helpers (tested directly)
def escape_md(text: Any) -> str:
    """Note-derived text → Markdown that displays exactly that text: no HTML, links, emphasis or blocks.

    Whitespace runs (newlines included) collapse to one space, so no line can start a heading,
    list, quote or code block; ``&``, ``<``, ``>`` become entities; Markdown punctuation is
    backslash-escaped, so ``[x](javascript:...)`` stays text.
    """
    s = " ".join(str(text or "").split())
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", s)


def short(text: str, words: int = 5, chars: int = 40) -> str:
    """The first few words of ``text`` with an ellipsis when cut (for citation labels)."""
    ws = " ".join(str(text or "").split()).split(" ")
    out = " ".join(ws[:words])
    if len(out) > chars:
        out = out[:chars].rstrip()
    return out + ("…" if out != " ".join(ws) else "")


def index_dir_from(argv: list[str] | None = None, env: dict[str, str] | None = None) -> Path:
    """The index directory: ``--index DIR`` after streamlit's ``--``, else ``$INQUIRE_INDEX``, else ``.inquire``."""
    argv = sys.argv[1:] if argv is None else argv
    env = os.environ if env is None else env
    for i, a in enumerate(argv):
        if a == "--index" and i + 1 < len(argv):
            return Path(argv[i + 1]).expanduser().absolute()
        if a.startswith("--index="):
            return Path(a.split("=", 1)[1]).expanduser().absolute()
    return Path(env.get("INQUIRE_INDEX") or DEFAULT_INDEX).expanduser().absolute()


def safe_upload_name(name: str) -> str | None:
    """A file name that can only land directly inside the uploads folder, or None to refuse it."""
    base = Path(str(name or "").replace("\\", "/")).name
    base = _NAME_DROP.sub("", base).strip().lstrip(". ").strip()  # no hidden files (ingest skips them)
    if not base or set(base) <= {"."}:
        return None
    suffix = Path(base).suffix.lower()
    if suffix not in _UPLOAD_SUFFIXES:
        return None
    if len(base) > 150:
        base = base[: 150 - len(suffix)].rstrip() + suffix
    return base


def save_uploads(files: Iterable[Any], notes_dir: str | Path, refused: list[str] | None = None) -> list[Path]:
    """Write uploaded files (objects with ``.name`` and ``.getvalue()``) into ``notes_dir`` only.

    Names are sanitized (:func:`safe_upload_name`); a name that is empty, only dots, of another
    type, or whose resolved target is not directly inside ``notes_dir`` is refused (and appended to
    ``refused`` if given). Returns the paths written.
    """
    root = Path(notes_dir)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    saved: list[Path] = []
    for f in files or []:
        raw = getattr(f, "name", "")
        name = safe_upload_name(raw)
        target = (root / name).resolve() if name else None
        if target is None or target.parent != root or not target.is_relative_to(root):
            if refused is not None:
                refused.append(str(raw))
            continue
        data = f.getvalue() if hasattr(f, "getvalue") else f.read()
        with open(target, "wb") as out:
            out.write(data if isinstance(data, bytes) else str(data).encode("utf-8"))
        saved.append(target)
    return saved


def _when(ts: Any) -> str:
    try:
        return dt.datetime.fromtimestamp(float(ts)).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError, OSError):
        return "unknown"


# --------------------------------------------------------------------------- engine
@st.cache_resource(show_spinner="Opening the index…")
def get_engine(index_dir: str) -> Engine:
    """One engine per index directory, shared by every session (a missing index is not cached)."""
    return Engine.open(index_dir)


@st.cache_data(show_spinner=False, max_entries=8)
def _all_tags(index_dir: str, stamp: str, _eng: Engine) -> list[str]:
    return sorted((t for t in _eng.tags() if t), key=str.lower)


# --------------------------------------------------------------------------- one answer
def _cite_marks(cites: list[str], num: dict[str, int]) -> str:
    return "".join(f" \\[{num[c]}\\]" for c in cites if c in num)


def _note_popover(line: InquiringLine, note_id: str, n: int, passages: list[tuple[str, str | None]],
                  key: str) -> None:
    """A citation chip: opens the cited note in place (title, summary, the passages it was cited for)."""
    src = line.source(note_id)
    with st.popover(f"\\[{n}\\] {escape_md(short(src.title))}", key=key):
        st.markdown(f"**{escape_md(src.title)}**")
        if src.summary:
            st.markdown(escape_md(src.summary))
        for sentence, quote in passages:
            st.caption(f"Cited for: {escape_md(sentence)}")
            if quote:
                st.markdown("> " + escape_md(quote))
        where = src.url or src.path
        if where:
            st.caption(escape_md(where))


def render_line(line: InquiringLine, key_prefix: str) -> None:
    """Draw one inquiring line. Every widget key starts with ``key_prefix`` (unique per answer)."""
    num = {s.id: i + 1 for i, s in enumerate(line.sources)}
    if line.framing:
        st.markdown(f"*{escape_md(line.framing)}*")
    for pi, para in enumerate(line.paragraphs):
        text = " ".join(escape_md(s.text) + _cite_marks(s.cites, num) for s in para.sentences)
        st.markdown(text)
        # the passages behind this paragraph's citations, grouped per cited note (order of first citation)
        by_note: dict[str, list[tuple[str, str | None]]] = {}
        for s in para.sentences:
            for ci, c in enumerate(s.cites):
                if c in num:
                    by_note.setdefault(c, []).append((s.text, s.quote if ci == 0 else None))
        if by_note:
            with st.container(horizontal=True, gap="small", key=f"{key_prefix}-cites-{pi}"):
                for ci, (c, passages) in enumerate(by_note.items()):
                    _note_popover(line, c, num[c], passages, key=f"{key_prefix}-p{pi}-c{ci}")
    if line.takeaway:
        lead = "The thing worth taking away:"
        body = line.takeaway.strip()
        if body.startswith(lead):
            body = body[len(lead):].strip()
        st.markdown(f"**{lead}** {escape_md(body)}{_cite_marks(line.takeaway_cites, num)}")
    if line.abstained:
        st.info("Nothing in the notes is close enough to this question to answer it. Try other words, "
                "loosen the filters, or add notes on it.")
    if line.sources:
        st.markdown(f"**Sources** ({len(line.sources)} note{'s' if len(line.sources) != 1 else ''})")
        for i, src in enumerate(line.sources):
            with st.expander(f"\\[{i + 1}\\] {escape_md(src.title)}", key=f"{key_prefix}-src-{i}"):
                if src.summary:
                    st.markdown(escape_md(src.summary))
                if src.path:
                    st.caption(f"Path: {escape_md(src.path)}")
                if src.url:
                    st.caption(f"URL: {escape_md(src.url)}")
                if src.tags:
                    st.caption("Tags: " + ", ".join(escape_md(t) for t in src.tags))
    if line.next_lines:
        st.markdown("**Next inquiring lines**")
        for j, q in enumerate(line.next_lines):
            if st.button(escape_md(q), key=f"{key_prefix}-next-{j}"):
                st.session_state["pending"] = q
                st.rerun()
    with st.container(horizontal=True, gap="small", key=f"{key_prefix}-export"):
        st.download_button("Download Markdown", render(line, "markdown"), file_name="inquiring-line.md",
                           mime="text/markdown", key=f"{key_prefix}-md", on_click="ignore")
        st.download_button("Download JSON", render(line, "json"), file_name="inquiring-line.json",
                           mime="application/json", key=f"{key_prefix}-json", on_click="ignore")
    t = (line.meta or {}).get("timings_ms") or {}
    if "total" in t:
        parts = [f"{k} {v:.0f} ms" for k, v in t.items() if k != "total" and isinstance(v, (int, float))]
        st.caption(f"Answered in {t['total'] / 1000:.2f} s" + (f" ({', '.join(parts)})" if parts else ""))


# --------------------------------------------------------------------------- sidebar
def _ingest(eng: Engine | None, index_dir: Path, paths: list[Path]) -> None:
    """Run an ingest with a progress bar; leave the outcome in session_state and rerun the page."""
    bar = st.progress(0.0, text="Reading files…")

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "embed" and total:
            bar.progress(min(0.05 + 0.85 * done / total, 0.9), text=f"Embedding chunks {done}/{total}")
        elif phase == "lexical":
            bar.progress(0.9 + 0.1 * (done / max(total, 1)), text="Building the keyword index…")
        else:
            bar.progress(0.02, text="Reading files…")

    own = None
    try:
        if eng is None:
            own = eng = Engine.open(index_dir, create=True)
        rep = eng.ingest(paths, progress=progress)
    except InquireError as e:
        bar.empty()
        st.error(str(e))
        return
    finally:
        if own is not None:
            own.close()
    bar.progress(1.0, text="Done")
    s = rep.summary()
    msg = (f"Ingested: {s['added']} added, {s['updated']} updated, {s['unchanged']} unchanged, "
           f"{s['removed']} removed, {s['skipped']} skipped ({s['seconds']:.1f} s).")
    skips = [f"{sk.where()}: {sk.reason}" for sk in rep.skipped]
    st.session_state["ingest_msg"] = (msg, skips)
    if own is not None:
        get_engine.clear()  # the index exists now; open it afresh
    st.rerun()


def sidebar(eng: Engine | None, index_dir: Path | None = None) -> tuple[Filters, int | None]:
    """Index status, ingest, filters and settings. Returns the filters and k for the next question."""
    index_dir = Path(index_dir or (eng.index.root if eng else DEFAULT_INDEX))
    filters, k = Filters(), None
    with st.sidebar:
        st.header("inquire")
        st.caption(f"Index: {escape_md(index_dir)}")
        done = st.session_state.pop("ingest_msg", None)
        if done:
            st.success(done[0])
            st.toast(done[0])
            if done[1]:
                st.warning("Some files could not be read:\n\n" + "\n".join(f"- {escape_md(r)}" for r in done[1]))

        if eng is not None:
            s = eng.status()
            st.subheader("Index")
            st.markdown(f"Notes: **{s['notes']}** · chunks: **{s['chunks']}**")
            st.caption(f"Embedder: {escape_md(s['embedder'] or 'unknown')}")
            last = s.get("last_ingest") or {}
            if last:
                st.caption(f"Last ingest: {_when(last.get('at'))} — {last.get('added', 0)} added, "
                           f"{last.get('updated', 0)} updated, {last.get('removed', 0)} removed")
            if s.get("interrupted"):
                st.warning("The last ingest was interrupted; ingest again to repair the index.")
            skipped = s.get("skipped") or []
            if skipped:
                with st.expander(f"Skipped files ({len(skipped)})"):
                    st.markdown("\n".join(
                        f"- {escape_md(r['path'])}{':' + str(r['line']) if r.get('line') else ''}: "
                        f"{escape_md(r['reason'])}" for r in skipped))

            st.subheader("Filters")
            stamp = str((last or {}).get("at")) + str(s["notes"])
            tags = st.multiselect("Tags", _all_tags(str(index_dir), stamp, eng), key="f_tags",
                                  help="Only notes with at least one of these tags.")
            path = st.text_input("Path glob", key="f_path", placeholder="e.g. sycophancy*",
                                 help="Only notes whose path matches this glob.")
            since = st.date_input("Since", value=None, key="f_since", help="Only notes dated on or after this day.")
            filters = Filters(tags=list(tags), path=(path or "").strip() or None,
                              since=since.isoformat() if isinstance(since, dt.date) else None)

            st.subheader("Settings")
            default_k = min(12, max(3, int(eng.settings.retrieval.top_k)))
            k = st.slider("Number of notes", 3, 12, default_k, key="top_k",
                          help="How many notes retrieval hands to the synthesizer.")
            st.text_input("Synthesizer", value=str(eng.settings.synthesis.synthesizer), disabled=True,
                          key="synth_ro")
            st.caption(f"Abstains below answerability {s['abstain_below']} ({s['abstain_below_source']}; "
                       "`inquire calibrate` sets it from your own questions).")

        st.subheader("Add notes")
        folder = st.text_input("Folder path", key="ingest_path", placeholder="e.g. examples/notes")
        if st.button("Ingest folder", key="ingest_folder"):
            p = Path(folder.strip()).expanduser() if folder.strip() else None
            if p is None:
                st.warning("Type the path of a folder of notes first.")
            elif not p.exists():
                st.error(f"{escape_md(p)} does not exist; give a folder of .md/.txt/.pdf/.jsonl notes.")
            else:
                _ingest(eng, index_dir, [p])
        files = st.file_uploader("Upload notes", type=list(UPLOAD_TYPES), accept_multiple_files=True,
                                 key="uploads")
        if st.button("Ingest uploads", key="ingest_uploads", disabled=not files):
            refused: list[str] = []
            notes_dir = index_dir / "notes"
            saved = save_uploads(files or [], notes_dir, refused)
            if refused:
                st.warning("Refused these file names: " + ", ".join(escape_md(r) for r in refused))
            if saved:
                _ingest(eng, index_dir, [notes_dir])
    return filters, k


# --------------------------------------------------------------------------- the page
def _ask(eng: Engine, question: str, filters: Filters, k: int | None) -> None:
    history = st.session_state.setdefault("history", [])
    i = len(history)
    with st.chat_message("user"):
        st.markdown(escape_md(question))
    with st.chat_message("assistant"):
        entry: dict[str, Any] = {"question": question}
        try:
            f = filters if filters.any() else None
            if eng.settings.synthesis.synthesizer == "extractive":
                with st.spinner("Reading the notes…"):
                    entry["line"] = eng.ask(question, filters=f, k=k)
            else:  # an LLM writes: show its text as it arrives, then the verified line replaces it
                live = st.empty()
                shown = ""
                with st.spinner("Reading the notes…"):
                    for piece in eng.stream(question, filters=f, k=k):
                        if isinstance(piece, str):
                            shown += piece
                            live.markdown(escape_md(shown) + " ▌")
                        else:
                            entry["line"] = piece
                live.empty()
        except InquireError as e:
            entry["error"] = str(e)
        except Exception as e:  # noqa: BLE001 - a page shows a message, never a traceback
            entry["error"] = f"Something went wrong while answering ({type(e).__name__}: {e})."
        history.append(entry)
        _show_answer(entry, i)


def _show_answer(entry: dict, i: int) -> None:
    with st.container(key=f"answer-{i}"):
        if "error" in entry:
            st.error(entry["error"])
        else:
            render_line(entry["line"], f"ans{i}")


def main() -> None:
    st.set_page_config(page_title="inquire", layout="centered")
    index_dir = index_dir_from()
    eng: Engine | None = None
    problem: str | None = None
    try:
        eng = get_engine(str(index_dir))
    except IndexMissingError:
        problem = "missing"
    except InquireError as e:
        problem = str(e)
    except Exception as e:  # noqa: BLE001 - e.g. invalid INQUIRE_* settings
        problem = f"The index at {index_dir} could not be opened ({type(e).__name__}: {e})."

    filters, k = sidebar(eng, index_dir)
    st.title("Ask the notes")

    if eng is None:
        if problem == "missing":
            st.info(
                f"There is no index at {escape_md(index_dir)} yet. Build one from a folder of notes with "
                f"`inquire ingest PATH --index {index_dir}`, or add notes here with the sidebar "
                "(ingest a folder path, or upload .md/.txt/.pdf/.jsonl files)."
            )
        else:
            st.error(escape_md(problem))
        st.chat_input("Ask the notes a question", disabled=True, key="question")
        return

    history = st.session_state.setdefault("history", [])
    for i, entry in enumerate(history):
        with st.chat_message("user"):
            st.markdown(escape_md(entry["question"]))
        with st.chat_message("assistant"):
            _show_answer(entry, i)

    typed = st.chat_input("Ask the notes a question", max_chars=2000, key="question")
    pending = st.session_state.pop("pending", None)
    question = typed or pending
    if question:
        _ask(eng, question, filters, k)


if __name__ == "__main__":  # `streamlit run` and AppTest run this file as __main__; imports don't
    main()
