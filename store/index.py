"""An index directory: the manifest, the lexical index, the vectors (embedded Chroma or a server),
and the write lock that keeps two ingests from interleaving.

Layout of ``DIR``::

    DIR/manifest.sqlite   notes, chunk texts, settings, skipped inputs, last ingest
    DIR/lexical-N/        BM25 generation N (the manifest names the current one)
    DIR/chroma/           embedded Chroma (absent in server mode)
    DIR/lock              flock'ed by the ingest that writes
"""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import sqlite3
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from store.base import VectorStore
from store.chroma import ChromaStore, describe
from store.errors import (
    IndexBusyError,
    IndexDamagedError,
    IndexMismatchError,
    IndexMissingError,
    InquireError,
)
from store.lexical import LexicalIndex
from store.manifest import Manifest, is_corrupt

MANIFEST = "manifest.sqlite"
CHROMA_DIR = "chroma"
CHROMA_FILE = "chroma.sqlite3"  # what an embedded Chroma folder always holds once opened
LEXICAL_FILES = ("ids.json",)  # what every BM25 generation holds (bm25s's own files only when it has chunks)


@dataclass(frozen=True)
class Problem:
    """One way the index's parts disagree. ``mismatch``: the index is sound but opened with another store
    than the one it was built with (an ``IndexMismatchError``, repaired by passing that store)."""

    part: str  # "manifest", "vectors", "lexical" or "store"
    message: str
    mismatch: bool = False


