"""Files and lines → notes, or a skip with its reason.

A reader never raises for bad input: it returns ``Skip`` naming the path (and line) and what to do,
so one broken note never stops an ingest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

NOTE_SUFFIXES = {".md", ".markdown", ".txt", ".pdf"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
WIKILINK = re.compile(r"\[\[([^\]|#]+)(?:#[^\]|]*)?(?:\|([^\]]+))?\]\]")
_FRONTMATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


@dataclass
class Note:
    """One finding. ``body`` is Markdown-ish text; ``pages`` is set for PDFs (one string a page)."""

    id: str
    title: str
    summary: str = ""
    body: str = ""
    tags: list[str] = field(default_factory=list)
    source: str = ""
    date: str = ""
    aliases: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    path: str = ""  # relative to the ingested root, or "file.jsonl:LINE"
    url: str = ""
    pages: list[str] | None = None
    extra: dict = field(default_factory=dict)
    summary_from_body: bool = False  # the summary was taken from the body: embedding it again adds nothing

    def content_hash(self) -> str:
        payload = json.dumps(
            [self.title, self.summary, self.body, self.tags, self.source, self.date, self.aliases,
             self.url, self.pages, self.extra],
            sort_keys=True, default=str,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


@dataclass
class Skip:
    """An input that could not become a note, and why."""

    path: str
    reason: str
    line: int | None = None

    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


# ---------------------------------------------------------------- helpers

def humanize(stem: str) -> str:
    text = re.sub(r"[-_]+", " ", stem).strip()
    return text[:1].upper() + text[1:] if text else stem


def _as_list(value: object) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def _as_date(value: object) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    text = str(value).strip()
    m = re.match(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", text)
    if not m:
        return ""
    return "-".join(p for p in m.groups() if p)


def wikilinks(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for m in WIKILINK.finditer(text):
        seen.setdefault(m.group(1).strip(), None)
    return list(seen)


def strip_wikilinks(text: str) -> str:
    """``[[slug|shown]]`` → ``shown``; ``[[some-slug]]`` → ``some slug`` (for embedding and display)."""
    return WIKILINK.sub(lambda m: (m.group(2) or m.group(1).replace("-", " ")).strip(), text)


def first_sentence_title(text: str, words: int = 14) -> str:
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    toks = first.split()
    return " ".join(toks[:words]) + ("…" if len(toks) > words else "")


def _summary_from_body(body: str) -> str:
    for para in re.split(r"\n\s*\n", body):
        para = para.strip()
        if para and not para.startswith("#") and not para.startswith(("- ", "* ", "|")):
            return " ".join(para.split())[:600]
    return ""


def _meta_note(note_id: str, meta: dict, body: str, default_title: str, rel: str) -> Note:
    known = {"id", "_id", "title", "summary", "tags", "source", "date", "aliases", "url", "text", "body"}
    title = str(meta.get("title") or "").strip()
    if not title:
        m = _HEADING.search(body)
        title = m.group(1).strip() if m else default_title
    given = " ".join(str(meta.get("summary") or "").split())
    summary = given or _summary_from_body(body)
    extra = {k: v for k, v in meta.items() if k not in known and isinstance(v, (str, int, float, bool, list))}
    return Note(
        id=note_id, title=title, summary=summary, body=body,
        tags=[t.lower() for t in _as_list(meta.get("tags"))], source=str(meta.get("source") or ""),
        date=_as_date(meta.get("date")), aliases=_as_list(meta.get("aliases")),
        links=wikilinks(body + "\n" + summary), path=rel, url=str(meta.get("url") or ""),
        extra=json.loads(json.dumps(extra, default=str)), summary_from_body=not given and bool(summary),
    )


# ---------------------------------------------------------------- file readers

def read_text_file(path: Path, rel: str) -> Note | Skip:
    """A Markdown or plain-text note (frontmatter optional)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        return Skip(rel, f"cannot read the file ({e.strerror or e}); check its permissions")
    if not raw.strip():
        return Skip(rel, "empty file; write a title and some text, or delete it")
    if b"\x00" in raw[:8192]:
        return Skip(rel, "binary file (NUL bytes), not a text note; move it out of the notes folder")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        return Skip(rel, f"not valid UTF-8 (byte {e.start}); re-save the file as UTF-8")
    meta: dict = {}
    body = text
    m = _FRONTMATTER.match(text)
    if m:
        try:
            loaded = yaml.safe_load(m.group(1)) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 2}" if mark is not None else ""
            return Skip(rel, f"malformed YAML frontmatter{where}: {getattr(e, 'problem', None) or e}; fix it or remove the --- block")
        if not isinstance(loaded, dict):
            return Skip(rel, "YAML frontmatter is not a mapping of keys to values (expected `title: ...` lines)")
        meta = loaded
        body = text[m.end():]
    body = body.strip()
    if not body and not meta.get("summary") and not meta.get("title"):
        return Skip(rel, "no text after the frontmatter; add a summary or a body")
    note_id = str(meta.get("id") or rel)
    stem_title = humanize(path.stem)
    if path.suffix.lower() == ".txt" and not meta.get("title"):
        # a .txt note: its first line is its title when it is short, else the file name
        first, _, rest = body.partition("\n")
        if first.strip() and len(first) <= 160 and rest.strip():
            meta = {**meta, "title": first.strip().lstrip("#").strip()}
            body = rest.strip()
    return _meta_note(note_id, meta, body, stem_title, rel)


