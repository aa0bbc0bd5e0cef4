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
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from store.chroma import ChromaStore, describe
from store.errors import IndexBusyError, IndexMissingError
from store.lexical import LexicalIndex
from store.manifest import Manifest


class Index:
    def __init__(self, root: Path, chroma_url: str | None = None, collection: str = "inquire",
                 create: bool = False) -> None:
        self.root = Path(root)
        mpath = self.root / "manifest.sqlite"
        if not create and not mpath.exists():
            raise IndexMissingError(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.manifest = Manifest(mpath)
        self._vectors: ChromaStore | None = None
        self._chroma = (None if chroma_url else self.root / "chroma", chroma_url, collection)
        if chroma_url:
            self.vectors  # noqa: B018 - a server that cannot be reached is an error now, not mid-ingest
        self._lexical: LexicalIndex | None = None
        self._lexical_gen: int | None = None

    @property
    def vectors(self) -> ChromaStore:
        """Chroma, opened on first use (importing chromadb costs ~1-2 s; an unchanged re-ingest never needs it)."""
        if self._vectors is None:
            self._vectors = ChromaStore(*self._chroma)
        return self._vectors

    def describe_store(self) -> str:
        """The store's name without opening it."""
        return describe(*self._chroma)

    # -- lexical generations
    def lexical(self) -> LexicalIndex | None:
        gen = self.manifest.get("lexical_gen")
        if gen is None:
            return None
        if gen != self._lexical_gen:
            self._lexical = LexicalIndex.load(self.root / f"lexical-{gen}")
            self._lexical_gen = gen
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
