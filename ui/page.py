"""The inquire chat page (Streamlit). It only talks to the engine through the ``rag`` API.

    streamlit run ui/page.py -- --index DIR [--root DIR]   # or: INQUIRE_INDEX=DIR INQUIRE_PAGE_ROOT=DIR ...

Safety: everything that comes from a note (titles, summaries, sentences, quotes, tags, paths) is shown
through :func:`escape_md`; the page never enables raw HTML. Uploads land directly in the index's
``notes/`` folder, under sanitised names, never over another upload; "Ingest folder" takes folders under
the page's root only (``--root``, ``$INQUIRE_PAGE_ROOT``, else the directory the page was started in).
Errors are shown with ``st.error`` in one line; ``INQUIRE_DEBUG=1`` shows the traceback as well.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import streamlit as st

from rag import Engine, Filters, IndexMissingError, InquireError, InquiringLine, render
from rag.answer import TAKEAWAY_LEAD

DEFAULT_INDEX = ".inquire"
UPLOAD_TYPES = ("md", "txt", "pdf", "jsonl")
_UPLOAD_SUFFIXES = {f".{t}" for t in UPLOAD_TYPES}
# Upload names keep letters, marks and digits of every script (Unicode categories L*, M*, N*) and these;
# everything else (separators and their look-alikes, control and format characters, shell and Windows
# specials) is dropped.
_NAME_KEEP = set("._- ()[]")
MAX_NAME_CHARS = 150  # longest upload name kept (ext4 allows 255 bytes; CJK letters are 3 bytes in UTF-8)
MAX_SAME_NAME = 1000  # "name (2).md" … "name (1000).md", then the upload is refused
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


def _arg(argv: list[str], flag: str) -> str | None:
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def root_from(argv: list[str] | None = None, env: dict[str, str] | None = None) -> Path:
    """The folder "Ingest folder" is confined to: ``--root DIR`` after streamlit's ``--``, else
    ``$INQUIRE_PAGE_ROOT``, else the directory the page was started in (resolved, links followed)."""
    argv = sys.argv[1:] if argv is None else argv
    env = os.environ if env is None else env
    raw = _arg(argv, "--root") or env.get("INQUIRE_PAGE_ROOT") or os.getcwd()
    return Path(raw).expanduser().resolve()


def confined_folder(typed: str, root: Path) -> tuple[Path | None, str | None]:
    """The folder a typed path names, if it is under ``root`` (relative paths are read from ``root``;
    ``..`` and links are resolved first), else None and the message to show."""
    raw = Path(typed.strip()).expanduser()
    p = (raw if raw.is_absolute() else root / raw).resolve()
    if not p.is_relative_to(root):
        return None, (f"{typed.strip()} is outside the folder this page may ingest from ({root}, its root); "
                      "give a folder under it, or start the page with `inquire ui --notes-root DIR`.")
    if not p.exists():
        return None, f"{typed.strip()} does not exist under {root}; give a folder of .md/.txt/.pdf/.jsonl notes."
    return p, None


def debug_on(env: dict[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return env.get("INQUIRE_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


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
    """A file name that can only land directly inside the uploads folder, or None to refuse it.

    The last path component (``/`` or ``\\``) in NFC, keeping letters, marks and digits of any script and
    ``._- ()[]``; spaces of any kind become one space (control characters go); no leading dots (hidden
    files are not ingested)."""
    base = unicodedata.normalize("NFC", str(name or "")).replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in base
                   if ch in _NAME_KEEP or unicodedata.category(ch)[0] in "LMN" or unicodedata.category(ch) == "Zs")
    base = " ".join(kept.split()).lstrip(". ").strip()
    if not base or set(base) <= {"."}:
        return None
    suffix = Path(base).suffix.lower()
    if suffix not in _UPLOAD_SUFFIXES or not Path(base).stem.strip():
        return None
    if len(base) > MAX_NAME_CHARS:
        base = base[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
    return base


def _refusal(raw: str, name: str | None) -> str:
    if not str(raw or "").strip():
        return "the file has no name"
    if name is None:
        return (f"not a {'/'.join(sorted(_UPLOAD_SUFFIXES))} file name with a letter or digit in it; "
                "rename it and upload it again")
    return "it would not land inside the notes folder (a link there points elsewhere)"


def save_uploads(files: Iterable[Any], notes_dir: str | Path,
                 refused: list[tuple[str, str]] | None = None) -> list[Path]:
    """Write uploaded files (objects with ``.name`` and ``.getvalue()``) into ``notes_dir`` only.

    Names are sanitized (:func:`safe_upload_name`). A name already taken by a different file gets a suffix
    (``note (2).md``), so no upload overwrites another; the same bytes under the same name are not written
    twice. A name that is empty, of another type, or whose target is a link or not directly inside
    ``notes_dir`` is refused: ``(name as uploaded, reason)`` is appended to ``refused`` if given.
    Returns the paths of the uploads (written or already there), in order.
    """
    root = Path(notes_dir)
    root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    saved: list[Path] = []
    for f in files or []:
        raw = str(getattr(f, "name", "") or "")
        name = safe_upload_name(raw)
        data = f.getvalue() if hasattr(f, "getvalue") else f.read()
        data = data if isinstance(data, bytes) else str(data).encode("utf-8")
        target = _place(root, name, data) if name else None
        if target is None:
            if refused is not None:
                refused.append((raw, _refusal(raw, name)))
            continue
        saved.append(target)
    return saved


def _place(root: Path, name: str, data: bytes) -> Path | None:
    """Write ``data`` under ``name`` in ``root``, or the first free ``name (n)``; the path, or None to refuse.
    Exclusive creation (``"xb"``) never follows or replaces an existing file or link."""
    stem, suffix = Path(name).stem, Path(name).suffix
    for n in range(1, MAX_SAME_NAME + 1):
        target = root / (name if n == 1 else f"{stem} ({n}){suffix}")
        if target.parent != root:
            return None
        if target.is_symlink():
            if n == 1:
                return None  # a link planted under the uploaded name: refuse rather than work around it
            continue
        try:
            with open(target, "xb") as out:
                out.write(data)
            return target
        except FileExistsError:
            if target.is_file() and target.read_bytes() == data:
                return target  # the same upload again
    return None


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
        lead = TAKEAWAY_LEAD
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
    except Exception as e:  # noqa: BLE001 - shown as one st.error (see show_error), never a traceback
        bar.empty()
        show_error(e, "while ingesting")
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


def show_error(e: BaseException, doing: str = "") -> None:
    """One st.error for an exception: an InquireError's own message; anything else named, with how to see
    the traceback (shown too when INQUIRE_DEBUG=1)."""
    if isinstance(e, InquireError):
        st.error(escape_md(str(e)))
    else:
        st.error(escape_md(f"Something went wrong{' ' + doing if doing else ''} ({type(e).__name__}: {e}). "
                           "Start the page with INQUIRE_DEBUG=1 to see the traceback."))
    if debug_on():
        st.exception(e)


def sidebar(eng: Engine | None, index_dir: Path | None = None, root: Path | None = None) -> tuple[Filters, int | None]:
    """Index status, ingest, filters and settings. Returns the filters and k for the next question."""
    index_dir = Path(index_dir or (eng.index.root if eng else DEFAULT_INDEX))
    root = root or root_from()
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
        refused = st.session_state.get("upload_refused")  # kept until the next upload: it survives the rerun
        if refused:
            st.warning("These uploads were not saved:\n\n"
                       + "\n".join(f"- {escape_md(n or '(no name)')}: {escape_md(why)}" for n, why in refused))

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
            for problem in s.get("problems") or []:
                st.error(escape_md(f"{problem}. Repair: {s.get('repair') or 'rebuild the index'}"))
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
        folder = st.text_input("Folder path", key="ingest_path", placeholder="e.g. examples/notes",
                               help=f"A folder under {root} (relative paths are read from there).")
        if st.button("Ingest folder", key="ingest_folder"):
            if not folder.strip():
                st.warning("Type the path of a folder of notes first.")
            else:
                p, problem = confined_folder(folder, root)
                if problem:
                    st.error(escape_md(problem))
                else:
                    _ingest(eng, index_dir, [p])
        files = st.file_uploader("Upload notes", type=list(UPLOAD_TYPES), accept_multiple_files=True,
                                 key="uploads")
        if st.button("Ingest uploads", key="ingest_uploads", disabled=not files):
            refused_now: list[tuple[str, str]] = []
            notes_dir = index_dir / "notes"
            saved = save_uploads(files or [], notes_dir, refused_now)
            st.session_state["upload_refused"] = refused_now
            if saved:
                _ingest(eng, index_dir, [notes_dir])  # reruns the page: the refusals show from session state
            else:
                st.rerun()
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
            entry["error"] = (f"Something went wrong while answering ({type(e).__name__}: {e}). "
                              "Start the page with INQUIRE_DEBUG=1 to see the traceback.")
            if debug_on():
                st.exception(e)
        history.append(entry)
        _show_answer(entry, i)


def _show_answer(entry: dict, i: int) -> None:
    with st.container(key=f"answer-{i}"):
        if "error" in entry:
            st.error(escape_md(entry["error"]))
        else:
            render_line(entry["line"], f"ans{i}")


def main() -> None:
    st.set_page_config(page_title="inquire", layout="centered")
    try:
        page()
    except Exception as e:  # noqa: BLE001 - the page shows one st.error, never a traceback (unless debugging)
        show_error(e)


def page() -> None:
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
        if debug_on():
            st.exception(e)

    filters, k = sidebar(eng, index_dir, root_from())
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