def read_pdf(path: Path, rel: str) -> Note | Skip:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:  # pragma: no cover - pypdf is a core dependency
        return Skip(rel, "PDF support needs pypdf: pip install pypdf")
    try:
        reader = PdfReader(str(path))
        pages = [(p.extract_text() or "").strip() for p in reader.pages]
        info = reader.metadata or {}
    except (PdfReadError, OSError, ValueError, KeyError) as e:
        return Skip(rel, f"unreadable PDF ({e}); re-export it or remove it")
    if not any(pages):
        return Skip(rel, "PDF has no extractable text (scanned image?); run OCR first")
    title = str(getattr(info, "title", None) or "").strip()
    if not title:
        m = next((p for p in pages if p), "")
        title = humanize(path.stem) if not m else humanize(path.stem)
    note = Note(id=rel, title=title, summary=first_sentence_title(next(p for p in pages if p), 60),
                body="\n\n".join(pages), path=rel, pages=pages, summary_from_body=True)
    return note


# ---------------------------------------------------------------- JSON Lines

def read_jsonl(path: Path, rel: str | None = None) -> Iterator[Note | Skip]:
    """One note a line: ``_id``/``id``, ``title``, ``text``/``body``, optional ``summary`` and metadata.

    A BEIR ``corpus.jsonl`` ingests as it is; its ``_id`` becomes the note id.
    """
    rel = rel or path.name
    try:
        fh = path.open("rb")
    except OSError as e:
        yield Skip(rel, f"cannot read the file ({e.strerror or e}); check its permissions")
        return
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                yield Skip(rel, f"not a JSON object ({e}); fix or delete this line", lineno)
                continue
            if not isinstance(obj, dict):
                yield Skip(rel, "line is JSON but not an object with title/text keys", lineno)
                continue
            text = obj.get("text") if obj.get("text") is not None else obj.get("body")
            title = obj.get("title")
            text = "" if text is None else str(text)
            title = "" if title is None else str(title).strip()
            if not text.strip() and not title:
                yield Skip(rel, "line has neither a title nor a text/body; add one of them", lineno)
                continue
            note_id = obj.get("_id", obj.get("id"))
            note_id = str(note_id) if note_id not in (None, "") else f"{rel}:{lineno}"
            meta = {k: v for k, v in obj.items() if k not in {"_id", "id", "text", "body"}}
            meta["title"] = title or first_sentence_title(text)
            note = _meta_note(note_id, meta, text.strip(), meta["title"], f"{rel}:{lineno}")
            if not obj.get("summary"):
                note.summary = " ".join(text.split())[:600] if len(text) <= 600 else _first_sentences(text, 2)
                note.summary_from_body = bool(text.strip())
            yield note


def _first_sentences(text: str, n: int) -> str:
    parts = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    return " ".join(parts[:n])


# ---------------------------------------------------------------- walking a tree

def iter_paths(root: Path) -> Iterator[tuple[Path, str] | Skip]:
    """Note files below ``root`` (recursively, hidden folders skipped), relative paths as ids.

    Symlinked folders are not followed (no loops); a symlinked file that cannot be resolved is a Skip.
    """
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            p = Path(dirpath) / name
            suffix = p.suffix.lower()
            if suffix not in NOTE_SUFFIXES | JSONL_SUFFIXES:
                continue
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                try:
                    p.resolve(strict=True)
                except (OSError, RuntimeError) as e:
                    yield Skip(rel, f"broken or looping symlink ({e.__class__.__name__}); fix or remove the link")
                    continue
            yield p, rel


def read_any(path: Path, rel: str, max_bytes: int) -> Iterator[Note | Skip]:
    """Every note a path yields (a JSONL file yields many)."""
    try:
        size = path.stat().st_size
    except OSError as e:
        yield Skip(rel, f"cannot stat the file ({e.strerror or e})")
        return
    if size > max_bytes:
        yield Skip(rel, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit; "
                        "split it or raise INQUIRE_MAX_FILE_MB")
        return
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from read_jsonl(path, rel)
    elif suffix == ".pdf":
        yield read_pdf(path, rel)
    else:
        yield read_text_file(path, rel)
