"""The embedder on an ONNX runtime (OpenVINO or onnxruntime): no torch, transformers or sentence-transformers.

The model is the packaged sentence-transformers folder, exported once to ONNX (``ingest.export``); text is
tokenized with ``tokenizers`` from the folder's own ``tokenizer.json`` and pooled and normalised as the
folder's sentence-transformers config says, so the vectors are torch's (min cosine ≥ 0.9999, checked at
export and in tests/ingest/test_onnx_embedder.py) and an index built with either answers the same.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np

from ingest.embedder import SMALL_CALL, Embedder, resolve_model_path
from store.errors import ConfigError

RUNTIMES = ("openvino", "onnxruntime")


def _cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


class _WordPieces:
    """The slice of a Hugging Face tokenizer the chunker uses: ``tokenize(text)`` → word pieces, no specials."""

    def __init__(self, tok) -> None:
        self._tok = tok

    def tokenize(self, text: str) -> list[str]:
        return self._tok.encode(text, add_special_tokens=False).tokens


class _Runner:
    """One compiled model with a fixed number of threads; one call at a time."""

    def __init__(self, runtime: str, onnx_file: Path, threads: int, cache: Path) -> None:
        self.lock = threading.Lock()
        if runtime == "openvino":
            import openvino as ov

            core = ov.Core()
            try:
                core.set_property({"CACHE_DIR": str(cache)})  # the compiled blob: the next process loads in ~0.2 s
            except RuntimeError:
                pass  # a read-only cache folder costs a recompile per process, nothing else
            compiled = core.compile_model(str(onnx_file), "CPU",
                                          {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"})
            self.inputs = [p.get_any_name() for p in compiled.inputs]
            request = compiled.create_infer_request()
            self._run = lambda feed: request.infer(feed)[0]
        else:
            import onnxruntime as ort

            so = ort.SessionOptions()
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
            sess = ort.InferenceSession(str(onnx_file), so, providers=["CPUExecutionProvider"])
            self.inputs = [i.name for i in sess.get_inputs()]
            self._run = lambda feed: sess.run(None, feed)[0]

    def __call__(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        with self.lock:
            return self._run({k: feed[k] for k in self.inputs})


class OnnxEmbedder(Embedder):
    """Same interface and vectors as the torch embedder, on OpenVINO (default) or onnxruntime."""

    def __init__(self, name: str, batch_size: int = 32, runtime: str = "openvino", cache_dir: str | Path | None = None,
                 onnx_file: Path | None = None) -> None:
        from tokenizers import Tokenizer

        if runtime not in RUNTIMES:
            raise ConfigError(f"embedder_backend {runtime!r} is not an ONNX runtime ({', '.join(RUNTIMES)}).")
        self.name, self.batch_size, self.runtime = name, batch_size, runtime
        path = resolve_model_path(name)
        cfg = _st_config(path)
        if not (path / "tokenizer.json").is_file():
            raise ConfigError(f"{path} has no tokenizer.json (a fast tokenizer), which the ONNX embedder reads; "
                              "set INQUIRE_EMBEDDER_BACKEND=torch for this model.")
        self.max_tokens = cfg["max_seq_length"]
        self.pooling = cfg["pooling"]
        self._count = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._count.no_truncation()
        self._count.no_padding()
        self._enc = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._enc.no_padding()
        self._enc.enable_truncation(self.max_tokens)
        self.tokenizer = _WordPieces(self._count)
        if onnx_file is None:
            from ingest.export import cache_root, exported_model

            onnx_file = exported_model(path, cache_dir, check=check_against_torch)
            self._blob_cache = cache_root(cache_dir) / "openvino"
        else:
            self._blob_cache = Path(onnx_file).parent / "openvino"
        self.onnx_file = Path(onnx_file)
        self._runners: dict[int, _Runner] = {}
        self._runners_lock = threading.Lock()
        self.dim = int(self._embed([[101, 102]])[0].shape[0]) if cfg["dim"] is None else cfg["dim"]

    # ------------------------------------------------------------------ tokens
    def count_tokens(self, text: str) -> int:
        return len(self._count.encode(text, add_special_tokens=False).ids)

    def token_counts(self, texts: list[str]) -> list[int]:
        return [len(e.ids) for e in self._count.encode_batch(list(texts), add_special_tokens=True)]

    # ------------------------------------------------------------------ vectors
    def _runner(self, threads: int) -> _Runner:
        with self._runners_lock:
            if threads not in self._runners:
                self._runners[threads] = _Runner(self.runtime, self.onnx_file, threads, self._blob_cache)
            return self._runners[threads]

    def encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """Unit vectors, in input order. Texts are sorted by length and batched so that a batch pads to its
        own longest text (length bucketing); small calls (a query, an answer's evidence) run on one thread,
        ingest-sized ones on every core (see SMALL_CALL)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = [e.ids for e in self._enc.encode_batch(list(texts))]
        return self._embed(ids, batch_size)

    def _embed(self, ids: list[list[int]], batch_size: int | None = None) -> np.ndarray:
        bs = batch_size or self.batch_size
        runner = self._runner(1 if len(ids) <= SMALL_CALL else _cores())
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        parts = []
        for start in range(0, len(order), bs):
            idx = order[start:start + bs]
            width = max(len(ids[i]) for i in idx)
            input_ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                input_ids[row, :len(ids[i])] = ids[i]
                mask[row, :len(ids[i])] = 1
            hidden = runner({"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)})
            vecs = _pool(np.asarray(hidden, dtype=np.float32), mask, self.pooling)
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
            parts.append((idx, vecs))
        out = np.empty((len(ids), parts[0][1].shape[1]), dtype=np.float32)
        for idx, vecs in parts:
            out[idx] = vecs
        return out


def _pool(hidden: np.ndarray, mask: np.ndarray, mode: str) -> np.ndarray:
    if mode == "cls":
        return hidden[:, 0].copy()
    m = mask[..., None].astype(np.float32)
    if mode == "max":
        return np.where(m > 0, hidden, -1e9).max(axis=1)
    return (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)


def _st_config(path: Path) -> dict:
    """max_seq_length, pooling mode and dimension from a sentence-transformers folder's own config."""

    def read(p: Path) -> dict:
        try:
            return json.loads(p.read_text()) if p.is_file() else {}
        except (OSError, ValueError) as e:
            raise ConfigError(f"Cannot read {p} ({e}); reinstall the model or set INQUIRE_EMBEDDER_BACKEND=torch.") from e

    bert = read(path / "sentence_bert_config.json")
    modules = read(path / "modules.json")
    pooling_dir = next((path / m.get("path", "") for m in modules if isinstance(modules, list)
                        and str(m.get("type", "")).endswith("Pooling")), path / "1_Pooling") if modules else path / "1_Pooling"
    pool = read(pooling_dir / "config.json")
    if pool.get("pooling_mode_cls_token"):
        mode = "cls"
    elif pool.get("pooling_mode_max_tokens"):
        mode = "max"
    elif pool and not pool.get("pooling_mode_mean_tokens", True):
        raise ConfigError(f"{pooling_dir / 'config.json'}: a pooling mode the ONNX embedder does not implement; "
                          "set INQUIRE_EMBEDDER_BACKEND=torch for this model.")
    else:
        mode = "mean"
    tok_cfg = read(path / "tokenizer_config.json")
    max_len = int(bert.get("max_seq_length") or min(int(tok_cfg.get("model_max_length", 512)), 512))
    return {"max_seq_length": max_len, "pooling": mode, "dim": pool.get("word_embedding_dimension")}


def check_against_torch(model_dir: Path, onnx_file: Path, texts: list[str] | None = None) -> float:
    """Least cosine between this ONNX file's vectors (onnxruntime, fp32) and ``SentenceTransformer.encode``'s,
    over ``texts`` (default: lengths 1 to past the window) one at a time and in batches of 3 and all at once."""
    from sentence_transformers import SentenceTransformer

    from ingest.export import CHECK_TEXTS

    texts = texts or CHECK_TEXTS
    ref = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True).encode(
        texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    emb = OnnxEmbedder(str(model_dir), runtime="onnxruntime", onnx_file=onnx_file)
    worst = 1.0
    for bs in (1, 3, len(texts)):
        got = emb.encode(texts, batch_size=bs)
        worst = min(worst, float((got * ref).sum(axis=1).min()))
    return worst
