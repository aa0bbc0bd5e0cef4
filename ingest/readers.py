"""Files and lines → notes, or a skip with its reason.

A reader never raises for bad input: it returns ``Skip`` naming the path (and line) and what to do,
so one broken note never stops an ingest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
    warnings: list[str] = field(default_factory=list)  # what was dropped or guessed, each "PATH: what; what to do"

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


def _first_text(value: object) -> str:
    return str(value).strip() if isinstance(value, (str, int, float)) else ""


# ---------------------------------------------------------------- frontmatter YAML

# alias uses (*name) allowed in one frontmatter: a note uses one or two (a tag list shared with `aliases`);
# a billion-laughs bomb of 9 levels (9^9 strings, tests/ingest/test_reader_defects.py) needs 72
MAX_YAML_ALIASES = 16
# values (scalars and containers) a frontmatter may expand to, aliases counted as copies: the largest in
# examples/notes has 9, so this leaves room for long tag lists, while 16 aliases can still nest to ~10^6
# copies of a long list; the walk that counts stops at this limit within milliseconds
MAX_FRONTMATTER_VALUES = 10_000
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class FrontmatterRefused(ValueError):
    """The frontmatter is valid YAML but inquire will not expand it (its message is the Skip reason)."""


class _FrontmatterLoader(yaml.SafeLoader):
    """``SafeLoader`` with dates left as text (``_as_date`` reads them, so an impossible one cannot raise) and
    at most ``MAX_YAML_ALIASES`` aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                mark = self.peek_event().start_mark
                raise FrontmatterRefused(
                    f"frontmatter uses more than {MAX_YAML_ALIASES} YAML aliases (*name, line {mark.line + 2}), "
                    "which can expand without bound; write the values out or remove the aliases")
        return super().compose_node(parent, index)


_FrontmatterLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FrontmatterLoader.add_constructor(_TIMESTAMP_TAG, lambda loader, node: loader.construct_scalar(node))


def _expansion_problem(value: object) -> str | None:
    """Why ``value`` must not be serialised (it refers to itself, or expands past the limit), else None."""
    count = 0
    open_ids: set[int] = set()  # containers on the path from the top to the one being walked
    stack: list[tuple[object, bool]] = [(value, False)]
    while stack:
        item, leaving = stack.pop()
        if leaving:
            open_ids.discard(id(item))
            continue
        count += 1
        if count > MAX_FRONTMATTER_VALUES:
            return (f"frontmatter expands to more than {MAX_FRONTMATTER_VALUES:,} values (through YAML aliases); "
                    "shorten it or remove the aliases")
        if isinstance(item, (dict, list, tuple, set)):
            if id(item) in open_ids:
                return "frontmatter refers to itself (a recursive YAML alias); write the value out instead"
            open_ids.add(id(item))
            stack.append((item, True))
            stack.extend((child, False) for child in (item.values() if isinstance(item, dict) else item))
    return None


def load_frontmatter(text: str) -> dict:
    """The frontmatter mapping. Raises ``yaml.YAMLError`` (malformed), ``FrontmatterRefused`` (aliases,
    self-reference, too large, too deep, not a mapping) or ``ValueError`` (a bad explicit tag such as ``!!int x``)."""
    try:
        loaded = yaml.load(text, Loader=_FrontmatterLoader)  # a SafeLoader subclass: no arbitrary objects
    except RecursionError:
        raise FrontmatterRefused("frontmatter is nested too deeply; flatten it") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise FrontmatterRefused("YAML frontmatter is not a mapping of keys to values (expected `title: ...` lines)")
    problem = _expansion_problem(loaded)
    if problem:
        raise FrontmatterRefused(problem)
    return loaded


# ---------------------------------------------------------------- fields

