"""The manifest's filters, tag counts, link resolution and title matching, on a real SQLite file."""

from __future__ import annotations

import pytest

from store.manifest import Manifest


def row(id_, title, path, tags=(), date="", links=()):
    """A note row as the pipeline writes it."""
    return {"id": id_, "hash": "h-" + id_, "root": "/notes", "path": path, "title": title, "summary": "",
            "tags": list(tags), "source": "", "date": date, "url": "", "links": list(links), "aliases": [],
            "extra": {}, "n_chunks": 0, "updated": 0.0}


@pytest.fixture
def manifest(tmp_path):
    m = Manifest(tmp_path / "manifest.sqlite")
    rows = [
        row("syco.md", "Do assistants flatter users?", "syco.md", ["sycophancy", "RLHF"], "2024-03-01"),
        row("deb/debate.md", "Does debate beat reflection?", "deb/debate.md", ["debate"], "2023-05-10",
            links=["syco"]),
        row("cal.md", "Is RLHF bad for calibration?", "cal.md", ["calibration", "rlhf"], ""),
        row("100%.md", "A note with a percent sign", "100%.md", [], "2022-01-01"),
    ]
    with m.tx() as db:
        for r in rows:
            m.put_note(db, r, None)
    yield m
    m.close()


def test_no_filter_means_everything(manifest):
    assert manifest.filter_note_ids() is None


def test_tags_match_case_insensitively_and_any_of_them(manifest):
    assert sorted(manifest.filter_note_ids(tags=["rlhf"])) == ["cal.md", "syco.md"]
    assert sorted(manifest.filter_note_ids(tags=["Debate", "calibration"])) == ["cal.md", "deb/debate.md"]
    assert manifest.filter_note_ids(tags=["nothing-like-this"]) == []


def test_path_glob_and_since_combine(manifest):
    assert manifest.filter_note_ids(path_glob="deb/*") == ["deb/debate.md"]
    assert sorted(manifest.filter_note_ids(since="2023-01-01")) == ["deb/debate.md", "syco.md"]
    # an undated note never passes a date filter: there is nothing to compare
    assert "cal.md" not in manifest.filter_note_ids(since="1900-01-01")
    assert manifest.filter_note_ids(tags=["rlhf"], since="2024-01-01") == ["syco.md"]


def test_tag_counts_most_used_first(manifest):
    counts = manifest.tag_counts()
    assert counts["debate"] == 1 and list(counts)[0] in {"RLHF", "calibration", "debate", "rlhf", "sycophancy"}
    assert sum(counts.values()) == 5


def test_links_resolve_by_id_file_stem_or_title(manifest):
    assert manifest.resolve_links(["syco"]) == ["syco.md"]
    assert manifest.resolve_links(["Does debate beat reflection?"]) == ["deb/debate.md"]
    assert manifest.resolve_links(["debate"]) == ["deb/debate.md"]
    assert manifest.resolve_links(["no such note"]) == []


def test_titles_matching_ignores_case(manifest):
    found = manifest.titles_matching(["do assistants flatter users?", "Something else"])
    assert found == {"Do assistants flatter users?"}


def test_link_resolution_treats_wildcards_literally(manifest):
    """`[[%]]` or `[[_]]` used to match any note (LIKE wildcards); they only name a note literally called so."""
    with manifest.tx() as db:
        manifest.put_note(db, row("half", "Half", "50%_done.md"), None)
    assert manifest.resolve_links(["%"]) == [] and manifest.resolve_links(["_"]) == []
    assert manifest.resolve_links(["syc_"]) == [] and manifest.resolve_links(["%yco"]) == []
    assert manifest.resolve_links(["100%"]) == ["100%.md"]  # a file name without its extension still resolves
    assert manifest.resolve_links(["50%_done"]) == ["half"]


def test_a_truncated_manifest_is_index_damaged_not_a_raw_sqlite_error(tmp_path):
    from store.errors import IndexDamagedError

    m = Manifest(tmp_path / "manifest.sqlite")
    with m.tx() as db:
        for i in range(300):
            m.put_note(db, row(f"n{i}", f"Note {i} " + "x" * 200, f"n{i}.md"), None)
    m.close()
    p = tmp_path / "manifest.sqlite"
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    m = Manifest.__new__(Manifest)  # opened without its schema script, as a reader mid-run would be
    m.path, m._local = p, __import__("threading").local()
    with pytest.raises(IndexDamagedError, match=r"manifest.*--rebuild"):
        m.count_notes()
