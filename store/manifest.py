"""What the index holds, in one SQLite file: notes and their hashes, chunk texts, settings,
skipped inputs and the last ingest. SQLite transactions make every note's update atomic, and WAL
mode lets ``ask`` read while an ingest writes.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from store.errors import IndexDamagedError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS notes (
  id TEXT PRIMARY KEY, hash TEXT NOT NULL, root TEXT NOT NULL, path TEXT NOT NULL,
  title TEXT NOT NULL, summary TEXT NOT NULL, tags TEXT NOT NULL, source TEXT NOT NULL,
  date TEXT NOT NULL, url TEXT NOT NULL, links TEXT NOT NULL, aliases TEXT NOT NULL,
  extra TEXT NOT NULL, n_chunks INTEGER NOT NULL, updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
  id TEXT PRIMARY KEY, note_id TEXT NOT NULL, ord INTEGER NOT NULL, text TEXT NOT NULL,
  passage TEXT NOT NULL, heading TEXT NOT NULL, page INTEGER
);
CREATE INDEX IF NOT EXISTS chunks_note ON chunks(note_id);
CREATE TABLE IF NOT EXISTS skipped (root TEXT NOT NULL, path TEXT NOT NULL, line INTEGER, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS warnings (root TEXT NOT NULL, path TEXT NOT NULL, line INTEGER, reason TEXT NOT NULL);
"""

SQL_BATCH = 900  # ids per IN (...) query: under SQLite's default limit of 999 bound parameters
NOTE_FIELDS = ("id", "hash", "root", "path", "title", "summary", "tags", "source", "date", "url", "links",
               "aliases", "extra", "n_chunks", "updated")
_JSON_FIELDS = {"tags", "links", "aliases", "extra"}


def is_corrupt(e: BaseException) -> bool:
    """An SQLite error that means the file is damaged (truncated, overwritten, not a database), as opposed
    to a busy or locked database."""
    name = getattr(e, "sqlite_errorname", "") or ""
    return isinstance(e, sqlite3.DatabaseError) and (name.startswith("SQLITE_CORRUPT") or name == "SQLITE_NOTADB")


