"""The embedder a setting names, built once per process: the torch one (``ingest.embedder``) or an ONNX
runtime (``ingest.onnx_embedder``). Kept apart from both so neither imports the other back."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from ingest.embedder import Embedder, TorchEmbedder
from store.errors import ConfigError

BACKENDS = ("openvino", "onnxruntime", "torch")
_cache_lock = threading.Lock()


@lru_cache(maxsize=4)
def _cached(name: str, batch_size: int, backend: str, cache_dir: str | None) -> Embedder:
    if backend == "torch":
        return TorchEmbedder(name, batch_size)
    if backend not in BACKENDS:
        raise ConfigError(f"embedder_backend {backend!r} is not one of {', '.join(BACKENDS)} (INQUIRE_EMBEDDER_BACKEND).")
    from ingest.onnx_embedder import OnnxEmbedder

    return OnnxEmbedder(name, batch_size, runtime=backend, cache_dir=cache_dir)


def get_embedder(name: str, batch_size: int = 32, backend: str = "openvino",
                 cache_dir: str | Path | None = None) -> Embedder:
    """One loaded model per process, name and backend (torch: ~0.5 s warm and seconds of imports cold;
    the ONNX runtimes: ~0.3 s, and an export once per model, see ingest.export)."""
    with _cache_lock:
        return _cached(name, batch_size, backend, str(cache_dir) if cache_dir else None)