class Index:
    """Opening checks that the parts agree, cheaply (no Chroma import for an embedded store: that costs
    ~0.5 s, as long as a whole unchanged re-ingest): the manifest reads, the store is the one it was built
    with, the embedded store's folder and the current BM25 generation exist. The vectors are counted
    against the manifest's chunks when the store is first used (at open for a server: it is contacted then
    anyway). ``check=True`` raises the first problems at open; an ingest opens with ``check=False`` and a
    rebuild clears them. Any use of the vectors or the BM25 index while a problem stands raises it."""

    def __init__(self, root: Path, chroma_url: str | None = None, collection: str = "inquire",
                 create: bool = False, check: bool = True, store: VectorStore | None = None) -> None:
        """``store``: a vector store to use instead of the Chroma one the settings name (any ``VectorStore``)."""
        self.root = Path(root)
        mpath = self.root / MANIFEST
        self.chroma_url = chroma_url or None
        self.collection = collection
        self._chroma = (None if chroma_url else self.root / CHROMA_DIR, chroma_url, collection)
        self._vectors: VectorStore | None = store
        self._lexical: LexicalIndex | None = None
        self._lexical_gen: int | None = None
        self._repairing = False
        self.problems: list[Problem] = []
        leftovers = self.root.is_dir() and (any(self.root.glob("lexical-*")) or (self.root / CHROMA_DIR).exists())
        if not mpath.exists():
            if leftovers and not create:
                raise IndexDamagedError(
                    f"The index at {self.root} has lost its manifest ({mpath}): vectors and a BM25 index are there, "
                    f"but not what they belong to. Rebuild it from the notes: {self._command(['PATH'])}.")
            if not create:
                raise IndexMissingError(self.root)
        fresh = not mpath.exists()
        self.root.mkdir(parents=True, exist_ok=True)
        self.manifest = self._open_manifest(mpath)
        if fresh and leftovers:  # vectors without a manifest: the next ingest reconciles them away first
            self.manifest.set("dirty", True)
        if not self.problems:
            self.problems = self._cheap_checks()
        if chroma_url and not self.problems:
            self._open_vectors()  # a server that cannot be reached is an error now, not mid-ingest
        if check and self.problems:
            err = self.error()
            self.close()
            raise err

    # -- what is wrong, and the command that repairs it
    def _open_manifest(self, mpath: Path) -> Manifest:
        try:
            m = Manifest(mpath)
            m._probe()
            return m
        except sqlite3.DatabaseError as e:
            if not is_corrupt(e):
                raise
            self.problems.append(Problem("manifest", f"its manifest {mpath} cannot be read ({e})"))
            return Manifest(Path(":memory:"))  # an empty stand-in, so status can still say what is wrong

    def _command(self, roots: list[str] | None = None) -> str:
        if roots is None:
            roots = [] if self.manifest_unreadable else [r for r in self.manifest.roots() if Path(r).exists()]
        paths = " ".join(shlex.quote(r) if r != "PATH" else r for r in roots) or "PATH"
        cmd = f"inquire ingest {paths} --rebuild --index {shlex.quote(str(self.root))}"
        return f"`{cmd}" + (f" --chroma-url {self.chroma_url}`" if self.chroma_url else "`")

    def repair_command(self) -> str:
        """The one command that rebuilds this index from its notes (whatever state it is in)."""
        return self._command()

    @property
    def manifest_unreadable(self) -> bool:
        return any(p.part == "manifest" for p in self.problems)

    def error(self) -> InquireError:
        damaged = [p for p in self.problems if not p.mismatch]
        if not damaged:
            return IndexMismatchError(" ".join(p.message for p in self.problems))
        return IndexDamagedError(f"The index at {self.root} is damaged: {'; '.join(p.message for p in damaged)}. "
                                 f"Rebuild it from the notes: {self.repair_command()}.")

    def require_sound(self) -> None:
        if self.problems and not self._repairing:
            raise self.error()

    def store_config(self) -> dict:
        """The store this index is opened with, as recorded in the manifest at ingest."""
        if self.chroma_url:
            return {"kind": "server", "url": self.chroma_url, "collection": self.collection}
        return {"kind": "embedded", "collection": self.collection}

    def built_store(self) -> dict | None:
        """The store the index was built with (indexes from before ``store_config`` named it in ``store``)."""
        m = self.manifest
        cfg = m.get("store_config")
        if cfg:
            return cfg
        desc = str(m.get("store") or "")
        for kind, prefix in (("server", "chroma server "), ("embedded", "chroma embedded ")):
            if desc.startswith(prefix):
                where, _, coll = desc[len(prefix):].rpartition(" / ")
                return {"kind": kind, "collection": coll, **({"url": where} if kind == "server" else {})}
        return None

    def _store_mismatch(self, built: dict, cur: dict) -> Problem | None:
        if built["kind"] == "server" and cur["kind"] == "embedded":
            return Problem("store", (
                f"The index at {self.root} keeps its vectors on the Chroma server at {built['url']} (collection "
                f"{built['collection']!r}), and no server was given: pass `--chroma-url {built['url']}` (or set "
                f"INQUIRE_CHROMA_URL). To move it to the embedded store instead, rebuild it: "
                f"{self.repair_command()}."), mismatch=True)
        if built["kind"] == "embedded" and cur["kind"] == "server":
            return Problem("store", (
                f"The index at {self.root} keeps its vectors in its embedded store ({self.root / CHROMA_DIR}, "
                f"collection {built['collection']!r}), but a Chroma server was given ({cur['url']}): drop "
                f"--chroma-url (and INQUIRE_CHROMA_URL). To move it to the server instead, rebuild it: "
                f"{self.repair_command()}."), mismatch=True)
        if built.get("collection", cur["collection"]) != cur["collection"]:
            return Problem("store", (
                f"The index at {self.root} keeps its vectors in collection {built['collection']!r}, not "
                f"{cur['collection']!r}: set INQUIRE_COLLECTION={built['collection']}, or rebuild it into the "
                f"new collection: {self.repair_command()}."), mismatch=True)
        return None  # another URL for the same kind of store is allowed: the vector count says if it is right

    def settled(self) -> bool:
        """No ingest is running and none was interrupted: the parts must agree exactly."""
        return not self.manifest.get("dirty", False) and self.ingest_running() is None

    def _cheap_checks(self) -> list[Problem]:
        m = self.manifest
        out: list[Problem] = []
        chunks = m.count_chunks()
        built, cur = self.built_store(), self.store_config()
        mismatch = self._store_mismatch(built, cur) if built else None
        if mismatch:
            out.append(mismatch)
        elif chunks and not self.chroma_url and not (self.root / CHROMA_DIR / CHROMA_FILE).exists():
            out.append(Problem("vectors", f"its embedded vector store {self.root / CHROMA_DIR} is missing, so "
                                          f"the manifest's {chunks} chunks have no vectors"))
        gen = m.get("lexical_gen")
        folder = self.root / f"lexical-{gen}"
        if gen is None:
            if chunks and self.settled():
                out.append(Problem("lexical", f"it has no BM25 index for the manifest's {chunks} chunks"))
        elif not all((folder / f).exists() for f in LEXICAL_FILES):
            out.append(Problem("lexical", f"its BM25 index {folder}, which the manifest names as current, is missing"))
        return out

    def _check_vector_count(self, n: int) -> Problem | None:
        chunks = self.manifest.count_chunks()
        where = self.describe_store()
        if chunks and n == 0:
            return Problem("vectors", f"its vector store ({where}) holds 0 vectors for the manifest's {chunks} chunks")
        if n != chunks and self.settled():
            return Problem("vectors", f"its vector store ({where}) holds {n} vectors for the manifest's {chunks} chunks")
        return None

    def check(self) -> list[Problem]:
        """Every problem, looking at all parts (opens the vectors and loads the BM25 index; for status).
        Never raises for damage; a server that cannot be reached still raises StoreUnavailableError."""
        if self.manifest_unreadable:
            return list(self.problems)
        self.problems = [p for p in self.problems if p.part == "manifest"] + self._cheap_checks()
        if not self.problems:
            with self.repairing():
                try:
                    self._open_vectors(recount=True)
                    self._lexical_gen = None  # load it again: the files may have changed since
                    self.lexical()
                except IndexDamagedError as e:
                    if not self.problems:  # raised by the store itself (e.g. its collection is gone)
                        self.problems.append(Problem("vectors", str(e)))
        return list(self.problems)

    def recheck(self) -> None:
        """Forget what was found and look again, cheaply (after an ingest)."""
        if self._vectors is not None:
            self._vectors.repair = self.repair_command()
        self.problems = self._cheap_checks()

    @contextmanager
    def repairing(self):
        """Use the parts while they disagree (a rebuild, or status looking at everything)."""
        before, self._repairing = self._repairing, True
        try:
            yield
        finally:
            self._repairing = before

    # -- the vectors
    def _open_vectors(self, recount: bool = False) -> VectorStore:
        """Open the store (once) and count its vectors against the manifest's chunks (on opening, or when
        ``recount``); a disagreement is added to ``problems``."""
        opened = self._vectors is None
        if opened:
            try:
                self._vectors = ChromaStore(*self._chroma, repair=self.repair_command())
            except IndexDamagedError as e:
                cause = e.__cause__ or e
                self.problems.append(Problem("vectors", f"its vector store ({self.describe_store()}) cannot be "
                                                        f"read ({cause.__class__.__name__}: {cause})"))
                raise self.error() from e
        if opened or recount:
            bad = self._check_vector_count(self._vectors.count())
            if bad and bad not in self.problems:
                self.problems.append(bad)
        return self._vectors

    @property
    def vectors(self) -> VectorStore:
        """Chroma, opened on first use (importing chromadb costs ~0.5-2 s; an unchanged re-ingest never needs it)."""
        self.require_sound()  # a missing store is not quietly created empty
        self._open_vectors()
        self.require_sound()
        return self._vectors

    @property
    def vector_count(self) -> int | None:
        """The vectors counted when the store was opened (None before)."""
        return self._vectors.count() if self._vectors is not None else None

    def describe_store(self) -> str:
        """The store's name without opening it."""
        return self._vectors.describe() if self._vectors is not None and not isinstance(
            self._vectors, ChromaStore) else describe(*self._chroma)

    def check_built_with(self, vector_hash: str) -> None:
        """Refuse settings that change vectors or chunks from the ones the index was built with."""
        m = self.manifest
        built = m.get("vector_hash")
        if built is not None and built != vector_hash:
            raise IndexMismatchError(
                f"The index at {self.root} was built with other embedding or chunking settings (embedder "
                f"{m.get('embedder')!r}, chunking {m.get('chunking')}) than the current ones. Use the same settings, "
                f"or rebuild it with these: {self.repair_command()}, or use another --index.")

    # -- lexical generations
    def lexical(self) -> LexicalIndex | None:
        self.require_sound()
        gen = self.manifest.get("lexical_gen")
        if gen is None:
            return None
        if gen != self._lexical_gen:
            folder = self.root / f"lexical-{gen}"
            try:
                lex = LexicalIndex.load(folder)
            except (OSError, ValueError, KeyError, EOFError) as e:  # missing, truncated or garbled files
                if self.ingest_running() is not None and self.manifest.get("lexical_gen") != gen:
                    return self.lexical()  # an ingest named a newer generation while this one was read
                self.problems.append(Problem("lexical", f"its BM25 index {folder} cannot be loaded "
                                                        f"({e.__class__.__name__}: {e})"))
                raise self.error() from e
            chunks = self.manifest.count_chunks()
            if len(lex.ids) != chunks and self.settled():
                self.problems.append(Problem("lexical", f"its BM25 index {folder} holds {len(lex.ids)} chunks, "
                                                        f"the manifest {chunks}"))
                self.require_sound()
            self._lexical, self._lexical_gen = lex, gen
        return self._lexical

    def rebuild_lexical(self) -> LexicalIndex:
        rows = self.manifest.all_chunks()
        lex = LexicalIndex.build([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
        gen = int(self.manifest.get("lexical_gen", 0) or 0) + 1
        lex.save(self.root / f"lexical-{gen}")
        self.manifest.set("lexical_gen", gen)
        self._lexical, self._lexical_gen = lex, gen
        for p in self.root.glob("lexical-*"):
            if p.name not in (f"lexical-{gen}", f"lexical-{gen - 1}"):  # keep one back for readers mid-load
                shutil.rmtree(p, ignore_errors=True)
        return lex

    # -- a rebuild
    def clear(self) -> None:
        """Empty every part, whatever state it is in, for a rebuild from the notes (the caller holds the write
        lock). An unreadable manifest is moved aside (``manifest.sqlite.damaged-TIME``); BM25 generations
        are deleted; the vector collection is deleted and made anew (an embedded store that cannot be read
        is deleted whole)."""
        mpath = self.root / MANIFEST
        if self.manifest_unreadable:
            self.manifest.close()
            stamp = time.strftime("%Y%m%d-%H%M%S")
            for suffix in ("", "-wal", "-shm"):
                part = mpath.with_name(MANIFEST + suffix)
                if part.exists():
                    os.replace(part, mpath.with_name(f"{MANIFEST}.damaged-{stamp}{suffix}"))
            self.manifest = Manifest(mpath)
        m = self.manifest
        with m.tx() as db:
            m.set("dirty", True, db)  # killed mid-clear: the next ingest reconciles
            m.clear(db)
        self._lexical, self._lexical_gen = None, None
        for p in self.root.glob("lexical-*"):
            shutil.rmtree(p)
        self.problems = []
        with self.repairing():
            try:
                store = self._vectors or ChromaStore(*self._chroma, repair=self.repair_command())
                store.clear()
            except IndexDamagedError:
                if self.chroma_url:
                    raise
                if self._vectors is not None:
                    self._vectors.close()
                shutil.rmtree(self.root / CHROMA_DIR, ignore_errors=True)  # unreadable: start it afresh
                store = ChromaStore(*self._chroma, repair=self.repair_command())
            self._vectors = store

    def ingest_running(self) -> int | None:
        """The pid of an ingest holding the write lock now, else None (a pid left in the lock file by an
        ingest that was killed does not count)."""
        path = self.root / "lock"
        try:
            holder = path.read_text().strip()
        except OSError:
            return None
        if not holder:
            return None  # released cleanly, or never taken: no probe needed
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return int(holder) if holder.isdigit() else -1
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    # -- the write lock
    @contextmanager
    def write_lock(self, wait: bool = False, on_wait: Callable[[str], None] | None = None, timeout: float = 3600):
        path = self.root / "lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        acquired = False
        try:
            start = time.monotonic()
            told = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    acquired = True
                    break
                except BlockingIOError:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
                    msg = (f"Another ingest (pid {holder}) is writing to {self.root}. ")
                    if not wait:
                        raise IndexBusyError(msg + "Wait for it to finish, or run again with --wait.") from None
                    if not told and on_wait:
                        on_wait(msg + "Waiting for it to finish…")
                        told = True
                    if time.monotonic() - start > timeout:
                        raise IndexBusyError(msg + f"Gave up after {timeout:.0f} s.") from None
                    time.sleep(0.5)
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            yield
        finally:
            if acquired:
                os.ftruncate(fd, 0)
            os.close(fd)  # closing releases the flock

    def close(self) -> None:
        self.manifest.close()
        if self._vectors is not None:
            self._vectors.close()  # an embedded store's files are released (chromadb shares one per path)
            self._vectors = None