def _like_literal(text: str) -> str:
    """``text`` for a LIKE pattern (with ``ESCAPE '\\'``) that matches it literally: % and _ are not wildcards."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Manifest:
    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = path
        if not create and not path.exists():
            raise FileNotFoundError(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self.db.executescript(SCHEMA)

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    def _probe(self) -> None:
        """Read a little of every table: a truncated or overwritten file fails here, at open."""
        for table in ("meta", "notes", "chunks", "skipped", "warnings"):
            self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()

    def damaged(self, e: BaseException) -> IndexDamagedError:
        return IndexDamagedError(
            f"The index's manifest {self.path} cannot be read ({e}). Rebuild the index from the notes: "
            f"`inquire ingest PATH --rebuild --index {self.path.parent}` (the damaged file is kept aside)."
        )

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")

    # -- meta
    def get(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set(self, key: str, value, db: sqlite3.Connection | None = None) -> None:
        (db or self.db).execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def delete(self, key: str) -> None:
        self.db.execute("DELETE FROM meta WHERE key=?", (key,))

    # -- notes
    def note_hashes(self, root: str | None = None) -> dict[str, str]:
        if root is None:
            rows = self.db.execute("SELECT id, hash FROM notes")
        else:
            rows = self.db.execute("SELECT id, hash FROM notes WHERE root=?", (root,))
        return {r[0]: r[1] for r in rows}

    def note_roots(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.db.execute("SELECT id, root FROM notes")}

    def note_owners(self) -> dict[str, tuple[str, str]]:
        """Each note id → (the root it was ingested from, its path there)."""
        return {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT id, root, path FROM notes")}

    def roots(self) -> list[str]:
        """The ingested roots (folders or files), in a stable order."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT root FROM notes ORDER BY root")]

    def clear(self, db: sqlite3.Connection) -> None:
        """Forget every note, chunk, skipped input and warning and the BM25 generation (a rebuild; inside the
        caller's transaction). Settings and a calibration stay."""
        for table in ("chunks", "notes", "skipped", "warnings"):
            db.execute(f"DELETE FROM {table}")
        db.execute("DELETE FROM meta WHERE key='lexical_gen'")

    def put_note(self, db: sqlite3.Connection, row: dict, chunks: list[dict] | None) -> None:
        """Write a note row; with ``chunks``, replace its chunks too (inside the caller's transaction)."""
        vals = [json.dumps(row[f]) if f in _JSON_FIELDS else row[f] for f in NOTE_FIELDS]
        db.execute(f"INSERT OR REPLACE INTO notes VALUES ({','.join('?' * len(NOTE_FIELDS))})", vals)
        if chunks is not None:
            db.execute("DELETE FROM chunks WHERE note_id=?", (row["id"],))
            db.executemany(
                "INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?,?,?)",
                [(c["id"], c["note_id"], c["ord"], c["text"], c["passage"], c["heading"], c["page"]) for c in chunks],
            )

    def delete_notes(self, db: sqlite3.Connection, ids: Iterable[str]) -> None:
        ids = list(ids)
        db.executemany("DELETE FROM chunks WHERE note_id=?", [(i,) for i in ids])
        db.executemany("DELETE FROM notes WHERE id=?", [(i,) for i in ids])

    def _note(self, r: sqlite3.Row) -> dict:
        d = dict(r)
        for f in _JSON_FIELDS:
            d[f] = json.loads(d[f])
        return d

    def _in(self, sql: str, values: Iterable) -> Iterator[sqlite3.Row]:
        """Rows of ``sql`` whose one ``{}`` placeholder is filled with ``IN (?, …)`` for ``values``, in batches
        SQLite's parameter limit allows."""
        values = list(values)
        for i in range(0, len(values), SQL_BATCH):
            part = values[i:i + SQL_BATCH]
            yield from self.db.execute(sql.format(",".join("?" * len(part))), part)

    def notes(self, ids: Iterable[str] | None = None) -> dict[str, dict]:
        rows = self.db.execute("SELECT * FROM notes") if ids is None else \
            self._in("SELECT * FROM notes WHERE id IN ({})", ids)
        return {r["id"]: self._note(r) for r in rows}

    def count_notes(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM notes").fetchone()[0])

    def count_chunks(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    # -- chunks
    def chunk_ids_by_note(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for cid, nid in self.db.execute("SELECT id, note_id FROM chunks"):
            out.setdefault(nid, set()).add(cid)
        return out

    def all_chunks(self) -> list[tuple[str, str, str]]:
        """(chunk id, note id, text) in a stable order: what the lexical index is built from."""
        return [tuple(r) for r in self.db.execute("SELECT id, note_id, text FROM chunks ORDER BY note_id, ord")]

    def chunks(self, ids: Iterable[str]) -> dict[str, dict]:
        return {r["id"]: dict(r) for r in self._in("SELECT * FROM chunks WHERE id IN ({})", ids)}

    def chunks_of(self, note_ids: Iterable[str]) -> dict[str, list[dict]]:
        ids = list(note_ids)
        out: dict[str, list[dict]] = {i: [] for i in ids}
        for r in self._in("SELECT * FROM chunks WHERE note_id IN ({}) ORDER BY note_id, ord", ids):
            out[r["note_id"]].append(dict(r))
        return out

    def forget_hashes(self, db: sqlite3.Connection, ids: Iterable[str]) -> None:
        """Mark notes as not yet embedded (their vectors are incomplete): the next ingest embeds them again."""
        db.executemany("UPDATE notes SET hash='' WHERE id=?", [(n,) for n in ids])

    def move_notes(self, db: sqlite3.Connection, moves: Iterable[tuple[str, str, str]]) -> None:
        """``(path, root, id)``: unchanged notes whose file or root moved keep their vectors, under the new place."""
        db.executemany("UPDATE notes SET path=?, root=? WHERE id=? AND (path<>? OR root<>?)",
                       [(p, r, i, p, r) for p, r, i in moves])

    # -- skipped inputs
    def set_skipped(self, db: sqlite3.Connection, root: str, skips: list[tuple[str, int | None, str]]) -> None:
        db.execute("DELETE FROM skipped WHERE root=?", (root,))
        db.executemany("INSERT INTO skipped VALUES (?,?,?,?)", [(root, p, ln, r) for p, ln, r in skips])

    def skipped(self) -> list[dict]:
        return [dict(r) for r in self.db.execute("SELECT * FROM skipped ORDER BY root, path, line")]

    def set_warnings(self, db: sqlite3.Connection, root: str, warns: list[tuple[str, int | None, str]]) -> None:
        """A root's per-note warnings from its latest ingest (notes that were read, but not as written)."""
        db.execute("DELETE FROM warnings WHERE root=?", (root,))
        db.executemany("INSERT INTO warnings VALUES (?,?,?,?)", [(root, p, ln, r) for p, ln, r in warns])

    def warnings(self) -> list[dict]:
        return [dict(r) for r in self.db.execute("SELECT * FROM warnings ORDER BY root, path, line")]

    def resolve_links(self, links: Iterable[str]) -> list[str]:
        """Note ids that ``[[links]]`` name: a note id, a file name without extension, or a title."""
        out: list[str] = []
        for ln in dict.fromkeys(links):
            key = ln.strip()
            lit = _like_literal(key)
            row = self.db.execute(
                "SELECT id FROM notes WHERE id = ? OR lower(title) = lower(?) OR path = ? "
                "OR path LIKE ? ESCAPE '\\' OR path LIKE ? ESCAPE '\\' LIMIT 1",
                (key, key, key, f"{lit}.%", f"%/{lit}.%"),
            ).fetchone()
            if row and row[0] not in out:
                out.append(row[0])
        return out

    def titles_matching(self, texts: Iterable[str]) -> set[str]:
        """Those of ``texts`` that are, case aside, some note's title."""
        return {r[0] for r in self._in("SELECT title FROM notes WHERE lower(title) IN ({})",
                                       [t.lower().strip() for t in texts])}

    def tag_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for (tags,) in self.db.execute("SELECT tags FROM notes"):
            for t in json.loads(tags):
                counts[t] = counts.get(t, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    # -- filters, applied to note ids before any retriever runs
    def filter_note_ids(self, tags: list[str] | None = None, path_glob: str | None = None,
                        since: str | None = None) -> list[str] | None:
        """Note ids passing every filter given; ``None`` when no filter is set (everything passes)."""
        if not tags and not path_glob and not since:
            return None
        want = {t.lower() for t in tags or []}
        out = []
        for r in self.db.execute("SELECT id, path, tags, date FROM notes"):
            if want and not want & {t.lower() for t in json.loads(r["tags"])}:
                continue
            if path_glob and not fnmatch.fnmatch(r["path"], path_glob):
                continue
            if since and (not r["date"] or r["date"] < since):
                continue
            out.append(r["id"])
        return out


def _corrupt_is_damage(fn):
    @functools.wraps(fn)
    def guarded(self: Manifest, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except sqlite3.DatabaseError as e:
            if is_corrupt(e):
                raise self.damaged(e) from e
            raise
    return guarded


# Every public read and write: a manifest that goes bad after open is an IndexDamagedError naming the repair,
# never a raw sqlite3.DatabaseError (``tx`` is a context manager; its statements run inside guarded calls).
for _name, _fn in list(vars(Manifest).items()):
    if callable(_fn) and not _name.startswith("_") and _name not in ("tx", "close", "damaged"):
        setattr(Manifest, _name, _corrupt_is_damage(_fn))


def now() -> float:
    return time.time()
