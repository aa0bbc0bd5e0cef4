"""Several ingested folders in one index: a note id owned by another folder is never silently replaced,
and a folder inside (or around) an ingested folder is refused rather than indexing a file twice."""

import pytest

from rag import Engine, InputError

INTRO_A = "---\ntitle: Intro to A\n---\nFolder A studies sycophancy in assistants.\n"
INTRO_B = "---\ntitle: Intro to B\n---\nFolder B studies reward hacking by policies.\n"


@pytest.fixture
def two_roots(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    a.mkdir(), b.mkdir()
    (a / "intro.md").write_text(INTRO_A)
    (b / "intro.md").write_text(INTRO_B)
    (b / "other.md").write_text("---\ntitle: Other\n---\nDebate between models.\n")
    return a, b


def test_same_relative_path_in_two_folders_is_skipped_with_how_to_fix(two_roots, tmp_path):
    a, b = two_roots
    eng = Engine.open(tmp_path / "idx", create=True)
    assert eng.ingest([a]).added == ["intro.md"]
    rep = eng.ingest([b])
    assert rep.added == ["other.md"] and not rep.updated
    (skip,) = rep.skipped
    assert skip.path == "intro.md" and str(a) in skip.reason and "id:" in skip.reason and "one parent" in skip.reason
    notes = eng.index.manifest.notes()
    assert notes["intro.md"]["title"] == "Intro to A"  # A's note was not replaced
    # reruns are stable: nothing flips back and forth
    assert eng.ingest([a]).unchanged == 1 and not eng.ingest([a]).updated
    again = eng.ingest([b])
    assert not again.updated and again.unchanged == 1 and len(again.skipped) == 1
    assert any(s["reason"] == skip.reason for s in eng.status()["skipped"])
    # the fix the message suggests works
    (b / "intro.md").write_text("---\nid: b-intro\ntitle: Intro to B\n---\nFolder B studies reward hacking.\n")
    fixed = eng.ingest([b])
    assert fixed.added == ["b-intro"] and not fixed.skipped
    assert eng.index.vectors.count() == eng.index.manifest.count_chunks()
    eng.close()


def test_a_folder_that_moved_takes_its_notes_along(two_roots, tmp_path):
    a, _ = two_roots
    eng = Engine.open(tmp_path / "idx", create=True)
    eng.ingest([a])
    moved = a.rename(tmp_path / "A2")
    rep = eng.ingest([moved])
    assert rep.unchanged == 1 and not rep.skipped
    assert eng.index.manifest.notes()["intro.md"]["root"] == str(moved.resolve())
    eng.close()


def _nested(tmp_path):
    """A notes folder with a note of its own and a subfolder holding another."""
    nest = tmp_path / "nest"
    (nest / "sub").mkdir(parents=True)
    (nest / "top.md").write_text("# Top\nA note on calibration.\n")
    (nest / "sub" / "deep.md").write_text("# Deep\nA note on debate.\n")
    return nest


def test_folder_inside_an_ingested_folder_is_refused(tmp_path):
    nest = _nested(tmp_path)
    eng = Engine.open(tmp_path / "idx", create=True)
    eng.ingest([nest])
    with pytest.raises(InputError) as e:
        eng.ingest([nest / "sub"])
    assert str(nest / "sub") in str(e.value) and str(nest) in str(e.value) and "inside" in str(e.value)
    assert eng.index.manifest.count_notes() == 2
    with pytest.raises(InputError, match="inside"):  # a file inside it too
        eng.ingest([nest / "sub" / "deep.md"])
    eng.close()


def test_folder_containing_an_ingested_folder_is_refused_unless_rebuilt(tmp_path):
    nest = _nested(tmp_path)
    eng = Engine.open(tmp_path / "idx", create=True)
    eng.ingest([nest / "sub"])
    with pytest.raises(InputError) as e:
        eng.ingest([nest])
    msg = str(e.value)
    assert "contains" in msg and str(nest / "sub") in msg and f"inquire ingest {nest} --rebuild" in msg
    rep = eng.ingest([nest], rebuild=True)
    assert sorted(rep.added) == ["sub/deep.md", "top.md"]
    assert eng.index.manifest.count_notes() == 2
    eng.close()


def test_overlapping_paths_in_one_command_are_refused(tmp_path):
    nest = tmp_path / "nest"
    (nest / "sub").mkdir(parents=True)
    (nest / "sub" / "deep.md").write_text("# Deep\nA note on debate.\n")
    eng = Engine.open(tmp_path / "idx", create=True)
    with pytest.raises(InputError, match="inside"):
        eng.ingest([nest, nest / "sub"])
    assert eng.index.manifest.count_notes() == 0
    eng.close()
