"""The page's edges: upload names in any script (confined, never overwriting another upload), refusals that
survive the rerun, folder ingest confined to the page's root, and errors shown as one st.error."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from rag import Engine  # noqa: E402
from tests.ui.test_page import NOTES, PAGE, load_page, write_notes  # noqa: E402

NOTE = "---\ntitle: \"{t}\"\nsummary: \"An uploaded note about {t}.\"\n---\n\nModels flatter users about {t}.\n"


def plain(markdown: str) -> str:
    """What a Markdown source escaped with escape_md displays."""
    return re.sub(r"\\(.)", r"\1", markdown)


class Upload:
    def __init__(self, name: str, data: bytes = b"# A note\n\nSome text.\n") -> None:
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def new_app(monkeypatch, index_dir: Path, root: Path | None = None) -> AppTest:
    monkeypatch.setenv("INQUIRE_INDEX", str(index_dir))
    if root is not None:
        monkeypatch.setenv("INQUIRE_PAGE_ROOT", str(root))
    return AppTest.from_file(str(PAGE), default_timeout=120)


# --------------------------------------------------------------------------- upload names
def test_upload_names_keep_the_letters_of_every_script(tmp_path):
    page = load_page()
    cases = {
        "笔记1.md": "笔记1.md",
        "ノート1.md": "ノート1.md",
        "заметка.md": "заметка.md",
        "नोट.md": "नोट.md",  # a combining vowel sign is part of the word
        "e\u0301te\u0301.txt": "été.txt",  # decomposed (as macOS sends it) → composed
        "a\u200bb\u202e.md": "ab.md",  # zero-width and bidi controls go
        "x\x00y\x1f.md": "xy.md",  # control characters go
        "../../пароль.md": "пароль.md",  # still confined
        "a\u2215b／c.md": "abc.md",  # slash look-alikes are no separators
        "[draft] 笔记.md": "[draft] 笔记.md",
    }
    for raw, want in cases.items():
        assert page.safe_upload_name(raw) == want, raw
    assert page.safe_upload_name("???.md") is None
    assert page.safe_upload_name("заметка.exe") is None


def test_uploads_never_overwrite_a_different_existing_upload(tmp_path):
    page = load_page()
    notes = tmp_path / "notes"
    first = page.save_uploads([Upload("笔记1.md", b"chinese"), Upload("ノート1.md", b"japanese")], notes)
    assert sorted(p.name for p in first) == ["ノート1.md", "笔记1.md"]  # both became "1.md" before
    # a different file under a name already taken gets a suffix; the same file again is not duplicated
    again = page.save_uploads([Upload("笔记1.md", b"another"), Upload("笔记1.md", b"chinese"),
                               Upload("笔记1.md", b"a third")], notes)
    assert [p.name for p in again] == ["笔记1 (2).md", "笔记1.md", "笔记1 (3).md"]
    assert (notes / "笔记1.md").read_bytes() == b"chinese"
    assert (notes / "笔记1 (2).md").read_bytes() == b"another"
    assert len(list(notes.iterdir())) == 4


# --------------------------------------------------------------------------- the page
@pytest.fixture
def small_index(tmp_path):
    notes = write_notes(tmp_path / "src")
    idx = tmp_path / "index"
    eng = Engine.open(idx, create=True)
    try:
        eng.ingest([notes])
    finally:
        eng.close()
    return idx


def test_refused_uploads_are_still_shown_after_the_ingest_reruns_the_page(small_index, monkeypatch):
    at = new_app(monkeypatch, small_index)
    at.run()
    at.file_uploader(key="uploads").set_value([
        ("заметка.md", NOTE.format(t="flattery in Russian").encode(), "text/markdown"),
        ("???.md", NOTE.format(t="nothing").encode(), "text/markdown"),
    ]).run()
    at.button(key="ingest_uploads").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(s.value.startswith("Ingested: 1 added") for s in at.sidebar.success), [s.value for s in at.sidebar.success]
    warned = " ".join(plain(w.value) for w in at.sidebar.warning)
    assert "???" in warned and "заметка" not in warned, warned  # the refusal survived the rerun, with its name
    assert (small_index / "notes" / "заметка.md").exists()


def test_folder_ingest_is_confined_to_the_pages_root(tmp_path, monkeypatch):
    root = tmp_path / "root"
    inside = write_notes(root / "notes")
    outside = write_notes(tmp_path / "elsewhere")
    (root / "sneaky").symlink_to(outside, target_is_directory=True)
    idx = tmp_path / "index"
    at = new_app(monkeypatch, idx, root)
    at.run()
    for typed in (str(outside), "/etc", "../elsewhere", "sneaky"):
        at.sidebar.text_input(key="ingest_path").set_value(typed)
        at.button(key="ingest_folder").click().run()
        assert not at.exception, [e.value for e in at.exception]
        errors = " ".join(plain(e.value) for e in at.error)
        assert "outside" in errors and "root" in errors, (typed, errors)
        assert not idx.exists(), f"{typed} was ingested"
    at.sidebar.text_input(key="ingest_path").set_value("notes")  # relative to the root
    at.button(key="ingest_folder").click().run()
    assert not at.error, [e.value for e in at.error]
    assert any(s.value.startswith(f"Ingested: {len(NOTES)} added") for s in at.sidebar.success)
    assert inside.exists()


def test_an_unexpected_error_is_one_st_error_and_a_traceback_only_when_debugging(small_index, monkeypatch):
    def broken(self):
        raise RuntimeError("the manifest went away")

    monkeypatch.setattr(Engine, "status", broken)
    at = new_app(monkeypatch, small_index)
    at.run()
    assert not at.exception, [e.value for e in at.exception]  # no traceback
    errors = [plain(e.value) for e in at.error]
    assert len(errors) == 1 and "RuntimeError" in errors[0] and "the manifest went away" in errors[0]
    assert "INQUIRE_DEBUG=1" in errors[0]
    monkeypatch.setenv("INQUIRE_DEBUG", "1")
    at = new_app(monkeypatch, small_index)
    at.run()
    assert at.exception and "the manifest went away" in at.exception[0].value
