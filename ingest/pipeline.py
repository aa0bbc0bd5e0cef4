"""Incremental, crash-safe ingest: paths → notes → chunks → vectors + manifest + lexical index.

Order of writes for a changed note: vectors upserted (deterministic ids, so repeating is harmless) →
its stale chunk ids deleted → the manifest row and chunk texts committed in one transaction. The
manifest's hash is therefore only ever current for a note whose vectors are all in place. A ``dirty``
flag is set while an ingest writes; a run that finds it set (the last one was killed) first reconciles
the vector store with the manifest, so no orphan or missing chunk survives.

Several roots (folders or files) share one index. A note id is owned by the root it was first ingested
from: another root's note with the same id is skipped with how to tell them apart, never swapped in. A
root inside (or around) an ingested root is refused, so no file is indexed twice under two ids.

``rebuild`` reads the given roots first (a mistyped path destroys nothing), then empties every part of
the index, whatever state it is in, and embeds everything again.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunking import Chunk, Chunker
from ingest.embedder import Embedder
from ingest.readers import JSONL_SUFFIXES, Note, Skip, iter_paths, read_any
from store.errors import InputError
from store.index import Index
from store.manifest import now

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass
class NoteWarning:
    """A note that was ingested, but not quite as written (from the reader's ``Note.warnings``)."""

    path: str
    reason: str
    line: int | None = None

    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[NoteWarning] = field(default_factory=list)
    chunks_embedded: int = 0
    tokens_embedded: int = 0
    truncated_chunks: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    recovered: bool = False  # the previous ingest was interrupted and has been reconciled

    def summary(self) -> dict:
        return {
            "added": len(self.added), "updated": len(self.updated), "unchanged": self.unchanged,
            "removed": len(self.removed), "skipped": len(self.skipped), "warnings": len(self.warnings),
            "chunks_embedded": self.chunks_embedded,
            "tokens_embedded": self.tokens_embedded, "truncated_chunks": self.truncated_chunks,
            "seconds": round(self.seconds, 3), "recovered": self.recovered,
        }


def _note_row(note: Note, root: str, h: str, n_chunks: int) -> dict:
    return {
        "id": note.id, "hash": h, "root": root, "path": note.path, "title": note.title, "summary": note.summary,
        "tags": note.tags, "source": note.source, "date": note.date, "url": note.url, "links": note.links,
        "aliases": note.aliases, "extra": note.extra, "n_chunks": n_chunks, "updated": now(),
    }


def _chunk_row(c: Chunk) -> dict:
    return {"id": c.id, "note_id": c.note_id, "ord": c.ord, "text": c.text, "passage": c.passage,
            "heading": c.heading, "page": c.page}


def root_key(path: Path) -> str:
    """How a root is known in the manifest: its resolved path."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist; give a notes folder or a .md/.txt/.pdf/.jsonl file")
    return str(path.resolve())


def _within(inner: str, outer: str) -> bool:
    return inner != outer and Path(inner).is_relative_to(outer)


_JSONL_RECORD = re.compile(r"^(.*\.(?:jsonl|ndjson)):\d+$", re.IGNORECASE)


def source_exists(root: str, path: str) -> bool:
    """Whether the file a note was read from (``path`` relative to ``root``, or ``file.jsonl:LINE``) is still there."""
    r = Path(root)
    if r.is_file():
        return True  # a file root: the file itself
    m = _JSONL_RECORD.match(path)
    return (r / (m.group(1) if m else path)).is_file()


def read_root(path: Path, max_bytes: int) -> tuple[str, list[Note], list[Skip]]:
    """A folder or one file → (root key, notes, skips). Duplicate ids keep the first and skip the rest."""
    path = Path(path)
    root_key_ = root_key(path)
    items: Iterable
    if path.is_dir():
        def gen():
            for item in iter_paths(path):
                if isinstance(item, Skip):
                    yield item
                else:
                    yield from read_any(item[0], item[1], max_bytes)
        items = gen()
    else:
        rel = path.name
        if path.suffix.lower() not in JSONL_SUFFIXES | {".md", ".markdown", ".txt", ".pdf"}:
            raise InputError(f"{path}: unsupported file type {path.suffix!r}; use .md, .txt, .pdf or .jsonl")
        items = read_any(path, rel, max_bytes)
    notes: list[Note] = []
    skips: list[Skip] = []
    seen: dict[str, str] = {}
    for item in items:
        if isinstance(item, Skip):
            skips.append(item)
        elif item.id in seen:
            skips.append(Skip(item.path, f"duplicate note id {item.id!r} (first used by {seen[item.id]}); "
                                         "give each note its own id"))
        else:
            seen[item.id] = item.path
            notes.append(item)
    return root_key_, notes, skips


class Ingestor:
    def __init__(self, index: Index, tools: Callable[[], tuple[Embedder, Chunker]], vector_hash: str,
                 embedder_name: str, settings_dump: dict, max_bytes: int, batch_chunks: int = 256) -> None:
        """``tools()`` gives the embedder and chunker; it is called only when a note must be embedded."""
        self.index = index
        self._tools = tools
        self.embedder_name = embedder_name
        self.vector_hash = vector_hash
        self.settings_dump = settings_dump
        self.max_bytes = max_bytes
        self.batch_chunks = batch_chunks

    def check_roots(self, keys: list[str], rebuild: bool) -> None:
        """No file may be read twice: refuse a root inside (or around) another given root, or (unless the
        index is rebuilt) inside or around a root the index holds. Refusing, rather than ingesting relative
        to the outer root, keeps each note's id (its citations) stable: ingesting the outer root again costs
        little, since only what changed is embedded."""
        for a in keys:
            for b in keys:
                if _within(a, b):
                    raise InputError(f"{a} is inside {b}, also given: ingest {b} alone (it includes {a}).")
        if rebuild:
            return
        held = [r for r in self.index.manifest.roots() if r not in keys and Path(r).exists()]
        idx = shlex.quote(str(self.index.root))
        for new in keys:
            for old in held:
                if _within(new, old):
                    raise InputError(
                        f"{new} is inside {old}, which this index already holds: ingest {old} instead (only "
                        "what changed is embedded), so no file is indexed twice.")
                if _within(old, new):
                    paths = " ".join(shlex.quote(r) for r in [new, *(r for r in held if not _within(r, new))])
                    raise InputError(
                        f"{new} contains {old}, which this index holds as a folder of its own: ingesting {new} "
                        f"would index the files of {old} twice, under two ids. Rebuild the index with {new} "
                        f"as one folder: `inquire ingest {paths} --rebuild --index {idx}`.")

    def reconcile(self) -> bool:
        """Make vectors and manifest agree after an interrupted run. Returns whether anything was fixed."""
        m = self.index.manifest
        in_store = self.index.vectors.ids_by_note()
        in_manifest = m.chunk_ids_by_note()
        fixed = False
        stray_notes = [n for n in in_store if n not in in_manifest]
        if stray_notes:
            self.index.vectors.delete_notes(stray_notes)
            fixed = True
        stale: list[str] = []
        incomplete: list[str] = []
        for nid, ids in in_manifest.items():
            have = in_store.get(nid, set())
            stale += list(have - ids)
            if ids - have:
                incomplete.append(nid)
        if stale:
            self.index.vectors.delete_ids(stale)
            fixed = True
        if incomplete:  # forget them: this run embeds them again
            with m.tx() as db:
                m.forget_hashes(db, incomplete)
            fixed = True
        return fixed

    def run(self, paths: list[Path], progress: Progress | None = None, rebuild: bool = False,
            prune: bool = True) -> IngestReport:
        t0 = time.perf_counter()
        rep = IngestReport()
        progress = progress or (lambda *_: None)
        keys = list(dict.fromkeys(root_key(Path(p)) for p in paths))
        if not rebuild:
            self.index.require_sound()  # a damaged index is rebuilt, not added to
            self.index.check_built_with(self.vector_hash)
        self.check_roots(keys, rebuild)
        roots = []
        for p in dict.fromkeys(Path(p).resolve() for p in paths):
            progress("read", 0, 0)
            roots.append(read_root(p, self.max_bytes))
        if rebuild:  # only now that the notes have been read: a path that does not exist destroys nothing
            self.index.clear()
        m = self.index.manifest
        if m.get("dirty", False):
            self.reconcile()
            rep.recovered = not rebuild
        m.set("dirty", True)
        changed = rebuild
        for root_key_, notes, skips in roots:
            notes, skips = self._claim(root_key_, notes, skips)
            rep.skipped += skips
            warns = [NoteWarning(n.path, w) for n in notes for w in getattr(n, "warnings", None) or []]
            rep.warnings += warns
            known = m.note_hashes()
            todo: list[tuple[Note, str]] = []
            moves: list[tuple[str, str, str]] = []
            for note in notes:
                h = note.content_hash()
                if known.get(note.id) == h:
                    rep.unchanged += 1
                    moves.append((note.path, root_key_, note.id))
                else:
                    todo.append((note, h))
            if moves:  # a note that moved within its root, or whose root moved (the old one is gone)
                with m.tx() as db:
                    m.move_notes(db, moves)
            changed |= bool(todo)
            self._embed_notes(todo, known, root_key_, rep, progress)
            # notes gone from this root (a folder, or a JSONL file) are removed; broken files keep their last version
            if prune:
                present = {n.id for n in notes}
                broken_paths = {s.path for s in skips if s.line is None}  # a whole file unreadable
                gone = [nid for nid, r in m.note_roots().items() if r == root_key_ and nid not in present]
                gone_rows = m.notes(gone)
                gone = [nid for nid in gone if gone_rows[nid]["path"].split(":")[0] not in broken_paths]
                if gone:
                    self.index.vectors.delete_notes(gone)
                    with m.tx() as db:
                        m.delete_notes(db, gone)
                    rep.removed += gone
                    changed = True
            with m.tx() as db:
                m.set_skipped(db, root_key_, [(s.path, s.line, s.reason) for s in skips])
                m.set_warnings(db, root_key_, [(w.path, w.line, w.reason) for w in warns])
        if changed or m.get("lexical_gen") is None:
            progress("lexical", 0, 1)
            self.index.rebuild_lexical()
            progress("lexical", 1, 1)
        rep.seconds = time.perf_counter() - t0
        with m.tx() as db:
            m.set("vector_hash", self.vector_hash, db)
            m.set("embedder", self.embedder_name, db)
            m.set("chunking", self.settings_dump.get("chunking"), db)
            m.set("store", self.index.describe_store(), db)
            m.set("store_config", self.index.store_config(), db)
            m.set("last_ingest", {"at": now(), "paths": [r[0] for r in roots], **rep.summary()}, db)
            m.set("dirty", False, db)
        return rep

    def _claim(self, root: str, notes: list[Note], skips: list[Skip]) -> tuple[list[Note], list[Skip]]:
        """A note whose id belongs to a note of another root (whose file is still there) is skipped with how to
        tell them apart; a note whose owner's file is gone (its folder moved) takes the id over."""
        owners = self.index.manifest.note_owners()
        keep: list[Note] = []
        skips = list(skips)
        for note in notes:
            owner = owners.get(note.id)
            if owner is None or owner[0] == root or not source_exists(*owner):
                keep.append(note)
                continue
            other = owner[1] if Path(owner[0]).is_file() else f"{Path(owner[0]) / owner[1]}"
            record = re.match(r"^(.*):(\d+)$", note.path) if _JSONL_RECORD.match(note.path) else None
            fix = "give the record an `_id` of its own" if record else \
                "give this note an `id:` of its own in its frontmatter"
            reason = (f"note id {note.id!r} already belongs to {other}, ingested from {owner[0]}; {fix}, or "
                      "ingest both folders under one parent folder")
            skips.append(Skip(record.group(1), reason, int(record.group(2))) if record else Skip(note.path, reason))
        return keep, skips

    def _embed_notes(self, todo: list[tuple[Note, str]], known: dict[str, str], root_key: str, rep: IngestReport,
                     progress: Progress) -> None:
        if not todo:
            return
        m = self.index.manifest
        self.embedder, chunker = self._tools()
        old_chunks = m.chunk_ids_by_note()
        planned = [(note, h, chunker.chunk(note)) for note, h in todo]
        # notes of similar chunk length embed together: less padding per encode batch
        planned.sort(key=lambda p: sum(len(c.text) for c in p[2]) / max(1, len(p[2])))
        total = sum(len(c) for _, _, c in planned)
        done = 0
        progress("embed", 0, total)
        batch: list[tuple[Note, str, list[Chunk]]] = []
        size = 0
        for item in planned:
            batch.append(item)
            size += len(item[2])
            if size >= self.batch_chunks:
                done += self._flush(batch, known, old_chunks, root_key, rep)
                progress("embed", done, total)
                batch, size = [], 0
        if batch:
            done += self._flush(batch, known, old_chunks, root_key, rep)
            progress("embed", done, total)

    def _flush(self, batch, known, old_chunks, root_key, rep: IngestReport) -> int:
        chunks = [c for _, _, cs in batch for c in cs]
        texts = [c.text for c in chunks]
        counts = self.embedder.token_counts(texts)
        rep.tokens_embedded += sum(counts)
        rep.truncated_chunks += sum(1 for n in counts if n > self.embedder.max_tokens)
        t = time.perf_counter()
        vecs = self.embedder.encode(texts)
        rep.embed_seconds += time.perf_counter() - t
        self.index.vectors.upsert([c.id for c in chunks], [c.note_id for c in chunks], vecs, texts)
        stale = []
        for note, _, cs in batch:
            stale += list(old_chunks.get(note.id, set()) - {c.id for c in cs})
        if stale:
            self.index.vectors.delete_ids(stale)
        m = self.index.manifest
        with m.tx() as db:
            for note, h, cs in batch:
                m.put_note(db, _note_row(note, root_key, h, len(cs)), [_chunk_row(c) for c in cs])
        for note, _, _ in batch:
            (rep.updated if note.id in known else rep.added).append(note.id)
        rep.chunks_embedded += len(chunks)
        return len(chunks)
