"""Defects in how files become notes (issue 10): each test reproduces one, then pins the behaviour after.

Every per-file problem ends as a named ``Skip`` with its reason, or as a note with a warning naming the
file, the field and what to write; nothing a note contains stops an ingest.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import logging
import os
import re
import time
import tracemalloc
from pathlib import Path

import pytest

from ingest.pipeline import read_root
from ingest.readers import (
    Note,
    Skip,
    iter_paths,
    read_any,
    read_jsonl,
    read_pdf,
    read_text_file,
)
from tests.ingest.test_pdf import _pdf

MAX_BYTES = 10_000_000
HAS_CRYPTOGRAPHY = importlib.util.find_spec("cryptography") is not None


def _write(root: Path, name: str, data: bytes | str) -> Path:
    p = root / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return p


def _md(tmp_path: Path, frontmatter: str, name: str = "n.md", body: str = "Body text.\n") -> Note | Skip:
    return read_text_file(_write(tmp_path, name, f"---\n{frontmatter}\n---\n{body}"), name)


# ---------------------------------------------------------------- 1. impossible dates

@pytest.mark.parametrize("value", ["2024-02-30", "2024-13-01"])
def test_impossible_date_keeps_the_note_and_warns(tmp_path, value):
    # before: PyYAML's timestamp constructor raised ValueError out of the reader (and the whole ingest)
    n = _md(tmp_path, f"title: A finding\ndate: {value}", name="sub/bad-date.md")
    assert isinstance(n, Note)
    assert n.title == "A finding" and n.body == "Body text." and n.date == ""
    (w,) = n.warnings
    assert w.startswith("sub/bad-date.md:") and "`date`" in w and value in w and "YYYY-MM-DD" in w


def test_explicit_timestamp_tag_is_read_as_text(tmp_path):
    n = _md(tmp_path, "date: !!timestamp 2024-02-30")
    assert isinstance(n, Note) and n.date == "" and "YYYY-MM-DD" in n.warnings[0]
    assert _md(tmp_path, "date: !!timestamp 2024-02-03").date == "2024-02-03"


def test_impossible_date_does_not_stop_reading_a_folder(tmp_path):
    _write(tmp_path, "good.md", "---\ntitle: Good\ndate: 2024-05-01\n---\nFine.\n")
    _write(tmp_path, "bad.md", "---\ntitle: Bad\ndate: 2024-02-30\n---\nStill a finding.\n")
    _, notes, skips = read_root(tmp_path, MAX_BYTES)
    assert sorted((n.id, n.date) for n in notes) == [("bad.md", ""), ("good.md", "2024-05-01")]
    assert skips == []
    assert [w.split(":")[0] for n in notes for w in n.warnings] == ["bad.md"]


def test_bad_date_in_jsonl_names_the_line(tmp_path):
    p = _write(tmp_path, "c.jsonl", '{"_id": "d1", "title": "T", "text": "x", "date": "2024-02-30"}\n')
    (n,) = read_jsonl(p)
    assert n.date == "" and n.warnings[0].startswith("c.jsonl:1:") and "YYYY-MM-DD" in n.warnings[0]


# ---------------------------------------------------------------- 5. dates in other formats

@pytest.mark.parametrize("value,expected", [
    ("2024-05-01", "2024-05-01"), ("'2024-05-01'", "2024-05-01"), ("2024-5-1", "2024-05-01"),
    ("2024-05-01T10:30:00Z", "2024-05-01"), ("2024-05-01 10:30", "2024-05-01"), ("2024-05", "2024-05"),
    ("2024", "2024"), ("2024/05/01", "2024-05-01"), ("20240501", "2024-05-01"),
    ("March 5, 2024", "2024-03-05"), ("5 March 2024", "2024-03-05"), ("Mar 5, 2024", "2024-03-05"),
    ("Mar. 5, 2024", "2024-03-05"), ("5 Mar 2024", "2024-03-05"), ("March 5th, 2024", "2024-03-05"),
    ("Sept 5, 2024", "2024-09-05"), ("March 2024", "2024-03"), ("", ""),
])
def test_common_unambiguous_dates_are_read(tmp_path, value, expected):
    n = _md(tmp_path, f"date: {value}")
    assert (n.date, n.warnings) == (expected, [])


@pytest.mark.parametrize("value", ["03/05/2024", "next Tuesday", "2024-02-31", "2024-13", "[2024, 2025]", "1e9"])
def test_unreadable_or_ambiguous_date_warns(tmp_path, value):
    # before: "" silently, so `--since` hid the note with no word why
    n = _md(tmp_path, f"date: {value}")
    assert n.date == ""
    (w,) = n.warnings
    assert w.startswith("n.md:") and "`date`" in w and "YYYY-MM-DD" in w


# ---------------------------------------------------------------- 5. list titles, unsafe URLs

def test_list_title_takes_its_first_item_and_warns(tmp_path):
    # before: the title showed as "['Alpha note', 'Beta note']"
    n = _md(tmp_path, "title: [Alpha note, Beta note]")
    assert n.title == "Alpha note"
    (w,) = n.warnings
    assert w.startswith("n.md:") and "`title`" in w and "Alpha note" in w


def test_mapping_title_falls_back_to_the_heading(tmp_path):
    n = _md(tmp_path, "title: {a: 1}", body="# The heading\n\nText.\n")
    assert n.title == "The heading" and "`title`" in n.warnings[0]


@pytest.mark.parametrize("field", ["url", "source"])
@pytest.mark.parametrize("value", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "' javascript:alert(1)'",
                                   "data:text/html,<script>alert(1)</script>", "vbscript:msgbox", "file:///etc/passwd"])
def test_unsafe_url_is_dropped_with_a_warning(tmp_path, field, value):
    # before: a javascript: url passed into the note's url, and from there into sources[].url on the page
    n = _md(tmp_path, f"{field}: {value}")
    assert getattr(n, field) == ""
    (w,) = n.warnings
    assert w.startswith("n.md:") and f"`{field}`" in w and "http" in w


def test_unsafe_url_in_jsonl_is_dropped(tmp_path):
    p = _write(tmp_path, "c.jsonl", '{"_id": "d1", "title": "T", "text": "x", "url": "javascript:alert(1)"}\n')
    (n,) = read_jsonl(p)
    assert n.url == "" and "`url`" in n.warnings[0]


@pytest.mark.parametrize("field,value", [
    ("url", "https://arxiv.org/abs/2401.00001"), ("url", "http://example.org/x?y=1"), ("url", "doi:10.1000/xyz"),
    ("url", "https://doi.org/10.1000/xyz"), ("source", "Paper 2024"), ("source", "arXiv:2401.00001"),
    ("source", "Anthropic: alignment faking, 2024"), ("source", "https://example.org/paper"),
])
def test_safe_urls_and_plain_sources_pass(tmp_path, field, value):
    n = _md(tmp_path, f"{field}: '{value}'")
    assert (getattr(n, field), n.warnings) == (value, [])


# ---------------------------------------------------------------- 3. YAML alias bomb

BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{c}: &{c} [{','.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")]
)


def test_alias_bomb_is_refused_cheaply(tmp_path):
    # before: 548 bytes expanded to 9^9 strings when the extra fields were serialised: 3.1 GB, MemoryError
    text = f"---\ntitle: Bomb\n{BOMB}\n---\nbody\n"
    assert len(text.encode()) < 600
    tracemalloc.start()
    t0 = time.perf_counter()
    r = read_text_file(_write(tmp_path, "bomb.md", text), "bomb.md")
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert isinstance(r, Skip) and r.path == "bomb.md"
    assert "alias" in r.reason and "frontmatter" in r.reason
    assert elapsed < 1.0 and peak < 5_000_000


def test_few_aliases_that_expand_hugely_are_refused(tmp_path):
    base = ",".join(["x"] * 2000)
    levels = [f"a: &a [{base}]"] + [f"{c}: &{c} [*{p},*{p},*{p}]" for p, c in zip("abcde", "bcdef")]
    r = _md(tmp_path, "\n".join(levels), name="wide.md")  # 15 aliases, 2000 * 3^5 = 486,000 values
    assert isinstance(r, Skip) and "expands to more than" in r.reason


def test_recursive_alias_is_refused(tmp_path):
    r = _md(tmp_path, "a: &a [1, *a]", name="loop.md")
    assert isinstance(r, Skip) and "refers to itself" in r.reason


def test_a_few_aliases_are_fine(tmp_path):
    n = _md(tmp_path, "tags: &t [alpha, beta]\naliases: *t")
    assert isinstance(n, Note) and n.tags == ["alpha", "beta"] and n.aliases == ["alpha", "beta"]


def test_deeply_nested_frontmatter_is_a_skip(tmp_path):
    r = _md(tmp_path, "x: " + "[" * 5000 + "]" * 5000, name="deep.md")
    assert isinstance(r, Skip) and "nested" in r.reason


def test_bad_explicit_tag_is_a_skip(tmp_path):
    # ``!!int abc`` makes PyYAML raise ValueError, not YAMLError
    r = _md(tmp_path, "count: !!int abc", name="tag.md")
    assert isinstance(r, Skip) and "frontmatter" in r.reason and "abc" in r.reason


# ---------------------------------------------------------------- 2. encrypted PDFs, unexpected exceptions

# Two one-page PDFs encrypted with an empty user password (anyone may open them) and owner password "owner",
# made by pypdf 7.1.1 with `cryptography` installed (pypdf cannot write AES without it):
#   w = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf(["Encrypted findings: sycophancy rises with model size."]))))
#   w.encrypt(user_password="", owner_password="owner", algorithm="AES-128")   # then "AES-256"
# AES-128 is /V 4 /R 4 /CFM /AESV2; AES-256 is /V 5 /R 6 /CFM /AESV3.
AES_PDFS = {
    "AES-128": (
    "JVBERi0xLjMKJeLjz9MKMSAwIG9iago8PAovVHlwZSAvQ2F0YWxvZwovUGFnZXMgMiAwIFIKPj4KZW5kb2JqCjIgMCBvYmoKPDwK"
    "L1R5cGUgL1BhZ2VzCi9LaWRzIFsgMyAwIFIgXQovQ291bnQgMQo+PgplbmRvYmoKMyAwIG9iago8PAovVHlwZSAvUGFnZQovUGFy"
    "ZW50IDIgMCBSCi9NZWRpYUJveCBbIDAgMCA2MTIgNzkyIF0KL0NvbnRlbnRzIDQgMCBSCi9SZXNvdXJjZXMgPDwKL0ZvbnQgPDwK"
    "L0YxIDUgMCBSCj4+Cj4+Cj4+CmVuZG9iago0IDAgb2JqCjw8Ci9MZW5ndGggMTEyCj4+CnN0cmVhbQoEb9RFmW61snSnTFMb/BYk"
    "iOID2jAYCWlFvhpVmHyvqQOzTMLa80Um12l8n2awCfil3bCNjtNZQzmx9UxISy6Jv1md+tauz/GhAyRUdb8KVY3R25NjR87zjI6u"
    "wNr7PezBFrnptQFceS7FSR/einYZCmVuZHN0cmVhbQplbmRvYmoKNSAwIG9iago8PAovVHlwZSAvRm9udAovU3VidHlwZSAvVHlw"
    "ZTEKL0Jhc2VGb250IC9IZWx2ZXRpY2EKPj4KZW5kb2JqCjYgMCBvYmoKPDwKL1YgNAovUiA0Ci9MZW5ndGggMTI4Ci9QIDQyOTQ5"
    "NjcyOTIKL0ZpbHRlciAvU3RhbmRhcmQKL08gPDU2NmZhODczZWUzM2M3OTdjZDNiOTA0ZmRhZGY4MTRhZmEzNGRmOWEzOGY2ZWQ0"
    "MWI5ODRlMmM2ZGEyYWE2ZjU+Ci9VIDw5ZTRhYWJlNTI1Y2M1M2U2YzkyOTA3NTAxNjI5NTBiYTI4YmY0ZTVlNGU3NThhNDE2NDAw"
    "NGU1NmZmZmEwMTA4PgovQ0YgPDwKL1N0ZENGIDw8Ci9BdXRoRXZlbnQgL0RvY09wZW4KL0NGTSAvQUVTVjIKL0xlbmd0aCAxNgo+"
    "Pgo+PgovU3RtRiAvU3RkQ0YKL1N0ckYgL1N0ZENGCj4+CmVuZG9iagp4cmVmCjAgNwowMDAwMDAwMDAwIDY1NTM1IGYgCjAwMDAw"
    "MDAwMTUgMDAwMDAgbiAKMDAwMDAwMDA2NCAwMDAwMCBuIAowMDAwMDAwMTIzIDAwMDAwIG4gCjAwMDAwMDAyNTEgMDAwMDAgbiAK"
    "MDAwMDAwMDQxNCAwMDAwMCBuIAowMDAwMDAwNDg0IDAwMDAwIG4gCnRyYWlsZXIKPDwKL1NpemUgNwovUm9vdCAxIDAgUgovSUQg"
    "WyA8YTRhMzIzYTMyZmY0NjAxZDkxNGQ0NTlkYzM4ODc0MTU+IDxhNGEzMjNhMzJmZjQ2MDFkOTE0ZDQ1OWRjMzg4NzQxNT4gXQov"
    "RW5jcnlwdCA2IDAgUgo+PgpzdGFydHhyZWYKNzkxCiUlRU9GCg=="
),
    "AES-256": (
    "JVBERi0xLjMKJeLjz9MKMSAwIG9iago8PAovVHlwZSAvQ2F0YWxvZwovUGFnZXMgMiAwIFIKPj4KZW5kb2JqCjIgMCBvYmoKPDwK"
    "L1R5cGUgL1BhZ2VzCi9LaWRzIFsgMyAwIFIgXQovQ291bnQgMQo+PgplbmRvYmoKMyAwIG9iago8PAovVHlwZSAvUGFnZQovUGFy"
    "ZW50IDIgMCBSCi9NZWRpYUJveCBbIDAgMCA2MTIgNzkyIF0KL0NvbnRlbnRzIDQgMCBSCi9SZXNvdXJjZXMgPDwKL0ZvbnQgPDwK"
    "L0YxIDUgMCBSCj4+Cj4+Cj4+CmVuZG9iago0IDAgb2JqCjw8Ci9MZW5ndGggMTEyCj4+CnN0cmVhbQpRFJbRe3ch44HHtJqW8NNa"
    "pAUrkqO9HR/Fxck9rIxrppvbFykscq8xryxfl8jWwTFJppezbIiy84PZkvHg5m9P4q3UyAEMdUSQ5+NCKdUs5RDxBEmmHT+8uH4A"
    "+Ds9wHAL8oTTmILG5Qu5qxg7KDT3CmVuZHN0cmVhbQplbmRvYmoKNSAwIG9iago8PAovVHlwZSAvRm9udAovU3VidHlwZSAvVHlw"
    "ZTEKL0Jhc2VGb250IC9IZWx2ZXRpY2EKPj4KZW5kb2JqCjYgMCBvYmoKPDwKL1YgNQovUiA2Ci9MZW5ndGggMjU2Ci9QIDQyOTQ5"
    "NjcyOTIKL0ZpbHRlciAvU3RhbmRhcmQKL08gPDJhNzBhNzEwN2ZlYzk3NmUzZGUxNTRmMjcxZmJlMDgxNThlM2NmNjNlNDJjZTZk"
    "YWM0M2M0ZTMyNGJjZmRhMjBjZWVjYThiZGJiZTEzOTg0YjM1NmM0NzZiOGZlZjc4YT4KL1UgPDY1YThmYWYxYjBlYzU4M2FhZTE1"
    "YjkwOGRjYjQ4YmY5NGI1NzU2ZjIwNWE1NzgxNTE1NjlkMDZjYTU1MmU2YmQ3ZjUwMjg3OTYxZWY3MTZiOWI5NGRhMDJlZDEyMjQ3"
    "NT4KL0NGIDw8Ci9TdGRDRiA8PAovQXV0aEV2ZW50IC9Eb2NPcGVuCi9DRk0gL0FFU1YzCi9MZW5ndGggMzIKPj4KPj4KL1N0bUYg"
    "L1N0ZENGCi9TdHJGIC9TdGRDRgovT0UgPDExZWUyMzI4OTg1NmZjYjM1MTYwZmRiYjExNDFkNzhiNTdlODY1ZDJhYjI0N2M0NTM1"
    "ZjYxODY5Y2I4YzkyMzE+Ci9VRSA8ZjNiOTMxMTJiYjY0MmNhNTM5ZjM4YmEwMWJlMWE2ZDU0MmY0OGUzYzQ4OWY0ZWE4MzU5Njli"
    "MTkxNTQ4M2NhNj4KL1Blcm1zIDw1MzM0ZTE3MmZkZWQ3NzYwMWU2NGIzMTYxZjY2ZTc1Mz4KPj4KZW5kb2JqCnhyZWYKMCA3CjAw"
    "MDAwMDAwMDAgNjU1MzUgZiAKMDAwMDAwMDAxNSAwMDAwMCBuIAowMDAwMDAwMDY0IDAwMDAwIG4gCjAwMDAwMDAxMjMgMDAwMDAg"
    "biAKMDAwMDAwMDI1MSAwMDAwMCBuIAowMDAwMDAwNDE0IDAwMDAwIG4gCjAwMDAwMDA0ODQgMDAwMDAgbiAKdHJhaWxlcgo8PAov"
    "U2l6ZSA3Ci9Sb290IDEgMCBSCi9JRCBbIDwxZWM2NjExOWQ2OTcwOTVmNjdhNzNkODM3YWE3YTlhZj4gPDFlYzY2MTE5ZDY5NzA5"
    "NWY2N2E3M2Q4MzdhYTdhOWFmPiBdCi9FbmNyeXB0IDYgMCBSCj4+CnN0YXJ0eHJlZgoxMDM5CiUlRU9GCg=="
),
}


@pytest.mark.parametrize("algorithm", sorted(AES_PDFS))
def test_aes_encrypted_pdf_is_a_skip_not_an_abort(tmp_path, algorithm):
    # before: pypdf raised DependencyError ("cryptography>=3.1 is required for AES algorithm") out of the ingest
    p = _write(tmp_path, "locked.pdf", base64.b64decode(AES_PDFS[algorithm]))
    (r,) = list(read_any(p, "locked.pdf", MAX_BYTES))
    if HAS_CRYPTOGRAPHY:  # pypdf can decrypt it: an empty user password opens it
        assert isinstance(r, Note) and "sycophancy rises" in r.body
    else:
        assert isinstance(r, Skip) and r.path == "locked.pdf"
        assert "encrypted" in r.reason and "qpdf --decrypt" in r.reason and "cryptography" in r.reason


def test_aes_pdf_among_good_notes_does_not_stop_the_folder(tmp_path):
    _write(tmp_path, "locked.pdf", base64.b64decode(AES_PDFS["AES-128"]))
    _write(tmp_path, "plain.pdf", _pdf(["A readable finding about calibration."]))
    _write(tmp_path, "note.md", "# A note\n\nText.\n")
    _, notes, skips = read_root(tmp_path, MAX_BYTES)
    assert sorted(n.id for n in notes) == (["locked.pdf"] if HAS_CRYPTOGRAPHY else []) + ["note.md", "plain.pdf"]
    assert [s.path for s in skips] == ([] if HAS_CRYPTOGRAPHY else ["locked.pdf"])


def test_password_pdf_names_the_password(tmp_path):
    from pypdf import PdfReader, PdfWriter

    w = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf(["Secret finding."]))))
    w.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")  # RC4 needs no extra package
    buf = io.BytesIO()
    w.write(buf)
    r = read_pdf(_write(tmp_path, "pw.pdf", buf.getvalue()), "pw.pdf")
    assert isinstance(r, Skip) and "password" in r.reason and "qpdf --decrypt" in r.reason


def test_any_unexpected_exception_reading_a_file_is_a_named_skip(tmp_path, monkeypatch):
    from ingest import readers

    def boom(path, rel):
        raise AttributeError("'NoneType' object has no attribute 'get'")

    monkeypatch.setattr(readers, "read_text_file", boom)
    p = _write(tmp_path, "odd.md", "# Odd\n\ntext")
    (r,) = list(read_any(p, "odd.md", MAX_BYTES))
    assert isinstance(r, Skip) and r.path == "odd.md"
    assert "AttributeError" in r.reason and "no attribute 'get'" in r.reason


@pytest.mark.parametrize("exc", [MemoryError, KeyboardInterrupt])
def test_memory_error_and_interrupt_still_propagate(tmp_path, monkeypatch, exc):
    from ingest import readers

    def boom(path, rel):
        raise exc()

    monkeypatch.setattr(readers, "read_text_file", boom)
    with pytest.raises(exc):
        list(read_any(_write(tmp_path, "a.md", "text"), "a.md", MAX_BYTES))


def test_unexpected_exception_on_one_jsonl_line_skips_only_that_line(tmp_path, monkeypatch):
    from ingest import readers

    real = readers._meta_note

    def flaky(note_id, meta, *args, **kwargs):
        if note_id == "d2":
            raise TypeError("unhashable type: 'dict'")
        return real(note_id, meta, *args, **kwargs)

    monkeypatch.setattr(readers, "_meta_note", flaky)
    p = _write(tmp_path, "c.jsonl", "".join(f'{{"_id": "d{i}", "text": "doc {i}"}}\n' for i in (1, 2, 3)))
    items = list(read_jsonl(p))
    assert [i.id for i in items if isinstance(i, Note)] == ["d1", "d3"]
    (s,) = [i for i in items if isinstance(i, Skip)]
    assert (s.path, s.line) == ("c.jsonl", 2) and "TypeError" in s.reason


def test_unlistable_folder_is_a_skip(tmp_path, monkeypatch):
    _write(tmp_path, "a.md", "# A\n\ntext")
    _write(tmp_path, "locked/b.md", "# B\n\ntext")
    real = os.scandir

    def scandir(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    got = list(iter_paths(tmp_path))
    assert [g[1] for g in got if not isinstance(g, Skip)] == ["a.md"]
    (s,) = [g for g in got if isinstance(g, Skip)]
    assert s.path == "locked" and "Permission denied" in s.reason and "permissions" in s.reason


# ---------------------------------------------------------------- 5. pypdf's noise names the file

def test_pypdf_warnings_become_the_notes_warnings(tmp_path, capfd):
    # a valid PDF whose startxref points to the wrong byte: pypdf recovers, and logs to stderr unnamed
    data = re.sub(rb"startxref\n\d+", b"startxref\n999", _pdf(["A finding that survives a bad xref."]))
    n = read_pdf(_write(tmp_path, "papers/shaky.pdf", data), "papers/shaky.pdf")
    assert isinstance(n, Note) and "survives a bad xref" in n.body
    assert n.warnings and all(w.startswith("papers/shaky.pdf: PDF reader:") for w in n.warnings)
    assert any("startxref" in w for w in n.warnings)
    assert capfd.readouterr().err == ""
    assert logging.getLogger("pypdf").propagate  # the logger is given back as it was


# ---------------------------------------------------------------- 4. symlinks

def test_symlink_out_of_the_notes_folder_is_a_skip(tmp_path):
    notes = tmp_path / "notes"
    _write(notes, "a.md", "# A\n\ntext")
    secret = _write(tmp_path, "outside/secret.txt", "Secret title\nroot:x:0:0\n")
    (notes / "leak.txt").symlink_to(secret)
    (notes / "os.txt").symlink_to("/etc/os-release")
    got = list(iter_paths(notes))
    assert [g[1] for g in got if not isinstance(g, Skip)] == ["a.md"]
    skips = {s.path: s.reason for s in got if isinstance(s, Skip)}
    assert sorted(skips) == ["leak.txt", "os.txt"]
    assert all("outside the ingested folder" in r for r in skips.values())
    assert not any("secret" in r or "/etc" in r for r in skips.values())  # the target is not disclosed
    _, read, _ = read_root(notes, MAX_BYTES)
    assert [n.id for n in read] == ["a.md"]


def test_symlink_inside_the_folder(tmp_path):
    _write(tmp_path, "a.md", "# A\n\ntext")
    _write(tmp_path, ".drafts/d.md", "# Draft\n\ntext")
    (tmp_path / "same-as-a.md").symlink_to(tmp_path / "a.md")  # a's text would be indexed twice
    (tmp_path / "draft.md").symlink_to(Path(".drafts") / "d.md")  # the walk never reaches the target
    got = list(iter_paths(tmp_path))
    assert sorted(g[1] for g in got if not isinstance(g, Skip)) == ["a.md", "draft.md"]
    (s,) = [g for g in got if isinstance(g, Skip)]
    assert s.path == "same-as-a.md" and "a.md" in s.reason and "already" in s.reason


def test_symlinked_root_is_followed(tmp_path):
    _write(tmp_path, "real/a.md", "# A\n\ntext")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert [g[1] for g in iter_paths(tmp_path / "link")] == ["a.md"]


# ---------------------------------------------------------------- what held, kept

def test_what_held_still_holds(tmp_path):
    crlf = read_text_file(_write(tmp_path, "crlf.md", b"---\r\ntitle: CRLF\r\ndate: 2024-05-01\r\n---\r\nBody.\r\n"),
                          "crlf.md")
    assert (crlf.title, crlf.date, crlf.body, crlf.warnings) == ("CRLF", "2024-05-01", "Body.", [])
    bom = read_text_file(_write(tmp_path, "bom.md", "\ufeff---\ntitle: BOM\n---\nBody.\n"), "bom.md")
    assert (bom.title, bom.body) == ("BOM", "Body.")
    only = read_text_file(_write(tmp_path, "only.md", "---\ntitle: Only\nsummary: Just this.\n---\n"), "only.md")
    assert (only.title, only.summary, only.body) == ("Only", "Just this.", "")
    uni = read_text_file(_write(tmp_path, "笔记/ノート.md", "# 見出し\n\n本文。"), "笔记/ノート.md")
    assert (uni.id, uni.title) == ("笔记/ノート.md", "見出し")
    truncated = read_pdf(_write(tmp_path, "cut.pdf", _pdf(["Some text here."])[:200]), "cut.pdf")
    assert isinstance(truncated, Skip) and "PDF" in truncated.reason