# dates written with the day first or the month first; read with strptime after _date_words tidies them
_DAY_FORMATS = ("%Y/%m/%d", "%Y.%m.%d", "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y")
_MONTH_FORMATS = ("%B %Y", "%b %Y", "%Y/%m")
_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"  # YAML's timestamp forms: a date, then maybe a time and zone
                      r"(?:[Tt ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[Zz]|[+-]\d{1,2}(?::?\d{2})?)?)?")
_ISO_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_AMBIGUOUS_DAY = re.compile(r"\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}")


def _date_words(text: str) -> str:
    """``Mar. 5th, 2024`` → ``Mar 5 2024``; ``Sept`` → ``Sep`` (what strptime's %b knows)."""
    text = re.sub(r"(?<=\d)(st|nd|rd|th)\b", "", text, flags=re.IGNORECASE)
    text = re.sub(r"(?<=[A-Za-z])\.", "", text.replace(",", " "))
    text = re.sub(r"\bsept\b", "Sep", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def _as_date(value: object) -> tuple[str, str | None]:
    """(``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``; None) for a readable date, else ("", why not)."""
    if value is None or value == "":
        return "", None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return "", f"is a {type(value).__name__}, not a date"
    text = str(value).strip()
    try:
        if m := _ISO_DAY.fullmatch(text):
            return dt.date(*map(int, m.groups())).isoformat(), None
        if m := _ISO_MONTH.fullmatch(text):
            return dt.date(int(m[1]), int(m[2]), 1).isoformat()[:7], None
        if re.fullmatch(r"\d{4}", text):
            return text, None
        if re.fullmatch(r"\d{8}", text):
            return dt.datetime.strptime(text, "%Y%m%d").date().isoformat(), None
    except ValueError as e:
        return "", f"is not a real date ({e})"
    if _AMBIGUOUS_DAY.fullmatch(text):
        return "", "is ambiguous (the day and the month could be either way round)"
    words = _date_words(text)
    for fmt in _DAY_FORMATS:
        try:
            return dt.datetime.strptime(words, fmt).date().isoformat(), None
        except ValueError:
            continue
    for fmt in _MONTH_FORMATS:
        try:
            return dt.datetime.strptime(words, fmt).date().isoformat()[:7], None
        except ValueError:
            continue
    return "", "is not a date inquire can read"


def _text_field(meta: dict, key: str, rel: str, warnings: list[str]) -> str:
    """A text field as text; a list gives its first item (a title) or its items joined, with a warning."""
    value = meta.get(key)
    if value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return str(value).strip()
    if isinstance(value, (list, tuple)):
        items = [t for t in map(_first_text, value) if t]
        if key == "title":
            if items:
                warnings.append(f"{rel}: field `title` is a list; used its first item {items[0]!r}. "
                                f"Write one title: `title: {items[0]}`")
                return items[0]
            warnings.append(f"{rel}: field `title` is an empty list; ignored. Write one title: `title: ...`")
            return ""
        joined = ("; " if key == "source" else " ").join(items)
        warnings.append(f"{rel}: field `{key}` is a list; its items were joined. Write it as one line of text")
        return joined
    warnings.append(f"{rel}: field `{key}` is a {type(value).__name__}, not text; ignored. "
                    f"Write it as `{key}: some text`")
    return ""


# schemes a browser runs or opens locally: a `source` starting with one is a link, whatever follows
_ACTIVE_SCHEMES = {"javascript", "vbscript", "data", "file", "blob", "filesystem", "about"}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):(//)?")
_BARE_DOI = re.compile(r"10\.\d{4,9}/\S+")


def _link_problem(value: str, key: str) -> str | None:
    """Why ``value`` may not be kept as a note's ``url`` or ``source`` (it is a non-http(s), non-doi link)."""
    squeezed = re.sub(r"[\x00-\x20\x7f]+", "", value)  # browsers drop these inside a scheme (java\tscript:)
    m = _SCHEME.match(squeezed)
    scheme = m[1].lower() if m else ""
    if key == "source" and not (scheme in _ACTIVE_SCHEMES or (m and m[2])):
        return None  # free text such as "arXiv:2401.00001" or "Nature: 2024"
    if scheme in ("http", "https") and m[2] and squeezed == value.strip():
        return None
    if scheme == "doi" or (key == "url" and not m and _BARE_DOI.fullmatch(value.strip())):
        return None
    return "is not an http(s) or doi: link"


def _safe_link(meta: dict, key: str, rel: str, warnings: list[str]) -> str:
    value = _text_field(meta, key, rel, warnings)
    problem = value and _link_problem(value, key)
    if problem:
        warnings.append(f"{rel}: field `{key}` {value[:80]!r} {problem}; it was dropped. "
                        "Write a link such as https://… or doi:10.…")
        return ""
    return value


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
    warnings: list[str] = []
    title = _text_field(meta, "title", rel, warnings)
    if not title:
        m = _HEADING.search(body)
        title = m.group(1).strip() if m else default_title
    given = " ".join(_text_field(meta, "summary", rel, warnings).split())
    summary = given or _summary_from_body(body)
    date, problem = _as_date(meta.get("date"))
    if problem:
        warnings.append(f"{rel}: field `date` {meta.get('date')!r} {problem}; write it as YYYY-MM-DD "
                        "(e.g. 2024-03-05). The note was ingested without a date, so --since leaves it out")
    extra = {k: v for k, v in meta.items() if k not in known and isinstance(v, (str, int, float, bool, list))}
    return Note(
        id=note_id, title=title, summary=summary, body=body,
        tags=[t.lower() for t in _as_list(meta.get("tags"))], source=_safe_link(meta, "source", rel, warnings),
        date=date, aliases=_as_list(meta.get("aliases")),
        links=wikilinks(body + "\n" + summary), path=rel, url=_safe_link(meta, "url", rel, warnings),
        extra=json.loads(json.dumps(extra, default=str)), summary_from_body=not given and bool(summary),
        warnings=warnings,
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
            meta = load_frontmatter(m.group(1))
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 2}" if mark is not None else ""
            return Skip(rel, f"malformed YAML frontmatter{where}: {getattr(e, 'problem', None) or e}; fix it or remove the --- block")
        except FrontmatterRefused as e:
            return Skip(rel, str(e))
        except (ValueError, TypeError) as e:  # an explicit tag PyYAML cannot construct, e.g. `!!int abc`
            return Skip(rel, f"YAML frontmatter has a value that cannot be read ({e}); fix it or remove the --- block")
        body = text[m.end():]
    body = body.strip()
    if not body and not meta.get("summary") and not meta.get("title"):
        return Skip(rel, "no text after the frontmatter; add a summary or a body")
    note_id = _first_text(meta.get("id")) or rel
    stem_title = humanize(path.stem)
    if path.suffix.lower() == ".txt" and meta.get("title") in (None, ""):
        # a .txt note: its first line is its title when it is short, else the file name
        first, _, rest = body.partition("\n")
        if first.strip() and len(first) <= 160 and rest.strip():
            meta = {**meta, "title": first.strip().lstrip("#").strip()}
            body = rest.strip()
    return _meta_note(note_id, meta, body, stem_title, rel)


# pypdf's own warnings kept per PDF, as the note's warnings; the rest are counted ("and N more")
MAX_PDF_WARNINGS = 5
_PYPDF_LOG = logging.getLogger("pypdf")
_pypdf_lock = threading.Lock()
_pypdf_state = {"active": 0, "propagate": True}


class _ThreadMessages(logging.Handler):
    """Collects the messages logged by one thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(" ".join(record.getMessage().split()))


@contextmanager
def _pypdf_messages() -> Iterator[list[str]]:
    """pypdf's log messages while this thread reads one PDF, instead of unnamed lines on stderr."""
    handler = _ThreadMessages()
    with _pypdf_lock:
        if _pypdf_state["active"] == 0:
            _pypdf_state["propagate"] = _PYPDF_LOG.propagate
            _PYPDF_LOG.propagate = False
        _pypdf_state["active"] += 1
        _PYPDF_LOG.addHandler(handler)
    try:
        yield handler.messages
    finally:
        with _pypdf_lock:
            _PYPDF_LOG.removeHandler(handler)
            _pypdf_state["active"] -= 1
            if _pypdf_state["active"] == 0:
                _PYPDF_LOG.propagate = _pypdf_state["propagate"]


def _pdf_warnings(rel: str, messages: list[str]) -> list[str]:
    unique = list(dict.fromkeys(m for m in messages if m))
    out = [f"{rel}: PDF reader: {m}" for m in unique[:MAX_PDF_WARNINGS]]
    if len(unique) > MAX_PDF_WARNINGS:
        out.append(f"{rel}: PDF reader: and {len(unique) - MAX_PDF_WARNINGS} more warnings; "
                   "re-exporting the PDF usually clears them")
    return out


def read_pdf(path: Path, rel: str) -> Note | Skip:
    try:
        from pypdf import PdfReader
        from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError
    except ImportError:  # pragma: no cover - pypdf is a core dependency
        return Skip(rel, "PDF support needs pypdf: pip install pypdf")
    with _pypdf_messages() as messages:
        try:
            reader = PdfReader(str(path))
            pages = [(p.extract_text() or "").strip() for p in reader.pages]
            info = reader.metadata or {}
            title = str(getattr(info, "title", None) or "").strip()
        except DependencyError as e:  # AES needs `cryptography`, which pypdf does not install
            return Skip(rel, f"encrypted PDF ({e}); decrypt it first, e.g. `qpdf --decrypt in.pdf out.pdf` "
                             "(with --password=PASSWORD if it has one), or install cryptography so inquire can read it")
        except FileNotDecryptedError:
            return Skip(rel, "password-protected PDF; decrypt it first, e.g. "
                             "`qpdf --decrypt --password=PASSWORD in.pdf out.pdf`, or remove it")
        except (PdfReadError, OSError, ValueError, KeyError) as e:
            return Skip(rel, f"unreadable PDF ({e}); re-export it or remove it")
        except MemoryError:
            raise
        except Exception as e:  # noqa: BLE001 - pypdf raises many kinds on a malformed file: skip it, not the ingest
            return Skip(rel, f"unreadable PDF ({type(e).__name__}: {_clip(str(e))}); re-export it or remove it")
    if not any(pages):
        return Skip(rel, "PDF has no extractable text (scanned image?); run OCR first")
    return Note(id=rel, title=title or humanize(path.stem),
                summary=first_sentence_title(next(p for p in pages if p), 60), body="\n\n".join(pages),
                path=rel, pages=pages, summary_from_body=True, warnings=_pdf_warnings(rel, messages))


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
                item = _jsonl_record(raw, rel, lineno)
            except MemoryError:
                raise
            except Exception as e:  # noqa: BLE001 - one line's surprise skips that line, not the file or the ingest
                item = Skip(rel, _unexpected(e), lineno)
            if item is not None:
                yield item


def _jsonl_record(raw: bytes, rel: str, lineno: int) -> Note | Skip | None:
    try:
        obj = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        return Skip(rel, f"not a JSON object ({e}); fix or delete this line", lineno)
    if not isinstance(obj, dict):
        return Skip(rel, "line is JSON but not an object with title/text keys", lineno)
    text = obj.get("text") if obj.get("text") is not None else obj.get("body")
    text = "" if text is None else str(text)
    where = f"{rel}:{lineno}"
    meta = {k: v for k, v in obj.items() if k not in {"_id", "id", "text", "body"}}
    title_warnings: list[str] = []
    title = _text_field(meta, "title", where, title_warnings)
    if not text.strip() and not title:
        return Skip(rel, "line has neither a title nor a text/body; add one of them", lineno)
    note_id = obj.get("_id", obj.get("id"))
    note_id = str(note_id) if note_id not in (None, "") else where
    meta["title"] = title or first_sentence_title(text)
    note = _meta_note(note_id, meta, text.strip(), meta["title"], where)
    note.warnings[:0] = title_warnings
    if not obj.get("summary"):
        note.summary = " ".join(text.split())[:600] if len(text) <= 600 else _first_sentences(text, 2)
        note.summary_from_body = bool(text.strip())
    return note


def _first_sentences(text: str, n: int) -> str:
    parts = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    return " ".join(parts[:n])


# ---------------------------------------------------------------- walking a tree

# the longest exception message kept in a skip reason (a pypdf message can quote a whole object)
MAX_REASON_DETAIL = 200


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON_DETAIL else text[:MAX_REASON_DETAIL] + "…"


def _unexpected(e: BaseException) -> str:
    return (f"could not be read ({type(e).__name__}: {_clip(str(e))}); fix or remove the file, "
            "and report it to inquire if the file looks fine")


def _walked(rel_parts: tuple[str, ...]) -> bool:
    """Whether the walk below reaches a file at these path parts (no hidden part, a note suffix)."""
    return (not any(part.startswith(".") for part in rel_parts)
            and Path(rel_parts[-1]).suffix.lower() in NOTE_SUFFIXES | JSONL_SUFFIXES)


def _symlink_skip(p: Path, rel: str, real_root: Path) -> Skip | None:
    """A symlinked file is read only when its target is inside the root and the walk would not read it anyway."""
    try:
        target = p.resolve(strict=True)
    except (OSError, RuntimeError) as e:
        return Skip(rel, f"broken or looping symlink ({e.__class__.__name__}); fix or remove the link")
    if not target.is_relative_to(real_root):
        # the target is not named: the reason is shown on the page, and the link may point at anything
        return Skip(rel, "symlink to a file outside the ingested folder; copy the file into the folder "
                         "or ingest the folder it is in")
    inside = target.relative_to(real_root)
    if _walked(inside.parts):
        return Skip(rel, f"symlink to {inside.as_posix()}, which is ingested already under its own name")
    return None


def iter_paths(root: Path) -> Iterator[tuple[Path, str] | Skip]:
    """Note files below ``root`` (recursively, hidden folders skipped), relative paths as ids.

    Symlinked folders are not followed (no loops). A symlinked file is followed only when its target is
    inside ``root`` where the walk does not reach it (a hidden folder); a link out of ``root``, a link to a
    note read anyway (it would be indexed twice), and a broken link are Skips. A folder that cannot be
    listed is a Skip.
    """
    real_root = Path(root).resolve()
    unlisted: list[OSError] = []  # os.walk reports a folder it cannot list here, and goes on
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=unlisted.append):
        while unlisted:
            yield _unlisted_skip(unlisted.pop(0), root)
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
                skip = _symlink_skip(p, rel, real_root)
                if skip:
                    yield skip
                    continue
            yield p, rel
    for e in unlisted:  # the last folders' errors arrive after their last yield
        yield _unlisted_skip(e, root)


def _unlisted_skip(e: OSError, root: Path) -> Skip:
    where = Path(e.filename) if e.filename else Path(root)
    rel = where.relative_to(root).as_posix() if where.is_relative_to(root) else str(where)
    return Skip(rel, f"cannot list the folder ({e.strerror or e}); check its permissions")


def read_any(path: Path, rel: str, max_bytes: int) -> Iterator[Note | Skip]:
    """Every note a path yields (a JSONL file yields many). Whatever goes wrong reading it is a Skip
    naming the file; only ``MemoryError`` and ``KeyboardInterrupt`` propagate."""
    try:
        yield from _read_any(path, rel, max_bytes)
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - a reader's bug or a library's surprise stops this file, never the ingest
        yield Skip(rel, _unexpected(e))


def _read_any(path: Path, rel: str, max_bytes: int) -> Iterator[Note | Skip]:
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
