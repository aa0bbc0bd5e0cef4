from pathlib import Path

from ingest.readers import Note, Skip, iter_paths, read_any, read_jsonl, read_text_file


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


def test_markdown_frontmatter_fields(tmp_path):
    p = _write(tmp_path, "a.md", "---\ntitle: Does X hold?\nsummary: It does.\ntags: [Alpha, beta]\n"
                                 "date: 2024-05-01\naliases: [x]\nsource: Paper 2024\n---\n# Does X hold?\n\n"
                                 "Body text linking [[other-note]] and [[third|Third note]].\n")
    n = read_text_file(p, "a.md")
    assert isinstance(n, Note)
    assert (n.id, n.title, n.summary, n.tags, n.date) == ("a.md", "Does X hold?", "It does.", ["alpha", "beta"], "2024-05-01")
    assert n.links == ["other-note", "third"] and n.aliases == ["x"] and n.source == "Paper 2024"


def test_frontmatter_id_wins_and_title_falls_back(tmp_path):
    p = _write(tmp_path, "sub/my-note.md", "---\nid: custom-1\n---\nno heading here, just text.\n")
    n = read_text_file(p, "sub/my-note.md")
    assert n.id == "custom-1" and n.title == "My note"
    p2 = _write(tmp_path, "h.md", "Intro.\n\n## A heading title\n\ntext")
    assert read_text_file(p2, "h.md").title == "A heading title"


def test_txt_first_line_is_title(tmp_path):
    n = read_text_file(_write(tmp_path, "t.txt", "Short title\nThe body of the note.\n"), "t.txt")
    assert n.title == "Short title" and n.body == "The body of the note."


def test_bad_inputs_are_skips_with_reasons(tmp_path):
    cases = {
        "empty.md": b"  \n",
        "binary.md": b"\x00\x01\x02abc",
        "latin1.md": "caf\xe9".encode("latin-1"),
        "badyaml.md": b"---\ntitle: [unclosed\n---\nbody\n",
        "listyaml.md": b"---\n- a\n- b\n---\nbody\n",
    }
    reasons = {}
    for name, data in cases.items():
        r = read_text_file(_write(tmp_path, name, data), name)
        assert isinstance(r, Skip), name
        assert r.path == name
        reasons[name] = r.reason
    assert "empty" in reasons["empty.md"]
    assert "binary" in reasons["binary.md"]
    assert "UTF-8" in reasons["latin1.md"]
    assert "YAML" in reasons["badyaml.md"] and "line" in reasons["badyaml.md"]
    assert "mapping" in reasons["listyaml.md"]


def test_huge_file_skipped_with_size(tmp_path):
    p = _write(tmp_path, "big.md", "x" * 5000)
    (r,) = list(read_any(p, "big.md", max_bytes=1000))
    assert isinstance(r, Skip) and "5000" not in r.reason and "MB" in r.reason


def test_jsonl_beir_and_bad_lines(tmp_path):
    p = _write(tmp_path, "c.jsonl", '{"_id": "d1", "title": "T1", "text": "First doc."}\n'
                                    'not json\n'
                                    '{"id": "d2", "text": "No title here. Second sentence."}\n'
                                    '{"_id": "d3"}\n'
                                    '[1, 2]\n'
                                    '{"_id": "d4", "title": "Only title"}\n')
    items = list(read_jsonl(p))
    notes = [i for i in items if isinstance(i, Note)]
    skips = [i for i in items if isinstance(i, Skip)]
    assert [n.id for n in notes] == ["d1", "d2", "d4"]
    assert notes[1].title.startswith("No title here.")
    assert [(s.line, s.path) for s in skips] == [(2, "c.jsonl"), (4, "c.jsonl"), (5, "c.jsonl")]
    assert "JSON" in skips[0].reason and "title" in skips[1].reason


def test_walk_skips_hidden_and_symlink_loops(tmp_path):
    _write(tmp_path, "a.md", "# A\n\ntext")
    _write(tmp_path, ".obsidian/x.md", "# hidden\n\ntext")
    _write(tmp_path, "img.png", b"\x89PNG")
    (tmp_path / "loop1.md").symlink_to(tmp_path / "loop2.md")
    (tmp_path / "loop2.md").symlink_to(tmp_path / "loop1.md")
    (tmp_path / "dirlink").symlink_to(tmp_path)  # a folder loop: not followed
    got = list(iter_paths(tmp_path))
    files = sorted(g[1] for g in got if not isinstance(g, Skip))
    skips = sorted(g.path for g in got if isinstance(g, Skip))
    assert files == ["a.md"]
    assert skips == ["loop1.md", "loop2.md"]
